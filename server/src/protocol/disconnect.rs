//! Why a connection ends: one [`DisconnectReason`] per way a session can finish, with what
//! the client is told (a `disconnect` frame and its `reconnect` hint, a bare close frame,
//! or nothing) and whether its subscriptions are kept for a resume (`?sid=`).
//!
//! Every decision about an ending reads these properties; no code compares reason text.

/// Why the server ended a connection, or saw it end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// No usable token: missing, malformed, forged, or with unacceptable claims.
    Unauthorized,
    /// The token expired, at connect time or while connected.
    TokenExpired,
    /// The client sent more protocol errors than it is allowed.
    InvalidRequest,
    /// The server is draining (SIGTERM/SIGINT).
    ServerRestart,
    /// The client read too slowly and its outbound queue overflowed.
    TooSlow,
    /// The client sent a message over the size limit (close code 1009).
    MessageTooBig,
    /// The client closed the connection, or the socket broke.
    ClientClosed,
    /// A write failed or passed the write timeout.
    WriteFailed,
    /// The engine cannot go on delivering one of the connection's streams in order (a
    /// pub/sub gap it could not fill from the history, or a new epoch): the client
    /// reconnects and resumes through history (Centrifugo's "insufficient state").
    InsufficientState,
    /// The client broke the WebSocket framing (close code 1002).
    ProtocolViolation,
    /// The client sent text that is not UTF-8 (close code 1007).
    InvalidUtf8,
    /// The client answered no ping within the liveness timeout (by default 2 ping intervals
    /// plus the write timeout).
    Unresponsive,
    /// The browser's `Origin` is not in the allowlist. The upgrade completes only so the
    /// page can read why (a 403 on a handshake is invisible to it); nothing else happens.
    OriginRefused,
    /// The client's address or principal holds as many connections as it may
    /// (`limits.max_connections_per_address`, `limits.max_connections_per_principal`).
    TooManyConnections,
}

/// What the client is told when its connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Farewell {
    /// A `disconnect` frame, then a close frame with code 1000 and the reason as its text.
    Disconnect,
    /// Only a close frame.
    Close {
        /// The WebSocket close code.
        code: u16,
        /// The close frame's text.
        text: &'static str,
    },
    /// Nothing: the socket is gone or cannot be written.
    Silent,
}

impl DisconnectReason {
    /// The name sent as the `disconnect` frame's `reason` and used in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Unauthorized => "unauthorized",
            DisconnectReason::TokenExpired => "token_expired",
            DisconnectReason::InvalidRequest => "invalid_request",
            DisconnectReason::ServerRestart => "server_restart",
            DisconnectReason::TooSlow => "too_slow",
            DisconnectReason::MessageTooBig => "message_too_big",
            DisconnectReason::ClientClosed => "client_closed",
            DisconnectReason::WriteFailed => "write_failed",
            DisconnectReason::InsufficientState => "insufficient_state",
            DisconnectReason::ProtocolViolation => "protocol_violation",
            DisconnectReason::InvalidUtf8 => "invalid_utf8",
            DisconnectReason::Unresponsive => "unresponsive",
            DisconnectReason::OriginRefused => "origin_refused",
            DisconnectReason::TooManyConnections => "too_many_connections",
        }
    }

    /// The `reconnect` hint of the `disconnect` frame: false when coming back with the same
    /// token cannot help (the Rails client then stops retrying).
    pub const fn reconnect(self) -> bool {
        match self {
            DisconnectReason::Unauthorized
            | DisconnectReason::TokenExpired
            | DisconnectReason::InvalidRequest
            | DisconnectReason::ProtocolViolation
            | DisconnectReason::InvalidUtf8
            | DisconnectReason::OriginRefused
            | DisconnectReason::TooManyConnections => false,
            DisconnectReason::Unresponsive
            | DisconnectReason::ServerRestart
            | DisconnectReason::TooSlow
            | DisconnectReason::MessageTooBig
            | DisconnectReason::ClientClosed
            | DisconnectReason::WriteFailed
            | DisconnectReason::InsufficientState => true,
        }
    }

    /// Whether the session's subscriptions are kept for a resume. A client that dropped off
    /// or fell behind comes back to them; one that was refused, misbehaved or outlived its
    /// token does not, and a draining server will not be there to resume on.
    pub const fn resumable(self) -> bool {
        match self {
            DisconnectReason::TooSlow
            | DisconnectReason::MessageTooBig
            | DisconnectReason::ClientClosed
            | DisconnectReason::WriteFailed
            | DisconnectReason::InsufficientState
            | DisconnectReason::Unresponsive => true,
            DisconnectReason::Unauthorized
            | DisconnectReason::TokenExpired
            | DisconnectReason::InvalidRequest
            | DisconnectReason::ServerRestart
            | DisconnectReason::ProtocolViolation
            | DisconnectReason::InvalidUtf8
            | DisconnectReason::OriginRefused
            | DisconnectReason::TooManyConnections => false,
        }
    }

    /// What the client is told.
    pub const fn farewell(self) -> Farewell {
        match self {
            DisconnectReason::Unauthorized
            | DisconnectReason::TokenExpired
            | DisconnectReason::InvalidRequest
            | DisconnectReason::ServerRestart
            | DisconnectReason::TooSlow
            | DisconnectReason::InsufficientState
            | DisconnectReason::OriginRefused
            | DisconnectReason::TooManyConnections => Farewell::Disconnect,
            // What Autobahn and browsers expect for an oversized message.
            DisconnectReason::MessageTooBig => Farewell::Close { code: 1009, text: "message too big" },
            DisconnectReason::ProtocolViolation => Farewell::Close { code: 1002, text: "protocol error" },
            DisconnectReason::InvalidUtf8 => Farewell::Close { code: 1007, text: "invalid utf-8" },
            // An unresponsive client is as good as gone: writing to it would only wait.
            DisconnectReason::ClientClosed | DisconnectReason::WriteFailed | DisconnectReason::Unresponsive => Farewell::Silent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [DisconnectReason; 14] = [
        DisconnectReason::Unauthorized,
        DisconnectReason::TokenExpired,
        DisconnectReason::InvalidRequest,
        DisconnectReason::ServerRestart,
        DisconnectReason::TooSlow,
        DisconnectReason::MessageTooBig,
        DisconnectReason::ClientClosed,
        DisconnectReason::WriteFailed,
        DisconnectReason::InsufficientState,
        DisconnectReason::ProtocolViolation,
        DisconnectReason::InvalidUtf8,
        DisconnectReason::Unresponsive,
        DisconnectReason::OriginRefused,
        DisconnectReason::TooManyConnections,
    ];

    #[test]
    fn the_reasons_sent_in_a_disconnect_frame_and_their_hints() {
        let sent: Vec<(&str, bool)> = ALL.iter().filter(|r| r.farewell() == Farewell::Disconnect).map(|r| (r.as_str(), r.reconnect())).collect();
        assert_eq!(sent, [("unauthorized", false), ("token_expired", false), ("invalid_request", false), ("server_restart", true), ("too_slow", true), ("insufficient_state", true), ("origin_refused", false), ("too_many_connections", false)]);
    }

    #[test]
    fn only_a_client_that_dropped_off_or_fell_behind_may_resume() {
        let resumable: Vec<&str> = ALL.iter().filter(|r| r.resumable()).map(|r| r.as_str()).collect();
        assert_eq!(resumable, ["too_slow", "message_too_big", "client_closed", "write_failed", "insufficient_state", "unresponsive"]);
    }

    #[test]
    fn an_oversized_message_gets_close_code_1009() {
        assert_eq!(DisconnectReason::MessageTooBig.farewell(), Farewell::Close { code: 1009, text: "message too big" });
        assert_eq!(DisconnectReason::ClientClosed.farewell(), Farewell::Silent);
        assert_eq!(DisconnectReason::WriteFailed.farewell(), Farewell::Silent);
        assert_eq!(DisconnectReason::ProtocolViolation.farewell(), Farewell::Close { code: 1002, text: "protocol error" });
        assert_eq!(DisconnectReason::InvalidUtf8.farewell(), Farewell::Close { code: 1007, text: "invalid utf-8" });
    }
}
