//! What a `perform` is answered with: the `$reply` data message, and the error codes an
//! action may fail with (the built-in ones, or those the action declares).

use serde_json::{json, Value};

use crate::codegen_support::ActionDescriptor;
use crate::validation::Violation;

/// The stable code of a failed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request does not match the action's schema.
    InvalidRequest,
    /// The channel has no such action, or `data.action` is missing.
    UnknownAction,
    /// The principal may not perform it (answered by a backend).
    Forbidden,
    /// The backend is not configured, did not answer, or answered something unusable.
    BackendUnavailable,
    /// The session's command limit dropped the perform.
    RateLimited,
    /// One of the codes the action declares (`errors:` in its schema).
    Declared(&'static str),
}

impl ErrorCode {
    /// The built-in codes, in the order of [`BUILTIN_ERRORS`](super::BUILTIN_ERRORS).
    pub const BUILTIN: [ErrorCode; 5] = [ErrorCode::InvalidRequest, ErrorCode::UnknownAction, ErrorCode::Forbidden, ErrorCode::BackendUnavailable, ErrorCode::RateLimited];

    /// The code on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::BackendUnavailable => "backend_unavailable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Declared(code) => code,
        }
    }

    /// The code a backend answered, when `action` may answer it: one it declares, or a
    /// built-in one.
    pub fn answerable(action: &ActionDescriptor, code: &str) -> Option<ErrorCode> {
        let declared = action.errors.iter().find(|declared| **declared == code).map(|declared| ErrorCode::Declared(declared));
        declared.or_else(|| ErrorCode::BUILTIN.into_iter().find(|builtin| builtin.as_str() == code))
    }
}

/// A failed action, as the client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionError {
    /// Its code.
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
    /// Invalid fields, for `invalid_request`.
    pub details: Vec<Violation>,
}

impl ActionError {
    /// An error without details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ActionError { code, message: message.into(), details: Vec::new() }
    }

    /// An `invalid_request` listing the fields that are wrong.
    pub fn invalid(message: impl Into<String>, details: Vec<Violation>) -> Self {
        ActionError { code: ErrorCode::InvalidRequest, message: message.into(), details }
    }

    /// A perform dropped by the session's command limit.
    pub fn rate_limited() -> Self {
        ActionError::new(ErrorCode::RateLimited, "too many commands; slow down")
    }

    fn to_json(&self) -> Value {
        let mut v = json!({ "code": self.code.as_str(), "message": self.message });
        if !self.details.is_empty() {
            v["details"] = json!(self.details);
        }
        v
    }
}

/// The data message answering a `perform`: `{"$reply":{ref?, action, ok, data|error}}`.
pub fn message(reference: Option<&str>, action: &str, outcome: Result<Value, ActionError>) -> Value {
    let mut r = json!({});
    if let Some(reference) = reference {
        r["ref"] = json!(reference);
    }
    r["action"] = json!(action);
    match outcome {
        Ok(data) => {
            r["ok"] = json!(true);
            r["data"] = data;
        }
        Err(error) => {
            r["ok"] = json!(false);
            r["error"] = error.to_json();
        }
    }
    json!({ "$reply": r })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::BUILTIN_ERRORS;

    #[test]
    fn the_builtin_codes_are_the_advertised_ones() {
        let codes: Vec<&str> = ErrorCode::BUILTIN.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes, BUILTIN_ERRORS);
    }

    #[test]
    fn replies_keep_their_wire_shape() {
        let ok = message(Some("r1"), "go", Ok(json!({"n": 1})));
        assert_eq!(ok.to_string(), r#"{"$reply":{"ref":"r1","action":"go","ok":true,"data":{"n":1}}}"#);
        let limited = message(None, "go", Err(ActionError::rate_limited()));
        assert_eq!(limited.to_string(), r#"{"$reply":{"action":"go","ok":false,"error":{"code":"rate_limited","message":"too many commands; slow down"}}}"#);
        let invalid = message(None, "go", Err(ActionError::invalid("bad", vec![Violation { path: "/x".into(), message: "m".into() }])));
        assert_eq!(invalid["$reply"]["error"]["details"][0]["path"], "/x");
    }
}
