//! Behaviour that depends on time, under tokio's paused clock with the server in process
//! (`cableway_tests::in_process`): the ping period, `token_expired` at the token's `exp`, the
//! per-connection command rate limit (a burst, then a refill at its rate), and the window
//! over which protocol errors are counted.
//!
//! The clock moves only when every task waits, or when a test advances it, so the figures
//! asserted here are exact and do not depend on how busy the machine is; none of these
//! tests waits in wall time.

use std::time::Duration;

use cableway_tests::fixtures::{join_conversation, notifications, unix_now};
use cableway_tests::in_process::{InProcess, MemoryClient, Settings};
use cableway_tests::server::claims;
use serde_json::{json, Value};
use tokio::time::{advance, Instant};

const ACCOUNT: &str = "acc1";
const CONV: &str = "conv1";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The times (since `since`) and values of the next `count` frames, which must be pings.
async fn pings(c: &mut MemoryClient, since: Instant, count: usize) -> Vec<(Duration, u64)> {
    let mut got = Vec::new();
    while got.len() < count {
        let v = c.recv_any_until(since + secs(3600)).await.unwrap_or_else(|| panic!("ping {} never came", got.len() + 1));
        assert_eq!(v["type"], "ping", "only pings on an idle connection: {v}");
        got.push((since.elapsed(), v["message"].as_u64().unwrap_or_else(|| panic!("integer seconds: {v}"))));
    }
    got
}

#[tokio::test(start_paused = true)]
async fn pings_come_every_three_seconds_in_unix_seconds() {
    let s = InProcess::start();
    let mut c = s.user("u1", ACCOUNT).await;
    let welcomed = Instant::now();
    let got = pings(&mut c, welcomed, 4).await;
    let at: Vec<Duration> = got.iter().map(|(at, _)| *at).collect();
    assert_eq!(at, [secs(3), secs(6), secs(9), secs(12)], "the first ping one interval after the welcome, then one per interval");
    let now = unix_now() as u64;
    assert!(got.iter().all(|(_, t)| t.abs_diff(now) < 30), "ping values are Unix seconds: {got:?}");
}

#[tokio::test(start_paused = true)]
async fn the_ping_interval_setting_sets_the_period() {
    let s = InProcess::start_with(&Settings { ping_interval: Some(Duration::from_millis(10_500)), ..Settings::default() });
    let mut c = s.user("u1", ACCOUNT).await;
    let welcomed = Instant::now();
    let at: Vec<Duration> = pings(&mut c, welcomed, 3).await.into_iter().map(|(at, _)| at).collect();
    assert_eq!(at, [Duration::from_millis(10_500), secs(21), Duration::from_millis(31_500)]);
}

#[tokio::test(start_paused = true)]
async fn a_live_connection_is_told_token_expired_at_the_tokens_exp() {
    let s = InProcess::start();
    let principal = claims("u1", ACCOUNT, &[], "user", 60);
    let exp = principal["exp"].as_i64().expect("exp");
    // The server counts down from its own reading of the Unix clock at connect, in whole
    // seconds, somewhere between these two readings.
    let before = unix_now();
    let mut c = s.connect_welcomed(&s.sign(&principal)).await;
    let after = unix_now();
    let connected = Instant::now();
    c.joined(&notifications(ACCOUNT)).await;

    // Until then the connection is idle: pings only.
    let disconnect = loop {
        let v = c.recv_any_until(connected + secs(3600)).await.expect("the connection ends with a disconnect frame");
        if v["type"] != "ping" {
            break v;
        }
    };
    let at = connected.elapsed();
    assert_eq!(disconnect, json!({ "type": "disconnect", "reason": "token_expired", "reconnect": false }));
    let (earliest, latest) = (secs((exp - after) as u64), secs((exp - before) as u64));
    assert!(at >= earliest && at <= latest, "token_expired after {at:?}; exp is {earliest:?}..{latest:?} after the connect");
    assert_eq!(c.close_code(secs(5)).await, Some(1000), "a normal close follows the disconnect frame");
    // Its subscription went with it.
    assert_eq!(s.app.hub.stream_count(), 0);
    assert_eq!(s.app.connections.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// What `performs` typing_indicator performs (refs `{prefix}-{i}`) got: the refs of the
/// admitted ones and of the rate-limited ones, in the order of the replies.
async fn burst(c: &mut MemoryClient, id: &str, prefix: &str, performs: usize) -> (Vec<String>, Vec<String>) {
    for i in 0..performs {
        c.perform(id, "typing_indicator", json!({ "conversation_id": CONV, "status": "typing", "$ref": format!("{prefix}-{i}") })).await;
    }
    let (mut ok, mut limited) = (Vec::new(), Vec::new());
    for _ in 0..performs {
        let r = reply(c, id).await;
        let reference = r["ref"].as_str().expect("every reply carries its ref").to_owned();
        if r["ok"] == true {
            assert_eq!(r, json!({ "ref": reference, "action": "typing_indicator", "ok": true, "data": null }));
            ok.push(reference);
        } else {
            assert_eq!(r["action"], "typing_indicator", "{r}");
            assert_eq!(r["error"]["code"], "rate_limited", "{r}");
            assert!(r["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "an error carries a message: {r}");
            limited.push(reference);
        }
    }
    (ok, limited)
}

/// The next `$reply` on `id`; a relay to the sender's own conversation sends it nothing else.
async fn reply(c: &mut MemoryClient, id: &str) -> Value {
    let m = c.message(id).await.expect("a $reply");
    m.get("$reply").cloned().unwrap_or_else(|| panic!("only replies are expected: {m}"))
}

/// A server whose `conv1` belongs to the account, and a member of it.
async fn conversation_member(settings: &Settings) -> (InProcess, MemoryClient, String) {
    let s = InProcess::start_with(settings);
    s.own("ai_conversation", CONV, ACCOUNT).await;
    let mut a = s.user("ua", ACCOUNT).await;
    let id = join_conversation(&mut a, CONV, "ua").await;
    (s, a, id)
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_performs_is_rate_limited_without_closing_the_connection() {
    // Defaults: a burst of 100 commands, 50 a second after that.
    let (_s, mut a, id) = conversation_member(&Settings::default()).await;
    // The subscribe spent one command; a second later the allowance is whole again.
    advance(secs(1)).await;
    const N: usize = 300;
    let (ok, limited) = burst(&mut a, &id, "b", N).await;
    assert!(!limited.is_empty(), "300 performs at once must hit the limit");
    assert!(ok.len() >= 100, "the burst allowance is honoured: {} ok", ok.len());
    assert_eq!(ok.len() + limited.len(), N);
    // The first ones are the admitted ones.
    assert!(ok.iter().take(100).enumerate().all(|(i, r)| *r == format!("b-{i}")), "{:?}", &ok[..10]);
    // With the clock standing still during the burst, exactly the allowance gets through.
    assert_eq!(ok.len(), 100, "{ok:?}");
    assert!(a.recv_within(Duration::from_millis(300)).await.is_none(), "one reply per perform");

    // Still open: after a pause, performs are admitted again.
    advance(Duration::from_millis(1200)).await;
    a.perform(&id, "typing_indicator", json!({ "conversation_id": CONV, "status": "stopped", "$ref": "after" })).await;
    assert_eq!(reply(&mut a, &id).await, json!({ "ref": "after", "action": "typing_indicator", "ok": true, "data": null }));
}

#[tokio::test(start_paused = true)]
async fn the_command_allowance_refills_at_its_rate_up_to_the_burst() {
    let (_s, mut a, id) = conversation_member(&Settings { commands_per_second: Some(10), command_burst: Some(30), ..Settings::default() }).await;
    // A long quiet spell buys no more than the burst.
    advance(secs(60)).await;
    let (ok, limited) = burst(&mut a, &id, "first", 50).await;
    assert_eq!((ok.len(), limited.len()), (30, 20));
    assert_eq!(ok, (0..30).map(|i| format!("first-{i}")).collect::<Vec<_>>(), "the first 30 are admitted");
    // One second refills 10 commands, half a second 5.
    advance(secs(1)).await;
    let (ok, _) = burst(&mut a, &id, "second", 50).await;
    assert_eq!(ok, (0..10).map(|i| format!("second-{i}")).collect::<Vec<_>>());
    advance(Duration::from_millis(500)).await;
    let (ok, _) = burst(&mut a, &id, "third", 50).await;
    assert_eq!(ok.len(), 5, "{ok:?}");
    // Nothing refills while the clock stands still.
    let (ok, limited) = burst(&mut a, &id, "fourth", 5).await;
    assert_eq!((ok.len(), limited.len()), (0, 5));
}

#[tokio::test(start_paused = true)]
async fn protocol_errors_are_counted_per_ten_second_window() {
    let s = InProcess::start();
    let mut c = s.connect(&s.token("u1", ACCOUNT, &[])).await;
    assert_eq!(c.recv().await, Some(json!({ "type": "welcome" })));
    // Ten errors are tolerated...
    for _ in 0..10 {
        c.send_text("garbage").await;
    }
    assert!(c.round_trip().await.is_empty(), "ten protocol errors, still open");
    // ...and forgotten once the window has passed.
    advance(secs(11)).await;
    for _ in 0..10 {
        c.send_text("garbage").await;
    }
    assert!(c.round_trip().await.is_empty(), "ten more in a new window, still open");
    // The eleventh in one window ends the connection.
    c.send_text("garbage").await;
    assert_eq!(c.recv().await, Some(json!({ "type": "disconnect", "reason": "invalid_request", "reconnect": false })));
}

/// Open connections as the server counts them.
fn open(s: &InProcess) -> usize {
    s.app.connections.load(std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_no_ping_is_closed_after_two_intervals_and_the_write_timeout() {
    let s = InProcess::start();
    let c = s.user("u1", ACCOUNT).await;
    let welcomed = Instant::now();
    // The client stops reading, so it answers nothing. The first interval is a grace: at
    // 3 s it has just connected; at 6 s it has been silent for an interval and gets a
    // WebSocket ping; 2 intervals + the 2 s write timeout later, at 14 s, it is closed.
    while open(&s) == 1 && welcomed.elapsed() < secs(60) {
        advance(Duration::from_millis(10)).await;
    }
    let closed = welcomed.elapsed();
    assert!(closed >= secs(14) && closed <= Duration::from_millis(14_100), "closed as unresponsive after {closed:?}, not 14 s");
    drop(c);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_pings_stays_connected_without_sending_a_command() {
    let s = InProcess::start();
    let mut c = s.user("u1", ACCOUNT).await;
    let since = Instant::now();
    // Reading is all it does: its WebSocket library answers the server's pings.
    let got = pings(&mut c, since, 20).await;
    assert_eq!(got.last().map(|(at, _)| *at), Some(secs(60)));
    assert_eq!(open(&s), 1, "a minute later, still connected");
}

#[tokio::test(start_paused = true)]
async fn a_token_past_exp_but_inside_the_leeway_gets_its_welcome_before_token_expired() {
    let s = InProcess::start();
    let now = unix_now();
    let mut principal = claims("u1", ACCOUNT, &[], "user", 0);
    principal["iat"] = json!(now - 60);
    principal["exp"] = json!(now - 5);
    let mut c = s.connect(&s.sign(&principal)).await;
    assert_eq!(c.recv().await, Some(json!({ "type": "welcome" })), "the queued welcome is written first");
    assert_eq!(c.recv().await, Some(json!({ "type": "disconnect", "reason": "token_expired", "reconnect": false })));
    assert_eq!(c.close_code(secs(5)).await, Some(1000));
}
