//! The ActionCable wire-compatibility checklist (research/features.md §1.5), against the
//! real binary: subprotocol echo, welcome after auth, pings, identifiers echoed byte for
//! byte, duplicate subscribes, confirmation after registration, rejection, disconnect
//! frames, and defined outcomes for every malformed input.

use std::time::Duration;

use cableway_tests::client::{identifier, Client};
use cableway_tests::fixtures::notification;
use cableway_tests::server::Server;
use serde_json::json;

#[tokio::test]
async fn subprotocol_is_echoed_and_welcome_follows_auth() {
    let s = Server::start();
    let t = s.token("u1", "acc1", &[]);
    let mut c = Client::connect_with(&s.cable_url(Some(&t)), &["actioncable-v1-json", "actioncable-unsupported"], &[]).await.unwrap();
    assert_eq!(c.protocol.as_deref(), Some("actioncable-v1-json"));
    assert_eq!(c.recv().await.unwrap(), json!({"type": "welcome"}));
    let ext = Client::connect_with(&s.cable_url(Some(&t)), &["actioncable-v1-ext-json"], &[]).await.unwrap();
    assert_eq!(ext.protocol.as_deref(), Some("actioncable-v1-ext-json"));
    // The first frame of an unauthenticated connection is the disconnect, never a welcome.
    let mut anon = Client::connect(&s.cable_url(None)).await;
    assert_eq!(anon.protocol.as_deref(), Some("actioncable-v1-json"));
    assert_eq!(anon.recv().await.unwrap(), json!({"type": "disconnect", "reason": "unauthorized", "reconnect": false}));
}

#[tokio::test]
async fn pings_every_three_seconds_in_unix_seconds() {
    let s = Server::start();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&s.token("u1", "acc1", &[])))).await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(7500);
    let mut pings = Vec::new();
    while let Some(v) = c.recv_any_until(deadline).await {
        if v["type"] == "ping" {
            pings.push((tokio::time::Instant::now(), v["message"].as_u64().expect("integer seconds")));
        }
    }
    assert!(pings.len() >= 2, "expected 2 pings in 7.5 s, got {pings:?}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(pings.iter().all(|(_, t)| t.abs_diff(now) < 30), "ping values are Unix seconds");
    let gap = pings[1].0 - pings[0].0;
    assert!(gap > Duration::from_millis(2000) && gap < Duration::from_millis(4500), "gap {gap:?}");
}

#[tokio::test]
async fn identifier_is_echoed_byte_for_byte_and_duplicates_are_ignored() {
    let s = Server::start();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&s.token("u1", "acc1", &[])))).await;
    // Unusual key order and spacing: clients route frames by string equality.
    let id = r#"{ "account_id":"acc1",  "channel":"NotificationChannel" }"#;
    c.send_subscribe(id).await;
    c.send_subscribe(id).await;
    c.send_subscribe(id).await;
    let confirm = c.recv().await.unwrap();
    assert_eq!(confirm, json!({"identifier": id, "type": "confirm_subscription"}));
    // The declared on-subscribe message comes next, on the same identifier.
    let hello = c.message(id).await.unwrap();
    assert_eq!(hello["event"], "connection_established");
    // Confirmed means registered: a publish right now is delivered, once.
    let (status, body) = s.publish(&notification("acc1", "n1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"], 1);
    let m = c.message(id).await.unwrap();
    assert_eq!(m["event"], "new_notification");
    assert_eq!(m["payload"]["id"], "n1");
    assert!(c.recv_within(Duration::from_millis(500)).await.is_none(), "no second confirmation and no duplicate delivery");
}

#[tokio::test]
async fn rejections_carry_the_identifier() {
    let s = Server::start();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&s.token("u1", "acc1", &[])))).await;
    for (id, reason) in [
        (identifier("NoSuchChannel", &json!({})), "unknown_channel"),
        (identifier("NotificationChannel", &json!({})), "invalid_params"),
        // A channel that refuses undeclared params (most ignore them: tests/params.rs).
        (identifier("DevopsPipelineChannel", &json!({"account_id": "acc1", "pipelineId": "p1"})), "invalid_params"),
        (identifier("NotificationChannel", &json!({"account_id": 4.2})), "invalid_params"),
        // An integer is read as its decimal text: the id "42", not this principal's account.
        (identifier("NotificationChannel", &json!({"account_id": 42})), "forbidden"),
        (identifier("NotificationChannel", &json!({"account_id": "acc1:*"})), "invalid_params"),
        (identifier("NotificationChannel", &json!({"account_id": "acc2"})), "forbidden"),
        ("not json".to_owned(), "invalid_identifier"),
        (r#"{"id":1}"#.to_owned(), "invalid_identifier"),
    ] {
        let v = c.subscribe(&id).await;
        assert_eq!(v["type"], "reject_subscription", "{id}");
        assert_eq!(v["reason"], reason, "{id}");
    }
}

#[tokio::test]
async fn malformed_frames_do_not_break_the_connection() {
    let s = Server::start();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&s.token("u1", "acc1", &[])))).await;
    for junk in ["hello", "[]", "1", "null", "{}", r#"{"command":"foo"}"#, r#"{"command":"subscribe"}"#, r#"{"command":"subscribe","identifier":5}"#, r#"{"command":"message","identifier":"x","data":"nope"}"#, r#"{"command":"unsubscribe","identifier":"never"}"#, &"[".repeat(5000)] {
        c.send_text(junk).await;
    }
    // A message to an identifier that is not subscribed is ignored (as in Rails).
    c.perform(&identifier("NotificationChannel", &json!({"account_id": "acc1"})), "x", json!({})).await;
    let id = identifier("NotificationChannel", &json!({"account_id": "acc1"}));
    c.subscribed(&id).await;
    assert!(s.logs().contains("protocol error"), "protocol errors are logged");
}

#[tokio::test]
async fn repeated_protocol_errors_end_the_connection_with_a_reason() {
    let s = Server::start();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&s.token("u1", "acc1", &[])))).await;
    for _ in 0..12 {
        c.send_text("garbage").await;
    }
    let v = c.recv().await.unwrap();
    assert_eq!(v, json!({"type": "disconnect", "reason": "invalid_request", "reconnect": false}));
}

#[tokio::test]
async fn unsubscribe_stops_delivery_without_an_ack() {
    let s = Server::start();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&s.token("u1", "acc1", &[])))).await;
    let id = identifier("NotificationChannel", &json!({"account_id": "acc1"}));
    c.subscribed(&id).await;
    let _hello = c.message(&id).await;
    c.send(&json!({"command": "unsubscribe", "identifier": id})).await;
    assert!(c.round_trip().await.is_empty(), "no ack");
    let (_, body) = s.publish(&notification("acc1", "n2")).await;
    assert_eq!(body["deliveries"], 0);
    assert!(c.recv_within(Duration::from_millis(500)).await.is_none());
}
