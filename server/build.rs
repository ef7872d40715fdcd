//! Compiles the channel schemas into typed Rust (`$OUT_DIR/channels.rs`).
//!
//! The schema directory defaults to `../schema` and can be pointed elsewhere with
//! `CABLEWAY_SCHEMA_DIR` (the "a channel is one file" test builds a copy this way).
//! Nothing is written outside `OUT_DIR`; TypeScript and docs come from `cableway generate`.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=CABLEWAY_SCHEMA_DIR");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let schema = match std::env::var_os("CABLEWAY_SCHEMA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../schema"),
    };
    let schema = schema.canonicalize().unwrap_or(schema);
    // A directory path makes cargo rescan the whole tree, so edits to any schema file rebuild.
    println!("cargo::rerun-if-changed={}", schema.display());
    let ir = match codegen::load(&schema) {
        Ok(ir) => ir,
        Err(e) => {
            eprintln!("{e}");
            panic!("the channel schemas in {} are invalid (see above)", schema.display());
        }
    };
    let rust = codegen::emit::rust::render(&ir).unwrap_or_else(|e| panic!("codegen failed: {e}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("channels.rs");
    codegen::emit::write_if_changed(&out, &rust).unwrap_or_else(|e| panic!("{e}"));
}
