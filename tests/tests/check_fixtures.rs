//! `cableway check` exits 0 on the repository's schema and non-zero on every broken
//! fixture of the golden corpus, printing the same diagnostics the library produces.

use std::path::Path;
use std::process::Command;

use cableway_tests::{cableway_bin, copy_dir, repo_root};

/// Base fixture plus a case's overlay (a file holding only `#delete` removes the base file).
fn materialize(case: &Path, into: &Path) {
    let fixtures = repo_root().join("codegen/tests/fixtures");
    copy_dir(&fixtures.join("base/schema"), into);
    overlay(&case.join("schema"), into);
}

fn overlay(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            overlay(&entry.path(), &target);
        } else if std::fs::read_to_string(entry.path()).unwrap().trim() == "#delete" {
            let _ = std::fs::remove_file(&target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn check_fails_on_every_broken_fixture_with_its_golden_message() {
    let root = std::env::temp_dir().join(format!("cableway-check-fixtures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut cases: Vec<_> = std::fs::read_dir(repo_root().join("codegen/tests/fixtures/errors")).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus holds at least 20 broken schemas");
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let schema = root.join(&name).join("schema");
        materialize(case, &schema);
        let out = Command::new(cableway_bin()).arg("check").arg("--schema").arg(&schema).arg("--out").arg(root.join(&name).join("generated")).output().unwrap();
        assert!(!out.status.success(), "{name}: cableway check exited 0 on a broken schema");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let first = expected.lines().next().unwrap();
        assert!(stderr.contains(first), "{name}: expected `{first}` in\n{stderr}");
        let location = expected.lines().find(|l| l.trim_start().starts_with("-->")).unwrap().trim_start().trim_start_matches("--> schema/");
        assert!(stderr.contains(location), "{name}: expected location `{location}` in\n{stderr}");
    }
    std::fs::remove_dir_all(root).unwrap();
}

/// Copies of each bundled channel in the large set, the original included (22 channels: 220).
const COPIES: usize = 10;
/// What each copy's wire name and stream keys are told apart by.
const COPY_NAMES: [&str; COPIES - 1] = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India"];

/// Renames every stream key template (`streams[].key`, `publish_to` entries) of a channel
/// file to start with `prefix`, so copies of a channel do not share streams.
fn rename_streams(channel: &mut serde_json::Value, prefix: &str) {
    use serde_json::Value;
    let renamed = |t: &mut Value| {
        let key = match t {
            Value::Object(m) => m.get_mut("key"),
            other => Some(other),
        };
        if let Some(Value::String(s)) = key {
            *s = format!("{prefix}{s}");
        }
    };
    if let Some(Value::Array(streams)) = channel.get_mut("streams") {
        streams.iter_mut().for_each(renamed);
    }
    if let Some(Value::Object(events)) = channel.get_mut("events") {
        for event in events.values_mut() {
            if let Some(Value::Array(targets)) = event.get_mut("publish_to") {
                targets.iter_mut().for_each(renamed);
            }
        }
    }
}

/// Gives a copy's named hooks names of their own (`useX` → `useXAlpha`).
fn rename_hooks(channel: &mut serde_json::Value, copy: &str) {
    if let Some(serde_json::Value::Array(hooks)) = channel.pointer_mut("/client/hooks") {
        for hook in hooks {
            if let Some(serde_json::Value::String(name)) = hook.get_mut("name") {
                name.push_str(copy);
            }
        }
    }
}

/// Ten times the bundled channels, each copy with its own wire name, file and stream keys,
/// generated into a temporary directory: `cableway generate` then `cableway check` accept
/// all of them. (How long the check takes is measured outside the tests, see the README.)
#[test]
fn check_accepts_a_schema_set_ten_times_the_bundled_one() {
    let root = std::env::temp_dir().join(format!("cableway-check-large-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let schema = root.join("schema");
    copy_dir(&repo_root().join("schema"), &schema);
    let channels = schema.join("channels");
    let mut originals: Vec<_> = std::fs::read_dir(&channels).unwrap().map(|e| e.unwrap().path()).collect();
    originals.sort();
    for path in &originals {
        let (value, _) = codegen::load::yaml::parse(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
        let wire = value["channel"].as_str().expect("a wire name").to_owned();
        let stem = wire.strip_suffix("Channel").expect("wire names end in Channel");
        for copy in COPY_NAMES {
            let mut channel = value.clone();
            let name = format!("{stem}{copy}Channel");
            channel["channel"] = serde_json::Value::String(name.clone());
            rename_streams(&mut channel, &format!("{}_", copy.to_lowercase()));
            rename_hooks(&mut channel, copy);
            // JSON is YAML: the copy is written as a channel file as it is.
            let file = channels.join(format!("{}.yaml", codegen::ident::channel_module(&name)));
            std::fs::write(file, serde_json::to_string_pretty(&channel).unwrap()).unwrap();
        }
    }
    let expected = originals.len() * COPIES;
    assert!(expected >= 200, "the large set holds {expected} channels");
    let generated = root.join("generated");
    let run = |command: &str| Command::new(cableway_bin()).arg(command).arg("--schema").arg(&schema).arg("--out").arg(&generated).output().unwrap();
    let out = run("generate");
    assert!(out.status.success(), "cableway generate refused the large set:\n{}", String::from_utf8_lossy(&out.stderr));
    let out = run("check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "cableway check refused the large set:\n{}{}", stdout, String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!(": {expected} channels OK")), "{stdout}");
    std::fs::remove_dir_all(root).unwrap();
}
