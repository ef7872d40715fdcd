//! The WebSocket handshake: an axum extractor that checks an HTTP/1.1 upgrade request
//! (RFC 6455 §4.2.1; the server speaks no HTTP/2), and the response that switches
//! protocols, after which the socket is handed to a task as a plain byte stream.
//!
//! The checks and rejections are axum's (`axum::extract::ws`), so clients see the same
//! answers; what differs is what comes after: the raw upgraded stream, which this crate's
//! [`super::Connection`] frames itself.

use std::future::Future;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper::upgrade::OnUpgrade;
use sha1::{Digest, Sha1};

use super::socket::Socket;

/// Why a request cannot be upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeRejection {
    /// 405: an HTTP/1.1 upgrade must be a `GET`.
    #[error("Request method must be `GET`")]
    MethodNotGet,
    /// 400: `Connection` does not list `upgrade`.
    #[error("Connection header did not include 'upgrade'")]
    InvalidConnectionHeader,
    /// 400: `Upgrade` is not `websocket`.
    #[error("`Upgrade` header did not include 'websocket'")]
    InvalidUpgradeHeader,
    /// 400: not WebSocket version 13.
    #[error("`Sec-WebSocket-Version` header did not include '13'")]
    InvalidWebSocketVersionHeader,
    /// 400: no `Sec-WebSocket-Key`.
    #[error("`Sec-WebSocket-Key` header missing")]
    WebSocketKeyHeaderMissing,
    /// 426: the connection cannot be taken over (not served by hyper with upgrades).
    #[error("WebSocket request couldn't be upgraded since no upgrade state was present")]
    ConnectionNotUpgradable,
}

impl IntoResponse for UpgradeRejection {
    fn into_response(self) -> Response {
        let status = match self {
            UpgradeRejection::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            UpgradeRejection::ConnectionNotUpgradable => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, self.to_string()).into_response()
    }
}

/// A request that may be upgraded to a WebSocket.
#[derive(Debug)]
pub struct WebSocketUpgrade {
    /// `Sec-WebSocket-Key`.
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = UpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(UpgradeRejection::MethodNotGet);
        }
        if !header_lists(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(UpgradeRejection::InvalidConnectionHeader);
        }
        if !header_is(&parts.headers, header::UPGRADE, "websocket") {
            return Err(UpgradeRejection::InvalidUpgradeHeader);
        }
        let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).ok_or(UpgradeRejection::WebSocketKeyHeaderMissing)?.clone();
        if !header_is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(UpgradeRejection::InvalidWebSocketVersionHeader);
        }
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or(UpgradeRejection::ConnectionNotUpgradable)?;
        Ok(WebSocketUpgrade { key, on_upgrade })
    }
}

impl WebSocketUpgrade {
    /// Answers the handshake (echoing `protocol` as the chosen subprotocol) and, once the
    /// client has the answer, runs `callback` on the socket in a task of its own.
    pub fn on_upgrade<C, Fut>(self, protocol: Option<&'static str>, callback: C) -> Response
    where
        C: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        // The connection runs in a task of its own, spawned once upgraded: this one's state
        // (the callback and what it captured) would otherwise stay with it for its whole life.
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => drop(tokio::spawn(callback(Socket::from_upgraded(upgraded)))),
                Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = response.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept_key(self.key.as_bytes()));
        if let Some(p) = protocol {
            response.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
        }
        response
    }
}

/// `Sec-WebSocket-Accept` for a client's key (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn header_is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers.get(&name).is_some_and(|h| h.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn header_lists(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get(&name).and_then(|h| h.to_str().ok()).is_some_and(|h| h.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_of_the_rfc_example() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn the_connection_header_is_a_token_list() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(header_lists(&h, header::CONNECTION, "upgrade"));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!header_lists(&h, header::CONNECTION, "upgrade"));
    }
}
