//! Self-contained JSON Schema documents for the runtime validators and `generated/`.
//!
//! A fragment written in some file may `$ref` models in other files. Bundling copies the
//! fragment, rewrites every reference to `#/$defs/<Name>`, and adds exactly the reachable
//! definitions, sorted by name, so the result validates on its own with no file access.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::ident;
use crate::load::refs;
use crate::load::SourceFile;

/// The JSON Schema dialect of every bundled document.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Bundles `node`, written in file `file`.
pub fn bundle(files: &BTreeMap<String, SourceFile>, ids: &BTreeMap<String, String>, file: &str, node: &Value) -> Value {
    let mut defs: BTreeMap<String, Value> = BTreeMap::new();
    let mut queue: Vec<refs::Target> = Vec::new();
    let mut root = rewrite(node, file, ids, &mut queue);
    while let Some(target) = queue.pop() {
        let name = ident::upper_camel(&target.name);
        if defs.contains_key(&name) {
            continue;
        }
        let def = files
            .get(&target.file)
            .and_then(|f| f.value.get("$defs"))
            .and_then(|d| d.get(&target.name))
            .cloned()
            .unwrap_or(Value::Bool(true));
        defs.insert(name.clone(), Value::Null);
        let rewritten = rewrite(&def, &target.file, ids, &mut queue);
        defs.insert(name, rewritten);
    }
    if let Value::Object(obj) = &mut root {
        let mut out = Map::new();
        out.insert("$schema".into(), Value::String(DIALECT.into()));
        for (k, v) in std::mem::take(obj) {
            out.insert(k, v);
        }
        if !defs.is_empty() {
            out.insert("$defs".into(), Value::Object(defs.into_iter().collect()));
        }
        *obj = out;
    }
    root
}

fn rewrite(node: &Value, file: &str, ids: &BTreeMap<String, String>, queue: &mut Vec<refs::Target>) -> Value {
    match node {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                if k == "$ref" {
                    if let Some(r) = v.as_str() {
                        if let Ok(target) = refs::resolve(file, r, ids) {
                            out.insert(k.clone(), Value::String(format!("#/$defs/{}", ident::upper_camel(&target.name))));
                            queue.push(target);
                            continue;
                        }
                    }
                }
                if k == "$id" || k == "$schema" || k == "x-fill" {
                    continue;
                }
                // `examples`, `default` and `const` hold instances, not schemas: copy as they are.
                if matches!(k.as_str(), "examples" | "default" | "const" | "enum") {
                    out.insert(k.clone(), v.clone());
                } else {
                    out.insert(k.clone(), rewrite(v, file, ids, queue));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite(v, file, ids, queue)).collect()),
        other => other.clone(),
    }
}
