//! `GET /cable`: Origin check, subprotocol negotiation, token extraction, then the upgrade.
//! Authentication failures and a refused `Origin` still upgrade: browsers cannot read the
//! HTTP status of a WebSocket handshake, so the client learns why from a `disconnect` frame
//! (`unauthorized`, `origin_refused`, ... with `reconnect: false`). A refused Origin gets
//! only that frame and the close: its token is not read, no session is started, nothing it
//! sends is processed, so a cross-site page learns nothing but the refusal (no CSWSH).

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::app::App;
use crate::auth;
use crate::metrics::{self, ConnectionOutcome};
use super::connection_caps::{CapReached, ConnectionCaps};
use crate::pending::Peer;
use crate::protocol::{self, Dialect, DisconnectReason};
use crate::session::{self, Handshake};
use crate::transport::WebSocketUpgrade;

/// Why a request is not upgraded. Answered in plain text: this is a browser's handshake,
/// and no WebSocket client reads the body anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    /// 503: the server is shutting down.
    #[error("draining")]
    Draining,
    /// 503: the node holds `limits.max_connections` already.
    #[error("connection limit reached")]
    ConnectionLimit,
}

impl IntoResponse for UpgradeError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            UpgradeError::Draining => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
            UpgradeError::ConnectionLimit => (StatusCode::SERVICE_UNAVAILABLE, "connection limit reached"),
        };
        (status, text).into_response()
    }
}

pub(super) async fn upgrade(State(app): State<Arc<App>>, Extension(caps): Extension<Arc<ConnectionCaps>>, peer: Option<Extension<Peer>>, uri: Uri, headers: HeaderMap, ws: WebSocketUpgrade) -> Result<Response, UpgradeError> {
    let request = auth::redact_uri(&uri);
    if app.shutdown.is_cancelled() {
        return Err(UpgradeError::Draining);
    }
    let offered: Vec<&str> = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|v| v.to_str().ok()).collect();
    let negotiated = protocol::negotiate(offered.iter().copied());
    let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("<invalid>"));
    if !app.config.origin_allowed(origin) {
        tracing::info!(%request, origin = origin.unwrap_or_default(), "origin not allowed");
        metrics::connection_opened(ConnectionOutcome::OriginRefused);
        return Ok(refuse(&app, ws, negotiated, DisconnectReason::OriginRefused, request));
    }
    // Checked before the token is verified, the cheapest refusal. Concurrent upgrades may pass
    // the cap by the few that are between this check and their session's start.
    if app.config.limits.max_connections.is_some_and(|cap| app.connections.load(std::sync::atomic::Ordering::Relaxed) >= cap) {
        metrics::connection_opened(ConnectionOutcome::CapReached);
        return Err(UpgradeError::ConnectionLimit);
    }
    let Ok(from_address) = caps.address(peer.map(|Extension(Peer(ip))| ip)) else {
        metrics::connection_opened(ConnectionOutcome::AddressCapReached);
        return Ok(refuse(&app, ws, negotiated, DisconnectReason::TooManyConnections, request));
    };
    let auth = match auth::token_from_request(&uri, &headers) {
        Ok(Some(token)) => app.verifier.verify(&token),
        Ok(None) => Err(auth::AuthError::Missing),
        Err(e) => Err(e),
    };
    let of_principal = match &auth {
        Ok(principal) => match caps.principal(&principal.claims.account_id, &principal.claims.sub) {
            Ok(held) => held,
            Err(CapReached) => {
                metrics::connection_opened(ConnectionOutcome::PrincipalCapReached);
                return Ok(refuse(&app, ws, negotiated, DisconnectReason::TooManyConnections, request));
            }
        },
        Err(_) => None,
    };
    metrics::connection_opened(ConnectionOutcome::of(&auth));
    // The socket's limits (message size, outbound queue, read size) are applied by the
    // session's transport; the handshake only chooses the subprotocol.
    let (protocol, dialect) = match negotiated {
        Some((name, dialect)) => (Some(name), dialect),
        None => (None, Dialect::V1),
    };
    let restore_sid = restore_sid(&uri, &headers);
    let app2 = app.clone();
    let span = crate::logging::connection_span(auth.as_ref().ok());
    Ok(ws.on_upgrade(protocol, move |socket| {
        let hs = Handshake { dialect, auth, request, restore_sid };
        let tracker = app2.sessions.clone();
        // The session's setup (its "connected" line, its id on the span) runs when `run` is
        // called, so inside the span too.
        let shared = socket.shared();
        let session = span.in_scope(|| session::run(app2, socket, shared, hs));
        // The future itself, not an async block awaiting it: a block would keep the moved
        // `session` in its state beside the future it awaits, twice the memory per connection.
        // The caps count the connection until its session ends.
        tracker.track_future(session).instrument(span).map(move |()| drop((from_address, of_principal)))
    }))
}

/// Upgrades, then tells the client `reason` and closes (a foreign Origin, a connection cap):
/// the subprotocol is picked too, as a browser drops a socket whose server picked none of
/// those it offered, and the page could not read why.
fn refuse(app: &Arc<App>, ws: WebSocketUpgrade, negotiated: Option<(&'static str, Dialect)>, reason: DisconnectReason, request: String) -> Response {
    let app = app.clone();
    ws.on_upgrade(negotiated.map(|(name, _)| name), move |socket| {
        let tracker = app.sessions.clone();
        tracker.track_future(session::refuse(&app, socket, reason, &request))
    })
}

/// The session to resume, from `?sid=` or the `X-AnyCable-Restore-SID` header.
fn restore_sid(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri.query().and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(key, _)| key == "sid")).map(|(_, sid)| sid.into_owned());
    let sid = from_query.or_else(|| headers.get("x-anycable-restore-sid").and_then(|v| v.to_str().ok()).map(str::to_owned))?;
    (sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(sid)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::http::error::answer;

    fn sid(uri: &str, header: Option<&str>) -> Option<String> {
        let mut headers = HeaderMap::new();
        if let Some(value) = header {
            headers.insert("x-anycable-restore-sid", HeaderValue::from_str(value).expect("header"));
        }
        restore_sid(&uri.parse().expect("uri"), &headers)
    }

    #[test]
    fn the_sid_comes_from_the_query_then_the_header() {
        assert_eq!(sid("/cable?token=t&sid=abc123", None).as_deref(), Some("abc123"));
        assert_eq!(sid("/cable?sid=abc123", Some("fromheader")).as_deref(), Some("abc123"));
        assert_eq!(sid("/cable?token=t", Some("fromheader")).as_deref(), Some("fromheader"));
        assert_eq!(sid("/cable", None), None);
        assert_eq!(sid("/cable?sid=not-alphanumeric", None), None);
        assert_eq!(sid(&format!("/cable?sid={}", "a".repeat(65)), None), None);
        assert_eq!(sid("/cable?xsid=abc", None), None);
    }

    #[tokio::test]
    async fn refusals_are_plain_text() {
        assert_eq!(answer(UpgradeError::Draining).await, (503, "draining".to_owned()));
        assert_eq!(answer(UpgradeError::ConnectionLimit).await, (503, "connection limit reached".to_owned()));
    }
}
