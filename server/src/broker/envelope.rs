//! The envelope a client receives around a payload, built in the order and from the
//! sources `schema/cableway.yaml` declares (`x-fill`).

use serde_json::{Map, Value};

use crate::channels::ENVELOPE;
use crate::codegen_support::{EventDescriptor, Fill};

/// The envelope as a JSON value.
pub fn build(event: &EventDescriptor, payload: &Value) -> Value {
    let mut m = Map::new();
    for f in ENVELOPE {
        let v = match f.fill {
            Fill::Event => Some(Value::String(event.name.to_owned())),
            Fill::Payload => Some(payload.clone()),
            Fill::ResourceType => event.resource.map(|r| Value::String(r.kind.to_owned())),
            Fill::ResourceId => event.resource.and_then(|r| payload.pointer(r.id)).map(|v| match v {
                Value::String(s) => Value::String(s.clone()),
                other => Value::String(other.to_string()),
            }),
            Fill::Timestamp => Some(Value::String(now_rfc3339())),
        };
        if let Some(v) = v {
            m.insert(f.name.to_owned(), v);
        }
    }
    Value::Object(m)
}

/// The envelope encoded once, to be spliced into every data frame of the broadcast.
pub fn encode(event: &EventDescriptor, payload: &Value) -> String {
    build(event, payload).to_string()
}

/// Now, as RFC 3339 in UTC with second precision (`2025-10-11T21:07:00Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
