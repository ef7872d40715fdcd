//! Frames written to clients, counted where the socket takes them, at the cost of one
//! counter add per write rather than per frame.
//!
//! Each application frame carries what it counts as — a [`SentLabel`]: its channel and its
//! kind, three bytes set once where the frame is built (a broadcast's frame is built once per
//! group of subscribers and shared). The transport adds up runs of equal labels over the
//! frames one write completed ([`SentTally`]), so a write of k frames of one subscription is
//! one add to a handle found by index: no label is formatted, nothing is allocated.

use super::{ChannelLabel, SentKind};

/// What a frame counts as in `websocket_messages_sent_total`: its channel (none for frames
/// of the connection itself) and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentLabel {
    channel: ChannelLabel,
    kind: SentKind,
}

impl SentLabel {
    /// A frame of `kind` on a subscription to `channel`.
    pub const fn new(channel: ChannelLabel, kind: SentKind) -> SentLabel {
        SentLabel { channel, kind }
    }

    /// A frame of the connection itself (`welcome`, `ping`, `disconnect`).
    pub const fn connection(kind: SentKind) -> SentLabel {
        SentLabel { channel: ChannelLabel::NONE, kind }
    }
}

/// Frames of one write, counted by label as they complete.
#[derive(Debug, Default)]
pub struct SentTally {
    run: Option<(SentLabel, u64)>,
}

impl SentTally {
    /// One more completed frame; unlabelled frames (the transport's pongs and close frames)
    /// are not messages.
    pub fn add(&mut self, label: Option<SentLabel>) {
        let Some(label) = label else { return };
        match &mut self.run {
            Some((l, n)) if *l == label => *n += 1,
            run => {
                if let Some((l, n)) = run.replace((label, 1)) {
                    super::messages_sent(l.channel, l.kind, n);
                }
            }
        }
    }
}

impl Drop for SentTally {
    fn drop(&mut self) {
        if let Some((l, n)) = self.run.take() {
            super::messages_sent(l.channel, l.kind, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(text: &str, series: &str) -> f64 {
        text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
    }

    #[test]
    fn a_write_counts_each_run_of_labels_once_and_skips_unlabelled_frames() {
        let trading = crate::channels::find("TradingChannel").expect("declared");
        let data = SentLabel::new(ChannelLabel::of(trading), SentKind::Data);
        let confirm = SentLabel::new(ChannelLabel::of(trading), SentKind::Confirm);
        let series = |kind: &str| format!(r#"websocket_messages_sent_total{{channel="TradingChannel",kind="{kind}"}}"#);
        let before = super::super::render(super::super::Sample::default());
        {
            let mut tally = SentTally::default();
            for label in [Some(confirm), Some(data), None, Some(data), Some(data), Some(confirm)] {
                tally.add(label);
            }
        }
        let after = super::super::render(super::super::Sample::default());
        assert_eq!(sent(&after, &series("data")) - sent(&before, &series("data")), 3.0, "{after}");
        assert_eq!(sent(&after, &series("confirm")) - sent(&before, &series("confirm")), 2.0, "{after}");
    }
}
