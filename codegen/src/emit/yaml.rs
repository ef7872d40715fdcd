//! A minimal, deterministic YAML writer for JSON values, for `generated/asyncapi.yaml`.
//!
//! Block mappings and sequences, two-space indent, keys in the value's own order (the
//! emitters insert them in a fixed order). Scalars are written plain when the YAML 1.2 core
//! schema reads them back as the same string, single-quoted when they are printable, and
//! double-quoted with JSON escapes otherwise; short lists of scalars are written in flow
//! style (`[a, b]`). The output is valid YAML 1.2 and reads back to the same value; it
//! writes no anchors, tags or multi-line scalars.

use serde_json::{Map, Value};

/// Longest flow-style list written on one line, in characters.
const FLOW_WIDTH: usize = 100;

/// Renders `value` as a YAML document, after `header` (written as `# ` comment lines).
pub fn to_yaml(value: &Value, header: &[&str]) -> String {
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    match value {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() && flow(a).is_none() => seq(&mut out, a, 0),
        other => {
            out.push_str(&inline(other).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn map(out: &mut String, m: &Map<String, Value>, depth: usize) {
    for (k, v) in m {
        indent(out, depth);
        out.push_str(&scalar(k, false));
        out.push(':');
        value_after_key(out, v, depth);
    }
}

/// Writes a value that follows `key:` or `- `, on the same line when it is inline.
fn value_after_key(out: &mut String, v: &Value, depth: usize) {
    match inline(v) {
        Some(s) => {
            out.push(' ');
            out.push_str(&s);
            out.push('\n');
        }
        None => {
            out.push('\n');
            match v {
                Value::Object(m) => map(out, m, depth + 2),
                Value::Array(a) => seq(out, a, depth + 2),
                _ => unreachable!("scalars are inline"),
            }
        }
    }
}

fn seq(out: &mut String, a: &[Value], depth: usize) {
    for v in a {
        indent(out, depth);
        out.push('-');
        match (v, inline(v)) {
            (_, Some(s)) => {
                out.push(' ');
                out.push_str(&s);
                out.push('\n');
            }
            // `- key: value` with the other keys aligned under the first.
            (Value::Object(m), None) => {
                let mut first = true;
                for (k, item) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, depth + 2);
                    }
                    out.push_str(&scalar(k, false));
                    out.push(':');
                    value_after_key(out, item, depth + 2);
                }
            }
            (Value::Array(inner), None) => {
                out.push('\n');
                seq(out, inner, depth + 2);
            }
            _ => unreachable!("scalars are inline"),
        }
    }
}

/// The one-line form of a value, when it has one: scalars, `{}`, `[]` and short scalar lists.
fn inline(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(scalar(s, false)),
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Array(a) => flow(a),
        Value::Object(_) => None,
    }
}

/// `[a, b, c]` for a list of scalars that fits on a line.
fn flow(a: &[Value]) -> Option<String> {
    let mut parts = Vec::with_capacity(a.len());
    for v in a {
        parts.push(match v {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => scalar(s, true),
            Value::Array(_) | Value::Object(_) => return None,
        });
    }
    let s = format!("[{}]", parts.join(", "));
    (s.chars().count() <= FLOW_WIDTH).then_some(s)
}

/// A string scalar: plain, single-quoted or double-quoted, whichever reads back as `s`.
fn scalar(s: &str, in_flow: bool) -> String {
    if is_plain(s, in_flow) {
        s.to_owned()
    } else if s.chars().all(|c| !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// Whether `s` can be written without quotes and still read back as this string.
///
/// Deliberately stricter than YAML requires: a conservative character set (no brackets or
/// braces, so `'board:{id}'` and patterns read as strings at a glance), no leading
/// indicator, no `: ` or ` #`, and nothing the core schema would read as null, a boolean or
/// a number.
fn is_plain(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let allowed = |c: char| c.is_ascii_alphanumeric() || " _-./$:()+=@<>^~`'\"*&!%?;".contains(c);
    if !first.is_ascii_alphanumeric() && !"_/$.(^".contains(first) {
        return false;
    }
    if !s.chars().all(allowed) || s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if in_flow && s.contains(':') {
        return false;
    }
    !looks_typed(s)
}

/// Strings the YAML 1.2 core schema (and YAML 1.1 readers) would resolve to another type.
fn looks_typed(s: &str) -> bool {
    const WORDS: &[&str] = &["null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"];
    if WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let starts_numeric = body.starts_with(|c: char| c.is_ascii_digit()) || (body.starts_with('.') && body[1..].starts_with(|c: char| c.is_ascii_digit()));
    starts_numeric || matches!(body.to_ascii_lowercase().as_str(), ".inf" | ".nan")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: &Value) {
        let text = to_yaml(v, &["header"]);
        let (back, _) = crate::load::yaml::parse(&text).unwrap_or_else(|e| panic!("{text}\n{}", e.message));
        assert_eq!(&back, v, "YAML:\n{text}");
    }

    #[test]
    fn values_read_back_unchanged() {
        round_trip(&json!({
            "asyncapi": "3.0.0",
            "plain": "ai_orchestration:account:{id}",
            "ref": "#/components/schemas/Id",
            "dollar": { "$ref": "#/x", "$reply": 1 },
            "typed": ["true", "no", "null", "1", "1.5", "-2", ".5", "~", "0x1F", "1e3", ".inf"],
            "quotes": ["it's", "say \"hi\"", "a: b", "a #b", "- x", "? x", "[x]", "{x}", "x,y", "@x", "`x`", "", " x", "x "],
            "control": "line\nbreak\ttab",
            "unicode": "≥ 0 — déjà",
            "numbers": [0, -1, 2.5, 9007199254740991u64],
            "nested": [{ "a": [1, 2], "b": { "c": [] } }, [1, [2, { "d": {} }]], { "e": { "f": null } }],
            "long": (0..40).map(|i| format!("value{i}")).collect::<Vec<_>>(),
            "Sec-WebSocket-Protocol": "actioncable-v1-json",
            "key with: colon": true,
            "true": false,
            "1": "one",
        }));
    }

    #[test]
    fn layout() {
        let v = json!({ "a": { "b": [{ "c": 1, "d": "x: y" }], "e": ["f", "g"] }, "h": [] });
        assert_eq!(to_yaml(&v, &[]), "a:\n  b:\n    - c: 1\n      d: 'x: y'\n  e: [f, g]\nh: []\n");
    }
}
