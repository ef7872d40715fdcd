//! The app backend at `backend_url`: forwarded actions and on-subscribe fetches both POST
//! JSON to it through one HTTP client ([`App::backend`], built with the forward timeout),
//! and both read its answer the same way.

use serde_json::Value;

use crate::app::App;

/// Why the backend gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// `backend_url` is not set.
    #[error("no backend is configured")]
    NotConfigured,
    /// No answer within the forward timeout.
    #[error("the backend did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("the backend is unreachable: {0}")]
    Unreachable(reqwest::Error),
    /// A status other than 2xx.
    #[error("the backend answered {0}")]
    Status(u16),
    /// A 2xx whose body is not JSON.
    #[error("the backend's answer is not JSON")]
    NotJson,
}

impl BackendError {
    /// A short, stable word for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::NotConfigured => "not_configured",
            BackendError::Timeout => "timeout",
            BackendError::Unreachable(_) => "unreachable",
            BackendError::Status(_) => "status",
            BackendError::NotJson => "not_json",
        }
    }
}

/// POSTs `body` to the backend at `path` and returns its JSON answer.
///
/// # Errors
/// [`BackendError`] when there is no backend, it does not answer in time, answers another
/// status than 2xx, or a body that is not JSON.
pub async fn post(app: &App, path: &str, body: &Value) -> Result<Value, BackendError> {
    let base = app.config.backend.url.as_deref().ok_or(BackendError::NotConfigured)?;
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let sent = |e: reqwest::Error| if e.is_timeout() { BackendError::Timeout } else { BackendError::Unreachable(e) };
    let resp = app.backend.post(&url).json(body).send().await.map_err(sent)?;
    if !resp.status().is_success() {
        return Err(BackendError::Status(resp.status().as_u16()));
    }
    resp.json().await.map_err(|e| if e.is_timeout() { BackendError::Timeout } else { BackendError::NotJson })
}
