//! The debug page: `GET /` and its two assets, compiled from `server/debug-ui/` into the
//! committed `server/debug-ui/bundle/` and embedded here (no Node to build, nothing from a
//! CDN or fetched at run time), and the JSON it reads under `/debug/api/`:
//!
//! - `info`: version, whether this is `--dev`, and in `--dev` the publisher key;
//! - `schema`: every channel ([`describe`]); `metrics`: the `/metrics` exposition, whose
//!   series the page turns into its live figures;
//! - `token` (`--dev` only): mints a token for the principal the page is told.
//!
//! It is served in `--dev`, or when `debug_page` is set. Outside `--dev` every `/debug/api/`
//! route wants the publisher key as `Authorization: Bearer`, which the page asks for and
//! keeps in the tab's session storage; no cookie or other ambient credential is accepted,
//! so another site cannot make a browser use it. The page and its assets themselves hold
//! nothing but the embedded bundle and load without the key.

mod describe;
mod example;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::json_error;
use super::publisher_key;
use crate::app::App;
use crate::auth::{MintError, TokenArgs};
use crate::channels::types::ClaimsKind;

const INDEX: &str = include_str!("../../../debug-ui/bundle/index.html");
const APP_JS: &str = include_str!("../../../debug-ui/bundle/app.js");
const APP_CSS: &str = include_str!("../../../debug-ui/bundle/app.css");

/// Only this page's own files and the server itself: no inline script, no third party.
/// `'unsafe-eval'` is for ajv, which compiles each JSON Schema into a function.
const CSP: &str = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page's routes, when it is on (`--dev` or `debug_page`).
pub(super) fn routes(app: &Arc<App>) -> Option<Router<Arc<App>>> {
    let dev = app.config.server.dev;
    if !dev && !app.config.observability.debug_page {
        return None;
    }
    let mut api = Router::new().route("/info", get(info)).route("/schema", get(schema)).route("/metrics", get(metrics));
    if dev {
        api = api.route("/token", post(token));
    }
    let api = api.layer(from_fn_with_state(app.clone(), require_key));
    Some(
        Router::new()
            .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
            .route("/debug/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
            .route("/debug/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
            .nest("/debug/api", api),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Outside `--dev`, the publisher key.
async fn require_key(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if !app.config.server.dev {
        if let Err(refused) = publisher_key::require(&app, request.headers()) {
            return refused.into_response();
        }
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn info(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    let dev = app.config.server.dev;
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "schema_version": crate::channels::SCHEMA_VERSION,
        "dev": dev,
        // `--dev` prints it at startup anyway; the page publishes with it.
        "publisher_key": dev.then(|| app.config.server.publisher_key.expose().to_owned()),
        "metrics_listener": app.config.observability.metrics_bind.is_some(),
    }))
}

async fn schema() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], describe::schema_json()).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    super::metrics::exposition(&app)
}

/// Whom a `--dev` token is for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    sub: String,
    account_id: String,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    kind: Option<String>,
    /// Seconds; one hour by default.
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

async fn token(State(app): State<Arc<App>>, Json(req): Json<TokenRequest>) -> Response {
    let kind = match req.kind.as_deref() {
        None => ClaimsKind::User,
        Some(name) => match ClaimsKind::ALL.iter().copied().find(|k| k.as_str() == name) {
            Some(kind) => kind,
            None => return json_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_claims", format!("kind must be one of: {}", ClaimsKind::ALL.iter().map(ClaimsKind::as_str).collect::<Vec<_>>().join(", "))),
        },
    };
    let args = TokenArgs { sub: req.sub, account: req.account_id, permissions: req.permissions, kind, ttl: req.ttl_seconds.unwrap_or(3600), config: None, keys: Default::default() };
    let now = crate::auth::unix_now();
    match crate::auth::mint(&args, &app.verifier, now) {
        Ok(token) => Json(json!({ "token": token, "expires_at": now.saturating_add(args.ttl as i64) })).into_response(),
        Err(e @ (MintError::InvalidClaims(_) | MintError::TtlTooLong { .. })) => json_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_claims", e),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot_sign", e),
    }
}
