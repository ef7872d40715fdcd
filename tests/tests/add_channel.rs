//! A channel is one file: adding a YAML file and a model to a copy of the schema set is
//! enough for `check`, the generated registry (a real server build) and the TypeScript.

use std::path::PathBuf;
use std::process::Command;

use cableway_tests::{cableway_bin, copy_dir, repo_root};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(out.status.success(), "{cmd:?} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A target dir of its own, so building against the copied schema never invalidates the
/// main build; it sits beside the main one and is reused across runs.
fn fixture_target_dir() -> PathBuf {
    let main = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap();
        exe.ancestors().nth(3).unwrap().to_owned()
    });
    let mut name = main.file_name().unwrap().to_owned();
    name.push("-add-channel");
    main.with_file_name(name)
}

#[test]
fn a_new_channel_file_needs_no_rust_edit() {
    let dir = std::env::temp_dir().join(format!("cableway-add-channel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let schema = dir.join("schema");
    let generated = dir.join("generated");
    copy_dir(&repo_root().join("schema"), &schema);
    copy_dir(&repo_root().join("tests/fixtures/add_channel"), &schema);

    let out = run(Command::new(cableway_bin()).arg("generate").arg("--schema").arg(&schema).arg("--out").arg(&generated));
    assert!(out.starts_with("23 channels"), "{out}");
    run(Command::new(cableway_bin()).arg("check").arg("--schema").arg(&schema).arg("--out").arg(&generated));

    let ts = std::fs::read_to_string(generated.join("ts/src/channels/canary.ts")).unwrap();
    assert!(ts.contains("export const NAME = \"CanaryChannel\" as const;"));
    assert!(ts.contains("\"canary.health.changed\": M.CanaryHealth;"));
    assert!(ts.contains("\"promote\": { request: M.CanaryPromoteRequest; reply: null; error: \"not_healthy\" };"));
    assert!(std::fs::read_to_string(generated.join("ts/src/index.ts")).unwrap().contains("\"CanaryChannel\","));
    let tsc = repo_root().join("tests/node/node_modules/.bin/tsc");
    assert!(tsc.exists(), "TypeScript is not installed: run `bash tests/run.sh`, which installs tests/node");
    // The package's dev dependencies (@types/react for its React entry point) are tests/node's.
    #[cfg(unix)]
    std::os::unix::fs::symlink(repo_root().join("tests/node/node_modules"), generated.join("ts/node_modules")).expect("link node_modules");
    run(Command::new(&tsc).arg("-p").arg(generated.join("ts")).arg("--noEmit"));

    // The server compiled against the copied schema lists the channel in its registry.
    let target = fixture_target_dir();
    run(Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "cableway", "--bin", "cableway"])
        .current_dir(repo_root())
        .env("CABLEWAY_SCHEMA_DIR", &schema)
        .env("CARGO_TARGET_DIR", &target));
    let listing = run(Command::new(target.join("debug/cableway")).arg("channels"));
    assert!(listing.lines().any(|l| l.starts_with("CanaryChannel\t1 events\t1 actions\tcanary:{params.release_id}")), "{listing}");
    assert_eq!(listing.lines().count(), 23);
    std::fs::remove_dir_all(dir).unwrap();
}
