//! Identifiers, their canonical form and the streams they name:
//! - parsing never panics; `canonical` of a canonical form is that form (it is a fixed point),
//!   and a canonical form reads back (as JSON) to the same channel and params;
//! - reading the params as the channel declares (`validation::params::canonicalize`) is
//!   idempotent too;
//! - for one identifier, two principals of different accounts that are both authorized
//!   (no permissions, a resolver that owns nothing) never share a stream, and a stream
//!   templated on `claims.account_id` differs between them.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use cableway::channels::{find, types::ClaimsKind, Claims};
use cableway::codegen_support::{BoxFuture, OwnsQuery, ResolveError, Resolver};
use cableway::protocol::identifier::{canonical, parse};
use cableway::validation::{self, params::canonicalize};
use libfuzzer_sys::fuzz_target;

/// Owns nothing: authorization then rests on the claims alone.
struct OwnsNothing;

impl Resolver for OwnsNothing {
    fn owns<'a>(&'a self, _query: OwnsQuery<'a>) -> BoxFuture<'a, Result<bool, ResolveError>> {
        Box::pin(async { Ok(false) })
    }
}

/// Polls a future that never waits (the generated checks over `OwnsNothing`).
fn ready<T>(f: impl Future<Output = T>) -> T {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an authorization over OwnsNothing waited"),
    }
}

/// A canonical form read back as JSON. Not through `parse`: a canonical form may be longer
/// than the identifier it came from (`1e2` is written `100.0`), and it is a key, never re-read
/// by the server.
fn reread(canonical_form: &str) -> (String, serde_json::Value) {
    let mut whole: serde_json::Map<String, serde_json::Value> = serde_json::from_str(canonical_form).expect("a canonical form is JSON");
    let Some(serde_json::Value::String(channel)) = whole.remove("channel") else { panic!("no channel in {canonical_form}") };
    (channel, serde_json::Value::Object(whole))
}

fn principal(sub: &str, account_id: &str) -> Claims {
    Claims {
        sub: sub.into(),
        account_id: account_id.into(),
        permissions: Vec::new(),
        kind: ClaimsKind::User,
        exp: i64::MAX,
        nbf: None,
        iat: None,
        extra: Default::default(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // `<identifier>\n<account a>\n<account b>`; accounts default to two fixed ones.
    let mut lines = text.splitn(3, '\n');
    let raw = lines.next().unwrap_or("");
    let a = lines.next().filter(|s| !s.is_empty()).unwrap_or("acct-1");
    let b = lines.next().filter(|s| !s.is_empty()).unwrap_or("acct-2");
    let Ok(id) = parse(raw) else { return };

    let once = canonical(&id.channel, &id.params);
    let (channel_again, params_again) = reread(&once);
    assert_eq!(canonical(&channel_again, &params_again), once, "canonical is not a fixed point");
    assert_eq!(channel_again, id.channel);

    let Some(channel) = find(&id.channel) else { return };
    let read = canonicalize(&channel.params, id.params.clone()).params;
    assert_eq!(canonicalize(&channel.params, read.clone()).params, read, "reading params is not idempotent");
    let key = canonical(channel.name, &read);
    assert_eq!(canonical(channel.name, &reread(&key).1), key, "the subscription key is not a fixed point");
    if validation::validate(channel.params_schema, &read).is_err() || a == b {
        return;
    }

    let (pa, pb) = (principal("user-a", a), principal("user-b", b));
    let streams = |c: &Claims| -> Option<Vec<String>> {
        let authorized = ready((channel.authorize)(&read, c, &OwnsNothing)).ok()?;
        (channel.stream_keys)(&read, c).ok().filter(|_| authorized)
    };
    let templated: Vec<bool> = channel.streams.iter().map(|t| t.contains("{claims.")).collect();
    if let (Ok(ka), Ok(kb)) = ((channel.stream_keys)(&read, &pa), (channel.stream_keys)(&read, &pb)) {
        if ka.len() == templated.len() && kb.len() == templated.len() {
            for ((x, y), t) in ka.iter().zip(&kb).zip(&templated) {
                assert!(!t || x != y, "{}: accounts {a:?} and {b:?} share the stream {x:?}", channel.name);
            }
        }
    }
    if let (Some(sa), Some(sb)) = (streams(&pa), streams(&pb)) {
        for s in &sa {
            assert!(!sb.contains(s), "{}: {raw} gives accounts {a:?} and {b:?} the same stream {s:?}", channel.name);
        }
    }
});
