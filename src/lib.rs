//! tooltape: conformance and replay harness for parallel tool calling.

pub mod cassette;
pub mod error;
mod jsonpos;
pub mod provider;
pub mod rules;
pub mod scenario;
pub mod transcript;
