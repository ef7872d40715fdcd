//! Client → server commands.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A stream position a client already has.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StreamPosition {
    /// History lifetime the offset belongs to.
    pub epoch: String,
    /// Last offset received.
    pub offset: u64,
}

/// What a client asks to replay (`history` in the ext protocol).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HistoryRequest {
    /// Unix seconds; applies to streams without a recorded position.
    #[serde(default)]
    pub since: Option<i64>,
    /// Positions per stream.
    #[serde(default)]
    pub streams: BTreeMap<String, StreamPosition>,
}

/// One client command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `subscribe`, optionally with history.
    Subscribe {
        /// Opaque identifier.
        identifier: String,
        /// Ext protocol: what to replay after confirming.
        history: Option<HistoryRequest>,
    },
    /// `unsubscribe`.
    Unsubscribe {
        /// Opaque identifier.
        identifier: String,
    },
    /// `message`: perform an action.
    Message {
        /// Opaque identifier.
        identifier: String,
        /// The decoded `data` (a JSON string in v1; an object is accepted too).
        data: Value,
    },
    /// Ext protocol: replay for an existing subscription.
    History {
        /// Opaque identifier.
        identifier: String,
        /// What to replay.
        history: HistoryRequest,
    },
    /// Ext protocol: answer to a ping.
    Pong,
    /// Ext protocol: transient client-to-client message.
    Whisper {
        /// Opaque identifier.
        identifier: String,
        /// Payload (an object).
        data: Value,
    },
}

/// Why a frame is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Not JSON, or JSON nested too deeply.
    #[error("frame is not JSON")]
    NotJson,
    /// JSON, but not an object.
    #[error("frame is not a JSON object")]
    NotAnObject,
    /// No string `command`.
    #[error("frame has no `command`")]
    NoCommand,
    /// A command we do not know.
    #[error("unknown command `{0}`")]
    Unknown(String),
    /// The command lacks a string `identifier`.
    #[error("`{0}` needs a string `identifier`")]
    NoIdentifier(&'static str),
    /// `data` is neither an object nor a string holding one.
    #[error("`data` must be a JSON object or a string holding one")]
    BadData,
    /// `history` has the wrong shape.
    #[error("`history` must be {{since?, streams?}}")]
    BadHistory,
}

impl CommandError {
    /// A fixed name for the error, for metrics (`cableway_protocol_errors_total{kind}`).
    pub const fn kind(&self) -> &'static str {
        match self {
            CommandError::NotJson => "not_json",
            CommandError::NotAnObject => "not_an_object",
            CommandError::NoCommand => "no_command",
            CommandError::Unknown(_) => "unknown_command",
            CommandError::NoIdentifier(_) => "no_identifier",
            CommandError::BadData => "bad_data",
            CommandError::BadHistory => "bad_history",
        }
    }
}

/// Parses one text frame.
///
/// # Errors
/// [`CommandError`] describing the first problem.
pub fn parse(text: &str) -> Result<Command, CommandError> {
    let v: Value = serde_json::from_str(text).map_err(|_| CommandError::NotJson)?;
    let Value::Object(mut obj) = v else { return Err(CommandError::NotAnObject) };
    let command = match obj.remove("command") {
        Some(Value::String(c)) => c,
        _ => return Err(CommandError::NoCommand),
    };
    let mut identifier = |name: &'static str| match obj.remove("identifier") {
        Some(Value::String(s)) => Ok(s),
        _ => Err(CommandError::NoIdentifier(name)),
    };
    Ok(match command.as_str() {
        "subscribe" => {
            let identifier = identifier("subscribe")?;
            let history = match obj.remove("history") {
                None | Some(Value::Null) => None,
                Some(h) => Some(serde_json::from_value(h).map_err(|_| CommandError::BadHistory)?),
            };
            Command::Subscribe { identifier, history }
        }
        "unsubscribe" => Command::Unsubscribe { identifier: identifier("unsubscribe")? },
        "message" => {
            let identifier = identifier("message")?;
            Command::Message { identifier, data: decode_data(obj.remove("data"))? }
        }
        "history" => {
            let identifier = identifier("history")?;
            let history = obj.remove("history").ok_or(CommandError::BadHistory)?;
            Command::History { identifier, history: serde_json::from_value(history).map_err(|_| CommandError::BadHistory)? }
        }
        "whisper" => {
            let identifier = identifier("whisper")?;
            Command::Whisper { identifier, data: decode_data(obj.remove("data"))? }
        }
        "pong" => Command::Pong,
        other => return Err(CommandError::Unknown(other.chars().take(64).collect())),
    })
}

/// `data` is a JSON-encoded string in v1; AnyCable's whisper and lenient clients send an object.
fn decode_data(data: Option<Value>) -> Result<Value, CommandError> {
    match data {
        Some(Value::String(s)) => match serde_json::from_str(&s) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(CommandError::BadData),
        },
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(CommandError::BadData),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands() {
        let id = r#"{"channel":"X","id":"1"}"#;
        let sub = format!(r#"{{"command":"subscribe","identifier":{}}}"#, serde_json::to_string(id).unwrap());
        assert_eq!(parse(&sub).unwrap(), Command::Subscribe { identifier: id.into(), history: None });
        let msg = json!({"command": "message", "identifier": id, "data": "{\"action\":\"go\",\"x\":1}"}).to_string();
        assert_eq!(parse(&msg).unwrap(), Command::Message { identifier: id.into(), data: json!({"action": "go", "x": 1}) });
        let obj = json!({"command": "message", "identifier": id, "data": {"action": "go"}}).to_string();
        assert!(matches!(parse(&obj).unwrap(), Command::Message { .. }));
        let hist = json!({"command": "history", "identifier": id, "history": {"since": 5, "streams": {"s": {"epoch": "e", "offset": 3}}}}).to_string();
        assert!(matches!(parse(&hist).unwrap(), Command::History { history, .. } if history.streams["s"].offset == 3));
    }

    #[test]
    fn bad_frames() {
        assert_eq!(parse("hello"), Err(CommandError::NotJson));
        assert_eq!(parse("[]"), Err(CommandError::NotAnObject));
        assert_eq!(parse("{}"), Err(CommandError::NoCommand));
        assert_eq!(parse(r#"{"command":"foo"}"#), Err(CommandError::Unknown("foo".into())));
        assert_eq!(parse(r#"{"command":"subscribe","identifier":5}"#), Err(CommandError::NoIdentifier("subscribe")));
        assert_eq!(parse(r#"{"command":"message","identifier":"x","data":"nope"}"#), Err(CommandError::BadData));
        let deep = "[".repeat(10_000);
        assert_eq!(parse(&deep), Err(CommandError::NotJson));
    }
}
