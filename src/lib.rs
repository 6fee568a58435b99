//! tooltape: conformance and replay harness for parallel tool calling.

pub mod cassette;
pub mod error;
mod jsonpos;
pub mod provider;
pub mod rules;
pub mod scenario;
pub mod transcript;
pub mod handler;
pub mod replay;
pub mod timing;
mod util;
pub mod report;
pub mod runner;
pub mod harness;
pub mod lint;
pub mod baseline;
pub mod partition;
pub mod server;
pub mod process;
