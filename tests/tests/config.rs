//! Configuration as a user meets it: the README's table lists every setting as the server
//! reads it, `--help` names the variables, an unknown `CABLEWAY_*` variable is a warning at
//! startup and an unknown key in the file stops it, each naming the nearest setting.

use std::process::{Command, Output};

use cableway::config::registry::{self, Setting};
use cableway_tests::server::{Options, Server};
use cableway_tests::{cableway_bin, repo_root};
use serde_json::Value;

/// A README cell for a setting's default, as a user would write it in the file.
fn default_cell(default: &Value) -> String {
    match default {
        Value::Null => "—".to_owned(),
        Value::String(s) if s.is_empty() => "—".to_owned(),
        Value::Array(a) if a.is_empty() => "—".to_owned(),
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// The row the README must have for `s`: TOML key, variable, flag, default, meaning.
fn row(s: &Setting) -> String {
    let code = |v: &str| format!("`{v}`");
    let key = if s.in_file { code(&s.key) } else { "—".to_owned() };
    let flag = s.flag.as_deref().map_or_else(|| "—".to_owned(), code);
    format!("| {key} | {} | {flag} | {} | {} |", code(&s.env), default_cell(&s.default), s.meaning.replace('|', "\\|"))
}

const HEADER: &str = "| TOML key | environment | flag | default | meaning |\n|---|---|---|---|---|";

#[test]
fn the_readme_table_lists_every_setting() {
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (before, section) = readme.split_once("\n## Configuration\n").expect("README has a `## Configuration` section");
    let end = section.find("\n## ").unwrap_or(section.len());
    let (section, after) = section.split_at(end);
    let start = section.find(HEADER).unwrap_or_else(|| panic!("the Configuration section has no table starting\n{HEADER}"));
    let table_end = section[start..].find("\n\n").map_or(section.len(), |n| start + n);
    let expected = std::iter::once(HEADER.to_owned()).chain(registry::settings().iter().map(row)).collect::<Vec<_>>().join("\n");
    if section[start..table_end] == expected {
        return;
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let section = format!("{}{expected}{}", &section[..start], &section[table_end..]);
        std::fs::write(&path, format!("{before}\n## Configuration\n{section}{after}")).expect("write README.md");
        return;
    }
    panic!("the README's Configuration table disagrees with the settings; run with UPDATE_GOLDEN=1 to rewrite it, or make it:\n{expected}");
}

/// `cableway <args>` with only `env` in the environment.
fn cableway(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(cableway_bin());
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cableway")
}

#[test]
fn help_names_each_flags_variable() {
    let out = cableway(&["serve", "--help"], &[]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for s in registry::settings() {
        if let Some(flag) = &s.flag {
            assert!(help.contains(flag.as_str()) && help.contains(&format!("[env: {}]", s.env)), "{flag}: `[env: {}]` missing in:\n{help}", s.env);
        }
    }
}

#[test]
fn an_unknown_variable_is_a_warning_naming_the_nearest_setting() {
    let s = Server::start_with(Options::default().env("CABLEWAY_PING_INTERVAL", "100").env("CABLEWAY_DRAIN_TIMEOUT_MS", "1000"));
    let logs = s.logs();
    assert!(logs.contains("CABLEWAY_PING_INTERVAL is not a setting; did you mean CABLEWAY_PING_INTERVAL_MS?"), "{logs}");
    assert!(!logs.contains("CABLEWAY_DRAIN_TIMEOUT_MS is not a setting"), "{logs}");
}

#[test]
fn an_unknown_key_in_the_file_stops_startup_naming_the_nearest_key() {
    let dir = std::env::temp_dir().join(format!("cableway-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("cableway.toml");
    std::fs::write(&file, "bind = \"127.0.0.1:0\"\n[timeouts]\nping_interval = 100\n").expect("write config");
    let env = [("CABLEWAY_JWT_SECRET", "config-test-secret-0123456789abcdef0123"), ("CABLEWAY_PUBLISHER_KEY", "config-test-publisher-0123456789abcdef")];
    let out = cableway(&["serve", "--config", file.to_str().expect("utf-8 path")], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("unknown key `timeouts.ping_interval`; did you mean `timeouts.ping_interval_ms`?") && stderr.contains("cableway.toml"), "{stderr}");
    // Under its right name the key is accepted, and the next check speaks: a worker count of 0.
    std::fs::write(&file, "bind = \"127.0.0.1:0\"\n[timeouts]\nping_interval_ms = 100\n").expect("write config");
    let out = cableway(&["serve", "--config", file.to_str().expect("utf-8 path")], &[env[0], env[1], ("CABLEWAY_WORKER_THREADS", "0")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("worker_threads (CABLEWAY_WORKER_THREADS): must be greater than 0"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
