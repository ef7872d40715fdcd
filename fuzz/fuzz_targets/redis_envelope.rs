//! The Redis pub/sub envelope decoder (`engine::redis::wire`): any payload decodes or is
//! refused, never panics; a decoded delivery, encoded again as the publish script writes it,
//! is the same bytes and decodes to the same delivery.
#![no_main]

use cableway::engine::redis::wire::{decode, Delivery};
use libfuzzer_sys::fuzz_target;

/// What the publish script (`engine/redis/lua`) writes for one publication.
fn encode(d: &Delivery) -> String {
    let exclude = d.exclude.map(|s| s.to_string()).unwrap_or_default();
    format!("c1:{}:{}:{}:{}:{}:{}", d.offset, d.epoch, d.node, exclude, d.at, d.message)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = decode(data) {
        assert!(!d.epoch.is_empty() && !d.epoch.contains(':') && !d.node.contains(':'), "{d:?}");
        let encoded = encode(&d);
        assert_eq!(decode(encoded.as_bytes()).as_ref(), Ok(&d), "{encoded}");
        // Numbers may be spelled with leading zeros or a `+` in the input; otherwise the
        // encoding is the input itself.
        if !data.starts_with(b"c1:0") && !data.contains(&b'+') && encoded.len() == data.len() {
            assert_eq!(encoded.as_bytes(), data);
        }
    }
    // Whatever the fuzzer found, a well-formed envelope built from its bytes round-trips.
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let epoch: String = parts.next().unwrap_or("").chars().filter(|c| *c != ':').collect();
    let node: String = parts.next().unwrap_or("").chars().filter(|c| *c != ':').collect();
    let message = parts.next().unwrap_or("");
    if epoch.is_empty() {
        return;
    }
    let n = data.len() as u64;
    let d = Delivery {
        offset: n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        epoch: epoch.into(),
        node,
        exclude: (!n.is_multiple_of(3)).then_some(n.wrapping_mul(31)),
        at: n.wrapping_mul(1_000_003),
        message: message.into(),
    };
    assert_eq!(decode(encode(&d).as_bytes()), Ok(d));
});
