//! YAML (and JSON, a subset of it) to [`serde_json::Value`], keeping where every node came from.
//!
//! The whole pipeline after loading works on JSON values and JSON pointers; a
//! [`SourceMap`] turns a pointer back into a line and column for diagnostics. Scalars are
//! resolved with the YAML 1.2 core schema, so `on`/`yes` stay strings.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::diag::escape_token;
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
}

/// Parses one YAML document into a value and its source map.
pub fn parse(text: &str) -> Result<(Value, SourceMap), ParseError> {
    let mut builder = Builder::default();
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = item.map_err(|e| ParseError {
            position: Position { line: e.marker().line(), column: e.marker().col() + 1 },
            message: format!("not valid YAML: {}", e.info()),
        })?;
        builder.on(event, span)?;
    }
    let value = builder.root.take().unwrap_or(Value::Null);
    Ok((value, builder.map))
}

enum Frame {
    Seq { pointer: String, items: Vec<Value>, anchor: usize },
    Map { pointer: String, entries: Map<String, Value>, key: Option<String>, anchor: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    map: SourceMap,
    anchors: BTreeMap<usize, Value>,
    documents: usize,
}

fn pos(span: Span) -> Position {
    Position { line: span.start.line(), column: span.start.col() + 1 }
}

impl Builder {
    /// The pointer of the node about to be read, and whether it is a mapping key.
    fn next_pointer(&self) -> (String, bool) {
        match self.stack.last() {
            None => (String::new(), false),
            Some(Frame::Seq { pointer, items, .. }) => (format!("{pointer}/{}", items.len()), false),
            Some(Frame::Map { pointer, key: Some(k), .. }) => (format!("{pointer}/{}", escape_token(k)), false),
            Some(Frame::Map { pointer, key: None, .. }) => (pointer.clone(), true),
        }
    }

    fn on(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseError> {
        let at = pos(span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(ParseError { position: at, message: "a schema file holds exactly one YAML document".into() });
                }
            }
            Event::Scalar(text, style, anchor, _) => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    let key = text.into_owned();
                    let Some(Frame::Map { pointer, entries, key: slot, .. }) = self.stack.last_mut() else { unreachable!() };
                    let child = format!("{pointer}/{}", escape_token(&key));
                    if entries.contains_key(&key) {
                        let first = self.map.keys.get(&child).map(|p| format!(", first written at line {}", p.line)).unwrap_or_default();
                        return Err(ParseError { position: at, message: format!("duplicate key `{key}`{first}") });
                    }
                    self.map.keys.insert(child, at);
                    *slot = Some(key);
                    return Ok(());
                }
                let value = scalar(&text, style);
                self.map.values.insert(pointer, at);
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value);
            }
            Event::Alias(id) => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    return Err(ParseError { position: at, message: "an alias cannot be a mapping key".into() });
                }
                let value = self.anchors.get(&id).cloned().ok_or_else(|| ParseError { position: at, message: "unknown alias".into() })?;
                self.map.values.insert(pointer, at);
                self.push_value(value);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    return Err(ParseError { position: at, message: "mapping keys must be plain strings".into() });
                }
                self.map.values.insert(pointer.clone(), at);
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { pointer, items: Vec::new(), anchor }
                } else {
                    Frame::Map { pointer, entries: Map::new(), key: None, anchor }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Map { entries, anchor, .. }) => (Value::Object(entries), anchor),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value);
            }
            _ => {}
        }
        Ok(())
    }

    fn push_value(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { entries, key, .. }) => {
                if let Some(k) = key.take() {
                    entries.insert(k, value);
                }
            }
        }
    }
}

/// YAML 1.2 core-schema resolution of a scalar; quoted scalars are always strings.
fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    let looks_numeric = digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_pointers() {
        let (v, map) = parse("a:\n  b: [1, two]\n  'c': yes\nd: 1.5\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": {"b": [1, "two"], "c": "yes"}, "d": 1.5}));
        assert_eq!(map.value("/a/b/1"), Position { line: 2, column: 10 });
        assert_eq!(map.key("/a/c"), Position { line: 3, column: 3 });
        assert_eq!(map.value("/a/b/9"), Position { line: 2, column: 6 });
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.position.line, 2);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn json_is_read_too() {
        let (v, map) = parse("{\n  \"x\": {\"y\": \"1\"}\n}").unwrap();
        assert_eq!(v, serde_json::json!({"x": {"y": "1"}}));
        assert_eq!(map.value("/x/y").line, 2);
    }
}
