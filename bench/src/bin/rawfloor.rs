//! `rawfloor PORT`: the benchmark's raw floor. A WebSocket "server" with no server logic:
//! it answers upgrades (`GET` any path) with `101` and a `{"type":"welcome"}` frame, and on
//! `POST /broadcast` encodes the body once as an unmasked text frame and `write()`s it to
//! every socket, one syscall each. What it costs per delivery is the least any server can
//! cost on this machine with one write per message.
//!
//! Single thread (tokio `current_thread`); upgraded sockets leave tokio and are written with
//! plain non-blocking `write()`. A write that would block keeps the rest of the frame in a
//! per-socket backlog, flushed before the next frame and every millisecond. Binds 127.0.0.1.

use std::cell::RefCell;
use std::io::{ErrorKind, Write};
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct Conn {
    sock: std::net::TcpStream,
    backlog: Vec<u8>,
}

#[derive(Default)]
struct Floor {
    conns: Vec<Conn>,
    /// Some socket has a backlog (the flusher runs only then).
    dirty: bool,
    flusher: Rc<tokio::sync::Notify>,
}

impl Floor {
    /// Writes `frame` to every socket; returns how many got it (or have it in their backlog).
    fn broadcast(&mut self, frame: &[u8]) -> usize {
        let mut dirty = false;
        self.conns.retain_mut(|c| {
            let alive = send(c, frame);
            dirty |= !c.backlog.is_empty();
            alive
        });
        self.mark(dirty);
        self.conns.len()
    }

    fn flush_backlogs(&mut self) {
        let mut dirty = false;
        self.conns.retain_mut(|c| {
            let alive = c.backlog.is_empty() || send(c, &[]);
            dirty |= !c.backlog.is_empty();
            alive
        });
        self.dirty = dirty;
    }

    fn mark(&mut self, dirty: bool) {
        if dirty && !self.dirty {
            self.dirty = true;
            self.flusher.notify_one();
        }
    }
}

/// Queues `frame` behind the backlog and writes as much as the socket takes; false when the
/// socket is dead.
fn send(c: &mut Conn, frame: &[u8]) -> bool {
    if c.backlog.is_empty() {
        match c.sock.write(frame) {
            Ok(n) if n == frame.len() => return true,
            Ok(n) => c.backlog.extend_from_slice(&frame[n..]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => c.backlog.extend_from_slice(frame),
            Err(_) => return false,
        }
        return true;
    }
    c.backlog.extend_from_slice(frame);
    match c.sock.write(&c.backlog) {
        Ok(n) => {
            c.backlog.drain(..n);
            true
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => true,
        Err(_) => false,
    }
}

/// An unmasked, final text frame.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 10);
    f.push(0x81);
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn handle(mut s: TcpStream, floor: Rc<RefCell<Floor>>) -> Result<()> {
    s.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        // One request head.
        let end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        if head.starts_with("GET ") {
            let key = header(&head, "sec-websocket-key").context("not a websocket upgrade")?;
            let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let resp = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
            s.write_all(resp.as_bytes()).await?;
            let sock = s.into_std()?;
            sock.set_nonblocking(true)?;
            let mut conn = Conn { sock, backlog: Vec::new() };
            if send(&mut conn, &text_frame(br#"{"type":"welcome"}"#)) {
                let mut f = floor.borrow_mut();
                let dirty = !conn.backlog.is_empty();
                f.conns.push(conn);
                f.mark(dirty);
            }
            return Ok(());
        }
        let len: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while buf.len() < end + len {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let reply = if head.starts_with("POST /broadcast") {
            let frame = text_frame(&buf[end..end + len]);
            let n = floor.borrow_mut().broadcast(&frame);
            format!("{{\"deliveries\":{n}}}")
        } else {
            String::from("{}")
        };
        buf.drain(..end + len);
        let resp = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}", reply.len());
        s.write_all(resp.as_bytes()).await?;
    }
}

fn main() -> Result<()> {
    let port: u16 = std::env::args().nth(1).context("usage: rawfloor PORT")?.parse()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        let listener = socket.listen(4096)?;
        println!("rawfloor listening on {}", listener.local_addr()?);
        let floor = Rc::new(RefCell::new(Floor::default()));
        let (f2, wake) = (floor.clone(), floor.borrow().flusher.clone());
        tokio::task::spawn_local(async move {
            loop {
                wake.notified().await;
                while f2.borrow().dirty {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    f2.borrow_mut().flush_backlogs();
                }
            }
        });
        loop {
            let (s, _) = listener.accept().await?;
            let floor = floor.clone();
            tokio::task::spawn_local(async move {
                let _ = handle(s, floor).await;
            });
        }
    })
}
