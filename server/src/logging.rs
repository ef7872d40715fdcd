//! Logs on stderr: human-readable text, or one JSON object per line
//! (`CABLEWAY_LOG_FORMAT=json`) for a log pipeline.
//!
//! Every line a connection logs runs inside its [`connection_span`], so in JSON it carries
//! `span.connection` (the session id) and `span.principal` (the token's `sub`) whatever
//! the event itself says. What is never logged: a token (request URIs are redacted before
//! they reach a log, see [`crate::auth::redact`]), a publisher key, or a payload (errors
//! name the JSON pointer and the rule, not the value).

use tracing::Span;

use crate::auth::Principal;
use crate::config::LogFormat;

/// Installs the subscriber: `filter` is the `log` setting (already checked by the config).
pub fn init(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::new(filter);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
}

/// The span a connection's session runs in: its principal now, its id once the session
/// has one ([`record_connection`]). A refused connection has neither.
pub fn connection_span(principal: Option<&Principal>) -> Span {
    let span = tracing::info_span!("connection", connection = tracing::field::Empty, principal = tracing::field::Empty, account = tracing::field::Empty);
    if let Some(p) = principal {
        span.record("principal", p.claims.sub.as_str());
        span.record("account", p.claims.account_id.as_str());
    }
    span
}

/// Records the session id on the current connection span.
pub fn record_connection(id: u64) {
    Span::current().record("connection", id);
}
