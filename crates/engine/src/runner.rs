//! Finding scenario files and running a suite of them, scenarios side by side.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;
use crate::handler::Handler;
use crate::partition::Partition;
use crate::replay::ScenarioReport;
use crate::scenario::{self, Scenario};

/// The scenario files under `paths` (files as given, folders searched for `*.json`), sorted
/// within each folder. A path that does not exist, or a folder with no scenario, is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            out.push(p.clone());
        } else if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            if found.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: no scenario files (*.json) in this folder",
                    p.display()
                )));
            }
            out.append(&mut found);
        } else {
            return Err(Error::Usage(format!(
                "{}: no such file or folder",
                p.display()
            )));
        }
    }
    Ok(out)
}

/// Load every scenario; all errors are returned, not just the first.
pub fn load_all(files: &[PathBuf]) -> (Vec<Arc<Scenario>>, Vec<Error>) {
    let mut ok = Vec::new();
    let mut errs = Vec::new();
    for f in files {
        match scenario::load(f) {
            Ok(s) => ok.push(Arc::new(s)),
            Err(e) => errs.push(e),
        }
    }
    (ok, errs)
}

/// Keep the scenarios whose name contains `filter`.
pub fn filter(scenarios: Vec<Arc<Scenario>>, filter: Option<&str>) -> Vec<Arc<Scenario>> {
    match filter {
        Some(f) => scenarios
            .into_iter()
            .filter(|s| s.name.contains(f))
            .collect(),
        None => scenarios,
    }
}

/// Keep the scenarios of one shard (`--partition K/N`); see [`crate::partition`].
pub fn partition(
    scenarios: Vec<Arc<Scenario>>,
    partition: Option<Partition>,
) -> Vec<Arc<Scenario>> {
    match partition {
        Some(p) => scenarios
            .into_iter()
            .filter(|s| p.contains(&s.name))
            .collect(),
        None => scenarios,
    }
}

/// Run each scenario against `handler` on the virtual clock, `jobs` at a time. Reports come
/// back in the scenarios' order whatever the scheduling.
pub fn run_suite(
    scenarios: &[Arc<Scenario>],
    handler: &dyn Handler,
    seed: u64,
    jobs: usize,
    on_done: &(dyn Fn(&ScenarioReport) + Sync),
) -> Vec<ScenarioReport> {
    let next = AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<ScenarioReport>>> = scenarios
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(scenarios.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(s) = scenarios.get(i) else { break };
                    // A panic here (in the engine or an in-process handler) must not take
                    // the scenario out of the suite: it is reported as a harness failure.
                    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        crate::handler::run_scenario(s.clone(), handler, seed)
                    }))
                    .unwrap_or_else(|payload| {
                        ScenarioReport::harness_failure(
                            s,
                            handler.name().to_string(),
                            crate::util::panic_message(payload.as_ref()),
                        )
                    });
                    on_done(&report);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
                }
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

/// Where a path is shown relative to the working folder, when it is under it.
pub fn display_path(p: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
        .display()
        .to_string()
}
