//! YAML to [`serde_json::Value`], keeping where every node came from.
//!
//! The whole pipeline after loading works on JSON values and JSON pointers; a
//! [`SourceMap`] turns a pointer back into a line and column for diagnostics. Scalars are
//! resolved with the YAML 1.2 core schema, so `on`/`yes` stay strings.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::diag::escape_token;
use crate::error::Position;

pub use super::source::{ParseError, SourceMap};

/// The fix for a key written twice, in YAML and in JSON alike.
pub(super) const DUPLICATE_KEY_HELP: &str = "remove or rename one of the two keys; a mapping cannot repeat a key (the parser would silently keep only one)";

/// Parses one YAML document into a value and its source map.
pub fn parse(text: &str) -> Result<(Value, SourceMap), ParseError> {
    let mut builder = Builder::default();
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = item.map_err(|e| ParseError::new(
            Position { line: e.marker().line(), column: e.marker().col() + 1 },
            format!("not valid YAML: {}", e.info()),
            "fix the YAML syntax: indent with spaces, and close every `{`, `[` and quote opened at or before this line",
        ))?;
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
                    return Err(ParseError::new(at, "a schema file holds exactly one YAML document", "remove this `---` and what follows, or move the second document into a file of its own"));
                }
            }
            Event::Scalar(text, style, anchor, _) => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    let key = text.into_owned();
                    let Some(Frame::Map { pointer, entries, key: slot, .. }) = self.stack.last_mut() else { unreachable!() };
                    let child = format!("{pointer}/{}", escape_token(&key));
                    if entries.contains_key(&key) {
                        let first = self.map.key_at(&child).map(|p| format!(", first written at line {}", p.line)).unwrap_or_default();
                        return Err(ParseError::new(at, format!("duplicate key `{key}`{first}"), DUPLICATE_KEY_HELP));
                    }
                    self.map.set_key(child, at);
                    *slot = Some(key);
                    return Ok(());
                }
                let value = scalar(&text, style);
                self.map.set_value(pointer, at);
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value);
            }
            Event::Alias(id) => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    return Err(ParseError::new(at, "an alias cannot be a mapping key", "write the key out as a plain string"));
                }
                let value = self.anchors.get(&id).cloned().ok_or_else(|| ParseError::new(at, "unknown alias", "define the anchor (`&name`) before this `*name`, or write the value out"))?;
                self.map.set_value(pointer, at);
                self.push_value(value);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    return Err(ParseError::new(at, "mapping keys must be plain strings", "write the key as a plain string; a list or mapping cannot be a key"));
                }
                self.map.set_value(pointer.clone(), at);
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
