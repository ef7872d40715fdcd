//! Where the nodes of one parsed file start, and why a file did not parse.
//!
//! The whole pipeline after loading works on JSON values and JSON pointers; a
//! [`SourceMap`] turns a pointer back into a line and column for diagnostics. The YAML and
//! the JSON reader both fill one.

use std::collections::BTreeMap;

use crate::error::Position;

/// Positions of the nodes of one file, keyed by JSON pointer.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    values: BTreeMap<String, Position>,
    keys: BTreeMap<String, Position>,
}

impl SourceMap {
    /// Where the node at `pointer` starts; for a missing node, its nearest ancestor.
    pub fn value(&self, pointer: &str) -> Position {
        self.lookup(&self.values, pointer)
    }

    /// Where the key of the node at `pointer` starts (the value's position for array items).
    pub fn key(&self, pointer: &str) -> Position {
        match self.keys.get(pointer) {
            Some(p) => *p,
            None => self.value(pointer),
        }
    }

    /// Where the key at `pointer` was written, if it was.
    pub(super) fn key_at(&self, pointer: &str) -> Option<Position> {
        self.keys.get(pointer).copied()
    }

    pub(super) fn set_value(&mut self, pointer: String, at: Position) {
        self.values.insert(pointer, at);
    }

    pub(super) fn set_key(&mut self, pointer: String, at: Position) {
        self.keys.insert(pointer, at);
    }

    fn lookup(&self, map: &BTreeMap<String, Position>, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(pos) = map.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position { line: 1, column: 1 },
            }
        }
    }
}

/// Why a file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where.
    pub position: Position,
    /// What.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl ParseError {
    pub(super) fn new(position: Position, message: impl Into<String>, help: impl Into<String>) -> Self {
        ParseError { position, message: message.into(), help: help.into() }
    }
}
