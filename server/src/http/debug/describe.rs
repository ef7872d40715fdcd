//! `GET /debug/api/schema`: every channel compiled into this binary, as the debug page shows
//! it: params, streams, rule, history, events (payload schema, example, fan-out templates)
//! and actions (request, reply, errors, behaviour). Built once from the registry; the
//! schemas are the bundled documents the server validates with.

use std::sync::LazyLock;

use serde_json::{json, Value};

use super::example::{example, DEV_ACCOUNT, DEV_USER};
use crate::channels::{ENVELOPE, REGISTRY};
use crate::codegen_support::{ActionBehaviour, Fill, OnSubscribeDescriptor};
use crate::validation;

/// The description, as JSON text.
pub(super) fn schema_json() -> &'static str {
    static TEXT: LazyLock<String> = LazyLock::new(|| describe().to_string());
    &TEXT
}

fn parse(schema: &str) -> Value {
    serde_json::from_str(schema).unwrap_or(Value::Null)
}

fn example_of(schema: &'static str) -> Value {
    example(&parse(schema), |v| validation::validate(schema, v).is_ok())
}

fn describe() -> Value {
    let channels: Vec<Value> = REGISTRY
        .iter()
        .map(|c| {
            let events: Vec<Value> = c
                .events
                .iter()
                .map(|e| {
                    json!({
                        "name": e.name,
                        "description": e.description,
                        "payload": parse(e.payload_schema),
                        "example": example_of(e.payload_schema),
                        "publish_to": e.publish_to.iter().map(|t| t.source).collect::<Vec<_>>(),
                        "resource": e.resource.map(|r| json!({ "type": r.kind, "id": r.id })),
                    })
                })
                .collect();
            let actions: Vec<Value> = c
                .actions
                .iter()
                .map(|a| {
                    let behaviour = match a.behaviour {
                        ActionBehaviour::Relay { event, exclude_sender, stamp } => {
                            let stamp: serde_json::Map<String, Value> = stamp.iter().map(|s| (s.field.to_owned(), Value::String(s.source.to_string()))).collect();
                            json!({ "relay": { "event": event, "exclude_sender": exclude_sender, "stamp": stamp } })
                        }
                        ActionBehaviour::Forward { path } => json!({ "forward": { "path": path } }),
                    };
                    json!({
                        "name": a.name,
                        "description": a.description,
                        "request": parse(a.request_schema),
                        "request_example": example_of(a.request_schema),
                        "reply": a.reply_schema.map(parse),
                        "errors": a.errors,
                        "behaviour": behaviour,
                    })
                })
                .collect();
            json!({
                "name": c.name,
                "description": c.description,
                "experimental": c.experimental,
                "params": parse(c.params_schema),
                "params_example": example_of(c.params_schema),
                "streams": c.streams,
                "rule": parse(c.rule),
                "history": { "size": c.history.size, "ttl_seconds": c.history.ttl_seconds },
                "on_subscribe": c.on_subscribe.iter().map(|step| match step {
                    OnSubscribeDescriptor::Message(m) => m.event,
                    OnSubscribeDescriptor::Fetch(f) => f.unavailable.event,
                }).collect::<Vec<_>>(),
                "events": events,
                "actions": actions,
            })
        })
        .collect();
    let envelope: Vec<Value> = ENVELOPE
        .iter()
        .map(|f| {
            let fill = match f.fill {
                Fill::Event => "event",
                Fill::Payload => "payload",
                Fill::ResourceType => "resource_type",
                Fill::ResourceId => "resource_id",
                Fill::Timestamp => "timestamp",
            };
            json!({ "name": f.name, "fill": fill })
        })
        .collect();
    json!({
        "package": crate::channels::PACKAGE_NAME,
        "schema_version": crate::channels::SCHEMA_VERSION,
        "claims": parse(crate::channels::CLAIMS_SCHEMA),
        "principal": { "sub": DEV_USER, "account_id": DEV_ACCOUNT, "permissions": ["admin.access"], "kind": "user" },
        "envelope": envelope,
        "channels": channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_event_and_action_is_described() {
        let d: Value = serde_json::from_str(schema_json()).expect("JSON");
        let channels = d["channels"].as_array().expect("channels");
        assert_eq!(channels.len(), REGISTRY.len());
        for (c, described) in REGISTRY.iter().zip(channels) {
            assert_eq!(described["name"], c.name);
            assert_eq!(described["events"].as_array().map(Vec::len), Some(c.events.len()));
            assert_eq!(described["actions"].as_array().map(Vec::len), Some(c.actions.len()));
            assert!(described["params"].is_object() && described["rule"].is_object(), "{}", c.name);
        }
        let notifications = channels.iter().find(|c| c["name"] == "NotificationChannel").expect("declared");
        let new = notifications["events"].as_array().and_then(|e| e.iter().find(|e| e["name"] == "new_notification")).expect("declared");
        assert_eq!(new["publish_to"], json!(["notifications:{payload.account_id}"]));
        assert_eq!(new["example"]["account_id"], DEV_ACCOUNT);
        assert_eq!(d["envelope"][0], json!({ "name": "event", "fill": "event" }));
    }
}
