//! The publisher key: what `POST /broadcast`, `POST /_broadcast` and `PUT /resources` require, as
//! `Authorization: Bearer <key>` (the scheme in any case, RFC 9110 §11.1). Checked by a
//! middleware in front of the handler, so a request without it is answered before any of
//! its body is read.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::json_error;
use crate::app::App;
use crate::auth::token_source::bearer_credentials;

/// The request does not carry the publisher key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("send the publisher key as `Authorization: Bearer <key>`")]
pub struct PublisherKeyRequired;

impl IntoResponse for PublisherKeyRequired {
    fn into_response(self) -> Response {
        json_error(StatusCode::UNAUTHORIZED, "unauthorized", self)
    }
}

/// Answers 401 unless the request carries the publisher key; the body stays unread.
pub(super) async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    match require(&app, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// Checks the publisher key (the comparison takes constant time).
///
/// # Errors
/// [`PublisherKeyRequired`] when the key is missing, in another scheme, or wrong.
pub(super) fn require(app: &App, headers: &HeaderMap) -> Result<(), PublisherKeyRequired> {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_credentials);
    match given {
        Some(key) if app.config.server.publisher_key.matches(key) => Ok(()),
        _ => Err(PublisherKeyRequired),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::config::Config;

    fn check(app: &App, authorization: Option<&str>) -> Result<(), PublisherKeyRequired> {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        }
        require(app, &headers)
    }

    #[tokio::test]
    async fn the_key_in_any_scheme_case_and_nothing_else() {
        let app = App::new(Config::for_tests()).expect("app");
        let key = Config::TEST_PUBLISHER_KEY;
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(check(&app, Some(&format!("{scheme} {key}"))), Ok(()), "{scheme}");
        }
        let wrong = [
            None,
            Some(key.to_owned()),
            Some(format!("Basic {key}")),
            Some(format!("Bearer {key}x")),
            Some(format!("Bearer {}", &key[..key.len() - 1])),
            Some("Bearer not-the-publisher-key-0123456789abcdef".to_owned()),
            Some("Bearer".to_owned()),
        ];
        for value in wrong {
            assert_eq!(check(&app, value.as_deref()), Err(PublisherKeyRequired), "{value:?}");
        }
    }

    #[tokio::test]
    async fn a_missing_key_is_401_with_the_stable_body() {
        let expected = r#"{"error":"unauthorized","message":"send the publisher key as `Authorization: Bearer <key>`"}"#;
        assert_eq!(crate::http::error::answer(PublisherKeyRequired).await, (401, expected.to_owned()));
    }
}
