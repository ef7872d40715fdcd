//! The channels of `schema/`, compiled in by `build.rs`: typed params, payloads, event
//! enums, action types, stream-key builders, authorization checks and [`REGISTRY`].
//!
//! This is the only place that includes generated code.

#![allow(missing_docs, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/channels.rs"));

/// A channel of this schema set: the runtime's descriptor over the generated claims type.
pub type ChannelDescriptor = crate::codegen_support::ChannelDescriptor<Claims>;

/// The channel with this wire name.
pub fn find(name: &str) -> Option<&'static ChannelDescriptor> {
    REGISTRY.iter().copied().find(|c| c.name == name)
}
