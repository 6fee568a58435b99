//! One test case per bundled scenario file. Each case replays the scenario under every
//! completion order it declares against every built-in handler, and checks that
//! - the reference handler passes,
//! - each `breaks-<rule>` handler is caught breaking exactly its rule where the scenario
//!   exercises it, and breaks nothing where it does not (or exactly the set the scenario's
//!   `expect` names).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use tooltape::handler::Handler;
use tooltape::handler::builtin;
use tooltape::report::terminal::render_failures;
use tooltape::rules::RuleId;

const SEED: u64 = 42;

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = tooltape::runner::discover(&[root.join("scenarios")]).expect("bundled scenarios");
    let trials = files
        .into_iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            Trial::test(format!("scenario::{name}"), move || check(&f))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn check(path: &Path) -> Result<(), Failed> {
    let scenario = Arc::new(tooltape::scenario::load(path).map_err(|e| e.to_string())?);
    let exercised: BTreeSet<RuleId> = scenario.file.exercises.iter().copied().collect();
    let mut problems = Vec::new();
    // The list in the file is what tooltape computes from the rule table's conditions.
    let computed = tooltape::replay::exercise::exercised(&scenario, SEED);
    if computed != scenario.file.exercises {
        problems.push(format!(
            "`exercises` lists {:?}, the rule table computes {:?} (tooltape scenario exercises --write)",
            scenario.file.exercises.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            computed.iter().map(|r| r.as_str()).collect::<Vec<_>>()
        ));
    }
    for handler in builtin::all() {
        let expected: BTreeSet<RuleId> = match scenario.file.expect.get(handler.name()) {
            Some(rules) => rules.iter().copied().collect(),
            None => match handler.breaks() {
                Some(rule) if exercised.contains(&rule) => [rule].into(),
                _ => BTreeSet::new(),
            },
        };
        let report = tooltape::handler::run_scenario(scenario.clone(), &handler, SEED);
        let got = report.rules_broken();
        let errors: Vec<&String> = report
            .runs
            .iter()
            .filter_map(|r| r.error.as_ref())
            .collect();
        if got != expected || !errors.is_empty() {
            problems.push(format!(
                "{}: expected {:?}, got {:?}{}\n{}",
                handler.name(),
                expected.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                got.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(" and errors {errors:?}")
                },
                render_failures(&report)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}
