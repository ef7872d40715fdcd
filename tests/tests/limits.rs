//! Limits and lifecycle against the real binary: oversized frames (close 1009), a slow
//! consumer dropped as `too_slow` without costing a fast one a single message, drain on
//! SIGTERM (`server_restart`, exit 0), the per-connection subscription cap, and the Origin
//! allowlist.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cableway_tests::client::Client;
use cableway_tests::fixtures::{self, conversation};
use cableway_tests::server::{Options, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ACCOUNT: &str = "acc1";

fn notifications() -> String {
    fixtures::notifications(ACCOUNT)
}

/// A `message_created` publication whose content makes the frame about `size` bytes.
fn big_message(conv: &str, id: &str, size: usize) -> Value {
    json!({ "channel": "AiConversationChannel", "event": "message_created", "payload": {
        "id": id, "conversation_id": conv, "account_id": ACCOUNT, "sender_type": "ai", "message_type": "text",
        "content": "x".repeat(size), "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z" } })
}

/// A `perform` frame padded (in an extra top-level key, which commands ignore) to exactly `len` bytes.
fn padded_perform(id: &str, reference: &str, len: usize) -> String {
    let data = json!({ "action": "typing_indicator", "conversation_id": "conv1", "status": "typing", "$ref": reference }).to_string();
    let frame = |pad: usize| json!({ "command": "message", "identifier": id, "data": data, "pad": "p".repeat(pad) }).to_string();
    let base = frame(0).len();
    let f = frame(len - base);
    assert_eq!(f.len(), len);
    f
}

// ---------------------------------------------------------------------------------------
// Oversized frames
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_frame_over_64_kib_is_closed_with_1009_and_one_at_the_limit_is_accepted() {
    let s = Server::start();
    s.own("ai_conversation", "conv1", ACCOUNT).await;
    let id = conversation("conv1");
    let token = s.token("u1", ACCOUNT, &[]);
    let mut bystander = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    bystander.joined(&notifications()).await;

    // Exactly 64 KiB: accepted and processed.
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    c.joined(&id).await;
    c.send_text(&padded_perform(&id, "at-limit", 65_536)).await;
    let m = c.message(&id).await.expect("reply to the 64 KiB frame");
    assert_eq!(m["$reply"], json!({ "ref": "at-limit", "action": "typing_indicator", "ok": true, "data": null }));
    c.send_text(&padded_perform(&id, "just-under", 65_535)).await;
    let m = c.message(&id).await.expect("reply to the frame just under 64 KiB");
    assert_eq!(m["$reply"]["ref"], "just-under");

    // One byte more: close code 1009.
    c.send_text(&padded_perform(&id, "over", 65_537)).await;
    assert_eq!(c.close_code(Duration::from_secs(5)).await, Some(1009));

    // Others are unaffected.
    let (status, body) = s.publish(&fixtures::notification(ACCOUNT, "n1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"], 1, "only the bystander is left");
    let m = bystander.message(&notifications()).await.expect("bystander still served");
    assert_eq!(m["payload"]["id"], "n1");
    let mut fresh = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    fresh.subscribed(&id).await;
}

// ---------------------------------------------------------------------------------------
// Slow consumer
// ---------------------------------------------------------------------------------------

/// `session=<n>` of the connection of principal `sub`, from the `connected` log line.
fn session_of(s: &Server, sub: &str) -> String {
    let logs = s.plain_logs();
    let line = logs.lines().find(|l| l.contains(" connected ") && l.contains(&format!("sub={sub} "))).unwrap_or_else(|| panic!("no connected line for {sub}:\n{logs}"));
    let n = line.split_whitespace().find_map(|w| w.strip_prefix("session=")).expect("session field");
    format!("session={n} ")
}

type RawWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket over a socket with a 4 KiB receive buffer.
async fn small_buffer_client(s: &Server, token: &str) -> RawWs {
    cableway_tests::client::small_buffer(s.addr, &s.cable_url(Some(token))).await
}

async fn next_json(ws: &mut RawWs) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("frame in time").expect("open").expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("JSON");
            if v["type"] != "ping" {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_dropped_as_too_slow_and_a_fast_one_loses_nothing() {
    // The subject is the queue bound: a generous write timeout keeps a busy machine's slow
    // publishing from ending the stalled connection by timeout before its queue fills.
    let s = Server::start_with(Options::default().env("CABLEWAY_WRITE_TIMEOUT_MS", "10000"));
    s.own("ai_conversation", "conv1", ACCOUNT).await;
    let id = conversation("conv1");

    // The slow client: subscribes, reads its confirmation, then stops reading.
    let mut slow = small_buffer_client(&s, &s.token("slow", ACCOUNT, &[])).await;
    assert_eq!(next_json(&mut slow).await, json!({ "type": "welcome" }));
    slow.send(Message::Text(json!({ "command": "subscribe", "identifier": id }).to_string().into())).await.expect("subscribe");
    assert_eq!(next_json(&mut slow).await["type"], "confirm_subscription");
    assert_eq!(next_json(&mut slow).await["message"]["event"], "subscription.confirmed");

    // The fast client reads everything, concurrently.
    let mut fast = s.user("fast", ACCOUNT).await;
    fast.joined(&id).await;
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<usize>();
    let fast_id = id.clone();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut expected = None;
        loop {
            if expected.is_none() {
                if let Ok(n) = done_rx.try_recv() {
                    expected = Some(n);
                }
            }
            if expected.is_some_and(|n| got.len() >= n) {
                return got;
            }
            // Once publishing is over, a quiet period means whatever is missing is lost.
            let wait = if expected.is_some() { Duration::from_secs(5) } else { Duration::from_millis(200) };
            let asked = Instant::now();
            match fast.recv_within(wait).await {
                Some(v) if v["identifier"] == fast_id.as_str() => got.push(v["message"]["payload"]["id"].as_str().unwrap_or_default().to_owned()),
                Some(_) => {}
                // Closed (returned before the wait was over), or quiet after the last publish.
                None if expected.is_some() || asked.elapsed() < wait => return got,
                None => {}
            }
        }
    });

    // Publish ~10 KB messages until the slow connection's queue overflows (a delivery is
    // missing), then a few more.
    let mut published = Vec::new();
    let mut overflow_at = None;
    for i in 0..3000 {
        let mid = format!("m{i}");
        let (status, body) = s.publish(&big_message("conv1", &mid, 10_000)).await;
        assert_eq!(status, 200, "{body}");
        published.push(mid);
        let deliveries = body["deliveries"].as_u64().expect("deliveries");
        match overflow_at {
            None if deliveries == 1 => overflow_at = Some(i),
            None => assert_eq!(deliveries, 2, "{body}"),
            Some(_) => assert_eq!(deliveries, 1, "the fast client is always delivered to: {body}"),
        }
        if overflow_at.is_some_and(|at| i >= at + 5) {
            break;
        }
    }
    let overflow_at = overflow_at.expect("30 MB published and the slow client never overflowed its queue");

    // The server reports the drop while the client is still not reading: a stalled write
    // must not hide the overflow.
    let session = session_of(&s, "slow");
    let reason = s.wait_for_log("the slow connection dropped", |logs| logs.lines().find(|l| l.contains(" disconnected ") && l.contains(&session)).map(str::to_owned)).await;
    assert!(reason.contains("reason=\"too_slow\""), "the slow connection is dropped as too_slow: {reason}");

    // Now read the slow socket: what it was sent before the drop, then the disconnect.
    let slow_reader = tokio::spawn(async move {
        let mut frames = Vec::new();
        let mut closed = false;
        while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), slow.next()).await {
            match msg {
                Ok(Message::Text(t)) => frames.push(serde_json::from_str::<Value>(&t).expect("JSON")),
                Ok(Message::Close(_)) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        (frames, closed)
    });

    let _ = done_tx.send(published.len());
    let got = reader.await.expect("fast reader");
    assert_eq!(got.len(), published.len(), "the fast client lost messages");
    assert_eq!(got, published, "the fast client got every message, in order");

    let (frames, closed) = slow_reader.await.expect("slow reader");
    let data: Vec<&str> = frames.iter().filter(|f| f.get("identifier").is_some() && f.get("message").is_some()).map(|f| f["message"]["payload"]["id"].as_str().unwrap_or_default()).collect();
    assert!(data.len() <= overflow_at, "the slow client got at most what was queued before the overflow");
    assert_eq!(data, published[..data.len()].iter().map(String::as_str).collect::<Vec<_>>(), "what the slow client got is an in-order prefix");
    let last = frames.iter().rev().find(|f| f["type"] != "ping").expect("frames");
    assert_eq!(*last, json!({ "type": "disconnect", "reason": "too_slow", "reconnect": true }), "the last frame before close");
    assert!(closed, "a close frame follows the disconnect");
}

// ---------------------------------------------------------------------------------------
// Drain
// ---------------------------------------------------------------------------------------

/// What a probe saw while the server drained.
#[derive(Debug, Default)]
struct Probes {
    health: Vec<String>,
    ready: Vec<String>,
    upgrades: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_every_client_with_server_restart_and_exits_0() {
    let mut s = Server::start();
    let token = s.token("u1", ACCOUNT, &[]);
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut c = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
        if i % 2 == 0 {
            c.joined(&notifications()).await;
        }
        clients.push(c);
    }
    let health: Value = reqwest::get(format!("{}/health", s.http())).await.expect("health").json().await.expect("JSON");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["connections"], 20);

    // Probe /health and /cable while the server drains.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (http, url) = (s.http(), s.cable_url(Some(&token)));
    let stop2 = stop.clone();
    let (probing, probed) = tokio::sync::oneshot::channel();
    let prober = tokio::spawn(async move {
        let mut p = Probes::default();
        let mut probing = Some(probing);
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            match client.get(format!("{http}/health")).send().await {
                Ok(r) => {
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    p.health.push(v["status"].as_str().unwrap_or("<no status>").to_owned());
                }
                Err(_) => p.health.push("refused".into()),
            }
            match client.get(format!("{http}/ready")).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    p.ready.push(format!("{status} {}", v["status"].as_str().unwrap_or("<no status>")));
                }
                Err(_) => p.ready.push("refused".into()),
            }
            if let Some(first) = probing.take() {
                let _ = first.send(());
            }
            match Client::connect_with(&url, &["actioncable-v1-json"], &[]).await {
                Ok(mut c) => {
                    // Accepted before the drain began: it must be drained like the rest.
                    let mut frames = Vec::new();
                    while let Some(v) = c.recv_within(Duration::from_secs(3)).await {
                        frames.push(v);
                    }
                    p.upgrades.push(format!("accepted {frames:?}"));
                }
                Err(e) => match e.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
                    Some(tokio_tungstenite::tungstenite::Error::Http(resp)) => p.upgrades.push(format!("http {}", resp.status().as_u16())),
                    _ => p.upgrades.push("refused".into()),
                },
            }
        }
        p
    });
    // The probes cover the server from before the drain on.
    tokio::time::timeout(Duration::from_secs(10), probed).await.expect("the first probe in time").expect("the prober runs");

    let started = Instant::now();
    let (status, s) = tokio::task::spawn_blocking(move || {
        let status = s.terminate(Duration::from_secs(35));
        (status, s)
    })
    .await
    .expect("terminate");
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let status = status.unwrap_or_else(|| panic!("the server did not exit within 35 s; log:\n{}", s.logs()));
    assert!(status.success(), "exit status {status:?}; log:\n{}", s.logs());
    assert!(took < Duration::from_secs(10), "drain took {took:?}");

    for (i, c) in clients.iter_mut().enumerate() {
        let v = c.recv().await.unwrap_or_else(|| panic!("client {i}: no disconnect frame"));
        assert_eq!(v, json!({ "type": "disconnect", "reason": "server_restart", "reconnect": true }), "client {i}");
        assert_eq!(c.close_code(Duration::from_secs(2)).await, Some(1000), "client {i}: a normal close follows");
    }

    let probes = prober.await.expect("prober");
    let count = |v: &[String], what: &str| v.iter().filter(|x| x.starts_with(what)).count();
    eprintln!(
        "drain probes: health ok={} draining={} refused={}; upgrades accepted={} 503={} refused={}",
        count(&probes.health, "ok"),
        count(&probes.health, "draining"),
        count(&probes.health, "refused"),
        count(&probes.upgrades, "accepted"),
        count(&probes.upgrades, "http 503"),
        count(&probes.upgrades, "refused")
    );
    for h in &probes.health {
        assert!(h == "ok" || h == "draining" || h == "refused", "health during drain: {probes:?}");
    }
    // Ready (200) until the drain begins, then never again: a load balancer stops sending.
    assert_eq!(probes.ready.first().map(String::as_str), Some("200 ready"), "{probes:?}");
    let first_not_ready = probes.ready.iter().position(|r| r != "200 ready").unwrap_or(probes.ready.len());
    assert!(probes.ready[first_not_ready..].iter().all(|r| r == "503 draining" || r == "refused"), "/ready during drain: {probes:?}");
    for u in &probes.upgrades {
        let fine = u == "refused" || u == "http 503" || (u.starts_with("accepted") && u.contains("server_restart"));
        assert!(fine, "an upgrade during drain is refused with 503 or drained: {probes:?}");
    }
    assert!(s.logs().contains("draining"), "the log says it drains:\n{}", s.logs());
}

// ---------------------------------------------------------------------------------------
// Subscription cap
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_129th_subscription_is_rejected_as_too_many() {
    // The cap is the subject here, not the command rate limit.
    let s = Server::start_with(Options::default().env("CABLEWAY_COMMAND_BURST", "1000"));
    for i in 0..130 {
        s.own("ai_conversation", &format!("c{i}"), ACCOUNT).await;
    }
    let mut c = s.user("u1", ACCOUNT).await;
    for i in 0..128 {
        c.send_subscribe(&conversation(&format!("c{i}"))).await;
    }
    let mut confirmed = HashSet::new();
    while confirmed.len() < 128 {
        let v = c.recv().await.unwrap_or_else(|| panic!("only {} of 128 confirmed", confirmed.len()));
        match v["type"].as_str() {
            Some("confirm_subscription") => {
                confirmed.insert(v["identifier"].as_str().expect("identifier").to_owned());
            }
            Some("reject_subscription") => panic!("rejected below the cap: {v}"),
            _ => {}
        }
    }
    let id129 = conversation("c128");
    let v = c.subscribe(&id129).await;
    assert_eq!(v, json!({ "identifier": id129, "type": "reject_subscription", "reason": "too_many_subscriptions" }));

    // The connection is still fine, and an unsubscribe makes room.
    c.send(&json!({ "command": "unsubscribe", "identifier": conversation("c0") })).await;
    c.subscribed(&id129).await;
    let v = c.subscribe(&conversation("c129")).await;
    assert_eq!(v["reason"], "too_many_subscriptions", "{v}");
}

// ---------------------------------------------------------------------------------------
// Origin allowlist
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refused_origin_is_told_so_and_nothing_else() {
    let s = Server::start_with(Options::default().arg("--origin").arg("https://app.example.com"));
    let url = s.cable_url(Some(&s.token("u1", ACCOUNT, &[])));
    let protocols = ["actioncable-v1-json", "actioncable-unsupported"];
    let refusal = json!({ "type": "disconnect", "reason": "origin_refused", "reconnect": false });

    // The upgrade completes so a browser can read why; a subscribe sent at once is not
    // processed: the disconnect frame is the only frame, and the server closes.
    let mut foreign = Client::connect_with(&url, &protocols, &[("Origin", "https://evil.example.com")]).await.expect("the upgrade completes");
    assert_eq!(foreign.protocol.as_deref(), Some("actioncable-v1-json"), "a subprotocol is picked, or the browser would drop the socket");
    foreign.send(&json!({ "command": "subscribe", "identifier": notifications() })).await;
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(10);
    assert_eq!(foreign.recv_any_until(deadline()).await, Some(refusal.clone()), "the refusal comes first: no welcome");
    assert_eq!(foreign.close_code(Duration::from_secs(10)).await, Some(1000), "then the close: no confirmation, no ping");
    // Near misses are foreign too.
    for origin in ["http://app.example.com", "https://app.example.com.evil.com", "https://app.example.com:8443"] {
        let mut c = Client::connect_with(&url, &protocols, &[("Origin", origin)]).await.expect("the upgrade completes");
        assert_eq!(c.recv_any_until(deadline()).await, Some(refusal.clone()), "{origin}");
    }
    // No session was started for any of them.
    let health: Value = reqwest::get(format!("{}/health", s.http())).await.expect("GET /health").json().await.expect("json");
    assert_eq!(health["connections"], 0, "{health}");

    let mut ok = Client::connect_with(&url, &protocols, &[("Origin", "https://app.example.com")]).await.expect("the allowed origin");
    assert_eq!(ok.recv().await, Some(json!({ "type": "welcome" })));
    // A non-browser client sends no Origin.
    let mut cli = Client::connect_with(&url, &protocols, &[]).await.expect("no Origin header");
    assert_eq!(cli.recv().await, Some(json!({ "type": "welcome" })));
}

/// Reads from `tcp` until the server closes it or `within` passes; what it sent, and whether it closed.
async fn read_until_closed(tcp: &mut tokio::net::TcpStream, within: Duration) -> (String, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off_at_the_header_read_timeout() {
    use tokio::io::AsyncWriteExt;
    let s = Server::start_with(Options::default().env("CABLEWAY_HEADER_READ_TIMEOUT_MS", "800"));
    // A slowloris handshake: a request line and one header, then nothing.
    let mut slow = tokio::net::TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET /cable HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.expect("write");
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(closed, "the server keeps a connection whose headers never end");
    assert!(started.elapsed() >= Duration::from_millis(700), "closed before the timeout: {:?}", started.elapsed());
    // A silent connection (no byte at all) is cut off too, and the server still serves.
    let mut silent = tokio::net::TcpStream::connect(s.addr).await.expect("connect");
    assert!(read_until_closed(&mut silent, Duration::from_secs(10)).await.1, "a silent connection is kept");
    assert_eq!(reqwest::get(format!("{}/health", s.http())).await.expect("health").status().as_u16(), 200);
}

#[tokio::test]
async fn a_publish_without_the_key_is_refused_before_its_body_is_read() {
    use tokio::io::AsyncWriteExt;
    let s = Server::start();
    // Announces a megabyte and sends none of it: the answer must not wait for the body.
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.expect("connect");
    tcp.write_all(b"POST /broadcast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n").await.expect("write");
    let mut answer = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answer.contains("\r\n\r\n") && Instant::now() < deadline {
        let (got, closed) = read_until_closed(&mut tcp, Duration::from_millis(500)).await;
        answer.push_str(&got);
        if closed {
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // With the key, the same body is read and judged.
    let (status, body) = s.publish(&json!({"event": "nope", "payload": {}})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_event")), "{body}");
}
