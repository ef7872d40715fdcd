//! `CABLEWAY_LOG_FORMAT=json`: every line is one JSON object; a connection's lines carry its
//! id and its principal; `POST /broadcast` is logged with its outcome and time; and no line
//! holds a token, the publisher key or any part of a payload, whether it was delivered,
//! refused or relayed between clients.

use cableway_tests::client::Client;
use cableway_tests::fixtures::{join_conversation, notification, notifications};
use cableway_tests::server::{Options, Server};
use serde_json::{json, Value};

/// A marker that must never reach the log.
const MARK: &str = "PAYLOAD-MARKER-7f3a";

fn json_lines(logs: &str) -> Vec<Value> {
    logs.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}"))).collect()
}

#[tokio::test]
async fn json_logs_carry_the_connection_and_never_a_secret_or_a_payload() {
    let s = Server::start_with(Options::default().env("CABLEWAY_LOG_FORMAT", "json"));
    s.own("ai_conversation", "conv-logs", "acc1").await;
    let token = s.token("u-logs", "acc1", &[]);
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    c.subscribed(&notifications("acc1")).await;
    let conversation = join_conversation(&mut c, "conv-logs", "u-logs").await;
    let mut other = s.user("u-other", "acc1").await;
    join_conversation(&mut other, "conv-logs", "u-other").await;

    let mut delivered = notification("acc1", "n-logs");
    delivered["payload"]["title"] = json!(format!("{MARK}-delivered"));
    assert_eq!(s.publish(&delivered).await.0, 200);
    let mut refused = notification("acc1", "n-logs-2");
    refused["payload"]["severity"] = json!(format!("{MARK}-refused"));
    assert_eq!(s.publish(&refused).await.0, 422);
    // Refused (the key is not declared), then relayed: neither request shows in the log.
    c.perform(&conversation, "typing_indicator", json!({ "conversation_id": "conv-logs", "status": "typing", format!("{MARK}-key"): format!("{MARK}-refused-relay") })).await;
    c.perform(&conversation, "typing_indicator", json!({ "conversation_id": "conv-logs", "status": "typing" })).await;
    assert!(other.message(&conversation).await.is_some(), "the relay reached the other client");
    let expired = s.sign(&cableway_tests::server::claims("u-expired", "acc1", &[], "user", -120));
    let mut refused_connection = Client::connect(&s.cable_url(Some(&expired))).await;
    assert_eq!(refused_connection.recv().await.map(|f| f["reason"].clone()), Some(json!("token_expired")));
    c.close().await;
    other.close().await;
    s.wait_for_log("both sessions' disconnect lines", |logs| (logs.matches(r#""message":"disconnected""#).count() >= 2).then_some(())).await;

    let logs = s.logs();
    let lines = json_lines(&logs);
    let session_lines: Vec<&Value> = lines.iter().filter(|l| l["span"]["principal"] == "u-logs").collect();
    for message in ["connected", "disconnected"] {
        let line = session_lines.iter().find(|l| l["message"] == message).unwrap_or_else(|| panic!("no {message} line in u-logs's span:\n{logs}"));
        assert!(line["span"]["connection"].is_u64(), "the connection id is on the line: {line}");
        assert_eq!(line["span"]["account"], "acc1", "{line}");
    }
    let ids: std::collections::BTreeSet<u64> = session_lines.iter().filter_map(|l| l["span"]["connection"].as_u64()).collect();
    assert_eq!(ids.len(), 1, "one connection id on every line of the session: {ids:?}");
    assert!(lines.iter().filter(|l| l["span"]["principal"] == "u-other").any(|l| l["message"] == "connected"), "each session has its own span");

    let access: Vec<&Value> = lines.iter().filter(|l| l["message"] == "access" && l["path"] == "/broadcast").collect();
    let outcomes: Vec<(&str, u64)> = access.iter().map(|l| (l["outcome"].as_str().unwrap_or_default(), l["status"].as_u64().unwrap_or_default())).collect();
    assert!(outcomes.contains(&("published", 200)) && outcomes.contains(&("invalid_payload", 422)), "{outcomes:?}");
    assert!(access.iter().all(|l| l["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 0.0) && l["method"] == "POST"), "{access:?}");

    let refused_line = lines.iter().find(|l| l["message"] == "connection refused").unwrap_or_else(|| panic!("no refusal line:\n{logs}"));
    assert_eq!(refused_line["reason"], "token_expired", "{refused_line}");

    assert!(!logs.contains(MARK), "a payload reached the log:\n{logs}");
    for secret in [token.as_str(), expired.as_str(), s.publisher_key.as_str(), s.secret.as_str()] {
        assert!(!logs.contains(secret), "a credential reached the log");
        for part in secret.split('.').filter(|p| p.len() >= 16) {
            assert!(!logs.contains(part), "a part of a token reached the log");
        }
    }
}
