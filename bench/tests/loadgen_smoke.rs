//! CI smoke pass of the benchmark's load generator: N = 100 ActionCable subscribers on one
//! stream of a real (debug) server, a latency phase and a short throughput ramp, then every
//! delivery is checked to have arrived exactly once. The benchmark itself never runs in CI
//! (`bash bench/run.sh quick|full`), and nothing here asserts on time.

use cableway_bench::{self as bench, BodyFormat, Proto, Ramp, Spec};
use cableway_tests::server::Server;

#[test]
fn loadgen_at_n100_loses_nothing_and_duplicates_nothing() {
    let server = Server::start();
    let token = server.token("bench-user", "bench", &[]);
    let mut spec = Spec::new(Proto::Cable, &server.cable_url(Some(&token)), &server.addr.to_string(), 100);
    spec.subprotocol = Some("actioncable-v1-json".into());
    spec.identifier = Some(r#"{"channel":"NotificationChannel","account_id":"bench"}"#.into());
    spec.publish_bearer = Some(server.publisher_key.clone());
    spec.body = BodyFormat::Cableway;
    spec.concurrency = 50;
    spec.settle_ms = 200;
    spec.warmup = 2;
    spec.latency_msgs = 10;
    spec.latency_spacing_ms = 10;
    spec.fanout_timeout_ms = 10_000;
    // Two fixed steps; whether a step "passes" depends on timing and is not asserted.
    spec.ramp = Some(Ramp {
        start_deliveries_per_s: Some(2_000.0),
        factor: 2.0,
        step_ms: 500,
        min_msgs: 5,
        max_steps: 2,
        refine: 0,
        p99_limit_ms: u64::MAX,
        drain_ms: 10_000,
        max_deliveries_per_s: 4_000.0,
    });
    spec.server_pid = server.pid();
    spec.final_wait_ms = 15_000;

    let r = bench::run_blocking(&spec).expect("load generator run");

    assert_eq!((r.connected, r.connect_failures), (100, 0), "every subscriber connects and is confirmed: {:?}", r.errors);
    assert_eq!(r.publish_errors, 0, "every publish is accepted: {:?}", r.errors);
    assert!(r.published >= 12, "the latency phase and the ramp published: {}", r.published);
    assert_eq!(r.expected, r.published * 100);
    assert_eq!(r.lost, 0, "no delivery is lost: {} of {} arrived; {:?}", r.delivered, r.expected, r.errors);
    assert_eq!(r.duplicates, 0, "no delivery arrives twice");
    assert_eq!(r.disconnects, 0, "the server closes no connection: {:?}", r.errors);
    assert!(!r.steps.is_empty(), "the ramp ran");
}
