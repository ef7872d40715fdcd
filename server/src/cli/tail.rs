//! `cableway tail`: subscribes to one channel and prints every envelope as one JSON line on
//! standard output (for `jq`); what happens to the connection goes to standard error.
//!
//! It speaks the ext protocol (`actioncable-v1-ext-json`) so that a reconnect loses nothing
//! the server still holds: it keeps the session id of `welcome` and the last position of
//! every stream, reconnects with `?sid=` (the subscription comes back without a new
//! subscribe) and asks for `history` from those positions, or resubscribes with them when
//! the session is gone. When the server cannot replay the gap (`reject_history`: its history
//! no longer holds it, or it restarted without shared history), tail says so and goes on.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::config::Secret;

/// Flags of `cableway tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// The channel's wire name.
    #[arg(value_name = "CHANNEL")]
    pub channel: String,
    /// A subscription param, `key=value` (repeatable); the value is read as the channel's
    /// params schema types it (a string, or JSON for numbers and booleans).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// First replay what was published this long ago (30s, 5m, 1h), if the history holds it.
    #[arg(long, value_name = "DURATION", value_parser = crate::auth::mint::parse_ttl)]
    pub history: Option<u64>,
    /// The server's base URL (http://, https://, ws:// or wss://; `/cable` is added).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// The connection token (a JWT).
    #[arg(long, value_name = "JWT")]
    pub token: Secret,
}

/// A frame not seen for this long (the server pings every 3 s) means a dead connection.
const SILENCE: Duration = Duration::from_secs(10);
/// Longest wait between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Why tail stops.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("the server refused the subscription: {0}")]
    Rejected(String),
    #[error("the server closed the connection: {reason} (it asks not to reconnect)")]
    Final { reason: String },
}

/// What is kept across connections.
struct Tail {
    identifier: String,
    /// Ext `sid` of the last session.
    sid: Option<String>,
    /// Last `(epoch, offset)` received per stream.
    positions: BTreeMap<String, (String, u64)>,
    /// `--history`, for the first subscribe only.
    since: Option<i64>,
    subscribed: bool,
}

/// Runs until the server refuses for good (exit 1) or the process is stopped.
pub fn run(args: &TailArgs) -> anyhow::Result<ExitCode> {
    let identifier = identifier(args)?;
    let url = cable_url(&args.url)?;
    let since = args.history.map(|s| crate::auth::unix_now() - s as i64);
    let mut tail = Tail { identifier, sid: None, positions: BTreeMap::new(), since, subscribed: false };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut backoff = Duration::from_millis(250);
        loop {
            match tail.connection(&url, &args.token).await {
                Ok(()) => backoff = Duration::from_millis(250),
                Err(e) => match e.downcast::<Stop>() {
                    Ok(stop) => {
                        eprintln!("tail: {stop}");
                        return Ok(ExitCode::FAILURE);
                    }
                    Err(e) => eprintln!("tail: {e}"),
                },
            }
            eprintln!("tail: reconnecting in {} ms", backoff.as_millis());
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

impl Tail {
    /// One connection, from the handshake to its end. `Ok` when it was established and then
    /// lost (reconnect at once), an error when it could not be made or must not be retried.
    async fn connection(&mut self, base: &str, token: &Secret) -> anyhow::Result<()> {
        let url = match &self.sid {
            Some(sid) => format!("{base}?sid={sid}"),
            None => base.to_owned(),
        };
        let mut request = url.as_str().into_client_request()?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(crate::protocol::EXT));
        request.headers_mut().insert("Authorization", HeaderValue::from_str(&format!("Bearer {}", token.expose()))?);
        let (mut ws, _) = tokio::time::timeout(SILENCE, tokio_tungstenite::connect_async(request)).await.map_err(|_| anyhow::anyhow!("connecting to {base} timed out"))??;
        loop {
            let frame = match tokio::time::timeout(SILENCE, ws.next()).await {
                Err(_) => {
                    eprintln!("tail: no frame for {} s; the connection is dead", SILENCE.as_secs());
                    return Ok(());
                }
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) => {
                    eprintln!("tail: disconnected");
                    return Ok(());
                }
                Ok(Some(Err(e))) => {
                    eprintln!("tail: disconnected: {e}");
                    return Ok(());
                }
                Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
                Ok(Some(Ok(_))) => continue,
            };
            for command in self.handle(&frame)? {
                ws.send(Message::Text(command.to_string().into())).await?;
            }
        }
    }

    /// What to send in answer to one frame.
    fn handle(&mut self, frame: &Value) -> anyhow::Result<Vec<Value>> {
        let id = self.identifier.as_str();
        let ours = frame["identifier"].as_str() == Some(id);
        match frame["type"].as_str() {
            Some("welcome") => {
                let previous = self.sid.take();
                self.sid = frame["sid"].as_str().map(str::to_owned);
                let restored = frame["restored"] == true && frame["restored_ids"].as_array().is_some_and(|ids| ids.iter().any(|i| i == id));
                if restored {
                    eprintln!("tail: resumed session {}: the subscription was kept; replaying from the last positions", previous.unwrap_or_default());
                    let history = self.history().unwrap_or_else(|| json!({ "streams": {} }));
                    return Ok(vec![json!({ "command": "history", "identifier": id, "history": history })]);
                }
                if self.subscribed {
                    eprintln!("tail: reconnected with a new session; resubscribing from the last positions");
                }
                let mut subscribe = json!({ "command": "subscribe", "identifier": id });
                if let Some(history) = self.history() {
                    subscribe["history"] = history;
                }
                Ok(vec![subscribe])
            }
            Some("confirm_subscription") if ours => {
                if !self.subscribed {
                    eprintln!("tail: subscribed to {id}");
                }
                self.subscribed = true;
                Ok(vec![])
            }
            Some("reject_subscription") if ours => Err(Stop::Rejected(frame["reason"].as_str().unwrap_or("rejected").to_owned()).into()),
            Some("confirm_history") if ours => {
                eprintln!("tail: history replayed: nothing was missed");
                Ok(vec![])
            }
            Some("reject_history") if ours => {
                eprintln!("tail: warning: the server cannot replay the gap (its history no longer holds it); messages published meanwhile may be missing");
                Ok(vec![])
            }
            Some("disconnect") => {
                let reason = frame["reason"].as_str().unwrap_or("unknown").to_owned();
                if frame["reconnect"] == false {
                    return Err(Stop::Final { reason }.into());
                }
                eprintln!("tail: the server closes the connection: {reason}");
                Ok(vec![])
            }
            Some("ping") => Ok(vec![json!({ "command": "pong" })]),
            None if ours => {
                if let (Some(stream), Some(epoch), Some(offset)) = (frame["stream_id"].as_str(), frame["epoch"].as_str(), frame["offset"].as_u64()) {
                    self.positions.insert(stream.to_owned(), (epoch.to_owned(), offset));
                }
                println!("{}", frame["message"]);
                Ok(vec![])
            }
            _ => Ok(vec![]),
        }
    }

    /// The `history` of a subscribe or resume: the positions received so far, or `--history`
    /// before anything was; none when there is nothing to ask for.
    fn history(&self) -> Option<Value> {
        if self.positions.is_empty() {
            return self.since.map(|since| json!({ "since": since }));
        }
        let streams: Map<String, Value> = self.positions.iter().map(|(s, (epoch, offset))| (s.clone(), json!({ "epoch": epoch, "offset": offset }))).collect();
        Some(json!({ "streams": streams }))
    }
}

/// The identifier `{"channel": C, params...}`, each value typed as the params schema says,
/// checked against it as the server will.
fn identifier(args: &TailArgs) -> anyhow::Result<String> {
    let channel = crate::channels::find(&args.channel).ok_or_else(|| {
        let names: Vec<&str> = crate::channels::REGISTRY.iter().map(|c| c.name).collect();
        anyhow::anyhow!("no channel `{}`; the channels are: {}", args.channel, names.join(", "))
    })?;
    let schema: Value = serde_json::from_str(channel.params_schema)?;
    let mut params = Map::new();
    for pair in &args.params {
        let (key, raw) = pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--param {pair:?} is not key=value"))?;
        let value = if takes_string(&schema, &schema["properties"][key]) { Value::String(raw.to_owned()) } else { serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned())) };
        params.insert(key.to_owned(), value);
    }
    let params = Value::Object(params);
    if let Err(violations) = crate::validation::validate(channel.params_schema, &params) {
        let list: Vec<String> = violations.iter().map(|v| format!("{}: {}", if v.path.is_empty() { "/" } else { &v.path }, v.message)).collect();
        anyhow::bail!("the params do not match {}'s params schema: {}", channel.name, list.join("; "));
    }
    let mut id = Map::new();
    id.insert("channel".into(), json!(channel.name));
    if let Value::Object(p) = params {
        id.extend(p);
    }
    Ok(Value::Object(id).to_string())
}

/// Whether a params property is a string (its value is then taken as written), following a
/// local `$ref`; any other value is read as JSON.
fn takes_string(root: &Value, schema: &Value) -> bool {
    if let Some(target) = schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')).and_then(|p| root.pointer(p)) {
        return takes_string(root, target);
    }
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(types) => types.iter().any(|t| t == "string"),
        _ => schema["enum"].as_array().is_some_and(|values| values.iter().all(Value::is_string)),
    }
}

/// `ws://host/cable` from a base URL in any of the accepted schemes.
fn cable_url(base: &str) -> anyhow::Result<String> {
    let (scheme, rest) = base.split_once("://").ok_or_else(|| anyhow::anyhow!("--url {base:?} has no scheme; expected e.g. http://127.0.0.1:3000"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => anyhow::bail!("--url {base:?}: this build speaks ws:// only; reach the server directly or through a plain-HTTP proxy"),
        other => anyhow::bail!("--url {base:?}: unknown scheme {other:?}"),
    };
    let rest = rest.trim_end_matches('/');
    Ok(if rest.ends_with("/cable") { format!("{scheme}://{rest}") } else { format!("{scheme}://{rest}/cable") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(channel: &str, params: &[&str]) -> TailArgs {
        TailArgs { channel: channel.into(), params: params.iter().map(|p| p.to_string()).collect(), history: None, url: String::new(), token: Secret::default() }
    }

    #[test]
    fn identifiers_follow_the_params_schema() {
        assert_eq!(identifier(&args("NotificationChannel", &["account_id=acc-1"])).expect("valid"), r#"{"channel":"NotificationChannel","account_id":"acc-1"}"#);
        let err = identifier(&args("NotificationChannel", &[])).expect_err("missing param").to_string();
        assert!(err.contains("/account_id: required property is missing"), "{err}");
        assert!(identifier(&args("NoSuchChannel", &[])).expect_err("unknown").to_string().contains("NotificationChannel"));
        assert!(identifier(&args("NotificationChannel", &["account_id"])).is_err());
    }

    #[test]
    fn urls_become_the_cable_endpoint() {
        assert_eq!(cable_url("http://127.0.0.1:3000").expect("valid"), "ws://127.0.0.1:3000/cable");
        assert_eq!(cable_url("ws://h:1/cable/").expect("valid"), "ws://h:1/cable");
        assert!(cable_url("127.0.0.1:3000").is_err() && cable_url("ftp://x").is_err() && cable_url("https://x").is_err());
    }

    #[test]
    fn a_resume_asks_for_history_from_the_last_positions() {
        let mut t = Tail { identifier: "{\"channel\":\"X\"}".into(), sid: None, positions: BTreeMap::new(), since: Some(100), subscribed: false };
        let first = t.handle(&json!({ "type": "welcome", "sid": "s1" })).expect("ok");
        assert_eq!(first, vec![json!({ "command": "subscribe", "identifier": t.identifier, "history": { "since": 100 } })]);
        t.handle(&json!({ "type": "confirm_subscription", "identifier": t.identifier })).expect("ok");
        t.handle(&json!({ "identifier": t.identifier, "message": { "event": "e" }, "stream_id": "s", "epoch": "ep", "offset": 7 })).expect("ok");
        let resumed = t.handle(&json!({ "type": "welcome", "sid": "s2", "restored": true, "restored_ids": [t.identifier] })).expect("ok");
        assert_eq!(resumed, vec![json!({ "command": "history", "identifier": t.identifier, "history": { "streams": { "s": { "epoch": "ep", "offset": 7 } } } })]);
        assert!(t.handle(&json!({ "type": "disconnect", "reason": "unauthorized", "reconnect": false })).is_err());
        assert!(t.handle(&json!({ "type": "reject_subscription", "identifier": t.identifier })).is_err());
    }
}
