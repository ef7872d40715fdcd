//! RFC 6455 framing: the frames the server writes, and an incremental decoder of what a
//! client sends.
//!
//! Server frames are unmasked and never fragmented, so a [`Frame`] is the whole thing —
//! header and payload — encoded once and shared: a broadcast's frame is one allocation that
//! every subscriber's queue points to. Client frames are masked; the [`Decoder`] unmasks
//! them in place in the buffer they were read into and hands complete messages over as
//! borrowed slices. It keeps bytes only for what straddles reads: a partial header (inline),
//! a fragmented or partly received message, a split control frame. Between frames it holds
//! no heap memory at all.
//!
//! Limits are checked from the header, before the payload is read: a message whose size
//! passes the cap (one frame, or fragments summing over it) is refused at once (1009).
//! Text is checked for UTF-8 as it arrives, so invalid text fails fast (1007).

use std::sync::Arc;
use std::time::Instant;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Close codes the server sends.
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Text that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A message over the size limit.
    pub const TOO_BIG: u16 = 1009;
}

/// One encoded server frame: header and payload, ready for the socket. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Frame {
    bytes: Arc<[u8]>,
    /// When the publication it carries was accepted (broadcast frames), for fan-out latency.
    published: Option<Instant>,
    /// Counted in the connection's outbound byte budget (everything the application queues;
    /// not the transport's own pongs).
    counted: bool,
}

impl Frame {
    fn encode(opcode: u8, parts: &[&[u8]]) -> Frame {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut head = [0u8; 10];
        head[0] = 0x80 | opcode;
        let head_len = match len {
            n if n < 126 => {
                head[1] = n as u8;
                2
            }
            n if n <= u16::MAX as usize => {
                head[1] = 126;
                head[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                head[1] = 127;
                head[2..10].copy_from_slice(&(n as u64).to_be_bytes());
                10
            }
        };
        let mut bytes = Vec::with_capacity(head_len + len);
        bytes.extend_from_slice(&head[..head_len]);
        for p in parts {
            bytes.extend_from_slice(p);
        }
        Frame { bytes: Arc::from(bytes), published: None, counted: true }
    }

    /// A text frame.
    pub fn text(text: &str) -> Frame {
        Frame::encode(OP_TEXT, &[text.as_bytes()])
    }

    /// A binary frame.
    pub fn binary(data: &[u8]) -> Frame {
        Frame::encode(OP_BINARY, &[data])
    }

    /// A close frame with a code and a reason (cut to fit a control frame).
    pub fn close(code: u16, reason: &str) -> Frame {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Frame::encode(OP_CLOSE, &[&code.to_be_bytes(), &reason.as_bytes()[..end]])
    }

    /// A close frame with no code (the answer to a close that carried none).
    pub fn close_empty() -> Frame {
        Frame::encode(OP_CLOSE, &[])
    }

    /// A ping control frame.
    pub fn ping(payload: &[u8]) -> Frame {
        Frame::encode(OP_PING, &[&payload[..payload.len().min(125)]])
    }

    /// The pong answering a ping; it is the transport's own, outside the outbound budget.
    pub fn pong(payload: &[u8]) -> Frame {
        Frame { counted: false, ..Frame::encode(OP_PONG, &[payload]) }
    }

    /// The same frame, stamped with when its publication was accepted.
    pub fn published_at(mut self, at: Instant) -> Frame {
        self.published = Some(at);
        self
    }

    /// Encoded length, header included.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: every frame has a header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// When its publication was accepted, for broadcast frames.
    pub fn published(&self) -> Option<Instant> {
        self.published
    }

    /// Whether it counts in the outbound byte budget.
    pub fn counted(&self) -> bool {
        self.counted
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame::text(&text)
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Frame {
        Frame::text(text)
    }
}

/// A complete message or control frame from the client, borrowed from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// A text message (UTF-8 checked).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A ping; its payload is to be echoed in a pong.
    Ping(&'a [u8]),
    /// A pong.
    Pong,
    /// A close frame: its code (none when the frame had no payload).
    Close(Option<u16>),
}

/// Why the decoder refuses the stream; the connection is closed with [`Violation::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Bad framing: reserved bits or opcodes, an unmasked frame, a bad control frame, a
    /// continuation out of place, an invalid close code (1002).
    Protocol,
    /// Text, or a close reason, that is not UTF-8 (1007).
    InvalidUtf8,
    /// A message over the size limit (1009).
    TooBig,
}

impl Violation {
    /// The close code for it.
    pub const fn code(self) -> u16 {
        match self {
            Violation::Protocol => close_code::PROTOCOL_ERROR,
            Violation::InvalidUtf8 => close_code::INVALID_PAYLOAD,
            Violation::TooBig => close_code::TOO_BIG,
        }
    }
}

/// Whether the reader keeps going after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read on.
    Continue,
    /// Stop here: the connection is ending.
    Stop,
}

/// The header of the frame whose payload is being received.
#[derive(Debug, Clone, Copy)]
struct Head {
    opcode: u8,
    fin: bool,
    mask: [u8; 4],
    /// Payload bytes still to come.
    remaining: usize,
    /// Payload bytes received so far (the mask's phase).
    received: usize,
}

/// The incremental decoder of one connection's client frames.
#[derive(Debug, Default)]
pub struct Decoder {
    /// A header cut by the end of a read (at most 14 bytes).
    head_buf: [u8; 14],
    head_len: u8,
    /// The frame whose payload did not fully arrive yet.
    current: Option<Head>,
    /// Opcode of the data message in progress (fragmented, or a frame cut by a read).
    message_op: Option<u8>,
    /// Its payload so far, unmasked. Empty, with no allocation, between messages.
    message: Vec<u8>,
    /// How much of `message` is known to be valid UTF-8 (text only).
    utf8_valid: usize,
    /// A control frame's payload cut by a read (rare).
    control: Vec<u8>,
    /// The stream ended (close frame or violation): nothing more is decoded.
    done: bool,
}

impl Decoder {
    /// Whether the decoder holds heap memory (a partial message or control frame).
    pub fn holds_memory(&self) -> bool {
        self.message.capacity() > 0 || self.control.capacity() > 0
    }

    /// Decodes `data` (just read; unmasked in place), calling `on` for each complete message
    /// or control frame, until `on` says [`Flow::Stop`] or a close frame arrives.
    ///
    /// # Errors
    /// The [`Violation`] that ends the stream.
    pub fn decode(&mut self, data: &mut [u8], max_message: usize, on: &mut dyn FnMut(Inbound<'_>) -> Flow) -> Result<Flow, Violation> {
        let mut pos = 0;
        while pos < data.len() && !self.done {
            let Some(head) = self.current else {
                // A header, completed from `head_buf` when a read cut it.
                let (head, used) = if self.head_len == 0 {
                    match parse_head(&data[pos..])? {
                        Some(h) => h,
                        None => {
                            let rest = data.len() - pos;
                            self.head_buf[..rest].copy_from_slice(&data[pos..]);
                            self.head_len = rest as u8;
                            return Ok(Flow::Continue);
                        }
                    }
                } else {
                    let have = self.head_len as usize;
                    let take = (self.head_buf.len() - have).min(data.len() - pos);
                    self.head_buf[have..have + take].copy_from_slice(&data[pos..pos + take]);
                    match parse_head(&self.head_buf[..have + take])? {
                        Some((h, used)) => {
                            self.head_len = 0;
                            (h, used - have)
                        }
                        None => {
                            self.head_len = (have + take) as u8;
                            return Ok(Flow::Continue);
                        }
                    }
                };
                pos += used;
                self.check(&head, max_message)?;
                let avail = data.len() - pos;
                let is_control = head.opcode >= OP_CLOSE;
                // The common case: a whole frame in this read, not part of a fragmented
                // message. Handled where it lies, without copying.
                if head.remaining <= avail && (is_control || (head.fin && self.message_op.is_none())) {
                    let payload = &mut data[pos..pos + head.remaining];
                    pos += head.remaining;
                    unmask(payload, head.mask, 0);
                    let flow = if is_control { self.control_frame(head.opcode, payload, on)? } else { self.message_whole(head.opcode, payload, on)? };
                    if flow == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                    continue;
                }
                if !is_control && head.opcode != OP_CONTINUATION {
                    self.message_op = Some(head.opcode);
                    self.utf8_valid = 0;
                }
                if head.remaining == 0 {
                    // An empty non-final fragment, or an empty final continuation.
                    if let Flow::Stop = self.frame_done(&head, on)? {
                        return Ok(Flow::Stop);
                    }
                    continue;
                }
                self.current = Some(head);
                continue;
            };
            // Payload of a frame that did not fit in one read.
            let take = head.remaining.min(data.len() - pos);
            let chunk = &mut data[pos..pos + take];
            pos += take;
            unmask(chunk, head.mask, head.received);
            let mut head = head;
            head.remaining -= take;
            head.received += take;
            if head.opcode >= OP_CLOSE {
                self.control.extend_from_slice(chunk);
            } else {
                self.message.extend_from_slice(chunk);
                self.check_utf8(false)?;
            }
            if head.remaining > 0 {
                self.current = Some(head);
                continue;
            }
            self.current = None;
            if let Flow::Stop = self.frame_done(&head, on)? {
                return Ok(Flow::Stop);
            }
        }
        Ok(if self.done { Flow::Stop } else { Flow::Continue })
    }

    /// Frame rules that need the decoder's state.
    fn check(&self, head: &Head, max_message: usize) -> Result<(), Violation> {
        match head.opcode {
            OP_CONTINUATION if self.message_op.is_none() => Err(Violation::Protocol),
            OP_TEXT | OP_BINARY if self.message_op.is_some() => Err(Violation::Protocol),
            OP_CONTINUATION | OP_TEXT | OP_BINARY if self.message.len() + head.remaining > max_message => Err(Violation::TooBig),
            _ => Ok(()),
        }
    }

    /// A frame received in parts is complete.
    fn frame_done(&mut self, head: &Head, on: &mut dyn FnMut(Inbound<'_>) -> Flow) -> Result<Flow, Violation> {
        if head.opcode >= OP_CLOSE {
            let payload = std::mem::take(&mut self.control);
            return self.control_frame(head.opcode, &payload, on);
        }
        if !head.fin {
            return Ok(Flow::Continue);
        }
        self.check_utf8(true)?;
        let message = std::mem::take(&mut self.message);
        let op = self.message_op.take().unwrap_or(OP_BINARY);
        // Already checked: hand over without checking again.
        let flow = match op {
            OP_TEXT => on(Inbound::Text(std::str::from_utf8(&message).map_err(|_| Violation::InvalidUtf8)?)),
            _ => on(Inbound::Binary(&message)),
        };
        Ok(flow)
    }

    /// A whole unfragmented message, in place.
    fn message_whole(&mut self, opcode: u8, payload: &[u8], on: &mut dyn FnMut(Inbound<'_>) -> Flow) -> Result<Flow, Violation> {
        Ok(match opcode {
            OP_TEXT => on(Inbound::Text(std::str::from_utf8(payload).map_err(|_| self.fail(Violation::InvalidUtf8))?)),
            _ => on(Inbound::Binary(payload)),
        })
    }

    fn control_frame(&mut self, opcode: u8, payload: &[u8], on: &mut dyn FnMut(Inbound<'_>) -> Flow) -> Result<Flow, Violation> {
        match opcode {
            OP_PING => Ok(on(Inbound::Ping(payload))),
            OP_PONG => Ok(on(Inbound::Pong)),
            _ => {
                let code = match payload {
                    [] => None,
                    [_] => return Err(self.fail(Violation::Protocol)),
                    [a, b, reason @ ..] => {
                        let code = u16::from_be_bytes([*a, *b]);
                        if !valid_close_code(code) {
                            return Err(self.fail(Violation::Protocol));
                        }
                        if std::str::from_utf8(reason).is_err() {
                            return Err(self.fail(Violation::InvalidUtf8));
                        }
                        Some(code)
                    }
                };
                self.done = true;
                on(Inbound::Close(code));
                Ok(Flow::Stop)
            }
        }
    }

    /// Checks the text received so far; `complete` when the message has ended.
    fn check_utf8(&mut self, complete: bool) -> Result<(), Violation> {
        if self.message_op != Some(OP_TEXT) {
            return Ok(());
        }
        match std::str::from_utf8(&self.message[self.utf8_valid..]) {
            Ok(_) => self.utf8_valid = self.message.len(),
            // Cut in the middle of a character: fine until the message ends.
            Err(e) if e.error_len().is_none() && !complete => self.utf8_valid += e.valid_up_to(),
            Err(_) => return Err(self.fail(Violation::InvalidUtf8)),
        }
        Ok(())
    }

    fn fail(&mut self, v: Violation) -> Violation {
        self.done = true;
        v
    }
}

/// Parses a frame header with the rules that need no state; `None` when `buf` is too short.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Violation> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        // No extension is negotiated, so every reserved bit must be 0.
        return Err(Violation::Protocol);
    }
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0F);
    match opcode {
        OP_CONTINUATION | OP_TEXT | OP_BINARY => {}
        OP_CLOSE | OP_PING | OP_PONG => {
            if !fin || b1 & 0x7F > 125 {
                return Err(Violation::Protocol);
            }
        }
        _ => return Err(Violation::Protocol),
    }
    if b1 & 0x80 == 0 {
        // Clients must mask (RFC 6455 §5.1).
        return Err(Violation::Protocol);
    }
    let (len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().unwrap_or_default()), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if len >> 63 != 0 {
        return Err(Violation::Protocol);
    }
    let Some(mask) = buf.get(at..at + 4) else { return Ok(None) };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    // Anything past usize is over any limit; the limit check refuses it.
    let remaining = usize::try_from(len).unwrap_or(usize::MAX);
    Ok(Some((Head { opcode, fin, mask, remaining, received: 0 }, at + 4)))
}

/// Registered close codes a peer may send (RFC 6455 §7.4, IANA), and the private ranges.
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// XORs `buf` with the mask, starting `offset` bytes into the payload.
fn unmask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let m = [mask[offset % 4], mask[(offset + 1) % 4], mask[(offset + 2) % 4], mask[(offset + 3) % 4]];
    let wide = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn client(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    #[derive(Debug, PartialEq)]
    enum Got {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
        Pong,
        Close(Option<u16>),
    }

    /// Feeds `bytes` in pieces of `step` bytes.
    fn feed(bytes: &[u8], step: usize, max: usize) -> (Vec<Got>, Result<Flow, Violation>) {
        let mut d = Decoder::default();
        let mut got = Vec::new();
        let mut result = Ok(Flow::Continue);
        for piece in bytes.chunks(step) {
            let mut piece = piece.to_vec();
            result = d.decode(&mut piece, max, &mut |e| {
                got.push(match e {
                    Inbound::Text(t) => Got::Text(t.to_owned()),
                    Inbound::Binary(b) => Got::Binary(b.to_vec()),
                    Inbound::Ping(p) => Got::Ping(p.to_vec()),
                    Inbound::Pong => Got::Pong,
                    Inbound::Close(c) => Got::Close(c),
                });
                Flow::Continue
            });
            if result != Ok(Flow::Continue) {
                break;
            }
        }
        (got, result)
    }

    #[test]
    fn messages_arrive_whole_however_the_reads_cut_them() {
        let mut stream = client(true, OP_TEXT, "héllo".as_bytes());
        stream.extend(client(false, OP_TEXT, b"frag"));
        stream.extend(client(true, OP_PING, b"p"));
        stream.extend(client(false, OP_CONTINUATION, "mé".as_bytes()));
        stream.extend(client(true, OP_CONTINUATION, b"nted"));
        stream.extend(client(true, OP_BINARY, &[0u8; 300]));
        stream.extend(client(true, OP_PONG, b""));
        stream.extend(client(true, OP_CLOSE, &1000u16.to_be_bytes()));
        let want = vec![Got::Text("héllo".into()), Got::Ping(b"p".to_vec()), Got::Text("fragménted".into()), Got::Binary(vec![0; 300]), Got::Pong, Got::Close(Some(1000))];
        for step in [1, 2, 3, 7, 64, stream.len()] {
            let (got, result) = feed(&stream, step, 1 << 16);
            assert_eq!(got, want, "read by {step} bytes");
            assert_eq!(result, Ok(Flow::Stop));
        }
    }

    #[test]
    fn the_size_limit_counts_fragments_and_is_checked_from_the_header() {
        let (got, r) = feed(&client(true, OP_TEXT, &[b'a'; 100]), 4096, 100);
        assert_eq!((got.len(), r), (1, Ok(Flow::Continue)), "exactly the limit");
        // Refused from the header alone: the payload never needs to arrive.
        let over = client(true, OP_TEXT, &[b'a'; 101]);
        assert_eq!(feed(&over[..8], 4096, 100).1, Err(Violation::TooBig));
        let mut two = client(false, OP_TEXT, &[b'a'; 60]);
        two.extend(client(true, OP_CONTINUATION, &[b'a'; 41]));
        assert_eq!(feed(&two, 4096, 100).1, Err(Violation::TooBig));
    }

    #[test]
    fn framing_violations() {
        let unmasked = [0x81, 0x01, b'a'];
        assert_eq!(feed(&unmasked, 16, 100).1, Err(Violation::Protocol));
        let mut rsv = client(true, OP_TEXT, b"a");
        rsv[0] |= 0x40;
        assert_eq!(feed(&rsv, 16, 100).1, Err(Violation::Protocol));
        assert_eq!(feed(&client(true, 0x3, b""), 16, 100).1, Err(Violation::Protocol), "reserved opcode");
        assert_eq!(feed(&client(true, OP_CONTINUATION, b"a"), 16, 100).1, Err(Violation::Protocol), "continuation of nothing");
        let mut nested = client(false, OP_TEXT, b"a");
        nested.extend(client(true, OP_TEXT, b"b"));
        assert_eq!(feed(&nested, 16, 100).1, Err(Violation::Protocol), "a new message inside a fragmented one");
        assert_eq!(feed(&client(false, OP_PING, b""), 16, 100).1, Err(Violation::Protocol), "fragmented control frame");
        assert_eq!(feed(&client(true, OP_PING, &[0; 126]), 256, 1000).1, Err(Violation::Protocol), "control frame over 125 bytes");
        assert_eq!(feed(&client(true, OP_CLOSE, &[3]), 16, 100).1, Err(Violation::Protocol), "one-byte close payload");
        assert_eq!(feed(&client(true, OP_CLOSE, &1005u16.to_be_bytes()), 16, 100).1, Err(Violation::Protocol));
        let (got, r) = feed(&client(true, OP_CLOSE, &4000u16.to_be_bytes()), 16, 100);
        assert_eq!((got, r), (vec![Got::Close(Some(4000))], Ok(Flow::Stop)));
    }

    #[test]
    fn invalid_utf8_fails_as_soon_as_it_arrives() {
        let mut d = Decoder::default();
        let mut first = client(false, OP_TEXT, b"ok");
        assert_eq!(d.decode(&mut first, 100, &mut |_| Flow::Continue), Ok(Flow::Continue));
        // A character cut between fragments is fine...
        let mut cut = client(false, OP_CONTINUATION, &[0xC3]);
        assert_eq!(d.decode(&mut cut, 100, &mut |_| Flow::Continue), Ok(Flow::Continue));
        // ...a byte that can never be UTF-8 is refused before the message ends.
        let mut bad = client(false, OP_CONTINUATION, &[0xA9, 0xFF]);
        assert_eq!(d.decode(&mut bad, 100, &mut |_| Flow::Continue), Err(Violation::InvalidUtf8));
        assert_eq!(feed(&client(true, OP_TEXT, &[0xC3]), 16, 100).1, Err(Violation::InvalidUtf8), "cut at the end of the message");
        let mut reason = 1000u16.to_be_bytes().to_vec();
        reason.push(0xFF);
        assert_eq!(feed(&client(true, OP_CLOSE, &reason), 16, 100).1, Err(Violation::InvalidUtf8));
    }

    #[test]
    fn nothing_is_kept_between_whole_frames() {
        let mut d = Decoder::default();
        let mut f = client(true, OP_TEXT, b"{}");
        d.decode(&mut f, 100, &mut |_| Flow::Continue).unwrap();
        assert!(!d.holds_memory());
        let mut part = client(true, OP_TEXT, &[b'x'; 50]);
        d.decode(&mut part[..20], 100, &mut |_| Flow::Continue).unwrap();
        assert!(d.holds_memory(), "a partly received message is kept");
        d.decode(&mut part[20..], 100, &mut |_| Flow::Continue).unwrap();
        assert!(!d.holds_memory(), "and released once whole");
    }

    #[test]
    fn server_frames_are_unmasked_with_minimal_lengths() {
        assert_eq!(Frame::text("hi").as_bytes(), [0x81, 2, b'h', b'i']);
        assert_eq!(&Frame::text(&"a".repeat(126)).as_bytes()[..4], [0x81, 126, 0, 126]);
        assert_eq!(&Frame::binary(&[0; 70_000]).as_bytes()[..10], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(Frame::close(1009, "message too big").as_bytes()[..4], [0x88, 17, 0x03, 0xF1]);
        assert_eq!(Frame::close(1000, &"é".repeat(100)).len(), 2 + 2 + 122, "the reason is cut at a character boundary");
        assert!(!Frame::pong(b"").counted() && Frame::text("x").counted());
    }
}
