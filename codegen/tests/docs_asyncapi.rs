//! Golden tests of the Markdown reference and the AsyncAPI document, on the base fixture.
//!
//! `tests/fixtures/base/schema/` renders to `tests/fixtures/base/expected/channels.md` and
//! `expected/asyncapi.yaml`. A plain `cargo test` compares and never writes;
//! `UPDATE_GOLDEN=1 cargo test -p cableway-codegen --test docs_asyncapi` rewrites them (review
//! the diff). Beyond the goldens: the YAML reads back as the document, every `$ref` resolves,
//! operations use their channel's messages, and both files are in `generated_files`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use codegen::emit::templates::Templates;
use codegen::emit::{asyncapi, docs, generated_files};
use serde_json::Value;

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base")
}

fn ir() -> codegen::Ir {
    codegen::load(&base().join("schema")).unwrap_or_else(|e| panic!("the base fixture must be valid:\n{e}"))
}

fn update_golden() -> bool {
    std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

/// The first differing line, with a few lines of context from each side.
fn first_difference(expected: &str, actual: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let context = |lines: &[&str]| lines.iter().enumerate().skip(i.saturating_sub(3)).take(7).map(|(n, l)| format!("{:>5} {l}", n + 1)).collect::<Vec<_>>().join("\n");
    format!("first difference at line {}\n--- expected\n{}\n+++ actual\n{}", i + 1, context(&a), context(&b))
}

fn golden(file: &str, actual: &str) {
    let path = base().join("expected").join(file);
    if update_golden() {
        if fs::read_to_string(&path).ok().as_deref() != Some(actual) {
            fs::create_dir_all(path.parent().expect("expected/")).expect("create expected/");
            fs::write(&path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            eprintln!("updated {}", path.display());
        }
        return;
    }
    match fs::read_to_string(&path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => panic!("{} differs from the output; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff\n{}", path.display(), first_difference(&expected, actual)),
        Err(_) => panic!("{} is missing; run with UPDATE_GOLDEN=1 to write it, then review it", path.display()),
    }
}

#[test]
fn reference_matches_golden() {
    golden("channels.md", &docs::render(&ir(), &Templates::embedded()).unwrap());
}

#[test]
fn asyncapi_matches_golden() {
    golden("asyncapi.yaml", &asyncapi::render(&ir()));
}

#[test]
fn output_is_deterministic() {
    let (a, b) = (generated_files(&ir(), &Templates::embedded()).unwrap(), generated_files(&ir(), &Templates::embedded()).unwrap());
    assert_eq!(a, b);
}

#[test]
fn both_files_are_generated_in_path_order() {
    let files = generated_files(&ir(), &Templates::embedded()).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"docs/channels.md") && paths.contains(&"asyncapi.yaml"), "{paths:?}");
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn reference_covers_the_fixture_in_words() {
    let md = docs::render(&ir(), &Templates::embedded()).unwrap();
    assert!(md.starts_with("<!-- @generated"), "header line");
    assert!(!md.to_lowercase().contains("last verified"), "no dates: the output must be deterministic");
    for needle in [
        "- [BoardChannel](#boardchannel)",
        "### BoardChannel",
        "| `account_id` | yes | [`Id`](#model-id) (string) |",
        "**Authorization:** Allowed when all of these hold:",
        "- the principal is a `user`",
        "- param `account_id` equals claim `account_id`",
        "- param `board_id` is not given or the resource `board` given by param `board_id` belongs to the principal's account",
        "| `board:{params.board_id}` | param `scope` is `board` and param `board_id` is given |",
        "#### Event `card.created`",
        "- **Fan-out:** `board:{payload.board_id}`, `board_account:{payload.account_id}`",
        "| `assignee_id` | [`Id`](#model-id) (string) | no | yes |",
        "| `column` | [`Column`](#model-column): one of `todo`, `doing`, `done` | yes | no |",
        "#### Action `move_cursor`",
        "- **Behaviour:** relay: the request is published as event `cursor.moved` to the subscription's streams, except back to the sender",
        "#### Action `archive_card`",
        "- **Errors:** `card_not_found`, besides the built-in codes",
        "**Retired names** (never reused): params `team_id`; events `card.deleted`; actions `delete_card`.",
        "### Model `Id`",
    ] {
        assert!(md.contains(needle), "channels.md lacks {needle:?}");
    }
}

fn walk<'v>(v: &'v Value, path: &str, out: &mut Vec<(String, &'v Value)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push((p.clone(), child));
                walk(child, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{path}/{i}");
                out.push((p.clone(), child));
                walk(child, &p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn asyncapi_yaml_reads_back_as_the_document() {
    let ir = ir();
    let text = asyncapi::render(&ir);
    assert!(text.starts_with("# @generated"), "header line");
    let (parsed, _) = codegen::load::yaml::parse(&text).unwrap_or_else(|e| panic!("asyncapi.yaml is not valid YAML: {}", e.message));
    assert_eq!(parsed, asyncapi::document(&ir));
}

#[test]
fn asyncapi_references_resolve_and_are_draft07_clean() {
    let doc = asyncapi::document(&ir());
    assert_eq!(doc["asyncapi"], "3.0.0");
    let mut nodes = Vec::new();
    walk(&doc, "", &mut nodes);
    let mut refs = 0;
    for (path, node) in &nodes {
        let Some(obj) = node.as_object() else { continue };
        if let Some(Value::String(r)) = obj.get("$ref") {
            refs += 1;
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{path}: non-local $ref {r}"));
            assert!(doc.pointer(pointer).is_some(), "{path}: $ref {r} does not resolve");
            assert_eq!(obj.len(), 1, "{path}: $ref with sibling keywords (Draft-07 ignores them)");
            assert!(!r.contains("$defs"), "{path}: $ref {r} still points into $defs");
        }
        assert!(!obj.contains_key("$defs") && !obj.contains_key("$schema"), "{path}: 2020-12 keyword left");
    }
    assert!(refs > 20, "only {refs} references");
}

#[test]
fn asyncapi_maps_the_fixture_channel() {
    let doc = asyncapi::document(&ir());
    let ch = &doc["channels"]["BoardChannel"];
    assert_eq!(ch["address"], "board:{board_id}");
    assert_eq!(ch["parameters"]["board_id"]["location"], "$message.payload#/identifier/board_id");
    assert_eq!(ch["x-streams"][1]["key"], "board_account:{params.account_id}");
    assert_eq!(ch["x-authorization"]["rule"]["all"][0]["principal"], "user");
    assert_eq!(doc["components"]["messages"]["BoardChannel.event.card.created"]["x-publish-to"][1], "board_account:{payload.account_id}");
    let ops = doc["operations"].as_object().expect("operations");
    let expected: BTreeSet<&str> = [
        "BoardChannel.subscribe",
        "BoardChannel.event.card.created",
        "BoardChannel.event.card.moved",
        "BoardChannel.event.cursor.moved",
        "BoardChannel.event.subscription.confirmed",
        "BoardChannel.action.archive_card",
        "BoardChannel.action.move_cursor",
    ]
    .into_iter()
    .collect();
    assert_eq!(ops.keys().map(String::as_str).collect::<BTreeSet<_>>(), expected);
    for (id, op) in ops {
        let want = if id.contains(".event.") { "send" } else { "receive" };
        assert_eq!(op["action"], want, "{id}");
        let refs = op["messages"].as_array().into_iter().flatten().chain(op["reply"]["messages"].as_array().into_iter().flatten());
        for m in refs {
            let r = m["$ref"].as_str().expect("message $ref");
            assert!(r.starts_with("#/channels/BoardChannel/messages/"), "{id}: {r} is not a message of its channel");
        }
        assert_eq!(op["reply"].is_null(), want == "send", "{id}: receive operations have a reply");
    }
    let perform = &doc["components"]["messages"]["BoardChannel.action.archive_card"];
    assert_eq!(perform["correlationId"]["location"], "$message.payload#/data/$ref");
}

#[test]
fn experimental_and_designed_here_channels_are_marked() {
    let dir = base().join("schema");
    let mut texts = std::collections::BTreeMap::new();
    for rel in ["cableway.yaml", "channels/board.yaml", "models/board.json", "models/common.json"] {
        texts.insert(rel.to_owned(), fs::read_to_string(dir.join(rel)).expect("fixture file"));
    }
    let board = texts.get_mut("channels/board.yaml").expect("board.yaml");
    *board = board.replace("channel: BoardChannel\n", "channel: BoardChannel\nstability: experimental\ndesigned_here: true\n");
    let ir = codegen::build(&codegen::load::load_texts("schema", texts).expect("load")).unwrap_or_else(|e| panic!("{e}"));
    let md = docs::render(&ir, &Templates::embedded()).unwrap();
    assert!(md.contains("- [BoardChannel](#boardchannel) (experimental, designed here)"), "table of contents");
    assert!(md.contains("> **Experimental.**") && md.contains("> **Designed here.**"), "channel section");
    let doc = asyncapi::document(&ir);
    assert_eq!(doc["channels"]["BoardChannel"]["x-stability"], "experimental");
    assert_eq!(doc["channels"]["BoardChannel"]["x-designed-here"], true);
}
