//! Token extraction and JWT decode: any upgrade request (query, `Authorization`, `X-JID`,
//! `Sec-WebSocket-Protocol`) yields a token, none, or an error, never a panic; a token found
//! is non-empty and bounded; and no fuzzed string verifies under a secret it was not signed
//! with, while a token the verifier signed itself does.
#![no_main]

use std::sync::OnceLock;

use cableway::auth::jwt::Verifier;
use cableway::auth::{token_from_request, unix_now};
use cableway::config::{AuthConfig, Secret};
use http::{HeaderMap, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let auth = AuthConfig { secret: Some(Secret::new("fuzz-only-hs256-secret-0123456789abcdef")), ..AuthConfig::default() };
        let v = Verifier::new(&auth).expect("valid auth config");
        let now = unix_now();
        let claims = json!({"sub": "u1", "account_id": "acct-1", "permissions": [], "kind": "user", "iat": now, "exp": now + 600});
        let own = v.sign(&claims).expect("signs");
        v.verify(&own).expect("its own token verifies");
        v
    })
}

fuzz_target!(|data: &[u8]| {
    let v = verifier();
    // `<query>\n<authorization>\n<x-jid>\n<sec-websocket-protocol>`, each part optional.
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let query = parts.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for name in ["authorization", "x-jid", "sec-websocket-protocol"] {
        if let Some(value) = parts.next().and_then(|p| HeaderValue::from_bytes(p).ok()) {
            headers.append(name, value);
        }
    }
    let uri = std::str::from_utf8(query).ok().and_then(|q| format!("/cable?{q}").parse::<Uri>().ok());
    let uri = uri.unwrap_or_else(|| Uri::from_static("/cable"));
    if let Ok(Some(token)) = token_from_request(&uri, &headers) {
        assert!(!token.is_empty(), "an empty token was taken");
        assert!(v.verify(&token).is_err(), "a fuzzed token verified: {token:?}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(v.verify(text).is_err(), "a fuzzed string verified: {text:?}");
    }
});
