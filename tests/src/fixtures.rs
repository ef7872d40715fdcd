//! What many tests build the same way: identifiers of the channels they use most, a
//! notification publication, joining a conversation, the Unix clock tokens are read with, and
//! the JSON lines a Node helper process prints.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::{identifier, Client};

/// Collects what `child` prints on stdout, one JSON value per line (a line that is not JSON
/// becomes `{"type": "unparsed", "line": ...}`), as it comes, until its stdout closes.
pub fn json_lines(child: &mut tokio::process::Child) -> Arc<Mutex<Vec<Value>>> {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            let v = serde_json::from_str(&line).unwrap_or_else(|_| json!({ "type": "unparsed", "line": line }));
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(v);
        }
    });
    lines
}

/// Seconds since the Unix epoch, the clock of `iat`, `exp` and history's `since`.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("a clock after 1970").as_secs() as i64
}

/// The identifier of `account`'s notifications (`NotificationChannel`).
pub fn notifications(account: &str) -> String {
    identifier("NotificationChannel", &json!({ "account_id": account }))
}

/// The identifier of conversation `id` (`AiConversationChannel`).
pub fn conversation(id: &str) -> String {
    identifier("AiConversationChannel", &json!({ "conversation_id": id }))
}

/// A valid `new_notification` payload of `account` with `id`.
pub fn notification_payload(account: &str, id: &str) -> Value {
    json!({ "id": id, "account_id": account, "notification_type": "test.hello", "title": "Hi", "message": "m",
        "severity": "info", "read": false, "created_at": "2026-01-01T00:00:00Z" })
}

/// A publication of [`notification_payload`] (the body of `POST /broadcast`).
pub fn notification(account: &str, id: &str) -> Value {
    json!({ "channel": "NotificationChannel", "event": "new_notification", "payload": notification_payload(account, id) })
}

/// Subscribes `c`, a connection of `user`, to conversation `conversation_id` and reads the
/// channel's declared on-subscribe message; returns the identifier.
pub async fn join_conversation<S: AsyncRead + AsyncWrite + Unpin>(c: &mut Client<S>, conversation_id: &str, user: &str) -> String {
    let id = conversation(conversation_id);
    let hello = c.joined(&id).await;
    assert_eq!(hello["event"], "subscription.confirmed", "{hello}");
    assert_eq!(hello["payload"], json!({ "conversation_id": conversation_id, "user_id": user }));
    id
}
