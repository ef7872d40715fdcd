//! A WebSocket client speaking the ActionCable protocol, for black-box tests. Every receive
//! has a timeout, so a missing frame fails the test instead of hanging it.
//!
//! The client runs over any byte stream: a TCP socket to the real binary (the default), or
//! an in-memory pipe to a server in the test's own runtime ([`crate::in_process`]).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Default wait for one frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// The subprotocols the Rails client offers.
pub const RAILS_PROTOCOLS: [&str; 2] = ["actioncable-v1-json", "actioncable-unsupported"];

/// A raw WebSocket (`actioncable-v1-json`) to `url` at `addr` over a socket whose receive
/// buffer is 4 KiB, set before connecting: a client that then stops reading makes the
/// server's writes stall after a few KiB, as a slow consumer's would.
pub async fn small_buffer(addr: std::net::SocketAddr, url: &str) -> WebSocketStream<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect");
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("actioncable-v1-json"));
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await.expect("handshake");
    ws
}

/// A connected client over `S` (a TCP socket unless said otherwise).
pub struct Client<S = MaybeTlsStream<tokio::net::TcpStream>> {
    ws: WebSocketStream<S>,
    /// The subprotocol the server echoed.
    pub protocol: Option<String>,
}

/// What [`Client::next_frame`] got.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// A frame.
    Frame(Value),
    /// The connection closed (a close frame, an error, or the socket gone).
    Closed,
    /// Nothing came before the deadline.
    TimedOut,
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

/// The upgrade request for `url`, offering `protocols`, with extra headers.
pub fn request(url: &str, protocols: &[&str], headers: &[(&str, &str)]) -> anyhow::Result<Request> {
    let mut req = url.into_client_request()?;
    if !protocols.is_empty() {
        req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(&protocols.join(", "))?);
    }
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())?;
        req.headers_mut().insert(name, HeaderValue::from_str(v)?);
    }
    Ok(req)
}

impl Client {
    /// Connects offering `protocols` and extra headers.
    pub async fn connect_with(url: &str, protocols: &[&str], headers: &[(&str, &str)]) -> anyhow::Result<Client> {
        let (ws, resp) = tokio_tungstenite::connect_async(request(url, protocols, headers)?).await?;
        Ok(Client::upgraded(ws, &resp))
    }

    /// Connects as the Rails client does (`actioncable-v1-json`).
    pub async fn connect(url: &str) -> Client {
        Client::connect_with(url, &RAILS_PROTOCOLS, &[]).await.expect("connect")
    }

    /// Connects and waits for `welcome`.
    pub async fn connect_welcomed(url: &str) -> Client {
        Client::connect(url).await.welcomed().await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Upgrades an open byte stream (the handshake of `request`).
    pub async fn handshake(request: Request, stream: S) -> anyhow::Result<Client<S>> {
        let (ws, resp) = tokio_tungstenite::client_async(request, stream).await?;
        Ok(Client::upgraded(ws, &resp))
    }

    fn upgraded(ws: WebSocketStream<S>, resp: &tokio_tungstenite::tungstenite::handshake::client::Response) -> Client<S> {
        let protocol = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Client { ws, protocol }
    }

    /// Waits for `welcome` (it must be the first frame).
    pub async fn welcomed(mut self) -> Client<S> {
        let w = self.recv().await.expect("welcome");
        assert_eq!(w["type"], "welcome", "{w}");
        self
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: &Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.expect("send");
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, t: &str) {
        self.ws.send(Message::Text(t.to_owned().into())).await.expect("send");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, b: &[u8]) {
        self.ws.send(Message::Binary(b.to_vec().into())).await.expect("send");
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

    /// The next non-ping JSON frame before `deadline`, telling a closed connection from a
    /// silent one (a client that follows a node across faults must know which it was).
    pub async fn next_frame(&mut self, deadline: tokio::time::Instant) -> Next {
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Next::TimedOut,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Next::Closed,
                Ok(Some(Ok(m))) => m,
            };
            if let Message::Text(t) = msg {
                match serde_json::from_str::<Value>(&t) {
                    Ok(v) if v["type"] == "ping" => continue,
                    Ok(v) => return Next::Frame(v),
                    Err(_) => continue,
                }
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

    /// Subscribes, asserts confirmation, and returns the channel's on-subscribe message.
    pub async fn joined(&mut self, identifier: &str) -> Value {
        self.subscribed(identifier).await;
        self.message(identifier).await.unwrap_or_else(|| panic!("no on-subscribe message on {identifier}"))
    }

    /// A round trip on this connection: the server handles one connection's commands in
    /// order, so once this one's answer is here, every command sent before it has been
    /// handled. (A subscribe to a channel that does not exist, rejected at once.) Returns
    /// the frames that came before the answer.
    pub async fn round_trip(&mut self) -> Vec<Value> {
        let probe = identifier("NoSuchChannelRoundTrip", &json!({}));
        self.send_subscribe(&probe).await;
        let mut before = Vec::new();
        loop {
            let v = self.recv().await.expect("the answer to the round trip");
            if v["identifier"] == probe.as_str() {
                assert_eq!(v, json!({ "identifier": probe, "type": "reject_subscription", "reason": "unknown_channel" }));
                return before;
            }
            before.push(v);
        }
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
