//! What tooltape decided, as a log: each model request served or rejected, each tool call and
//! the call it was filed under, each barrier hold and release, each proxy exchange. Events are
//! `tracing` events under the `tooltape` target; this module only installs the subscriber that
//! writes them (off unless asked), for the command-line tool.

use std::path::Path;

use tracing_subscriber::EnvFilter;

/// The variable holding a filter in `RUST_LOG` syntax (`tooltape=debug`,
/// `tooltape::replay=trace`). It overrides the level `-v` picks.
pub const FILTER_VAR: &str = "TOOLTAPE_LOG";

/// When to colour the terminal output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set (or `CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// Apply `when` to everything tooltape writes: reports and logs alike.
pub fn set_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// The level `-v` given `n` times asks for: none, warnings, decisions (debug), everything
/// (trace). A log file with nothing in it is no use, so `--log` means at least debug.
fn level(verbosity: u8, to_file: bool) -> Option<&'static str> {
    match (verbosity, to_file) {
        (0, false) => None,
        (0..=2, true) | (2, false) => Some("debug"),
        (1, false) => Some("warn"),
        _ => Some("trace"),
    }
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `TOOLTAPE_LOG` does not parse.
    #[error(
        "{FILTER_VAR}={value:?} is not a filter ({source}); write it as RUST_LOG is written, e.g. tooltape=debug"
    )]
    Filter {
        /// The variable's value.
        value: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// The `--log` file cannot be created.
    #[error("cannot create the log file {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Install the subscriber: to stderr, or appended to `file`; at the level of `verbosity`
/// unless `TOOLTAPE_LOG` says otherwise. Does nothing when no log is asked for. Call once.
pub fn init(verbosity: u8, file: Option<&Path>) -> Result<(), LogError> {
    let from_env = std::env::var(FILTER_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match (&from_env, level(verbosity, file.is_some())) {
        (Some(value), _) => EnvFilter::try_new(value).map_err(|source| LogError::Filter {
            value: value.clone(),
            source,
        })?,
        (None, Some(level)) => EnvFilter::new(format!("tooltape={level}")),
        (None, None) => return Ok(()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_timer(tracing_subscriber::fmt::time::uptime());
    let installed = match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| LogError::File {
                    path: path.to_path_buf(),
                    source,
                })?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .try_init()
        }
        None => {
            // Colours follow --color / NO_COLOR as the reports do.
            let ansi =
                anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
            builder
                .with_ansi(ansi)
                .with_writer(std::io::stderr)
                .try_init()
        }
    };
    // A second call keeps the first subscriber: nothing to report.
    let _ = installed;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_picks_the_level_and_a_file_means_at_least_debug() {
        assert_eq!(level(0, false), None);
        assert_eq!(level(1, false), Some("warn"));
        assert_eq!(level(2, false), Some("debug"));
        assert_eq!(level(3, false), Some("trace"));
        assert_eq!(level(0, true), Some("debug"));
        assert_eq!(level(3, true), Some("trace"));
    }
}
