//! Examples: every instance a model lists under `examples` is valid against that model, as
//! the server would validate a payload (formats included). The docs, the AsyncAPI document
//! and the tests show these examples; one that the schema refuses teaches the wrong payload.

use serde_json::Value;

use crate::diag::{Loc, Problems};
use crate::ir::bundle;
use crate::ir::types::TypeBuilder;
use crate::load::Loaded;

/// Most violations named per example: the first few say what to fix.
const SHOWN: usize = 3;

/// Checks the examples of every model definition.
pub(super) fn check(loaded: &Loaded, problems: &mut Problems) {
    let ids = TypeBuilder::new(&loaded.files).ids().clone();
    for rel in &loaded.models {
        let Some(defs) = loaded.files.get(rel).and_then(|f| f.value.get("$defs")).and_then(Value::as_object) else { continue };
        for (name, def) in defs {
            let Some(examples) = def.get("examples").and_then(Value::as_array) else { continue };
            let def_loc = Loc::new(rel.clone(), "").child("$defs").child(name);
            // A definition that failed to convert has its own error; its examples would only add noise.
            if problems.reported_under(&def_loc) {
                continue;
            }
            let loc = def_loc.child("examples");
            let schema = bundle::bundle(&loaded.files, &ids, rel, def);
            // A schema that does not compile is reported by the type conversion.
            let Ok(validator) = jsonschema::options().should_validate_formats(true).with_pattern_options(jsonschema::PatternOptions::regex()).build(&schema) else { continue };
            for (i, example) in examples.iter().enumerate() {
                let errors: Vec<_> = validator.iter_errors(example).collect();
                let Some(first) = errors.first() else { continue };
                // At the first value that does not match, inside the example (a JSON pointer).
                let at = Loc::new(rel.clone(), format!("{}{}", loc.child(&i.to_string()).pointer, first.instance_path()));
                let found: Vec<String> = errors.iter().map(|e| format!("{}: {e}", pointer(&e.instance_path().to_string()))).collect();
                let shown = found.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; ");
                let more = if found.len() > SHOWN { format!(" (and {} more)", found.len() - SHOWN) } else { String::new() };
                problems.at(&at, format!("example {i} of `{name}` does not match its schema: {shown}{more}"), "fix the example, or the schema if the example is what is really sent");
            }
        }
    }
}

fn pointer(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}
