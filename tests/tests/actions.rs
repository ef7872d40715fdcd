//! Client actions (`perform`) against the real binary: relay with `exclude_sender` and the
//! fields it stamps (who sent it, where; never the client's word), forward
//! to a real HTTP backend started inside the test, the `$reply` shape of every outcome, and
//! the built-in error codes. The per-connection rate limit depends on time: `timing.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cableway_tests::client::{identifier, Client};
use cableway_tests::fixtures::{conversation, join_conversation};
use cableway_tests::server::{claims, free_port, Options, Server};
use serde_json::{json, Value};

const CONV: &str = "conv1";
const ACCOUNT: &str = "acc1";

/// `ua` and `ub` of the test account, both in conversation `CONV` (owned by the account),
/// past its on-subscribe message; returns the identifier and the two clients.
async fn two_members(s: &Server) -> (String, Client, Client) {
    s.own("ai_conversation", CONV, ACCOUNT).await;
    let (mut a, mut b) = (s.user("ua", ACCOUNT).await, s.user("ub", ACCOUNT).await);
    let id = join_conversation(&mut a, CONV, "ua").await;
    join_conversation(&mut b, CONV, "ub").await;
    (id, a, b)
}

/// [`two_members`], and a member `uc` of another conversation of the account (`conv2`):
/// returns the identifier, the two clients, and the neighbour's identifier and client.
async fn two_members_and_a_neighbour(s: &Server) -> (String, Client, Client, String, Client) {
    let (id, a, b) = two_members(s).await;
    s.own("ai_conversation", "conv2", ACCOUNT).await;
    let other_id = conversation("conv2");
    let mut other = s.user("uc", ACCOUNT).await;
    other.joined(&other_id).await;
    (id, a, b, other_id, other)
}

/// The next `$reply` on `id`, skipping event messages (returned alongside, in order).
async fn reply(c: &mut Client, id: &str) -> (Value, Vec<Value>) {
    let mut events = Vec::new();
    loop {
        let m = c.message(id).await.unwrap_or_else(|| panic!("no $reply; events meanwhile: {events:?}"));
        match m.get("$reply") {
            Some(r) => return (r.clone(), events),
            None => events.push(m),
        }
    }
}

/// Asserts an error reply: its ref, action and code; returns the error object.
fn assert_error(r: &Value, reference: Option<&str>, action: &str, code: &str) -> Value {
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["action"], action, "{r}");
    assert_eq!(r.get("ref").and_then(Value::as_str), reference, "{r}");
    assert_eq!(r["error"]["code"], code, "{r}");
    assert!(r["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "an error carries a message: {r}");
    assert!(r.get("data").is_none(), "an error has no data: {r}");
    r["error"].clone()
}

#[tokio::test]
async fn relay_reaches_the_other_subscribers_but_not_the_sender() {
    let s = Server::start();
    // A subscriber of another conversation of the same account hears nothing.
    let (id, mut a, mut b, _, mut other) = two_members_and_a_neighbour(&s).await;

    // Without `$ref`: B gets the event envelope, A gets nothing at all (no echo, no reply).
    a.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "typing" })).await;
    let m = b.message(&id).await.expect("relayed event");
    assert_eq!(m["event"], "typing_indicator", "{m}");
    assert_eq!(m["payload"], json!({ "conversation_id": CONV, "status": "typing", "user_id": "ua" }), "the validated request is the payload, stamped with who sent it");
    assert!(m["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{m}");
    assert!(m.get("resource_type").is_none() && m.get("resource_id").is_none(), "typing_indicator declares no resource: {m}");
    assert!(a.recv_within(Duration::from_millis(500)).await.is_none(), "the sender is excluded and asked for no reply");

    // With `$ref`: A gets exactly an ok reply; B gets the event without the `$ref`.
    a.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "stopped", "$ref": "r-1" })).await;
    let (r, events) = reply(&mut a, &id).await;
    assert!(events.is_empty(), "the sender must not receive its own relay: {events:?}");
    assert_eq!(r, json!({ "ref": "r-1", "action": "typing_indicator", "ok": true, "data": null }));
    let m = b.message(&id).await.expect("relayed event");
    assert_eq!(m["event"], "typing_indicator");
    assert_eq!(m["payload"], json!({ "conversation_id": CONV, "status": "stopped", "user_id": "ua" }));
    assert!(a.recv_within(Duration::from_millis(500)).await.is_none(), "nothing else for the sender");

    // B relays too, and A (now a receiver) gets it.
    b.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "typing" })).await;
    let m = a.message(&id).await.expect("relayed event");
    assert_eq!(m["payload"], json!({ "conversation_id": CONV, "status": "typing", "user_id": "ub" }));
    assert!(b.recv_within(Duration::from_millis(300)).await.is_none());
    assert!(other.recv_within(Duration::from_millis(300)).await.is_none(), "other conversations are not relayed to");
}

#[tokio::test]
async fn a_relay_says_who_sent_it_and_where_and_a_client_cannot_forge_either() {
    let s = Server::start();
    let (id, mut a, mut b, _, mut other) = two_members_and_a_neighbour(&s).await;

    // The seed's frontend sends `{status}`: receivers see who is typing, and where.
    a.perform(&id, "typing_indicator", json!({ "status": "typing" })).await;
    let m = b.message(&id).await.expect("relayed event");
    assert_eq!(m["payload"], json!({ "conversation_id": CONV, "user_id": "ua", "status": "typing" }));

    // Who: a client-sent user_id is not part of the request, so it is refused, and nothing is relayed.
    a.perform(&id, "typing_indicator", json!({ "status": "typing", "user_id": "ub", "$ref": "forge-1" })).await;
    let (r, _) = reply(&mut a, &id).await;
    let e = assert_error(&r, Some("forge-1"), "typing_indicator", "invalid_request");
    assert!(e["details"].as_array().is_some_and(|d| d.iter().any(|d| d["path"] == "/user_id")), "{e}");
    assert!(b.round_trip().await.is_empty(), "a forged relay is not relayed");

    // Where: conversation_id is still accepted (1.0 clients send it) and replaced by the
    // subscription's: a client cannot relay into another conversation, nor claim it did.
    a.perform(&id, "typing_indicator", json!({ "status": "stopped", "conversation_id": "conv2" })).await;
    let m = b.message(&id).await.expect("relayed event");
    assert_eq!(m["payload"], json!({ "conversation_id": CONV, "user_id": "ua", "status": "stopped" }));
    assert!(other.round_trip().await.is_empty(), "nothing reaches conv2");
    s.wait_for_log("the replaced field at debug", |log| log.lines().find(|l| l.contains("stamped field was replaced") && l.contains("field=\"conversation_id\"")).map(str::to_owned)).await;

    // The stamp reads the canonical param: a conversation subscribed by number is its text.
    s.own("ai_conversation", "77", ACCOUNT).await;
    let by_number = identifier("AiConversationChannel", &json!({ "conversation_id": 77 }));
    a.joined(&by_number).await;
    let by_text = conversation("77");
    b.joined(&by_text).await;
    a.perform(&by_number, "typing_indicator", json!({ "status": "typing" })).await;
    let m = b.message(&by_text).await.expect("relayed to the same stream");
    assert_eq!(m["payload"], json!({ "conversation_id": "77", "user_id": "ua", "status": "typing" }));
}

// ---------------------------------------------------------------------------------------
// Forward: a real backend
// ---------------------------------------------------------------------------------------

/// What the backend saw, in order.
type Seen = Arc<Mutex<Vec<Value>>>;

fn message_json(id: &str, content: &str) -> Value {
    json!({
        "id": id, "conversation_id": CONV, "account_id": ACCOUNT, "sender_type": "user", "message_type": "text",
        "user_id": "ua", "content": content, "status": "completed",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
}

/// The backend's answer, chosen by the message content so one backend serves every case.
async fn actions(State(seen): State<Seen>, body: Json<Value>) -> Response {
    let Json(body) = body;
    seen.lock().unwrap().push(body.clone());
    let content = body["payload"]["content"].as_str().unwrap_or_default().to_owned();
    match content.as_str() {
        "hello" => Json(json!({
            "reply": { "message": message_json("m1", "hello"), "ai_response_queued": true },
            "events": [
                { "channel": "AiConversationChannel", "event": "message_created", "payload": message_json("m1", "hello") },
                { "event": "ai_response_queued", "payload": { "conversation_id": CONV, "message_id": "m1", "queued_at": "2026-01-01T00:00:01Z" } }
            ]
        }))
        .into_response(),
        "closed" => Json(json!({ "error": { "code": "conversation_closed", "message": "the conversation is closed" } })).into_response(),
        "undeclared" => Json(json!({ "error": { "code": "teapot", "message": "I am a teapot" } })).into_response(),
        "boom" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        // `message` must be a ConversationMessage and `ai_response_queued` a boolean.
        "bad reply" => Json(json!({ "reply": { "message": "not a message", "ai_response_queued": "yes", "leak": "BACKEND-INTERNAL" } })).into_response(),
        "no reply" => Json(json!({})).into_response(),
        // One invalid event (no `queued_at`): none of the events may be published.
        "bad event" => Json(json!({
            "reply": { "message": message_json("m2", "bad event"), "ai_response_queued": true },
            "events": [
                { "event": "message_created", "payload": message_json("m2", "bad event") },
                { "event": "ai_response_queued", "payload": { "conversation_id": CONV, "message_id": "m2" } }
            ]
        }))
        .into_response(),
        _ => (StatusCode::BAD_REQUEST, "unexpected content").into_response(),
    }
}

/// Starts the backend on 127.0.0.1:0; returns its base URL and what it records.
async fn backend() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().route("/cable/actions", post(actions)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind backend");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("backend serves") });
    (url, seen)
}

#[tokio::test]
async fn forward_posts_to_the_backend_and_relays_its_answer() {
    let (url, seen) = backend().await;
    let s = Server::start_with(Options::default().env("CABLEWAY_BACKEND_URL", &url));
    s.own("ai_conversation", CONV, ACCOUNT).await;
    let principal = claims("ua", ACCOUNT, &["ai.chat"], "user", 3600);
    let mut a = Client::connect_welcomed(&s.cable_url(Some(&s.sign(&principal)))).await;
    let mut b = s.user("ub", ACCOUNT).await;
    let id = join_conversation(&mut a, CONV, "ua").await;
    join_conversation(&mut b, CONV, "ub").await;

    // Success: the backend gets {principal, channel, params, action, payload}; the sender
    // gets exactly its reply; every subscriber (the sender too) gets its events, in order.
    a.perform(&id, "send_message", json!({ "content": "hello", "$ref": "f-1" })).await;
    let (r, a_events) = reply(&mut a, &id).await;
    assert_eq!(r, json!({ "ref": "f-1", "action": "send_message", "ok": true, "data": { "message": message_json("m1", "hello"), "ai_response_queued": true } }));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        let body = &seen[0];
        assert_eq!(body["principal"], principal, "the principal is the token's claims");
        assert_eq!(body["channel"], "AiConversationChannel");
        assert_eq!(body["params"], json!({ "conversation_id": CONV }));
        assert_eq!(body["action"], "send_message");
        assert_eq!(body["payload"], json!({ "content": "hello" }), "the payload is the request without `action` and `$ref`");
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["action", "channel", "params", "payload", "principal"]);
    }
    let names = |events: &[Value]| events.iter().map(|e| e["event"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&a_events), ["message_created", "ai_response_queued"], "the sender is not excluded from backend events");
    let b1 = b.message(&id).await.expect("message_created");
    let b2 = b.message(&id).await.expect("ai_response_queued");
    assert_eq!((b1["event"].as_str(), b2["event"].as_str()), (Some("message_created"), Some("ai_response_queued")));
    assert_eq!(b1["payload"], message_json("m1", "hello"));
    assert_eq!((b1["resource_type"].as_str(), b1["resource_id"].as_str()), (Some("ai_message"), Some("m1")));
    assert_eq!(b2["payload"], json!({ "conversation_id": CONV, "message_id": "m1", "queued_at": "2026-01-01T00:00:01Z" }));
    assert!(b.recv_within(Duration::from_millis(300)).await.is_none(), "B gets no reply of A's action");

    // A declared reply schema means a reply even without `$ref`.
    a.perform(&id, "send_message", json!({ "content": "hello" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r.get("ref").is_none(), "{r}");
    for _ in 0..2 {
        b.message(&id).await.expect("events of the second send");
    }

    // A declared error code is passed through with the backend's message.
    a.perform(&id, "send_message", json!({ "content": "closed", "$ref": "f-2" })).await;
    let (r, events) = reply(&mut a, &id).await;
    let e = assert_error(&r, Some("f-2"), "send_message", "conversation_closed");
    assert_eq!(e["message"], "the conversation is closed");
    assert!(events.is_empty());

    // An undeclared code is not passed through.
    a.perform(&id, "send_message", json!({ "content": "undeclared", "$ref": "f-3" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("f-3"), "send_message", "backend_unavailable");

    // HTTP 500.
    a.perform(&id, "send_message", json!({ "content": "boom", "$ref": "f-4" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("f-4"), "send_message", "backend_unavailable");

    // A reply that does not match the declared schema is never passed through.
    a.perform(&id, "send_message", json!({ "content": "bad reply", "$ref": "f-5" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("f-5"), "send_message", "backend_unavailable");
    assert!(!r.to_string().contains("BACKEND-INTERNAL") && !r.to_string().contains("not a message"), "{r}");

    // No reply at all, where the action declares one, is a schema mismatch too.
    a.perform(&id, "send_message", json!({ "content": "no reply", "$ref": "f-6" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("f-6"), "send_message", "backend_unavailable");

    // An invalid event: an error, and none of the answer's events reach anyone.
    a.perform(&id, "send_message", json!({ "content": "bad event", "$ref": "f-7" })).await;
    let (r, events) = reply(&mut a, &id).await;
    assert_error(&r, Some("f-7"), "send_message", "backend_unavailable");
    assert!(events.is_empty(), "{events:?}");
    assert!(b.recv_within(Duration::from_millis(500)).await.is_none(), "no event of an invalid answer is published");

    assert_eq!(seen.lock().unwrap().len(), 8, "every forward reached the backend once");
    // After all of that the connection still works.
    a.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "typing", "$ref": "ok" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_eq!(r["ok"], true, "{r}");
}

#[tokio::test]
async fn forward_to_a_backend_that_is_down_answers_backend_unavailable() {
    // Nothing listens on this port.
    let url = format!("http://127.0.0.1:{}", free_port());
    let s = Server::start_with(Options::default().env("CABLEWAY_BACKEND_URL", &url));
    s.own("ai_conversation", CONV, ACCOUNT).await;
    let mut a = s.user("ua", ACCOUNT).await;
    let id = join_conversation(&mut a, CONV, "ua").await;
    a.perform(&id, "send_message", json!({ "content": "hello", "$ref": "d-1" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("d-1"), "send_message", "backend_unavailable");

    // No backend configured at all: the same answer.
    let s2 = Server::start();
    s2.own("ai_conversation", CONV, ACCOUNT).await;
    let mut c = s2.user("ua", ACCOUNT).await;
    join_conversation(&mut c, CONV, "ua").await;
    c.perform(&id, "send_message", json!({ "content": "hello", "$ref": "d-2" })).await;
    let (r, _) = reply(&mut c, &id).await;
    assert_error(&r, Some("d-2"), "send_message", "backend_unavailable");
    c.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "typing", "$ref": "ok" })).await;
    assert_eq!(reply(&mut c, &id).await.0["ok"], true);
}

// ---------------------------------------------------------------------------------------
// Built-in errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_performs_get_error_replies_and_the_connection_survives() {
    let s = Server::start();
    let (id, mut a, mut b) = two_members(&s).await;

    // Unknown action: always answered, with or without `$ref`.
    a.perform(&id, "no_such_action", json!({ "$ref": "e-1" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("e-1"), "no_such_action", "unknown_action");
    a.perform(&id, "no_such_action", json!({})).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, None, "no_such_action", "unknown_action");

    // Missing action key.
    let data = json!({ "$ref": "e-2", "content": "hi" }).to_string();
    a.send(&json!({ "command": "message", "identifier": id, "data": data })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("e-2"), "", "unknown_action");
    // A non-string action counts as missing.
    let data = json!({ "$ref": "e-3", "action": 7 }).to_string();
    a.send(&json!({ "command": "message", "identifier": id, "data": data })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("e-3"), "", "unknown_action");

    // Invalid payloads: `invalid_request` with details [{path, message}]; the values are not echoed.
    a.perform(&id, "send_message", json!({ "content": "", "$ref": "e-4" })).await;
    let (r, _) = reply(&mut a, &id).await;
    let e = assert_error(&r, Some("e-4"), "send_message", "invalid_request");
    let details = e["details"].as_array().unwrap_or_else(|| panic!("details: {e}"));
    assert!(!details.is_empty(), "{e}");
    for d in details {
        assert!(d["path"].is_string() && d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
        assert_eq!(d.as_object().unwrap().len(), 2, "exactly path and message: {d}");
    }
    assert!(details.iter().any(|d| d["path"] == "/content"), "the path names the field: {e}");

    a.perform(&id, "send_message", json!({ "content": "hi", "extra": "SECRET-VALUE-42", "$ref": "e-5" })).await;
    let (r, _) = reply(&mut a, &id).await;
    let e = assert_error(&r, Some("e-5"), "send_message", "invalid_request");
    assert!(e["details"].as_array().is_some_and(|d| !d.is_empty() && d.iter().all(|d| d["path"].is_string() && d["message"].is_string())), "{e}");
    assert!(!r.to_string().contains("SECRET-VALUE-42"), "the client's values are not echoed: {r}");

    a.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "sleeping", "$ref": "e-6" })).await;
    let (r, _) = reply(&mut a, &id).await;
    let e = assert_error(&r, Some("e-6"), "typing_indicator", "invalid_request");
    assert!(e["details"].as_array().is_some_and(|d| d.iter().any(|d| d["path"] == "/status")), "{e}");

    a.perform(&id, "send_message", json!({ "$ref": "e-7" })).await;
    let (r, _) = reply(&mut a, &id).await;
    assert_error(&r, Some("e-7"), "send_message", "invalid_request");

    // An invalid relay is not relayed.
    assert!(b.recv_within(Duration::from_millis(300)).await.is_none(), "nothing was relayed to B");

    // More bad performs than the protocol-error budget: they are not protocol errors.
    for i in 0..15 {
        a.perform(&id, "no_such_action", json!({ "$ref": format!("x-{i}") })).await;
        let (r, _) = reply(&mut a, &id).await;
        assert_error(&r, Some(&format!("x-{i}")), "no_such_action", "unknown_action");
    }

    // The connection still works.
    a.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "typing", "$ref": "ok" })).await;
    let (r, events) = reply(&mut a, &id).await;
    assert!(events.is_empty());
    assert_eq!(r, json!({ "ref": "ok", "action": "typing_indicator", "ok": true, "data": null }));
    let m = b.message(&id).await.expect("relayed after the errors");
    assert_eq!(m["payload"]["status"], "typing");
}
