//! `generated/` and `schema/channel.schema.json` match `schema/`, and `cableway check`
//! notices when they do not.

use std::path::Path;
use std::process::Command;

use cableway_tests::{cableway_bin, copy_dir, repo_root};

fn check(schema: &Path, out: &Path) -> std::process::Output {
    Command::new(cableway_bin()).arg("check").arg("--schema").arg(schema).arg("--out").arg(out).output().expect("run cableway check")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cableway-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo_root().join("schema"), &dir.join("schema"));
    copy_dir(&repo_root().join("generated"), &dir.join("generated"));
    dir
}

#[test]
fn the_repository_is_in_sync() {
    let out = check(&repo_root().join("schema"), &repo_root().join("generated"));
    assert!(out.status.success(), "cableway check failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("22 channels OK"));
}

#[test]
fn an_edited_generated_file_is_reported_with_the_fix() {
    let dir = scratch("stale-ts");
    let file = dir.join("generated/ts/src/channels/ai_orchestration.ts");
    let text = std::fs::read_to_string(&file).unwrap().replace("workflow.run.status.changed", "workflow.run.status.changd");
    std::fs::write(&file, text).unwrap();
    let out = check(&dir.join("schema"), &dir.join("generated"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("ai_orchestration.ts differs"), "{err}");
    assert!(err.contains("cargo run -p cableway -- generate"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_stale_meta_schema_is_reported() {
    let dir = scratch("stale-meta");
    let file = dir.join("schema/channel.schema.json");
    let text = std::fs::read_to_string(&file).unwrap().replace("\"on_subscribe\"", "\"on_subscribed\"");
    std::fs::write(&file, text).unwrap();
    let out = check(&dir.join("schema"), &dir.join("generated"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("channel.schema.json differs"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_schema_edit_without_regeneration_is_reported() {
    let dir = scratch("stale-schema");
    let file = dir.join("schema/channels/git_job_logs.yaml");
    let text = std::fs::read_to_string(&file).unwrap().replace("Live streaming of Git pipeline job logs", "Live Git job logs");
    std::fs::write(&file, text).unwrap();
    let out = check(&dir.join("schema"), &dir.join("generated"));
    assert!(!out.status.success(), "a description change must show up in the generated TS docs");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_orphaned_generated_file_is_reported() {
    let dir = scratch("orphan");
    std::fs::write(dir.join("generated/ts/src/channels/gone.ts"), "export {};\n").unwrap();
    let out = check(&dir.join("schema"), &dir.join("generated"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone.ts is not generated from the schema any more"));
    std::fs::remove_dir_all(dir).unwrap();
}
