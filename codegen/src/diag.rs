//! Collecting problems while walking a schema set, located by file and JSON pointer.
//!
//! Checks push [`Problem`]s with a [`Loc`]; [`Problems::into_diagnostics`] resolves each to
//! a line and column, once, at the end, through a lookup the caller gives (the loader's
//! source maps), so this module knows nothing of how files are read.

use crate::error::{Diagnostic, Diagnostics, Position};

/// A node in a schema file: the file's path inside the schema directory and a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// Path inside the schema directory, e.g. `channels/mission.yaml`.
    pub file: String,
    /// JSON pointer of the node.
    pub pointer: String,
}

impl Loc {
    /// A location in `file` at `pointer`.
    pub fn new(file: impl Into<String>, pointer: impl Into<String>) -> Self {
        Loc { file: file.into(), pointer: pointer.into() }
    }

    /// The location of a child node.
    pub fn child(&self, token: &str) -> Self {
        Loc { file: self.file.clone(), pointer: format!("{}/{}", self.pointer, escape_token(token)) }
    }
}

/// One problem before it is resolved to a line.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Where.
    pub loc: Loc,
    /// Point at the key rather than the value (for unknown or misnamed keys).
    pub at_key: bool,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// The problems found so far.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Records a problem at a value.
    pub fn at(&mut self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.0.push(Problem { loc: loc.clone(), at_key: false, message: message.into(), help: help.into() });
    }

    /// Records a problem at a key.
    pub fn at_key(&mut self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.0.push(Problem { loc: loc.clone(), at_key: true, message: message.into(), help: help.into() });
    }

    /// True when a problem was already recorded at `loc` or inside it (to avoid follow-on errors).
    pub fn reported_under(&self, loc: &Loc) -> bool {
        self.0.iter().any(|p| p.loc.file == loc.file && (p.loc.pointer == loc.pointer || p.loc.pointer.starts_with(&format!("{}/", loc.pointer))))
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Resolves every problem to a diagnostic, sorted and without duplicates; `position`
    /// finds where a problem's node (or its key, for `at_key`) starts.
    pub fn into_diagnostics(self, display_dir: &str, position: impl Fn(&Problem) -> Position) -> Diagnostics {
        let mut out: Vec<Diagnostic> = self
            .0
            .into_iter()
            .map(|p| {
                let position = position(&p);
                Diagnostic { file: display_path(display_dir, &p.loc.file), position, message: p.message, help: p.help }
            })
            .collect();
        out.sort();
        out.dedup();
        Diagnostics(out)
    }
}

/// One JSON pointer token: `~` and `/` escaped (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `dir/file`, without a doubled separator.
pub fn display_path(dir: &str, file: &str) -> String {
    if dir.is_empty() || dir == "." {
        file.to_owned()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), file)
    }
}

/// The declared name nearest to `name`, when it is close enough to be what was meant (the
/// "did you mean" of rustc): at most a third of the name's length in edits (at least one),
/// case ignored; the nearest, then the first in sorted order, so the answer is deterministic.
pub fn nearest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let folded = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::levenshtein(&folded, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// `help`, led by "did you mean `x`?" when a declared name is near `name`.
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>, help: impl Into<String>) -> String {
    match nearest(name, candidates) {
        Some(near) => format!("did you mean `{near}`? Otherwise, {}", help.into()),
        None => help.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names_a_likely_typo_and_nothing_far() {
        let names = ["Cursor", "Card", "Column"];
        assert_eq!(nearest("Cursr", names), Some("Cursor"));
        assert_eq!(nearest("cursor", names), Some("Cursor"));
        assert_eq!(nearest("Carb", names), Some("Card"));
        assert_eq!(nearest("Board", names), None);
        assert_eq!(nearest("x", ["y", "z"]), Some("y"));
        assert_eq!(nearest("Card", ["Card"]), None);
    }
}
