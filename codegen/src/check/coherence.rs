//! Fan-in/fan-out coherence: every stream is reached by an event, every event reaches a stream.

use crate::diag::Problems;
use crate::ir::template::unifies;

use super::Cx;

pub(super) fn check(cx: &Cx<'_>, problems: &mut Problems) {
    let loc = cx.loc();
    let spec = cx.spec();
    // A template that did not parse was reported already and is missing from the IR; do not
    // report what it might have matched as a second, misleading problem.
    let streams_complete = spec.is_none_or(|f| f.streams.len() == cx.ch.streams.len());
    let written = |event: &str| spec.and_then(|f| f.events.get(event)).map(|e| e.publish_to.len());
    let publish_complete = cx.ch.events.iter().all(|e| written(&e.name).is_none_or(|n| n == e.publish_to.len()));
    // Which stream each event reaches, unified once per pair (the costly step at scale).
    let mut reached = vec![false; cx.ch.streams.len()];
    let mut reaches = vec![false; cx.ch.events.len()];
    for (e, ev) in cx.ch.events.iter().enumerate() {
        for (i, s) in cx.ch.streams.iter().enumerate() {
            if ev.publish_to.iter().any(|t| unifies(&t.key, &s.key)) {
                reached[i] = true;
                reaches[e] = true;
            }
        }
    }
    for (i, s) in cx.ch.streams.iter().enumerate() {
        if !reached[i] && publish_complete {
            problems.at(
                &loc.child("streams").child(&i.to_string()).child("key"),
                format!("stream `{}` is never published to: no event of {} fans out to it", s.key.source, cx.ch.name),
                "add a matching template to some event's `publish_to`, or remove the stream",
            );
        }
    }
    for (e, ev) in cx.ch.events.iter().enumerate() {
        let complete = written(&ev.name).is_none_or(|n| n == ev.publish_to.len());
        if !reaches[e] && !ev.publish_to.is_empty() && streams_complete && complete {
            problems.at(
                &loc.child("events").child(&ev.name).child("publish_to"),
                format!("event `{}` reaches none of the channel's streams, so no subscriber would ever receive it", ev.name),
                "make one `publish_to` template match a key under `streams:`",
            );
        }
        if written(&ev.name).unwrap_or(ev.publish_to.len()) == 0 {
            problems.at(&loc.child("events").child(&ev.name).child("publish_to"), format!("event `{}` has no `publish_to`", ev.name), "list at least one stream key template");
        }
    }
}
