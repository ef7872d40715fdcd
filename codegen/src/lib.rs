//! Cableway codegen: channel schemas in, typed Rust, TypeScript and bundled JSON Schema out.
//!
//! # Layout
//! The pipeline is four steps, each a module, each using only the ones before it:
//! - [`load`]: read `schema/` (YAML and JSON) into JSON values that remember their
//!   source positions, and into the typed file format of [`format`];
//! - [`ir`]: resolve `$ref`s, convert the JSON Schema subset into named types, parse key
//!   templates and rules, and build one language-neutral description of every channel;
//! - [`check`]: the semantic rules (names, templates, key safety, coherence, rules);
//! - [`emit`]: Rust for `build.rs`, TypeScript, the bundled schema, the Markdown channel
//!   reference, the AsyncAPI document and the meta-schema.
//!
//! [`load()`] and [`build`] compose the first three; emitters take the [`Ir`] they return.
//! [`runtime`] is the vocabulary the outputs share without a schema declaring it (built-in
//! error codes, the TypeScript runtime's files and names), [`diag`] and [`ident`] serve
//! every step. [`compat`] sits beside the pipeline: it compares the IR with a released lock
//! snapshot and classifies every change for `cableway compat` and `cableway release`.
//!
//! Every problem is a [`Diagnostic`] naming the file, line and column, and the fix.
//!
//! # Use from `build.rs`
//! ```no_run
//! let schema = std::path::Path::new("../schema");
//! let set = codegen::load(schema).expect("invalid schema");
//! let rust = codegen::emit::rust::render(&set).expect("codegen");
//! std::fs::write(std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("channels.rs"), rust).unwrap();
//! ```

#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod check;
pub mod compat;
pub mod diag;
pub mod emit;
pub mod error;
pub mod format;
pub mod ident;
pub mod ir;
pub mod load;
pub mod runtime;

pub use error::{Diagnostic, Diagnostics, Error, Result};
pub use ir::Ir;

/// Loads a schema directory and builds its checked IR.
///
/// # Errors
/// [`Error::Io`] when files cannot be read, [`Error::Invalid`] with every diagnostic found.
pub fn load(dir: &std::path::Path) -> Result<Ir> {
    build(&load::load_dir(dir)?)
}

/// Builds the IR of a loaded schema set and checks it: load → ir → check, every problem of
/// both steps reported at once.
///
/// # Errors
/// [`Error::Invalid`] with every diagnostic found.
pub fn build(loaded: &load::Loaded) -> Result<Ir> {
    let mut problems = diag::Problems::default();
    let ir = ir::build(loaded, &mut problems);
    check::run(&ir, loaded, &mut problems);
    if problems.is_empty() {
        Ok(ir)
    } else {
        Err(Error::Invalid(loaded.diagnostics(problems)))
    }
}
