//! Bounds against the real binary (issue 15): a publish batch either reaches a fast reader
//! whole or is refused whole (413 `batch_too_large`), never dropped on the way as `too_slow`;
//! a 422 for a huge invalid batch stays small; the resume store stays under its byte bound;
//! identifiers spelled differently count as one subscription.

use std::time::Duration;

use cableway_tests::client::Client;
use cableway_tests::ext;
use cableway_tests::fixtures::{notification, notification_payload, notifications};
use cableway_tests::server::{Options, Server};
use serde_json::{json, Value};

/// Reads the next `n` frames of `c` and asserts each is a data frame of `identifier`: nothing
/// else (no `disconnect`) comes in between. Returns their payload ids, in arrival order.
async fn data_ids(c: &mut Client, identifier: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let v = c.recv_within(Duration::from_secs(20)).await.unwrap_or_else(|| panic!("only {} of {n} events came", ids.len()));
        assert_eq!(v["identifier"], identifier, "only data frames, nothing in between: {v}");
        ids.push(v["message"]["payload"]["id"].as_str().unwrap_or_else(|| panic!("a data frame: {v}")).to_owned());
    }
    ids
}

/// POSTs `body` to `path` with the publisher key.
async fn post(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new().post(format!("{}{path}", s.http())).bearer_auth(&s.publisher_key).json(body).send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The batch of `n` notifications of `account` ids `<tag>-00000..`, for `path`'s format:
/// tags of one length make batches of one size cost the same.
fn batch(path: &str, account: &str, tag: &str, n: usize) -> Value {
    let items = (0..n).map(|i| {
        let id = format!("{tag}-{i:05}");
        match path {
            "/broadcast" => notification(account, &id),
            _ => json!({ "stream": format!("notifications:{account}"),
                "data": json!({ "event": "new_notification", "payload": notification_payload(account, &id) }).to_string() }),
        }
    });
    Value::Array(items.collect())
}

/// The largest batch of notifications `path` accepts for `account` (nobody subscribed):
/// found by bisection, since a refused batch delivers nothing.
async fn largest_accepted(s: &Server, path: &str, account: &str) -> usize {
    let (mut ok, mut refused) = (1, 3000);
    let (status, body) = post(s, path, &batch(path, account, "pr", refused)).await;
    assert_eq!((status, &body["error"]), (413, &json!("batch_too_large")), "3,000 notifications pass the 1 MiB outbound bound: {body}");
    assert!(matches!(post(s, path, &batch(path, account, "pr", ok)).await.0, 200 | 201));
    while refused - ok > 1 {
        let mid = (ok + refused) / 2;
        match post(s, path, &batch(path, account, "pr", mid)).await {
            (200 | 201, _) => ok = mid,
            (413, body) => {
                assert_eq!(body["error"], "batch_too_large", "{body}");
                refused = mid;
            }
            other => panic!("{other:?}"),
        }
    }
    ok
}

/// The value of a counter without labels in an exposition.
fn counter(exposition: &str, name: &str) -> f64 {
    exposition.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn the_largest_accepted_batch_reaches_fast_readers_whole_and_a_larger_one_is_refused() {
    let s = Server::start_with(Options::default().arg("--metrics-bind").arg("127.0.0.1:0"));
    for path in ["/broadcast", "/_broadcast"] {
        // The probe account's name is as long as the readers', so its batches cost the same.
        let (account, probe) = (if path == "/broadcast" { "acc-b1" } else { "acc-b2" }, "acc-p0");
        let n = largest_accepted(&s, path, probe).await;
        assert!(n >= 1000, "{path}: at least a thousand small notifications fit one connection's queue, {n} did");

        let id = notifications(account);
        let token = s.token("reader", account, &[]);
        let mut v1 = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
        v1.joined(&id).await;
        let (mut extc, _) = ext::connect(&s.cable_url(Some(&token))).await;
        extc.joined(&id).await;

        let (status, body) = post(&s, path, &batch(path, account, "ev", n)).await;
        assert!(matches!(status, 200 | 201), "{path}: {body}");
        assert_eq!(body["published"], n, "{body}");
        let want: Vec<String> = (0..n).map(|i| format!("ev-{i:05}")).collect();
        assert_eq!(data_ids(&mut v1, &id, n).await, want, "{path}: a v1 reader gets every event, in order, once");
        assert_eq!(data_ids(&mut extc, &id, n).await, want, "{path}: an ext reader gets every event, in order, once");

        // One more is refused whole, with a reason the publisher can act on; nobody is dropped.
        let (status, body) = post(&s, path, &batch(path, account, "ov", n + 1)).await;
        assert_eq!((status, &body["error"]), (413, &json!("batch_too_large")), "{path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("smaller batches")), "{body}");
        let (status, body) = post(&s, path, &batch(path, account, "af", 1)).await;
        assert!(matches!(status, 200 | 201), "{body}");
        assert_eq!(data_ids(&mut v1, &id, 1).await, ["af-00000"], "{path}: still connected, and nothing of the refused batch came");
        assert_eq!(data_ids(&mut extc, &id, 1).await, ["af-00000"], "{path}: still connected, and nothing of the refused batch came");
    }
    assert_eq!(counter(&s.scrape().await, "cableway_slow_evictions_total"), 0.0, "nobody was dropped as too_slow");
}

#[tokio::test]
async fn a_422_for_a_10000_item_invalid_batch_lists_the_first_20_violations_and_counts_all() {
    let s = Server::start();
    let item = json!({ "channel": "NotificationChannel", "event": "new_notification", "payload": { "id": "n" } });
    let (status, one) = s.publish(&json!([item])).await;
    assert_eq!(status, 422, "{one}");
    let per_item = one["error_count"].as_u64().expect("error_count");
    assert!(per_item >= 1);

    let request = Value::Array(vec![item; 10_000]);
    let request_bytes = request.to_string().len();
    let resp = reqwest::Client::new().post(format!("{}/broadcast", s.http())).bearer_auth(&s.publisher_key).json(&request).send().await.expect("POST");
    assert_eq!(resp.status().as_u16(), 422);
    let text = resp.text().await.expect("body");
    assert!(text.len() < 8 * 1024, "the answer to a {request_bytes}-byte request is {} bytes", text.len());
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body["error"], "invalid_payload");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(20), "{body}");
    assert_eq!(body["errors"][0]["path"].as_str().map(|p| p.starts_with("/0/payload")), Some(true), "{body}");
    assert_eq!(body["error_count"], per_item * 10_000, "{body}");
}

/// `n` spellings of `account`'s notifications identifier: whitespace and key order.
fn spellings(account: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (pad, tab) = (" ".repeat(i / 2), if i % 3 == 0 { "\t" } else { "" });
            if i % 2 == 0 {
                format!(r#"{{{pad}"channel":{tab}"NotificationChannel",{pad}"account_id":"{account}"}}"#)
            } else {
                format!(r#"{{"account_id"{pad}:"{account}",{tab}"channel" :"NotificationChannel"{pad}}}"#)
            }
        })
        .collect()
}

#[tokio::test]
async fn spellings_of_one_identifier_are_one_subscription_with_one_delivery_per_event() {
    // 256 subscribes in a row: past the default command burst.
    let s = Server::start_with(Options::default().env("CABLEWAY_COMMAND_BURST", "1000").env("CABLEWAY_COMMANDS_PER_SECOND", "1000"));
    let account = "acc-d1";
    let mut c = s.user("u-d1", account).await;
    let limit = 128;
    let all = spellings(account, limit);
    assert_eq!(all.iter().collect::<std::collections::HashSet<_>>().len(), limit, "distinct spellings");

    // The first spelling is the subscription: confirmed with the bytes it was sent as.
    let first = &all[0];
    assert_eq!(c.subscribe(first).await, json!({ "identifier": first, "type": "confirm_subscription" }));
    c.message(first).await.expect("the channel's on-subscribe message");
    // Every other spelling is refused, each echoed byte for byte as it was sent.
    for other in &all[1..] {
        assert_eq!(c.subscribe(other).await, json!({ "identifier": other, "type": "reject_subscription", "reason": "duplicate_subscription" }));
    }
    // They took no place under the limit: 127 more distinct subscriptions still fit.
    for i in 0..limit - 1 {
        let id = cableway_tests::fixtures::conversation(&format!("conv-d{i}"));
        s.own("ai_conversation", &format!("conv-d{i}"), account).await;
        c.joined(&id).await;
    }
    let over = cableway_tests::fixtures::conversation("conv-over");
    s.own("ai_conversation", "conv-over", account).await;
    assert_eq!(c.subscribe(&over).await["reason"], "too_many_subscriptions");

    // One delivery per event, under the first spelling.
    let (status, body) = s.publish(&batch("/broadcast", account, "dd", 3)).await;
    assert_eq!(status, 200, "{body}");
    let frames = c.round_trip().await;
    let data: Vec<(&str, &str)> = frames.iter().filter(|f| f.get("message").is_some()).map(|f| (f["identifier"].as_str().unwrap_or_default(), f["message"]["payload"]["id"].as_str().unwrap_or_default())).collect();
    assert_eq!(data, [(first.as_str(), "dd-00000"), (first.as_str(), "dd-00001"), (first.as_str(), "dd-00002")], "{frames:?}");

    // Unsubscribed, the subscription may be taken again under another spelling, which is then its name.
    c.send(&json!({ "command": "unsubscribe", "identifier": first })).await;
    let second = &all[1];
    assert_eq!(c.subscribe(second).await["type"], "confirm_subscription");
    c.message(second).await.expect("the on-subscribe message");
    assert_eq!(s.publish(&notification(account, "d-3")).await.0, 200);
    assert_eq!(data_ids(&mut c, second, 1).await, ["d-3"]);
    assert!(c.round_trip().await.is_empty(), "one delivery, nothing under the old spelling");
}

#[tokio::test]
async fn the_resume_store_stays_under_its_byte_bound_and_the_newest_session_resumes() {
    let max_bytes = 150_000;
    let s = Server::start_with(
        Options::default().env("CABLEWAY_MAX_KEPT_SESSIONS_BYTES", &max_bytes.to_string()).env("CABLEWAY_COMMAND_BURST", "1000").env("CABLEWAY_COMMANDS_PER_SECOND", "1000"),
    );
    let account = "acc-r1";
    let ids: Vec<String> = (0..128).map(|i| cableway_tests::fixtures::conversation(&format!("conv-r{i:03}"))).collect();
    for i in 0..128 {
        s.own("ai_conversation", &format!("conv-r{i:03}"), account).await;
    }
    let token = s.token("u-r1", account, &[]);
    let sessions = 8;
    let mut last_sid = String::new();
    for n in 1..=sessions {
        let (mut c, welcome) = ext::connect(&s.cable_url(Some(&token))).await;
        last_sid = welcome["sid"].as_str().expect("a sid").to_owned();
        for id in &ids {
            c.joined(id).await;
        }
        c.close().await;
        // Kept (or making room) once the server saw the close.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let h = s.health().await["sessions"].clone();
            assert!(h["bytes"].as_u64().expect("sessions.bytes in /health") <= max_bytes, "over the bound: {h}");
            if h["kept"].as_u64().unwrap_or(0) + h["evicted"].as_u64().unwrap_or(0) == n {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "session {n} was never kept: {h}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let h = s.health().await["sessions"].clone();
    assert!(h["evicted"].as_u64().unwrap_or(0) > 0 && h["kept"].as_u64().unwrap_or(0) >= 1, "the bound took effect: {h}");
    assert_eq!(h["max_bytes"], max_bytes);

    let (_, welcome) = ext::connect(&format!("{}&sid={last_sid}", s.cable_url(Some(&token)))).await;
    assert_eq!(welcome["restored"], true, "the newest session resumes: {welcome}");
    assert_eq!(welcome["restored_ids"].as_array().map(Vec::len), Some(128), "{welcome}");
}

/// A raw client: the upgrade by hand, then `frame` as written (masked or not); returns the
/// close code the server answers with.
async fn close_code_for(s: &Server, frame: &[u8]) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let token = s.token("u-raw", "acc-raw", &[]);
    let addr = s.http().trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let request = format!(
        "GET /cable?token={token} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n\r\n"
    );
    sock.write_all(request.as_bytes()).await.expect("upgrade request");
    sock.write_all(frame).await.expect("frame");
    // Read everything until the server closes; find its close frame (opcode 8) after the 101.
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), sock.read_to_end(&mut got)).await;
    let body = got.windows(4).position(|w| w == b"\r\n\r\n").map(|i| &got[i + 4..])?;
    let mut at = 0;
    while at + 2 <= body.len() {
        let (opcode, len) = (body[at] & 0x0f, (body[at + 1] & 0x7f) as usize);
        let (len, start) = match len {
            126 => (u16::from_be_bytes([body[at + 2], body[at + 3]]) as usize, at + 4),
            127 => return None,
            n => (n, at + 2),
        };
        if opcode == 8 {
            return (len >= 2).then(|| u16::from_be_bytes([body[start], body[start + 1]]));
        }
        at = start + len;
    }
    None
}

/// A client frame: FIN and `first` bits (opcode, RSV), masked with a zero key unless `masked` is false.
fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        f.extend_from_slice(&[0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

#[tokio::test]
async fn protocol_violations_close_with_1002_and_invalid_utf8_with_1007() {
    let s = Server::start();
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("an unmasked client frame", client_frame(0x81, b"{}", false), 1002),
        ("a set RSV1 bit", client_frame(0x80 | 0x40 | 0x1, b"{}", true), 1002),
        ("a ping over 125 bytes", client_frame(0x89, &[b'p'; 126], true), 1002),
        ("a fragmented ping", client_frame(0x09, b"p", true), 1002),
        ("an unknown opcode", client_frame(0x83, b"x", true), 1002),
        ("text that is not UTF-8", client_frame(0x81, &[0xce, 0xba, 0xff, 0xfe], true), 1007),
    ];
    for (what, frame, want) in cases {
        assert_eq!(close_code_for(&s, &frame).await, Some(want), "{what}");
    }
}
