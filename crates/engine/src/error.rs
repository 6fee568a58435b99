//! Typed errors of the library. Every error from user input names the file and the place.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub line_col: Option<(usize, usize)>,
    /// The JSON path of the offending value (`exchanges[1].request.messages[0]`), when known.
    pub json_path: Option<String>,
}

impl Location {
    /// The whole file.
    pub fn file(file: &Path) -> Self {
        Location {
            file: file.to_path_buf(),
            line_col: None,
            json_path: None,
        }
    }

    /// A JSON path in a file whose text is `text`: the line and column are found in the text.
    /// For a path that is not there (a missing field), the nearest enclosing value is shown.
    pub fn pointer(file: &Path, text: &str, json_path: String) -> Self {
        let line_col = crate::jsonpos::locate(text, &json_path).or_else(|| {
            let mut p = json_path.as_str();
            while let Some(cut) = p.rfind(['.', '[']) {
                p = &p[..cut];
                if let Some(lc) = crate::jsonpos::locate(text, p) {
                    return Some(lc);
                }
            }
            None
        });
        Location {
            file: file.to_path_buf(),
            line_col,
            json_path: if json_path.is_empty() {
                None
            } else {
                Some(json_path)
            },
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((l, c)) = self.line_col {
            write!(f, ":{l}:{c}")?;
        }
        if let Some(p) = &self.json_path {
            write!(f, " (at `{p}`)")?;
        }
        Ok(())
    }
}

/// An error of tooltape's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    // The OS error is part of the message, not a `source`: printed through anyhow's `{:#}` it
    // would otherwise appear twice.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// An input file is not what it must be.
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What was expected and what was found.
        message: String,
    },
    /// A command-line value or argument is wrong.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }

    /// An invalid-input error.
    pub fn invalid(at: Location, message: String) -> Self {
        Error::Invalid { at, message }
    }
}

/// Read an input file as text. A directory, a device or pipe (`/dev/zero` would never end) and
/// text that is not UTF-8 are refused with what they are and, for bad UTF-8, the line and
/// column of the first bad byte.
pub fn read_text(path: &Path) -> Result<String, Error> {
    regular_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    utf8_text(path, bytes)
}

/// `path`'s metadata when it is a regular file; a directory, device, pipe or socket is refused
/// with what it is.
pub fn regular_file(path: &Path) -> Result<std::fs::Metadata, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::invalid(
            Location::file(path),
            "is a directory, not a file".into(),
        ));
    }
    if !meta.is_file() {
        return Err(Error::invalid(
            Location::file(path),
            "is not a regular file (a device, pipe or socket); give a file".into(),
        ));
    }
    Ok(meta)
}

/// The bytes read from `path` as text; bad UTF-8 is refused with the line and column of the
/// first bad byte.
pub fn utf8_text(path: &Path, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        // Columns count characters, as serde_json's do.
        let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        let bad = e.as_bytes()[good.len()];
        Error::Invalid {
            at: Location {
                file: path.to_path_buf(),
                line_col: Some((line, col)),
                json_path: None,
            },
            message: format!("not UTF-8 text: byte 0x{bad:02x} is not valid UTF-8 here"),
        }
    })
}

/// Deserialize JSON text into `T`, naming the file, line, column and JSON path on failure.
pub fn from_json_text<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let fail = |json_path: String, inner: serde_json::Error| {
        let line_col = (inner.line() > 0).then(|| (inner.line(), inner.column()));
        Error::Invalid {
            at: Location {
                file: path.to_path_buf(),
                line_col,
                json_path: (json_path != "." && !json_path.is_empty()).then_some(json_path),
            },
            message: clean_serde_message(&inner.to_string()),
        }
    };
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let json_path = e.path().to_string();
        fail(json_path, e.into_inner())
    })?;
    // Only whitespace may follow the value: `deserialize` alone accepts `{...} THIS IS NOT
    // JSON`.
    de.end().map_err(|e| match fail(String::new(), e) {
        Error::Invalid { at, message } => Error::Invalid {
            at,
            message: format!(
                "{message} after the JSON document (only one value may be in the file)"
            ),
        },
        other => other,
    })?;
    Ok(value)
}

/// serde_json appends " at line L column C" to its messages; the location is printed already.
fn clean_serde_message(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The `format` and `version` header every tooltape file starts with.
#[doc(hidden)] // for the `tooltape` crate
pub struct Header<'a> {
    /// What kind of file, for messages (`cassette`, `scenario`, `baseline`).
    pub kind: &'a str,
    /// The `format` value it must have.
    pub format: &'a str,
    /// The version this build reads.
    pub version: u32,
}

impl Header<'_> {
    /// Check a file's `format` and `version` fields; errors point at the field in `text`.
    pub fn check(&self, path: &Path, text: &str, format: &str, version: u32) -> Result<(), Error> {
        if format != self.format {
            return Err(Error::invalid(
                Location::pointer(path, text, "format".into()),
                format!("expected \"{}\", found {format:?}", self.format),
            ));
        }
        if version != self.version {
            return Err(Error::invalid(
                Location::pointer(path, text, "version".into()),
                format!(
                    "{} version {version} is not supported (this build reads version {})",
                    self.kind, self.version
                ),
            ));
        }
        Ok(())
    }
}
