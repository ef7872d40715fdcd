//! An extended-protocol client's view (`actioncable-v1-ext-json`): connecting (and resuming
//! with `?sid=`), subscribing with `history`, and reading data frames as stream positions,
//! so a test can count what was lost, duplicated or reordered.

use serde_json::{json, Value};

use crate::client::Client;

/// The extended protocol.
pub const EXT: &str = "actioncable-v1-ext-json";

/// Connects to `url` with the extended protocol and returns the client and its `welcome`.
pub async fn connect(url: &str) -> (Client, Value) {
    let mut c = Client::connect_with(url, &[EXT], &[]).await.expect("connect");
    assert_eq!(c.protocol.as_deref(), Some(EXT));
    let welcome = c.recv().await.expect("welcome");
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (c, welcome)
}

/// A data frame's place: payload id, stream, epoch, offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// `message.payload.id`.
    pub id: String,
    /// `stream_id`.
    pub stream: String,
    /// `epoch`.
    pub epoch: String,
    /// `offset`.
    pub offset: u64,
}

/// The place of a data frame (`None` for other frames).
pub fn at(v: &Value) -> Option<At> {
    Some(At {
        id: v["message"]["payload"]["id"].as_str().unwrap_or_default().to_owned(),
        stream: v["stream_id"].as_str()?.to_owned(),
        epoch: v["epoch"].as_str()?.to_owned(),
        offset: v["offset"].as_u64()?,
    })
}

/// The places of the data frames among `frames`.
pub fn places(frames: &[Value]) -> Vec<At> {
    frames.iter().filter_map(at).collect()
}

/// `history` for one stream position: `{"streams": {stream: {epoch, offset}}}`.
pub fn from(p: &At) -> Value {
    json!({ "streams": { p.stream.clone(): { "epoch": p.epoch, "offset": p.offset } } })
}

/// Subscribes with a history request; the frames up to and including the history answer
/// (`confirm_history`, `reject_history`) or a `reject_subscription`.
pub async fn subscribe_with_history(c: &mut Client, id: &str, history: Value) -> Vec<Value> {
    c.send(&json!({ "command": "subscribe", "identifier": id, "history": history })).await;
    until_history_answer(c).await
}

/// Sends `history` for an existing subscription; the frames up to and including the answer.
pub async fn history(c: &mut Client, id: &str, history: Value) -> Vec<Value> {
    c.send(&json!({ "command": "history", "identifier": id, "history": history })).await;
    until_history_answer(c).await
}

async fn until_history_answer(c: &mut Client) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let v = c.recv().await.expect("history answer");
        let done = v["type"] == "confirm_history" || v["type"] == "reject_history" || v["type"] == "reject_subscription";
        frames.push(v);
        if done {
            return frames;
        }
    }
}

/// The next `n` data frames' places (other frames skipped); fails if they do not come.
pub async fn next_places(c: &mut Client, n: usize) -> Vec<At> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let v = c.recv().await.unwrap_or_else(|| panic!("only {} of {n} data frames came: {out:?}", out.len()));
        if let Some(p) = at(&v) {
            out.push(p);
        }
    }
    out
}

/// The payload ids of the next `n` data messages on a plain (v1) client.
pub async fn next_ids(c: &mut Client, identifier: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let m = c.message(identifier).await.unwrap_or_else(|| panic!("only {} of {n} messages came", out.len()));
        if let Some(id) = m["payload"]["id"].as_str() {
            out.push(id.to_owned());
        }
    }
    out
}
