//! Cableway: an ActionCable-compatible real-time channel server whose channels are
//! declared in `schema/`, not coded.
//!
//! # Layout
//! - [`channels`]: the generated registry (from `build.rs`), and [`codegen_support`], the
//!   only runtime surface generated code touches.
//! - [`cli`]: the `cableway` command (`generate`, `check`, `channels`).
//!
//! # Glossary
//! - *channel*: a kind of subscription declared by one YAML file (`AiOrchestrationChannel`);
//! - *identifier*: the JSON string a client subscribes with, echoed byte for byte;
//! - *stream*: a concrete key a subscription listens to (`ai_orchestration:workflow_run:42`);
//! - *event*: a named, schema-typed message published to streams;
//! - *envelope*: the JSON object a client receives around an event's payload;
//! - *action*: a client → server command on a subscription (`perform`).

#![warn(missing_docs, rust_2018_idioms)]

pub mod channels;
pub mod cli;
pub mod codegen_support;
