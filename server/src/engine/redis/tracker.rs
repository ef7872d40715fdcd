//! One subscribed stream's delivery order on this node: what was delivered last (epoch and
//! offset), what arrived early, and what to do about a gap. Pure state; the caller does the
//! I/O ([`Next`] says what) and holds the lock that orders deliveries with joins.
//!
//! Redis pub/sub is at most once: a node that misses a publication sees the next offset
//! jump. Then nothing after the gap is delivered until the gap is filled from the stream's
//! history; if it cannot be, every local subscriber of the stream is evicted and resumes
//! through history (never a silent gap). A pub/sub connection can also stay "up" while
//! receiving nothing: the position check compares the offset Redis holds with the one
//! delivered, and fills when this node stays behind for a whole check period.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::wire::Delivery;

/// Most publications kept waiting behind a gap being filled; past it, the stream's
/// subscribers are evicted rather than letting memory grow while Redis is slow.
const MAX_PENDING: usize = 10_000;
/// Most recent deliveries kept, so a join can cover publications delivered between its
/// replay read and the moment it registers.
pub const RECENT: usize = 256;

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing.
    Nothing,
    /// Read offsets `from..=to` from the stream's history and hand them to [`Tracker::filled`].
    Fill {
        /// First missing offset.
        from: u64,
        /// Last missing offset.
        to: u64,
    },
    /// The stream cannot be delivered in order any more: evict its local subscribers. The
    /// tracker has already moved on to the position it reported.
    Evict(EvictCause),
}

/// Why a stream's subscribers are evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictCause {
    /// A gap could not be filled (history evicted or expired, or Redis failed).
    Unfilled,
    /// The stream's epoch changed: Redis lost its history.
    NewEpoch,
}

/// A publication delivered lately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    /// Its offset.
    pub offset: u64,
    /// When it was published.
    pub at: u64,
    /// The encoded envelope.
    pub message: Arc<str>,
}

/// A stream's position as Redis holds it (from its meta hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Top {
    /// The epoch.
    pub epoch: Arc<str>,
    /// The last assigned offset.
    pub offset: u64,
}

/// One stream's state.
#[derive(Debug, Default)]
pub struct Tracker {
    /// False until the position at subscribe time is known; deliveries wait in `pending`.
    initialized: bool,
    epoch: Option<Arc<str>>,
    last: u64,
    recent: VecDeque<Recent>,
    pending: BTreeMap<u64, Delivery>,
    filling: bool,
    /// The top offset the previous position check saw while this node was behind it.
    behind: Option<u64>,
}

impl Tracker {
    /// Whether the position at subscribe time is known.
    pub fn initialized(&self) -> bool {
        self.initialized
    }

    /// The epoch and the last offset delivered.
    pub fn position(&self) -> (Option<&Arc<str>>, u64) {
        (self.epoch.as_ref(), self.last)
    }

    /// The recent deliveries from `from` to the last one, if they are all still held.
    pub fn recent_from(&self, from: u64) -> Option<Vec<Recent>> {
        if from > self.last {
            return Some(Vec::new());
        }
        let first = self.recent.front()?.offset;
        (first <= from).then(|| self.recent.iter().filter(|r| r.offset >= from).cloned().collect())
    }

    /// The position Redis held right after the node subscribed (`None`: the stream has no
    /// history yet): later publications arrive over pub/sub, earlier ones are history.
    pub fn init(&mut self, top: Option<Top>, deliver: &mut dyn FnMut(&Delivery)) -> Next {
        if let Some(top) = top {
            self.epoch = Some(top.epoch);
            self.last = top.offset;
        }
        self.initialized = true;
        let waiting = std::mem::take(&mut self.pending);
        let mut next = Next::Nothing;
        for d in waiting.into_values() {
            match self.offer(d, deliver) {
                Next::Nothing => {}
                other => next = other,
            }
        }
        next
    }

    /// A publication from pub/sub.
    pub fn offer(&mut self, d: Delivery, deliver: &mut dyn FnMut(&Delivery)) -> Next {
        if !self.initialized {
            self.pending.insert(d.offset, d);
            return Next::Nothing;
        }
        match &self.epoch {
            None => self.epoch = Some(d.epoch.clone()),
            Some(e) if *e != d.epoch => {
                let offset = d.offset;
                let epoch = d.epoch.clone();
                self.reset(epoch, offset);
                self.remember(&d);
                return Next::Evict(EvictCause::NewEpoch);
            }
            Some(_) => {}
        }
        if d.offset <= self.last {
            return Next::Nothing;
        }
        if !self.filling && d.offset == self.last + 1 {
            self.deliver(&d, deliver);
            return self.drain(deliver);
        }
        self.pending.insert(d.offset, d);
        if self.pending.len() > MAX_PENDING {
            return self.give_up();
        }
        if self.filling {
            return Next::Nothing;
        }
        self.filling = true;
        self.next_fill()
    }

    /// Whether a duplicate of something delivered: for counting.
    pub fn is_duplicate(&self, d: &Delivery) -> bool {
        self.initialized && self.epoch.as_ref() == Some(&d.epoch) && d.offset <= self.last
    }

    /// The history read for a [`Next::Fill`]: the epoch and the entries Redis still holds in
    /// the range, or `None` when the read failed.
    pub fn filled(&mut self, read: Option<(Option<Arc<str>>, Vec<Delivery>)>, to: u64, deliver: &mut dyn FnMut(&Delivery)) -> Next {
        let Some((epoch, entries)) = read else { return self.give_up() };
        match (&self.epoch, epoch) {
            (Some(mine), Some(theirs)) if *mine != theirs => return self.give_up(),
            (None, Some(theirs)) => self.epoch = Some(theirs),
            (_, None) => return self.give_up(),
            _ => {}
        }
        for d in entries {
            if d.offset == self.last + 1 {
                self.deliver(&d, deliver);
            }
        }
        if self.last < to {
            // Some of the range is no longer in the history.
            return self.give_up();
        }
        self.filling = false;
        self.drain(deliver)
    }

    /// A position check: `top` as Redis holds it now (`None`: no history).
    pub fn checked(&mut self, top: Option<Top>, immediately: bool) -> Next {
        let Some(top) = top else { return Next::Nothing };
        if !self.initialized {
            return Next::Nothing;
        }
        if let Some(mine) = &self.epoch {
            if *mine != top.epoch {
                self.reset(top.epoch, top.offset);
                return Next::Evict(EvictCause::NewEpoch);
            }
        }
        if top.offset <= self.last {
            self.behind = None;
            return Next::Nothing;
        }
        if self.filling {
            return Next::Nothing;
        }
        // A publication in flight arrives within milliseconds: behind at two checks in a row
        // (or right after a reconnect) means pub/sub lost it.
        let lost = immediately || self.behind.is_some_and(|seen| self.last < seen);
        if !lost {
            self.behind = Some(top.offset);
            return Next::Nothing;
        }
        self.behind = None;
        if self.epoch.is_none() {
            self.epoch = Some(top.epoch);
        }
        self.filling = true;
        Next::Fill { from: self.last + 1, to: top.offset }
    }

    fn deliver(&mut self, d: &Delivery, deliver: &mut dyn FnMut(&Delivery)) {
        deliver(d);
        self.last = d.offset;
        self.remember(d);
    }

    fn remember(&mut self, d: &Delivery) {
        self.recent.push_back(Recent { offset: d.offset, at: d.at, message: d.message.clone() });
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }

    /// Delivers what waits right after the last delivery; a gap behind it starts a fill.
    fn drain(&mut self, deliver: &mut dyn FnMut(&Delivery)) -> Next {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() <= self.last {
                entry.remove();
            } else if *entry.key() == self.last + 1 {
                let d = entry.remove();
                self.deliver(&d, deliver);
            } else {
                self.filling = true;
                return self.next_fill();
            }
        }
        Next::Nothing
    }

    fn next_fill(&self) -> Next {
        let first = self.pending.keys().next().copied().unwrap_or(self.last + 1);
        Next::Fill { from: self.last + 1, to: first - 1 }
    }

    /// Moves past everything known: the subscribers are evicted and resume through history.
    fn give_up(&mut self) -> Next {
        let last = self.pending.keys().next_back().copied().unwrap_or(self.last).max(self.last);
        let epoch = self.epoch.clone();
        self.pending.clear();
        self.filling = false;
        self.behind = None;
        self.recent.clear();
        self.last = last;
        self.epoch = epoch;
        Next::Evict(EvictCause::Unfilled)
    }

    fn reset(&mut self, epoch: Arc<str>, last: u64) {
        self.epoch = Some(epoch);
        self.last = last;
        self.pending.clear();
        self.filling = false;
        self.behind = None;
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pubn(epoch: &str, offset: u64) -> Delivery {
        Delivery { offset, epoch: Arc::from(epoch), node: "n".into(), exclude: None, at: 0, message: Arc::from(format!("m{offset}")) }
    }

    fn top(epoch: &str, offset: u64) -> Option<Top> {
        Some(Top { epoch: Arc::from(epoch), offset })
    }

    /// A tracker initialized at `e`/`last`, and the offsets it delivered.
    fn at(last: u64) -> (Tracker, Vec<u64>) {
        let mut t = Tracker::default();
        assert_eq!(t.init(top("e", last), &mut |_| {}), Next::Nothing);
        (t, Vec::new())
    }

    #[test]
    fn in_order_is_delivered_and_duplicates_are_dropped() {
        let (mut t, mut got) = at(5);
        for o in [6, 7, 7, 3, 8] {
            assert_eq!(t.offer(pubn("e", o), &mut |d| got.push(d.offset)), Next::Nothing);
        }
        assert_eq!(got, [6, 7, 8]);
        assert_eq!(t.position().1, 8);
    }

    #[test]
    fn a_gap_holds_back_what_follows_until_it_is_filled() {
        let (mut t, mut got) = at(5);
        assert_eq!(t.offer(pubn("e", 8), &mut |d| got.push(d.offset)), Next::Fill { from: 6, to: 7 });
        assert_eq!(t.offer(pubn("e", 9), &mut |d| got.push(d.offset)), Next::Nothing, "one fill at a time");
        assert!(got.is_empty(), "nothing after the gap before it is filled");
        let read = Some((Some(Arc::from("e")), vec![pubn("e", 6), pubn("e", 7)]));
        assert_eq!(t.filled(read, 7, &mut |d| got.push(d.offset)), Next::Nothing);
        assert_eq!(got, [6, 7, 8, 9]);
        assert_eq!(t.recent_from(7).map(|r| r.len()), Some(3));
    }

    #[test]
    fn a_gap_the_history_no_longer_holds_evicts() {
        let (mut t, mut got) = at(5);
        assert_eq!(t.offer(pubn("e", 9), &mut |d| got.push(d.offset)), Next::Fill { from: 6, to: 8 });
        let read = Some((Some(Arc::from("e")), vec![pubn("e", 8)]));
        assert_eq!(t.filled(read, 8, &mut |d| got.push(d.offset)), Next::Evict(EvictCause::Unfilled));
        assert!(got.is_empty());
        assert_eq!(t.position().1, 9, "moves past what it knows of");
        assert_eq!(t.offer(pubn("e", 10), &mut |d| got.push(d.offset)), Next::Nothing);
        assert_eq!(got, [10]);
        assert_eq!(t.filled(None, 0, &mut |_| {}), Next::Evict(EvictCause::Unfilled), "a failed read evicts too");
    }

    #[test]
    fn a_new_epoch_evicts() {
        let (mut t, mut got) = at(5);
        assert_eq!(t.offer(pubn("f", 1), &mut |d| got.push(d.offset)), Next::Evict(EvictCause::NewEpoch));
        assert_eq!(t.position(), (Some(&Arc::from("f")), 1));
        assert_eq!(t.checked(top("g", 1), false), Next::Evict(EvictCause::NewEpoch));
    }

    #[test]
    fn deliveries_before_the_subscribe_position_wait_and_are_sorted_out() {
        let mut t = Tracker::default();
        let mut got = Vec::new();
        for o in [4, 6, 5] {
            assert_eq!(t.offer(pubn("e", o), &mut |d| got.push(d.offset)), Next::Nothing);
        }
        assert!(got.is_empty());
        assert_eq!(t.init(top("e", 4), &mut |d| got.push(d.offset)), Next::Nothing);
        assert_eq!(got, [5, 6]);
        // A stream without history adopts the first epoch it sees.
        let mut t = Tracker::default();
        t.init(None, &mut |_| {});
        assert_eq!(t.offer(pubn("x", 1), &mut |d| got.push(d.offset)), Next::Nothing);
        assert_eq!(t.offer(pubn("x", 3), &mut |_| {}), Next::Fill { from: 2, to: 2 });
    }

    #[test]
    fn the_position_check_fills_only_after_a_whole_period_behind() {
        let (mut t, mut got) = at(5);
        assert_eq!(t.checked(top("e", 5), false), Next::Nothing);
        assert_eq!(t.checked(top("e", 7), false), Next::Nothing, "may still be in flight");
        assert_eq!(t.checked(top("e", 8), false), Next::Fill { from: 6, to: 8 }, "still behind what the last check saw");
        let read = Some((Some(Arc::from("e")), vec![pubn("e", 6), pubn("e", 7), pubn("e", 8)]));
        assert_eq!(t.filled(read, 8, &mut |d| got.push(d.offset)), Next::Nothing);
        assert_eq!(got, [6, 7, 8]);
        // Caught up between two checks: nothing to do.
        assert_eq!(t.checked(top("e", 9), false), Next::Nothing);
        t.offer(pubn("e", 9), &mut |d| got.push(d.offset));
        assert_eq!(t.checked(top("e", 9), false), Next::Nothing);
        // Right after a reconnect, behind is lost at once.
        assert_eq!(t.checked(top("e", 11), true), Next::Fill { from: 10, to: 11 });
    }

    #[test]
    fn recent_deliveries_cover_a_join() {
        let (mut t, _) = at(0);
        for o in 1..=(RECENT as u64 + 10) {
            t.offer(pubn("e", o), &mut |_| {});
        }
        assert_eq!(t.recent_from(RECENT as u64 + 5).map(|r| r.len()), Some(6));
        assert_eq!(t.recent_from(RECENT as u64 + 11), Some(Vec::new()), "nothing after the last");
        assert_eq!(t.recent_from(3), None, "no longer held");
    }
}
