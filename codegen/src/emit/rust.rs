//! Rust emission.
use crate::{Ir, Result};
/// Renders Rust.
pub fn render(_ir: &Ir) -> Result<String> { Ok(String::new()) }
