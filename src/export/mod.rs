//! Writing results. Every file is written to a temporary file beside it and
//! renamed into place, so a killed process never leaves a half-written result.

pub mod atomic;
pub mod csv;
