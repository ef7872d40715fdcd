//! The isolation table, driven by `cableway::channels::REGISTRY`: no channel is named here.
//!
//! Every channel whose authorization rule involves an account (`owns`, `same`, or
//! `claims.account_id`) is covered. From its params schema the test builds param sets
//! (required params; one set per value of an enum param; optional params absent and
//! present), names every resource of a set after the set, and then, against the real binary:
//!
//! - **isolation**: every resource belongs to `acc-b` and every account param is `acc-b`;
//!   a user of `acc-a` without permissions is rejected (`reject_subscription`);
//! - **owner control**: with exactly those params and facts, a principal of `acc-b` is
//!   confirmed, and an event of the channel published to the set's stream reaches it, while
//!   nothing ever reaches any `acc-a` connection;
//! - **positive control**: the same resource ids, now owned by `acc-a`, and account params
//!   `acc-a`: the user of `acc-a` is confirmed (given the permission or the worker kind the
//!   rule asks for, read from the rule);
//! - **mixed**: where a set names several account-bound pieces, each piece in turn belongs
//!   to `acc-b` and the rest to `acc-a`; the outcome must be what the rule says.
//!
//! Expected outcomes come from a small evaluator of the rule JSON (`rule` of the descriptor),
//! independent of the server's generated code. The table is printed (`--nocapture`).
//!
//! `no_spelling_of_an_id_reaches_another_account` is the property test of ids as clients
//! spell them (numbers, strings, odd forms, look-alikes, undeclared keys): see its section.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use cableway::channels::{ChannelDescriptor, Claims, REGISTRY};
use cableway::codegen_support::{is_key_safe, EventDescriptor, TemplatePart};
use cableway_tests::client::{identifier, Client};
use cableway_tests::schema_strategy;
use cableway_tests::server::{claims, Server};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};

const ACC_A: &str = "acc-a";
const ACC_B: &str = "acc-b";

// ---------------------------------------------------------------------------------------
// The rule, as the descriptor carries it, and an evaluator independent of the server's.

#[derive(Debug, Clone)]
enum Rule {
    Const(bool),
    Principal(String),
    Permission(String),
    Same(String, String),
    ParamIs(Vec<(String, Value)>),
    Present(String),
    Absent(String),
    Owns { resource: String, id: String },
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
}

fn parse_rule(v: &Value) -> Rule {
    let obj = v.as_object().unwrap_or_else(|| panic!("a rule is an object: {v}"));
    assert_eq!(obj.len(), 1, "one form per rule node: {v}");
    let (k, arg) = obj.iter().next().unwrap();
    let text = |a: &Value| a.as_str().unwrap_or_else(|| panic!("`{k}` takes a string: {v}")).to_owned();
    match k.as_str() {
        "authenticated" => Rule::Const(arg.as_bool().unwrap_or_else(|| panic!("{v}"))),
        "principal" => Rule::Principal(text(arg)),
        "permission" => Rule::Permission(text(arg)),
        "same" => {
            let ops = arg.as_array().unwrap_or_else(|| panic!("{v}"));
            assert_eq!(ops.len(), 2, "`same` compares two operands: {v}");
            Rule::Same(text(&ops[0]), text(&ops[1]))
        }
        "param_is" => Rule::ParamIs(arg.as_object().unwrap_or_else(|| panic!("{v}")).iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        "present" => Rule::Present(param_name(&text(arg))),
        "absent" => Rule::Absent(param_name(&text(arg))),
        "owns" => Rule::Owns { resource: text(&arg["resource"]), id: param_name(&text(&arg["id"])) },
        "all" => Rule::All(arg.as_array().unwrap_or_else(|| panic!("{v}")).iter().map(parse_rule).collect()),
        "any" => Rule::Any(arg.as_array().unwrap_or_else(|| panic!("{v}")).iter().map(parse_rule).collect()),
        "not" => Rule::Not(Box::new(parse_rule(arg))),
        other => panic!("rule form `{other}` is unknown to the isolation test; teach its evaluator: {v}"),
    }
}

fn param_name(operand: &str) -> String {
    operand.strip_prefix("params.").unwrap_or_else(|| panic!("expected params.<name>, got {operand}")).to_owned()
}

/// The text a value has in keys and comparisons (strings, integers), as the server's `KeyPart`.
fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Principal {
    account: &'static str,
    kind: &'static str,
    permissions: Vec<String>,
}

impl Principal {
    fn user(account: &'static str) -> Self {
        Principal { account, kind: "user", permissions: Vec::new() }
    }

    fn claims(&self) -> Value {
        let perms: Vec<&str> = self.permissions.iter().map(String::as_str).collect();
        claims(&format!("{}-{}", self.kind, self.account), self.account, &perms, self.kind, 3600)
    }

    fn describe(&self) -> String {
        let mut s = format!("{} of {}", self.kind, self.account);
        if !self.permissions.is_empty() {
            let _ = write!(s, " +{}", self.permissions.join(","));
        }
        s
    }
}

type Facts = BTreeMap<(String, String), &'static str>;

fn operand(name: &str, params: &Value, claims: &Value) -> Option<String> {
    if let Some(p) = name.strip_prefix("params.") {
        params.get(p).and_then(key_text)
    } else if let Some(c) = name.strip_prefix("claims.") {
        claims.get(c).and_then(key_text)
    } else {
        panic!("operand {name} is neither params.<x> nor claims.<x>")
    }
}

/// The resource kind an `owns` names for these params: a literal, or the value of `params.<enum>`.
fn owns_kind(resource: &str, params: &Value) -> Option<String> {
    match resource.strip_prefix("params.") {
        Some(p) => params.get(p).and_then(key_text),
        None => Some(resource.to_owned()),
    }
}

fn eval(rule: &Rule, params: &Value, who: &Principal, facts: &Facts) -> bool {
    let claims = who.claims();
    match rule {
        Rule::Const(b) => *b,
        Rule::Principal(k) => who.kind == k,
        Rule::Permission(p) => who.permissions.contains(p),
        Rule::Same(a, b) => matches!((operand(a, params, &claims), operand(b, params, &claims)), (Some(x), Some(y)) if x == y),
        Rule::ParamIs(pairs) => pairs.iter().all(|(k, v)| params.get(k) == Some(v)),
        Rule::Present(p) => params.get(p).is_some(),
        Rule::Absent(p) => params.get(p).is_none(),
        Rule::Owns { resource, id } => match (owns_kind(resource, params), params.get(id).and_then(key_text)) {
            (Some(kind), Some(id)) => facts.get(&(kind, id)).is_some_and(|owner| *owner == who.account),
            _ => false,
        },
        Rule::All(rs) => rs.iter().all(|r| eval(r, params, who, facts)),
        Rule::Any(rs) => rs.iter().any(|r| eval(r, params, who, facts)),
        Rule::Not(r) => !eval(r, params, who, facts),
    }
}

/// The rule with everything that depends only on which params are sent (and enum values)
/// folded to constants: what is left is what the principal and the ownership facts decide.
fn simplify(rule: &Rule, params: &Value) -> Rule {
    match rule {
        Rule::ParamIs(pairs) => Rule::Const(pairs.iter().all(|(k, v)| params.get(k) == Some(v))),
        Rule::Present(p) => Rule::Const(params.get(p).is_some()),
        Rule::Absent(p) => Rule::Const(params.get(p).is_none()),
        Rule::All(rs) => {
            let rs: Vec<Rule> = rs.iter().map(|r| simplify(r, params)).filter(|r| !matches!(r, Rule::Const(true))).collect();
            if rs.iter().any(|r| matches!(r, Rule::Const(false))) {
                Rule::Const(false)
            } else if rs.is_empty() {
                Rule::Const(true)
            } else {
                Rule::All(rs)
            }
        }
        Rule::Any(rs) => {
            let rs: Vec<Rule> = rs.iter().map(|r| simplify(r, params)).filter(|r| !matches!(r, Rule::Const(false))).collect();
            if rs.iter().any(|r| matches!(r, Rule::Const(true))) {
                Rule::Const(true)
            } else if rs.is_empty() {
                Rule::Const(false)
            } else {
                Rule::Any(rs)
            }
        }
        Rule::Not(r) => match simplify(r, params) {
            Rule::Const(b) => Rule::Const(!b),
            r => Rule::Not(Box::new(r)),
        },
        other => other.clone(),
    }
}

/// Walks every node.
fn visit<'r>(rule: &'r Rule, f: &mut dyn FnMut(&'r Rule)) {
    f(rule);
    match rule {
        Rule::All(rs) | Rule::Any(rs) => rs.iter().for_each(|r| visit(r, f)),
        Rule::Not(r) => visit(r, f),
        _ => {}
    }
}

/// Params compared with `claims.account_id`: they hold an account id.
fn account_params(rule: &Rule) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    visit(rule, &mut |r| {
        if let Rule::Same(a, b) = r {
            for (x, y) in [(a, b), (b, a)] {
                if y == "claims.account_id" {
                    if let Some(p) = x.strip_prefix("params.") {
                        out.insert(p.to_owned());
                    }
                }
            }
        }
    });
    out
}

/// `(kind, id param)` of every `owns` whose kind resolves for these params.
fn owned_resources(rule: &Rule, params: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    visit(rule, &mut |r| {
        if let Rule::Owns { resource, id } = r {
            if let (Some(kind), true) = (owns_kind(resource, params), params.get(id).is_some()) {
                if !out.contains(&(kind.clone(), id.clone())) {
                    out.push((kind, id.clone()));
                }
            }
        }
    });
    out
}

fn permissions_named(rule: &Rule) -> Vec<String> {
    let mut out = Vec::new();
    visit(rule, &mut |r| {
        if let Rule::Permission(p) = r {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
    });
    out
}

/// The least-privileged principal of `account` the rule allows with these params and facts:
/// a user without permissions, else with the permissions the rule names, else a worker.
fn minimal_principal(rule: &Rule, params: &Value, facts: &Facts, account: &'static str) -> Option<Principal> {
    let perms = permissions_named(rule);
    let mut candidates = vec![Principal::user(account)];
    for p in &perms {
        candidates.push(Principal { account, kind: "user", permissions: vec![p.clone()] });
    }
    candidates.push(Principal { account, kind: "user", permissions: perms.clone() });
    candidates.push(Principal { account, kind: "worker", permissions: Vec::new() });
    candidates.push(Principal { account, kind: "worker", permissions: perms });
    candidates.into_iter().find(|p| eval(rule, params, p, facts))
}

// ---------------------------------------------------------------------------------------
// Param sets from the params schema.

fn deref<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        node = schema_strategy::resolve_ref(root, r);
    }
    node
}

/// One param set before values are chosen: enum params fixed, the rest named.
#[derive(Debug, Clone)]
struct ParamSet {
    fixed: Map<String, Value>,
    free: Vec<String>,
}

fn param_sets(schema: &Value) -> Vec<ParamSet> {
    let props = schema["properties"].as_object().cloned().unwrap_or_default();
    let required: BTreeSet<String> = schema["required"].as_array().map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    let optional: Vec<&String> = props.keys().filter(|k| !required.contains(*k)).collect();
    assert!(optional.len() <= 4, "too many optional params to combine: {optional:?}");
    let mut sets = Vec::new();
    for mask in 0..(1u32 << optional.len()) {
        let included: Vec<&String> = props.keys().filter(|k| required.contains(*k) || optional.iter().position(|o| o == k).is_some_and(|i| mask & (1 << i) != 0)).collect();
        let mut partial = vec![ParamSet { fixed: Map::new(), free: Vec::new() }];
        for name in included {
            let node = deref(schema, &props[name]);
            match node.get("enum").and_then(Value::as_array).map(Vec::as_slice).or_else(|| node.get("const").map(std::slice::from_ref)) {
                Some(values) => {
                    partial = partial
                        .into_iter()
                        .flat_map(|set| {
                            values.iter().map(move |v| {
                                let mut s = set.clone();
                                s.fixed.insert(name.clone(), v.clone());
                                s
                            })
                        })
                        .collect();
                }
                None => partial.iter_mut().for_each(|s| s.free.push(name.clone())),
            }
        }
        sets.extend(partial);
    }
    sets
}

/// A value for a free param: the account for account params, else a resource id named after
/// the set; whatever the param's schema accepts.
fn param_value(schema: &Value, name: &str, account_role: bool, account: &str, set_no: usize) -> Value {
    let node = deref(schema, &schema["properties"][name]);
    let candidate = if account_role {
        json!(account)
    } else if node["type"] == "integer" {
        json!(node["minimum"].as_i64().unwrap_or(1) + set_no as i64)
    } else if node["format"] == "uuid" {
        json!(format!("00000000-0000-4000-8000-{:012}", set_no))
    } else {
        json!(format!("res-{set_no}-{}", name.replace('_', "-")))
    };
    let mut sub = node.clone();
    if let Some(defs) = schema.get("$defs") {
        sub["$defs"] = defs.clone();
    }
    let v = jsonschema::options().should_validate_formats(true).build(&sub).expect("param schema compiles");
    assert!(v.is_valid(&candidate), "param `{name}`: the isolation test's value {candidate} does not fit its schema {node}; extend param_value");
    candidate
}

// ---------------------------------------------------------------------------------------
// Events aimed at a stream.

/// Matches a stream key against a fan-out template: the payload fields it fixes.
fn match_template(parts: &[TemplatePart], key: &str) -> Option<Vec<(&'static str, String)>> {
    match parts.split_first() {
        None => key.is_empty().then(Vec::new),
        Some((TemplatePart::Lit(l), rest)) => key.strip_prefix(l).and_then(|k| match_template(rest, k)),
        Some((TemplatePart::Field(p), rest)) => {
            for end in 1..=key.len() {
                let (v, tail) = key.split_at(end);
                if !is_key_safe(v) {
                    break;
                }
                if let Some(mut m) = match_template(rest, tail) {
                    if m.iter().any(|(q, w)| q == p && w != v) {
                        continue;
                    }
                    m.insert(0, (*p, v.to_owned()));
                    return Some(m);
                }
            }
            None
        }
    }
}

fn set_pointer(doc: &mut Value, pointer: &str, v: Value) {
    let mut target = doc;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !target.is_object() {
            *target = json!({});
        }
        target = target.as_object_mut().unwrap().entry(token).or_insert(Value::Null);
    }
    *target = v;
}

/// A valid payload of `ev` that the event fans out to `key`, with any ownership fact it
/// carries pointing at `owner`; `None` when no such payload can be built generically.
fn payload_for(ev: &EventDescriptor, key: &str, owner: &str) -> Option<Value> {
    let schema: Value = serde_json::from_str(ev.payload_schema).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let strategy = schema_strategy::strategy(&schema);
    let mut runner = TestRunner::deterministic();
    for t in ev.publish_to {
        let Some(mut assigns) = match_template(t.parts, key) else { continue };
        if let Some(o) = ev.owner {
            match assigns.iter().find(|(p, _)| *p == o.account) {
                Some((_, v)) if v != owner => continue,
                Some(_) => {}
                None => assigns.push((o.account, owner.to_owned())),
            }
        }
        for _ in 0..40 {
            let mut payload = strategy.new_tree(&mut runner).expect("a payload").current();
            for (p, v) in &assigns {
                let typed = match payload.pointer(p) {
                    Some(Value::Number(_)) => v.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(v)),
                    _ => json!(v),
                };
                set_pointer(&mut payload, p, typed);
            }
            if validator.is_valid(&payload) && ev.publish_to.iter().all(|t| t.render(&payload).is_ok()) {
                return Some(payload);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// The table.

struct Row {
    channel: &'static str,
    case: String,
    params: String,
    principal: String,
    expected: &'static str,
    got: String,
}

fn outcome(frame: &Value) -> String {
    match frame["type"].as_str() {
        Some("confirm_subscription") => "confirm".into(),
        Some("reject_subscription") => format!("reject ({})", frame["reason"].as_str().unwrap_or("?")),
        _ => format!("?? {frame}"),
    }
}

fn matches(expected: &str, got: &str) -> bool {
    got == expected || (expected == "reject" && got.starts_with("reject"))
}

fn print_table(rows: &[Row]) {
    let w = |f: &dyn Fn(&Row) -> usize, h: &str| rows.iter().map(f).max().unwrap_or(0).max(h.len());
    let (wc, wk, wp, wr, we) = (w(&|r| r.channel.len(), "channel"), w(&|r| r.case.len(), "case"), w(&|r| r.params.len(), "params"), w(&|r| r.principal.len(), "principal"), w(&|r| r.expected.len(), "expected"));
    let mut out = String::new();
    let _ = writeln!(out, "{:wc$}  {:wk$}  {:wp$}  {:wr$}  {:we$}  got", "channel", "case", "params", "principal", "expected");
    for r in rows {
        let mark = if matches(r.expected, &r.got) { "" } else { "   <-- MISMATCH" };
        let _ = writeln!(out, "{:wc$}  {:wk$}  {:wp$}  {:wr$}  {:we$}  {}{mark}", r.channel, r.case, r.params, r.principal, r.expected, r.got);
    }
    println!("\nISOLATION TABLE ({} rows)\n{out}", rows.len());
}

fn is_account_bound(c: &ChannelDescriptor) -> bool {
    c.rule.contains("\"owns\"") || c.rule.contains("\"same\"") || c.rule.contains("claims.account_id") || c.rule.contains("account_id")
}

struct Ctx<'a> {
    s: &'a Server,
    rows: Vec<Row>,
    /// Connections of `acc-a` that must never see anything published here.
    watchers: Vec<(String, Client)>,
    /// Payloads published to `acc-b`'s resources.
    published: Vec<Value>,
}

impl Ctx<'_> {
    /// Records `facts`, subscribes `who` with `params` on a fresh connection, adds a row.
    async fn attempt(&mut self, c: &'static ChannelDescriptor, case: &str, params: &Value, who: &Principal, facts: &Facts, expected: &'static str) -> (Client, String, String) {
        for ((kind, id), account) in facts {
            self.s.own(kind, id, account).await;
        }
        let token = self.s.sign(&who.claims());
        let mut client = Client::connect_welcomed(&self.s.cable_url(Some(&token))).await;
        let ident = identifier(c.name, params);
        let got = outcome(&client.subscribe(&ident).await);
        let owners: BTreeSet<&str> = facts.values().copied().collect();
        let owned = if facts.is_empty() { String::new() } else { format!(" [resources of {}]", owners.into_iter().collect::<Vec<_>>().join("+")) };
        self.rows.push(Row { channel: c.name, case: case.to_owned(), params: format!("{}{owned}", Value::Object(params.as_object().unwrap().clone())), principal: who.describe(), expected, got: got.clone() });
        (client, ident, got)
    }
}

#[tokio::test]
async fn isolation_table() {
    let s = Server::start();
    let mut ctx = Ctx { s: &s, rows: Vec::new(), watchers: Vec::new(), published: Vec::new() };
    let mut covered = Vec::new();
    let mut publishes = 0;
    let mut set_no = 0;

    for &c in REGISTRY.iter().filter(|c| is_account_bound(c)) {
        covered.push(c.name);
        let rule = parse_rule(&serde_json::from_str(c.rule).expect("rule JSON"));
        let schema: Value = serde_json::from_str(c.params_schema).expect("params schema JSON");
        let mut confirmed_for_a = 0;
        for set in param_sets(&schema) {
            set_no += 1;
            // Which free params hold accounts depends on the branch the fixed params select.
            let mut shape = Value::Object(set.fixed.clone());
            for name in &set.free {
                shape[name] = json!("x");
            }
            let live = simplify(&rule, &shape);
            let accounts = account_params(&live);
            let build = |account: &'static str| {
                let mut p = set.fixed.clone();
                for name in &set.free {
                    p.insert(name.clone(), param_value(&schema, name, accounts.contains(name), account, set_no));
                }
                Value::Object(p)
            };
            // Every resource the set names in the branch its fixed params select.
            let facts_for = |params: &Value, owner_of: &dyn Fn(usize) -> &'static str| -> Facts {
                owned_resources(&live, params).into_iter().enumerate().map(|(i, (kind, id))| ((kind, key_text(&params[&id]).unwrap()), owner_of(i))).collect()
            };

            // 1. Isolation: everything is acc-b's; acc-a without permissions is rejected.
            let params_b = build(ACC_B);
            let facts_b = facts_for(&params_b, &|_| ACC_B);
            let a_plain = Principal::user(ACC_A);
            assert!(!eval(&rule, &params_b, &a_plain, &facts_b), "{}: the rule itself lets a user of {ACC_A} into {params_b} owned by {ACC_B}: {}", c.name, c.rule);
            let (client, _, _) = ctx.attempt(c, "isolation", &params_b, &a_plain, &facts_b, "reject").await;
            ctx.watchers.push((format!("{} {params_b}", c.name), client));

            // 2. Owner control: the same params and facts let a principal of acc-b in, and
            //    an event of the channel reaches it (and no acc-a connection).
            let Some(b_who) = minimal_principal(&rule, &params_b, &facts_b, ACC_B) else {
                ctx.rows.push(Row { channel: c.name, case: "no control: the rule allows nobody these params".into(), params: params_b.to_string(), principal: "-".into(), expected: "-", got: "-".into() });
                continue;
            };
            let (mut b_client, b_ident, got) = ctx.attempt(c, "owner control", &params_b, &b_who, &facts_b, "confirm").await;
            if got == "confirm" {
                let claims: Claims = serde_json::from_value(b_who.claims()).expect("claims");
                let keys = (c.stream_keys)(&params_b, &claims).expect("stream keys of a confirmed subscription");
                let built = keys.iter().find_map(|k| c.events.iter().find_map(|ev| payload_for(ev, k, ACC_B).map(|p| (k, ev, p))));
                let got = match built {
                    None => "no generic payload; rejection only".to_owned(),
                    Some((key, ev, payload)) => {
                        let (status, body) = s.publish(&json!({ "channel": c.name, "event": ev.name, "payload": payload })).await;
                        assert_eq!(status, 200, "{} {}: {body}", c.name, ev.name);
                        assert!(body["streams"].as_array().is_some_and(|s| s.contains(&json!(key))), "{} {} reaches {key}: {body}", c.name, ev.name);
                        ctx.published.push(payload.clone());
                        publishes += 1;
                        let mut delivered = false;
                        while let Some(m) = b_client.message(&b_ident).await {
                            if m["event"] == ev.name && m["payload"] == payload {
                                delivered = true;
                                break;
                            }
                        }
                        if delivered { format!("delivered to {ACC_B}'s subscriber") } else { format!("NOT delivered to {ACC_B}'s subscriber") }
                    }
                };
                let expected = if got.starts_with("no generic") { "no generic payload; rejection only" } else { "delivered to acc-b's subscriber" };
                ctx.rows.push(Row { channel: c.name, case: "publish to the set's stream".into(), params: params_b.to_string(), principal: b_who.describe(), expected, got });
            }
            b_client.close().await;

            // 3. Positive control: the same resource ids owned by acc-a, account params acc-a.
            let params_a = build(ACC_A);
            let facts_a = facts_for(&params_a, &|_| ACC_A);
            let a_who = minimal_principal(&rule, &params_a, &facts_a, ACC_A).expect("symmetric to the owner control");
            let (client, _, got) = ctx.attempt(c, "positive control", &params_a, &a_who, &facts_a, "confirm").await;
            if got == "confirm" {
                confirmed_for_a += 1;
            }
            // A permission may legitimately reach beyond the account (admin streams): only
            // plain users watch for leaks.
            if a_who == Principal::user(ACC_A) {
                ctx.watchers.push((format!("{} {params_a} (positive)", c.name), client));
            }

            // 4. Mixed: each account-bound piece in turn belongs to acc-b, the rest to acc-a.
            let free_accounts: Vec<&String> = set.free.iter().filter(|n| accounts.contains(*n)).collect();
            let n_resources = facts_a.len();
            let pieces = free_accounts.len() + n_resources;
            if pieces >= 2 {
                for piece in 0..pieces {
                    let mut p = params_a.as_object().unwrap().clone();
                    if piece < free_accounts.len() {
                        p.insert(free_accounts[piece].clone(), json!(ACC_B));
                    }
                    let params = Value::Object(p);
                    let r = piece.checked_sub(free_accounts.len());
                    let facts = facts_for(&params, &|i| if Some(i) == r { ACC_B } else { ACC_A });
                    let expected = if eval(&rule, &params, &a_who, &facts) { "confirm" } else { "reject" };
                    let what = if piece < free_accounts.len() { format!("mixed: {} is {ACC_B}", free_accounts[piece]) } else { format!("mixed: resource #{} is {ACC_B}'s", r.unwrap()) };
                    let (client, _, _) = ctx.attempt(c, &what, &params, &a_who, &facts, expected).await;
                    client.close().await;
                }
            }
        }
        assert!(confirmed_for_a > 0, "{}: no param set could be shown to allow anyone; the rule or this test is wrong: {}", c.name, c.rule);
    }

    // Nothing published to acc-b's resources ever reached a connection of acc-a (rejected
    // ones, and confirmed ones on acc-a's own resources). On-subscribe messages are theirs.
    let drains = ctx.watchers.iter_mut().map(|(label, client)| async move {
        let mut seen = Vec::new();
        while let Some(f) = client.recv_within(Duration::from_millis(300)).await {
            seen.push(f);
        }
        (label.clone(), seen)
    });
    let mut leaks = Vec::new();
    for (label, frames) in futures_util::future::join_all(drains).await {
        for f in frames {
            if f["message"].get("payload").is_some_and(|p| ctx.published.contains(p)) {
                leaks.push(format!("{label}: {f}"));
            }
        }
    }

    print_table(&ctx.rows);
    println!("channels covered ({}): {}", covered.len(), covered.join(", "));
    println!("events published to the sets' streams: {publishes}; {ACC_A} connections watched: {}; leaks: {}", ctx.watchers.len(), leaks.len());

    assert!(!covered.is_empty(), "no account-bound channel in the registry");
    let mismatches: Vec<String> = ctx.rows.iter().filter(|r| !matches(r.expected, &r.got)).map(|r| format!("{} {} {} as {}: expected {}, got {}", r.channel, r.case, r.params, r.principal, r.expected, r.got)).collect();
    assert!(mismatches.is_empty(), "isolation table mismatches:\n{}", mismatches.join("\n"));
    assert!(leaks.is_empty(), "events of {ACC_B} reached {ACC_A}:\n{}", leaks.join("\n"));
    assert!(publishes > 0, "no event could be published at all");
}

// ---------------------------------------------------------------------------------------
// Ids as clients spell them (reliability Z2/Z3): no spelling reaches another account.
//
// Two principals, of accounts `1001` and `1002`, try every spelling (`id_spellings`) of ids
// that look alike (`id_families`: `7`, `07`, `007`; `ab`, `AB`; a UUID and its upper case),
// each id owned by one of the two, on a channel ruled by ownership (AiConversationChannel)
// and on one ruled by the account claim (NotificationChannel); some identifiers also carry
// undeclared keys naming the other account and id. What each must answer comes from the
// documented contract, worked out here without the server's code: the identifier must be
// JSON; a JSON integer from 0 to 2^53 − 1 stands for its decimal text, any other value for
// itself; the params schema must accept the result; then the rule decides; and a spelling
// of a subscription the connection already holds is refused (`duplicate_subscription`). After one
// message per id (and one notification per account) is published, every connection must
// have received exactly the events of the ids it was confirmed for: 0 cross-account
// deliveries, 0 missing.

const NUM_A: &str = "1001";
const NUM_B: &str = "1002";
/// Batches of id families; with the spellings, about 10,000 identifiers in all.
const ID_BATCHES: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Confirm(String),
    Reject(&'static str),
}

/// What the server must answer to `raw` on `channel` (param `param`), for a principal of
/// `account`, with `owners` (id → account) as the registry.
fn expected(channel: &ChannelDescriptor, param: &str, raw: &str, account: &str, owners: &BTreeMap<String, &'static str>, rule_is_ownership: bool) -> Answer {
    let Ok(Value::Object(mut id)) = serde_json::from_str::<Value>(raw) else { return Answer::Reject("invalid_identifier") };
    id.remove("channel");
    let canonical = match id.remove(param) {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v < (1 << 53) => Value::String(v.to_string()),
            _ => Value::Number(n),
        },
        Some(other) => other,
        None => Value::Null,
    };
    // Both channels ignore undeclared keys: only the param is validated.
    let schema: Value = serde_json::from_str(channel.params_schema).unwrap();
    let valid = jsonschema::options().should_validate_formats(true).build(&schema).unwrap().is_valid(&json!({ param: canonical }));
    let Value::String(text) = canonical else { return Answer::Reject("invalid_params") };
    if !valid {
        return Answer::Reject("invalid_params");
    }
    let allowed = if rule_is_ownership { owners.get(&text).is_some_and(|o| *o == account) } else { text == account };
    if allowed {
        Answer::Confirm(text)
    } else {
        Answer::Reject("forbidden")
    }
}

fn raw_identifier(channel: &str, param: &str, spelling: &str, extra: Option<(&str, &str)>) -> String {
    let extra = extra.map(|(other_account, other_id)| format!(r#","account_id":"{other_account}","conversation":"{other_id}","stream":"ai_conversation:{other_id}""#)).unwrap_or_default();
    format!(r#"{{"channel":"{channel}","{param}":{spelling}{extra}}}"#)
}

/// One batch: every spelling of every id of `families` by both principals, then the
/// publishes; an error names the first wrong answer, or every cross-account delivery.
async fn spell_batch(s: &Server, families: &[Vec<String>], owners: &mut BTreeMap<String, &'static str>, round: u32) -> Result<Spelled, String> {
    let conversation = cableway::channels::find("AiConversationChannel").expect("AiConversationChannel");
    let notification = cableway::channels::find("NotificationChannel").expect("NotificationChannel");
    // Owners alternate within a family, so look-alikes belong to different accounts.
    let mut ids = Vec::new();
    for family in families {
        for (i, id) in family.iter().enumerate() {
            let owner = *owners.entry(id.clone()).or_insert(if (i + round as usize).is_multiple_of(2) { NUM_A } else { NUM_B });
            s.own("ai_conversation", id, owner).await;
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    let mut tried = 0;
    let mut confirmed: Vec<(&'static str, String, String)> = Vec::new(); // (account, identifier, canonical id)
    let mut duplicates_by_number = 0;
    let mut clients = Vec::new();
    for account in [NUM_A, NUM_B] {
        let mut c = s.user(&format!("u{account}"), account).await;
        let mut sent = std::collections::HashSet::new();
        let mut held = std::collections::HashSet::new();
        let mut attempts: Vec<(&ChannelDescriptor, &str, String, bool)> = Vec::new();
        for id in &ids {
            for (k, spelling) in schema_strategy::id_spellings(id).into_iter().enumerate() {
                let other = if account == NUM_A { NUM_B } else { NUM_A };
                let extra = (k < 2).then_some((other, id.as_str()));
                attempts.push((conversation, "conversation_id", raw_identifier(conversation.name, "conversation_id", &spelling, None), true));
                if let Some(extra) = extra {
                    attempts.push((conversation, "conversation_id", raw_identifier(conversation.name, "conversation_id", &spelling, Some(extra)), true));
                }
            }
        }
        for acc in [NUM_A, NUM_B] {
            for spelling in schema_strategy::id_spellings(acc) {
                attempts.push((notification, "account_id", raw_identifier(notification.name, "account_id", &spelling, None), false));
            }
        }
        for (channel, param, raw, ownership) in attempts {
            if !sent.insert(raw.clone()) {
                continue;
            }
            tried += 1;
            let want = match expected(channel, param, &raw, account, owners, ownership) {
                Answer::Confirm(id) if held.contains(&(channel.name, id.clone())) => Answer::Reject("duplicate_subscription"),
                other => other,
            };
            let frame = c.subscribe(&raw).await;
            let got = match frame["type"].as_str() {
                Some("confirm_subscription") => "confirm".to_owned(),
                _ => format!("reject {}", frame["reason"].as_str().unwrap_or("?")),
            };
            match &want {
                Answer::Confirm(id) if got == "confirm" => {
                    held.insert((channel.name, id.clone()));
                    confirmed.push((account, raw.clone(), id.clone()));
                }
                Answer::Reject(reason) if got == format!("reject {reason}") => {
                    // A number read as the id of a held subscription is a duplicate of it.
                    if *reason == "duplicate_subscription" && sent_as_number(&raw) {
                        duplicates_by_number += 1;
                    }
                }
                _ => return Err(format!("account {account}: {raw}: expected {want:?}, got {got}")),
            }
            if frame["identifier"] != raw.as_str() {
                return Err(format!("the identifier came back changed: sent {raw}, got {}", frame["identifier"]));
            }
        }
        // The on-subscribe messages of the confirmed subscriptions, so only publishes remain.
        c.round_trip().await;
        clients.push((account, c));
    }

    // One message per id, one notification per account.
    let mut pubs: Vec<Value> = Vec::new();
    let message_schema: Value = serde_json::from_str(conversation.event("message_created").expect("message_created").payload_schema).unwrap();
    let strategy = schema_strategy::strategy(&message_schema);
    let mut runner = TestRunner::deterministic();
    for (n, id) in ids.iter().enumerate() {
        let mut payload = strategy.new_tree(&mut runner).expect("a message").current();
        payload["id"] = json!(format!("m-{round}-{n}"));
        payload["conversation_id"] = json!(id);
        payload["account_id"] = json!(owners[id]);
        pubs.push(json!({ "channel": conversation.name, "event": "message_created", "payload": payload }));
    }
    for acc in [NUM_A, NUM_B] {
        pubs.push(cableway_tests::fixtures::notification(acc, &format!("n-{round}-{acc}")));
    }
    let (status, body) = s.publish(&Value::Array(pubs)).await;
    if status != 200 {
        return Err(format!("publish: {status} {body}"));
    }

    let mut deliveries = 0;
    let mut leaks = Vec::new();
    for (account, mut c) in clients {
        let frames = c.round_trip().await;
        let mut got: Vec<(String, String)> = Vec::new();
        for f in frames {
            let Some(m) = f.get("message") else { continue };
            deliveries += 1;
            let owner = m["payload"]["account_id"].as_str().unwrap_or_default();
            if owner != account {
                leaks.push(format!("account {account} received an event of account {owner}: {f}"));
            }
            let about = m["payload"]["conversation_id"].as_str().or(m["payload"]["account_id"].as_str()).unwrap_or_default().to_owned();
            got.push((f["identifier"].as_str().unwrap_or_default().to_owned(), about));
        }
        let mut want: Vec<(String, String)> = confirmed.iter().filter(|(a, _, _)| *a == account).map(|(_, raw, id)| (raw.clone(), id.clone())).collect();
        got.sort();
        want.sort();
        if got != want && leaks.is_empty() {
            return Err(format!("account {account}: deliveries differ from the confirmed subscriptions:\n  expected {want:?}\n  got      {got:?}"));
        }
        c.close().await;
    }
    if !leaks.is_empty() {
        return Err(format!("{} cross-account deliveries:\n{}", leaks.len(), leaks.join("\n")));
    }
    let by_number = confirmed.iter().filter(|(_, raw, _)| sent_as_number(raw)).count() + duplicates_by_number;
    Ok(Spelled { tried, confirmed: confirmed.len(), by_number, deliveries })
}

/// Whether an identifier carries a JSON number.
fn sent_as_number(raw: &str) -> bool {
    serde_json::from_str::<Value>(raw).ok().and_then(|v| v.as_object().and_then(|o| o.values().find(|v| v.is_number()).cloned())).is_some()
}

/// What one batch of [`spell_batch`] did.
#[derive(Debug, Clone, Copy, Default)]
struct Spelled {
    tried: usize,
    confirmed: usize,
    /// Identifiers whose id was sent as a JSON number and read as that id: confirmed, or
    /// refused as a spelling of a subscription the connection held.
    by_number: usize,
    deliveries: usize,
}

#[test]
fn no_spelling_of_an_id_reaches_another_account() {
    use proptest::test_runner::{Config, TestCaseError};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Every subscribe is one command: lift the per-connection limits for this test only.
    let opts = cableway_tests::server::Options::default()
        .env("CABLEWAY_COMMANDS_PER_SECOND", "1000000")
        .env("CABLEWAY_COMMAND_BURST", "1000000")
        .env("CABLEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION", "100000");
    let s = Server::start_with(opts);
    let id_pattern = {
        let schema: Value = serde_json::from_str(cableway::channels::find("AiConversationChannel").unwrap().params_schema).unwrap();
        deref(&schema, &schema["properties"]["conversation_id"])["pattern"].as_str().expect("a pattern").to_owned()
    };
    let families = proptest::collection::vec(schema_strategy::id_families(&id_pattern), 13..=17);
    let mut runner = TestRunner::new(Config { cases: ID_BATCHES, failure_persistence: None, ..Config::default() });
    let owners = std::cell::RefCell::new(BTreeMap::new());
    let total = std::cell::Cell::new(Spelled::default());
    let round = std::cell::Cell::new(0u32);
    let result = runner.run(&families, |families| {
        round.set(round.get() + 1);
        let b = rt.block_on(spell_batch(&s, &families, &mut owners.borrow_mut(), round.get())).map_err(TestCaseError::fail)?;
        let t = total.get();
        total.set(Spelled { tried: t.tried + b.tried, confirmed: t.confirmed + b.confirmed, by_number: t.by_number + b.by_number, deliveries: t.deliveries + b.deliveries });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let t = total.get();
    println!("id spellings: {} identifiers tried in {} batches; {} confirmed ({} sent as numbers), {} deliveries, 0 cross-account", t.tried, round.get(), t.confirmed, t.by_number, t.deliveries);
    assert!(t.tried >= 9_000 && t.by_number > 0 && t.deliveries == t.confirmed, "the test exercised too little: {t:?}");
}
