//! "Sends current subscription status on connect" (seed 000, SubscriptionChannel) against
//! the real binary and a real HTTP backend started here: on subscribe the server POSTs
//! `{principal, channel, params}` to the backend, and what it answers goes to that
//! subscriber only, after `confirm_subscription` and before any live event of the
//! subscription, even one published while the backend was being asked. When the backend
//! fails (an error status, no answer in time, an invalid answer, one for another account,
//! none configured) the subscriber gets `subscription.status_unavailable` and the
//! subscription works on.
//!
//! The backend answers by the account in the params, so one backend serves every case.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cableway_tests::client::{identifier, Client};
use cableway_tests::server::{Options, Server};
use cableway_tests::wait;
use serde_json::{json, Value};
use tokio::sync::Notify;

const CHANNEL: &str = "SubscriptionChannel";

/// What the backend shares with the test.
#[derive(Default)]
struct Backend {
    /// Every request body, in order.
    seen: Mutex<Vec<Value>>,
    /// Cableway's URL and publisher key, for the answer that publishes first.
    cableway: Mutex<Option<(String, String)>>,
    /// What the publish during the fetch answered.
    raced: Mutex<Option<Value>>,
    /// Released by the test, for the answer that waits.
    release: Notify,
}

fn subscription(account: &str, status: &str) -> Value {
    json!({
        "id": format!("sub-{account}"), "account_id": account, "status": status,
        "plan": { "id": "plan-pro", "name": "Pro", "price_cents": 4900, "currency": "USD", "interval": "month" },
        "cancel_at_period_end": false, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z"
    })
}

fn status(account: &str) -> Value {
    json!({ "account_id": account, "subscription": subscription(account, "active") })
}

fn status_changed(account: &str) -> Value {
    json!({ "subscription": subscription(account, "past_due"), "previous_status": "active", "changed_at": "2026-01-03T00:00:00Z" })
}

async fn on_subscribe(State(b): State<Arc<Backend>>, Json(body): Json<Value>) -> Response {
    b.seen.lock().unwrap().push(body.clone());
    let account = body["params"]["account_id"].as_str().unwrap_or_default().to_owned();
    let answer = |events: Value| Json(json!({ "events": events })).into_response();
    match account.as_str() {
        "acc-ok" | "5150" => answer(json!([{ "event": "subscription.status", "payload": status(&account) }])),
        "acc-none" => answer(json!([])),
        // A live event is published (and queued for the subscriber) before the status is answered.
        "acc-race" => {
            let (url, key) = b.cableway.lock().unwrap().clone().expect("the test set Cableway's address");
            let publication = json!({ "channel": CHANNEL, "event": "subscription.status_changed", "payload": status_changed(&account) });
            let resp = reqwest::Client::new().post(format!("{url}/broadcast")).bearer_auth(key).json(&publication).send().await.expect("publish from the backend");
            *b.raced.lock().unwrap() = Some(resp.json().await.expect("publish answer"));
            answer(json!([{ "event": "subscription.status", "payload": status(&account) }]))
        }
        "acc-wait" => {
            b.release.notified().await;
            answer(json!([{ "event": "subscription.status", "payload": status(&account) }]))
        }
        "acc-500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "acc-slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            answer(json!([]))
        }
        "acc-html" => (StatusCode::OK, "<html>not json</html>").into_response(),
        // `subscription` must be a BillingSubscription or null; a value that must not leak.
        "acc-invalid" => answer(json!([{ "event": "subscription.status", "payload": { "account_id": account, "subscription": "BACKEND-SECRET" } }])),
        // Another account's status: it would not reach this subscription's stream.
        "acc-other" => answer(json!([{ "event": "subscription.status", "payload": status("acc-ok") }])),
        // An event of the channel the fetch does not declare.
        "acc-undeclared" => answer(json!([{ "event": "subscription.status_changed", "payload": status_changed(&account) }])),
        "acc-shape" => Json(json!({ "status": status(&account) })).into_response(),
        _ => (StatusCode::BAD_REQUEST, "unexpected account").into_response(),
    }
}

/// The backend on 127.0.0.1:0, and a server pointed at it (forward timeout 500 ms).
async fn setup() -> (Server, Arc<Backend>) {
    let backend = Arc::new(Backend::default());
    let app = Router::new().route("/cable/on_subscribe", post(on_subscribe)).with_state(backend.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind backend");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("backend serves") });
    let s = Server::start_with(Options::default().env("CABLEWAY_BACKEND_URL", &url).env("CABLEWAY_FORWARD_TIMEOUT_MS", "500"));
    *backend.cableway.lock().unwrap() = Some((s.http(), s.publisher_key.clone()));
    (s, backend)
}

fn subscription_id(account: &str) -> String {
    identifier(CHANNEL, &json!({ "account_id": account }))
}

/// A user of `account` and the identifier of its subscription, not yet sent.
async fn user_of(s: &Server, account: &str) -> (Client, String) {
    (s.user(&format!("u-{account}"), account).await, subscription_id(account))
}

/// Subscribes a user of `account` and returns the first data message after the
/// confirmation (the status, or the notice that it is unavailable).
async fn subscribe_for_status(s: &Server, account: &str) -> (Client, String, Value) {
    let (mut c, id) = user_of(s, account).await;
    c.subscribed(&id).await;
    let first = c.message(&id).await.unwrap_or_else(|| panic!("{account}: nothing after confirm_subscription"));
    (c, id, first)
}

/// A live publish reaches the subscription: it works whatever happened on subscribe.
async fn assert_live(s: &Server, c: &mut Client, id: &str, account: &str) {
    let (status, body) = s.publish(&json!({ "channel": CHANNEL, "event": "subscription.status_changed", "payload": status_changed(account) })).await;
    assert_eq!(status, 200, "{body}");
    let m = c.message(id).await.expect("a live event after the on-subscribe step");
    assert_eq!(m["event"], "subscription.status_changed", "{m}");
}

#[tokio::test]
async fn the_backend_tells_the_current_status_to_the_new_subscriber_only() {
    let (s, backend) = setup().await;
    let (mut a, id, first) = subscribe_for_status(&s, "acc-ok").await;
    assert_eq!(first["event"], "subscription.status", "{first}");
    assert_eq!(first["payload"], status("acc-ok"));
    assert!(first["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");
    {
        let seen = backend.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["channel"], CHANNEL);
        assert_eq!(seen[0]["params"], json!({ "account_id": "acc-ok" }));
        assert_eq!(seen[0]["principal"]["sub"], "u-acc-ok");
        assert_eq!(seen[0]["principal"]["account_id"], "acc-ok");
        let mut keys: Vec<&str> = seen[0].as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["channel", "params", "principal"]);
    }

    // A second subscriber of the account gets its own status; the first one hears nothing of it.
    let (_b, _, second) = subscribe_for_status(&s, "acc-ok").await;
    assert_eq!(second["event"], "subscription.status");
    assert!(a.round_trip().await.is_empty(), "the status goes to the new subscriber only");
    assert_live(&s, &mut a, &id, "acc-ok").await;

    // An id sent as a number reaches the backend as its canonical text.
    let mut n = s.user("u-5150", "5150").await;
    let raw = r#"{"channel":"SubscriptionChannel","account_id":5150}"#;
    n.subscribed(raw).await;
    assert_eq!(n.message(raw).await.expect("status")["payload"]["account_id"], "5150");
    assert_eq!(backend.seen.lock().unwrap().last().unwrap()["params"], json!({ "account_id": "5150" }));

    // An empty answer sends nothing, and the subscription works.
    let (mut e, none) = user_of(&s, "acc-none").await;
    e.subscribed(&none).await;
    assert_live(&s, &mut e, &none, "acc-none").await;
}

#[tokio::test]
async fn a_live_event_racing_the_fetch_comes_after_the_status() {
    let (s, backend) = setup().await;
    let (mut c, id) = user_of(&s, "acc-race").await;
    c.send_subscribe(&id).await;
    let frames: Vec<Value> = {
        let mut out = Vec::new();
        while out.len() < 3 {
            let f = c.recv().await.expect("confirm, status and the raced event");
            if f["identifier"] == id.as_str() {
                out.push(f);
            }
        }
        out
    };
    assert_eq!(frames[0], json!({ "identifier": id, "type": "confirm_subscription" }));
    assert_eq!(frames[1]["message"]["event"], "subscription.status", "{:?}", frames);
    assert_eq!(frames[2]["message"]["event"], "subscription.status_changed", "{:?}", frames);
    assert_eq!(frames[2]["message"]["payload"], status_changed("acc-race"));
    // The publish happened while the backend was being asked, and was queued for this subscriber.
    let raced = backend.raced.lock().unwrap().clone().expect("the backend published during the fetch");
    assert_eq!(raced["deliveries"], 1, "{raced}");
    assert!(c.round_trip().await.is_empty(), "each once");
    assert_live(&s, &mut c, &id, "acc-race").await;
}

#[tokio::test]
async fn when_the_backend_fails_the_subscriber_is_told_and_the_subscription_works() {
    let (s, _backend) = setup().await;
    for (account, reason) in [
        ("acc-500", "the backend answered 500"),
        ("acc-slow", "did not answer in time"),
        ("acc-html", "not JSON"),
        ("acc-invalid", "does not match its schema"),
        ("acc-other", "is not published to this subscription's streams"),
        ("acc-undeclared", "which the fetch does not declare"),
        ("acc-shape", "the answer is not"),
    ] {
        let (mut c, id, first) = subscribe_for_status(&s, account).await;
        assert_eq!(first["event"], "subscription.status_unavailable", "{account}: {first}");
        assert_eq!(first["payload"]["account_id"], account, "{first}");
        assert_eq!(first["payload"]["error"]["code"], "status_unavailable", "{first}");
        assert!(!first.to_string().contains("BACKEND-SECRET"), "{first}");
        assert_live(&s, &mut c, &id, account).await;
        s.wait_for_log(&format!("the failure of {account}"), |log| {
            log.lines().find(|l| l.contains("on-subscribe fetch failed") && l.contains(reason) && !l.contains("BACKEND-SECRET")).map(str::to_owned)
        })
        .await;
    }
    // Another account's status never reached this one: it only ever got its own notice.
    assert!(!s.plain_logs().contains("BACKEND-SECRET"), "payloads are not logged");
}

#[tokio::test]
async fn without_a_backend_the_status_is_unavailable() {
    let s = Server::start();
    let (mut c, id, first) = subscribe_for_status(&s, "acc-ok").await;
    assert_eq!(first["event"], "subscription.status_unavailable", "{first}");
    assert_live(&s, &mut c, &id, "acc-ok").await;
}

#[tokio::test]
async fn an_unsubscribe_during_the_fetch_sends_nothing_afterwards() {
    let (s, backend) = setup().await;
    let (mut c, id) = user_of(&s, "acc-wait").await;
    c.subscribed(&id).await;
    wait::poll_async(Duration::from_secs(10), || (!backend.seen.lock().unwrap().is_empty()).then_some(())).await.expect("the backend was asked");
    c.send(&json!({ "command": "unsubscribe", "identifier": id })).await;
    assert!(c.round_trip().await.is_empty());
    backend.release.notify_one();
    // The answer arrives after the unsubscribe: nothing for the identifier, now or later.
    let (_, body) = s.publish(&json!({ "channel": CHANNEL, "event": "subscription.status_changed", "payload": status_changed("acc-wait") })).await;
    assert_eq!(body["deliveries"], 0, "the hold left the hub with the subscription: {body}");
    assert!(c.recv_within(Duration::from_millis(500)).await.is_none(), "nothing after the unsubscribe");
}
