//! `generated/asyncapi.yaml` validates with the official AsyncAPI parser, `@asyncapi/parser`
//! 3.6 (the AsyncAPI 3.0.0 JSON Schema plus its Spectral ruleset), with no error, and holds
//! one channel per registry channel: `tests/node/asyncapi.test.mjs`, run under `node --test`.

use std::process::{Command, Stdio};

use cableway_tests::repo_root;

#[test]
fn the_asyncapi_document_passes_the_official_parser() {
    let root = repo_root();
    let parser = root.join("tests/node/node_modules/@asyncapi/parser/package.json");
    assert!(parser.exists(), "@asyncapi/parser is not installed in tests/node/node_modules: run bash tests/run.sh, which installs tests/node");
    let out = Command::new("node")
        .args(["--test", "tests/node/asyncapi.test.mjs"])
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js 18+ (bash tests/run.sh does)"));
    assert!(
        out.status.success(),
        "node --test tests/node/asyncapi.test.mjs failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
