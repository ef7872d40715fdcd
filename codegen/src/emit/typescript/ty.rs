//! TypeScript spellings of IR types: type expressions, doc comments and example values.
//!
//! Conventions: optional → `k?: T`, nullable → `T | null`, both → `k?: T | null`; a string
//! param with `x-accept-integer` → `string | number`;
//! extensible enums keep autocomplete with `| (string & {})`; open objects get an index
//! signature.

use crate::ident;
use crate::ir::types::Ty;
use crate::ir::Ir;

/// The first line of a description, for one-line places (tables, member docs).
pub(crate) fn first_line(text: &str) -> String {
    text.trim().lines().next().unwrap_or_default().trim().to_owned()
}

/// A TS type expression; names are qualified with `prefix` (e.g. `M.`).
pub fn ts_ty(ty: &Ty, prefix: &str) -> String {
    match ty {
        Ty::Bool => "boolean".into(),
        Ty::Integer { .. } | Ty::Number => "number".into(),
        // The server reads an integer there as its decimal text (params only).
        Ty::String { accept_integer: true, .. } => "string | number".into(),
        Ty::String { .. } => "string".into(),
        Ty::Enum { values, extensible } => {
            let mut s = values.iter().map(|v| serde_json::to_string(v).unwrap_or_default()).collect::<Vec<_>>().join(" | ");
            if *extensible {
                s.push_str(" | (string & {})");
            }
            s
        }
        Ty::Const(v) => serde_json::to_string(v).unwrap_or_default(),
        Ty::Array(t) => {
            let inner = ts_ty(t, prefix);
            if inner.contains(' ') {
                format!("Array<{inner}>")
            } else {
                format!("{inner}[]")
            }
        }
        Ty::Map(t) => format!("{{ [key: string]: {} }}", ts_ty(t, prefix)),
        Ty::Object(_) | Ty::Any => "unknown".into(),
        Ty::Named(n) => format!("{prefix}{n}"),
        Ty::Nullable(t) => format!("{} | null", ts_ty(t, prefix)),
    }
}

/// A TSDoc comment at `indent`, with its final newline: one line for a one-line text,
/// nothing for an empty one; `*/` in the text is escaped.
pub(crate) fn doc_comment(indent: &str, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let text = text.replace("*/", "*\\/");
    let lines: Vec<&str> = text.lines().collect();
    if let [line] = lines.as_slice() {
        return format!("{indent}/** {line} */\n");
    }
    let mut out = format!("{indent}/**\n");
    for l in lines {
        out.push_str(&format!("{indent} * {}\n", l.trim_end()));
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// A JavaScript literal of an example value of `ty` (required fields only).
pub(crate) fn example(ir: &Ir, ty: &Ty, depth: usize) -> String {
    match ty {
        Ty::Bool => "true".into(),
        Ty::Integer { min, .. } => min.map_or(1, |m| m.max(1)).to_string(),
        Ty::Number => "1".into(),
        Ty::String { format: Some(f), .. } if f == "uuid" => "\"3f2a…\"".into(),
        Ty::String { format: Some(f), .. } if f == "date-time" => "\"2026-01-01T00:00:00Z\"".into(),
        Ty::String { .. } => "\"…\"".into(),
        Ty::Enum { values, .. } => values.first().map_or_else(|| "\"…\"".into(), |v| serde_json::to_string(v).unwrap_or_default()),
        Ty::Const(v) => v.to_string(),
        Ty::Array(_) => "[]".into(),
        Ty::Map(_) | Ty::Any => "{}".into(),
        Ty::Nullable(_) => "null".into(),
        Ty::Named(n) => match ir.types.get(n) {
            Some(def) if depth < 4 => example(ir, &def.ty, depth + 1),
            _ => "{}".into(),
        },
        Ty::Object(obj) => {
            let fields: Vec<String> = obj.fields.iter().filter(|f| f.required).map(|f| format!("{}: {}", ident::ts_key(&f.name), example(ir, &f.ty, depth + 1))).collect();
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
    }
}
