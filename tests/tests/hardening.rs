//! What a client without a key, or one that misbehaves with one, can do to the real binary,
//! at CI scale: stalled publish bodies (their memory bounded and given back, a legitimate
//! publish still served), a wrong key with a large body (401 unread), silent and slow
//! sockets (cut at the header timeout; shed first when pending connections or descriptors
//! run out, so a legitimate client still connects), per-address and per-principal caps
//! (`too_many_connections`), and a client that answers no ping (closed, its resources freed).

use std::time::Duration;

use cableway_tests::client::{self, Client, RAILS_PROTOCOLS};
use cableway_tests::fixtures;
use cableway_tests::server::{Options, Server};
use cableway_tests::wait;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ACCOUNT: &str = "acc1";

/// Reads from `tcp` until the server closes it or `within` passes; what it sent, and whether it closed.
async fn read_until_closed(tcp: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// A publish that returns 200 once the server has room (condition wait, generous deadline).
async fn publish_eventually(s: &Server, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = s.publish(&fixtures::notification(ACCOUNT, id)).await;
        if status == 200 {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "a legitimate publish is still refused: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Publish bodies
// ---------------------------------------------------------------------------------------

/// Sends a publish request with the key and all of a 1 MiB body but its last byte, then
/// stalls; returns the status line the server answered with (or "" when it closed without).
async fn stalled_publish(addr: std::net::SocketAddr, key: &str, hold: tokio::sync::watch::Receiver<bool>) -> String {
    const BODY: usize = 1024 * 1024;
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!("POST /broadcast HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {BODY}\r\n\r\n");
    let (mut rd, mut wr) = tcp.split();
    let write = async {
        let _ = wr.write_all(head.as_bytes()).await;
        let _ = wr.write_all(&vec![b' '; BODY - 1]).await;
        // Stalled: hold the connection open until told.
        let mut hold = hold;
        let _ = hold.wait_for(|go| *go).await;
    };
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(2).any(|w| w == b"\r\n") {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).lines().next().unwrap_or_default().to_owned()
    };
    tokio::select! {
        status = read => status,
        () = write => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_publish_bodies_are_cut_their_memory_bounded_and_given_back() {
    let s = Server::start_with(Options::default().env("CABLEWAY_BODY_READ_TIMEOUT_MS", "4000"));
    // Warm up the paths a publish takes, then take the baseline.
    publish_eventually(&s, "warm").await;
    let before = s.rss_kib();
    let (release, hold) = tokio::sync::watch::channel(false);
    let flood: Vec<_> = (0..300).map(|_| tokio::spawn({
        let (addr, key, hold) = (s.addr, s.publisher_key.clone(), hold.clone());
        async move { stalled_publish(addr, &key, hold).await }
    })).collect();
    // While the flood is held: the server's memory stays bounded (64 slots of 1 MiB, not 300 MiB).
    let mut peak = before;
    for _ in 0..20 {
        peak = peak.max(s.rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answers: Vec<String> = futures_util::future::join_all(flood).await.into_iter().map(|r| r.expect("flood task")).collect();
    let _ = release.send(true);
    // 503 (no slot), 408 (cut), or closed before the answer could be read (the server
    // closes a connection whose body it did not read, which may reset it).
    let unexpected: Vec<&String> = answers.iter().filter(|a| !(a.is_empty() || a.starts_with("HTTP/1.1 503") || a.starts_with("HTTP/1.1 408"))).collect();
    assert!(unexpected.is_empty(), "a stalled request got another answer: {unexpected:?}");
    let cut = answers.iter().filter(|a| a.starts_with("HTTP/1.1 408")).count();
    assert!(cut <= 64, "{cut} bodies were read at once, past the 64 slots");
    // A legitimate publish is served again, and the memory the bodies held is given back.
    publish_eventually(&s, "after").await;
    let given_back = wait::poll_async(Duration::from_secs(20), || {
        let now = s.rss_kib();
        (now < before + 48 * 1024).then_some(now)
    })
    .await;
    eprintln!("RSS: before {before} KiB, peak {peak} KiB while 300 × 1 MiB stalled, after {given_back:?} KiB");
    assert!(peak < before + 160 * 1024, "RSS grew from {before} KiB to {peak} KiB while 300 bodies stalled");
    assert!(given_back.is_some(), "RSS stayed at {} KiB after the stalled bodies were cut (before: {before} KiB)", s.rss_kib());
    let log = s.plain_logs();
    assert!(log.contains("request body cut"), "the cut is logged:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_with_a_50_mb_body_is_401_without_reading_it() {
    const BODY: usize = 50 * 1000 * 1000;
    let s = Server::start();
    let mut tcp = TcpStream::connect(s.addr).await.expect("connect");
    let head = format!("POST /broadcast HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer not-the-key-0123456789abcdef0123456789\r\nContent-Type: application/json\r\nContent-Length: {BODY}\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.expect("head");
    let (mut rd, mut wr) = tcp.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < BODY {
            match tokio::time::timeout(Duration::from_secs(5), wr.write_all(&chunk)).await {
                Ok(Ok(())) => sent += chunk.len(),
                _ => break,
            }
        }
        sent
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(20), rd.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let sent = writer.await.expect("writer");
    assert!(sent < BODY, "the server read all 50 MB of a request without the key");
    assert_eq!(s.health().await["status"], "ok");
}

// ---------------------------------------------------------------------------------------
// Sockets that never upgrade
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_slowloris_sending_a_byte_a_second_is_cut_at_the_header_read_timeout() {
    let s = Server::start_with(Options::default().env("CABLEWAY_HEADER_READ_TIMEOUT_MS", "2000"));
    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET /cable HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.expect("write");
    // Each byte would reset a per-read timer; the budget is for the whole head.
    let mut closed = false;
    for _ in 0..30 {
        if slow.write_all(b"a").await.is_err() {
            closed = true;
            break;
        }
        let (_, gone) = read_until_closed(&mut slow, Duration::from_millis(500)).await;
        if gone {
            closed = true;
            break;
        }
    }
    assert!(closed, "a head sent a byte at a time is kept past 15 s");
}

/// `n` plain TCP connections that send nothing.
async fn silent_sockets(s: &Server, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(TcpStream::connect(s.addr).await.expect("connect a silent socket"));
    }
    out
}

/// A legitimate client connects and subscribes (generous deadline: the assertion is that it
/// gets in at all while the flood is held).
async fn legitimate_client_gets_in(s: &Server) {
    let url = s.cable_url(Some(&s.token("legit", ACCOUNT, &[])));
    let joined = tokio::time::timeout(Duration::from_secs(30), async {
        let mut c = Client::connect_welcomed(&url).await;
        c.subscribed(&fixtures::notifications(ACCOUNT)).await;
    })
    .await;
    assert!(joined.is_ok(), "a legitimate client could not connect while the flood was held; log:\n{}", s.plain_logs());
}

/// How many of `sockets` the server closed within `within`.
async fn closed_within(sockets: Vec<TcpStream>, within: Duration) -> usize {
    let reads = sockets.into_iter().map(|mut tcp| async move { read_until_closed(&mut tcp, within).await.1 });
    futures_util::future::join_all(reads).await.into_iter().filter(|closed| *closed).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_pending_cap_the_oldest_silent_sockets_are_shed_and_a_client_gets_in() {
    // A header timeout far beyond the test: whatever closes here is shed for room.
    let s = Server::start_with(Options::default().env("CABLEWAY_MAX_PENDING_CONNECTIONS", "100").env("CABLEWAY_HEADER_READ_TIMEOUT_MS", "60000"));
    let flood = silent_sockets(&s, 300).await;
    legitimate_client_gets_in(&s).await;
    let shed = closed_within(flood, Duration::from_secs(10)).await;
    assert!(shed >= 200, "past a cap of 100 pending connections, only {shed} of 300 silent sockets were shed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_descriptor_limit_2000_silent_sockets_do_not_lock_a_client_out() {
    let s = Server::start_with(Options::default().env("CABLEWAY_HEADER_READ_TIMEOUT_MS", "10000"));
    // 512 descriptors: the flood reaches the limit at CI scale.
    let pid = s.pid().expect("server runs").to_string();
    let limited = std::process::Command::new("prlimit").args(["--pid", &pid, "--nofile=512:512"]).status().expect("run prlimit");
    assert!(limited.success(), "prlimit --nofile failed");
    let flood = silent_sockets(&s, 2000).await;
    legitimate_client_gets_in(&s).await;
    // Every silent socket is closed: shed for room, or at the header timeout.
    let closed = closed_within(flood, Duration::from_secs(40)).await;
    assert_eq!(closed, 2000, "silent sockets outlived the header timeout");
    let log = s.plain_logs();
    let lines = log.lines().filter(|l| l.contains("out of file descriptors")).count();
    assert_eq!(lines, 1, "the descriptor limit is logged once, not on every failed accept:\n{}", log.lines().filter(|l| l.contains("descriptor") || l.contains("accept")).take(5).collect::<Vec<_>>().join("\n"));
    // Still serving.
    legitimate_client_gets_in(&s).await;
}

// ---------------------------------------------------------------------------------------
// Per-address and per-principal caps
// ---------------------------------------------------------------------------------------

/// A client from `ip` (a 127.0.0.x address) with `token`, upgraded (not yet welcomed).
async fn from_address(s: &Server, ip: &str, token: &str) -> Client<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(format!("{ip}:0").parse().expect("address")).expect("bind a 127.0.0.x address");
    let stream = socket.connect(s.addr).await.expect("connect");
    let request = client::request(&s.cable_url(Some(token)), &RAILS_PROTOCOLS, &[]).expect("request");
    Client::handshake(request, stream).await.expect("handshake")
}

const TOO_MANY: fn() -> Value = || json!({ "type": "disconnect", "reason": "too_many_connections", "reconnect": false });

#[tokio::test]
async fn the_connection_past_the_per_address_cap_is_told_too_many_connections() {
    let s = Server::start_with(Options::default().env("CABLEWAY_MAX_CONNECTIONS_PER_ADDRESS", "2"));
    let mut held = Vec::new();
    for user in ["u1", "u2"] {
        let mut c = from_address(&s, "127.0.0.2", &s.token(user, ACCOUNT, &[])).await;
        assert_eq!(c.recv().await, Some(json!({ "type": "welcome" })));
        held.push(c);
    }
    let mut third = from_address(&s, "127.0.0.2", &s.token("u3", ACCOUNT, &[])).await;
    assert_eq!(third.recv().await, Some(TOO_MANY()));
    // Another address has its own count.
    let mut other = from_address(&s, "127.0.0.3", &s.token("u3", ACCOUNT, &[])).await;
    assert_eq!(other.recv().await, Some(json!({ "type": "welcome" })));
    // A closed connection gives its place back.
    held.pop().expect("held").close().await;
    let back = wait::poll_async(Duration::from_secs(10), || (s.plain_logs().matches(" disconnected ").count() >= 1).then_some(())).await;
    assert!(back.is_some(), "the closed connection never ended");
    let mut again = from_address(&s, "127.0.0.2", &s.token("u4", ACCOUNT, &[])).await;
    assert_eq!(again.recv().await, Some(json!({ "type": "welcome" })));
}

#[tokio::test]
async fn the_connection_past_the_per_principal_cap_is_told_too_many_connections() {
    let s = Server::start_with(Options::default().env("CABLEWAY_MAX_CONNECTIONS_PER_PRINCIPAL", "2").arg("--metrics-bind").arg("127.0.0.1:0"));
    let token = s.token("u1", ACCOUNT, &[]);
    let first = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    let _second = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    let mut third = Client::connect(&s.cable_url(Some(&token))).await;
    assert_eq!(third.recv().await, Some(TOO_MANY()));
    // The same sub in another account, and another sub, are other principals.
    let _elsewhere = s.user("u1", "acc2").await;
    let _other = s.user("u2", ACCOUNT).await;
    first.close().await;
    let back = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mut c = Client::connect(&s.cable_url(Some(&token))).await;
            if c.recv().await == Some(json!({ "type": "welcome" })) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "the principal never got its place back");
    let metrics = s.scrape().await;
    assert!(metrics.lines().any(|l| l.starts_with("websocket_connections_total{outcome=\"principal_cap_reached\"}") && !l.ends_with(" 0")), "the refusal is counted:\n{metrics}");
}

// ---------------------------------------------------------------------------------------
// Liveness
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_that_never_reads_nor_answers_is_closed_and_its_resources_freed() {
    let s = Server::start_with(Options::default().env("CABLEWAY_PING_INTERVAL_MS", "300").env("CABLEWAY_LIVENESS_TIMEOUT_MS", "1000"));
    // A raw WebSocket handshake, then nothing: no read, no pong.
    let mut raw = TcpStream::connect(s.addr).await.expect("connect");
    let token = s.token("mute", ACCOUNT, &[]);
    let request = format!("GET /cable?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n\r\n");
    raw.write_all(request.as_bytes()).await.expect("handshake");
    // A client that reads (its library answers pings) stays through the same time: it reads
    // all along, in a task of its own.
    let mut alive = s.user("alive", ACCOUNT).await;
    alive.joined(&fixtures::notifications(ACCOUNT)).await;
    let reader = tokio::spawn(async move {
        let mut got: Vec<Value> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        // Until the publication made after the mute client's end arrives.
        while !got.iter().any(|f| f["message"]["payload"]["id"] == "n1") && tokio::time::Instant::now() < deadline {
            if let Some(frame) = alive.recv_within(Duration::from_millis(100)).await {
                got.push(frame);
            }
        }
        (alive, got)
    });
    let mute = s.wait_for_log("the mute connection ends", |log| log.lines().find(|l| l.contains(" disconnected ") && l.contains("reason=\"unresponsive\"")).map(str::to_owned)).await;
    assert!(mute.contains("sub=mute") || !mute.contains("sub="), "{mute}");
    let health = s.health().await;
    assert_eq!(health["connections"], 1, "only the reading client is left: {health}");
    let (status, body) = s.publish(&fixtures::notification(ACCOUNT, "n1")).await;
    assert_eq!((status, body["deliveries"].as_u64()), (200, Some(1)), "{body}");
    let (_alive, got) = reader.await.expect("reader");
    assert!(got.iter().all(|f| f["type"] != "disconnect"), "the reading client was dropped: {got:?}");
    assert!(got.iter().any(|f| f["message"]["payload"]["id"] == "n1"), "the reading client got the publication: {got:?}");
    drop(raw);
}
