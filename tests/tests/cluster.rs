//! Several nodes over one real `redis-server`: fan-out across nodes in one order, offsets
//! assigned once under concurrent publishers, resume on another node (and after every node
//! restarted), a Redis restart that loses the data, a cut pub/sub connection, subscription
//! churn, and the gap filler and position check against publications that bypass pub/sub.

use std::time::Duration;

use cableway_tests::client::Client;
use cableway_tests::ext::{self, At};
use cableway_tests::fixtures::{notification, notifications, unix_now};
use cableway_tests::redis::{Persistence, Redis};
use cableway_tests::server::{Options, Server};
use serde_json::{json, Value};

/// A connected ext client of `account` on `node`, subscribed to its notifications with
/// `since` now (so its history is confirmed and empty).
async fn ext_subscriber(node: &Server, account: &str, extra_query: &str) -> (Client, Value) {
    let token = node.token(&format!("u-{account}"), account, &[]);
    let (mut c, welcome) = ext::connect(&format!("{}{extra_query}", node.cable_url(Some(&token)))).await;
    let frames = ext::subscribe_with_history(&mut c, &notifications(account), json!({ "since": unix_now() })).await;
    assert_eq!(frames.last().map(|f| f["type"].clone()), Some(json!("confirm_history")), "{frames:?}");
    (c, welcome)
}

/// A new ext connection of `account`'s user on `node` that subscribes with `history`; the
/// frames up to the history answer.
async fn resume(node: &Server, account: &str, history: Value) -> Vec<Value> {
    let token = node.token(&format!("u-{account}"), account, &[]);
    let (mut c, _) = ext::connect(&node.cable_url(Some(&token))).await;
    ext::subscribe_with_history(&mut c, &notifications(account), history).await
}

/// A plain ActionCable client of `account` on `node`, subscribed to its notifications.
async fn v1_subscriber(node: &Server, account: &str) -> Client {
    let mut c = node.user(&format!("u-{account}"), account).await;
    c.joined(&notifications(account)).await;
    c
}

/// Publishes `n0..n1` one request each through `node`; the positions Redis assigned.
async fn publish_each(node: &Server, account: &str, ids: impl Iterator<Item = String>) -> Vec<u64> {
    let mut offsets = Vec::new();
    for id in ids {
        let (status, body) = node.publish(&notification(account, &id)).await;
        assert_eq!(status, 200, "{body}");
        offsets.push(body["positions"][0]["offset"].as_u64().expect("a position"));
    }
    offsets
}

/// Whether `node`'s `/health` satisfies `check` before `deadline` (checked every 20 ms).
async fn health_until(node: &Server, deadline: tokio::time::Instant, check: impl Fn(&Value) -> bool) -> bool {
    loop {
        if check(&node.health().await) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids(prefix: &str, range: std::ops::Range<usize>) -> impl Iterator<Item = String> + '_ {
    range.map(move |n| format!("{prefix}{n}"))
}

fn offsets(places: &[At]) -> Vec<u64> {
    places.iter().map(|p| p.offset).collect()
}

fn payload_ids(places: &[At]) -> Vec<String> {
    places.iter().map(|p| p.id.clone()).collect()
}

#[tokio::test]
async fn subscribers_on_every_node_get_every_publication_once_in_one_order() {
    let redis = Redis::start(Persistence::None);
    let a = redis.node(None);
    let b = redis.node(Some(&a));
    let account = "acc-x";
    let mut ext_subs = Vec::new();
    let mut v1_subs = Vec::new();
    for node in [&a, &b] {
        for _ in 0..2 {
            ext_subs.push(ext_subscriber(node, account, "").await.0);
        }
        v1_subs.push(v1_subscriber(node, account).await);
    }
    assert_eq!(redis.numsub(&format!("notifications:{account}")), 2, "each node subscribes once, whatever its local subscribers");
    // Both nodes publish at the same time.
    let (from_a, from_b) = tokio::join!(publish_each(&a, account, ids("a", 0..40)), publish_each(&b, account, ids("b", 0..40)));
    let mut all: Vec<u64> = from_a.iter().chain(&from_b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=80).collect::<Vec<_>>(), "one offset per publication");
    let mut seen: Vec<Vec<String>> = Vec::new();
    for c in &mut ext_subs {
        let got = ext::next_places(c, 80).await;
        assert_eq!(offsets(&got), (1..=80).collect::<Vec<_>>(), "once each, in offset order");
        seen.push(payload_ids(&got));
    }
    for c in &mut v1_subs {
        seen.push(ext::next_ids(c, &notifications(account), 80).await);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "every subscriber on every node sees one order");
    for c in ext_subs.iter_mut().chain(v1_subs.iter_mut()) {
        assert!(c.round_trip().await.iter().all(|f| ext::at(f).is_none() && f.get("message").is_none()), "and nothing more");
    }
}

#[tokio::test]
async fn two_nodes_publishing_a_thousand_each_get_consecutive_offsets() {
    let redis = Redis::start(Persistence::None);
    let a = redis.node(None);
    let b = redis.node(Some(&a));
    let account = "acc-c";
    let (mut on_a, _) = ext_subscriber(&a, account, "").await;
    let (mut on_b, _) = ext_subscriber(&b, account, "").await;
    let (from_a, from_b) = tokio::join!(publish_each(&a, account, ids("a", 0..1000)), publish_each(&b, account, ids("b", 0..1000)));
    assert!(from_a.windows(2).all(|w| w[0] < w[1]) && from_b.windows(2).all(|w| w[0] < w[1]), "each node's publications keep their order");
    let mut all: Vec<u64> = from_a.into_iter().chain(from_b).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=2000).collect::<Vec<_>>(), "no duplicate and no skipped offset");
    let got_a = ext::next_places(&mut on_a, 2000).await;
    let got_b = ext::next_places(&mut on_b, 2000).await;
    assert_eq!(offsets(&got_a), (1..=2000).collect::<Vec<_>>());
    assert_eq!(got_a, got_b, "both nodes deliver one order");
}

#[tokio::test]
async fn a_client_resumes_on_another_node_and_after_every_node_restarted() {
    let redis = Redis::start(Persistence::None);
    let a = redis.node(None);
    let b = redis.node(Some(&a));
    let account = "acc-r";
    let id = notifications(account);
    let (mut c, welcome) = ext_subscriber(&a, account, "").await;
    let sid = welcome["sid"].as_str().expect("a sid").to_owned();
    publish_each(&b, account, ids("n", 0..3)).await;
    let last = ext::next_places(&mut c, 3).await.pop().expect("three");
    c.close().await;
    // The session is kept in Redis once A has seen the close.
    a.wait_for_log("the disconnect", |l| l.contains("disconnected").then_some(())).await;
    publish_each(&b, account, ids("n", 3..8)).await;

    // On B, by history alone.
    let frames = resume(&b, account, ext::from(&last)).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    assert_eq!(payload_ids(&ext::places(&frames)), ids("n", 3..8).collect::<Vec<_>>(), "exactly the missed ones");

    // On B, by ?sid=: the subscription comes back, the client asks for what it missed.
    let token = b.token(&format!("u-{account}"), account, &[]);
    let (mut resumed, welcome) = ext::connect(&format!("{}&sid={sid}", b.cable_url(Some(&token)))).await;
    assert_eq!(welcome["restored"], true, "{welcome}");
    assert_eq!(welcome["restored_ids"], json!([id]));
    let frames = ext::history(&mut resumed, &id, ext::from(&last)).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    assert_eq!(payload_ids(&ext::places(&frames)), ids("n", 3..8).collect::<Vec<_>>());
    publish_each(&a, account, ids("n", 8..9)).await;
    let live = ext::next_places(&mut resumed, 1).await;
    assert_eq!((live[0].id.as_str(), live[0].offset), ("n8", 9), "and goes on live");
    let last = live[0].clone();
    let sid = welcome["sid"].as_str().expect("a new sid").to_owned();
    resumed.close().await;
    b.wait_for_log("the disconnect", |l| l.contains("disconnected").then_some(())).await;

    // Every node restarts; history and the kept session are in Redis.
    let keys = (a.secret.clone(), a.publisher_key.clone());
    drop(a);
    drop(b);
    let opts = || Options::default().env("CABLEWAY_JWT_SECRET", &keys.0).env("CABLEWAY_PUBLISHER_KEY", &keys.1);
    let a2 = redis.node_with(None, opts());
    let b2 = redis.node_with(None, opts());
    publish_each(&b2, account, ids("n", 9..12)).await;
    let token = a2.token(&format!("u-{account}"), account, &[]);
    let (mut after, welcome) = ext::connect(&format!("{}&sid={sid}", a2.cable_url(Some(&token)))).await;
    assert_eq!(welcome["restored"], true, "the session survived the restart: {welcome}");
    let frames = ext::history(&mut after, &id, ext::from(&last)).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history");
    assert_eq!(payload_ids(&ext::places(&frames)), ids("n", 9..12).collect::<Vec<_>>());
    assert_eq!(offsets(&ext::places(&frames)), [10, 11, 12], "offsets go on in the same epoch");
    assert!(ext::places(&frames).iter().all(|p| p.epoch == last.epoch));
}

#[tokio::test]
async fn a_redis_restart_without_persistence_is_an_outage_then_a_new_epoch() {
    let mut redis = Redis::start(Persistence::None);
    let a = redis.node(None);
    let b = redis.node(Some(&a));
    let impatient = redis.node_with(Some(&a), Options::default().env("CABLEWAY_REDIS_SUBSCRIBE_WAIT_MS", "1000"));
    let account = "acc-o";
    let (mut c, _) = ext_subscriber(&a, account, "").await;
    publish_each(&b, account, ids("n", 0..2)).await;
    let last = ext::next_places(&mut c, 2).await.pop().expect("two");
    a.wait_ready(200, Duration::from_secs(10)).await;

    redis.stop();
    let (status, body) = b.publish(&notification(account, "lost")).await;
    assert_eq!(status, 503, "never 2xx for what was not published: {body}");
    assert_eq!(body["error"], "unavailable", "{body}");
    a.wait_ready(503, Duration::from_secs(10)).await;
    b.wait_ready(503, Duration::from_secs(10)).await;
    let health = a.health().await;
    assert_eq!((health["status"].as_str(), health["engine"].as_str(), health["redis"]["pubsub"].as_str()), (Some("ok"), Some("redis"), Some("down")), "{health}");
    assert!(c.round_trip().await.is_empty(), "connected clients stay connected");
    // A subscribe that needs Redis waits for it (official clients never retry a rejected
    // subscription), and is refused with a reason once `subscribe_wait_ms` has passed.
    let other = notifications("acc-o2");
    let mut d = a.user("u-acc-o2", "acc-o2").await;
    d.send_subscribe(&other).await;
    let early = d.round_trip().await;
    assert!(early.is_empty(), "no answer while Redis is away: {early:?}");
    assert!(health_until(&a, tokio::time::Instant::now() + Duration::from_secs(5), |h| h["redis"]["subscribes_waiting"] == 1).await, "{}", a.health().await);
    let mut e = impatient.user("u-acc-o2", "acc-o2").await;
    let answer = e.subscribe(&other).await;
    assert_eq!((answer["type"].as_str(), answer["reason"].as_str()), (Some("reject_subscription"), Some("unavailable")), "{answer}");

    redis.restart();
    let restarted = tokio::time::Instant::now();
    a.wait_ready(200, Duration::from_secs(5)).await;
    b.wait_ready(200, Duration::from_secs(5)).await;
    // Within 5 s of Redis coming back, both nodes have their pub/sub connection again.
    for node in [&a, &b] {
        let up = health_until(node, restarted + Duration::from_secs(5), |h| h["redis"]["pubsub"] == "up").await;
        assert!(up, "pub/sub not up again 5 s after the restart: {}", node.health().await);
    }
    eprintln!("Redis restarted: both nodes ready and subscribed after {:?}", restarted.elapsed());
    assert!(a.health().await["redis"]["resubscribes"].as_u64() >= Some(1));
    let confirmed = d.recv_within(Duration::from_secs(5)).await.expect("the waiting subscribe is answered once Redis is back");
    assert_eq!((confirmed["type"].as_str(), confirmed["identifier"].as_str()), (Some("confirm_subscription"), Some(other.as_str())), "{confirmed}");
    assert_eq!(a.health().await["redis"]["subscribes_waiting"], 0);
    let (status, body) = b.publish(&notification("acc-o2", "to-the-waiter")).await;
    assert_eq!(status, 200, "{body}");
    let hello = d.message(&other).await.expect("the channel's on-subscribe message");
    assert_eq!(hello["event"], "connection_established", "{hello}");
    let got = d.message(&other).await.expect("the subscriber that waited gets live events");
    assert_eq!(got["payload"]["id"], "to-the-waiter", "{got}");
    let (status, body) = b.publish(&notification(account, "after")).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["positions"][0]["epoch"].as_str(), Some(last.epoch.as_str()), "Redis lost the stream: a new epoch");
    // The subscriber that was connected across it cannot go on in order: it is told to resume.
    let bye = loop {
        let f = c.recv().await.expect("a disconnect");
        assert!(ext::at(&f).is_none(), "nothing of the new epoch reaches it silently: {f}");
        if f["type"] == "disconnect" {
            break f;
        }
    };
    assert_eq!(bye, json!({ "type": "disconnect", "reason": "insufficient_state", "reconnect": true }));
    // Resuming from before the restart: reject_history, never a silent gap.
    let frames = resume(&a, account, ext::from(&last)).await;
    assert_eq!(frames.last().unwrap()["type"], "reject_history", "{frames:?}");
    assert!(ext::places(&frames).is_empty());
}

#[tokio::test]
async fn a_cut_pubsub_connection_resubscribes_and_misses_nothing() {
    let redis = Redis::start(Persistence::None);
    let a = redis.node(None);
    let b = redis.node(Some(&a));
    let account = "acc-k";
    let (mut c, _) = ext_subscriber(&a, account, "").await;
    let mut v1 = v1_subscriber(&a, account).await;
    let before = a.health().await["redis"]["resubscribes"].as_u64().unwrap_or(0);
    let (cut, mut cut_at) = tokio::sync::watch::channel(None::<tokio::time::Instant>);
    let publishing = async {
        let mut n = 0;
        for round in 0..6 {
            publish_each(&b, account, ids("n", n..n + 20)).await;
            n += 20;
            if round == 2 {
                let killed = redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
                assert_ne!(killed, "0", "pub/sub connections were cut");
                cut.send_replace(Some(tokio::time::Instant::now()));
            }
        }
    };
    // Meanwhile: A is subscribed again within 2 s of the cut (a bound, not a sleep).
    let resubscribing = async {
        let at = *cut_at.wait_for(Option::is_some).await.expect("the cut happens");
        let at = at.expect("an instant");
        let again = health_until(&a, at + Duration::from_secs(2), |h| h["redis"]["resubscribes"].as_u64() > Some(before) && h["redis"]["pubsub"] == "up").await;
        assert!(again, "A not subscribed again within 2 s of the cut: {}", a.health().await["redis"]);
        eprintln!("pub/sub cut: A subscribed again after {:?}", at.elapsed());
    };
    tokio::join!(publishing, resubscribing);
    let got = ext::next_places(&mut c, 120).await;
    assert_eq!(offsets(&got), (1..=120).collect::<Vec<_>>(), "nothing lost, nothing twice, in order");
    assert_eq!(ext::next_ids(&mut v1, &notifications(account), 120).await, ids("n", 0..120).collect::<Vec<_>>());
    let health = a.health().await;
    eprintln!("after the cut: {}", health["redis"]);
    assert!(health["redis"]["resubscribes"].as_u64() > Some(before), "{health}");
    assert_eq!(health["redis"]["pubsub"], "up");
}

#[tokio::test]
async fn subscription_churn_leaves_no_channel_subscribed_without_local_subscribers() {
    let redis = Redis::start(Persistence::None);
    // 2,000 commands per connection: above the default per-connection command rate.
    let unlimited = || Options::default().env("CABLEWAY_COMMANDS_PER_SECOND", "100000").env("CABLEWAY_COMMAND_BURST", "100000");
    let a = redis.node_with(None, unlimited());
    let b = redis.node_with(Some(&a), unlimited());
    let mut keep = v1_subscriber(&a, "acc-keep").await;
    let churn = |node: &Server, n: usize| {
        let url = node.cable_url(Some(&node.token("u-churn", "acc-churn", &["admin.access"])));
        async move {
            let mut c = Client::connect_welcomed(&url).await;
            for i in 0..n {
                let id = cableway_tests::client::identifier("AiConversationChannel", &json!({ "conversation_id": format!("c{}", i % 10) }));
                let answer = c.subscribe(&id).await;
                assert_eq!(answer["type"], "confirm_subscription", "{answer}");
                c.send(&json!({ "command": "unsubscribe", "identifier": id })).await;
            }
            c.round_trip().await;
            c
        }
    };
    // Conversations c0..c9 must be owned for the churning account to subscribe.
    for i in 0..10 {
        a.own("ai_conversation", &format!("c{i}"), "acc-churn").await;
    }
    // `keep` is read meanwhile, so that it answers the server's WebSocket pings: a client
    // silent for longer than the liveness window is dropped as unresponsive.
    let (ca, cb) = tokio::select! {
        both = async { tokio::join!(churn(&a, 1000), churn(&b, 1000)) } => both,
        _ = async { loop { keep.recv_within(Duration::from_millis(500)).await; } } => unreachable!(),
    };
    let streams: Vec<String> = (0..10).map(|i| format!("ai_conversation:c{i}")).collect();
    let settled = cableway_tests::wait::poll_async(Duration::from_secs(10), || streams.iter().all(|s| redis.numsub(s) == 0).then_some(())).await;
    assert!(settled.is_some(), "channels still subscribed: {:?}", streams.iter().map(|s| (s, redis.numsub(s))).collect::<Vec<_>>());
    assert_eq!(redis.numsub("notifications:acc-keep"), 1, "a stream with a local subscriber stays subscribed");
    for node in [&a, &b] {
        assert_eq!(node.health().await["redis"]["streams_subscribed"], if std::ptr::eq(node, &a) { 1 } else { 0 });
    }
    drop((ca, cb, keep));
}

/// Writes publication `offset` of `stream` into Redis the way the publish script does, but
/// without PUBLISH (as if pub/sub had lost it), or without the history entry either.
fn publish_behind_pubsub(redis: &Redis, stream: &str, id: &str, with_history: bool) -> u64 {
    let meta = format!("cableway:{{{stream}}}:meta");
    let log = format!("cableway:{{{stream}}}:log");
    let offset: u64 = redis.cli(&["HINCRBY", &meta, "s", "1"]).parse().expect("an offset");
    if with_history {
        let message = json!({ "event": "new_notification", "payload": { "id": id } }).to_string();
        redis.cli(&["XADD", &log, "MAXLEN", "100", &offset.to_string(), "d", &message, "t", &unix_now().to_string(), "n", "elsewhere", "x", ""]);
    }
    offset
}

#[tokio::test]
async fn publications_pubsub_lost_are_filled_from_the_history_or_end_in_a_resume() {
    let redis = Redis::start(Persistence::None);
    let a = redis.node_with(None, Options::default().env("CABLEWAY_REDIS_POSITION_CHECK_INTERVAL_MS", "200"));
    let account = "acc-g";
    let stream = format!("notifications:{account}");
    let (mut c, _) = ext_subscriber(&a, account, "").await;
    publish_each(&a, account, ids("n", 0..1)).await;
    assert_eq!(offsets(&ext::next_places(&mut c, 1).await), [1]);

    // The position check: a publication that never came over pub/sub is still delivered.
    assert_eq!(publish_behind_pubsub(&redis, &stream, "quiet", true), 2);
    let got = ext::next_places(&mut c, 1).await;
    assert_eq!((got[0].id.as_str(), got[0].offset), ("quiet", 2));

    // The gap filler: the next publication over pub/sub shows the gap; it is filled first.
    assert_eq!(publish_behind_pubsub(&redis, &stream, "lost", true), 3);
    assert_eq!(publish_each(&a, account, ids("n", 1..2)).await, [4]);
    let got = ext::next_places(&mut c, 2).await;
    assert_eq!(payload_ids(&got), ["lost", "n1"]);
    assert_eq!(offsets(&got), [3, 4]);

    // A gap the history no longer holds: the subscriber is told to resume, and gets nothing
    // from after the gap.
    assert_eq!(publish_behind_pubsub(&redis, &stream, "gone", false), 5);
    assert_eq!(publish_each(&a, account, ids("n", 2..3)).await, [6]);
    let f = c.recv().await.expect("a disconnect");
    assert_eq!(f, json!({ "type": "disconnect", "reason": "insufficient_state", "reconnect": true }));
    let health = a.health().await;
    let redis_health = &health["redis"];
    assert!(redis_health["gaps_detected"].as_u64() >= Some(2) && redis_health["gaps_filled"].as_u64() >= Some(2), "{health}");
    assert_eq!(redis_health["gaps_unfilled"], 1, "{health}");
    // Resuming from before the gap is refused whole (offset 5 is not in the history).
    let frames = resume(&a, account, ext::from(&At { offset: 4, ..got[1].clone() })).await;
    assert_eq!(frames.last().unwrap()["type"], "reject_history", "{frames:?}");
    // From after it, it goes on.
    let frames = resume(&a, account, ext::from(&At { offset: 5, ..got[1].clone() })).await;
    assert_eq!(frames.last().unwrap()["type"], "confirm_history", "{frames:?}");
    assert_eq!(offsets(&ext::places(&frames)), [6]);
}

#[tokio::test]
async fn nodes_reach_redis_over_tls_with_the_ca_they_are_given() {
    let redis = Redis::start_tls();
    let ca = redis.ca_file().display().to_string();
    let a = redis.node_with(None, Options::default().env("CABLEWAY_REDIS_TLS_CA_FILE", &ca));
    let b = redis.node_with(Some(&a), Options::default().env("CABLEWAY_REDIS_TLS_CA_FILE", &ca));
    let account = "acc-t";
    let (mut c, _) = ext_subscriber(&a, account, "").await;
    assert_eq!(publish_each(&b, account, ids("n", 0..3)).await, [1, 2, 3]);
    assert_eq!(payload_ids(&ext::next_places(&mut c, 3).await), ids("n", 0..3).collect::<Vec<_>>());
    // Without the CA the certificate is not trusted: the node runs, but is never ready.
    let untrusting = redis.node_with(Some(&a), Options::default());
    let (status, body) = untrusting.publish(&notification(account, "x")).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")), "{body}");
    assert_eq!(untrusting.ready().await.0, 503);
}
