//! Helpers shared by the providers' unit tests.

use serde_json::Value;

use super::{Format, FormatError};
use crate::transcript::{Part, ToolCall, ToolResult};

/// A fixture's JSON.
pub(crate) fn load(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// A call part.
pub(crate) fn call(id: &str, name: &str, input: Value) -> Part {
    Part::Call(ToolCall {
        id: id.into(),
        name: name.into(),
        input,
    })
}

/// A result part without an error flag.
pub(crate) fn result(call_id: &str, content: &str) -> Part {
    flagged(call_id, content, None)
}

/// A result part with the given error flag.
pub(crate) fn flagged(call_id: &str, content: &str, is_error: Option<bool>) -> Part {
    Part::Result(ToolResult {
        call_id: call_id.into(),
        content: content.into(),
        is_error,
    })
}

/// The error a format gives for a request it must reject.
pub(crate) fn rejected(fmt: &dyn Format, body: Value) -> FormatError {
    fmt.parse_request(&body)
        .expect_err("request must be rejected")
}
