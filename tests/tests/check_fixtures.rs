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
