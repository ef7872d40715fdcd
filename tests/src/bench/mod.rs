//! The benchmark harness's library: the load generator ([`scenario::run_blocking`]) that the
//! `loadgen` binary and the CI smoke test (`tests/loadgen_smoke.rs`) share, and what the
//! `bench` orchestrator needs to read `/proc` and summarize repetitions.

pub mod client;
pub mod http;
pub mod pathcost;
pub mod procfs;
pub mod scenario;
pub mod spec;
pub mod stats;

pub use scenario::run_blocking;
pub use spec::{BodyFormat, Proto, Ramp, Report, Spec};
