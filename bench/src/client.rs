//! Subscribers: connect and handshake per protocol, then a reader task per connection that
//! records every sequence-numbered delivery in the shared [`Recorder`].
//!
//! Every broadcast payload carries its sequence number as `~s<seq>~` inside a string, which
//! survives any JSON wrapping (ActionCable's `{identifier,message}`, Socket.IO's
//! `42["m",…]`) and any spacing, so frames are matched without parsing them.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::spec::{Proto, Spec};

/// A connected subscriber.
pub type Socket = WebSocketStream<TcpStream>;

/// The sequence number of a payload (`~s<seq>~`), if it carries one.
pub fn seq_of(text: &str) -> Option<u32> {
    let at = text.find("~s")?;
    let digits = &text[at + 2..];
    let end = digits.find('~')?;
    digits[..end].parse().ok()
}

/// Delivery bookkeeping shared by the readers and the scheduler (one thread).
#[derive(Debug, Default)]
pub struct Recorder {
    /// When each broadcast was (scheduled to be) published.
    pub sent: Vec<Option<Instant>>,
    /// Which phase each broadcast belongs to.
    pub phase: Vec<u16>,
    /// Whether its publish request failed (then nobody is expected to get it).
    pub failed: Vec<bool>,
    /// Distinct receipts per broadcast.
    pub count: Vec<u32>,
    /// Last receipt per broadcast.
    pub last: Vec<Option<Instant>>,
    /// Per-recipient latency samples (µs) per phase.
    pub samples: Vec<Vec<u32>>,
    /// Per client: bitmap of the sequence numbers it received.
    pub seen: Vec<Vec<u64>>,
    /// Same client, same broadcast, again.
    pub duplicates: u64,
    /// Frames with a sequence number never published.
    pub unknown: u64,
    /// Connections that ended during the run.
    pub disconnects: u64,
    /// Publish requests that failed.
    pub publish_errors: u64,
    /// First errors.
    pub errors: Vec<String>,
}

impl Recorder {
    /// A recorder for `clients` connections.
    pub fn new(clients: usize) -> Self {
        Recorder { seen: vec![Vec::new(); clients], ..Default::default() }
    }

    /// A new broadcast of `phase`; returns its sequence number.
    pub fn next_seq(&mut self, phase: u16) -> u32 {
        let seq = self.sent.len() as u32;
        self.sent.push(None);
        self.phase.push(phase);
        self.failed.push(false);
        self.count.push(0);
        self.last.push(None);
        while self.samples.len() <= phase as usize {
            self.samples.push(Vec::new());
        }
        seq
    }

    /// Records one receipt.
    pub fn on_delivery(&mut self, client: usize, seq: u32, now: Instant) {
        let s = seq as usize;
        if s >= self.count.len() {
            self.unknown += 1;
            return;
        }
        let bits = &mut self.seen[client];
        let (w, m) = (s / 64, 1u64 << (s % 64));
        if bits.len() <= w {
            bits.resize(w + 1, 0);
        }
        if bits[w] & m != 0 {
            self.duplicates += 1;
            return;
        }
        bits[w] |= m;
        self.count[s] += 1;
        self.last[s] = Some(now);
        if let Some(t0) = self.sent[s] {
            let us = now.saturating_duration_since(t0).as_micros().min(u32::MAX as u128) as u32;
            self.samples[self.phase[s] as usize].push(us);
        }
    }

    /// Keeps the first few errors.
    pub fn error(&mut self, e: String) {
        if self.errors.len() < 10 {
            self.errors.push(e);
        }
    }
}

fn ws_config() -> WebSocketConfig {
    // 4 KiB read buffer: tungstenite's 128 KiB default is allocated and zero-filled per read
    // (perf.md §1.6) and would make the generator the bottleneck.
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0)
}

fn host_port(url: &str) -> Result<SocketAddr> {
    let rest = url.strip_prefix("ws://").ok_or_else(|| anyhow!("only ws:// URLs: {url}"))?;
    let hp = rest.split(['/', '?']).next().unwrap_or_default();
    hp.parse().with_context(|| format!("host:port of {url}"))
}

/// Opens the TCP connection (from `source` when given) and does the WebSocket handshake.
async fn open(spec: &Spec, source: Option<IpAddr>) -> Result<Socket> {
    let addr = host_port(&spec.ws_url)?;
    let tcp = match source {
        Some(ip) => {
            let s = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            s.bind(SocketAddr::new(ip, 0))?;
            s.connect(addr).await?
        }
        None => TcpStream::connect(addr).await?,
    };
    tcp.set_nodelay(true)?;
    let mut req = spec.ws_url.as_str().into_client_request()?;
    if let Some(p) = &spec.subprotocol {
        req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p)?);
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, tcp, Some(ws_config())).await?;
    Ok(ws)
}

/// Reads until a text frame satisfies `done`, answering Socket.IO pings on the way.
async fn expect(ws: &mut Socket, proto: Proto, what: &str, done: impl Fn(&str) -> bool) -> Result<()> {
    while let Some(msg) = ws.next().await {
        match msg? {
            Message::Text(t) => {
                if done(&t) {
                    return Ok(());
                }
                if proto == Proto::SocketIo && t.as_str() == "2" {
                    ws.send(Message::text("3")).await?;
                } else if t.contains("reject_subscription") || t.contains("\"disconnect\"") {
                    bail!("refused while waiting for {what}: {}", &t[..t.len().min(200)]);
                }
            }
            Message::Close(c) => bail!("closed while waiting for {what}: {c:?}"),
            _ => {}
        }
    }
    bail!("connection ended while waiting for {what}")
}

/// Connects one subscriber and waits until it is subscribed.
pub async fn connect(spec: &Spec, source: Option<IpAddr>) -> Result<Socket> {
    let mut ws = open(spec, source).await?;
    match spec.proto {
        Proto::Cable => {
            expect(&mut ws, spec.proto, "welcome", |t| t.contains("welcome")).await?;
            let identifier = spec.identifier.as_deref().ok_or_else(|| anyhow!("an ActionCable run needs an identifier"))?;
            let cmd = serde_json::json!({ "command": "subscribe", "identifier": identifier }).to_string();
            ws.send(Message::text(cmd)).await?;
            expect(&mut ws, spec.proto, "confirm_subscription", |t| t.contains("confirm_subscription")).await?;
        }
        Proto::Ws => {
            ws.send(Message::text(r#"{"type":"subscribe"}"#)).await?;
            expect(&mut ws, spec.proto, "confirm", |t| t.contains("confirm")).await?;
        }
        Proto::SocketIo => {
            expect(&mut ws, spec.proto, "engine.io open", |t| t.starts_with('0')).await?;
            ws.send(Message::text("40")).await?;
            expect(&mut ws, spec.proto, "socket.io connect", |t| t.starts_with("40")).await?;
            ws.send(Message::text(r#"42["subscribe"]"#)).await?;
            expect(&mut ws, spec.proto, "confirmed", |t| t.starts_with("42") && t.contains("confirmed")).await?;
        }
        Proto::Floor => expect(&mut ws, spec.proto, "welcome", |t| t.contains("welcome")).await?,
    }
    Ok(ws)
}

/// Reads one subscriber's frames until the connection ends, recording deliveries.
pub async fn read_loop(mut ws: Socket, client: usize, proto: Proto, rec: Rc<RefCell<Recorder>>) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if let Some(seq) = seq_of(&t) {
                    let now = Instant::now();
                    rec.borrow_mut().on_delivery(client, seq, now);
                } else if proto == Proto::SocketIo && t.as_str() == "2" && ws.send(Message::text("3")).await.is_err() {
                    break;
                }
            }
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                rec.borrow_mut().error(format!("client {client}: {e}"));
                break;
            }
        }
    }
    rec.borrow_mut().disconnects += 1;
}

/// How long one connect may take before it counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_survive_any_wrapping() {
        assert_eq!(seq_of(r#"{"identifier":"x","message":{"payload":{"message":"~s42~ pad"}}}"#), Some(42));
        assert_eq!(seq_of(r#"42["m",{"message": "~s7~"}]"#), Some(7));
        assert_eq!(seq_of(r#"{"type":"ping","message":1}"#), None);
        assert_eq!(seq_of("~s12"), None);
    }

    #[test]
    fn duplicates_and_unknowns_are_counted() {
        let mut r = Recorder::new(2);
        let s = r.next_seq(1);
        r.sent[s as usize] = Some(Instant::now());
        r.on_delivery(0, s, Instant::now());
        r.on_delivery(0, s, Instant::now());
        r.on_delivery(1, s, Instant::now());
        r.on_delivery(1, 99, Instant::now());
        assert_eq!((r.count[0], r.duplicates, r.unknown, r.samples[1].len()), (2, 1, 1, 2));
    }
}
