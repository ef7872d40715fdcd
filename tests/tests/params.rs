//! Params as a Rails frontend sends them, against the real binary: ids as JSON numbers or
//! strings are one resource and one stream, the identifier is echoed byte for byte, odd
//! forms are refused, and keys a channel does not declare are ignored (logged at debug) or,
//! where the channel says so, refused. The property test over generated identifiers (no
//! spelling aliases another account) is `isolation.rs`.

use std::time::Duration;

use cableway_tests::client::{identifier, Client};
use cableway_tests::fixtures::notification;
use cableway_tests::server::Server;
use serde_json::{json, Value};

const ACCOUNT: &str = "4242";

/// Subscribes with the identifier text exactly as given; returns the answer frame.
async fn subscribe_raw(c: &mut Client, raw: &str) -> Value {
    c.subscribe(raw).await
}

#[tokio::test]
async fn a_number_and_a_string_are_one_resource_and_one_stream() {
    let s = Server::start();
    let (mut c, mut c2) = (s.user("u1", ACCOUNT).await, s.user("u1", ACCOUNT).await);
    // As the seed's WebSocketManager builds them: key order and spacing of its own.
    let as_number = r#"{"channel":"NotificationChannel", "account_id":4242}"#;
    let as_string = r#"{"account_id": "4242", "channel": "NotificationChannel"}"#;
    for (c, raw) in [(&mut c, as_number), (&mut c2, as_string)] {
        let confirm = subscribe_raw(c, raw).await;
        assert_eq!(confirm, json!({ "identifier": raw, "type": "confirm_subscription" }), "the identifier is echoed as sent");
        let hello = c.message(raw).await.expect("on-subscribe message");
        assert_eq!(hello["event"], "connection_established");
        // The template reads the canonical param: the text, not the number.
        assert_eq!(hello["payload"]["account_id"], ACCOUNT, "{hello}");
    }
    // One subscription: on one connection, the other spelling is a duplicate of it.
    let again = subscribe_raw(&mut c, as_string).await;
    assert_eq!(again, json!({ "identifier": as_string, "type": "reject_subscription", "reason": "duplicate_subscription" }));

    // One publish for the account: one stream, both subscriptions, each under its own identifier.
    let (status, body) = s.publish(&notification(ACCOUNT, "n1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["streams"], json!(["notifications:4242"]));
    assert_eq!(body["deliveries"], 2, "{body}");
    for (c, raw) in [(&mut c, as_number), (&mut c2, as_string)] {
        let f = c.recv().await.expect("a delivery");
        assert_eq!(f["message"]["payload"]["id"], "n1", "{f}");
        assert_eq!(f["identifier"], raw, "each subscription hears it under the identifier it sent");
        assert!(c.recv_within(Duration::from_millis(300)).await.is_none(), "nothing twice");
    }

    // Ownership is looked up by the canonical id too.
    s.own("ai_conversation", "77", ACCOUNT).await;
    let conv = identifier("AiConversationChannel", &json!({ "conversation_id": 77 }));
    let hello = c.joined(&conv).await;
    assert_eq!(hello["payload"]["conversation_id"], "77", "{hello}");
}

#[tokio::test]
async fn odd_forms_are_refused_and_strings_are_ids_as_written() {
    let s = Server::start();
    let mut c = s.user("u1", ACCOUNT).await;
    let refused = [
        "4242.0", "4.242e3", "4242e0", "-4242", "-0", "9007199254740992", "9007199254740993", "18446744073709551616",
        "\" 4242\"", "\"4242 \"", "\"４２４２\"", "\"4242\\u200b\"", "\"42:42\"", "\"*\"", "[4242]", "{\"id\":4242}", "true", "null", "\"\"",
    ];
    for v in refused {
        let raw = format!(r#"{{"channel":"NotificationChannel","account_id":{v}}}"#);
        let answer = subscribe_raw(&mut c, &raw).await;
        assert_eq!(answer, json!({ "identifier": raw, "type": "reject_subscription", "reason": "invalid_params" }), "{v}");
    }
    // Valid ids that are not this account: a string is taken as written, never rewritten.
    for v in ["\"04242\"", "\"4242a\"", "42420", "0"] {
        let raw = format!(r#"{{"channel":"NotificationChannel","account_id":{v}}}"#);
        assert_eq!(subscribe_raw(&mut c, &raw).await["reason"], "forbidden", "{v}");
    }
    // The largest integer every JSON reader holds exactly is still an id.
    let big = s.user("u2", "9007199254740991").await;
    let mut big = big;
    big.joined(r#"{"channel":"NotificationChannel","account_id":9007199254740991}"#).await;
}

#[tokio::test]
async fn undeclared_params_are_ignored_and_never_change_the_streams() {
    let s = Server::start();
    let mut c = s.user("u1", ACCOUNT).await;
    // The frontend's extra keys (the seed subscribes with `{user_id: "123"}`-style params).
    let raw = r#"{"channel":"NotificationChannel","account_id":"4242","user_id":"123","account":"acc-other","stream":"notifications:acc-other"}"#;
    c.joined(raw).await;
    let (_, body) = s.publish(&notification(ACCOUNT, "n1")).await;
    assert_eq!(body["deliveries"], 1, "{body}");
    assert_eq!(c.message(raw).await.expect("delivery")["payload"]["id"], "n1");
    let (_, body) = s.publish(&notification("acc-other", "n2")).await;
    assert_eq!(body["deliveries"], 0, "an extra key cannot add a stream: {body}");
    s.wait_for_log("the ignored keys at debug", |log| log.lines().find(|l| l.contains("undeclared params ignored") && l.contains("ignored=account, stream, user_id")).map(str::to_owned)).await;

    // Extra keys reach no rule either: another account's id under an undeclared name.
    s.own("workflow", "w1", "acc-other").await;
    let sneaky = identifier("AiOrchestrationChannel", &json!({ "type": "workflow", "id": "w1", "account_id": ACCOUNT }));
    assert_eq!(c.subscribe(&sneaky).await["reason"], "forbidden");
}

#[tokio::test]
async fn a_channel_can_refuse_undeclared_params() {
    let s = Server::start();
    let mut c = s.user("u1", ACCOUNT).await;
    // Without pipeline_id the subscription would cover every pipeline of the account, so a
    // misspelt one is refused rather than ignored.
    let typo = identifier("DevopsPipelineChannel", &json!({ "account_id": ACCOUNT, "pipelineId": "p1" }));
    let answer = c.subscribe(&typo).await;
    assert_eq!(answer, json!({ "identifier": typo, "type": "reject_subscription", "reason": "invalid_params" }));
    s.wait_for_log("the refused key", |log| log.lines().find(|l| l.contains("subscription rejected") && l.contains("/pipelineId")).map(str::to_owned)).await;
    // Its ids are read like any other channel's.
    c.subscribed(&identifier("DevopsPipelineChannel", &json!({ "account_id": 4242 }))).await;
}
