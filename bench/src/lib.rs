//! The benchmark harness's library: the load generator ([`scenario::run_blocking`]) that the
//! `loadgen` binary and the CI smoke test (`bench/tests/loadgen_smoke.rs`) share, and what the
//! `bench` orchestrator needs to read `/proc` and summarize repetitions. `bash bench/run.sh`
//! builds and runs it; the peers it compares against live in `bench/peers/`.

use std::path::PathBuf;

pub mod client;
pub mod http;
pub mod pathcost;
pub mod procfs;
pub mod scenario;
pub mod spec;
pub mod stats;

pub use scenario::run_blocking;
pub use spec::{BodyFormat, Proto, Ramp, Report, Spec};

/// The repository root (reports go to its `target/bench`, peers are under `bench/peers`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ has a parent").to_owned()
}
