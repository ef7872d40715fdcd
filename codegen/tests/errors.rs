//! Golden corpus of broken schema sets.
//!
//! `tests/fixtures/base/schema/` is a small valid schema set. Every directory under
//! `tests/fixtures/errors/` is one case: its `schema/` holds overlay files (same relative
//! paths as the base; an overlay replaces the base file, a file whose whole content is
//! `#delete` removes it) and `expected.txt` holds the exact text of the error, as a schema
//! author sees it. One defect per case, unless the case name ends in `_multi`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p cableway-codegen --test errors` rewrites the
//! `expected.txt` files from the current messages; review the diff before committing.
//! A plain `cargo test` never writes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The schema directory as diagnostics display it.
const DISPLAY_DIR: &str = "schema";
/// An overlay file with this content removes the base file.
const DELETE_MARKER: &str = "#delete";
/// The corpus must not shrink below this.
const MIN_CASES: usize = 20;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

fn update_golden() -> bool {
    std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

/// Every file under `root`, keyed by its path relative to `root` with `/` separators.
fn read_tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("inside root");
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
                let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                out.insert(rel, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn base() -> BTreeMap<String, String> {
    read_tree(&fixtures().join("base").join("schema"))
}

/// The base set with the case's overlay applied.
fn merged(case_dir: &Path) -> BTreeMap<String, String> {
    let overlay_dir = case_dir.join("schema");
    assert!(overlay_dir.is_dir(), "{} has no schema/ overlay", case_dir.display());
    let overlay = read_tree(&overlay_dir);
    assert!(!overlay.is_empty(), "{} has an empty schema/ overlay", case_dir.display());
    let mut texts = base();
    for (rel, text) in overlay {
        if text.trim() == DELETE_MARKER {
            assert!(texts.remove(&rel).is_some(), "{}: `{DELETE_MARKER}` of {rel}, which the base does not have", case_dir.display());
        } else {
            texts.insert(rel, text);
        }
    }
    texts
}

fn check(texts: BTreeMap<String, String>) -> codegen::Result<codegen::Ir> {
    let loaded = codegen::load::load_texts(DISPLAY_DIR, texts)?;
    codegen::build(&loaded)
}

/// Case directories, sorted by name.
fn cases() -> Vec<(String, PathBuf)> {
    let dir = fixtures().join("errors");
    let mut out: Vec<(String, PathBuf)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().expect("name").to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    out
}

/// A line diff of `expected` against `actual`: ` ` common, `-` only expected, `+` only actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = String::from("--- expected.txt\n+++ actual\n");
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// Problems with the shape of a rendered error: every diagnostic has a `--> schema/file:line:col`
/// that exists in the merged set, and a `= help:` line.
fn shape_problems(text: &str, texts: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.starts_with("error: ")).map(|(i, _)| i).collect();
    if starts.is_empty() {
        problems.push("no `error: ` line".to_owned());
    }
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let block = &lines[start..end];
        let Some(arrow) = block.iter().find_map(|l| l.trim_start().strip_prefix("--> ")) else {
            problems.push(format!("`{}` has no `-->` location", block[0]));
            continue;
        };
        if !block.iter().any(|l| l.trim_start().starts_with("= help: ") && l.trim_start().len() > "= help: ".len()) {
            problems.push(format!("`{}` has no `= help:` line", block[0]));
        }
        let mut parts = arrow.rsplitn(3, ':');
        let (col, line, file) = (parts.next(), parts.next(), parts.next());
        let (Some(Ok(col)), Some(Ok(line)), Some(file)) = (col.map(str::parse::<usize>), line.map(str::parse::<usize>), file) else {
            problems.push(format!("location `{arrow}` is not `file:line:column`"));
            continue;
        };
        let Some(rel) = file.strip_prefix(&format!("{DISPLAY_DIR}/")) else {
            problems.push(format!("location `{arrow}` is not under `{DISPLAY_DIR}/`"));
            continue;
        };
        let Some(source) = texts.get(rel) else {
            problems.push(format!("location `{arrow}` names a file that is not in the schema set"));
            continue;
        };
        match source.lines().nth(line.wrapping_sub(1)) {
            Some(l) if col >= 1 && col <= l.chars().count() + 1 => {}
            Some(l) => problems.push(format!("location `{arrow}`: column {col} is outside line {line} (`{l}`)")),
            None if line == 0 => problems.push(format!("location `{arrow}`: lines count from 1")),
            None => problems.push(format!("location `{arrow}`: the file has only {} lines", source.lines().count())),
        }
    }
    let trailer = lines.last().copied().unwrap_or_default();
    if !trailer.ends_with("in the schema set") {
        problems.push(format!("the last line `{trailer}` is not the error count"));
    }
    problems
}

#[test]
fn base_schema_set_is_valid() {
    let texts = base();
    if let Err(e) = check(texts) {
        panic!("the base fixture must be valid, but:\n{e}");
    }
}

#[test]
fn error_corpus_matches_golden_messages() {
    let update = update_golden();
    let cases = cases();
    let mut failures = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, dir) in &cases {
        let texts = merged(dir);
        let actual = match check(texts.clone()) {
            Ok(_) => {
                failures.push(format!("{name}: the schema set was accepted, but the case expects an error"));
                continue;
            }
            Err(e) => {
                let Some(diags) = e.diagnostics() else {
                    failures.push(format!("{name}: expected schema diagnostics, got: {e}"));
                    continue;
                };
                let n = diags.0.len();
                if name.ends_with("_multi") {
                    if n < 2 {
                        failures.push(format!("{name}: a `_multi` case must produce several errors, got {n}"));
                    }
                } else if n != 1 {
                    failures.push(format!("{name}: one defect per case, but {n} errors were reported:\n{e}"));
                }
                format!("{e}\n")
            }
        };
        for p in shape_problems(&actual, &texts) {
            failures.push(format!("{name}: {p}"));
        }
        if let Some(other) = seen.insert(actual.clone(), name.clone()) {
            failures.push(format!("{name}: same message as case {other}; every case must hit a different check"));
        }
        let golden = dir.join("expected.txt");
        if update {
            if fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
                fs::write(&golden, &actual).unwrap_or_else(|e| panic!("writing {}: {e}", golden.display()));
                eprintln!("updated {}", golden.display());
            }
            continue;
        }
        match fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!("{name}: the message differs from expected.txt\n{}", diff(&expected, &actual))),
            Err(_) => failures.push(format!("{name}: no expected.txt; run with UPDATE_GOLDEN=1 to write it, then review it")),
        }
    }
    assert!(cases.len() >= MIN_CASES, "the corpus has {} cases; keep at least {MIN_CASES}", cases.len());
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn golden_files_have_locations_and_help() {
    // Checks the committed goldens themselves, so a hand-edited expected.txt stays well formed.
    // While they are being rewritten, the corpus test checks the new text instead.
    if update_golden() {
        return;
    }
    let mut failures = Vec::new();
    let known: BTreeSet<String> = cases().into_iter().map(|(n, _)| n).collect();
    for (name, dir) in cases() {
        let Ok(expected) = fs::read_to_string(dir.join("expected.txt")) else {
            failures.push(format!("{name}: no expected.txt"));
            continue;
        };
        if !expected.contains("-->") {
            failures.push(format!("{name}: expected.txt has no `-->` location"));
        }
        for p in shape_problems(&expected, &merged(&dir)) {
            failures.push(format!("{name}: expected.txt: {p}"));
        }
    }
    assert!(known.len() >= MIN_CASES, "the corpus has {} cases; keep at least {MIN_CASES}", known.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
