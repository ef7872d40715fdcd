//! The embedded engine: one node, everything in this process. History is a bounded ring per
//! stream ([`MemoryHistory`]), sessions a map ([`MemorySessions`]), ownership a map
//! ([`Registry`]); a publication is delivered while its stream's history is held, so its
//! position and its delivery can never be reordered.

use std::sync::Arc;

use super::{Join, Published};
use crate::broker::{self, DeliveryReport, Publication};
use crate::config::Config;
use crate::history::memory::MemoryHistory;
use crate::history::sessions::memory::MemorySessions;
use crate::history::sessions::SessionStore;
use crate::history::HistoryStore;
use crate::hub::{FanoutStats, Hub, SessionId};
use crate::metrics;
use crate::protocol::frame;
use crate::resolver::registry::Registry;

/// The embedded engine.
pub struct MemoryEngine {
    hub: Arc<Hub>,
    history: MemoryHistory,
    /// Sessions kept for resume.
    pub sessions: MemorySessions,
    /// Who owns which resource.
    pub owners: Arc<Registry>,
    /// Whether events' `owner` facts are recorded (the registry is the resolver).
    record_owners: bool,
}

impl MemoryEngine {
    /// An empty engine delivering through `hub`.
    pub fn new(config: &Config, hub: Arc<Hub>, record_owners: bool) -> Self {
        let now = crate::auth::unix_now().max(0) as u64;
        MemoryEngine { hub, history: MemoryHistory::new(now), sessions: MemorySessions::new(config.timeouts.session_ttl, config.limits.max_kept_sessions_bytes), owners: Arc::new(Registry::default()), record_owners }
    }

    /// Delivers checked publications: ownership facts first, then, per stream, a position
    /// from the history and the envelope (encoded once) to every subscriber but `exclude`.
    pub fn publish(&self, pubs: &[Publication], exclude: Option<SessionId>) -> Published {
        let mut report = DeliveryReport::default();
        let now = crate::auth::unix_now().max(0) as u64;
        for p in pubs {
            if self.record_owners {
                if let Some((kind, id, account)) = p.owner_fact() {
                    if let Err(e) = self.owners.record(kind, &id, &account) {
                        tracing::warn!(error = %e, event = p.event.name, "ownership fact not recorded");
                    }
                }
            }
            let message = p.message();
            let mut stats = FanoutStats::default();
            for stream in &p.streams {
                self.history.append(stream, &message, p.channel.history, now, &mut |pos| {
                    stats += broker::fanout(&self.hub, stream, &message, pos, exclude);
                });
                if !report.streams.contains(stream) {
                    report.streams.push(stream.clone());
                }
            }
            report.deliveries += stats.queued;
            report.slow_disconnects += stats.overflowed;
            metrics::deliveries(metrics::ChannelLabel::of(p.channel), stats.queued as u64);
        }
        Published { report, positions: Vec::new() }
    }

    /// Replays and registers while the history holds every stream of the subscription.
    pub fn join(&self, j: &Join<'_>) -> Option<bool> {
        let register_all = || {
            if j.register {
                for stream in j.streams {
                    self.hub.subscribe(stream, j.identifier, j.subscriber.clone());
                }
            }
        };
        let Some(request) = j.request else {
            register_all();
            return None;
        };
        let now = crate::auth::unix_now().max(0) as u64;
        let mut confirmed = false;
        self.history.replay(j.streams, request, now, &mut |result| {
            match result {
                Ok(replays) => {
                    for r in &replays {
                        for e in &r.entries {
                            let _ = j.subscriber.outbox.push(j.subscriber.replayed(&frame::data_at(j.identifier, &e.message, &r.stream, &r.epoch, e.offset)));
                        }
                    }
                    confirmed = true;
                }
                Err(gap) => tracing::info!(session = j.subscriber.session.0, identifier = &**j.identifier, %gap, "history rejected"),
            }
            register_all();
        });
        Some(confirmed)
    }

    /// Drops expired history and sessions.
    pub fn sweep(&self) {
        let now = crate::auth::unix_now().max(0) as u64;
        let streams = self.history.sweep(now);
        let sessions = self.sessions.sweep();
        let (messages, bytes) = self.history.usage();
        tracing::debug!(streams_dropped = streams, sessions_dropped = sessions, messages, bytes, "history swept");
    }
}
