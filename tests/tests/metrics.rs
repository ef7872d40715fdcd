//! `GET /metrics` after a scripted session, parsed with a Prometheus text parser
//! (`prometheus-parse`): every counter the script moved says exactly what it did, and the
//! gauges follow the connections and subscriptions as they come and go.
//!
//! The script: a connection that is accepted, one with a forged token, one with an expired
//! token, one from a refused Origin; a confirmed subscription, a forbidden one and one to an
//! unknown channel; a delivered publication, an invalid one, a batch with one invalid
//! member, and one naming an unknown event. A second script: rate-limited performs,
//! protocol errors, an oversized message and a client too slow to read (a small
//! `SO_RCVBUF`, then no reads). A third: history confirmed and rejected, sessions resumed
//! and not. A fourth, over the Redis engine: pub/sub gaps after `CLIENT KILL TYPE pubsub`
//! agree with `/health`, and `cableway_redis_up` follows Redis going away.
//!
//! No pings are sent (a ping interval of ten minutes), so every frame the server writes is
//! one the script caused.

use std::collections::BTreeMap;
use std::time::Duration;

use cableway_tests::client::{identifier, Client};
use cableway_tests::ext;
use cableway_tests::fixtures::{conversation, notification, notifications, unix_now};
use cableway_tests::redis::{Persistence, Redis};
use cableway_tests::server::{claims, sign, Options, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

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

/// A server with `/metrics` that sends no pings during a test.
fn options() -> Options {
    Options::default().arg("--metrics-bind").arg("127.0.0.1:0").env("CABLEWAY_PING_INTERVAL_MS", "600000")
}

/// Scrapes until `ready` holds (a frame the client has read is counted once the server's
/// write returns, a moment later), at most 10 s; the last scrape either way.
async fn settled(s: &Server, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = Scrape::parse(&s.scrape().await);
        if ready(&m) || tokio::time::Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn total(m: &BTreeMap<String, f64>) -> f64 {
    m.values().sum()
}

#[tokio::test]
async fn counters_match_a_scripted_session_exactly() {
    let s = Server::start_with(options().arg("--origin").arg("https://app.example"));

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
    let mut foreign = Client::connect_with(&s.cable_url(Some(&token)), &["actioncable-v1-json"], &[("Origin", "https://evil.example")]).await.expect("a refused Origin is upgraded to hear why");
    assert_eq!(foreign.recv().await.map(|f| f["reason"].clone()), Some(json!("origin_refused")));

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

    // Frames written: a welcome, three refusals (two tokens, one Origin), the confirmation and the channel's
    // on-subscribe message, two rejects, one delivery.
    let m = settled(&s, |m| total(&m.nonzero("websocket_messages_sent_total")) >= 9.0).await;
    assert_eq!(
        m.nonzero("websocket_messages_sent_total"),
        series(&[
            // unauthorized, token_expired, origin_refused
            (r#"websocket_messages_sent_total{channel="",kind="disconnect"}"#, 3.0),
            (r#"websocket_messages_sent_total{channel="",kind="welcome"}"#, 1.0),
            (r#"websocket_messages_sent_total{channel="NotificationChannel",kind="confirm"}"#, 1.0),
            (r#"websocket_messages_sent_total{channel="NotificationChannel",kind="data"}"#, 2.0),
            (r#"websocket_messages_sent_total{channel="NotificationChannel",kind="reject"}"#, 1.0),
            (r#"websocket_messages_sent_total{channel="unknown",kind="reject"}"#, 1.0),
        ])
    );
    assert_eq!(m.nonzero("websocket_messages_received_total"), series(&[(r#"websocket_messages_received_total{command="subscribe"}"#, 3.0)]));
    assert_eq!(m.get("cableway_fanout_latency_seconds_count{}"), 1.0, "one publication frame reached one socket");
    assert!(m.get("cableway_fanout_latency_seconds_sum{}") > 0.0);
    // Every frame: the 8 messages and the refused connections' close frames (some writes carry several).
    let writes = m.get("cableway_frames_per_write_count{}");
    assert!(writes >= 1.0 && m.get("cableway_frames_per_write_sum{}") >= 10.0 && writes <= m.get("cableway_frames_per_write_sum{}"), "{:?}", m.0);
    let health = s.health().await;
    assert_eq!(m.get("websocket_sent_bytes_total{}"), health["transport"]["bytes"].as_f64().expect("transport bytes"), "{health}");
    assert!(m.get("websocket_sent_bytes_total{}") > 300.0);
    assert_eq!(m.get("cableway_slow_evictions_total{}") + m.get("cableway_rate_limited_total{}"), 0.0);
    assert!(m.nonzero("cableway_protocol_errors_total").is_empty() && m.nonzero("cableway_history_replays_total").is_empty() && m.nonzero("cableway_session_resumes_total").is_empty());
    assert!(!m.0.keys().any(|k| k.starts_with("cableway_redis")), "no Redis series with the embedded engine");
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

type RawWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket over a socket with a 4 KiB receive buffer.
async fn small_buffer_client(s: &Server, token: &str) -> RawWs {
    cableway_tests::client::small_buffer(s.addr, &s.cable_url(Some(token))).await
}

/// A new conversation message of about `size` bytes.
fn big_message(conv: &str, account: &str, id: &str, size: usize) -> Value {
    json!({ "channel": "AiConversationChannel", "event": "message_created", "payload": {
        "id": id, "conversation_id": conv, "account_id": account, "sender_type": "ai", "message_type": "text",
        "content": "x".repeat(size), "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_protocol_errors_and_a_too_slow_client_are_counted_exactly() {
    // A generous write timeout: the stalled client must be dropped for its queue, not its
    // write. A small command budget: 6 at once, one more a second.
    let s = Server::start_with(options().env("CABLEWAY_WRITE_TIMEOUT_MS", "10000").env("CABLEWAY_COMMANDS_PER_SECOND", "1").env("CABLEWAY_COMMAND_BURST", "6"));
    let id = notifications("acc5");

    // Performs past the budget are answered `rate_limited`; the others, for an action the
    // channel does not declare, `unknown_action`.
    let mut p = s.user("u5", "acc5").await;
    p.joined(&id).await;
    for n in 0..8 {
        p.perform(&id, "no_such_action", json!({ "$ref": format!("r{n}") })).await;
    }
    let mut limited = 0.0;
    for _ in 0..8 {
        let reply = p.message(&id).await.expect("every perform is answered");
        let code = reply["$reply"]["error"]["code"].as_str().unwrap_or_default().to_owned();
        assert!(code == "rate_limited" || code == "unknown_action", "{reply}");
        limited += f64::from(u8::from(code == "rate_limited"));
    }
    assert!(limited >= 1.0, "7 performs after a subscribe, with a burst of 6");

    // Protocol errors, within a connection's error budget (on a connection with commands
    // left for the round trip).
    let mut e = s.user("u7", "acc5").await;
    e.send_text("not json").await;
    e.send_binary(b"\x00\x01").await;
    e.send(&json!({ "command": "nope" })).await;
    assert!(e.round_trip().await.is_empty(), "errors are not answered");

    // A message over the inbound limit ends its connection with 1009.
    let mut big = s.user("u6", "acc5").await;
    big.send_text(&"x".repeat(70_000)).await;
    assert_eq!(big.close_code(Duration::from_secs(5)).await, Some(1009));

    // The slow client: subscribes, reads its confirmation, then stops reading while
    // messages of 10 KB are published until its queue overflows.
    s.own("ai_conversation", "conv1", "acc5").await;
    let conv = conversation("conv1");
    let mut slow = small_buffer_client(&s, &s.token("slow", "acc5", &[])).await;
    slow.send(Message::Text(json!({ "command": "subscribe", "identifier": conv }).to_string().into())).await.expect("subscribe");
    let mut frames: Vec<Value> = Vec::new();
    while !frames.iter().any(|f| f["type"] == "confirm_subscription") {
        match tokio::time::timeout(Duration::from_secs(5), slow.next()).await.expect("frame in time").expect("open").expect("frame") {
            Message::Text(t) => frames.push(serde_json::from_str(&t).expect("JSON")),
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut published = 0.0;
    let mut queued = 0.0;
    for i in 0..3000 {
        let (status, body) = s.publish(&big_message("conv1", "acc5", &format!("m{i}"), 10_000)).await;
        assert_eq!(status, 200, "{body}");
        published += 1.0;
        let deliveries = body["deliveries"].as_u64().expect("deliveries");
        queued += deliveries as f64;
        if deliveries == 0 {
            break;
        }
    }
    assert!(queued < published, "30 MB published and the slow client never overflowed its queue");
    let m = settled(&s, |m| m.get("cableway_slow_evictions_total{}") >= 1.0).await;
    assert_eq!(m.get("cableway_slow_evictions_total{}"), 1.0);

    // Now read what the slow client was written: a prefix of the publications, then its
    // `disconnect` and the close.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => frames.push(serde_json::from_str(&t).expect("JSON")),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("the slow client's connection did not end"),
        }
    }
    assert_eq!(frames.last(), Some(&json!({ "type": "disconnect", "reason": "too_slow", "reconnect": true })));
    let slow_data = frames.iter().filter(|f| f.get("message").is_some()).count() as f64;
    assert_eq!(frames.iter().filter(|f| f["type"] == "welcome").count(), 1);

    let expected_sent = series(&[
        (r#"websocket_messages_sent_total{channel="",kind="disconnect"}"#, 1.0),
        (r#"websocket_messages_sent_total{channel="",kind="welcome"}"#, 4.0),
        (r#"websocket_messages_sent_total{channel="AiConversationChannel",kind="confirm"}"#, 1.0),
        (r#"websocket_messages_sent_total{channel="AiConversationChannel",kind="data"}"#, slow_data),
        (r#"websocket_messages_sent_total{channel="NotificationChannel",kind="confirm"}"#, 1.0),
        (r#"websocket_messages_sent_total{channel="NotificationChannel",kind="data"}"#, 1.0),
        (r#"websocket_messages_sent_total{channel="NotificationChannel",kind="reply"}"#, 8.0),
        (r#"websocket_messages_sent_total{channel="unknown",kind="reject"}"#, 1.0),
    ]);
    let m = settled(&s, |m| m.nonzero("websocket_messages_sent_total") == expected_sent).await;
    assert_eq!(m.nonzero("websocket_messages_sent_total"), expected_sent);
    assert_eq!(
        m.nonzero("websocket_messages_received_total"),
        series(&[
            (r#"websocket_messages_received_total{command="invalid"}"#, 3.0),
            (r#"websocket_messages_received_total{command="message"}"#, 8.0),
            (r#"websocket_messages_received_total{command="subscribe"}"#, 3.0),
        ])
    );
    assert_eq!(m.get("cableway_rate_limited_total{}"), limited);
    assert_eq!(
        m.nonzero("cableway_protocol_errors_total"),
        series(&[
            (r#"cableway_protocol_errors_total{kind="binary_frame"}"#, 1.0),
            (r#"cableway_protocol_errors_total{kind="message_too_big"}"#, 1.0),
            (r#"cableway_protocol_errors_total{kind="not_json"}"#, 1.0),
            (r#"cableway_protocol_errors_total{kind="unknown_command"}"#, 1.0),
        ])
    );
    assert_eq!(m.get("cableway_slow_evictions_total{}"), 1.0);
    assert_eq!(
        m.nonzero("cableway_publications_total"),
        series(&[(r#"cableway_publications_total{channel="AiConversationChannel",event="message_created",outcome="delivered"}"#, published)])
    );
    assert_eq!(m.nonzero("cableway_deliveries_total"), series(&[(r#"cableway_deliveries_total{channel="AiConversationChannel"}"#, queued)]));
    assert!(slow_data <= queued, "the slow client was written at most what was queued for it");
    let latency = m.get("cableway_fanout_latency_seconds_count{}");
    assert!(latency >= 1.0 && latency <= slow_data, "one sample per write that carried publications: {latency} for {slow_data} frames");
}

#[tokio::test]
async fn history_replays_and_session_resumes_are_counted_by_outcome() {
    let s = Server::start_with(options());
    let token = s.token("u1", "acc7", &[]);
    let id = notifications("acc7");
    let (mut c, welcome) = ext::connect(&s.cable_url(Some(&token))).await;
    let sid = welcome["sid"].as_str().expect("a sid").to_owned();
    let frames = ext::subscribe_with_history(&mut c, &id, json!({ "since": unix_now() })).await;
    assert_eq!(frames.last().map(|f| f["type"].clone()), Some(json!("confirm_history")));
    let (status, _) = s.publish(&notification("acc7", "n1")).await;
    assert_eq!(status, 200);
    let at = ext::next_places(&mut c, 1).await.remove(0);
    // A position in an epoch the stream never had: the gap cannot be replayed.
    let frames = ext::history(&mut c, &id, json!({ "streams": { at.stream.clone(): { "epoch": "not-the-epoch", "offset": 1 } } })).await;
    assert_eq!(frames.last().map(|f| f["type"].clone()), Some(json!("reject_history")), "{frames:?}");
    c.close().await;
    // The session is kept once its connection is over.
    let gone = settled(&s, |m| m.get("websocket_active_connections{}") == 0.0).await;
    assert_eq!(gone.get("websocket_active_connections{}"), 0.0);

    // The session resumes once; a sid nobody kept does not.
    let (mut c, w) = ext::connect(&format!("{}&sid={sid}", s.cable_url(Some(&token)))).await;
    assert_eq!(w["restored"], true, "{w}");
    let frames = ext::history(&mut c, &id, ext::from(&at)).await;
    assert_eq!(frames.last().map(|f| f["type"].clone()), Some(json!("confirm_history")), "{frames:?}");
    let (_, w) = ext::connect(&format!("{}&sid=nobodykeptthisone", s.cable_url(Some(&token)))).await;
    assert!(w.get("restored").is_none(), "{w}");

    let m = settled(&s, |m| m.get(r#"websocket_messages_sent_total{channel="NotificationChannel",kind="history"}"#) >= 3.0).await;
    assert_eq!(
        m.nonzero("cableway_history_replays_total"),
        series(&[(r#"cableway_history_replays_total{outcome="confirmed"}"#, 2.0), (r#"cableway_history_replays_total{outcome="rejected"}"#, 1.0)])
    );
    assert_eq!(
        m.nonzero("cableway_session_resumes_total"),
        series(&[(r#"cableway_session_resumes_total{outcome="not_restored"}"#, 1.0), (r#"cableway_session_resumes_total{outcome="restored"}"#, 1.0)])
    );
    // The three history answers; nothing was replayed (the resumed session missed nothing).
    assert_eq!(m.get(r#"websocket_messages_sent_total{channel="NotificationChannel",kind="history"}"#), 3.0);
    assert_eq!(m.get(r#"websocket_messages_received_total{command="history"}"#), 2.0);
}

#[tokio::test]
async fn redis_gaps_and_state_are_exported_as_the_engine_counts_them() {
    let mut redis = Redis::start(Persistence::None);
    let metrics = || options().env("CABLEWAY_REDIS_POSITION_CHECK_INTERVAL_MS", "200");
    let a = redis.node_with(None, metrics());
    let b = redis.node_with(Some(&a), metrics());
    let account = "acc-m";
    let token = a.token("u-m", account, &[]);
    let (mut c, _) = ext::connect(&a.cable_url(Some(&token))).await;
    let frames = ext::subscribe_with_history(&mut c, &notifications(account), json!({ "since": unix_now() })).await;
    assert_eq!(frames.last().map(|f| f["type"].clone()), Some(json!("confirm_history")));
    let up = settled(&a, |m| m.get("cableway_redis_up{}") == 1.0).await;
    assert_eq!(up.get("cableway_redis_up{}"), 1.0, "{:?}", up.0);

    // Cut every pub/sub connection while the other node publishes, until node a has seen
    // a gap (what it missed while resubscribing, found by the next message or the check).
    let mut sent = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        while a.health().await["redis"]["pubsub"] != "up" {
            assert!(tokio::time::Instant::now() < deadline, "node a's pub/sub did not come back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed = redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
        assert_ne!(killed, "0", "pub/sub connections were cut");
        for _ in 0..10 {
            let (status, body) = b.publish(&notification(account, &format!("n{sent}"))).await;
            assert_eq!(status, 200, "{body}");
            sent += 1;
        }
        if a.health().await["redis"]["gaps_detected"].as_u64() > Some(0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no gap seen after {sent} publications");
    }
    let got = ext::next_places(&mut c, sent).await;
    assert_eq!(got.iter().map(|p| p.offset).collect::<Vec<_>>(), (1..=sent as u64).collect::<Vec<_>>(), "nothing lost, in order");

    // The exported counters are the engine's own.
    let health = a.health().await;
    let m = Scrape::parse(&a.scrape().await);
    for outcome in ["detected", "filled", "unfilled"] {
        let counted = health["redis"][format!("gaps_{outcome}")].as_f64().expect("a gap counter");
        assert_eq!(m.get(&format!(r#"cableway_redis_pubsub_gaps_total{{outcome="{outcome}"}}"#)), counted, "{outcome}: {health}");
    }
    assert!(m.get(r#"cableway_redis_pubsub_gaps_total{outcome="filled"}"#) >= 1.0, "{health}");
    assert_eq!(m.get(r#"cableway_redis_pubsub_gaps_total{outcome="unfilled"}"#), 0.0);
    let publisher = Scrape::parse(&b.scrape().await);
    assert!(publisher.get(r#"cableway_redis_call_seconds_count{op="script"}"#) >= sent as f64, "every publication runs the script: {:?}", publisher.nonzero("cableway_redis_call_seconds_count"));
    assert!(m.get(r#"cableway_redis_call_seconds_count{op="pipeline"}"#) >= 1.0, "position checks: {:?}", m.nonzero("cableway_redis_call_seconds_count"));

    // Redis goes away: the gauge says so.
    redis.stop();
    let down = settled(&a, |m| m.get("cableway_redis_up{}") == 0.0).await;
    assert_eq!(down.get("cableway_redis_up{}"), 0.0);
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_with_503_and_counted_as_cap_reached() {
    let s = Server::start_with(options().env("CABLEWAY_MAX_CONNECTIONS", "2"));
    let url = s.cable_url(Some(&s.token("u1", "acc-cap", &[])));
    let first = Client::connect_welcomed(&url).await;
    let _second = Client::connect_welcomed(&url).await;
    for _ in 0..3 {
        let refused = Client::connect_with(&url, &["actioncable-v1-json"], &[]).await.err().expect("a third connection is refused");
        match refused.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
            Some(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 503),
            other => panic!("expected HTTP 503, got {other:?} ({refused})"),
        }
    }
    // A place freed is a place taken again.
    first.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.health().await["connections"] != 1 {
        assert!(tokio::time::Instant::now() < deadline, "the closed connection is still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _third = Client::connect_welcomed(&url).await;
    let m = settled(&s, |m| m.get(r#"websocket_connections_total{outcome="accepted"}"#) >= 3.0).await;
    assert_eq!(m.get(r#"websocket_connections_total{outcome="cap_reached"}"#), 3.0);
    assert_eq!(m.get(r#"websocket_connections_total{outcome="accepted"}"#), 3.0);
}
