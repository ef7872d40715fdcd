//! Reading history from Redis: a subscription's replay (what a `history` request asks for),
//! and a range of offsets to fill a gap. A replay is all or nothing, with the embedded
//! store's rules: a position in another epoch, ahead of the stream, or followed by
//! messages no longer held, and a `since` older than what is still held (or than this
//! Redis' data), are [`Gap`]s.

use std::collections::HashMap;
use std::sync::Arc;

use redis::Value;

use super::calls::Calls;
use super::keys::Keys;
use super::wire::Delivery;
use crate::codegen_support::HistoryPolicy;
use crate::engine::EngineError;
use crate::history::{Entry, Gap, ReplayRequest};

/// One stream's replay as read, with the offset Redis held when it was read.
#[derive(Debug, Clone)]
pub struct StreamRead {
    /// The stream.
    pub stream: String,
    /// Its epoch (empty when it has no history).
    pub epoch: Arc<str>,
    /// The last offset assigned when it was read.
    pub top: u64,
    /// The missed messages, in offset order.
    pub entries: Vec<Entry>,
    /// The epoch this node's tracker had before the read (set by the caller): tells a
    /// history Redis lost from one that began after the read.
    pub tracked_before: Option<Arc<str>>,
}

/// A stream's meta hash: epoch, last offset, last publish time, time of the newest
/// message no longer held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `e`.
    pub epoch: Option<String>,
    /// `s`.
    pub top: u64,
    /// `t`.
    pub last_at: Option<u64>,
    /// `l`.
    pub lost_upto: Option<u64>,
}

impl Meta {
    /// From `HMGET meta e s t l`.
    pub fn from_hmget(v: Vec<Option<String>>) -> Meta {
        let num = |i: usize| v.get(i).cloned().flatten().and_then(|s| s.parse().ok());
        Meta { epoch: v.first().cloned().flatten(), top: num(1).unwrap_or(0), last_at: num(2), lost_upto: num(3) }
    }
}

/// `HMGET <meta> e s t l`.
pub fn hmget_meta(keys: &Keys, stream: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(keys.meta(stream)).arg(&["e", "s", "t", "l"]);
    cmd
}

/// One history entry as stored: id `<offset>-0`, fields `d`, `t`, `n`, `x`.
#[derive(Debug, Clone)]
struct Stored {
    offset: u64,
    at: u64,
    node: String,
    exclude: Option<u64>,
    message: Arc<str>,
}

fn parse_entries(v: &Value) -> Vec<Stored> {
    let Value::Array(items) = v else { return Vec::new() };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(pair) = item else { continue };
        let (Some(id), Some(Value::Array(fields))) = (pair.first(), pair.get(1)) else { continue };
        let Ok(id) = redis::from_redis_value_ref::<String>(id) else { continue };
        let Some(offset) = id.split('-').next().and_then(|o| o.parse().ok()) else { continue };
        let mut map: HashMap<String, String> = HashMap::new();
        for kv in fields.chunks(2) {
            if let [k, v] = kv {
                if let (Ok(k), Ok(v)) = (redis::from_redis_value_ref::<String>(k), redis::from_redis_value_ref::<String>(v)) {
                    map.insert(k, v);
                }
            }
        }
        let Some(message) = map.remove("d") else { continue };
        let at = map.get("t").and_then(|t| t.parse().ok()).unwrap_or(0);
        let exclude = map.get("x").and_then(|x| x.parse().ok());
        out.push(Stored { offset, at, node: map.remove("n").unwrap_or_default(), exclude, message: Arc::from(message) });
    }
    out
}

/// Reads what `request` asks for, for every stream at once (one atomic pipeline), and
/// decides whether it can be served whole.
///
/// # Errors
/// [`EngineError`] when Redis fails; `Ok(Err(gap))` when the replay cannot be served.
pub async fn read_replay(calls: &Calls, keys: &Keys, streams: &[String], request: &ReplayRequest, policy: HistoryPolicy, now: u64) -> Result<Result<Vec<StreamRead>, Gap>, EngineError> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("GET").arg(keys.boot());
    for stream in streams {
        pipe.add_command(hmget_meta(keys, stream));
        let from = request.positions.get(stream).map_or_else(|| "-".to_owned(), |p| (p.offset + 1).to_string());
        pipe.cmd("XRANGE").arg(keys.log(stream)).arg(from).arg("+");
    }
    let replies: Vec<Value> = calls.pipeline(&pipe).await?;
    let boot: Option<u64> = replies.first().and_then(|v| redis::from_redis_value_ref::<Option<String>>(v).ok().flatten()).and_then(|s| s.parse().ok());
    if boot.is_none() {
        // This Redis' data just began (first start, or a restart without persistence).
        let mut set = redis::cmd("SET");
        set.arg(keys.boot()).arg(now).arg("NX");
        let _: Result<Value, _> = calls.query(&set).await;
    }
    let boot = boot.unwrap_or(now);
    let mut out = Vec::with_capacity(streams.len());
    for (i, stream) in streams.iter().enumerate() {
        let meta = replies.get(1 + 2 * i).and_then(|v| redis::from_redis_value_ref::<Vec<Option<String>>>(v).ok()).map(Meta::from_hmget).unwrap_or_default();
        let stored = replies.get(2 + 2 * i).map(parse_entries).unwrap_or_default();
        match evaluate(stream, &meta, stored, request, policy, now, boot) {
            Ok(r) => out.push(r),
            Err(gap) => return Ok(Err(gap)),
        }
    }
    Ok(Ok(out))
}

/// The embedded store's replay rules, over what Redis holds.
fn evaluate(stream: &str, meta: &Meta, stored: Vec<Stored>, request: &ReplayRequest, policy: HistoryPolicy, now: u64, boot: u64) -> Result<StreamRead, Gap> {
    let position = request.positions.get(stream);
    let Some(epoch) = meta.epoch.as_deref() else {
        return match (position, request.since) {
            (Some(_), _) => Err(Gap::UnknownEpoch),
            (None, Some(since)) if since < boot => Err(Gap::TooOld),
            _ => Ok(StreamRead { stream: stream.to_owned(), epoch: Arc::from(""), top: 0, entries: Vec::new(), tracked_before: None }),
        };
    };
    // A Redis Stream expires whole; entries older than the TTL count as gone, as in memory.
    let ttl = u64::from(policy.ttl_seconds);
    let expired_upto = stored.iter().filter(|e| e.at + ttl < now).map(|e| e.at).max();
    let lost_upto = meta.lost_upto.max(expired_upto);
    let held: Vec<Stored> = stored.into_iter().filter(|e| e.at + ttl >= now).collect();
    let entries: Vec<Stored> = match (position, request.since) {
        (Some(p), _) => {
            if p.epoch != epoch {
                return Err(Gap::UnknownEpoch);
            }
            if p.offset > meta.top {
                return Err(Gap::Future);
            }
            let oldest = held.first().map_or(meta.top + 1, |e| e.offset);
            if p.offset + 1 < oldest {
                return Err(Gap::Evicted);
            }
            held.into_iter().filter(|e| e.offset > p.offset).collect()
        }
        (None, Some(since)) => {
            if since < boot || lost_upto.is_some_and(|t| since <= t) {
                return Err(Gap::TooOld);
            }
            held.into_iter().filter(|e| e.at >= since).collect()
        }
        (None, None) => Vec::new(),
    };
    // A hole inside what is held (an entry that never made it, or was removed) is a gap too.
    let expected_first = position.map(|p| p.offset + 1);
    let contiguous = entries.windows(2).all(|w| w[1].offset == w[0].offset + 1)
        && entries.first().is_none_or(|e| expected_first.is_none_or(|f| e.offset == f))
        && entries.last().is_none_or(|e| e.offset == meta.top);
    if !contiguous {
        return Err(if position.is_some() { Gap::Evicted } else { Gap::TooOld });
    }
    let entries = entries.into_iter().map(|e| Entry { offset: e.offset, at: e.at, message: e.message }).collect();
    Ok(StreamRead { stream: stream.to_owned(), epoch: Arc::from(epoch), top: meta.top, entries, tracked_before: None })
}

/// Reads offsets `from..=to` of `stream` and its epoch (one atomic pipeline), to fill a gap.
///
/// # Errors
/// [`EngineError`] when Redis fails.
pub async fn read_range(calls: &Calls, keys: &Keys, stream: &str, from: u64, to: u64) -> Result<(Option<Arc<str>>, Vec<Delivery>), EngineError> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("HGET").arg(keys.meta(stream)).arg("e");
    pipe.cmd("XRANGE").arg(keys.log(stream)).arg(from).arg(to);
    let (epoch, entries): (Option<String>, Value) = calls.pipeline(&pipe).await?;
    let epoch: Option<Arc<str>> = epoch.map(Arc::from);
    let deliveries = match &epoch {
        Some(e) => parse_entries(&entries)
            .into_iter()
            .map(|s| Delivery { offset: s.offset, epoch: e.clone(), node: s.node, exclude: s.exclude, at: s.at, message: s.message })
            .collect(),
        None => Vec::new(),
    };
    Ok((epoch, deliveries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::command::StreamPosition;

    const P: HistoryPolicy = HistoryPolicy { size: 3, ttl_seconds: 300 };

    fn stored(offset: u64, at: u64) -> Stored {
        Stored { offset, at, node: String::new(), exclude: None, message: Arc::from(format!("m{offset}")) }
    }

    fn meta(top: u64, lost_upto: Option<u64>) -> Meta {
        Meta { epoch: Some("e".into()), top, last_at: None, lost_upto }
    }

    fn from(epoch: &str, offset: u64) -> ReplayRequest {
        ReplayRequest { since: None, positions: [("s".to_string(), StreamPosition { epoch: epoch.into(), offset })].into() }
    }

    fn since(t: u64) -> ReplayRequest {
        ReplayRequest { since: Some(t), positions: Default::default() }
    }

    fn offsets(r: Result<StreamRead, Gap>) -> Result<Vec<u64>, Gap> {
        r.map(|r| r.entries.iter().map(|e| e.offset).collect())
    }

    #[test]
    fn positions_are_served_whole_or_refused() {
        let held = || vec![stored(4, 1000), stored(5, 1001), stored(6, 1002)];
        let at = |req: &ReplayRequest, held: Vec<Stored>| offsets(evaluate("s", &meta(6, Some(999)), held, req, P, 1003, 0));
        assert_eq!(at(&from("e", 4), held().into_iter().skip(1).collect()), Ok(vec![5, 6]));
        assert_eq!(at(&from("e", 3), held()), Ok(vec![4, 5, 6]));
        assert_eq!(at(&from("e", 2), held()), Err(Gap::Evicted));
        assert_eq!(at(&from("e", 6), Vec::new()), Ok(vec![]));
        assert_eq!(at(&from("e", 7), Vec::new()), Err(Gap::Future));
        assert_eq!(at(&from("other", 5), Vec::new()), Err(Gap::UnknownEpoch));
        // An expired history (the stream key is gone, its meta kept): only the top continues.
        assert_eq!(at(&from("e", 5), Vec::new()), Err(Gap::Evicted));
        // A hole in what is held is a gap.
        assert_eq!(at(&from("e", 3), vec![stored(4, 1000), stored(6, 1002)]), Err(Gap::Evicted));
        // Entries past the TTL count as gone.
        assert_eq!(offsets(evaluate("s", &meta(6, None), held(), &from("e", 3), P, 1301, 0)), Err(Gap::Evicted));
    }

    #[test]
    fn since_is_served_only_when_the_history_covers_it() {
        let held = || vec![stored(4, 1000), stored(5, 1010)];
        assert_eq!(offsets(evaluate("s", &meta(5, Some(990)), held(), &since(1005), P, 1020, 0)), Ok(vec![5]));
        assert_eq!(offsets(evaluate("s", &meta(5, Some(990)), held(), &since(990), P, 1020, 0)), Err(Gap::TooOld));
        assert_eq!(offsets(evaluate("s", &meta(5, None), held(), &since(995), P, 1020, 996)), Err(Gap::TooOld), "before this Redis' data");
        let unknown = Meta::default();
        assert_eq!(offsets(evaluate("s", &unknown, Vec::new(), &since(1000), P, 1020, 996)), Ok(vec![]));
        assert_eq!(offsets(evaluate("s", &unknown, Vec::new(), &since(990), P, 1020, 996)), Err(Gap::TooOld));
        assert_eq!(offsets(evaluate("s", &unknown, Vec::new(), &from("e", 1), P, 1020, 996)), Err(Gap::UnknownEpoch));
    }
}
