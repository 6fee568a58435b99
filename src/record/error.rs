//! What can stop `tooltape record`, each saying what to do about it.

use std::path::PathBuf;

use crate::provider::Provider;

/// Why a recording could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// An input file (the cassette to extend or replay) or the output path is wrong.
    #[error(transparent)]
    Input(#[from] crate::error::Error),
    /// A `--redact` pattern does not compile, or would mask nothing useful.
    #[error("--redact {pattern:?} is not a usable regular expression: {message}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// `--upstream` is not an http(s) URL.
    #[error("--upstream {url:?}: {message} (expected a base URL like https://api.anthropic.com)")]
    BadUpstream {
        /// The value as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The output file exists and the mode does not allow replacing or extending it.
    #[error("{}: the file exists; {hint}", path.display())]
    Exists {
        /// The `--out` file.
        path: PathBuf,
        /// What to do instead.
        hint: &'static str,
    },
    /// No command after `--`.
    #[error(
        "no command given: put the agent's command after `--`, like `tooltape record --out c.json -- python agent.py`"
    )]
    NoCommand,
    /// The command could not be started.
    #[error("could not start `{command}`: {error}")]
    Spawn {
        /// The command line.
        command: String,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The proxy (or its runtime) could not be started.
    #[error("could not start the recording proxy on 127.0.0.1: {0}")]
    Proxy(std::io::Error),
    /// A credential the run used would have been written.
    #[error(
        "refusing to write {}: the credential from {source_name} ({len} characters) appears {form} \
         in {place}. Nothing was written{}. Mask it with --redact REGEX, or keep it out of the \
         agent's prompts and tool outputs",
        path.display(),
        if *existed { "; the old file is unchanged" } else { "" }
    )]
    CredentialInFile {
        /// The `--out` file.
        path: PathBuf,
        /// Where the credential came from (an environment variable, a request header, a query
        /// parameter).
        source_name: String,
        /// Its length (the value itself is never printed).
        len: usize,
        /// `verbatim`, or the encodings around it.
        form: String,
        /// Where in the cassette: the exchange, the event(s), the field.
        place: String,
        /// Whether an older file is at the path.
        existed: bool,
    },
    /// The run called more than one API.
    #[error(
        "the run called the {first} API and then the {other} API; a cassette holds one API, so record each in a run of its own"
    )]
    MixedProviders {
        /// The API of the first model request.
        first: Provider,
        /// The other one.
        other: Provider,
    },
    /// `--mode new` on a cassette of another API.
    #[error("--mode new: {} holds a cassette of the {old} API but the run called the {new} API", path.display())]
    ProviderChanged {
        /// The `--out` file.
        path: PathBuf,
        /// The cassette's API.
        old: Provider,
        /// The run's.
        new: Provider,
    },
}

impl RecordError {
    /// The exit code: 2 for a wrong command line or input, 1 for a run that could not be recorded.
    pub fn exit_code(&self) -> u8 {
        match self {
            RecordError::Input(_)
            | RecordError::BadPattern { .. }
            | RecordError::BadUpstream { .. }
            | RecordError::Exists { .. }
            | RecordError::NoCommand
            | RecordError::Spawn { .. } => 2,
            RecordError::Proxy(_)
            | RecordError::CredentialInFile { .. }
            | RecordError::MixedProviders { .. }
            | RecordError::ProviderChanged { .. } => 1,
        }
    }
}
