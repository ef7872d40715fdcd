//! Errors of the codegen library.
//!
//! A schema author sees [`Diagnostic`]s: each names the file, the line and column, what is
//! wrong and how to fix it. Everything else (I/O) is an [`Error`] variant with its path.

use std::fmt;
use std::path::PathBuf;

/// A position in a source file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// One problem in a schema set, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file, as the schema directory was given plus the path inside it.
    pub file: String,
    /// Where in the file.
    pub position: Position,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}\n  --> {}:{}:{}\n  = help: {}",
            self.message, self.file, self.position.line, self.position.column, self.help
        )
    }
}

/// Every diagnostic found in one pass, sorted by file and position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "{n} error{} in the schema set", if n == 1 { "" } else { "s" })
    }
}

/// Errors of the codegen library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done: "reading", "writing", "listing".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The schema set is invalid.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// A template of the text emitters does not parse, matches no template, or names
    /// something its view does not have.
    #[error("template {file}: {reason}")]
    Template {
        /// The template file, as given (or the embedded template's name).
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Generated Rust did not parse; a bug in codegen, not in the schema.
    #[error("generated Rust for {module} does not parse: {reason}")]
    InternalRust {
        /// The generated module.
        module: String,
        /// The parser's message.
        reason: String,
    },
}

impl Error {
    /// The diagnostics, when the error is about the schema set.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Invalid(d) => Some(d),
            _ => None,
        }
    }
}

/// The codegen library's result type.
pub type Result<T> = std::result::Result<T, Error>;
