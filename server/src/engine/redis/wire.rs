//! What crosses Redis pub/sub for one publication on one stream, as the publish script writes
//! it: `c1:<offset>:<epoch>:<node>:<excluded session>:<published at>:<message>`. The
//! message (the encoded envelope) comes last and is taken as is, so it is decoded once per
//! node and never re-encoded; epochs and node ids never hold a `:`.

use std::sync::Arc;

/// One publication as a node receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its offset in the stream.
    pub offset: u64,
    /// The stream's epoch.
    pub epoch: Arc<str>,
    /// The node that published it.
    pub node: String,
    /// A session of that node that must not receive it (a relay's sender), if any.
    pub exclude: Option<u64>,
    /// Unix seconds when it was published.
    pub at: u64,
    /// The encoded envelope.
    pub message: Arc<str>,
}

/// Why a pub/sub payload is not a publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Cableway publication")]
pub struct NotAPublication;

/// Reads a payload of the publish script.
///
/// # Errors
/// [`NotAPublication`] for anything else on the channel.
pub fn decode(payload: &[u8]) -> Result<Delivery, NotAPublication> {
    let text = std::str::from_utf8(payload).map_err(|_| NotAPublication)?;
    let rest = text.strip_prefix("c1:").ok_or(NotAPublication)?;
    let mut parts = rest.splitn(6, ':');
    let mut next = || parts.next().ok_or(NotAPublication);
    let offset = next()?.parse().map_err(|_| NotAPublication)?;
    let epoch = next()?;
    let node = next()?;
    let exclude = match next()? {
        "" => None,
        s => Some(s.parse().map_err(|_| NotAPublication)?),
    };
    let at = next()?.parse().map_err(|_| NotAPublication)?;
    let message = next()?;
    if epoch.is_empty() {
        return Err(NotAPublication);
    }
    Ok(Delivery { offset, epoch: Arc::from(epoch), node: node.to_owned(), exclude, at, message: Arc::from(message) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_taken_whole_and_the_header_exactly() {
        let d = decode(br#"c1:42:e1a:n7:13:1800000000:{"event":"a:b","t":"1:2"}"#).expect("decodes");
        assert_eq!((d.offset, &*d.epoch, d.node.as_str(), d.exclude, d.at), (42, "e1a", "n7", Some(13), 1_800_000_000));
        assert_eq!(&*d.message, r#"{"event":"a:b","t":"1:2"}"#);
        assert_eq!(decode(b"c1:1:e:n::5:{}").expect("no exclusion").exclude, None);
        for bad in [&b"x1:1:e:n::5:{}"[..], b"c1:one:e:n::5:{}", b"c1:1::n::5:{}", b"c1:1:e:n::5", b"\xff"] {
            assert_eq!(decode(bad), Err(NotAPublication), "{bad:?}");
        }
    }
}
