//! The generated TypeScript client (`generated/ts`) in Node, against the real server.
//!
//! Each test builds the package once (`tsc -p generated/ts`: dist/*.js and *.d.ts), starts
//! a server with the harness, and runs `node --test` over one file of `tests/node/ts_client/`
//! with the addresses in environment variables. A small control server (started here) lets
//! the Node side mint tokens, restart the cable server on the same port, and serves as the
//! app backend of forwarded actions.
//!
//! | test | Node file | what |
//! |---|---|---|
//! | `typetests_compile_under_strict` | `typetests/` | `tsc --strict` over a consumer project whose `@ts-expect-error` lines must all be errors |
//! | `backoff_and_timers_with_a_fake_clock` | `unit.test.mjs` | backoff, stale detection, give-up, token refresh, queue, end states, page events, token subprotocol, with a fake clock and socket |
//! | `tabs_share_one_connection_with_fakes` | `tabs.test.mjs` | tabs of a browser on one socket: ref-counted subscriptions, replies per tab, leader handover from positions, end states, the BroadcastChannel election |
//! | `failover_across_urls_with_a_fake_clock` | `failover.test.mjs` | a URL list: order, backoff per round, reset by welcome, sid and positions carried, logout |
//! | `client_against_the_real_server` | `server.test.mjs` | receipt, replies, errors, sharing, drops, offline queue, token refresh, logout, v1 fallback |
//! | `client_survives_a_server_restart` | `restart.test.mjs` | restart → reconnect, resubscribe, `reject_history` → `onResync`, live again |
//! | `react_hooks_subscribe_while_mounted` | `react.test.mjs` | `CableProvider`, `useCable`, a channel hook, with react-test-renderer |
//! | `seed_api_use_websocket_and_named_hooks` | `seed_hooks.test.mjs` | the seed frontend's `useWebSocket()` and the schema's named hooks, with react-test-renderer |
//! | `bundles_carry_only_what_is_used` | `bundle_sizes.mjs` | esbuild bundles (one channel, all, the react entry): sizes reported, the one-channel bundle names no other channel |
//! | `rails_client_alongside` | `interop.test.mjs` | `@rails/actioncable` and this client on the same stream at once |
//! | `fails_over_to_the_next_node` | `follow.mjs` | two real nodes; the first is SIGKILLed; the client moves to the second, resubscribes, receives |

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cableway_tests::fixtures::notification;
use cableway_tests::repo_root;
use cableway_tests::server::{claims, free_port, Options, Server};
use cableway_tests::wait::poll_async;
use serde_json::{json, Value};

fn node_dir() -> PathBuf {
    repo_root().join("tests/node")
}

fn package_dir() -> PathBuf {
    repo_root().join("generated/ts")
}

/// Builds generated/ts into generated/ts/dist once per test process. The package's dev
/// dependencies (TypeScript, @types/react, react) are those of tests/node, linked in as
/// generated/ts/node_modules (gitignored), exactly where `npm install` would put them.
fn build_package() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let tsc = node_dir().join("node_modules/.bin/tsc");
        if !tsc.exists() {
            return Err("TypeScript is not installed: run `bash tests/run.sh` (or `npm ci` in tests/node)".into());
        }
        link_node_modules(&package_dir());
        let out = std::process::Command::new(&tsc).arg("-p").arg(package_dir()).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("tsc -p generated/ts failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// `dir/node_modules` → tests/node/node_modules, unless something is there already.
pub fn link_node_modules(dir: &Path) {
    let link = dir.join("node_modules");
    if std::fs::symlink_metadata(&link).is_err() {
        let target = node_dir().join("node_modules");
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink(&target, &link);
    }
}

/// Runs `node --test` over `files` (relative to tests/node) with `env`; fails with the output.
async fn node_test(files: &[&str], env: &[(&str, String)]) {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("--test").arg("--test-reporter=spec").arg("--test-concurrency=1").args(files).current_dir(node_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().expect("spawn node (is Node.js installed?)");
    let out = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output()).await.expect("node --test finished within 240 s").expect("node output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "node --test {files:?} failed:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("# tests 0"), "no test ran: {stdout}");
}

// ---------------------------------------------------------------------------------------
// The control server: tokens, restarts, and the app backend
// ---------------------------------------------------------------------------------------

struct Control {
    server: Mutex<Option<Server>>,
    port: u16,
    env: Vec<(String, String)>,
    secret: String,
    backend_calls: Mutex<Vec<Value>>,
}

type Shared = Arc<Control>;

#[derive(serde::Deserialize)]
struct TokenQuery {
    sub: String,
    account: String,
    #[serde(default)]
    ttl: Option<i64>,
    #[serde(default)]
    permissions: Option<String>,
}

async fn token(State(c): State<Shared>, Query(q): Query<TokenQuery>) -> String {
    let perms: Vec<&str> = q.permissions.as_deref().map(|p| p.split(',').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let claims = claims(&q.sub, &q.account, &perms, "user", q.ttl.unwrap_or(3600));
    let key = jsonwebtoken::EncodingKey::from_secret(c.secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).expect("sign")
}

/// SIGTERM (the server drains with `server_restart`), then a new server on the same port.
async fn restart(State(c): State<Shared>) -> StatusCode {
    let c2 = c.clone();
    tokio::task::spawn_blocking(move || {
        let old = c2.server.lock().unwrap().take();
        if let Some(mut s) = old {
            s.terminate(Duration::from_secs(15)).expect("the server exits on SIGTERM");
        }
        let mut opts = Options::default().arg("--bind").arg(&format!("127.0.0.1:{}", c2.port));
        for (k, v) in &c2.env {
            opts = opts.env(k, v);
        }
        *c2.server.lock().unwrap() = Some(Server::start_with(opts));
    })
    .await
    .expect("restart");
    StatusCode::NO_CONTENT
}

fn message_json(id: &str, conversation: &str, account: &str, content: &str) -> Value {
    json!({
        "id": id, "conversation_id": conversation, "account_id": account, "sender_type": "user", "message_type": "text",
        "content": content, "status": "completed", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
}

/// The app backend of forwarded actions (`send_message`): the answer depends on the content.
async fn actions(State(c): State<Shared>, Json(body): Json<Value>) -> Response {
    c.backend_calls.lock().unwrap().push(body.clone());
    let conversation = body["params"]["conversation_id"].as_str().unwrap_or_default().to_owned();
    let account = body["principal"]["account_id"].as_str().unwrap_or_default().to_owned();
    let content = body["payload"]["content"].as_str().unwrap_or_default().to_owned();
    match content.as_str() {
        "closed" => Json(json!({ "error": { "code": "conversation_closed", "message": "the conversation is closed" } })).into_response(),
        "boom" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        _ => {
            let msg = message_json(&format!("m-{content}"), &conversation, &account, &content);
            Json(json!({
                "reply": { "message": msg, "ai_response_queued": true },
                "events": [{ "channel": "AiConversationChannel", "event": "message_created", "payload": msg }]
            }))
            .into_response()
        }
    }
}

async fn backend_calls(State(c): State<Shared>) -> Json<Value> {
    Json(Value::Array(c.backend_calls.lock().unwrap().clone()))
}

/// A cable server on a fixed port plus the control server; returns the Node environment.
async fn start(extra_env: &[(&str, &str)]) -> (Shared, Vec<(&'static str, String)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind control");
    let control_url = format!("http://{}", listener.local_addr().expect("addr"));
    let port = free_port();
    let secret = format!("ts-client-secret-{}-{port}-0123456789abcdef", std::process::id());
    let publisher = format!("ts-client-publisher-{}-{port}-0123456789abcdef", std::process::id());
    let mut env: Vec<(String, String)> = vec![
        ("CABLEWAY_JWT_SECRET".into(), secret.clone()),
        ("CABLEWAY_PUBLISHER_KEY".into(), publisher.clone()),
        ("CABLEWAY_BACKEND_URL".into(), control_url.clone()),
        ("CABLEWAY_DRAIN_TIMEOUT_MS".into(), "3000".into()),
    ];
    env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let env2 = env.clone();
    let server = tokio::task::spawn_blocking(move || {
        let mut opts = Options::default().arg("--bind").arg(&format!("127.0.0.1:{port}"));
        for (k, v) in &env2 {
            opts = opts.env(k, v);
        }
        Server::start_with(opts)
    })
    .await
    .expect("start server");
    let control = Arc::new(Control { server: Mutex::new(Some(server)), port, env, secret, backend_calls: Mutex::default() });
    let app = Router::new()
        .route("/token", get(token))
        .route("/restart", post(restart))
        .route("/cable/actions", post(actions))
        .route("/backend-calls", get(backend_calls))
        .with_state(control.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("control serves") });
    let node_env = vec![
        ("CABLE_URL", format!("ws://127.0.0.1:{port}/cable")),
        ("HTTP_URL", format!("http://127.0.0.1:{port}")),
        ("PUBLISHER_KEY", publisher),
        ("CONTROL_URL", control_url),
    ];
    (control, node_env)
}

// ---------------------------------------------------------------------------------------
// The follower: ts_client/follow.mjs on a list of nodes
// ---------------------------------------------------------------------------------------

/// `node ts_client/follow.mjs` following one subscription over `urls`, its JSON lines
/// collected as they come. Killed (by PID) when dropped.
struct Follower {
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Follower {
    fn start(urls: &[String], token: &str, channel: &str, params: &Value) -> Follower {
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg("ts_client/follow.mjs").args(["--channel", channel, "--params", &params.to_string(), "--base-delay-ms", "200", "--max-delay-ms", "1000"]).args(urls);
        cmd.current_dir(node_dir()).env("CABLE_TOKEN", token).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn node (is Node.js installed?)");
        let lines = cableway_tests::fixtures::json_lines(&mut child);
        Follower { child, lines }
    }

    fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// The lines of `kind`.
    fn of(&self, kind: &str) -> Vec<Value> {
        self.lines().into_iter().filter(|l| l["type"] == kind).collect()
    }

    /// Waits (up to `secs`) for the first line that `matches`; fails naming `what`, with every line.
    async fn wait_for(&mut self, what: &str, secs: u64, matches: impl Fn(&Value) -> bool) -> Value {
        let found = poll_async(Duration::from_secs(secs), || self.lines.lock().unwrap().iter().find(|l| matches(l)).cloned()).await;
        match found {
            Some(v) => v,
            None => {
                let exited = self.child.try_wait().ok().flatten();
                panic!("the follower never printed {what} (exited: {exited:?}); it printed:\n{}", self.dump())
            }
        }
    }

    fn dump(&self) -> String {
        self.lines().iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
    }
}

fn server_logs(c: &Control) -> String {
    c.server.lock().unwrap().as_ref().map(Server::logs).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn typetests_compile_under_strict() {
    build_package();
    let dir = node_dir().join("typetests");
    let out = std::process::Command::new(node_dir().join("node_modules/.bin/tsc")).arg("-p").arg(&dir).output().expect("run tsc");
    assert!(out.status.success(), "typetests do not compile (an @ts-expect-error that is not an error is reported as TS2578):\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Each expected error is really there: the file has the four kinds, and removing the
    // directives makes tsc report errors on exactly those lines.
    let source = std::fs::read_to_string(dir.join("usage.ts")).expect("usage.ts");
    for kind in ["wrong param type", "unknown event name", "payload field that does not exist", "wrong action payload"] {
        assert!(source.contains(kind), "typetests/usage.ts has no `{kind}` case");
    }
    // 1-based numbers of the lines right after each directive.
    let expected: Vec<usize> = source.lines().enumerate().filter(|(_, l)| l.trim_start().starts_with("// @ts-expect-error")).map(|(i, _)| i + 2).collect();
    assert!(expected.len() >= 8, "{expected:?}");
    let scratch = std::env::temp_dir().join(format!("cableway-typetests-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    cableway_tests::copy_dir(&dir, &scratch);
    std::fs::write(scratch.join("usage.ts"), source.replace("// @ts-expect-error", "// (expected error)")).unwrap();
    let tsconfig = std::fs::read_to_string(dir.join("tsconfig.json")).unwrap().replace("../../../generated/ts", &package_dir().display().to_string());
    std::fs::write(scratch.join("tsconfig.json"), tsconfig).unwrap();
    let out = std::process::Command::new(node_dir().join("node_modules/.bin/tsc")).arg("-p").arg(&scratch).output().expect("run tsc");
    let text = String::from_utf8_lossy(&out.stdout);
    let failing: Vec<usize> = text.lines().filter_map(|l| l.split_once("usage.ts(")).filter_map(|(_, rest)| rest.split(',').next()?.parse().ok()).collect();
    for line in &expected {
        assert!(failing.contains(line), "usage.ts:{line} compiles without its @ts-expect-error; it must not:\n{text}");
    }
    assert_eq!(failing.iter().filter(|l| !expected.contains(l)).count(), 0, "errors on lines without a directive:\n{text}");
    std::fs::remove_dir_all(scratch).unwrap();
}

#[tokio::test]
async fn backoff_and_timers_with_a_fake_clock() {
    build_package();
    node_test(&["ts_client/unit.test.mjs"], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_against_the_real_server() {
    build_package();
    let (control, env) = start(&[]).await;
    node_test(&["ts_client/server.test.mjs"], &env).await;
    let logs = server_logs(&control);
    assert!(!logs.contains(&control.secret), "the secret never reaches the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_survives_a_server_restart() {
    build_package();
    let (_control, env) = start(&[]).await;
    node_test(&["ts_client/restart.test.mjs"], &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn react_hooks_subscribe_while_mounted() {
    build_package();
    let (_control, env) = start(&[]).await;
    node_test(&["ts_client/react.test.mjs"], &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_api_use_websocket_and_named_hooks() {
    build_package();
    let (_control, env) = start(&[]).await;
    node_test(&["ts_client/seed_hooks.test.mjs"], &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rails_client_alongside() {
    build_package();
    let (_control, env) = start(&[]).await;
    node_test(&["ts_client/interop.test.mjs"], &env).await;
}

#[tokio::test]
async fn tabs_share_one_connection_with_fakes() {
    build_package();
    node_test(&["ts_client/tabs.test.mjs"], &[]).await;
}

#[tokio::test]
async fn failover_across_urls_with_a_fake_clock() {
    build_package();
    node_test(&["ts_client/failover.test.mjs"], &[]).await;
}

/// Two single-node servers (embedded engine each) with the same keys; the client is given
/// both. A is killed with SIGKILL: the client moves to B, offers it A's session and asks for
/// the history after A's position; B knows neither (its own engine), so it starts a fresh
/// session and answers `reject_history`, and events published on B arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_to_the_next_node() {
    build_package();
    let keys = Options::default()
        .env("CABLEWAY_JWT_SECRET", &format!("failover-secret-{}-0123456789abcdef", std::process::id()))
        .env("CABLEWAY_PUBLISHER_KEY", &format!("failover-publisher-{}-0123456789abcdef", std::process::id()));
    let (opts_a, opts_b) = (keys.clone(), keys);
    let mut a = tokio::task::spawn_blocking(move || Server::start_with(opts_a)).await.expect("start A");
    let b = tokio::task::spawn_blocking(move || Server::start_with(opts_b)).await.expect("start B");
    let (url_a, url_b) = (a.cable_url(None), b.cable_url(None));
    let account = "acc-failover";
    let stream = format!("notifications:{account}");
    let token = a.token("u-failover", account, &[]);
    let mut f = Follower::start(&[url_a.clone(), url_b.clone()], &token, "NotificationChannel", &json!({ "account_id": account }));

    f.wait_for("the subscription confirmed on A", 20, |l| l["type"] == "connected").await;
    let welcome_a = f.wait_for("A's welcome", 1, |l| l["type"] == "welcome").await;
    assert_eq!(welcome_a["url"], url_a.as_str(), "the first URL first:\n{}", f.dump());
    let sid_a = welcome_a["sid"].as_str().expect("A gives a session id").to_owned();
    let (status, body) = a.publish(&notification(account, "on-a")).await;
    assert_eq!(status, 200, "{body}");
    let on_a = f.wait_for("the event published on A", 10, |l| l["type"] == "event" && l["payload"]["id"] == "on-a").await;
    assert_eq!((&on_a["url"], &on_a["stream"]), (&json!(url_a), &json!(stream)), "{on_a}");
    assert!(on_a["offset"].as_u64().is_some_and(|o| o >= 1) && on_a["epoch"].is_string(), "{on_a}");

    let pid = a.pid().expect("A runs");
    let killed = Command::new("kill").arg("-KILL").arg(pid.to_string()).status().expect("run kill");
    assert!(killed.success(), "kill -KILL {pid}");
    a.wait_exit(Duration::from_secs(10)).expect("A exits on SIGKILL");

    f.wait_for("the subscription confirmed again, on B", 20, |l| l["type"] == "connected" && l["reconnected"] == true).await;
    let lines = f.lines();
    let socket_b = lines.iter().find(|l| l["type"] == "socket" && l["url"] == url_b.as_str()).expect("a socket to B");
    assert_eq!(socket_b["sid"], sid_a.as_str(), "B is offered A's session:\n{}", f.dump());
    let welcome_b = lines.iter().rfind(|l| l["type"] == "welcome").expect("B's welcome");
    assert_eq!((&welcome_b["url"], &welcome_b["restored"]), (&json!(url_b), &json!(false)), "B has its own engine: a fresh session");
    let resubscribe = lines.iter().rfind(|l| l["type"] == "sent" && l["command"] == "subscribe").expect("a resubscribe");
    assert_eq!(resubscribe["url"], url_b.as_str());
    assert_eq!(resubscribe["history"]["streams"][&stream], json!({ "epoch": on_a["epoch"], "offset": on_a["offset"] }), "B is asked for the history after A's position");
    f.wait_for("the resync B asks for (it cannot replay A's epoch)", 10, |l| l["type"] == "resync" && l["reason"] == "history_rejected").await;
    let connected = f.of("status").into_iter().rfind(|s| s["state"] == "connected").expect("a connected status");
    assert_eq!(connected["url"], url_b.as_str());

    let (status, body) = b.publish(&notification(account, "on-b")).await;
    assert_eq!(status, 200, "{body}");
    let on_b = f.wait_for("the event published on B", 10, |l| l["type"] == "event" && l["payload"]["id"] == "on-b").await;
    assert_eq!((&on_b["url"], &on_b["stream"]), (&json!(url_b), &json!(stream)), "{on_b}");
    assert_ne!(on_b["epoch"], on_a["epoch"], "B's stream is its own");
    // Each node also greets the subscription (`connection_established`, no stream position).
    let published: Vec<Value> = f.of("event").iter().filter(|e| e["event"] == "new_notification").map(|e| e["payload"]["id"].clone()).collect();
    assert_eq!(published, [json!("on-a"), json!("on-b")], "each event once:\n{}", f.dump());
    assert!(f.of("error").is_empty(), "no error reported:\n{}", f.dump());
    assert!(!a.logs().contains(&token) && !b.logs().contains(&token) && !f.dump().contains(&token), "the token is in no log");
}

/// Bundles the built package as an app would (esbuild, minified) and reports the sizes in
/// target/bundle-sizes.jsonl and on stdout; only tree-shaking is asserted, never a size.
#[test]
fn bundles_carry_only_what_is_used() {
    build_package();
    let pkg: Value = serde_json::from_str(&std::fs::read_to_string(package_dir().join("package.json")).unwrap()).unwrap();
    assert_eq!(pkg["sideEffects"], false, "bundlers may drop the modules an app does not use");
    assert!(node_dir().join("node_modules/esbuild/package.json").exists(), "esbuild is not installed: run `bash tests/run.sh` (or `npm ci` in tests/node)");
    let target = repo_root().join("target");
    std::fs::create_dir_all(&target).unwrap();
    let report = target.join("bundle-sizes.jsonl");
    let _ = std::fs::remove_file(&report);
    let out = Command::new("node").arg("bundle_sizes.mjs").current_dir(node_dir()).env("REPORT", &report).output().expect("run node");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "{text}");
    let rows: Vec<Value> = std::fs::read_to_string(&report).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let row = |name: &str| rows.iter().find(|r| r["bundle"] == name).unwrap_or_else(|| panic!("no {name} row in {rows:?}")).clone();
    assert_eq!(row("one-channel")["channels"], 1, "{text}");
    assert_eq!(row("all-channels")["channels"].as_u64(), Some(crate_channel_count()), "{text}");
    for r in &rows {
        assert!(r["gzipped"].as_u64() < r["minified"].as_u64() && r["minified"].as_u64() <= r["raw"].as_u64(), "{r}");
    }
}

/// The channels of the schema (one module each under generated/ts/src/channels).
fn crate_channel_count() -> u64 {
    std::fs::read_dir(package_dir().join("src/channels")).unwrap().count() as u64
}

#[test]
fn the_package_manifest_matches_the_test_toolchain() {
    // The generated package's dev dependencies are the versions tests/node builds it with.
    let pkg: Value = serde_json::from_str(&std::fs::read_to_string(package_dir().join("package.json")).unwrap()).unwrap();
    let tests: Value = serde_json::from_str(&std::fs::read_to_string(node_dir().join("package.json")).unwrap()).unwrap();
    for (name, version) in pkg["devDependencies"].as_object().expect("devDependencies") {
        assert_eq!(&tests["devDependencies"][name], version, "generated/ts wants {name} {version}; tests/node installs {}", tests["devDependencies"][name]);
    }
    assert!(pkg.get("dependencies").is_none(), "zero runtime dependencies");
    assert_eq!(pkg["peerDependenciesMeta"]["react"]["optional"], true);
    let project = std::fs::read_to_string(repo_root().join("schema/cableway.yaml")).unwrap();
    assert!(project.contains(&format!("name: \"{}\"", pkg["name"].as_str().unwrap())), "name from schema/cableway.yaml");
    assert!(project.contains(&format!("version: {}", pkg["version"].as_str().unwrap())), "version from schema/cableway.yaml");
}

#[test]
fn builtin_error_codes_agree_with_the_server() {
    assert_eq!(codegen::runtime::BUILTIN_ACTION_ERRORS, cableway::channels::BUILTIN_ERRORS);
}
