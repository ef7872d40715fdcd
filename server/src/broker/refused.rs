//! What happens to stream-addressed broadcasts, for the team that migrates: every one is
//! counted (`cableway_stream_broadcasts_total{source, template, outcome}`), and a refused
//! one is logged with its stream and reason at most once a minute per stream template and
//! reason. A Rails app that sends one malformed broadcast per request therefore writes
//! one warning a minute per mistake, with the number held back since, not one per request.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use super::addressed::{Reason, Refusal};
use crate::metrics::{self, BroadcastOutcome, BroadcastSource, TemplateLabel};

/// How often one (template, reason) may log.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// Per (template slot, reason): when it last logged and how many were refused since.
static LIMITS: LazyLock<Mutex<HashMap<(usize, BroadcastOutcome), Limit>>> = LazyLock::new(Default::default);

struct Limit {
    logged: Instant,
    held_back: u64,
}

/// Counts a broadcast from `source` that was published through `template`.
pub fn delivered(source: BroadcastSource, template: TemplateLabel) {
    metrics::stream_broadcast(source, template, BroadcastOutcome::Delivered);
}

/// Counts a broadcast the engine could not take (it was not delivered; the sender may retry).
pub fn unavailable(source: BroadcastSource, template: TemplateLabel) {
    metrics::stream_broadcast(source, template, BroadcastOutcome::Unavailable);
}

/// Counts a refused broadcast to `stream`, and logs it unless its template and reason logged
/// within [`LOG_EVERY`].
pub fn refused(source: BroadcastSource, stream: &str, refusal: &Refusal) {
    let outcome = refusal.reason.outcome();
    metrics::stream_broadcast(source, refusal.template, outcome);
    let held_back = {
        let mut limits = LIMITS.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match limits.get_mut(&(refusal.template.slot(), outcome)) {
            Some(limit) if now.duration_since(limit.logged) < LOG_EVERY => {
                limit.held_back += 1;
                return;
            }
            Some(limit) => std::mem::replace(limit, Limit { logged: now, held_back: 0 }).held_back,
            None => {
                limits.insert((refusal.template.slot(), outcome), Limit { logged: now, held_back: 0 });
                0
            }
        }
    };
    let violations = match &refusal.reason {
        Reason::InvalidPayload { violations, .. } => violations.iter().take(5).map(|v| format!("{}: {}", v.path, v.message)).collect::<Vec<_>>().join("; "),
        _ => String::new(),
    };
    // The stream is what the app broadcast to; neither the payload nor values are logged.
    tracing::warn!(
        source = source.as_str(),
        stream = %truncated(stream),
        template = refusal.template.as_str(),
        reason = outcome.as_str(),
        refused_since_last_line = held_back,
        violations = %violations,
        "stream broadcast refused, not delivered: {}", refusal.reason
    );
}

fn truncated(stream: &str) -> String {
    if stream.chars().count() > 200 {
        format!("{}…", stream.chars().take(200).collect::<String>())
    } else {
        stream.to_owned()
    }
}
