//! `$ref` resolution across files: `../models/x.json#/$defs/Name`, `#/$defs/Name`, or
//! `urn:...#/$defs/Name` by a model's `$id`.

use std::collections::BTreeMap;

/// A resolved reference: the model file and the name under its `$defs`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// Path inside the schema directory, e.g. `models/common.json`.
    pub file: String,
    /// The `$defs` entry.
    pub name: String,
}

/// Resolves `reference`, written in file `from`, against the model files and their `$id`s.
///
/// # Errors
/// A sentence saying why the reference cannot be followed.
pub fn resolve(from: &str, reference: &str, ids: &BTreeMap<String, String>) -> Result<Target, String> {
    let (doc, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let file = if doc.is_empty() {
        from.to_owned()
    } else if let Some(rel) = ids.get(doc) {
        rel.clone()
    } else if doc.contains(':') {
        return Err(format!("no model file has `$id: {doc}`"));
    } else {
        normalize(from, doc)?
    };
    let name = fragment
        .strip_prefix("/$defs/")
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| format!("`{reference}` must point at `#/$defs/<Name>`"))?;
    Ok(Target { file, name: name.replace("~1", "/").replace("~0", "~") })
}

/// Joins a relative document path to the directory of `from` and removes `.` and `..`.
fn normalize(from: &str, doc: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in doc.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("`{doc}` leaves the schema directory"));
                }
            }
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_local_and_urn_references() {
        let mut ids = BTreeMap::new();
        ids.insert("urn:cableway:models:common".to_owned(), "models/common.json".to_owned());
        let t = |from, r| resolve(from, r, &ids);
        assert_eq!(t("channels/a.yaml", "../models/common.json#/$defs/Id").unwrap(), Target { file: "models/common.json".into(), name: "Id".into() });
        assert_eq!(t("models/run.json", "#/$defs/Run").unwrap().file, "models/run.json");
        assert_eq!(t("models/run.json", "common.json#/$defs/Id").unwrap().file, "models/common.json");
        assert_eq!(t("models/run.json", "urn:cableway:models:common#/$defs/Id").unwrap().name, "Id");
        assert!(t("channels/a.yaml", "../../x.json#/$defs/A").is_err());
        assert!(t("channels/a.yaml", "../models/common.json#/properties/a").is_err());
    }
}
