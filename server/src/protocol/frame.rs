//! Server → client frames, exactly as ActionCable and AnyCable write them.

use serde_json::json;

use super::DisconnectReason;

/// `{"type":"welcome"}`, with the session id and restore fields of the ext protocol.
pub fn welcome(sid: Option<&str>, restored_ids: Option<&[String]>) -> String {
    let mut v = json!({ "type": "welcome" });
    if let Some(sid) = sid {
        v["sid"] = json!(sid);
    }
    if let Some(ids) = restored_ids {
        v["restored"] = json!(true);
        v["restored_ids"] = json!(ids);
    }
    v.to_string()
}

/// `{"type":"ping","message":<unix seconds>}`.
pub fn ping(unix_seconds: u64) -> String {
    format!(r#"{{"type":"ping","message":{unix_seconds}}}"#)
}

/// `{"identifier":"<id>","type":"confirm_subscription"}`.
pub fn confirm(identifier: &str) -> String {
    json!({ "identifier": identifier, "type": "confirm_subscription" }).to_string()
}

/// `{"identifier":"<id>","type":"reject_subscription","reason":"<code>"}`; clients ignore the extra key.
pub fn reject(identifier: &str, reason: &str) -> String {
    json!({ "identifier": identifier, "type": "reject_subscription", "reason": reason }).to_string()
}

/// `{"type":"confirm_history","identifier":"<id>"}` / `reject_history`.
pub fn history(identifier: &str, confirmed: bool) -> String {
    let kind = if confirmed { "confirm_history" } else { "reject_history" };
    json!({ "type": kind, "identifier": identifier }).to_string()
}

/// `{"type":"disconnect","reason":"<r>","reconnect":<bool>}`: `reconnect` is always explicit,
/// because the Rails client stops reconnecting when it is missing.
pub fn disconnect(reason: DisconnectReason) -> String {
    json!({ "type": "disconnect", "reason": reason.as_str(), "reconnect": reason.reconnect() }).to_string()
}

/// A data frame `{"identifier":"<id>","message":<json>}` around already-encoded JSON, so a
/// broadcast's message is encoded once and spliced into each identifier group's frame.
pub fn data(identifier: &str, message_json: &str) -> String {
    let id = serde_json::to_string(identifier).unwrap_or_else(|_| "\"\"".into());
    let mut s = String::with_capacity(message_json.len() + id.len() + 28);
    s.push_str("{\"identifier\":");
    s.push_str(&id);
    s.push_str(",\"message\":");
    s.push_str(message_json);
    s.push('}');
    s
}

/// A data frame carrying the stream position (ext protocol).
pub fn data_at(identifier: &str, message_json: &str, stream_id: &str, epoch: &str, offset: u64) -> String {
    let mut s = data(identifier, message_json);
    s.pop();
    s.push_str(",\"stream_id\":");
    s.push_str(&serde_json::to_string(stream_id).unwrap_or_default());
    s.push_str(",\"epoch\":");
    s.push_str(&serde_json::to_string(epoch).unwrap_or_default());
    s.push_str(&format!(",\"offset\":{offset}}}"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn frames_are_valid_json_of_the_right_shape() {
        let id = "{\"channel\":\"X\",\"id\":\"1\"}";
        let d: Value = serde_json::from_str(&data(id, r#"{"event":"a"}"#)).unwrap();
        assert_eq!(d, json!({ "identifier": id, "message": { "event": "a" } }));
        let d: Value = serde_json::from_str(&data_at(id, "1", "s:1", "e", 7)).unwrap();
        assert_eq!(d, json!({ "identifier": id, "message": 1, "stream_id": "s:1", "epoch": "e", "offset": 7 }));
        assert_eq!(disconnect(DisconnectReason::Unauthorized), r#"{"type":"disconnect","reason":"unauthorized","reconnect":false}"#);
        assert_eq!(disconnect(DisconnectReason::TooSlow), r#"{"type":"disconnect","reason":"too_slow","reconnect":true}"#);
        assert_eq!(ping(17), r#"{"type":"ping","message":17}"#);
    }
}
