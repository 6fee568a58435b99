//! The `--junit` report (quick-junit): one `<testsuite>` for the run, one `<testcase>` per
//! scenario and completion order, named `anthropic-three_parallel [reverse]`, with the
//! provider as `classname` and the scenario file as `file`.
//!
//! - A run with failing violations gets a `<failure>` whose `message` names rule, call id and
//!   message of each, whose `type` is the rule id (ids joined by `, ` when several rules broke),
//!   and whose text has the details: level, turn, diff, order and seed.
//! - A run that ended in an error (a handler that crashed, a run that timed out) gets an
//!   `<error>` of type `run-error`.
//! - A run whose failing violations are all in the baseline is `<skipped>`, type
//!   `expected-failure`, as pytest reports an xfail.
//! - The seed, handler, partition and baseline are `<properties>` of the suite, and every
//!   testcase's `<system-out>` says its order and seed, so each can be reproduced.

use std::fmt::Write as _;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite, XmlString,
};

use super::{Status, Suite};
use crate::baseline::StaleReason;
use crate::replay::{RunReport, ScenarioReport};
use crate::rules::Violation;
use crate::runner::display_path;

/// The JUnit XML of a suite.
pub fn render(suite: &Suite) -> Result<String, std::io::Error> {
    let mut ts = TestSuite::new("tooltape");
    let mut props = vec![
        Property::new("handler", suite.handler.as_str()),
        Property::new("seed", suite.seed.to_string()),
        Property::new("lenient", suite.lenient.to_string()),
    ];
    if let Some(p) = suite.partition {
        props.push(Property::new("partition", p.to_string()));
    }
    if let Some(b) = &suite.baseline {
        props.push(Property::new("baseline", b.path.display().to_string()));
    }
    ts.add_properties(props);
    for s in &suite.scenarios {
        for run in &s.runs {
            ts.add_test_case(test_case(suite, s, run));
        }
    }
    ts.set_system_out(suite_out(suite));
    let mut report = Report::new("tooltape");
    report.add_test_suite(ts);
    report.to_string().map_err(std::io::Error::other)
}

fn test_case(suite: &Suite, s: &ScenarioReport, run: &RunReport) -> TestCase {
    let expected = |v: &Violation| suite.is_expected(s, v);
    let failing: Vec<&Violation> = run
        .failing(suite.lenient)
        .filter(|v| !expected(v))
        .collect();
    let status = match (suite.run_status(s, run), &run.error) {
        (_, Some(e)) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(e.as_str())
                .set_type("run-error")
                .set_description(describe(run, &|v| expected(v)));
            st
        }
        (Status::Failed, None) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(summarize(&failing))
                .set_type(rule_ids(&failing))
                .set_description(describe(run, &|v| expected(v)));
            st
        }
        (Status::ExpectedFailure, None) => {
            let listed: Vec<&Violation> = run.failing(suite.lenient).collect();
            let mut st = TestCaseStatus::skipped();
            st.set_message(format!(
                "expected failure (in the baseline): {}",
                summarize(&listed)
            ))
            .set_type("expected-failure")
            .set_description(describe(run, &|v| expected(v)));
            st
        }
        (Status::Passed, None) => TestCaseStatus::success(),
    };
    let mut tc = TestCase::new(format!("{} [{}]", s.name, run.order), status);
    tc.set_classname(s.provider.as_str());
    tc.extra.insert(
        XmlString::new("file"),
        XmlString::new(display_path(&s.path)),
    );
    let mut out = format!("order {}, seed {}\n", run.order, run.seed);
    if run.repeats > 0 {
        let _ = writeln!(
            out,
            "and {} more run(s) that ended the same way (folded, not listed)",
            run.repeats
        );
    }
    if !run.passed(suite.lenient) {
        let _ = writeln!(out, "reproduce: {}", reproduce(suite, s, run));
    }
    if run.passed(suite.lenient) && !run.violations.is_empty() {
        out.push_str(&describe(run, &|v| expected(v)));
    }
    if let Some(o) = &run.output {
        let _ = write!(out, "output of the handler:\n{o}");
    }
    tc.set_system_out(out);
    tc
}

/// The command line that replays this scenario with this run's seed.
fn reproduce(suite: &Suite, s: &ScenarioReport, run: &RunReport) -> String {
    let path = display_path(&s.path);
    let lenient = if suite.lenient { " --lenient" } else { "" };
    if suite.handler.starts_with("builtin:") {
        format!(
            "tooltape test {path} --handler {} --seed {}{lenient}",
            suite.handler, run.seed
        )
    } else {
        format!(
            "tooltape test {path} --seed {}{lenient} -- {}",
            run.seed, suite.handler
        )
    }
}

/// `rule (call ID): message; ...`.
fn summarize(vs: &[&Violation]) -> String {
    vs.iter()
        .map(|v| {
            let call = v
                .call_id
                .as_deref()
                .map(|c| format!(" (call {c})"))
                .unwrap_or_default();
            format!("{}{call}: {}", v.rule, v.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The distinct rule ids, in catalogue order.
fn rule_ids(vs: &[&Violation]) -> String {
    let ids: std::collections::BTreeSet<_> = vs.iter().map(|v| v.rule).collect();
    ids.iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every violation of a run with level, turn, call, message and diff.
fn describe(run: &RunReport, expected: &dyn Fn(&Violation) -> bool) -> String {
    let mut out = format!("order {}, seed {}\n", run.order, run.seed);
    if run.repeats > 0 {
        let _ = writeln!(
            out,
            "and {} more run(s) that ended the same way (folded, not listed)",
            run.repeats
        );
    }
    if let Some(e) = &run.error {
        let _ = writeln!(out, "error: {e}");
    }
    for v in &run.violations {
        let _ = writeln!(
            out,
            "{} {} ({}) turn {}{}: {}{}",
            if expected(v) { "~" } else { "✗" },
            v.rule,
            v.level.as_str(),
            v.turn,
            v.call_id
                .as_deref()
                .map(|c| format!(", call {c}"))
                .unwrap_or_default(),
            v.message,
            if expected(v) {
                " [expected: in the baseline]"
            } else {
                ""
            }
        );
        if let Some(d) = &v.diff {
            for line in d.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    for n in &run.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// The summary line and any stale baseline entries.
fn suite_out(suite: &Suite) -> String {
    let mut out = format!(
        "handler {}, seed {}\n{}",
        suite.handler,
        suite.seed,
        anstream::adapter::strip_str(&super::terminal::summary_line(suite))
    );
    for st in &suite.stale {
        let why = match st.reason {
            StaleReason::Fixed => "fixed, remove it from the baseline",
            StaleReason::UnknownScenario => {
                "no scenario has this name, remove it from the baseline"
            }
        };
        let _ = writeln!(out, "baseline entry {}: {why}", st.entry.describe());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::baseline::Baseline;
    use crate::provider::Provider;
    use crate::rules::RuleId;

    fn run(order: &str, violations: Vec<Violation>, error: Option<&str>) -> RunReport {
        RunReport {
            order: order.into(),
            seed: 7,
            violations,
            error: error.map(String::from),
            notes: vec![],
            turns: vec![],
            output: None,
            timed_out: false,
            repeats: 0,
        }
    }

    fn suite() -> Suite {
        let miss = Violation::new(
            RuleId::MissingResult,
            1,
            Some("c1"),
            "call c1 has no result",
        );
        let dup = Violation::new(
            RuleId::DuplicateResult,
            2,
            Some("c2"),
            "two <results> & more",
        );
        let s = ScenarioReport {
            name: "alpha".into(),
            path: PathBuf::from("scenarios/alpha.json"),
            provider: Provider::Anthropic,
            handler: "h".into(),
            runs: vec![
                run("call", vec![], None),
                run("reverse", vec![miss.clone(), dup], None),
                run("latency", vec![], Some("the handler failed: boom")),
            ],
            harness_error: None,
        };
        let t = ScenarioReport {
            name: "beta".into(),
            path: PathBuf::from("scenarios/beta.json"),
            provider: Provider::OpenAiChat,
            handler: "h".into(),
            runs: vec![run(
                "call",
                vec![Violation::new(RuleId::MissingResult, 1, Some("x"), "m")],
                None,
            )],
            harness_error: None,
        };
        let b = Baseline::parse(
            std::path::Path::new("b.json"),
            r#"{"format":"tooltape-baseline","version":1,"expected":[{"scenario":"beta","rule":"missing-result"}]}"#,
        )
        .unwrap();
        let names = ["alpha", "beta"].map(String::from).into();
        Suite::new("builtin:x".into(), 7, false, vec![s, t]).with_baseline(b, &names)
    }

    #[test]
    fn one_testcase_per_run_with_failures_errors_and_expected_failures() {
        let xml = render(&suite()).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
        assert_eq!(
            names,
            [
                "alpha [call]",
                "alpha [reverse]",
                "alpha [latency]",
                "beta [call]"
            ]
        );
        assert_eq!(cases[0].attribute("classname"), Some("anthropic"));
        assert_eq!(cases[0].attribute("file"), Some("scenarios/alpha.json"));
        let failure = cases[1]
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            failure.attribute("type"),
            Some("missing-result, duplicate-result")
        );
        let msg = failure.attribute("message").unwrap();
        assert!(
            msg.contains("missing-result (call c1): call c1 has no result"),
            "{msg}"
        );
        assert!(
            msg.contains("duplicate-result (call c2): two <results> & more"),
            "{msg}"
        );
        assert!(failure.text().unwrap().contains("seed 7"));
        let out = cases[1]
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap();
        let out = out.text().unwrap();
        assert!(
            out.contains(
                "reproduce: tooltape test scenarios/alpha.json --handler builtin:x --seed 7"
            ),
            "{out}"
        );
        let error = cases[2]
            .children()
            .find(|n| n.has_tag_name("error"))
            .unwrap();
        assert_eq!(error.attribute("type"), Some("run-error"));
        let skipped = cases[3]
            .children()
            .find(|n| n.has_tag_name("skipped"))
            .unwrap();
        assert_eq!(skipped.attribute("type"), Some("expected-failure"));
        let suite_el = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite_el.attribute("tests"), Some("4"));
        assert_eq!(suite_el.attribute("failures"), Some("1"));
        assert_eq!(suite_el.attribute("errors"), Some("1"));
        let seed = doc
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("seed"))
            .unwrap();
        assert_eq!(seed.attribute("value"), Some("7"));
    }
}
