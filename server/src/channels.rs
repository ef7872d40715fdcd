//! The channels of `schema/`, compiled in by `build.rs`: typed params, payloads, event
//! enums, action types, stream-key builders, authorization checks and [`REGISTRY`].
//!
//! This is the only place that includes generated code.

#![allow(missing_docs, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/channels.rs"));

/// The channel with this wire name.
pub fn find(name: &str) -> Option<&'static crate::codegen_support::ChannelDescriptor> {
    REGISTRY.iter().copied().find(|c| c.name == name)
}
