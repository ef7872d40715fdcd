//! Emit: IR → files. Pure functions returning text; writing is the caller's business.

pub mod rust;
