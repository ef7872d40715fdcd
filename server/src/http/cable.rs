//! `GET /cable`: Origin check, subprotocol negotiation, token extraction, then the upgrade.
//! Authentication failures still upgrade: browsers cannot read an HTTP 401 on a WebSocket
//! handshake, so the client learns why from a `disconnect` frame.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::auth;
use crate::protocol::{self, Dialect};
use crate::session::{self, Handshake};

pub(super) async fn upgrade(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let request = auth::redact_uri(&uri);
    if app.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("<invalid>"));
    if !app.config.origin_allowed(origin) {
        tracing::info!(%request, origin = origin.unwrap_or_default(), "origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let offered: Vec<&str> = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|v| v.to_str().ok()).collect();
    let negotiated = protocol::negotiate(offered.iter().copied());
    let auth = match auth::token_from_request(&uri, &headers) {
        Ok(Some(token)) => app.verifier.verify(&token),
        Ok(None) => Err(auth::AuthError::Missing),
        Err(e) => Err(e),
    };
    let limits = &app.config.limits;
    let mut ws = ws
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.max_outbound_queue_bytes + 64 * 1024)
        .max_message_size(limits.max_inbound_message_bytes)
        .max_frame_size(limits.max_inbound_message_bytes);
    let dialect = match negotiated {
        Some((name, dialect)) => {
            ws = ws.protocols([name]);
            dialect
        }
        None => Dialect::V1,
    };
    let restore_sid = restore_sid(&uri, &headers);
    let app2 = app.clone();
    ws.on_upgrade(move |socket| {
        let hs = Handshake { dialect, auth, request, restore_sid };
        let tracker = app2.sessions.clone();
        async move {
            tracker.track_future(session::run(app2, socket, hs)).await;
        }
    })
}

/// The session to resume, from `?sid=` or the `X-AnyCable-Restore-SID` header.
fn restore_sid(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("sid=")).map(str::to_owned));
    let sid = from_query.or_else(|| headers.get("x-anycable-restore-sid").and_then(|v| v.to_str().ok()).map(str::to_owned))?;
    (sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(sid)
}
