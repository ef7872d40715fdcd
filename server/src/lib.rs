//! Cableway: an ActionCable-compatible real-time channel server whose channels are
//! declared in `schema/`, not coded.
//!
//! # Layout
//! - [`channels`]: the generated registry (from `build.rs`), and [`codegen_support`], the
//!   only runtime surface generated code touches.
//! - [`cli`]: the `cableway` command (`serve`, `token`, `generate`, `check`, `channels`).
//! - [`server`]: bind, serve, drain; [`pending`]: connections before their upgrade, bounded.
//!   [`http`]: the routes. [`session`]: one WebSocket
//!   connection's loop. [`transport`]: WebSocket framing on the upgraded socket.
//!   [`protocol`]: ActionCable frames and commands.
//! - [`hub`]: which connection listens to which stream; local fan-out with per-connection,
//!   byte-bounded outboxes. [`broker`]: validate-then-deliver for publications.
//! - [`engine`]: what one node or many share: positions, history, sessions, ownership
//!   (embedded in memory, or over Redis for several nodes). [`history`]: the embedded stores.
//! - [`auth`]: JWT verification and token extraction. [`resolver`]: resource ownership.
//! - [`actions`]: `perform` — relay and forward. [`validation`]: compiled JSON Schemas, and
//!   params read into their canonical form. [`backend`]: the app backend's HTTP calls.
//! - [`metrics`]: every exported series, by name; [`logging`]: text or JSON logs.
//!
//! # Glossary
//! - *channel*: a kind of subscription declared by one YAML file (`AiOrchestrationChannel`);
//! - *identifier*: the JSON string a client subscribes with, echoed byte for byte;
//! - *stream*: a concrete key a subscription listens to (`ai_orchestration:workflow_run:42`);
//! - *event*: a named, schema-typed message published to streams;
//! - *envelope*: the JSON object a client receives around an event's payload;
//! - *action*: a client → server command on a subscription (`perform`).

#![warn(missing_docs, rust_2018_idioms)]

pub mod actions;
pub mod app;
pub mod auth;
pub mod backend;
pub mod broker;
pub mod channels;
pub mod cli;
pub mod codegen_support;
pub mod config;
pub mod engine;
pub mod history;
pub mod http;
pub mod hub;
pub mod logging;
pub mod metrics;
pub mod pending;
pub mod protocol;
pub mod resolver;
pub mod server;
pub mod session;
pub mod transport;
pub mod validation;
