//! Strict JSON (RFC 8259) to [`serde_json::Value`], keeping where every node came from.
//!
//! Model files are shared with the REST API, whose JSON tools refuse what JSON does not
//! allow; so does this reader: no comments, no trailing commas, no unquoted keys, no
//! single quotes, no hexadecimal or `+` numbers, and no key written twice. It uses
//! `jsonc-parser` with every extension turned off, because it keeps the byte range of
//! every node (serde_json keeps none) and names what it expected at a syntax error.

use jsonc_parser::ast::{ObjectPropName, Value as Node};
use jsonc_parser::errors::ParseErrorKind;
use jsonc_parser::{parse_to_ast, CollectOptions, ParseOptions};
use serde_json::{Map, Value};

use crate::diag::escape_token;
use crate::error::Position;

use super::source::{ParseError, SourceMap};
use super::yaml::DUPLICATE_KEY_HELP;

/// Parses one JSON document into a value and its source map.
pub fn parse(text: &str) -> Result<(Value, SourceMap), ParseError> {
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let lines = Lines::new(text);
    let ast = parse_to_ast(text, &CollectOptions::default(), &strict).map_err(|e| {
        let at = e.range().start;
        // `#` is no JSON token at all; the parser calls it unexpected, an author wrote a comment.
        let (message, help) = if text[at..].starts_with('#') { explain(&ParseErrorKind::CommentsNotAllowed) } else { explain(e.kind()) };
        ParseError::new(lines.at(at), format!("not valid JSON: {message}"), help)
    })?;
    let Some(root) = ast.value else {
        return Err(ParseError::new(Position { line: 1, column: 1 }, "not valid JSON: the file is empty", "write the model file as one JSON object, e.g. `{\"$defs\": {}}`"));
    };
    let mut map = SourceMap::default();
    let value = convert(&root, String::new(), &lines, &mut map)?;
    Ok((value, map))
}

/// What a syntax error means to an author, and how to fix it.
fn explain(kind: &ParseErrorKind) -> (String, &'static str) {
    use ParseErrorKind as K;
    let help = match kind {
        K::CommentsNotAllowed => "remove the comment: JSON has none (a note about a schema goes into its `description`)",
        K::TrailingCommasNotAllowed => "remove the `,` after the last member of this object or array",
        K::ExpectedStringObjectProperty | K::UnexpectedWord => "quote it: JSON keys and strings are written in double quotes, e.g. `\"type\"`",
        K::SingleQuotedStringsNotAllowed => "use double quotes: JSON strings are written `\"...\"`",
        K::ExpectedComma => "add a `,` between the two members",
        K::ExpectedColonAfterObjectKey => "write `:` between the key and its value",
        K::ExpectedObjectValue => "write a value after the `:`",
        K::UnterminatedObject => "close the object with `}`",
        K::UnterminatedArray => "close the array with `]`",
        K::MultipleRootJsonValues => "a model file holds one JSON object: remove what follows its closing `}`",
        K::HexadecimalNumbersNotAllowed | K::UnaryPlusNumbersNotAllowed | K::BareDecimalPointNumbersNotAllowed | K::NonFiniteNumbersNotAllowed => {
            "write the number in decimal, without a leading `+` and with a digit on both sides of the `.`"
        }
        _ => "fix the JSON syntax: look for a missing or extra `,`, or an unclosed `{`, `[` or `\"` at or before this position",
    };
    let text = kind.to_string();
    let mut chars = text.chars();
    let message = chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default();
    (message, help)
}

fn convert(node: &Node<'_>, pointer: String, lines: &Lines<'_>, map: &mut SourceMap) -> Result<Value, ParseError> {
    let range = match node {
        Node::StringLit(s) => s.range,
        Node::NumberLit(n) => n.range,
        Node::BooleanLit(b) => b.range,
        Node::NullKeyword(n) => n.range,
        Node::Object(o) => o.range,
        Node::Array(a) => a.range,
    };
    map.set_value(pointer.clone(), lines.at(range.start));
    Ok(match node {
        Node::StringLit(s) => Value::String(s.value.clone().into_owned()),
        // The strict options admit only RFC 8259 numbers, which serde_json reads exactly.
        Node::NumberLit(n) => serde_json::from_str(n.value).map_err(|e| ParseError::new(lines.at(n.range.start), format!("not valid JSON: number `{}`: {e}", n.value), "write a decimal number that fits in 64 bits"))?,
        Node::BooleanLit(b) => Value::Bool(b.value),
        Node::NullKeyword(_) => Value::Null,
        Node::Array(a) => {
            let mut items = Vec::with_capacity(a.elements.len());
            for (i, el) in a.elements.iter().enumerate() {
                items.push(convert(el, format!("{pointer}/{i}"), lines, map)?);
            }
            Value::Array(items)
        }
        Node::Object(o) => {
            let mut entries = Map::new();
            for prop in &o.properties {
                let (key, at) = match &prop.name {
                    ObjectPropName::String(s) => (s.value.as_ref(), s.range.start),
                    ObjectPropName::Word(w) => (w.value, w.range.start),
                };
                let child = format!("{pointer}/{}", escape_token(key));
                let at = lines.at(at);
                if entries.contains_key(key) {
                    let first = map.key_at(&child).map(|p| format!(", first written at line {}", p.line)).unwrap_or_default();
                    return Err(ParseError::new(at, format!("duplicate key `{key}`{first}"), DUPLICATE_KEY_HELP));
                }
                map.set_key(child.clone(), at);
                let value = convert(&prop.value, child, lines, map)?;
                entries.insert(key.to_owned(), value);
            }
            Value::Object(entries)
        }
    })
}

/// Byte offsets to 1-based lines and columns (columns count characters, as the YAML reader's do).
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { text, starts }
    }

    fn at(&self, offset: usize) -> Position {
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = self.text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        Position { line, column }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_pointers() {
        let (v, map) = parse("{\n  \"x\": {\"y\": \"1\", \"z\": [1, 2.5, null]},\n  \"a~b\": true\n}").unwrap();
        assert_eq!(v, serde_json::json!({"x": {"y": "1", "z": [1, 2.5, null]}, "a~b": true}));
        assert_eq!(map.value("/x/y"), Position { line: 2, column: 14 });
        assert_eq!(map.key("/x"), Position { line: 2, column: 3 });
        assert_eq!(map.value("/x/z/1"), Position { line: 2, column: 28 });
        assert_eq!(map.key("/a~0b"), Position { line: 3, column: 3 });
    }

    #[test]
    fn what_json_does_not_allow_is_refused_where_it_is() {
        let cases = [
            ("{\"a\": 1,\n}", 1, "trailing commas"),
            ("{\n  a: 1}", 2, "expected string for object property"),
            ("{\"a\": 'x'}", 1, "single-quoted"),
            ("{\"a\": 1,\n# note\n\"b\": 2}", 2, "comments"),
            ("{\"a\": 1 // note\n}", 1, "comments"),
            ("{\"a\": 1,\n \"a\": 2}", 2, "duplicate key `a`, first written at line 1"),
            ("{\"a\": 0x1F}", 1, "hexadecimal"),
            ("{\"a\": 1 \"b\": 2}", 1, "expected comma"),
            ("", 1, "empty"),
        ];
        for (text, line, says) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.position.line, line, "{text}: {err:?}");
            assert!(err.message.to_lowercase().contains(says), "{text}: {err:?}");
            assert!(!err.help.is_empty());
        }
    }

    #[test]
    fn numbers_and_strings_read_as_serde_json_reads_them() {
        let text = r#"{"i": -3, "u": 18446744073709551615, "f": 1.5e3, "s": "a\"\u00e9\n"}"#;
        assert_eq!(parse(text).unwrap().0, serde_json::from_str::<Value>(text).unwrap());
    }
}
