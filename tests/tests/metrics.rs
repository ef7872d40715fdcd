//! `GET /metrics` after a scripted session, parsed with a Prometheus text parser
//! (`prometheus-parse`): every counter the script moved says exactly what it did, and the
//! gauges follow the connections and subscriptions as they come and go.
//!
//! The script: a connection that is accepted, one with a forged token, one with an expired
//! token, one from a refused Origin; a confirmed subscription, a forbidden one and one to an
//! unknown channel; a delivered publication, an invalid one, a batch with one invalid
//! member, and one naming an unknown event.

use std::collections::BTreeMap;
use std::time::Duration;

use cableway_tests::client::{identifier, Client};
use cableway_tests::fixtures::{notification, notifications};
use cableway_tests::server::{claims, sign, Options, Server};
use serde_json::json;

/// Series by `name{k="v",...}` (labels sorted), as the parser read them.
struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("the exposition parses");
        let mut series = BTreeMap::new();
        for sample in scrape.samples {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => continue,
            };
            let labels: BTreeMap<&String, &String> = sample.labels.iter().collect();
            let labels: Vec<String> = labels.into_iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            series.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), value);
        }
        Scrape(series)
    }

    /// The value of `series` (`name{a="x",b="y"}`, labels in alphabetical order), 0 when absent.
    fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// Every series of metric `name` whose value is not 0.
    fn nonzero(&self, name: &str) -> BTreeMap<String, f64> {
        self.0.iter().filter(|(k, v)| k.starts_with(&format!("{name}{{")) && **v != 0.0).map(|(k, v)| (k.clone(), *v)).collect()
    }
}

fn series(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn counters_match_a_scripted_session_exactly() {
    let s = Server::start_with(Options::default().arg("--metrics-bind").arg("127.0.0.1:0").arg("--origin").arg("https://app.example"));

    let before = Scrape::parse(&s.scrape().await);
    assert_eq!(before.get(r#"websocket_connections_total{outcome="accepted"}"#), 0.0);
    assert_eq!(before.get(r#"cableway_build_info{schema_version="1.0.0",version="0.1.0"}"#), 1.0, "build info: {:?}", before.0.keys().filter(|k| k.contains("build")).collect::<Vec<_>>());
    assert!(before.0.contains_key(r#"websocket_active_subscriptions{channel="TradingChannel"}"#), "every channel's gauge is listed before its first subscriber");

    // Connections: one accepted, three refused in the three ways a handshake is refused.
    let mut c = s.user("u1", "acc1").await;
    let forged = sign("not-the-server-secret-0123456789abcdef", &claims("u2", "acc1", &[], "user", 3600));
    let mut refused = Client::connect(&s.cable_url(Some(&forged))).await;
    assert_eq!(refused.recv().await.map(|f| f["reason"].clone()), Some(json!("unauthorized")));
    let expired = s.sign(&claims("u3", "acc1", &[], "user", -120));
    let mut refused = Client::connect(&s.cable_url(Some(&expired))).await;
    assert_eq!(refused.recv().await.map(|f| f["reason"].clone()), Some(json!("token_expired")));
    let token = s.token("u4", "acc1", &[]);
    assert!(Client::connect_with(&s.cable_url(Some(&token)), &["actioncable-v1-json"], &[("Origin", "https://evil.example")]).await.is_err(), "a refused Origin gets no upgrade");

    // Subscriptions: one confirmed, one forbidden (another account), one to no channel.
    c.subscribed(&notifications("acc1")).await;
    assert_eq!(c.subscribe(&notifications("acc2")).await["reason"], "forbidden");
    assert_eq!(c.subscribe(&identifier("NoSuchChannel", &json!({ "account_id": "acc1" }))).await["reason"], "unknown_channel");

    // Publications.
    assert_eq!(s.publish(&notification("acc1", "n1")).await.0, 200);
    assert!(c.message(&notifications("acc1")).await.is_some_and(|m| m["event"] == "new_notification"));
    let mut invalid = notification("acc1", "n2");
    invalid["payload"].as_object_mut().expect("object").remove("title");
    assert_eq!(s.publish(&invalid).await.0, 422);
    assert_eq!(s.publish(&json!([notification("acc1", "n3"), invalid])).await.0, 422, "a batch with one invalid member");
    assert_eq!(s.publish(&json!({ "channel": "NotificationChannel", "event": "no_such_event", "payload": {} })).await.0, 404);

    let m = Scrape::parse(&s.scrape().await);
    assert_eq!(
        m.nonzero("websocket_connections_total"),
        series(&[
            (r#"websocket_connections_total{outcome="accepted"}"#, 1.0),
            (r#"websocket_connections_total{outcome="origin_refused"}"#, 1.0),
            (r#"websocket_connections_total{outcome="token_expired"}"#, 1.0),
            (r#"websocket_connections_total{outcome="unauthorized"}"#, 1.0),
        ])
    );
    assert_eq!(
        m.nonzero("cableway_subscription_rejects_total"),
        series(&[
            (r#"cableway_subscription_rejects_total{channel="NotificationChannel",reason="forbidden"}"#, 1.0),
            (r#"cableway_subscription_rejects_total{channel="unknown",reason="unknown_channel"}"#, 1.0),
        ])
    );
    assert_eq!(m.nonzero("websocket_active_subscriptions"), series(&[(r#"websocket_active_subscriptions{channel="NotificationChannel"}"#, 1.0)]));
    assert_eq!(
        m.nonzero("cableway_publications_total"),
        series(&[
            (r#"cableway_publications_total{channel="NotificationChannel",event="new_notification",outcome="delivered"}"#, 1.0),
            (r#"cableway_publications_total{channel="NotificationChannel",event="new_notification",outcome="invalid"}"#, 2.0),
            (r#"cableway_publications_total{channel="NotificationChannel",event="unknown",outcome="unknown"}"#, 1.0),
        ])
    );
    assert_eq!(m.nonzero("cableway_validation_failures_total"), series(&[(r#"cableway_validation_failures_total{channel="NotificationChannel",event="new_notification"}"#, 2.0)]));
    assert_eq!(m.nonzero("cableway_deliveries_total"), series(&[(r#"cableway_deliveries_total{channel="NotificationChannel"}"#, 1.0)]));
    assert_eq!(m.get("websocket_active_connections{}"), 1.0);
    assert_eq!(m.get("cableway_streams{}"), 1.0);

    // The gauges come back down as the subscription and the connection end.
    c.send(&json!({ "command": "unsubscribe", "identifier": notifications("acc1") })).await;
    c.close().await;
    // A scrape is async, so the condition is checked here rather than with `wait::poll_async`.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = s.scrape().await;
        let m = Scrape::parse(&text);
        if m.get("websocket_active_connections{}") == 0.0 && m.nonzero("websocket_active_subscriptions").is_empty() && m.get("cableway_streams{}") == 0.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the gauges did not come back to 0:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
