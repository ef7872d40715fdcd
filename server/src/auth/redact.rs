//! What request URIs and headers may look like in logs.
//!
//! A token in `?token=` is in the request line, and a default HTTP trace span records the
//! whole URI (reliability.md §3.4). Log [`redact_uri`] instead of the URI, and mark
//! [`SENSITIVE_HEADERS`] sensitive (e.g. tower-http's `SetSensitiveRequestHeadersLayer`).

use axum::http::{header, HeaderName, Uri};

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// Query parameters whose values are credentials: the token carriers, the resumable session
/// id, and the usual names clients invent for tokens. Compared ignoring case.
const SENSITIVE_QUERY_KEYS: [&str; 5] = ["token", "jid", "sid", "access_token", "jwt"];

/// Headers that carry credentials on an upgrade or publish request: `Sec-WebSocket-Protocol`
/// can hold `anycable-token.<jwt>`, and `X-ANYCABLE-RESTORE-SID` resumes a session.
pub const SENSITIVE_HEADERS: [HeaderName; 5] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::SEC_WEBSOCKET_PROTOCOL,
    HeaderName::from_static("x-jid"),
    HeaderName::from_static("x-anycable-restore-sid"),
];

/// The path and query of `uri` with credential values replaced by `[redacted]`; other
/// parameters are kept as sent.
pub fn redact_uri(uri: &Uri) -> String {
    match uri.query() {
        Some(query) => format!("{}?{}", uri.path(), redact_query(query)),
        None => uri.path().to_owned(),
    }
}

/// A raw query string with credential values replaced. Besides the named parameters, any
/// value that looks like a JWT (base64 of `{"`, i.e. starting `eyJ`) is replaced too, so a
/// token sent under a name we do not know still stays out of logs.
///
/// Each parameter is judged on its decoded key and value, as a server reads them, but
/// written back exactly as sent: the log shows the request, not a re-encoding of it.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_sensitive(pair) => format!("{key}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether one raw `key=value` parameter carries a credential.
fn is_sensitive(pair: &str) -> bool {
    form_urlencoded::parse(pair.as_bytes()).next().is_some_and(|(key, value)| {
        !value.is_empty() && (SENSITIVE_QUERY_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key.trim())) || value.trim_start().starts_with("eyJ"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(uri: &str) -> String {
        redact_uri(&uri.parse().expect("uri"))
    }

    #[test]
    fn credentials_are_replaced_and_the_rest_kept() {
        assert_eq!(redact("/cable"), "/cable");
        assert_eq!(redact("/cable?token=abc.def.ghi"), "/cable?token=[redacted]");
        assert_eq!(redact("/cable?a=1&jid=x&sid=y&b=two"), "/cable?a=1&jid=[redacted]&sid=[redacted]&b=two");
        assert_eq!(redact("/cable?TOKEN=x&%74oken=y&access_token=z&jwt=w"), "/cable?TOKEN=[redacted]&%74oken=[redacted]&access_token=[redacted]&jwt=[redacted]");
        assert_eq!(redact("/cable?auth=eyJhbGciOiJIUzI1NiJ9.e30.sig"), "/cable?auth=[redacted]");
        assert_eq!(redact("/cable?token=&x"), "/cable?token=&x");
        assert_eq!(redact("/cable?"), "/cable?");
        assert_eq!(redact("http://host:3000/cable?token=t&z=1"), "/cable?token=[redacted]&z=1");
    }

    #[test]
    fn no_token_survives() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";
        for uri in [format!("/cable?token={token}"), format!("/cable?jid={token}&token={token}"), format!("/c?x=1&sid={token}"), format!("/c?anything={token}")] {
            let out = redact(&uri);
            assert!(!out.contains(token) && !out.contains("c2lnbmF0dXJl"), "{out}");
        }
    }

    #[test]
    fn sensitive_headers_include_every_token_carrier() {
        for name in ["authorization", "sec-websocket-protocol", "x-jid", "x-anycable-restore-sid", "cookie"] {
            assert!(SENSITIVE_HEADERS.iter().any(|h| h.as_str() == name), "{name}");
        }
    }
}
