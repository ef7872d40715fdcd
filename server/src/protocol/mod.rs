//! The ActionCable wire protocol (`actioncable-v1-json`) and AnyCable's extension
//! (`actioncable-v1-ext-json`): client commands in, server frames out.
//!
//! Pure functions over text; nothing here touches sockets. The identifier is opaque: it is
//! kept and echoed byte for byte, and parsed separately for its channel and params.
//! [`DisconnectReason`] names every way a connection ends and what the client is told.

pub mod command;
pub mod disconnect;
pub mod frame;
pub mod identifier;

pub use disconnect::{DisconnectReason, Farewell};

/// Subprotocols we speak, in the order we prefer when a client offers both.
pub const V1: &str = "actioncable-v1-json";
/// The AnyCable extended protocol: history, session resume.
pub const EXT: &str = "actioncable-v1-ext-json";

/// Which dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Plain ActionCable.
    V1,
    /// AnyCable extended: stream positions on data frames, `history`, `sid`.
    Ext,
}

/// Picks the first protocol the client offers that we speak (what Rails' websocket-driver
/// does), from the raw `Sec-WebSocket-Protocol` header values.
pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<(&'static str, Dialect)> {
    offered.into_iter().flat_map(|h| h.split(',')).map(str::trim).find_map(|p| match p {
        V1 => Some((V1, Dialect::V1)),
        EXT => Some((EXT, Dialect::Ext)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_client_offered_protocol_wins() {
        assert_eq!(negotiate(["actioncable-v1-json, actioncable-unsupported"]), Some((V1, Dialect::V1)));
        assert_eq!(negotiate(["actioncable-v1-ext-json", "actioncable-v1-json"]), Some((EXT, Dialect::Ext)));
        assert_eq!(negotiate(["anycable-token.abc, actioncable-v1-json"]), Some((V1, Dialect::V1)));
        assert_eq!(negotiate(["actioncable-unsupported"]), None);
    }
}
