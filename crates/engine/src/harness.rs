//! `cargo test` over a folder of scenarios: one test case per scenario file, for your own
//! in-process handler.
//!
//! In your crate, add a test target with `harness = false`:
//!
//! ```toml
//! [[test]]
//! name = "tooltape"
//! harness = false
//! ```
//!
//! and in `tests/tooltape.rs`:
//!
//! ```no_run
//! # use tooltape::handler::{BoxError, Env};
//! # async fn my_agent(env: Env) -> Result<(), BoxError> { Ok(()) }
//! fn main() {
//!     let handler = tooltape::handler::from_fn("my-agent", my_agent);
//!     tooltape::harness::main("tests/scenarios", handler);
//! }
//! ```
//!
//! `cargo test` then lists `tooltape::<scenario>` cases; filtering, `--list` and nextest work
//! as usual. A failing case prints every broken rule with its diff and the seed.

use std::path::Path;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::error::Error;
use crate::handler::Handler;

/// The seed used unless `TOOLTAPE_SEED` says otherwise.
pub const DEFAULT_SEED: u64 = 42;

/// One trial per scenario file under `dir`, each replaying it against `handler` under every
/// completion order it declares. `TOOLTAPE_SEED` overrides the seed; `TOOLTAPE_LENIENT=1`
/// reports should-level rules without failing.
pub fn trials<H: Handler + 'static>(
    dir: impl AsRef<Path>,
    handler: H,
) -> Result<Vec<Trial>, Error> {
    let files = crate::runner::discover(&[dir.as_ref().to_path_buf()])?;
    let handler = Arc::new(handler);
    let seed = std::env::var("TOOLTAPE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let lenient = std::env::var_os("TOOLTAPE_LENIENT").is_some_and(|v| v == "1");
    Ok(files
        .into_iter()
        .map(|file| {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let handler = handler.clone();
            Trial::test(format!("tooltape::{name}"), move || {
                let scenario =
                    crate::scenario::load(&file).map_err(|e| Failed::from(e.to_string()))?;
                let report =
                    crate::handler::run_scenario(Arc::new(scenario), handler.as_ref(), seed);
                if report.passed(lenient) {
                    Ok(())
                } else {
                    Err(crate::report::terminal::render_failures(&report).into())
                }
            })
        })
        .collect())
}

/// Run every scenario under `dir` as a test case and exit with the test runner's status.
pub fn main<H: Handler + 'static>(dir: impl AsRef<Path>, handler: H) -> ! {
    let args = Arguments::from_args();
    match trials(dir, handler) {
        Ok(t) => libtest_mimic::run(&args, t).exit(),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2)
        }
    }
}
