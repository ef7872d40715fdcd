//! Stream-addressed broadcasts: what Rails' `ActionCable.server.broadcast(stream, message)`
//! and AnyCable's `{"stream", "data"}` send. They name a stream and carry the whole message
//! (`{"event": ..., "payload": ..., ...}`), not an event to fan out; the schema still decides.
//!
//! # The rule
//! 1. The message is a JSON object with a string `event` and a `payload`. Its other keys must
//!    be fields of the declared envelope (`resource_type`, `resource_id`, `timestamp`); the
//!    server fills those itself, as for `POST /broadcast`. Any other key is refused: a client
//!    would never see it.
//! 2. The stream name is matched against every channel's declared stream templates (`streams:`),
//!    each placeholder standing for one or more key-safe characters (`[A-Za-z0-9_-]`, never `:`).
//!    No match: refused (`unknown_stream`).
//! 3. The candidates are the events named `event`, of the channels whose templates matched,
//!    that have a `publish_to` template matching the stream. None: refused (`unknown_event`).
//!    Several: the one whose matching `publish_to` template has the most literal text wins
//!    (`devops_pipeline_{…}` over `devops_{…}` for `devops_pipeline_5`); a tie is refused (`ambiguous`).
//! 4. The payload is validated against the event's schema (`invalid_payload`), its stream keys
//!    rendered (`invalid_stream_key`), and the stream must be one of them (`stream_mismatch`):
//!    a broadcast cannot reach a stream its own payload does not publish to.
//! 5. It is published to that stream only: Rails broadcasts once per stream level.
//!
//! A stream shared by several channels (the same template in two channel files) is one
//! stream: the event decides which channel's shape and history apply, and every subscriber
//! of the stream receives it, as with `POST /broadcast`.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::{prepare_for, Publication, PublishError};
use crate::channels::{ChannelDescriptor, ENVELOPE, REGISTRY};
use crate::codegen_support::{EventDescriptor, Fill, TemplatePart};
use crate::metrics::{BroadcastOutcome, TemplateLabel};
use crate::validation::Violation;

/// A broadcast that passed every check, and the declared stream template it reached.
#[derive(Debug, Clone)]
pub struct Addressed {
    /// The publication, to the broadcast's stream only.
    pub publication: Publication,
    /// The subscribe-side template the stream matched.
    pub template: TemplateLabel,
}

/// A broadcast that is not delivered, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The template the stream matched (the most specific one), or `unmatched`.
    pub template: TemplateLabel,
    /// Why.
    pub reason: Reason,
}

/// Why a stream-addressed broadcast is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// Not a JSON object with a string `event` and a `payload`.
    #[error("the message is not an event: {0}; expected {{\"event\": \"...\", \"payload\": {{...}}}}")]
    NotAnEvent(&'static str),
    /// A key the envelope does not declare.
    #[error("the message has `{0}`, which the envelope does not declare (clients would never see it)")]
    UndeclaredField(String),
    /// No declared stream template matches.
    #[error("the stream matches no declared stream template")]
    UnknownStream,
    /// No event of that name publishes to the stream.
    #[error("no event `{0}` publishes to this stream")]
    UnknownEvent(String),
    /// Several events of that name publish to the stream, equally specifically.
    #[error("event `{event}` publishes to this stream in several channels ({channels})")]
    Ambiguous {
        /// The event.
        event: String,
        /// The channels.
        channels: String,
    },
    /// The payload does not match the event's schema.
    #[error("the payload does not match the schema of `{event}`")]
    InvalidPayload {
        /// The event.
        event: String,
        /// Where and what, paths from the message (`/payload/...`), values masked.
        violations: Vec<Violation>,
    },
    /// A stream key cannot be built from the payload.
    #[error("cannot build stream `{template}`: {reason}")]
    InvalidStreamKey {
        /// The `publish_to` template.
        template: String,
        /// Why.
        reason: String,
    },
    /// The payload publishes elsewhere.
    #[error("the payload of `{event}` publishes to {streams}, not to this stream")]
    StreamMismatch {
        /// The event.
        event: String,
        /// The streams it renders.
        streams: String,
    },
}

impl Reason {
    /// The outcome label (and the `error` code of `POST /_broadcast`).
    pub fn outcome(&self) -> BroadcastOutcome {
        match self {
            Reason::NotAnEvent(_) => BroadcastOutcome::NotAnEvent,
            Reason::UndeclaredField(_) => BroadcastOutcome::UndeclaredField,
            Reason::UnknownStream => BroadcastOutcome::UnknownStream,
            Reason::UnknownEvent(_) => BroadcastOutcome::UnknownEvent,
            Reason::Ambiguous { .. } => BroadcastOutcome::Ambiguous,
            Reason::InvalidPayload { .. } => BroadcastOutcome::InvalidPayload,
            Reason::InvalidStreamKey { .. } => BroadcastOutcome::InvalidStreamKey,
            Reason::StreamMismatch { .. } => BroadcastOutcome::StreamMismatch,
        }
    }
}

/// One declared subscribe-side template, split for matching.
struct Declared {
    channel: &'static ChannelDescriptor,
    label: TemplateLabel,
    parts: Vec<TemplatePart>,
}

/// Every channel's `streams:`, in registry order.
static DECLARED: LazyLock<Vec<Declared>> = LazyLock::new(|| {
    REGISTRY.iter().flat_map(|c| c.streams.iter().enumerate().map(move |(i, source)| Declared { channel: c, label: TemplateLabel::of(c, i), parts: split(source) })).collect()
});

/// A template as written (checked by codegen), as literal and placeholder parts; the parts
/// borrow the template's text.
fn split(source: &'static str) -> Vec<TemplatePart> {
    let mut parts = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        match rest.strip_prefix('{').and_then(|inner| inner.find('}').map(|end| (inner, end))) {
            Some((inner, end)) => {
                parts.push(TemplatePart::Field(&inner[..end]));
                rest = &inner[end + 1..];
            }
            None => {
                let end = rest[1..].find('{').map_or(rest.len(), |i| i + 1);
                parts.push(TemplatePart::Lit(&rest[..end]));
                rest = &rest[end..];
            }
        }
    }
    parts
}

/// Whether some values of the placeholders make `parts` spell `name`: a placeholder is 1 to
/// 128 key-safe characters, as the server builds keys.
pub fn template_matches(parts: &[TemplatePart], name: &str) -> bool {
    match parts.split_first() {
        None => name.is_empty(),
        Some((TemplatePart::Lit(lit), rest)) => name.strip_prefix(lit).is_some_and(|after| template_matches(rest, after)),
        Some((TemplatePart::Field(_), rest)) => {
            let run = name.bytes().take(128).take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')).count();
            (1..=run).rev().any(|n| template_matches(rest, &name[n..]))
        }
    }
}

/// The literal text of a template: how specific it is.
fn literal_len(parts: &[TemplatePart]) -> usize {
    parts.iter().map(|p| if let TemplatePart::Lit(l) = p { l.len() } else { 0 }).sum()
}

/// The literal text before a template's first placeholder (for a `PSUBSCRIBE` pattern).
pub fn leading_literals() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = DECLARED.iter().map(|d| match d.parts.first() {
        Some(TemplatePart::Lit(l)) => *l,
        _ => "",
    }).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Checks one broadcast of `message` (the JSON text Rails encoded) to `stream`.
///
/// # Errors
/// [`Refusal`] naming the matched template and the reason.
pub fn prepare(stream: &str, message: &str) -> Result<Addressed, Refusal> {
    let matched: Vec<&Declared> = DECLARED.iter().filter(|d| template_matches(&d.parts, stream)).collect();
    let most_specific = |of: &mut dyn Iterator<Item = &&Declared>| of.max_by_key(|d| literal_len(&d.parts)).map_or(TemplateLabel::UNMATCHED, |d| d.label);
    let template = most_specific(&mut matched.iter());
    let refuse = |template, reason| Refusal { template, reason };
    let (event, payload) = read_message(message).map_err(|r| refuse(template, r))?;
    if matched.is_empty() {
        return Err(refuse(template, Reason::UnknownStream));
    }

    // Events of that name in the matched channels, with how specifically they reach the stream.
    let mut candidates: Vec<(&'static ChannelDescriptor, &'static EventDescriptor, usize)> = Vec::new();
    for d in &matched {
        if candidates.iter().any(|(c, _, _)| std::ptr::eq(*c, d.channel)) {
            continue;
        }
        for e in d.channel.events.iter().filter(|e| e.name == event) {
            if let Some(specific) = e.publish_to.iter().filter(|t| template_matches(t.parts, stream)).map(|t| literal_len(t.parts)).max() {
                candidates.push((d.channel, e, specific));
            }
        }
    }
    let (channel, event) = match pick(candidates.iter().map(|(c, e, s)| ((*c, *e), *s))) {
        Pick::None => return Err(refuse(template, Reason::UnknownEvent(event))),
        Pick::One(chosen) => chosen,
        Pick::Tie(many) => {
            let channels = many.iter().map(|(c, _)| c.name).collect::<Vec<_>>().join(", ");
            return Err(refuse(template, Reason::Ambiguous { event, channels }));
        }
    };
    let template = most_specific(&mut matched.iter().filter(|d| std::ptr::eq(d.channel, channel)));
    let mut publication = prepare_for(channel, event, payload, "").map_err(|e| {
        let reason = match e {
            PublishError::Invalid { event, violations } => Reason::InvalidPayload { event, violations },
            PublishError::Key { template, reason } => Reason::InvalidStreamKey { template, reason },
            other => Reason::UnknownEvent(other.to_string()),
        };
        refuse(template, reason)
    })?;
    if !publication.streams.iter().any(|s| s == stream) {
        let streams = if publication.streams.is_empty() { "no stream".to_owned() } else { publication.streams.join(", ") };
        return Err(refuse(template, Reason::StreamMismatch { event: event.name.to_owned(), streams }));
    }
    publication.streams = vec![stream.to_owned()];
    Ok(Addressed { publication, template })
}

/// What [`pick`] found.
#[derive(Debug, PartialEq, Eq)]
enum Pick<T> {
    None,
    One(T),
    Tie(Vec<T>),
}

/// Rule 3's choice among candidates with their specificity (the literal length of their
/// matching `publish_to` template): the most specific one, unless several share it.
fn pick<T>(candidates: impl Iterator<Item = (T, usize)>) -> Pick<T> {
    let mut best: Vec<T> = Vec::new();
    let mut top = 0;
    for (c, specific) in candidates {
        if best.is_empty() || specific > top {
            best.clear();
            top = specific;
            best.push(c);
        } else if specific == top {
            best.push(c);
        }
    }
    match best.len() {
        0 => Pick::None,
        1 => Pick::One(best.pop().expect("one")),
        _ => Pick::Tie(best),
    }
}

/// The `event` and `payload` of a message; the envelope's other fields are allowed and left
/// to the server.
fn read_message(message: &str) -> Result<(String, Value), Reason> {
    let value: Value = serde_json::from_str(message).map_err(|_| Reason::NotAnEvent("not JSON"))?;
    let Value::Object(mut fields) = value else { return Err(Reason::NotAnEvent("not a JSON object")) };
    let event = match fields.remove("event") {
        Some(Value::String(e)) => e,
        Some(_) => return Err(Reason::NotAnEvent("`event` is not a string")),
        None => return Err(Reason::NotAnEvent("no `event`")),
    };
    let payload = fields.remove("payload").ok_or(Reason::NotAnEvent("no `payload`"))?;
    if let Some(extra) = undeclared(&fields) {
        return Err(Reason::UndeclaredField(extra));
    }
    Ok((event, payload))
}

/// The first key (in order) that is no field the server fills in the envelope.
fn undeclared(fields: &Map<String, Value>) -> Option<String> {
    let filled = |name: &str| ENVELOPE.iter().any(|f| f.name == name && !matches!(f.fill, Fill::Event | Fill::Payload));
    fields.keys().find(|k| !filled(k)).map(|k| if k.chars().count() > 64 { format!("{}…", k.chars().take(64).collect::<String>()) } else { k.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node_update(run: &str, workflow: &str) -> Value {
        json!({
            "event": "workflow.node.execution.updated",
            "resource_type": "node_execution",
            "resource_id": "n-1",
            "payload": {
                "id": "n-1", "execution_id": run, "workflow_id": workflow, "status": "completed",
                "node_name": "Start", "node_type": "start",
                "started_at": "2025-10-11T21:07:00Z", "completed_at": "2025-10-11T21:07:01Z", "duration_ms": 1000
            },
            "timestamp": "2025-10-11T21:07:01Z"
        })
    }

    fn reason(stream: &str, message: &Value) -> Reason {
        prepare(stream, &message.to_string()).expect_err("refused").reason
    }

    #[test]
    fn a_rails_broadcast_reaches_its_stream_only() {
        let message = node_update("42", "7");
        for stream in ["ai_orchestration:workflow_run:42", "ai_orchestration:workflow:7"] {
            let ok = prepare(stream, &message.to_string()).expect("accepted");
            assert_eq!(ok.publication.streams, vec![stream.to_owned()]);
            assert_eq!((ok.publication.channel.name, ok.publication.event.name), ("AiOrchestrationChannel", "workflow.node.execution.updated"));
            assert!(ok.template.as_str().starts_with("ai_orchestration:workflow"), "{}", ok.template.as_str());
        }
        // The payload publishes to run 42 and workflow 7, not to run 43.
        assert!(matches!(reason("ai_orchestration:workflow_run:43", &message), Reason::StreamMismatch { .. }));
    }

    #[test]
    fn refusals_name_their_reason_and_template() {
        let message = node_update("42", "7");
        let unmatched = prepare("nowhere:42", &message.to_string()).expect_err("refused");
        assert_eq!((unmatched.template, unmatched.reason), (TemplateLabel::UNMATCHED, Reason::UnknownStream));
        let unknown = prepare("ai_orchestration:workflow_run:42", &json!({"event": "no.such", "payload": {}}).to_string()).expect_err("refused");
        assert_eq!(unknown.template.as_str(), "ai_orchestration:workflow_run:{params.id}");
        assert_eq!(unknown.reason, Reason::UnknownEvent("no.such".into()));
        let mut bad = node_update("42", "7");
        bad["payload"].as_object_mut().expect("object").remove("workflow_id");
        match reason("ai_orchestration:workflow_run:42", &bad) {
            Reason::InvalidPayload { violations, .. } => assert!(violations.iter().any(|v| v.path == "/payload/workflow_id"), "{violations:?}"),
            other => panic!("{other:?}"),
        }
        let mut extra = node_update("42", "7");
        extra["html"] = json!("<b>");
        assert_eq!(reason("ai_orchestration:workflow_run:42", &extra), Reason::UndeclaredField("html".into()));
        assert_eq!(reason("ai_orchestration:workflow_run:42", &json!(["x"])), Reason::NotAnEvent("not a JSON object"));
        assert_eq!(prepare("ai_orchestration:workflow_run:42", "{").expect_err("refused").reason, Reason::NotAnEvent("not JSON"));
        assert_eq!(reason("ai_orchestration:workflow_run:42", &json!({"event": "x"})), Reason::NotAnEvent("no `payload`"));
        // A placeholder never spans a `:` and never is empty.
        assert_eq!(reason("ai_orchestration:workflow_run:4:2", &message), Reason::UnknownStream);
        assert_eq!(reason("ai_orchestration:workflow_run:", &message), Reason::UnknownStream);
    }

    #[test]
    fn templates_match_as_keys_are_built() {
        let parts = split("customer_updates_{params.account_id}");
        assert_eq!(parts, vec![TemplatePart::Lit("customer_updates_"), TemplatePart::Field("params.account_id")]);
        assert!(template_matches(&parts, "customer_updates_acc_1"));
        assert!(!template_matches(&parts, "customer_updates_"));
        assert!(!template_matches(&parts, "customer_updates_a:b"));
        let two = split("a:{params.x}_{params.y}:z");
        assert!(template_matches(&two, "a:1_2_3:z"));
        assert!(!template_matches(&two, "a:1:z"));
        assert!(template_matches(&split("analytics:global"), "analytics:global"));
        assert!(!template_matches(&split("analytics:global"), "analytics:global2"));
        assert!(!template_matches(&parts, &format!("customer_updates_{}", "a".repeat(129))));
        assert!(leading_literals().contains(&"ai_orchestration:workflow_run:"));
    }

    /// A stream name that matches templates of two channels (a placeholder may hold `_`):
    /// the event of the one whose `publish_to` template has more literal text is chosen; equal
    /// literal text is a tie, refused as `ambiguous`.
    #[test]
    fn the_most_specific_template_wins_and_a_tie_is_refused() {
        let stream = "devops_pipeline_5";
        let broad = split("devops_{payload.scope}");
        let narrow = split("devops_pipeline_{payload.pipeline_id}");
        assert!(template_matches(&broad, stream) && template_matches(&narrow, stream), "both match");
        let candidates = [("BroadChannel", literal_len(&broad)), ("PipelineChannel", literal_len(&narrow))];
        assert_eq!(pick(candidates.into_iter()), Pick::One("PipelineChannel"));
        assert_eq!(pick(candidates.into_iter().rev()), Pick::One("PipelineChannel"), "whatever the order");
        let same = [("A", literal_len(&narrow)), ("B", literal_len(&split("devops_pipeline_{payload.id}")))];
        assert_eq!(pick(same.into_iter()), Pick::Tie(vec!["A", "B"]));
        assert_eq!(pick(std::iter::empty::<(&str, usize)>()), Pick::None);
    }

    /// For a stream of every declared template, the events that publish there never tie:
    /// the rule decides every real stream of the schema set.
    #[test]
    fn the_schema_set_has_no_ambiguous_stream() {
        for d in DECLARED.iter() {
            let sample: String = d.parts.iter().map(|p| match p {
                TemplatePart::Lit(l) => *l,
                TemplatePart::Field(_) => "x1",
            }).collect();
            let publishing = REGISTRY.iter().flat_map(|c| c.events.iter()).filter(|e| e.publish_to.iter().any(|t| template_matches(t.parts, &sample)));
            for e in publishing {
                let message = json!({"event": e.name, "payload": {}}).to_string();
                if let Err(Refusal { reason, .. }) = prepare(&sample, &message) {
                    assert!(matches!(reason, Reason::InvalidPayload { .. }), "{} to {sample}: {reason:?}", e.name);
                }
            }
        }
    }
}
