//! A WebSocket client speaking the ActionCable protocol, for black-box tests. Every receive
//! has a timeout, so a missing frame fails the test instead of hanging it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Default wait for one frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// A connected client.
pub struct Client {
    ws: Ws,
    /// The subprotocol the server echoed.
    pub protocol: Option<String>,
}

/// Builds an identifier string from a channel and params, keys in the given order.
pub fn identifier(channel: &str, params: &Value) -> String {
    let mut m = serde_json::Map::new();
    m.insert("channel".into(), json!(channel));
    if let Value::Object(p) = params {
        for (k, v) in p {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m).to_string()
}

impl Client {
    /// Connects offering `protocols` and extra headers.
    pub async fn connect_with(url: &str, protocols: &[&str], headers: &[(&str, &str)]) -> anyhow::Result<Client> {
        let mut req = url.into_client_request()?;
        if !protocols.is_empty() {
            req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(&protocols.join(", "))?);
        }
        for (k, v) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())?;
            req.headers_mut().insert(name, HeaderValue::from_str(v)?);
        }
        let (ws, resp) = tokio_tungstenite::connect_async(req).await?;
        let protocol = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client { ws, protocol })
    }

    /// Connects as the Rails client does (`actioncable-v1-json`).
    pub async fn connect(url: &str) -> Client {
        Client::connect_with(url, &["actioncable-v1-json", "actioncable-unsupported"], &[]).await.expect("connect")
    }

    /// Connects and waits for `welcome`.
    pub async fn connect_welcomed(url: &str) -> Client {
        let mut c = Client::connect(url).await;
        let w = c.recv().await.expect("welcome");
        assert_eq!(w["type"], "welcome", "{w}");
        c
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: &Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.expect("send");
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, t: &str) {
        self.ws.send(Message::Text(t.to_owned().into())).await.expect("send");
    }

    /// The next non-ping JSON frame within [`WAIT`].
    pub async fn recv(&mut self) -> Option<Value> {
        self.recv_within(WAIT).await
    }

    /// The next non-ping JSON frame within `wait`; `None` on timeout or close.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let v = self.recv_any_until(deadline).await?;
            if v["type"] != "ping" {
                return Some(v);
            }
        }
    }

    /// The next JSON frame, pings included.
    pub async fn recv_any_until(&mut self, deadline: tokio::time::Instant) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()??.ok()?;
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Waits for the close frame and returns its code (None if the socket just dropped).
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(Some(cf))))) => return Some(cf.code.into()),
                Ok(Some(Ok(Message::Close(None)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Sends `subscribe`.
    pub async fn send_subscribe(&mut self, identifier: &str) {
        self.send(&json!({ "command": "subscribe", "identifier": identifier })).await;
    }

    /// Subscribes and returns the answer frame (`confirm_subscription` or `reject_subscription`).
    pub async fn subscribe(&mut self, identifier: &str) -> Value {
        self.send_subscribe(identifier).await;
        loop {
            let v = self.recv().await.expect("subscription answer");
            if v["identifier"] == identifier && (v["type"] == "confirm_subscription" || v["type"] == "reject_subscription") {
                return v;
            }
        }
    }

    /// Subscribes and asserts confirmation.
    pub async fn subscribed(&mut self, identifier: &str) {
        let v = self.subscribe(identifier).await;
        assert_eq!(v["type"], "confirm_subscription", "{v}");
    }

    /// Sends `perform`: `message` with `data` as a JSON string holding `action` and the payload.
    pub async fn perform(&mut self, identifier: &str, action: &str, mut data: Value) {
        data["action"] = json!(action);
        self.send(&json!({ "command": "message", "identifier": identifier, "data": data.to_string() })).await;
    }

    /// The next data message (`message` key) for `identifier`.
    pub async fn message(&mut self, identifier: &str) -> Option<Value> {
        loop {
            let v = self.recv().await?;
            if v["identifier"] == identifier && v.get("message").is_some() {
                return Some(v["message"].clone());
            }
        }
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
