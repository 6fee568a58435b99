//! Parsing Gemini requests and replies into the neutral model.
//!
//! Field names are read in camelCase (`functionCall`) or snake_case (`function_call`): the
//! Python SDK sends some fields snake_case. A content is one neutral message; its parts map
//! one to one, except that consecutive text parts are merged (streams deliver text in pieces,
//! and clients keep the pieces as parts) and a part's other fields (a `thoughtSignature` next to
//! a `functionCall`) follow it as an [`Part::Other`], so that history comparison sees them.

use serde_json::{Map, Value};

use super::super::FormatError;
use super::super::common::{
    Obj, at_index, at_key, describe, field, mismatch, neutral_tool, object, shorten,
};
use super::case::{camel, camel_keys, is_snake_of, snake};
use super::ids::{self, Pairing};
use crate::transcript::{
    Message, Part, Reply, Request, Role, StopReason, Tool, ToolCall, ToolResult,
};

/// A field by its camelCase name or its snake_case twin, with the key it was found under;
/// null counts as missing.
pub(super) fn get<'a>(obj: &'a Obj, camel_name: &str) -> Option<(&'a str, &'a Value)> {
    // A part or call has a handful of members: comparing keys one by one (the snake_case twin
    // without spelling it out) is cheaper than hashing both names, as the map's look-up does.
    let found = if obj.len() <= 8 {
        obj.iter()
            .find(|(k, _)| k.as_str() == camel_name)
            .or_else(|| obj.iter().find(|(k, _)| is_snake_of(k, camel_name)))?
    } else {
        obj.get_key_value(camel_name)
            .or_else(|| obj.get_key_value(snake(camel_name).as_str()))?
    };
    (!found.1.is_null()).then_some((found.0.as_str(), found.1))
}

/// The path of field `camel_name` of the object at `path`, spelled as the object spells it.
fn path_of(obj: &Obj, path: &str, camel_name: &str) -> String {
    match get(obj, camel_name) {
        Some((k, _)) => at_key(path, k),
        None => at_key(path, camel_name),
    }
}

/// An optional string field.
fn opt_str<'a>(obj: &'a Obj, name: &str, path: &str) -> Result<Option<&'a str>, FormatError> {
    match get(obj, name) {
        None => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s)),
        Some((k, other)) => Err(mismatch(at_key(path, k), "a string", Some(other))),
    }
}

/// The part's fields other than `except` (camelCase), as a value to compare, or `None`.
fn rest(part: &Obj, except: &str) -> Option<Value> {
    let rest: Obj = part
        .iter()
        .filter(|(k, v)| camel(k) != except && !v.is_null())
        .map(|(k, v)| (camel(k), camel_keys(v)))
        .collect();
    (!rest.is_empty()).then_some(Value::Object(rest))
}

/// Where a content sits, for errors that quote the API's own path
/// (`GenerateContentRequest.contents[3].parts[0].function_response.name`).
#[derive(Clone, Copy)]
pub(super) enum Place {
    /// `contents[i]` of a request.
    Request(usize),
    /// A reply's candidate content, or another document: no API path to quote.
    Other,
}

/// One wire part, read.
enum Piece {
    Text {
        text: String,
        thought: bool,
        rest: Option<Value>,
    },
    Call {
        name: String,
        args: Value,
        id: Option<String>,
        rest: Option<Value>,
    },
    Response {
        name: String,
        id: Option<String>,
        content: String,
        is_error: bool,
        rest: Option<Value>,
    },
    Other(Value),
}

/// The API's 400 for an empty name, quoted in the error.
fn empty_name(place: Place, path: &str, j: usize, what: &str) -> FormatError {
    let api = match place {
        Place::Request(i) => format!(
            " (the real API answers 400 INVALID_ARGUMENT: \"* GenerateContentRequest.contents[{i}].parts[{j}].{what}.name: Name cannot be empty.\")"
        ),
        Place::Other => String::new(),
    };
    FormatError::new(path, format!("Name cannot be empty{api}"))
}

/// A required, non-empty `name`.
fn name_of(
    obj: &Obj,
    path: &str,
    place: Place,
    j: usize,
    what: &str,
) -> Result<String, FormatError> {
    match get(obj, "name") {
        Some((_, Value::String(s))) if s.is_empty() => {
            Err(empty_name(place, &path_of(obj, path, "name"), j, what))
        }
        Some((_, Value::String(s))) => Ok(s.clone()),
        other => Err(mismatch(
            path_of(obj, path, "name"),
            "a string (the function's name)",
            other.map(|(_, v)| v),
        )),
    }
}

/// An optional id; an empty one counts as none (clients send `""` for "no id").
fn id_of(obj: &Obj, path: &str) -> Result<Option<String>, FormatError> {
    Ok(opt_str(obj, "id", path)?
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

/// A function response's `response` as result text: its `output` (or `result`, as
/// google-genai's own loop sends), else its `error`, else the whole object as JSON. Texts are
/// taken as they are; other values as compact JSON.
fn response_text(response: &Obj) -> (String, bool) {
    let is_error = get(response, "error").is_some();
    let picked = ["output", "result", "error"]
        .iter()
        .find_map(|k| field(response, k).filter(|v| !v.is_null()));
    let text = match picked {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => Value::Object(response.clone()).to_string(),
    };
    (text, is_error)
}

/// One part, read. Error paths are relative to the part ([`FormatError::under`]).
fn read_part(value: &Value, place: Place, j: usize) -> Result<Piece, FormatError> {
    let part = object(value, "", "a part object")?;
    if let Some((k, fc)) = get(part, "functionCall") {
        let fpath = k;
        let fc = object(fc, fpath, "a functionCall object")?;
        let args = match get(fc, "args") {
            None => Value::Object(Map::new()),
            Some((_, v @ Value::Object(_))) => v.clone(),
            Some((k, other)) => {
                return Err(mismatch(
                    at_key(fpath, k),
                    "an object (the call's arguments)",
                    Some(other),
                ));
            }
        };
        let mut extra = rest(part, "functionCall");
        let inner: Obj = fc
            .iter()
            .filter(|(k, v)| !matches!(camel(k).as_str(), "id" | "name" | "args") && !v.is_null())
            .map(|(k, v)| (camel(k), camel_keys(v)))
            .collect();
        if !inner.is_empty() {
            let mut o = match extra.take() {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            o.insert("functionCall".into(), Value::Object(inner));
            extra = Some(Value::Object(o));
        }
        return Ok(Piece::Call {
            name: name_of(fc, fpath, place, j, "function_call")?,
            args,
            id: id_of(fc, fpath)?,
            rest: extra,
        });
    }
    if let Some((k, fr)) = get(part, "functionResponse") {
        let rpath = k;
        let fr = object(fr, rpath, "a functionResponse object")?;
        let name = name_of(fr, rpath, place, j, "function_response")?;
        let (content, is_error) = match get(fr, "response") {
            None => (String::new(), false),
            Some((_, Value::Object(r))) => response_text(r),
            Some((k, other)) => {
                return Err(mismatch(
                    at_key(rpath, k),
                    "an object (the function's response, {\"output\": …} or {\"error\": …})",
                    Some(other),
                ));
            }
        };
        return Ok(Piece::Response {
            name,
            id: id_of(fr, rpath)?,
            content,
            is_error,
            rest: rest(part, "functionResponse"),
        });
    }
    if let Some((k, t)) = get(part, "text") {
        let Value::String(text) = t else {
            return Err(mismatch(k, "a string", Some(t)));
        };
        let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        let rest: Obj = part
            .iter()
            .filter(|(k, v)| !matches!(camel(k).as_str(), "text" | "thought") && !v.is_null())
            .map(|(k, v)| (camel(k), camel_keys(v)))
            .collect();
        return Ok(Piece::Text {
            text: text.clone(),
            thought,
            rest: (!rest.is_empty()).then_some(Value::Object(rest)),
        });
    }
    // Images, files, code execution, thought signatures on their own, parts of newer API
    // versions: kept whole.
    Ok(Piece::Other(camel_keys(value)))
}

/// A content's parts, read; consecutive text pieces merged (a piece that carries more than
/// text, such as a signature, ends the run it closes).
/// Error paths are relative to the parts array.
fn read_parts(parts: &[Value], place: Place) -> Result<Vec<Piece>, FormatError> {
    let mut out: Vec<Piece> = Vec::with_capacity(parts.len());
    for (j, p) in parts.iter().enumerate() {
        let piece = read_part(p, place, j).map_err(|e| e.under(&at_index("", j)))?;
        if let (
            Some(Piece::Text {
                text: prev,
                thought: pt,
                rest: prest @ None,
            }),
            Piece::Text {
                text,
                thought,
                rest,
            },
        ) = (out.last_mut(), &piece)
            && *pt == *thought
        {
            prev.push_str(text);
            *prest = rest.clone();
            continue;
        }
        out.push(piece);
    }
    Ok(out)
}

/// The neutral id of each call piece of a content, in order.
fn assign_call_ids(pieces: &[Piece]) -> Vec<String> {
    let calls: Vec<(&str, &Value, Option<&str>)> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Call { name, args, id, .. } => Some((name.as_str(), args, id.as_deref())),
            _ => None,
        })
        .collect();
    ids::call_ids(&calls)
}

/// The neutral parts of a content. `pairing` is the conversation's pairing state: a content
/// with calls opens a turn, id-less results pair with the open one.
fn neutral_parts(pieces: Vec<Piece>, pairing: &mut Pairing) -> Vec<Part> {
    let call_ids = assign_call_ids(&pieces);
    let opened: Vec<(&str, &Value, String)> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Call { name, args, .. } => Some((name.as_str(), args)),
            _ => None,
        })
        .zip(call_ids.iter().cloned())
        .map(|((n, a), id)| (n, a, id))
        .collect();
    if !opened.is_empty() {
        pairing.open(&opened);
    }
    let mut call_ids = call_ids.into_iter();
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match piece {
            Piece::Text {
                text,
                thought: false,
                rest,
            } => {
                out.push(Part::Text(text));
                out.extend(rest.map(Part::Other));
            }
            Piece::Text {
                text,
                thought: true,
                rest,
            } => {
                let mut o = match rest {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                o.insert("thought".into(), Value::Bool(true));
                o.insert("text".into(), Value::String(text));
                out.push(Part::Other(Value::Object(o)));
            }
            Piece::Call {
                name, args, rest, ..
            } => {
                out.push(Part::Call(ToolCall {
                    id: call_ids.next().unwrap_or_default(),
                    name,
                    input: args,
                }));
                out.extend(rest.map(Part::Other));
            }
            Piece::Response {
                name,
                id,
                content,
                is_error,
                rest,
            } => {
                let call_id = id.unwrap_or_else(|| pairing.pair(&name));
                out.push(Part::Result(ToolResult {
                    call_id,
                    content,
                    is_error: Some(is_error),
                }));
                out.extend(rest.map(Part::Other));
            }
            Piece::Other(v) => out.push(Part::Other(v)),
        }
    }
    out
}

/// A content's role. Unlike the other APIs, Gemini refuses a role it does not know (400
/// INVALID_ARGUMENT "Please use a valid role: user, model.", seen in many public client bug
/// reports): keeping such a content, as the others' parsers do, would pass a handler the real
/// API refuses.
fn role_of(obj: &Obj, path: &str) -> Result<Role, FormatError> {
    match opt_str(obj, "role", path)? {
        // The API reads a content without a role as the user's.
        None | Some("user") => Ok(Role::User),
        Some("model") => Ok(Role::Assistant),
        Some("function" | "tool") => Ok(Role::Tool),
        Some(other) => Err(FormatError::new(
            at_key(path, "role"),
            format!(
                "expected \"user\" or \"model\" (\"function\" or \"tool\" for function responses), found {:?}: the API refuses it (\"Please use a valid role: user, model.\")",
                shorten(other)
            ),
        )),
    }
}

/// The fields a part may have (camelCase), in the API's documentation; a part with another
/// field is kept and the field noted. Gemini parts name their kind by which field they carry,
/// so a new kind of part shows as a new field.
const PART_FIELDS: &[&str] = &[
    "text",
    "thought",
    "thoughtSignature",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
    "partMetadata",
    "mediaResolution",
];

/// [`super::super::Format::unfamiliar`] for Gemini: a part (or the rest of one) with a field
/// outside [`PART_FIELDS`].
pub(super) fn unfamiliar(part: &Value) -> Option<String> {
    let obj = part.as_object()?;
    let odd: Vec<String> = obj
        .keys()
        .map(|k| camel(k))
        .filter(|k| !PART_FIELDS.contains(&k.as_str()))
        .map(|k| format!("{:?}", shorten(&k)))
        .collect();
    (!odd.is_empty()).then(|| format!("a part with field(s) {}", odd.join(", ")))
}

/// The parts array of a content, with the key it is under (error paths relative to the
/// content).
fn parts_of(obj: &Obj) -> Result<(&[Value], &str), FormatError> {
    match get(obj, "parts") {
        Some((k, Value::Array(a))) => Ok((a, k)),
        other => Err(mismatch(
            path_of(obj, "", "parts"),
            "an array of parts",
            other.map(|(_, v)| v),
        )),
    }
}

/// A content's parts, read; error paths relative to the content.
fn content_pieces(obj: &Obj, place: Place) -> Result<Vec<Piece>, FormatError> {
    let (parts, k) = parts_of(obj)?;
    read_parts(parts, place).map_err(|e| e.under(k))
}

pub(super) fn parse_request(body: &Value, known: &[Tool]) -> Result<Request, FormatError> {
    let root = object(body, "", "a request object")?;
    let mut messages = Vec::new();
    if let Some((k, sys)) = get(root, "systemInstruction") {
        // A Content (its role ignored), or, as some clients send, a plain string.
        let parts = match sys {
            Value::String(s) => vec![Part::Text(s.clone())],
            Value::Object(o) => {
                let pieces = content_pieces(o, Place::Other).map_err(|e| e.under(k))?;
                neutral_parts(pieces, &mut Pairing::default())
            }
            other => return Err(mismatch(k, "a content object", Some(other))),
        };
        messages.push(Message {
            role: Role::System,
            parts,
            wire_index: 0,
            wire_len: 0,
        });
    }
    let contents = match get(root, "contents") {
        Some((_, Value::Array(a))) => a,
        other => {
            return Err(mismatch(
                "contents",
                "an array of contents",
                other.map(|(_, v)| v),
            ));
        }
    };
    let mut pairing = Pairing::default();
    for (i, c) in contents.iter().enumerate() {
        // Formatted only for an error.
        let path = || at_index("contents", i);
        let obj = object(c, "", "a content object").map_err(|e| e.under(&path()))?;
        let role = role_of(obj, "").map_err(|e| e.under(&path()))?;
        let pieces = content_pieces(obj, Place::Request(i)).map_err(|e| e.under(&path()))?;
        messages.push(Message {
            role,
            parts: neutral_parts(pieces, &mut pairing),
            wire_index: i,
            wire_len: 1,
        });
    }
    Ok(Request {
        messages,
        tools: tools(root, known)?,
        // No request switch limits Gemini to one call per turn (protocols.md §4.5): there is
        // nothing a handler could set, so every request counts as having done what it can and
        // `parallel-writes-enabled` never fires (see `Format::has_parallel_switch`).
        parallel_disabled: true,
        // The URL says (`:streamGenerateContent`), not the body.
        stream: false,
        previous_response_id: None,
        model: None,
    })
}

/// The functions a request declares, their parameters as JSON Schema.
fn tools(root: &Obj, known: &[Tool]) -> Result<Vec<Tool>, FormatError> {
    let mut names = Vec::new();
    let Some((k, tools)) = get(root, "tools") else {
        return Ok(names);
    };
    let Value::Array(tools) = tools else {
        return Err(mismatch(k, "an array of tools", Some(tools)));
    };
    for (i, t) in tools.iter().enumerate() {
        let tpath = at_index(k, i);
        let Some(t) = t.as_object() else {
            return Err(mismatch(tpath, "a tool object", Some(t)));
        };
        let Some((dk, decls)) = get(t, "functionDeclarations") else {
            // Built-in tools (googleSearch, codeExecution, …) declare no function.
            continue;
        };
        let dpath = at_key(&tpath, dk);
        let Value::Array(decls) = decls else {
            return Err(mismatch(
                dpath,
                "an array of function declarations",
                Some(decls),
            ));
        };
        names.extend(decls.iter().filter_map(Value::as_object).filter_map(|d| {
            let name = d.get("name").and_then(Value::as_str)?;
            let schema = match (get(d, "parametersJsonSchema"), get(d, "parameters")) {
                (Some((_, s)), _) => Some(s.clone()),
                (None, Some((_, s))) => Some(super::schema::to_json_schema(s)),
                (None, None) => None,
            };
            Some(neutral_tool(d, name, schema.as_ref(), true, known))
        }));
    }
    Ok(names)
}

/// The error of an API error body (`{"error": {"code", "message", "status"}}`).
pub(super) fn error_text(error: &Value) -> String {
    let status = error.get("status").and_then(Value::as_str);
    let message = error.get("message").and_then(Value::as_str);
    match (status, message) {
        (Some(s), Some(m)) => format!("{s}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => error.to_string(),
    }
}

/// The first candidate of a reply, checked.
pub(super) fn candidate(root: &Obj) -> Result<(&Obj, String), FormatError> {
    let (k, cands) = match get(root, "candidates") {
        Some((k, Value::Array(a))) => (k, a),
        other => {
            let why = match get(root, "promptFeedback") {
                Some((_, f)) => format!(" (promptFeedback: {})", shorten(&f.to_string())),
                None => String::new(),
            };
            return Err(FormatError::new(
                "candidates",
                format!(
                    "expected an array of candidates, found {}{why}",
                    describe(other.map(|(_, v)| v))
                ),
            ));
        }
    };
    let path = at_index(k, 0);
    let first = cands.first().ok_or_else(|| {
        FormatError::new(k, "expected at least one candidate, found an empty array")
    })?;
    Ok((object(first, &path, "a candidate object")?, path))
}

pub(super) fn parse_reply(body: &Value) -> Result<Reply, FormatError> {
    let root = object(body, "", "a GenerateContentResponse object")?;
    if let Some(err) = root.get("error") {
        return Err(FormatError::new(
            "",
            format!(
                "expected a GenerateContentResponse, found an error body ({})",
                error_text(err)
            ),
        ));
    }
    let (cand, cpath) = candidate(root)?;
    let parts = match get(cand, "content") {
        None => Vec::new(),
        Some((k, content)) => {
            let cpath = at_key(&cpath, k);
            let content = object(content, &cpath, "a content object")?;
            match get(content, "parts") {
                None => Vec::new(),
                Some(_) => {
                    let pieces =
                        content_pieces(content, Place::Other).map_err(|e| e.under(&cpath))?;
                    neutral_parts(pieces, &mut Pairing::default())
                }
            }
        }
    };
    let message = Message {
        role: Role::Assistant,
        parts,
        wire_index: 0,
        wire_len: 1,
    };
    let finish = opt_str(cand, "finishReason", &cpath)?;
    let stop = if message.calls().next().is_some() {
        // Calls end with STOP like answers do: the calls are the signal (protocols.md §4.2).
        StopReason::ToolUse
    } else {
        match finish {
            None | Some("STOP") => StopReason::EndTurn,
            Some(other) => StopReason::Other(other.to_string()),
        }
    };
    let id = opt_str(root, "responseId", "")?.map(str::to_string);
    Ok(Reply { id, message, stop })
}

/// The tools of a request body that declare functions (for detection).
pub(super) fn declares_functions(body: &Value) -> bool {
    body.as_object()
        .and_then(|root| get(root, "tools"))
        .and_then(|(_, t)| t.as_array())
        .is_some_and(|tools| {
            tools.iter().any(|t| {
                t.as_object()
                    .is_some_and(|t| get(t, "functionDeclarations").is_some())
            })
        })
}

/// Whether a request's `contents` holds Gemini contents (objects with `parts`).
pub(super) fn has_contents(body: &Value) -> bool {
    body.as_object()
        .and_then(|root| get(root, "contents"))
        .and_then(|(_, c)| c.as_array())
        .is_some_and(|c| {
            !c.is_empty()
                && c.iter().all(|x| {
                    x.as_object()
                        .is_some_and(|o| get(o, "parts").is_some_and(|(_, p)| p.is_array()))
                })
        })
}
