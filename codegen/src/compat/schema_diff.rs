//! Schema diff: walks an old and a new JSON Schema side by side and lists every change
//! as a [`Kind`] at a JSON pointer.
//!
//! Both schemas are [normalized](super::normalize) first. A change is described, not
//! judged: the verdict comes from [`Kind::entry`] for the direction the schema is read in.
//! The walk is keyword by keyword, and that is what makes SAFE verdicts sound: a schema
//! accepts the intersection of its keywords, so when every keyword of the new schema
//! accepts at least what the old one did (client→server), the new schema does too.
//! Keywords that only apply to one JSON type are compared only when both schemas admit
//! that type; a type change is reported on its own.
//!
//! Objects are compared key by key. A key declared on one side only is compared with what
//! the other side's `additionalProperties` says about it; a single removed and a single
//! added key with equal schemas are reported as a rename.

use std::collections::BTreeSet;

use serde_json::Value;

use super::normalize::{bound_tighter, covers, normalize, Additional, Bound, JsonType, Node};
use super::rules::Kind;
use crate::diag::escape_token;

/// One change between two schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed.
    pub kind: Kind,
    /// JSON pointer of the keyword or subschema, relative to the schema root.
    pub pointer: String,
    /// One sentence naming the old and new values.
    pub detail: String,
}

/// Every change from `old` to `new`, in walk order. `#/...` references resolve inside
/// each document, so bundled and dereferenced schemas both work.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let (o, n) = (normalize(old), normalize(new));
    let mut out = Vec::new();
    walk(&o, &n, "", &mut out);
    out
}

/// Diffs two normalized schemas.
pub fn diff_nodes(old: &Node, new: &Node) -> Vec<Change> {
    let mut out = Vec::new();
    walk(old, new, "", &mut out);
    out
}

fn push(out: &mut Vec<Change>, kind: Kind, pointer: impl Into<String>, detail: impl Into<String>) {
    out.push(Change { kind, pointer: pointer.into(), detail: detail.into() });
}

fn walk(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    annotations(o, n, ptr, out);
    for key in o.other.keys().chain(n.other.keys()).collect::<BTreeSet<_>>() {
        if o.other.get(key) != n.other.get(key) {
            push(out, Kind::UnsupportedKeywordChanged, format!("{ptr}/{}", escape_token(key)), format!("`{key}` changed (the checker does not model it)"));
        }
    }
    match (o.nullable, n.nullable) {
        (false, true) => push(out, Kind::BecameNullable, ptr, "null is now accepted"),
        (true, false) => push(out, Kind::BecameNotNullable, ptr, "null is no longer accepted"),
        _ => {}
    }
    values_and_types(o, n, ptr, out);
    if o.admits(JsonType::String) && n.admits(JsonType::String) {
        strings(o, n, ptr, out);
    }
    if o.admits(JsonType::Number) && n.admits(JsonType::Number) {
        numbers(o, n, ptr, out);
    }
    if o.admits(JsonType::Array) && n.admits(JsonType::Array) {
        arrays(o, n, ptr, out);
    }
    if o.admits(JsonType::Object) && n.admits(JsonType::Object) {
        objects(o, n, ptr, out);
    }
    one_of(o, n, ptr, out);
    all_of(o, n, ptr, out);
}

fn annotations(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    if o.type_name != n.type_name {
        let show = |t: &Option<String>| t.as_deref().map_or("an inline type".to_owned(), |t| format!("`{t}`"));
        push(out, Kind::TypeRenamed, ptr, format!("generated type {} became {}", show(&o.type_name), show(&n.type_name)));
    }
    if o.opaque != n.opaque {
        push(out, Kind::OpaqueChanged, ptr, if n.opaque { "the value became `x-opaque` (untyped JSON)" } else { "the value is no longer `x-opaque`" });
    }
    if !o.deprecated && n.deprecated {
        push(out, Kind::Deprecated, format!("{ptr}/deprecated"), "marked deprecated");
    }
    if o.default != n.default {
        let show = |d: &Option<Value>| d.as_ref().map_or("none".to_owned(), |d| format!("`{d}`"));
        push(out, Kind::DefaultChanged, format!("{ptr}/default"), format!("default {} became {}", show(&o.default), show(&n.default)));
    }
}

fn values_and_types(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    let enum_ptr = format!("{ptr}/enum");
    match (&o.values, &n.values) {
        (Some(a), Some(b)) => {
            if a.len() == 1 && b.len() == 1 && a != b {
                push(out, Kind::ConstChanged, format!("{ptr}/const"), format!("constant {} became {}", first(a), first(b)));
            } else {
                for v in b.difference(a) {
                    let kind = if o.extensible_enum { Kind::ExtensibleEnumValueAdded } else { Kind::EnumValueAdded };
                    push(out, kind, &enum_ptr, format!("value {v} added"));
                }
                for v in a.difference(b) {
                    push(out, Kind::EnumValueRemoved, &enum_ptr, format!("value {v} removed"));
                }
            }
            if o.extensible_enum != n.extensible_enum {
                push(out, Kind::ExtensibilityChanged, format!("{ptr}/x-extensible-enum"), if n.extensible_enum { "the enum became `x-extensible-enum`" } else { "the enum is no longer `x-extensible-enum`" });
            }
        }
        (None, Some(b)) if b.len() == 1 => push(out, Kind::ConstAdded, format!("{ptr}/const"), format!("only {} is accepted now", first(b))),
        (None, Some(b)) => push(out, Kind::EnumAdded, &enum_ptr, format!("values restricted to {}", list(b))),
        (Some(a), None) if a.len() == 1 => push(out, Kind::ConstRemoved, format!("{ptr}/const"), format!("the constant {} was lifted", first(a))),
        (Some(a), None) => {
            let kind = if o.extensible_enum { Kind::ExtensibleEnumRemoved } else { Kind::EnumRemoved };
            push(out, kind, &enum_ptr, format!("the enum {} was lifted", list(a)));
        }
        (None, None) => {}
    }
    let type_ptr = format!("{ptr}/type");
    match (&o.types, &n.types) {
        (None, None) => {}
        (None, Some(b)) => push(out, Kind::TypeNarrowed, type_ptr, format!("any type became {}", types(b))),
        (Some(a), None) => push(out, Kind::TypeWidened, type_ptr, format!("{} became any type", types(a))),
        (Some(a), Some(b)) => {
            let widened = a.iter().all(|t| covers(b, *t));
            let narrowed = b.iter().all(|t| covers(a, *t));
            let detail = format!("{} became {}", types(a), types(b));
            match (widened, narrowed) {
                (true, true) => {}
                (true, false) => push(out, Kind::TypeWidened, type_ptr, detail),
                (false, true) => push(out, Kind::TypeNarrowed, type_ptr, detail),
                (false, false) => push(out, Kind::TypeChanged, type_ptr, detail),
            }
        }
    }
}

fn strings(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    let ip = format!("{ptr}/x-accept-integer");
    match (o.accepts_integer, n.accepts_integer) {
        (false, true) => push(out, Kind::IntegerAccepted, ip, "a JSON integer is now accepted too, read as its decimal text"),
        (true, false) => push(out, Kind::IntegerNoLongerAccepted, ip, "a JSON integer is no longer accepted"),
        _ => {}
    }
    let fp = format!("{ptr}/format");
    match (&o.format, &n.format) {
        (None, Some(b)) => push(out, Kind::FormatAdded, fp, format!("format `{b}` added")),
        (Some(a), None) => push(out, Kind::FormatRemoved, fp, format!("format `{a}` removed")),
        (Some(a), Some(b)) if a != b => push(out, Kind::FormatChanged, fp, format!("format `{a}` became `{b}`")),
        _ => {}
    }
    patterns(o.pattern.as_deref(), n.pattern.as_deref(), &format!("{ptr}/pattern"), out);
    counts(o.min_length, n.min_length, true, &format!("{ptr}/minLength"), "minLength", out);
    counts(o.max_length, n.max_length, false, &format!("{ptr}/maxLength"), "maxLength", out);
}

/// Compares two `pattern`s by the strings they accept (absent: every string).
fn patterns(o: Option<&str>, n: Option<&str>, pp: &str, out: &mut Vec<Change>) {
    use super::pattern::{compare, Inclusion};
    if o == n {
        return;
    }
    let (a, b) = (o.unwrap_or(""), n.unwrap_or(""));
    let shown = |p: Option<&str>| p.map_or_else(|| "no pattern".to_owned(), |p| format!("pattern `{p}`"));
    let what = format!("{} became {}", shown(o), shown(n));
    let (kind, detail) = match compare(a, b) {
        Inclusion::Equal => (Kind::PatternRespelled, format!("{what}, which accepts exactly the same strings")),
        Inclusion::Wider { extra } if o.is_some() && n.is_none() => (Kind::PatternRemoved, format!("pattern `{a}` removed: {} is accepted now", quoted(&extra))),
        Inclusion::Wider { extra } => (Kind::PatternWidened, format!("{what}: it accepts every string it did, and more, e.g. {}", quoted(&extra))),
        Inclusion::Narrower { lost } if o.is_none() => (Kind::PatternAdded, format!("pattern `{b}` added: {} is refused now", quoted(&lost))),
        Inclusion::Narrower { lost } => (Kind::PatternNarrowed, format!("{what}: every string it accepts matched before, but {} no longer does", quoted(&lost))),
        Inclusion::Incomparable { extra, lost } => (Kind::PatternChanged, format!("{what}: {} is refused now and {} accepted", quoted(&lost), quoted(&extra))),
        // A pattern added can only refuse more, one removed only accept more.
        Inclusion::Undecided(_) if o.is_none() => (Kind::PatternAdded, format!("pattern `{b}` added")),
        Inclusion::Undecided(_) if n.is_none() => (Kind::PatternRemoved, format!("pattern `{a}` removed")),
        Inclusion::Undecided(why) => (Kind::PatternUndecided, format!("{what}; the checker cannot compare them: {why}")),
    };
    push(out, kind, pp, detail);
}

/// A witness string as JSON writes it (so an empty or control character shows).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn numbers(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    bounds(o.lower, n.lower, true, ptr, out);
    bounds(o.upper, n.upper, false, ptr, out);
    let mp = format!("{ptr}/multipleOf");
    match (o.multiple_of, n.multiple_of) {
        (None, Some(b)) => push(out, Kind::MultipleOfAdded, mp, format!("multipleOf {b} added")),
        (Some(a), None) => push(out, Kind::MultipleOfRemoved, mp, format!("multipleOf {a} removed")),
        (Some(a), Some(b)) if a != b => {
            let detail = format!("multipleOf {a} became {b}");
            if divides(b, a) {
                push(out, Kind::MultipleOfRelaxed, mp, detail);
            } else if divides(a, b) {
                push(out, Kind::MultipleOfTightened, mp, detail);
            } else {
                push(out, Kind::MultipleOfChanged, mp, detail);
            }
        }
        _ => {}
    }
}

/// True when `m` is a whole multiple of `d`.
fn divides(d: f64, m: f64) -> bool {
    if d == 0.0 {
        return false;
    }
    let q = m / d;
    q.is_finite() && (q - q.round()).abs() < 1e-9
}

fn arrays(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    if o.items.is_some() || n.items.is_some() {
        let any = Node::any();
        let (oi, ni) = (o.items.as_deref().unwrap_or(&any), n.items.as_deref().unwrap_or(&any));
        walk(oi, ni, &format!("{ptr}/items"), out);
    }
    counts(o.min_items, n.min_items, true, &format!("{ptr}/minItems"), "minItems", out);
    counts(o.max_items, n.max_items, false, &format!("{ptr}/maxItems"), "maxItems", out);
    match (o.unique_items, n.unique_items) {
        (false, true) => push(out, Kind::UniqueItemsAdded, format!("{ptr}/uniqueItems"), "items must now be unique"),
        (true, false) => push(out, Kind::UniqueItemsRemoved, format!("{ptr}/uniqueItems"), "items may now repeat"),
        _ => {}
    }
}

fn objects(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    let prop_ptr = |k: &str| format!("{ptr}/properties/{}", escape_token(k));
    let keys: BTreeSet<&String> = o.properties.keys().chain(n.properties.keys()).chain(o.required.iter()).chain(n.required.iter()).collect();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for k in keys {
        match (o.properties.get(k), n.properties.get(k)) {
            (Some(a), Some(b)) => {
                required_flag(o, n, k, &prop_ptr(k), out);
                walk(a, b, &prop_ptr(k), out);
            }
            (None, Some(_)) => added.push(k),
            (Some(_), None) => removed.push(k),
            (None, None) => required_flag(o, n, k, &prop_ptr(k), out),
        }
    }
    if let ([a], [r]) = (added.as_slice(), removed.as_slice()) {
        if o.properties[*r] == n.properties[*a] && o.required.contains(*r) == n.required.contains(*a) {
            push(out, Kind::PropertyRenamed, prop_ptr(a), format!("property `{r}` was renamed to `{a}`"));
            (added, removed) = (Vec::new(), Vec::new());
        }
    }
    for k in added {
        let kind = if n.required.contains(k) {
            Kind::RequiredAdded
        } else if o.additional == Additional::Open {
            Kind::PropertyAddedToOpenObject
        } else {
            Kind::PropertyAdded
        };
        let what = if n.required.contains(k) { "required" } else { "optional" };
        push(out, kind, prop_ptr(k), format!("{what} property `{k}` added"));
        // What the old schema let this key hold, against what the new one declares.
        if let Additional::Schema(old_extra) = &o.additional {
            walk(old_extra, &n.properties[k], &prop_ptr(k), out);
        }
    }
    for k in removed {
        let open = n.additional != Additional::Closed;
        let kind = match (o.required.contains(k), open) {
            (true, false) => Kind::RequiredRemoved,
            (true, true) => Kind::RequiredRemovedFromOpenObject,
            (false, false) => Kind::PropertyRemoved,
            (false, true) => Kind::PropertyRemovedFromOpenObject,
        };
        let what = if o.required.contains(k) { "required" } else { "optional" };
        push(out, kind, prop_ptr(k), format!("{what} property `{k}` removed"));
        if let Additional::Schema(new_extra) = &n.additional {
            walk(&o.properties[k], new_extra, &prop_ptr(k), out);
        }
    }
    additional(o, n, ptr, out);
    counts(o.min_properties, n.min_properties, true, &format!("{ptr}/minProperties"), "minProperties", out);
    counts(o.max_properties, n.max_properties, false, &format!("{ptr}/maxProperties"), "maxProperties", out);
}

fn required_flag(o: &Node, n: &Node, k: &str, p: &str, out: &mut Vec<Change>) {
    match (o.required.contains(k), n.required.contains(k)) {
        (false, true) => push(out, Kind::BecameRequired, p, format!("property `{k}` became required")),
        (true, false) => push(out, Kind::BecameOptional, p, format!("property `{k}` became optional")),
        _ => {}
    }
}

fn additional(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    let ap = format!("{ptr}/additionalProperties");
    let any = Node::any();
    match (&o.additional, &n.additional) {
        (Additional::Closed, Additional::Closed) | (Additional::Open, Additional::Open) => {}
        (Additional::Closed, _) => push(out, Kind::AdditionalPropertiesOpened, ap, "other keys are now allowed"),
        (_, Additional::Closed) => push(out, Kind::AdditionalPropertiesClosed, ap, "other keys are no longer allowed"),
        (Additional::Open, Additional::Schema(b)) => walk(&any, b, &ap, out),
        (Additional::Schema(a), Additional::Open) => walk(a, &any, &ap, out),
        (Additional::Schema(a), Additional::Schema(b)) => walk(a, b, &ap, out),
    }
}

fn one_of(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    let op = format!("{ptr}/oneOf");
    let (ou, nu) = match (&o.one_of, &n.one_of) {
        (None, None) => return,
        (Some(ou), Some(nu)) => (ou, nu),
        (None, Some(_)) => return push(out, Kind::UnsupportedKeywordChanged, op, "a `oneOf` union was introduced"),
        (Some(_), None) => return push(out, Kind::UnsupportedKeywordChanged, op, "the `oneOf` union was dissolved"),
    };
    if ou.extensible != nu.extensible {
        push(out, Kind::ExtensibilityChanged, format!("{ptr}/x-extensible-union"), if nu.extensible { "the union became `x-extensible-union`" } else { "the union is no longer `x-extensible-union`" });
    }
    // Variants pair up by discriminator value, or else only when they are equal.
    let disc = discriminator(&ou.variants, &nu.variants);
    let tag = |v: &Node| disc.as_ref().and_then(|d| v.properties[d].values.as_ref()).map(first).unwrap_or_default();
    let pairs = |ov: &Node, nv: &Node| if disc.is_some() { tag(ov) == tag(nv) } else { ov == nv };
    let mut matched_old = vec![false; ou.variants.len()];
    for (i, nv) in nu.variants.iter().enumerate() {
        let vp = format!("{op}/{i}");
        match ou.variants.iter().enumerate().find(|(j, ov)| !matched_old[*j] && pairs(ov, nv)) {
            Some((j, ov)) => {
                matched_old[j] = true;
                walk(ov, nv, &vp, out);
            }
            None => {
                let (kind, detail) = match (&disc, ou.extensible) {
                    (Some(_), true) => (Kind::ExtensibleOneOfVariantAdded, format!("variant {} added", tag(nv))),
                    (Some(_), false) => (Kind::OneOfVariantAdded, format!("variant {} added", tag(nv))),
                    (None, _) => (Kind::OneOfOverlappingVariantAdded, format!("variant {i} added")),
                };
                push(out, kind, vp, detail);
            }
        }
    }
    for (j, ov) in ou.variants.iter().enumerate().filter(|(j, _)| !matched_old[*j]) {
        let (kind, detail) = match &disc {
            Some(_) => (Kind::OneOfVariantRemoved, format!("variant {} removed", tag(ov))),
            None => (Kind::OneOfOverlappingVariantRemoved, format!("old variant {j} removed")),
        };
        push(out, kind, &op, detail);
    }
}

/// A property every variant (old and new) requires with one non-null value, distinct
/// within each side, in variants that only admit objects: then at most one variant can
/// match any value.
fn discriminator(old: &[Node], new: &[Node]) -> Option<String> {
    let first_variant = old.first().or(new.first())?;
    let objects_only = |v: &Node| !v.nullable && v.types.as_ref().is_some_and(|ts| ts.len() == 1 && ts.contains(&JsonType::Object));
    if !old.iter().chain(new).all(objects_only) {
        return None;
    }
    first_variant.properties.keys().find(|d| {
        [old, new].iter().all(|side| {
            let mut seen = BTreeSet::new();
            side.iter().all(|v| {
                let tag = v.properties.get(*d).filter(|p| v.required.contains(*d) && !p.nullable).and_then(|p| p.values.as_ref()).filter(|vals| vals.len() == 1);
                tag.is_some_and(|vals| seen.insert(first(vals)))
            })
        })
    }).cloned()
}

fn all_of(o: &Node, n: &Node, ptr: &str, out: &mut Vec<Change>) {
    let ap = format!("{ptr}/allOf");
    let mut matched_old = vec![false; o.all_of.len()];
    for (i, m) in n.all_of.iter().enumerate() {
        match o.all_of.iter().enumerate().position(|(j, om)| !matched_old[j] && om == m) {
            Some(j) => matched_old[j] = true,
            None => push(out, Kind::AllOfMemberAdded, format!("{ap}/{i}"), format!("member {i} added")),
        }
    }
    for (j, _) in o.all_of.iter().enumerate().filter(|(j, _)| !matched_old[*j]) {
        push(out, Kind::AllOfMemberRemoved, &ap, format!("old member {j} removed"));
    }
}

/// Compares two length/count bounds (`minLength`, `maxItems`, ...).
fn counts(o: Option<u64>, n: Option<u64>, lower: bool, p: &str, keyword: &str, out: &mut Vec<Change>) {
    match (o, n) {
        (None, Some(b)) => push(out, Kind::BoundAdded, p, format!("`{keyword}: {b}` added")),
        (Some(a), None) => push(out, Kind::BoundRemoved, p, format!("`{keyword}: {a}` removed")),
        (Some(a), Some(b)) if a != b => {
            let kind = match (lower, b > a) {
                (true, true) => Kind::MinIncreased,
                (true, false) => Kind::MinDecreased,
                (false, true) => Kind::MaxIncreased,
                (false, false) => Kind::MaxDecreased,
            };
            push(out, kind, p, format!("`{keyword}` {a} became {b}"));
        }
        _ => {}
    }
}

fn bounds(o: Option<Bound>, n: Option<Bound>, lower: bool, ptr: &str, out: &mut Vec<Change>) {
    let keyword = |b: &Bound| match (lower, b.exclusive) {
        (true, false) => "minimum",
        (true, true) => "exclusiveMinimum",
        (false, false) => "maximum",
        (false, true) => "exclusiveMaximum",
    };
    let show = |b: &Bound| format!("`{}: {}`", keyword(b), b.value);
    match (o, n) {
        (None, Some(b)) => push(out, Kind::BoundAdded, format!("{ptr}/{}", keyword(&b)), format!("{} added", show(&b))),
        (Some(a), None) => push(out, Kind::BoundRemoved, format!("{ptr}/{}", keyword(&a)), format!("{} removed", show(&a))),
        (Some(a), Some(b)) if a != b => {
            let tightened = bound_tighter(&b, &a, lower);
            let kind = match (lower, tightened) {
                (true, true) => Kind::MinIncreased,
                (true, false) => Kind::MinDecreased,
                (false, true) => Kind::MaxDecreased,
                (false, false) => Kind::MaxIncreased,
            };
            push(out, kind, format!("{ptr}/{}", keyword(&b)), format!("{} became {}", show(&a), show(&b)));
        }
        _ => {}
    }
}

fn first(set: &BTreeSet<String>) -> String {
    set.iter().next().cloned().unwrap_or_default()
}

fn list(set: &BTreeSet<String>) -> String {
    format!("[{}]", set.iter().cloned().collect::<Vec<_>>().join(", "))
}

fn types(set: &BTreeSet<JsonType>) -> String {
    if set.is_empty() {
        return "null only".into();
    }
    set.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" | ")
}
