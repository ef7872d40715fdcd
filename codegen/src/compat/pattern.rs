//! Pattern inclusion: does every string one `pattern` accepts match the other?
//!
//! A JSON Schema `pattern` is a *search*: `"a"` accepts `"xay"`, and only `^`/`$` anchor
//! it. So the language of a pattern `p` is every string with a match somewhere, which is the
//! full-string language of `(?s:.)*(?:p)(?s:.)*` with the assertions still seeing the whole
//! string (`^` inside can only hold at its start). Both languages are built as DFAs
//! (`regex-automata`, anchored, every match kept) and walked as a product from the start:
//! a reachable pair whose end-of-input states accept on one side only is a string that
//! tells them apart, and the walk returns the shortest one of each kind.
//!
//! The patterns are read as the server's validator reads them: `jsonschema` translates the
//! ECMA-262 escapes first (`\d` is `[0-9]`, `\w` ASCII, `\s` the ECMA whitespace), then
//! runs the Rust regex engine. The checker admits any pattern `regex-syntax` parses; a
//! pattern that needs what a DFA cannot do (a Unicode `\b`), or whose automata outgrow the
//! bounds below, is [`Inclusion::Undecided`] with the reason.

use std::collections::{HashMap, VecDeque};

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

/// The largest DFA (bytes of transition table) built for one pattern.
pub const DFA_SIZE_LIMIT: usize = 4 << 20;
/// The most state pairs the product walk visits before it gives up.
pub const PRODUCT_STATE_LIMIT: usize = 100_000;

/// How the languages of two patterns relate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inclusion {
    /// The same strings match both.
    Equal,
    /// The new pattern accepts every old string and `extra`, which the old one refused.
    Wider {
        /// The shortest string only the new pattern accepts.
        extra: String,
    },
    /// The old pattern accepts every new string and `lost`, which the new one refuses.
    Narrower {
        /// The shortest string only the old pattern accepts.
        lost: String,
    },
    /// Each accepts a string the other refuses.
    Incomparable {
        /// The shortest string only the new pattern accepts.
        extra: String,
        /// The shortest string only the old pattern accepts.
        lost: String,
    },
    /// Not decided, and why.
    Undecided(String),
}

/// Compares the languages of `old` and `new` (`""` accepts every string, as an absent
/// `pattern` does).
pub fn compare(old: &str, new: &str) -> Inclusion {
    let (a, b) = match (language(old), language(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) => return Inclusion::Undecided(format!("`{old}` {why}")),
        (_, Err(why)) => return Inclusion::Undecided(format!("`{new}` {why}")),
    };
    match walk(&a, &b) {
        Err(why) => Inclusion::Undecided(why),
        Ok((None, None)) => Inclusion::Equal,
        Ok((Some(extra), None)) => Inclusion::Wider { extra },
        Ok((None, Some(lost))) => Inclusion::Narrower { lost },
        Ok((Some(extra), Some(lost))) => Inclusion::Incomparable { extra, lost },
    }
}

/// True when some string matches `pattern` anywhere, as the validator searches.
pub fn accepts(pattern: &str, s: &str) -> Result<bool, String> {
    let dfa = language(pattern)?;
    let mut state = start_of(&dfa)?;
    for &byte in s.as_bytes() {
        state = dfa.next_state(state, byte);
    }
    Ok(dfa.is_match_state(dfa.next_eoi_state(state)))
}

/// The full-string DFA of the strings `pattern` matches somewhere.
fn language(pattern: &str) -> Result<dense::DFA<Vec<u32>>, String> {
    let translated = jsonschema_regex::to_rust_regex(pattern).map_err(|()| "is not a pattern the validator can translate from ECMA-262".to_owned())?;
    let config = dense::Config::new()
        .match_kind(MatchKind::All)
        .start_kind(StartKind::Anchored)
        .dfa_size_limit(Some(DFA_SIZE_LIMIT))
        .determinize_size_limit(Some(DFA_SIZE_LIMIT));
    dense::Builder::new().configure(config).build(&format!("(?s:.)*(?:{translated})(?s:.)*")).map_err(|e| {
        let e = e.to_string();
        if e.contains("size limit") || e.contains("exceeded") {
            format!("needs a DFA over the {} MiB bound ({e})", DFA_SIZE_LIMIT >> 20)
        } else {
            format!("cannot be compiled to a DFA ({e})")
        }
    })
}

fn start_of(dfa: &dense::DFA<Vec<u32>>) -> Result<StateID, String> {
    dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).map_err(|e| format!("has no anchored start state ({e})"))
}

fn accepting(dfa: &dense::DFA<Vec<u32>>, s: StateID) -> bool {
    dfa.is_match_state(dfa.next_eoi_state(s))
}

/// A state of the product walk: one state of each DFA.
type Pair = (StateID, StateID);
/// Each visited pair with the pair and byte it was first reached from.
type Parents = HashMap<Pair, Option<(Pair, u8)>>;

/// Breadth-first over reachable state pairs: the shortest string only `b` accepts and the
/// shortest only `a` accepts.
fn walk(a: &dense::DFA<Vec<u32>>, b: &dense::DFA<Vec<u32>>) -> Result<(Option<String>, Option<String>), String> {
    // One byte per class of the joint alphabet: bytes both DFAs treat alike are one step.
    let mut seen_class = HashMap::new();
    let bytes: Vec<u8> = (0..=255u8).filter(|&x| seen_class.insert((a.byte_classes().get(x), b.byte_classes().get(x)), ()).is_none()).collect();
    let start = (start_of(a)?, start_of(b)?);
    let mut parent: Parents = HashMap::from([(start, None)]);
    let mut queue = VecDeque::from([start]);
    let (mut only_b, mut only_a) = (None, None);
    let path = |mut at: Pair, parent: &Parents| {
        let mut out = Vec::new();
        while let Some(Some((from, byte))) = parent.get(&at) {
            out.push(*byte);
            at = *from;
        }
        out.reverse();
        // Both DFAs only accept UTF-8 (Unicode mode), so a witness is a string.
        String::from_utf8_lossy(&out).into_owned()
    };
    while let Some(pair @ (sa, sb)) = queue.pop_front() {
        match (accepting(a, sa), accepting(b, sb)) {
            (false, true) if only_b.is_none() => only_b = Some(path(pair, &parent)),
            (true, false) if only_a.is_none() => only_a = Some(path(pair, &parent)),
            _ => {}
        }
        if only_a.is_some() && only_b.is_some() {
            break;
        }
        if a.is_dead_state(sa) && b.is_dead_state(sb) {
            continue;
        }
        for &byte in &bytes {
            let next = (a.next_state(sa, byte), b.next_state(sb, byte));
            if a.is_quit_state(next.0) || b.is_quit_state(next.1) {
                return Err("needs a look-around the DFA cannot decide".to_owned());
            }
            if !parent.contains_key(&next) {
                if parent.len() >= PRODUCT_STATE_LIMIT {
                    return Err(format!("the two patterns need more than {PRODUCT_STATE_LIMIT} product states to compare"));
                }
                parent.insert(next, Some((pair, byte)));
                queue.push_back(next);
            }
        }
    }
    Ok((only_b, only_a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The witness of a widening, checked to be one.
    fn wider(old: &str, new: &str) -> String {
        match compare(old, new) {
            Inclusion::Wider { extra } => {
                assert_eq!((accepts(old, &extra), accepts(new, &extra)), (Ok(false), Ok(true)), "{extra:?}");
                extra
            }
            other => panic!("{old} -> {new}: {other:?}"),
        }
    }

    #[test]
    fn anchoring_follows_search_semantics() {
        // Unanchored: `a` is found in any string holding an `a`.
        assert_eq!(compare("a", "^[\\s\\S]*a"), Inclusion::Equal);
        // `.` stops at a newline, so the anchored spelling with `.*` is narrower.
        assert_eq!(compare("a", "^.*a.*$"), Inclusion::Narrower { lost: "\na".into() });
        assert_eq!(compare("a", "a+"), Inclusion::Equal);
        assert_eq!(wider("^a$", "a"), "\0a");
        assert_eq!(wider("^a", "a"), "\0a");
        assert_eq!(wider("a$", "a"), "a\0");
        assert!(matches!(compare("^ab", "b$"), Inclusion::Incomparable { .. }));
        assert_eq!(compare("", ".*"), Inclusion::Equal);
        assert_eq!(wider("^[a-z]+$", ""), "");
    }

    #[test]
    fn widening_and_narrowing_have_shortest_witnesses() {
        assert_eq!(wider("^[a-z]+$", "^[a-z0-9]+$"), "0");
        assert_eq!(compare("^[a-z0-9]+$", "^[a-z]+$"), Inclusion::Narrower { lost: "0".into() });
        assert_eq!(wider("^[a-z]{1,8}$", "^[a-z]{1,9}$"), "aaaaaaaaa");
        assert_eq!(compare("^(?:ab|cd)$", "^(?:cd|ab)$"), Inclusion::Equal);
        assert_eq!(compare("^[0-9]+$", "^\\d+$"), Inclusion::Equal, "ECMA `\\d` is ASCII");
        assert_eq!(compare("^[A-Za-z0-9_]*$", "^\\w*$"), Inclusion::Equal, "ECMA `\\w` is ASCII");
        assert_eq!(wider("^é$", "^.$"), "\u{0}");
    }

    #[test]
    fn outside_the_decidable_subset_says_why() {
        let Inclusion::Undecided(why) = compare("\\bx", "x") else { panic!() };
        assert!(why.contains("DFA"), "{why}");
        let Inclusion::Undecided(why) = compare("^\\p{L}{40}$", "^\\p{L}{41}$") else { panic!() };
        assert!(why.contains("bound") || why.contains("product states"), "{why}");
    }

    #[test]
    fn accepts_is_a_search() {
        assert_eq!(accepts("a", "xay"), Ok(true));
        assert_eq!(accepts("^a", "xa"), Ok(false));
        assert_eq!(accepts("^\\d+$", "٣"), Ok(false));
    }
}
