//! `relay` actions: the validated request, with the fields the action stamps set by the
//! server, is published as the declared event to the subscription's streams.
//!
//! A stamp reads the sender's claims (`claims.sub`) or the subscription's params
//! (`params.conversation_id`), so receivers learn who sent an event and where, and a client
//! cannot say otherwise: a stamped field the request schema still declares (for clients
//! that send it) is overwritten, one it does not declare was refused by the validation.

use serde_json::Value;

use super::reply::{ActionError, ErrorCode};
use super::Performer;
use crate::broker::Publication;
use crate::codegen_support::StampDescriptor;
use crate::validation;

/// The publication a relay makes: `request` with its stamped fields set, validated as
/// `event`, to the performer's streams. The caller hands it to the engine.
pub(super) fn relayed(p: &Performer, event: &str, request: Value, stamp: &[StampDescriptor]) -> Result<Publication, ActionError> {
    let ev = p.channel.event(event).ok_or_else(|| ActionError::new(ErrorCode::InvalidRequest, format!("relay event `{event}` is not declared")))?;
    let payload = stamped(p, request, stamp);
    if let Err(details) = validation::validate(ev.payload_schema, &payload) {
        return Err(ActionError::invalid(format!("the request cannot be relayed as `{event}`"), details));
    }
    Ok(Publication { channel: p.channel, event: ev, payload, streams: p.streams.clone() })
}

/// The request with every stamped field set from the claims or params (or removed when
/// they lack it), whatever the client put there.
fn stamped(p: &Performer, request: Value, stamp: &[StampDescriptor]) -> Value {
    let Value::Object(mut payload) = request else { return request };
    for s in stamp {
        let value = s.source.read(&p.params, &p.principal).cloned();
        let sent = match value {
            Some(v) => payload.insert(s.field.to_owned(), v.clone()).filter(|old| *old != v),
            None => payload.remove(s.field),
        };
        if sent.is_some() {
            tracing::debug!(session = p.session.0, channel = p.channel.name, field = s.field, source = %s.source, "relay: the client's value of a stamped field was replaced");
        }
    }
    Value::Object(payload)
}
