//! A minimal HTTP/1.1 keep-alive client for `POST /broadcast`: one request at a time per
//! connection, `TCP_NODELAY`, Content-Length or chunked answers. Cheaper and more
//! predictable inside the single-threaded generator than a full client.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection to a publish endpoint.
pub struct Publisher {
    addr: SocketAddr,
    path: String,
    bearer: Option<String>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Publisher {
    /// A publisher of `POST <path>` at `addr`, with an optional bearer key.
    pub fn new(addr: SocketAddr, path: &str, bearer: Option<&str>) -> Self {
        Publisher { addr, path: path.to_owned(), bearer: bearer.map(str::to_owned), stream: None, buf: Vec::with_capacity(4096) }
    }

    async fn stream(&mut self) -> Result<&mut TcpStream> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).await.with_context(|| format!("connect to {}", self.addr))?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        Ok(self.stream.as_mut().expect("just set"))
    }

    /// Sends one JSON body; returns the status code. Reconnects once when the server closed
    /// the idle connection.
    pub async fn post(&mut self, body: &[u8]) -> Result<u16> {
        match self.post_once(body).await {
            Ok(s) => Ok(s),
            Err(_) => {
                self.stream = None;
                self.post_once(body).await
            }
        }
    }

    async fn post_once(&mut self, body: &[u8]) -> Result<u16> {
        let mut req = format!("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", self.path, self.addr, body.len());
        if let Some(b) = &self.bearer {
            req.push_str("Authorization: Bearer ");
            req.push_str(b);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let mut out = req.into_bytes();
        out.extend_from_slice(body);
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let result = async {
            let s = self.stream().await?;
            s.write_all(&out).await?;
            read_response(s, &mut buf).await
        }
        .await;
        self.buf = buf;
        if result.is_err() {
            self.stream = None;
        }
        result
    }
}

/// `GET <path>` on a fresh connection; the JSON body. For Cableway's `/health`.
///
/// # Errors
/// Connection, HTTP or JSON errors.
pub async fn get_json(addr: SocketAddr, path: &str) -> Result<serde_json::Value> {
    let mut s = TcpStream::connect(addr).await.with_context(|| format!("connect to {addr}"))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let at = find(&buf, b"\r\n\r\n").context("no response head")? + 4;
    Ok(serde_json::from_slice(&buf[at..])?)
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0u8; 4096];
    let n = s.read(&mut chunk).await?;
    if n == 0 {
        bail!("connection closed by the server");
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        fill(s, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("response head is not UTF-8")?.to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).context("no status code")?;
    let header = |name: &str| head.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()));
    if let Some(len) = header("content-length:") {
        let len: usize = len.parse().context("bad content-length")?;
        while buf.len() < head_end + len {
            fill(s, buf).await?;
        }
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        while find(&buf[head_end..], b"0\r\n\r\n").is_none() {
            fill(s, buf).await?;
        }
    }
    Ok(status)
}
