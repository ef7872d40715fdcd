//! Helpers shared by the integration tests: where the repository and the built `cableway`
//! binary are; [`server`], the real binary on a free port; [`in_process`], the server in the
//! test's runtime for tests under paused time; [`client`], an ActionCable client over either;
//! [`ext`], the extended protocol's history and positions; [`fixtures`], what many tests
//! build the same way; [`wait`], waits on conditions;
//! [`redis`], a real `redis-server` and nodes that share it; [`proxy`], a TCP proxy that
//! cuts or blackholes a connection, or balances over nodes; and
//! [`schema_strategy`] (property-test values derived from the channels' JSON Schemas).

use std::path::PathBuf;
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// The `cableway` binary of this build (`target/<profile>/cableway`), built on first use.
///
/// Integration tests of another package get no `CARGO_BIN_EXE_*`, so the binary is found
/// next to the test executable (`target/<profile>/deps/<test>`), and built if it is missing.
pub fn cableway_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(|p| p.parent()).expect("target/<profile>/deps/<test>").to_owned();
    let bin = profile_dir.join("cableway");
    if !bin.exists() {
        let status = Command::new(env!("CARGO")).args(["build", "-p", "cableway"]).current_dir(repo_root()).status().expect("run cargo build");
        assert!(status.success(), "cargo build -p cableway failed");
    }
    bin
}

pub mod client;
pub mod ext;
pub mod fixtures;
pub mod in_process;
pub mod proxy;
pub mod redis;
pub mod schema_strategy;
pub mod server;
pub mod wait;

/// Copies a directory tree, skipping installed or built artifacts (`node_modules`, `dist`).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let name = entry.file_name();
        if name == "node_modules" || name == "dist" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
