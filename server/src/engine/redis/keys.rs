//! Redis key and channel names. Everything of one stream carries the stream as its hash tag
//! (`{…}`), so that a Redis Cluster would keep a stream's keys on one shard; the prefix lets
//! several deployments share one Redis.
//!
//! | name | type | what |
//! |---|---|---|
//! | `<prefix>:{<stream>}:meta` | hash | `e` epoch, `s` last offset, `t` last publish time, `l` publish time of the newest message no longer held |
//! | `<prefix>:{<stream>}:log` | stream | the history: entry id = offset, fields `d` (message) and `t` (publish time) |
//! | `<prefix>:{<stream>}` | pub/sub channel | each publication, for the nodes with subscribers |
//! | `<prefix>:{session:<sid>}` | hash | a kept session: `sub`, `account`, `data` |
//! | `<prefix>:{owner:<kind>:<id>}` | string | the owning account |
//! | `<prefix>:boot` | string | Unix time this Redis' data began (a `since` older than it cannot be served) |
//! | `<prefix>:ingest:markers` | pub/sub channel | position markers of the ingest connections (see [`ingest`](super::ingest)) |
//! | `<prefix>:ingest:lease` | string | the node that ingests first (its token), with a TTL |
//! | `<prefix>:{ingest:<marker>}:claims` | hash | broadcasts after a marker already ingested or refused: `<n>:<channel>` → node |

/// Builds names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Keys { prefix: prefix.to_owned() }
    }

    /// The pub/sub channel of `stream`.
    pub fn channel(&self, stream: &str) -> String {
        format!("{}:{{{stream}}}", self.prefix)
    }

    /// The stream a pub/sub channel name belongs to, if it is one of ours.
    pub fn stream_of_channel<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel.strip_prefix(&self.prefix)?.strip_prefix(":{")?.strip_suffix('}')
    }

    /// Whether a pub/sub channel is one of this deployment's own (a stream's, the markers).
    pub fn is_ours(&self, channel: &str) -> bool {
        channel.strip_prefix(&self.prefix).is_some_and(|rest| rest.starts_with(':'))
    }

    /// The position hash of `stream`.
    pub fn meta(&self, stream: &str) -> String {
        format!("{}:{{{stream}}}:meta", self.prefix)
    }

    /// The history (a Redis Stream) of `stream`.
    pub fn log(&self, stream: &str) -> String {
        format!("{}:{{{stream}}}:log", self.prefix)
    }

    /// A kept session.
    pub fn session(&self, sid: &str) -> String {
        format!("{}:{{session:{sid}}}", self.prefix)
    }

    /// An ownership fact.
    pub fn owner(&self, kind: &str, id: &str) -> String {
        format!("{}:{{owner:{kind}:{id}}}", self.prefix)
    }

    /// When this Redis' data began.
    pub fn boot(&self) -> String {
        format!("{}:boot", self.prefix)
    }

    /// The channel ingest markers are published on.
    pub fn ingest_markers(&self) -> String {
        format!("{}:ingest:markers", self.prefix)
    }

    /// The ingest lease.
    pub fn ingest_lease(&self) -> String {
        format!("{}:ingest:lease", self.prefix)
    }

    /// The claims of the broadcasts received after `marker`.
    pub fn ingest_claims(&self, marker: &str) -> String {
        format!("{}:{{ingest:{marker}}}:claims", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streams_names_share_its_hash_tag() {
        let k = Keys::new("cw");
        assert_eq!(k.channel("notifications:acc1"), "cw:{notifications:acc1}");
        assert_eq!(k.meta("notifications:acc1"), "cw:{notifications:acc1}:meta");
        assert_eq!(k.log("notifications:acc1"), "cw:{notifications:acc1}:log");
        assert_eq!(k.stream_of_channel("cw:{notifications:acc1}"), Some("notifications:acc1"));
        assert_eq!(k.stream_of_channel("other:{x}"), None);
        assert_eq!(k.owner("workflow", "w1"), "cw:{owner:workflow:w1}");
        assert_eq!(k.ingest_claims("m1"), "cw:{ingest:m1}:claims");
        assert_eq!(k.stream_of_channel(&k.ingest_markers()), None);
        assert!(k.is_ours(&k.ingest_markers()) && k.is_ours("cw:{notifications:acc1}") && !k.is_ours("cwx:a") && !k.is_ours("notifications:1"));
    }
}
