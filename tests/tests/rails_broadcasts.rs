//! Stream-addressed broadcasts against the real binary: AnyCable's `POST /_broadcast`; Rails'
//! own `ActionCable.server.broadcast` over its Redis adapter (Debian's ruby-actioncable,
//! tests/ruby/broadcast.rb) on three nodes, each broadcast ingested once (one offset, one
//! history entry, one delivery per subscriber), also after the ingesting node is killed or
//! drains; AnyCable's `__anycable__` Redis channel; the official `@rails/actioncable` client
//! receiving a Rails broadcast. Refused broadcasts are not delivered, logged once per stream
//! template and reason, and counted.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use cableway_tests::client::Client;
use cableway_tests::ext::{self, At};
use cableway_tests::fixtures::{notification_payload, notifications, unix_now};
use cableway_tests::redis::{Persistence, Redis};
use cableway_tests::server::{Options, Server};
use cableway_tests::repo_root;
use serde_json::{json, Value};

const PREFIX: &str = "app_test";
const TEMPLATE: &str = "notifications:{params.account_id}";

/// A Rails message: `{event: "new_notification", payload: ...}` of `account` with `id`.
fn rails_notification(account: &str, id: &str) -> Value {
    json!({ "event": "new_notification", "payload": notification_payload(account, id), "resource_type": "notification", "resource_id": id })
}

/// Runs tests/ruby/broadcast.rb: `ActionCable.server.broadcast(stream, message)` for each.
fn rails_broadcast(redis: &Redis, broadcasts: &[(String, Value)]) {
    rails_broadcast_every(&redis.url(), broadcasts, 0);
}

/// [`rails_broadcast`] to the Redis at `url`, pausing `interval_ms` after each.
fn rails_broadcast_every(url: &str, broadcasts: &[(String, Value)], interval_ms: u64) {
    let mut child = Command::new("ruby")
        .arg(repo_root().join("tests/ruby/broadcast.rb"))
        .env("REDIS_URL", url)
        .env("CHANNEL_PREFIX", PREFIX)
        .env("INTERVAL_MS", interval_ms.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ruby is needed for the Rails test (tests/run.sh installs ruby-actioncable)");
    let mut input = String::new();
    for (stream, message) in broadcasts {
        input.push_str(&json!([stream, message]).to_string());
        input.push('\n');
    }
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to ruby");
    let out = child.wait_with_output().expect("ruby ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.trim() == format!("broadcast {}", broadcasts.len()), "ruby: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// A node that takes Rails' and AnyCable's broadcasts from `redis`.
fn rails_node(redis: &Redis, keys_of: Option<&Server>) -> Server {
    redis.node_with(keys_of, Options::default().env("CABLEWAY_RAILS_BROADCASTS", "on").env("CABLEWAY_RAILS_CHANNEL_PREFIX", PREFIX).env("CABLEWAY_LOG", "info"))
}

/// Its ingest state in `/health`.
async fn ingest(node: &Server) -> Value {
    node.health().await["redis"]["ingest"].clone()
}

/// Waits until every node's ingest connection is up and exactly one of them ingests first.
async fn ingest_ready(nodes: &[&Server]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut states = Vec::new();
        for n in nodes {
            states.push(ingest(n).await);
        }
        let up = states.iter().all(|s| s["connection"] == "up");
        let primaries = states.iter().filter(|s| s["role"] == "primary").count();
        if up && primaries == 1 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "ingest never became ready: {states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sums one ingest counter over `nodes`.
async fn total(nodes: &[&Server], counter: &str) -> u64 {
    let mut sum = 0;
    for n in nodes {
        sum += ingest(n).await[counter].as_u64().unwrap_or(0);
    }
    sum
}

/// An ext subscriber of `account`'s notifications on `node`, its history confirmed empty.
async fn ext_subscriber(node: &Server, account: &str) -> Client {
    let token = node.token(&format!("u-{account}"), account, &[]);
    let (mut c, _) = ext::connect(&node.cable_url(Some(&token))).await;
    let frames = ext::subscribe_with_history(&mut c, &notifications(account), json!({ "since": unix_now() })).await;
    assert_eq!(frames.last().map(|f| f["type"].clone()), Some(json!("confirm_history")), "{frames:?}");
    c
}

fn offsets(places: &[At]) -> Vec<u64> {
    places.iter().map(|p| p.offset).collect()
}

fn ids(places: &[At]) -> Vec<String> {
    places.iter().map(|p| p.id.clone()).collect()
}

/// The refusal lines of `node`'s log that name `reason`.
fn refusal_lines(node: &Server, reason: &str) -> usize {
    node.plain_logs().lines().filter(|l| l.contains("stream broadcast refused") && l.contains(&format!("reason=\"{reason}\""))).count()
}

/// The value of `cableway_stream_broadcasts_total` with these labels in an exposition (0 if absent).
fn broadcasts_counted(exposition: &str, source: &str, template: &str, outcome: &str) -> u64 {
    let want = [format!("source=\"{source}\""), format!("template=\"{template}\""), format!("outcome=\"{outcome}\"")];
    exposition
        .lines()
        .filter(|l| l.starts_with("cableway_stream_broadcasts_total{") && want.iter().all(|w| l.contains(w.as_str())))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn anycable_post(s: &Server, body: &Value, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("{}/_broadcast", s.http())).json(body);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.expect("POST /_broadcast");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// AnyCable's item: the message JSON-encoded into `data`.
fn anycable_item(stream: &str, message: &Value) -> Value {
    json!({ "stream": stream, "data": message.to_string() })
}

#[tokio::test]
async fn anycable_http_broadcasts_are_matched_validated_logged_and_counted() {
    let s = Server::start_with(Options::default().arg("--metrics-bind").arg("127.0.0.1:0"));
    let account = "acc-h";
    let stream = format!("notifications:{account}");
    let id = notifications(account);
    let mut c = s.user("u-h", account).await;
    c.joined(&id).await;
    let key = Some(s.publisher_key.as_str());

    // One item, as anycable-rails' HTTP broadcaster sends it (Authorization: Bearer <key>).
    let (status, body) = anycable_post(&s, &anycable_item(&stream, &rails_notification(account, "h1")), key).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["published"].clone(), body["streams"].clone()), (json!(1), json!([stream])), "{body}");
    let got = c.message(&id).await.expect("delivered");
    assert_eq!((got["event"].clone(), got["payload"]["id"].clone(), got["resource_type"].clone()), (json!("new_notification"), json!("h1"), json!("notification")), "{got}");

    // A batch, with anycable's `meta`; delivered in order.
    let mut second = anycable_item(&stream, &rails_notification(account, "h2"));
    second["meta"] = json!({ "exclude_socket": "abc" });
    let (status, body) = anycable_post(&s, &json!([second, anycable_item(&stream, &rails_notification(account, "h3"))]), key).await;
    assert_eq!((status, body["published"].clone()), (201, json!(2)), "{body}");
    for want in ["h2", "h3"] {
        assert_eq!(c.message(&id).await.expect("delivered")["payload"]["id"], want);
    }

    // Refused, each with its reason; nothing of a refused batch is delivered.
    let (status, _) = anycable_post(&s, &anycable_item(&stream, &rails_notification(account, "x")), None).await;
    assert_eq!(status, 401, "the publisher key is required");
    let (status, body) = anycable_post(&s, &anycable_item("nowhere:1", &rails_notification(account, "x")), key).await;
    assert_eq!((status, body["error"].clone()), (404, json!("unknown_stream")), "{body}");
    let (status, body) = anycable_post(&s, &anycable_item(&stream, &json!({ "event": "no.such", "payload": {} })), key).await;
    assert_eq!((status, body["error"].clone()), (404, json!("unknown_event")), "{body}");
    let (status, body) = anycable_post(&s, &anycable_item("notifications:acc-other", &rails_notification(account, "x")), key).await;
    assert_eq!((status, body["error"].clone()), (422, json!("stream_mismatch")), "a payload of acc-h cannot reach acc-other: {body}");
    let mut invalid = rails_notification(account, "x");
    invalid["payload"].as_object_mut().expect("object").remove("title");
    for _ in 0..3 {
        let batch = json!([anycable_item(&stream, &rails_notification(account, "never")), anycable_item(&stream, &invalid)]);
        let (status, body) = anycable_post(&s, &batch, key).await;
        assert_eq!((status, body["error"].clone()), (422, json!("invalid_payload")), "{body}");
        assert!(body["errors"].as_array().expect("errors").iter().any(|v| v["path"] == "/1/data/payload/title"), "{body}");
    }
    let (status, body) = anycable_post(&s, &json!({ "stream": stream, "data": { "event": "x" } }), key).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_request")), "data must be JSON text: {body}");
    assert!(c.round_trip().await.iter().all(|f| f.get("message").is_none()), "nothing refused was delivered");

    // Logged once per template and reason (three invalid payloads, one line), and counted.
    assert_eq!(refusal_lines(&s, "invalid_payload"), 1, "{}", s.plain_logs());
    assert_eq!(refusal_lines(&s, "unknown_stream"), 1);
    let line = s.plain_logs().lines().find(|l| l.contains("reason=\"invalid_payload\"")).expect("the line").to_owned();
    assert!(line.contains(TEMPLATE) && line.contains("/payload/title") && !line.contains("never"), "names the template and the violation, not values: {line}");
    let text = s.scrape().await;
    assert_eq!(broadcasts_counted(&text, "anycable_http", TEMPLATE, "delivered"), 3, "{text}");
    assert_eq!(broadcasts_counted(&text, "anycable_http", TEMPLATE, "invalid_payload"), 3);
    assert_eq!(broadcasts_counted(&text, "anycable_http", TEMPLATE, "stream_mismatch"), 1);
    assert_eq!(broadcasts_counted(&text, "anycable_http", "unmatched", "unknown_stream"), 1);
}

#[tokio::test]
async fn rails_broadcasts_are_ingested_once_by_three_nodes_also_when_the_ingesting_node_dies_or_drains() {
    let redis = Redis::start(Persistence::None);
    let a = rails_node(&redis, None);
    let b = rails_node(&redis, Some(&a));
    let c = rails_node(&redis, Some(&a));
    ingest_ready(&[&a, &b, &c]).await;
    let account = "acc-rails";
    let stream = format!("notifications:{account}");
    let mut subs: Vec<(usize, Client)> = Vec::new();
    for (i, node) in [&a, &b, &c].into_iter().enumerate() {
        for _ in 0..2 {
            subs.push((i, ext_subscriber(node, account).await));
        }
    }

    // Rails' library broadcasts 30 valid ones, a refused one and one to an undeclared stream.
    let mut invalid = rails_notification(account, "bad");
    invalid["payload"]["severity"] = json!("catastrophic");
    let mut batch: Vec<(String, Value)> = (0..15).map(|n| (stream.clone(), rails_notification(account, &format!("r{n}")))).collect();
    batch.push((stream.clone(), invalid.clone()));
    batch.push(("undeclared:stream".to_owned(), rails_notification(account, "lost")));
    batch.extend((15..30).map(|n| (stream.clone(), rails_notification(account, &format!("r{n}")))));
    rails_broadcast(&redis, &batch);
    let want: Vec<String> = (0..30).map(|n| format!("r{n}")).collect();
    for (_, s) in &mut subs {
        let got = ext::next_places(s, 30).await;
        assert_eq!(offsets(&got), (1..=30).collect::<Vec<_>>(), "one offset each, in order");
        assert_eq!(ids(&got), want, "in the order Rails broadcast them");
    }
    let nodes = [&a, &b, &c];
    // Every node settles each of the 32: it published or refused it, or found it claimed.
    let settled = async {
        loop {
            let mut sum = 0;
            for counter in ["ingested", "refused", "claimed_elsewhere"] {
                sum += total(&nodes, counter).await;
            }
            if sum >= 3 * 32 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), settled).await.expect("every node settled every broadcast");
    assert_eq!(total(&nodes, "ingested").await, 30, "published once across the cluster");
    assert_eq!(total(&nodes, "refused").await, 2, "refused once across the cluster");
    assert_eq!(redis.cli(&["XLEN", &format!("cableway:{{{stream}}}:log")]), "30", "one history entry each");
    for (_, s) in &mut subs {
        assert!(s.round_trip().await.iter().all(|f| ext::at(f).is_none()), "and nothing more");
    }
    let lines = |reason: &str| nodes.iter().map(|n| refusal_lines(n, reason)).sum::<usize>();
    assert_eq!((lines("invalid_payload"), lines("unknown_stream")), (1, 1), "each refusal logged once, by one node");

    // AnyCable's Redis channel: one item and a batch, also once.
    redis.cli(&["PUBLISH", "__anycable__", &anycable_item(&stream, &rails_notification(account, "q0")).to_string()]);
    let pair = json!([anycable_item(&stream, &rails_notification(account, "q1")), anycable_item(&stream, &rails_notification(account, "q2"))]);
    redis.cli(&["PUBLISH", "__anycable__", &pair.to_string()]);
    for (_, s) in &mut subs {
        let got = ext::next_places(s, 3).await;
        assert_eq!((offsets(&got), ids(&got)), ((31..=33).collect::<Vec<_>>(), vec!["q0".to_owned(), "q1".into(), "q2".into()]));
    }

    // The ingesting node crashes (SIGKILL); the others publish what it had not.
    let mut order = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if ingest(n).await["role"] == "primary" {
            order.insert(0, i);
        } else {
            order.push(i);
        }
    }
    let (dead, next, last) = (order[0], order[1], order[2]);
    // Rails broadcasts 20, 20 ms apart; the node is killed once its subscribers got 5.
    let batch: Vec<(String, Value)> = (30..50).map(|n| (stream.clone(), rails_notification(account, &format!("r{n}")))).collect();
    let survivors_ingested = async || ingest(nodes[next]).await["ingested"].as_u64().unwrap_or(0) + ingest(nodes[last]).await["ingested"].as_u64().unwrap_or(0);
    let before = survivors_ingested().await;
    let url = redis.url();
    let rails = std::thread::spawn(move || rails_broadcast_every(&url, &batch, 20));
    let (_, on_dead) = subs.iter_mut().find(|(i, _)| *i == dead).expect("a subscriber there");
    assert_eq!(offsets(&ext::next_places(on_dead, 5).await), (34..=38).collect::<Vec<_>>());
    let _ = Command::new("kill").arg("-KILL").arg(nodes[dead].pid().expect("running").to_string()).status();
    let took_over = !rails.is_finished();
    rails.join().expect("ruby");
    subs.retain(|(i, _)| *i != dead);
    let want: Vec<String> = (30..50).map(|n| format!("r{n}")).collect();
    for (_, s) in &mut subs {
        let got = ext::next_places(s, 20).await;
        assert_eq!((offsets(&got), ids(&got)), ((34..=53).collect::<Vec<_>>(), want.clone()), "nothing lost, nothing twice after the crash");
    }
    let after = survivors_ingested().await;
    if took_over {
        assert!(after > before, "the survivors ingested what the dead node never saw");
    }
    eprintln!("crash: the survivors ingested {} of the 20 (killed before Rails was done: {took_over})", after - before);
    let survivors = [nodes[next], nodes[last]];
    ingest_ready(&survivors).await;

    // The new ingesting node drains (SIGTERM) while Rails broadcasts, 50 ms apart: it hands over.
    let primary = if ingest(nodes[next]).await["role"] == "primary" { next } else { last };
    let remaining = if primary == next { last } else { next };
    let before = ingest(nodes[remaining]).await["ingested"].as_u64().expect("a count");
    let batch: Vec<(String, Value)> = (50..70).map(|n| (stream.clone(), rails_notification(account, &format!("r{n}")))).collect();
    let url = redis.url();
    let rails = std::thread::spawn(move || rails_broadcast_every(&url, &batch, 50));
    let (_, on_primary) = subs.iter_mut().find(|(i, _)| *i == primary).expect("a subscriber there");
    assert_eq!(offsets(&ext::next_places(on_primary, 5).await), (54..=58).collect::<Vec<_>>());
    let pid = nodes[primary].pid().expect("running");
    nodes[primary].sigterm();
    // Its clients go away (as browsers told `server_restart` do), so its drain ends soon.
    subs.retain(|(i, _)| *i != primary);
    let gone = cableway_tests::wait::poll_async(Duration::from_secs(40), || exited(pid).then_some(())).await;
    assert!(gone.is_some(), "the drained node exits");
    // When it was gone before Rails was done, what came after is the other node's.
    let handed_over = !rails.is_finished();
    rails.join().expect("ruby");
    let want: Vec<String> = (50..70).map(|n| format!("r{n}")).collect();
    for (_, s) in &mut subs {
        let got = ext::next_places(s, 20).await;
        assert_eq!((offsets(&got), ids(&got)), ((54..=73).collect::<Vec<_>>(), want.clone()), "nothing lost, nothing twice across the drain");
        assert!(s.round_trip().await.iter().all(|f| ext::at(f).is_none()));
    }
    assert_eq!(redis.cli(&["XLEN", &format!("cableway:{{{stream}}}:log")]), "73");
    let after = ingest(nodes[remaining]).await["ingested"].as_u64().expect("a count");
    if handed_over {
        assert!(after > before, "the remaining node ingested what came after the drain ({before} → {after})");
    }
    eprintln!("drain: the remaining node ingested {} of the 20 (exited before Rails was done: {handed_over})", after - before);
}

/// Whether process `pid` has exited (gone, or a zombie its parent has not reaped yet).
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
}

#[test]
fn the_official_rails_client_receives_what_rails_broadcasts() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let node_dir = repo_root().join("tests/node");
    if !node_dir.join("node_modules/@rails/actioncable/package.json").exists() {
        let status = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&node_dir).status().expect("npm (tests/run.sh installs it)");
        assert!(status.success(), "npm ci in tests/node failed");
    }
    let redis = Redis::start(Persistence::None);
    let server = Server::start_with(Options::default().env("CABLEWAY_REDIS_URL", &redis.url()).env("CABLEWAY_RAILS_BROADCASTS", "on").env("CABLEWAY_RAILS_CHANNEL_PREFIX", PREFIX).arg("--metrics-bind").arg("127.0.0.1:0"));
    let account = "acc-rb";
    rt.block_on(async {
        server.own("workflow_run", "42", account).await;
        ingest_ready(&[&server]).await;
    });
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "rails_broadcast.test.mjs"])
        .current_dir(&node_dir)
        .env("CABLE_URL", server.cable_url(None))
        .env("TOKEN", server.token("u-rb", account, &[]))
        .env("RUN_ID", "42")
        .env("REDIS_URL", redis.url())
        .env("CHANNEL_PREFIX", PREFIX)
        .output()
        .expect("node is needed for the node tests (tests/run.sh installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("pass 1") && text.contains("fail 0"), "{text}\nserver log:\n{}", server.logs());
    let template = "ai_orchestration:workflow_run:{params.id}";
    let logs = server.plain_logs();
    let line = logs.lines().find(|l| l.contains("stream broadcast refused")).unwrap_or_else(|| panic!("the refusal is logged:\n{logs}"));
    assert!(line.contains("source=\"rails\"") && line.contains(template) && line.contains("/payload/workflow_id"), "{line}");
    let text = rt.block_on(server.scrape());
    assert_eq!(broadcasts_counted(&text, "rails", template, "delivered"), 1, "{text}");
    assert_eq!(broadcasts_counted(&text, "rails", template, "invalid_payload"), 1, "{text}");
}
