//! `POST /broadcast` against the real binary: the publisher key, unknown and ambiguous
//! events, payload validation (422 with JSON-pointer errors that never echo values), the
//! body limit, all-or-nothing batches, the response, seed 001's three-level fan-out of
//! `workflow.run.status.changed` with its envelope, node updates at the run and (when they
//! name it) the workflow level, and ownership facts carried by events.

use std::time::Duration;

use cableway::channels::{find, REGISTRY};
use cableway_tests::client::{identifier, Client};
use cableway_tests::fixtures::{notification, notification_payload, notifications};
use cableway_tests::server::Server;
use serde_json::{json, Value};

/// POSTs raw bytes to `/broadcast`, with `key` as the bearer token when given.
async fn post(s: &Server, body: Vec<u8>, auth: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("{}/broadcast", s.http())).header("content-type", "application/json").body(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.expect("POST /broadcast");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A user of `account` subscribed to its notifications, past the on-subscribe message.
async fn notification_subscriber(s: &Server, account: &str) -> (Client, String) {
    let mut c = s.user("u", account).await;
    let id = notifications(account);
    let hello = c.joined(&id).await;
    assert_eq!(hello["event"], "connection_established");
    (c, id)
}

async fn assert_silent(c: &mut Client, what: &str) {
    if let Some(v) = c.recv_within(Duration::from_millis(400)).await {
        panic!("{what}: nothing may be delivered, got {v}");
    }
}

/// An example of a model from the `$defs` of an event's envelope schema.
fn model_example(channel: &str, event: &str, name: &str) -> Value {
    let ev = find(channel).and_then(|c| c.event(event)).unwrap_or_else(|| panic!("{channel} declares {event}"));
    let schema: Value = serde_json::from_str(ev.envelope_schema).unwrap();
    let example = schema["$defs"][name]["examples"][0].clone();
    assert!(example.is_object(), "{name} has an example in the envelope schema of {event}");
    example
}

const RUN_STATUS: &str = "workflow.run.status.changed";
const ORCHESTRATION: &str = "AiOrchestrationChannel";

/// Seed 001's `workflow.run.status.changed` payload, built from the models' examples.
fn run_status_payload() -> Value {
    json!({
        "workflow_run": model_example(ORCHESTRATION, RUN_STATUS, "WorkflowRun"),
        "workflow_stats": model_example(ORCHESTRATION, RUN_STATUS, "WorkflowStats"),
    })
}

fn is_rfc3339(s: &str) -> bool {
    let schema = json!({ "type": "string", "format": "date-time" });
    let v = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    v.is_valid(&json!(s)) && s.len() >= 20 && s.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn the_publisher_key_is_required() {
    let s = Server::start();
    let (mut c, _) = notification_subscriber(&s, "acc1").await;
    let body = notification("acc1", "n1").to_string().into_bytes();
    for (case, auth) in [
        ("no key", None),
        ("wrong key", Some("Bearer not-the-publisher-key-0123456789abcdef".to_owned())),
        ("key without scheme", Some(s.publisher_key.clone())),
        ("key as Basic", Some(format!("Basic {}", s.publisher_key))),
        ("JWT secret instead of the key", Some(format!("Bearer {}", s.secret))),
        ("a user's token", Some(format!("Bearer {}", s.token("u", "acc1", &[])))),
        ("key with a suffix", Some(format!("Bearer {}x", s.publisher_key))),
        ("key prefix", Some(format!("Bearer {}", &s.publisher_key[..s.publisher_key.len() - 1]))),
    ] {
        let (status, resp) = post(&s, body.clone(), auth.as_deref()).await;
        assert_eq!(status, 401, "{case}: {resp}");
        assert_eq!(resp["error"], "unauthorized", "{case}: {resp}");
    }
    assert_silent(&mut c, "unauthorized publishes").await;
    // PUT /resources needs the key too.
    let resp = reqwest::Client::new().put(format!("{}/resources/workflow_run/r1", s.http())).json(&json!({"account_id": "acc1"})).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // Control: the key works.
    let (status, resp) = post(&s, body, Some(&format!("Bearer {}", s.publisher_key))).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(c.message(&notifications("acc1")).await.unwrap()["payload"]["id"], "n1");
}

#[tokio::test]
async fn unknown_ambiguous_and_unique_event_names() {
    let s = Server::start();
    let (status, body) = s.publish(&json!({ "channel": "NoSuchChannel", "event": "new_notification", "payload": {} })).await;
    assert_eq!(status, 404, "unknown channel: {body}");
    let (status, body) = s.publish(&json!({ "channel": "NotificationChannel", "event": "no.such.event", "payload": {} })).await;
    assert_eq!(status, 404, "unknown event of a channel: {body}");
    let (status, body) = s.publish(&json!({ "event": "no.such.event", "payload": {} })).await;
    assert_eq!(status, 404, "unknown event: {body}");
    // An event of another channel is unknown in this one.
    let (status, body) = s.publish(&json!({ "channel": "NotificationChannel", "event": RUN_STATUS, "payload": run_status_payload() })).await;
    assert_eq!(status, 404, "event of another channel: {body}");

    // Every event name declared by several channels needs `channel`.
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in REGISTRY {
        for e in c.events {
            by_name.entry(e.name).or_default().push(c.name);
        }
    }
    let ambiguous: Vec<_> = by_name.iter().filter(|(_, cs)| cs.len() > 1).collect();
    assert!(ambiguous.iter().any(|(n, _)| **n == RUN_STATUS), "{RUN_STATUS} is declared by several channels: {ambiguous:?}");
    for (name, channels) in &ambiguous {
        let (status, body) = s.publish(&json!({ "event": name, "payload": {} })).await;
        assert_eq!(status, 400, "{name} ({channels:?}) without channel: {body}");
        assert_eq!(body["error"], "ambiguous_event", "{body}");
        for c in channels.iter() {
            assert!(body["message"].as_str().unwrap_or_default().contains(c), "the answer names {c}: {body}");
        }
    }
    // With the channel it is published.
    let (status, body) = s.publish(&json!({ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": run_status_payload() })).await;
    assert_eq!(status, 200, "{body}");

    // A name unique across channels may leave `channel` out.
    assert_eq!(by_name["new_notification"], ["NotificationChannel"], "new_notification is unique");
    let (mut c, id) = notification_subscriber(&s, "acc1").await;
    let (status, body) = s.publish(&json!({ "event": "new_notification", "payload": notification_payload("acc1", "n7") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"], 1, "{body}");
    assert_eq!(c.message(&id).await.unwrap()["payload"]["id"], "n7");

    // Malformed publications are 400, never 5xx.
    for bad in [json!({ "payload": {} }), json!({ "event": 5, "payload": {} }), json!({ "event": "new_notification" }), json!("hello"), json!([]), json!({ "event": "new_notification", "payload": {}, "extra": 1 })] {
        let (status, body) = s.publish(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = post(&s, b"{not json".to_vec(), Some(&format!("Bearer {}", s.publisher_key))).await;
    assert_eq!(status, 400);
    assert_silent(&mut c, "refused publications").await;
}

/// Asserts a 422 whose errors are `{path, message}` pairs, one of them at `path`, none
/// echoing any of `secrets`.
fn assert_invalid(case: &str, status: u16, body: &Value, path: &str, secrets: &[&str]) {
    assert_eq!(status, 422, "{case}: {body}");
    assert_eq!(body["error"], "invalid_payload", "{case}: {body}");
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{case}: errors: {body}"));
    assert!(!errors.is_empty(), "{case}: {body}");
    for e in errors {
        let obj = e.as_object().unwrap_or_else(|| panic!("{case}: {e}"));
        assert_eq!(obj.len(), 2, "{case}: exactly path and message: {e}");
        let p = e["path"].as_str().unwrap_or_else(|| panic!("{case}: {e}"));
        assert!(p.starts_with('/'), "{case}: the path is a JSON pointer: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}: {e}");
    }
    let paths: Vec<&str> = errors.iter().filter_map(|e| e["path"].as_str()).collect();
    assert!(paths.contains(&path), "{case}: an error at {path}, got {paths:?}");
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{case}: the answer echoes the value {secret:?}: {body}");
    }
}

#[tokio::test]
async fn invalid_payloads_are_422_with_pointers_and_nothing_is_delivered() {
    let s = Server::start();
    let (mut c, _) = notification_subscriber(&s, "acc1").await;
    let good = notification_payload("acc1", "n1");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        json!({ "channel": "NotificationChannel", "event": "new_notification", "payload": p })
    };

    let (st, b) = s.publish(&with(&|p| {
        p.as_object_mut().unwrap().remove("title");
    }))
    .await;
    assert_invalid("missing required field", st, &b, "/payload/title", &[]);
    let (st, b) = s.publish(&with(&|p| p["read"] = json!("SECRET-yes-please"))).await;
    assert_invalid("wrong type", st, &b, "/payload/read", &["SECRET-yes-please"]);
    let (st, b) = s.publish(&with(&|p| p["read"] = json!(4242.5))).await;
    assert_invalid("wrong type (number)", st, &b, "/payload/read", &["4242.5"]);
    let (st, b) = s.publish(&with(&|p| p["severity"] = json!("SECRET-apocalyptic"))).await;
    assert_invalid("enum outside", st, &b, "/payload/severity", &["SECRET-apocalyptic"]);
    let (st, b) = s.publish(&with(&|p| p["extra_field"] = json!("SECRET-extra-value"))).await;
    assert_invalid("extra field", st, &b, "/payload/extra_field", &["SECRET-extra-value"]);
    let (st, b) = s.publish(&with(&|p| p["created_at"] = json!("SECRET-not-a-date"))).await;
    assert_invalid("format", st, &b, "/payload/created_at", &["SECRET-not-a-date"]);
    let (st, b) = s.publish(&with(&|p| p["title"] = json!(format!("SECRET{}", "t".repeat(300))))).await;
    assert_invalid("maxLength", st, &b, "/payload/title", &["SECRET"]);
    let (st, b) = s.publish(&json!({ "channel": "NotificationChannel", "event": "new_notification", "payload": "SECRET-string" })).await;
    assert_invalid("payload not an object", st, &b, "/payload", &["SECRET-string"]);
    // Several problems: every one is reported, each at its own pointer.
    let (st, b) = s.publish(&with(&|p| {
        p.as_object_mut().unwrap().remove("message");
        p["read"] = json!("SECRET-1");
        p["zzz"] = json!("SECRET-2");
    }))
    .await;
    for path in ["/payload/message", "/payload/read", "/payload/zzz"] {
        assert_invalid("several problems", st, &b, path, &["SECRET-1", "SECRET-2"]);
    }

    // Nested: the pointer goes down to the field.
    let mut run = run_status_payload();
    run["workflow_run"]["status"] = json!("SECRET-bogus-status");
    let (st, b) = s.publish(&json!({ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": run })).await;
    assert_invalid("nested enum", st, &b, "/payload/workflow_run/status", &["SECRET-bogus-status"]);
    let mut run = run_status_payload();
    run["workflow_run"].as_object_mut().unwrap().remove("id");
    let (st, b) = s.publish(&json!({ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": run })).await;
    assert_invalid("nested missing", st, &b, "/payload/workflow_run/id", &[]);

    assert_silent(&mut c, "invalid publications").await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let s = Server::start();
    let key = format!("Bearer {}", s.publisher_key);
    let mut p = notification("acc1", "n1");
    p["payload"]["message"] = json!("m".repeat(1024 * 1024));
    let (status, _) = post(&s, p.to_string().into_bytes(), Some(&key)).await;
    assert_eq!(status, 413, "a body over 1 MiB");
    // Exactly at the limit it is read (and here refused for its content, not its size).
    let mut body = notification("acc1", "n1").to_string().into_bytes();
    let pad = 1024 * 1024 - body.len();
    body.splice(1..1, std::iter::repeat_n(b' ', pad));
    assert_eq!(body.len(), 1024 * 1024);
    let (status, resp) = post(&s, body.clone(), Some(&key)).await;
    assert_eq!(status, 200, "a body of exactly 1 MiB: {resp}");
    body.insert(1, b' ');
    let (status, _) = post(&s, body, Some(&key)).await;
    assert_eq!(status, 413, "one byte over 1 MiB");
    // The server still serves.
    let (status, _) = s.publish(&notification("acc1", "n2")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn batches_are_all_or_nothing() {
    let s = Server::start();
    let (mut c, id) = notification_subscriber(&s, "acc1").await;

    let mut bad = notification("acc1", "n2");
    bad["payload"]["severity"] = json!("SECRET-sev");
    bad["payload"].as_object_mut().unwrap().remove("title");
    let (st, b) = s.publish(&json!([notification("acc1", "n1"), bad, notification("acc1", "n3")])).await;
    for path in ["/1/payload/severity", "/1/payload/title"] {
        assert_invalid("batch with one invalid item", st, &b, path, &["SECRET-sev"]);
    }
    let errors = b["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["path"].as_str().unwrap().starts_with("/1/payload")), "only item 1 is wrong: {b}");
    assert_silent(&mut c, "an invalid batch").await;

    // An unknown event anywhere in the batch: nothing is delivered either.
    let (st, b) = s.publish(&json!([notification("acc1", "n1"), { "channel": "NotificationChannel", "event": "nope", "payload": {} }])).await;
    assert_eq!(st, 404, "{b}");
    assert_silent(&mut c, "a batch with an unknown event").await;

    // A good batch: every item, in order.
    let (st, b) = s.publish(&json!([notification("acc1", "b1"), notification("acc1", "b2"), notification("acc2", "b3")])).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["published"], 3, "{b}");
    assert_eq!(b["deliveries"], 2, "{b}");
    assert_eq!(b["streams"], json!(["notifications:acc1", "notifications:acc2"]), "{b}");
    assert_eq!(c.message(&id).await.unwrap()["payload"]["id"], "b1");
    assert_eq!(c.message(&id).await.unwrap()["payload"]["id"], "b2");
    assert_silent(&mut c, "acc2's notification").await;
}

#[tokio::test]
async fn a_good_publish_reports_streams_and_deliveries() {
    let s = Server::start();
    let (mut a, id) = notification_subscriber(&s, "acc1").await;
    let (mut b, _) = notification_subscriber(&s, "acc1").await;
    let (mut other, _) = notification_subscriber(&s, "acc2").await;
    let (status, body) = s.publish(&notification("acc1", "n1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "published": 1, "streams": ["notifications:acc1"], "deliveries": 2 }));
    for c in [&mut a, &mut b] {
        let m = c.message(&id).await.unwrap();
        assert_eq!(m["event"], "new_notification");
        assert_eq!(m["payload"], notification_payload("acc1", "n1"));
    }
    assert_silent(&mut other, "another account").await;
    // Nobody listening: still 200, zero deliveries, the stream named.
    let (status, body) = s.publish(&notification("acc3", "n2")).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "published": 1, "streams": ["notifications:acc3"], "deliveries": 0 }));
}

#[tokio::test]
async fn seed_001_three_level_fan_out_reaches_each_subscriber_once() {
    let s = Server::start();
    let payload = run_status_payload();
    let run = &payload["workflow_run"];
    assert_eq!((run["id"].as_str(), run["workflow_id"].as_str(), run["account_id"].as_str()), (Some("run-id"), Some("workflow-id"), Some("account-id")), "the seed's ids");
    s.own("workflow_run", "run-id", "account-id").await;
    s.own("workflow", "workflow-id", "account-id").await;
    let token = s.token("user-1", "account-id", &[]);

    let mut subscribers = Vec::new();
    for (kind, id) in [("workflow_run", "run-id"), ("workflow", "workflow-id"), ("account", "account-id")] {
        let mut c = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
        let ident = identifier(ORCHESTRATION, &json!({ "type": kind, "id": id }));
        c.subscribed(&ident).await;
        // Whatever the channel sends on subscribe comes before any publish.
        while c.recv_within(Duration::from_millis(150)).await.is_some() {}
        subscribers.push((kind, c, ident));
    }
    // One connection holding all three subscriptions gets the event once per subscription.
    let mut all = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    let idents: Vec<String> = subscribers.iter().map(|(_, _, i)| i.clone()).collect();
    for i in &idents {
        all.subscribed(i).await;
    }
    while all.recv_within(Duration::from_millis(150)).await.is_some() {}

    let (status, body) = s.publish(&json!({ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": payload })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["streams"], json!(["ai_orchestration:workflow_run:run-id", "ai_orchestration:workflow:workflow-id", "ai_orchestration:account:account-id"]), "{body}");
    assert_eq!(body["deliveries"], 6, "three single subscribers and one connection with three subscriptions: {body}");

    let ev = find(ORCHESTRATION).unwrap().event(RUN_STATUS).unwrap();
    let envelope_schema: Value = serde_json::from_str(ev.envelope_schema).unwrap();
    let envelope_validator = jsonschema::options().should_validate_formats(true).build(&envelope_schema).unwrap();
    let check = |what: &str, m: &Value| {
        let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["event", "resource_type", "resource_id", "payload", "timestamp"], "{what}: envelope keys in order");
        assert_eq!(m["event"], RUN_STATUS, "{what}");
        assert_eq!(m["resource_type"], "workflow_run", "{what}");
        assert_eq!(m["resource_id"], "run-id", "{what}");
        assert_eq!(m["payload"], payload, "{what}: the payload exactly as published");
        assert!(m["timestamp"].as_str().is_some_and(is_rfc3339), "{what}: RFC 3339 timestamp: {}", m["timestamp"]);
        let errors: Vec<String> = envelope_validator.iter_errors(m).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what}: the envelope matches its schema: {errors:?}");
    };
    for (kind, c, ident) in &mut subscribers {
        let m = c.message(ident).await.unwrap_or_else(|| panic!("the {kind} subscriber got the event"));
        check(kind, &m);
        assert_silent(c, &format!("{kind} subscriber, after its one delivery")).await;
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let f = all.recv().await.expect("one frame per subscription");
        check("combined", &f["message"]);
        seen.push(f["identifier"].as_str().unwrap().to_owned());
    }
    seen.sort();
    let mut expected = idents.clone();
    expected.sort();
    assert_eq!(seen, expected, "once per subscription");
    assert_silent(&mut all, "combined connection").await;
}

/// Seed 001's "workflow.node.execution.updated" (its `execution_id` set to this test's run),
/// as printed: it names no workflow.
fn seed_node_update() -> Value {
    json!({
        "id": "execution-id", "execution_id": "run-id", "status": "completed", "node_name": "Start", "node_type": "start",
        "started_at": "2025-10-11T21:07:00Z", "completed_at": "2025-10-11T21:07:01Z", "duration_ms": 1000
    })
}

#[tokio::test]
async fn node_updates_reach_the_workflow_level_as_well_as_the_run_level() {
    // Seed 001 troubleshooting: "Node badges static" at the workflow level.
    let s = Server::start();
    s.own("workflow_run", "run-id", "account-id").await;
    s.own("workflow", "workflow-id", "account-id").await;
    s.own("workflow", "other-workflow", "account-id").await;
    let mut subs = Vec::new();
    for (kind, id) in [("workflow_run", "run-id"), ("workflow", "workflow-id"), ("workflow", "other-workflow")] {
        let mut c = s.user("user-1", "account-id").await;
        let ident = identifier(ORCHESTRATION, &json!({ "type": kind, "id": id }));
        c.subscribed(&ident).await;
        assert!(c.round_trip().await.is_empty());
        subs.push((id, c, ident));
    }

    let mut update = seed_node_update();
    update["workflow_id"] = json!("workflow-id");
    let (status, body) = s.publish(&json!({ "channel": ORCHESTRATION, "event": "workflow.node.execution.updated", "payload": update })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["streams"], json!(["ai_orchestration:workflow_run:run-id", "ai_orchestration:workflow:workflow-id"]), "{body}");
    assert_eq!(body["deliveries"], 2, "{body}");
    for (id, c, ident) in &mut subs[..2] {
        let m = c.message(ident).await.unwrap_or_else(|| panic!("the {id} subscriber got the node update"));
        assert_eq!(m["event"], "workflow.node.execution.updated");
        assert_eq!(m["payload"], update, "{id}: the payload exactly as published");
        assert_eq!((m["resource_type"].as_str(), m["resource_id"].as_str()), (Some("node_execution"), Some("execution-id")));
    }
    assert!(subs[2].1.round_trip().await.is_empty(), "another workflow hears nothing");

    // The seed's printed shape names no workflow: refused with the pointer, nothing delivered.
    let (status, body) = s.publish(&json!({ "event": "workflow.node.execution.updated", "payload": seed_node_update() })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("workflow_id"), "{body}");
    for (id, c, _) in &mut subs {
        assert!(c.round_trip().await.is_empty(), "{id}: a refused update reaches nobody");
    }

    // A workflow id that is not one is refused before anything is delivered.
    let mut bad = seed_node_update();
    bad["workflow_id"] = json!("workflow:*");
    let (status, body) = s.publish(&json!({ "event": "workflow.node.execution.updated", "payload": bad })).await;
    assert_eq!(status, 422, "{body}");
    assert!(subs[0].1.round_trip().await.is_empty(), "all or nothing");
}

#[tokio::test]
async fn events_with_an_owner_feed_the_registry() {
    let s = Server::start();
    let ev = find(ORCHESTRATION).unwrap().event(RUN_STATUS).unwrap();
    let owner = ev.owner.expect("workflow.run.status.changed declares an owner");
    let run = |id: &str, account: &str| {
        let mut p = run_status_payload();
        *p.pointer_mut(owner.id).unwrap() = json!(id);
        *p.pointer_mut(owner.account).unwrap() = json!(account);
        p
    };
    let x = s.token("ux", "acc-x", &[]);
    let y = s.token("uy", "acc-y", &[]);
    let subscribe = |token: &str, id: &str| {
        let url = s.cable_url(Some(token));
        let ident = identifier(ORCHESTRATION, &json!({ "type": owner.resource, "id": id }));
        async move {
            let mut c = Client::connect_welcomed(&url).await;
            c.subscribe(&ident).await["type"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(subscribe(&x, "run-new").await, "reject_subscription", "unknown run");

    let (status, body) = s.publish(&json!({ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": run("run-new", "acc-x") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(subscribe(&x, "run-new").await, "confirm_subscription", "the owner after the event");
    assert_eq!(subscribe(&y, "run-new").await, "reject_subscription", "another account");

    // Refused publications record nothing: not an invalid one, not a valid item of a refused batch.
    let mut invalid = run("run-evil", "acc-y");
    invalid["workflow_run"]["status"] = json!("bogus");
    let (status, _) = s.publish(&json!({ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": invalid })).await;
    assert_eq!(status, 422);
    assert_eq!(subscribe(&y, "run-evil").await, "reject_subscription", "an invalid event records no owner");
    let mut bad = notification("acc-y", "n1");
    bad["payload"]["read"] = json!("no");
    let (status, _) = s.publish(&json!([{ "channel": ORCHESTRATION, "event": RUN_STATUS, "payload": run("run-batch", "acc-y") }, bad])).await;
    assert_eq!(status, 422);
    assert_eq!(subscribe(&y, "run-batch").await, "reject_subscription", "a refused batch records no owner");
}
