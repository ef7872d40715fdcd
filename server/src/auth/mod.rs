//! Connection authentication: who a WebSocket client is, from the JWT it presents.
//!
//! - [`token_source`]: finds the token in the upgrade request (`?token=`, `?jid=`,
//!   `Authorization: Bearer`, `X-JID`, or the `anycable-token.<jwt>` subprotocol);
//! - [`jwt`]: the [`Verifier`], which checks a token against one pinned algorithm and key,
//!   the time claims, the lifetime cap and the claims schema, and signs tokens;
//! - [`mod@mint`]: `cableway token`, which mints tokens for development and tests;
//! - [`redact`]: what request URIs and headers look like in logs (tokens never appear).
//!
//! Errors carry a fixed reason text and never the token, so they are safe to log.

pub mod jwt;
pub mod mint;
pub mod redact;
pub mod token_source;

pub use jwt::{SignError, Verifier};
pub use mint::{mint, mint_from_args, MintError, TokenArgs};
pub use redact::{redact_query, redact_uri, SENSITIVE_HEADERS};
pub use token_source::{is_token_subprotocol, token_from_request, TOKEN_SUBPROTOCOL_PREFIX};

use crate::channels::Claims;
use crate::protocol::DisconnectReason;

/// Longest token accepted, in bytes. Real tokens are well under 2 KiB; the cap bounds the
/// work (base64, JSON, signature) an unauthenticated client can ask for.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a connection is not authenticated. The messages contain no token material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token was presented.
    #[error("no token")]
    Missing,
    /// The token is malformed, forged, not yet valid, or its claims are unacceptable.
    #[error("invalid token: {reason}")]
    Invalid {
        /// A fixed description (never the token or a claim value).
        reason: String,
    },
    /// The token was genuine but its `exp` (plus leeway) has passed.
    #[error("token expired")]
    Expired,
}

impl AuthError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        AuthError::Invalid { reason: reason.into() }
    }

    /// Why the connection is refused: `token_expired` tells a client to fetch a fresh
    /// token, `unauthorized` that retrying will not help.
    pub const fn disconnect_reason(&self) -> DisconnectReason {
        match self {
            AuthError::Expired => DisconnectReason::TokenExpired,
            AuthError::Missing | AuthError::Invalid { .. } => DisconnectReason::Unauthorized,
        }
    }
}

/// An authenticated principal.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    /// The verified claims.
    pub claims: Claims,
    /// When the token expires (`exp`, Unix seconds). A live connection is closed with
    /// `token_expired` at this instant: the leeway forgives clock skew when a token is
    /// presented, it does not extend a session.
    pub expires_at: i64,
}

/// The current time in Unix seconds, the clock every expiry check uses.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_reasons() {
        assert_eq!(AuthError::Expired.disconnect_reason().as_str(), "token_expired");
        assert_eq!(AuthError::Missing.disconnect_reason().as_str(), "unauthorized");
        assert_eq!(AuthError::invalid("x").disconnect_reason().as_str(), "unauthorized");
    }

    #[test]
    fn clock_is_sane() {
        assert!(unix_now() > 1_700_000_000);
    }
}
