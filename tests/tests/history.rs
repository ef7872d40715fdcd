//! Reliable streams over the extended protocol: resume from offsets, `since`, eviction,
//! restarts, session resume, and a property test over random disconnects.

use std::time::Duration;

use cableway_tests::client::Client;
use cableway_tests::ext::subscribe_with_history;
use cableway_tests::fixtures::{notification, notifications, unix_now as now};
use cableway_tests::server::{claims, Server};
use cableway_tests::wait;
use proptest::prelude::*;
use serde_json::{json, Value};

async fn publish_range(s: &Server, account: &str, range: std::ops::Range<usize>) {
    let batch: Vec<Value> = range.map(|n| notification(account, &format!("n{n}"))).collect();
    let (status, body) = s.publish(&Value::Array(batch)).await;
    assert_eq!(status, 200, "{body}");
}

async fn ext(s: &Server, token: &str, extra_query: &str) -> (Client, Value) {
    cableway_tests::ext::connect(&format!("{}{extra_query}", s.cable_url(Some(token)))).await
}

/// A data frame's (payload id, stream, epoch, offset).
fn position(v: &Value) -> (String, String, String, u64) {
    (
        v["message"]["payload"]["id"].as_str().unwrap_or_default().to_owned(),
        v["stream_id"].as_str().unwrap().to_owned(),
        v["epoch"].as_str().unwrap().to_owned(),
        v["offset"].as_u64().unwrap(),
    )
}

fn replayed(frames: &[Value]) -> Vec<(String, String, String, u64)> {
    frames.iter().filter(|f| f.get("offset").is_some()).map(position).collect()
}

#[tokio::test]
async fn a_client_that_drops_off_gets_exactly_the_missed_messages() {
    let s = Server::start();
    let token = s.token("u1", "acc1", &[]);
    let id = notifications("acc1");
    let (mut c, welcome) = ext(&s, &token, "").await;
    assert!(welcome["sid"].as_str().is_some_and(|sid| sid.len() >= 16), "ext welcome carries a sid");
    let first = subscribe_with_history(&mut c, &id, json!({"since": now()})).await;
    assert_eq!(first[0]["type"], "confirm_subscription");
    assert_eq!(first.last().unwrap()["type"], "confirm_history");
    publish_range(&s, "acc1", 0..5).await;
    let mut last = None;
    for n in 0..5 {
        let f = loop {
            let f = c.recv().await.unwrap();
            if f.get("offset").is_some() {
                break f;
            }
        };
        let p = position(&f);
        assert_eq!(p.0, format!("n{n}"));
        assert_eq!(p.1, "notifications:acc1");
        last = Some(p);
    }
    let (_, stream, epoch, offset) = last.unwrap();
    c.close().await;

    publish_range(&s, "acc1", 5..105).await;

    let (mut c2, _) = ext(&s, &token, "").await;
    let frames = subscribe_with_history(&mut c2, &id, json!({"since": now() - 60, "streams": {stream.clone(): {"epoch": epoch, "offset": offset}}})).await;
    assert_eq!(frames[0]["type"], "confirm_subscription");
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    let got: Vec<String> = replayed(&frames).into_iter().map(|p| p.0).collect();
    let want: Vec<String> = (5..105).map(|n| format!("n{n}")).collect();
    assert_eq!(got, want, "exactly the 100 missed messages, in order, once");
    let offsets: Vec<u64> = replayed(&frames).into_iter().map(|p| p.3).collect();
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1));
    // Live messages continue right after the replay.
    publish_range(&s, "acc1", 105..106).await;
    let live = loop {
        let f = c2.recv().await.unwrap();
        if f.get("offset").is_some() {
            break position(&f);
        }
    };
    assert_eq!((live.0.as_str(), live.3), ("n105", offset + 101));
}

#[tokio::test]
async fn evicted_unknown_epoch_and_future_offsets_are_rejected_without_messages() {
    let s = Server::start();
    let token = s.token("u1", "acc2", &[]);
    let id = notifications("acc2");
    let t0 = now();
    publish_range(&s, "acc2", 0..1).await;
    let (mut c, _) = ext(&s, &token, "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"since": t0})).await;
    let (_, stream, epoch, offset) = replayed(&frames).pop().expect("the first message, by since");
    c.close().await;
    // 101 more: the ring keeps 100, so offset 1 cannot be continued.
    publish_range(&s, "acc2", 1..102).await;
    for history in [
        json!({"streams": {stream.clone(): {"epoch": epoch.clone(), "offset": offset}}}),
        json!({"streams": {stream.clone(): {"epoch": "some-other-epoch", "offset": 101}}}),
        json!({"streams": {stream.clone(): {"epoch": epoch.clone(), "offset": 999}}}),
    ] {
        let (mut c, _) = ext(&s, &token, "").await;
        let frames = subscribe_with_history(&mut c, &id, history.clone()).await;
        assert_eq!(frames.last().unwrap()["type"], "reject_history", "{history}");
        assert!(replayed(&frames).is_empty(), "never a partial replay: {history}");
    }
}

#[tokio::test]
async fn a_restarted_server_has_a_new_epoch_and_rejects_old_positions() {
    let s = Server::start();
    let token = s.token("u1", "acc3", &[]);
    let id = notifications("acc3");
    let t0 = now();
    publish_range(&s, "acc3", 0..2).await;
    let (mut c, _) = ext(&s, &token, "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"since": t0})).await;
    let (_, stream, epoch, offset) = replayed(&frames).pop().unwrap();
    drop(c);
    drop(s);
    let s2 = Server::start();
    publish_range(&s2, "acc3", 2..3).await;
    let (mut c, _) = ext(&s2, &s2.token("u1", "acc3", &[]), "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"streams": {stream: {"epoch": epoch.clone(), "offset": offset}}})).await;
    assert_eq!(frames.last().unwrap()["type"], "reject_history");
    assert!(replayed(&frames).is_empty());
    // And `since` from before the restart cannot be vouched for either.
    let (mut c, _) = ext(&s2, &s2.token("u1", "acc3", &[]), "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"since": now() - 3600})).await;
    assert_eq!(frames.last().unwrap()["type"], "reject_history");
}

#[tokio::test]
async fn since_serves_streams_without_positions() {
    let s = Server::start();
    let token = s.token("u1", "acc4", &[]);
    let id = notifications("acc4");
    let t0 = now();
    publish_range(&s, "acc4", 0..3).await;
    let (mut c, _) = ext(&s, &token, "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"since": t0})).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    assert_eq!(replayed(&frames).into_iter().map(|p| p.0).collect::<Vec<_>>(), ["n0", "n1", "n2"]);
    // A since in the future replays nothing, and is still confirmed.
    let (mut c, _) = ext(&s, &token, "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"since": t0 + 3600})).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    assert!(replayed(&frames).is_empty());
}

#[tokio::test]
async fn duplicate_and_overlapping_history_requests_each_get_a_consistent_answer() {
    let s = Server::start();
    let token = s.token("u1", "acc5", &[]);
    let id = notifications("acc5");
    let t0 = now();
    publish_range(&s, "acc5", 0..6).await;
    let (mut c, _) = ext(&s, &token, "").await;
    let frames = subscribe_with_history(&mut c, &id, json!({"since": t0})).await;
    let all = replayed(&frames);
    assert_eq!(all.len(), 6);
    let (stream, epoch) = (all[0].1.clone(), all[0].2.clone());
    for from in [2u64, 2, 4, 1] {
        c.send(&json!({"command": "history", "identifier": id, "history": {"streams": {stream.clone(): {"epoch": epoch, "offset": from}}}})).await;
        let mut got = Vec::new();
        loop {
            let v = c.recv().await.unwrap();
            if v["type"] == "confirm_history" {
                break;
            }
            assert_ne!(v["type"], "reject_history");
            if v.get("offset").is_some() {
                got.push(position(&v).3);
            }
        }
        assert_eq!(got, ((from + 1)..=6).collect::<Vec<_>>(), "from offset {from}");
    }
    // History for an identifier this connection did not subscribe is ignored.
    let other = notifications("acc-other");
    c.send(&json!({"command": "history", "identifier": other, "history": {"since": t0}})).await;
    assert!(c.recv_within(Duration::from_millis(500)).await.is_none());
}

#[tokio::test]
async fn sessions_resume_with_their_subscriptions_but_not_past_the_token() {
    let s = Server::start();
    let token = s.token("u1", "acc6", &[]);
    let id = notifications("acc6");
    let (mut c, welcome) = ext(&s, &token, "").await;
    let sid = welcome["sid"].as_str().unwrap().to_owned();
    let frames = subscribe_with_history(&mut c, &id, json!({"since": now()})).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    publish_range(&s, "acc6", 0..2).await;
    let mut last = None;
    while last.as_ref().map(|p: &(String, String, String, u64)| p.3) != Some(2) {
        let f = c.recv().await.unwrap();
        if f.get("offset").is_some() {
            last = Some(position(&f));
        }
    }
    let (_, stream, epoch, offset) = last.unwrap();
    c.close().await;
    publish_range(&s, "acc6", 2..5).await;

    // Another user presenting the sid gets a fresh session.
    let (_, w) = ext(&s, &s.token("u2", "acc6", &[]), &format!("&sid={sid}")).await;
    assert!(w.get("restored").is_none(), "a session is bound to its principal: {w}");

    let (mut c, w) = ext(&s, &token, &format!("&sid={sid}")).await;
    assert_eq!(w["restored"], true, "{w}\n{}", s.logs().lines().filter(|l| l.contains("connected") || l.contains("restored")).collect::<Vec<_>>().join("\n"));
    assert_eq!(w["restored_ids"], json!([id]));
    assert_ne!(w["sid"], sid, "a new sid for the new connection");
    c.send(&json!({"command": "history", "identifier": id, "history": {"streams": {stream: {"epoch": epoch, "offset": offset}}}})).await;
    let mut got = Vec::new();
    loop {
        let v = c.recv().await.unwrap();
        if v["type"] == "confirm_history" {
            break;
        }
        got.push(position(&v).0);
    }
    assert_eq!(got, ["n2", "n3", "n4"], "no re-subscribe, no re-authorization, just the gap");
    publish_range(&s, "acc6", 5..6).await;
    assert_eq!(position(&c.recv().await.unwrap()).0, "n5", "and live again");

    // A session whose token expired since is not restored.
    let short = claims("u3", "acc6", &[], "user", 3);
    let (mut c, w) = ext(&s, &s.sign(&short), "").await;
    let sid = w["sid"].as_str().unwrap().to_owned();
    c.subscribed(&id).await;
    c.close().await;
    // The server compares `exp` with the Unix clock: wait until it has passed.
    wait::unix_time(short["exp"].as_i64().expect("exp")).await;
    let (_, w) = ext(&s, &s.token("u3", "acc6", &[]), &format!("&sid={sid}")).await;
    assert!(w.get("restored").is_none(), "{w}");
}

#[tokio::test]
async fn v1_clients_see_no_stream_positions() {
    let s = Server::start();
    let mut c = s.user("u1", "acc7").await;
    c.joined(&notifications("acc7")).await;
    publish_range(&s, "acc7", 0..1).await;
    let v = c.recv().await.unwrap();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["identifier", "message"], "{v}");
}

#[derive(Debug, Clone)]
enum Op {
    Publish(usize),
    Reconnect,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(prop_oneof![3 => (1usize..6).prop_map(Op::Publish), 1 => Just(Op::Reconnect)], 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Publishes, disconnects and reconnects in any order (within the history window):
    /// the messages delivered per stream are exactly the messages published, in order.
    #[test]
    fn no_gap_no_duplicate_across_reconnects(plan in ops()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let s = Server::start();
            let t0 = now();
            let token = s.token("u1", "accp", &[]);
            let id = notifications("accp");
            let (mut c, _) = ext(&s, &token, "").await;
            subscribe_with_history(&mut c, &id, json!({"since": now()})).await;
            let mut published = Vec::new();
            let mut delivered: Vec<String> = Vec::new();
            let mut position: Option<(String, String, u64)> = None;
            let mut next = 0usize;
            for op in plan {
                match op {
                    Op::Publish(k) => {
                        publish_range(&s, "accp", next..next + k).await;
                        published.extend((next..next + k).map(|n| format!("n{n}")));
                        next += k;
                    }
                    Op::Reconnect => {
                        // Read what is already on the wire, then drop the connection mid-stream.
                        while let Some(f) = c.recv_within(Duration::from_millis(150)).await {
                            if f.get("offset").is_some() {
                                let (pid, st, ep, off) = self::position(&f);
                                delivered.push(pid);
                                position = Some((st, ep, off));
                            }
                        }
                        drop(c);
                        let (c2, _) = ext(&s, &token, "").await;
                        c = c2;
                        let history = match &position {
                            Some((st, ep, off)) => json!({"streams": {st.clone(): {"epoch": ep, "offset": off}}}),
                            None => json!({"since": t0}),
                        };
                        for f in subscribe_with_history(&mut c, &id, history).await {
                            assert_ne!(f["type"], "reject_history");
                            if f.get("offset").is_some() {
                                let (pid, st, ep, off) = self::position(&f);
                                delivered.push(pid);
                                position = Some((st, ep, off));
                            }
                        }
                    }
                }
            }
            while delivered.len() < published.len() {
                let Some(f) = c.recv().await else { break };
                if f.get("offset").is_some() {
                    delivered.push(self::position(&f).0);
                }
            }
            assert_eq!(delivered, published);
        });
    }
}
