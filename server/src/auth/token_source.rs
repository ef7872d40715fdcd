//! Where a client's token is in the WebSocket upgrade request.
//!
//! Browsers cannot set headers on `new WebSocket()`, so the token may come in the query
//! (`?token=`, or AnyCable's `?jid=`) or as a subprotocol entry `anycable-token.<jwt>`;
//! other clients use `Authorization: Bearer <jwt>` or AnyCable's `X-JID` header
//! (features.md §1.1, §2). A request may repeat the same token in several places, but two
//! different tokens are refused rather than ranked: whichever we picked, a proxy or client
//! bug that adds a second identity would pass silently.

use axum::http::{HeaderMap, HeaderName, Uri};

use super::{AuthError, MAX_TOKEN_BYTES};

/// Prefix of the subprotocol entry that carries a token (`anycable-token.<jwt>`).
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "anycable-token.";

/// Query parameters that carry a token.
const QUERY_KEYS: [&str; 2] = ["token", "jid"];

/// The credentials of an `Authorization: Bearer <credentials>` header value, trimmed.
/// RFC 9110 §11.1: the scheme is case-insensitive. Other schemes (Basic, from a proxy) are
/// not ours: `None`. Both the WebSocket token and the publisher key are read with this.
pub fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credentials.trim())
}

/// Whether a `Sec-WebSocket-Protocol` entry carries a token; such an entry must never be
/// chosen as the response's protocol (it would echo the token).
pub fn is_token_subprotocol(protocol: &str) -> bool {
    protocol.trim().starts_with(TOKEN_SUBPROTOCOL_PREFIX)
}

/// The token of an upgrade request: `Ok(None)` when there is none (empty values count as
/// none), an error when the sources disagree, a token is over [`MAX_TOKEN_BYTES`], or a
/// carrying header is not valid text.
pub fn token_from_request(uri: &Uri, headers: &HeaderMap) -> Result<Option<String>, AuthError> {
    let mut found = Found::default();

    // `URLSearchParams` encoding: `+` is a space, `%XX` a byte; a malformed escape stays
    // literal, and invalid UTF-8 is replaced (such a token then fails verification).
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if QUERY_KEYS.contains(&key.as_ref()) {
            found.offer(&value)?;
        }
    }

    for value in header_texts(headers, &axum::http::header::AUTHORIZATION)? {
        if let Some(credentials) = bearer_credentials(value) {
            found.offer(credentials)?;
        }
    }

    for value in header_texts(headers, &HeaderName::from_static("x-jid"))? {
        found.offer(value.trim())?;
    }

    for value in header_texts(headers, &axum::http::header::SEC_WEBSOCKET_PROTOCOL)? {
        for entry in value.split(',') {
            if let Some(token) = entry.trim().strip_prefix(TOKEN_SUBPROTOCOL_PREFIX) {
                found.offer(token)?;
            }
        }
    }

    Ok(found.token)
}

/// The token seen so far.
#[derive(Default)]
struct Found {
    token: Option<String>,
}

impl Found {
    fn offer(&mut self, candidate: &str) -> Result<(), AuthError> {
        if candidate.is_empty() {
            return Ok(());
        }
        if candidate.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::invalid("token too long"));
        }
        match &self.token {
            Some(existing) if existing != candidate => Err(AuthError::invalid("conflicting tokens")),
            Some(_) => Ok(()),
            None => {
                self.token = Some(candidate.to_owned());
                Ok(())
            }
        }
    }
}

/// Every value of a header, as text; a value that is not visible ASCII is an error, since
/// skipping it could hide a second, conflicting token.
fn header_texts<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Vec<&'h str>, AuthError> {
    headers.get_all(name).iter().map(|v| v.to_str().map_err(|_| AuthError::invalid(format!("malformed {name} header")))).collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn request(uri: &str, headers: &[(&str, &[u8])]) -> Result<Option<String>, AuthError> {
        let uri: Uri = uri.parse().expect("uri");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(HeaderName::from_bytes(name.as_bytes()).expect("name"), HeaderValue::from_bytes(value).expect("value"));
        }
        token_from_request(&uri, &map)
    }

    const T: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.sig";

    #[test]
    fn finds_the_token_in_each_place() {
        let some = Ok(Some(T.to_owned()));
        assert_eq!(request(&format!("/cable?token={T}"), &[]), some);
        assert_eq!(request(&format!("/cable?x=1&jid={T}&y=2"), &[]), some);
        assert_eq!(request("/cable", &[("authorization", format!("Bearer {T}").as_bytes())]), some);
        assert_eq!(request("/cable", &[("authorization", format!("bearer   {T} ").as_bytes())]), some);
        assert_eq!(request("/cable", &[("x-jid", T.as_bytes())]), some);
        assert_eq!(request("/cable", &[("sec-websocket-protocol", format!("actioncable-v1-json, anycable-token.{T}").as_bytes())]), some);
        assert_eq!(request("/cable", &[("sec-websocket-protocol", b"actioncable-v1-json"), ("sec-websocket-protocol", format!("anycable-token.{T}").as_bytes())]), some);
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(request("/cable?token=a%2Eb%2ec", &[]), Ok(Some("a.b.c".into())));
        assert_eq!(request("/cable?%74oken=abc", &[]), Ok(Some("abc".into())));
        assert_eq!(request("/cable?token=a+b%zz%", &[]), Ok(Some("a b%zz%".into())));
        assert_eq!(request("/cable?token=%E2%9C%93", &[]), Ok(Some("✓".into())));
        assert_eq!(request("/cable?token=%FF", &[]), Ok(Some("\u{FFFD}".into())));
    }

    #[test]
    fn none_when_absent_or_empty() {
        assert_eq!(request("/cable", &[]), Ok(None));
        assert_eq!(request("/cable?token=&jid", &[("authorization", b"Bearer ")]), Ok(None));
        assert_eq!(request("/cable?tokens=abc&sid=x", &[("authorization", b"Basic dXNlcjpwYXNz")]), Ok(None));
        assert_eq!(request("/cable", &[("sec-websocket-protocol", b"actioncable-v1-json, anycable-token.")]), Ok(None));
    }

    #[test]
    fn the_same_token_twice_is_fine_and_different_ones_conflict() {
        let bearer = format!("Bearer {T}");
        assert_eq!(request(&format!("/cable?token={T}&jid={T}"), &[("authorization", bearer.as_bytes())]), Ok(Some(T.to_owned())));
        let conflict = Err(AuthError::invalid("conflicting tokens"));
        assert_eq!(request("/cable?token=aaa", &[("authorization", b"Bearer bbb")]), conflict);
        assert_eq!(request("/cable?token=aaa&token=bbb", &[]), conflict);
        assert_eq!(request("/cable?token=aaa&jid=bbb", &[]), conflict);
        assert_eq!(request("/cable", &[("authorization", b"Bearer aaa"), ("x-jid", b"bbb")]), conflict);
        assert_eq!(request("/cable", &[("authorization", b"Bearer aaa"), ("authorization", b"Bearer bbb")]), conflict);
        assert_eq!(request("/cable?jid=aaa", &[("sec-websocket-protocol", b"anycable-token.bbb")]), conflict);
    }

    #[test]
    fn oversized_and_malformed_inputs_are_invalid() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(request(&format!("/cable?token={long}"), &[]), Err(AuthError::invalid("token too long")));
        assert!(matches!(request("/cable", &[("authorization", b"Bearer \xff\xfe")]), Err(AuthError::Invalid { .. })));
    }

    #[test]
    fn bearer_schemes_in_any_case() {
        for value in ["Bearer k", "bearer k", "BEARER k", "BeArEr   k ", " Bearer k"] {
            assert_eq!(bearer_credentials(value), Some("k"), "{value:?}");
        }
        for value in ["Basic k", "Bearerk", "Bearer", "Bearer ", "k", "Token k", ""] {
            assert_eq!(bearer_credentials(value), None, "{value:?}");
        }
    }

    #[test]
    fn token_subprotocols() {
        assert!(is_token_subprotocol("anycable-token.abc"));
        assert!(is_token_subprotocol(" anycable-token."));
        assert!(!is_token_subprotocol("actioncable-v1-json"));
        assert!(!is_token_subprotocol("actioncable-v1-ext-json"));
    }
}
