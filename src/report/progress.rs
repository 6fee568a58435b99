//! A progress bar for long runs (indicatif), drawn on stderr and only where a person watches:
//! never when stdout is not a terminal, under CI, or when a machine report goes to stdout.
//! It clears itself when done, so the report that follows is the same as without it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::replay::ScenarioReport;

/// Fewer scenarios than this finish too quickly for a bar to help.
pub const MIN_SCENARIOS: usize = 8;

/// Where the bar may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Surroundings {
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr (where the bar is drawn) is a terminal.
    pub stderr_tty: bool,
    /// The `CI` variable is set (to anything but `false` or `0`).
    pub ci: bool,
    /// A machine-readable report goes to stdout (`--json -`, `--junit -`).
    pub machine_stdout: bool,
}

impl Surroundings {
    /// This process's.
    pub fn detect(machine_stdout: bool) -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| v != "false" && v != "0");
        Surroundings {
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            ci,
            machine_stdout,
        }
    }

    /// Whether a bar for `scenarios` scenarios should be drawn.
    pub fn show_bar(&self, scenarios: usize) -> bool {
        scenarios >= MIN_SCENARIOS
            && self.stdout_tty
            && self.stderr_tty
            && !self.ci
            && !self.machine_stdout
    }
}

/// The bar of a suite run; hidden where [`Surroundings::show_bar`] says so.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `scenarios` scenarios.
    pub fn new(scenarios: usize, around: Surroundings) -> Self {
        if !around.show_bar(scenarios) {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar =
            ProgressBar::with_draw_target(Some(scenarios as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} scenarios  {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    /// Count one scenario done; use as `runner::run_suite`'s `on_done`.
    pub fn done(&self, report: &ScenarioReport) {
        self.bar.set_message(report.name.clone());
        self.bar.inc(1);
    }

    /// Whether the bar is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Remove the bar from the screen.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Say something on stderr while the run goes on (above the bar when it is drawn).
    pub fn note(&self, text: &str) {
        if self.bar.is_hidden() {
            use std::io::Write;
            let _ = writeln!(anstream::stderr(), "{text}");
        } else {
            self.bar.println(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_only_for_a_person_watching_a_long_run() {
        let person = Surroundings {
            stdout_tty: true,
            stderr_tty: true,
            ci: false,
            machine_stdout: false,
        };
        assert!(person.show_bar(MIN_SCENARIOS));
        assert!(!person.show_bar(MIN_SCENARIOS - 1));
        for other in [
            Surroundings {
                stdout_tty: false,
                ..person
            },
            Surroundings {
                stderr_tty: false,
                ..person
            },
            Surroundings { ci: true, ..person },
            Surroundings {
                machine_stdout: true,
                ..person
            },
        ] {
            assert!(!other.show_bar(100), "{other:?}");
        }
        assert!(Progress::new(100, Surroundings { ci: true, ..person }).is_hidden());
    }
}
