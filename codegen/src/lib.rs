//! Cableway codegen: channel schemas in, typed Rust, TypeScript and bundled JSON Schema out.
//!
//! # Layout
//! The pipeline is four steps, each a module:
//! - [`load`]: read `schema/` (YAML and JSON) into JSON values that remember their
//!   source positions, and into the typed file format of [`format`];
//! - [`ir`]: resolve `$ref`s, convert the JSON Schema subset into named types, and build
//!   one language-neutral description of every channel;
//! - [`check`]: the semantic rules (names, templates, key safety, coherence, rules);
//! - [`emit`]: Rust for `build.rs`, TypeScript, the bundled schema, the Markdown channel
//!   reference, the AsyncAPI document and the meta-schema.
//!
//! [`compat`] sits beside the pipeline: it compares the IR with a released lock snapshot
//! and classifies every change for `cableway compat` and `cableway release`.
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

pub use error::{Diagnostic, Diagnostics, Error, Result};
pub use ir::Ir;

/// Loads, checks and builds the IR of a schema directory.
///
/// # Errors
/// [`Error::Io`] when files cannot be read, [`Error::Invalid`] with every diagnostic found.
pub fn load(dir: &std::path::Path) -> Result<Ir> {
    let loaded = load::load_dir(dir)?;
    ir::build(&loaded)
}
