//! The WebSocket transport: bytes on a socket ↔ frames ↔ messages. The session above it
//! sees whole text messages and queues pre-encoded frames; nothing above this module
//! touches bytes.
//!
//! - [`upgrade`]: the HTTP handshake (an axum extractor) and the switch to a raw stream;
//! - [`codec`]: RFC 6455 frames: encoding server frames once, decoding client frames in place;
//! - [`conn`]: one socket: reads into the worker thread's buffer, vectored writes of every
//!   queued frame, the close handshake;
//! - [`socket`]: the upgraded TCP socket, shared with broadcasts that write to it directly;
//! - [`stats`]: writes, frames and bytes written, fan-out latency (for `/health` and metrics);
//! - [`echo`]: an echo over the same transport, for the Autobahn conformance suite.
//!
//! Why not tungstenite (through axum's `WebSocket`): it gives every connection its own read
//! buffer (zero-filled before each read), reads the socket whenever the connection's task is
//! woken, and writes one frame per `write()`. Fan-out is bound by exactly those costs: an
//! idle connection's memory, and the syscalls and wake-ups per delivered frame.

pub mod codec;
pub mod conn;
pub mod echo;
pub mod socket;
pub mod stats;
pub mod upgrade;

pub use codec::{Frame, Inbound, Violation};
pub use conn::{Connection, Goodbye, ReadEnd};
pub use socket::Socket;
pub use upgrade::{UpgradeRejection, WebSocketUpgrade};
