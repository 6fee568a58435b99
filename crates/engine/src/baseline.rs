//! `--expected-failures FILE`: a committed baseline of known violations, so a team can adopt
//! tooltape on a handler that is not clean yet and still fail CI on anything new.
//!
//! ```json
//! {
//!   "format": "tooltape-baseline",
//!   "version": 1,
//!   "expected": [
//!     { "scenario": "anthropic-failing_tool", "rule": "missing-result" },
//!     { "scenario": "openai-chat-hung_tool", "rule": "timeout-not-enforced", "turn": 1,
//!       "call_id": "call_pNyIyeibYBbyyl0jhjWWj2EV", "note": "fixed by PR 123" }
//!   ]
//! }
//! ```
//!
//! An entry names a scenario (its name, as the report shows it) and a rule id; `turn` and
//! `call_id` narrow it to one turn or one call, `note` is free text for people. A violation
//! that an entry matches is *expected*: reported, but not failing. Anything else fails as usual.
//! An entry that matches nothing in a scenario that ran is *fixed* and should be removed; one
//! that names no scenario of the suite is *unknown*. Neither fails the run, both are shown.
//! Errors of a run (a handler that crashed, a run that timed out) have no rule id and cannot
//! be baselined.
//!
//! `--write-baseline FILE` writes the current failing violations, one entry per scenario and
//! rule; see [`refresh`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};
use crate::replay::ScenarioReport;
use crate::rules::{RuleId, Violation};

/// The `format` value of every baseline.
pub const FORMAT: &str = "tooltape-baseline";
/// The newest baseline version this build reads and writes.
pub const VERSION: u32 = 1;

/// A baseline as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// Always `"tooltape-baseline"`.
    pub format: String,
    /// Format version; this build reads version 1.
    pub version: u32,
    /// The known violations.
    #[serde(default)]
    pub expected: Vec<Entry>,
}

/// One known violation, or family of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The scenario's name.
    pub scenario: String,
    /// The rule it breaks.
    pub rule: RuleId,
    /// Only in this turn (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<usize>,
    /// Only for this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// Why it is here, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Entry {
    /// Whether this entry covers violation `v` of scenario `scenario`.
    pub fn matches(&self, scenario: &str, v: &Violation) -> bool {
        self.scenario == scenario
            && self.rule == v.rule
            && self.turn.is_none_or(|t| t == v.turn)
            && self
                .call_id
                .as_deref()
                .is_none_or(|c| v.call_id.as_deref() == Some(c))
    }

    /// `scenario rule [turn N] [call ID]`, for reports.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.scenario, self.rule);
        if let Some(t) = self.turn {
            s.push_str(&format!(" turn {t}"));
        }
        if let Some(c) = &self.call_id {
            s.push_str(&format!(" call {c}"));
        }
        s
    }
}

/// A baseline read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

/// Why an entry no longer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaleReason {
    /// Its scenario ran and broke no such rule.
    Fixed,
    /// No scenario of the suite has that name.
    UnknownScenario,
}

/// An entry that no longer applies: it should be removed from the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stale {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Why.
    pub reason: StaleReason,
}

impl Baseline {
    /// Read a baseline file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = crate::error::read_text(path)?;
        Self::parse(path, &text)
    }

    /// Parse a baseline from text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        let file: BaselineFile = crate::error::from_json_text(path, text)?;
        let at = |p: &str| Location::pointer(path, text, p.to_string());
        crate::error::Header {
            kind: "baseline",
            format: FORMAT,
            version: VERSION,
        }
        .check(path, text, &file.format, file.version)?;
        for (i, e) in file.expected.iter().enumerate() {
            if e.scenario.trim().is_empty() {
                return Err(Error::invalid(
                    at(&format!("expected[{i}].scenario")),
                    "the scenario name is empty".into(),
                ));
            }
            if e.turn == Some(0) {
                return Err(Error::invalid(
                    at(&format!("expected[{i}].turn")),
                    "turns are numbered from 1".into(),
                ));
            }
            let key = |x: &Entry| (x.scenario.clone(), x.rule, x.turn, x.call_id.clone());
            if let Some(j) = file.expected[..i].iter().position(|p| key(p) == key(e)) {
                return Err(Error::invalid(
                    at(&format!("expected[{i}]")),
                    format!("the same entry as expected[{j}]"),
                ));
            }
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            entries: file.expected,
        })
    }

    /// Whether violation `v` of scenario `scenario` is a known one.
    pub fn expects(&self, scenario: &str, v: &Violation) -> bool {
        self.entries.iter().any(|e| e.matches(scenario, v))
    }

    /// The entries that no longer apply, given the reports of the scenarios that ran and the
    /// names of every scenario of the suite (also those left out by `--filter` or
    /// `--partition`, whose entries are neither used nor stale).
    pub fn stale(&self, reports: &[ScenarioReport], suite_names: &BTreeSet<String>) -> Vec<Stale> {
        let mut out = Vec::new();
        for e in &self.entries {
            let reason = if !suite_names.contains(&e.scenario) {
                StaleReason::UnknownScenario
            } else if reports.iter().any(|r| r.name == e.scenario)
                && !violations_of(reports, &e.scenario).any(|v| e.matches(&e.scenario, v))
            {
                StaleReason::Fixed
            } else {
                continue;
            };
            out.push(Stale {
                entry: e.clone(),
                reason,
            });
        }
        out
    }
}

/// Every violation of every run of the scenarios named `name`.
fn violations_of<'a>(
    reports: &'a [ScenarioReport],
    name: &'a str,
) -> impl Iterator<Item = &'a Violation> {
    reports
        .iter()
        .filter(move |r| r.name == name)
        .flat_map(|r| r.runs.iter().flat_map(|run| run.violations.iter()))
}

/// The entries a baseline written now should hold: `old`'s entries for scenarios of the suite
/// that did not run and those that still match a violation (notes and narrowing kept), plus
/// one entry per scenario and rule for every failing violation they do not cover. Entries
/// naming no scenario of `suite_names` are dropped. Sorted, so the committed file diffs well.
pub fn refresh(
    old: Option<&Baseline>,
    reports: &[ScenarioReport],
    suite_names: &BTreeSet<String>,
    lenient: bool,
) -> Vec<Entry> {
    let ran: BTreeSet<&str> = reports.iter().map(|r| r.name.as_str()).collect();
    let mut out: Vec<Entry> = old
        .map(|b| b.entries.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|e| suite_names.contains(&e.scenario))
        .filter(|e| {
            !ran.contains(e.scenario.as_str())
                || violations_of(reports, &e.scenario).any(|v| e.matches(&e.scenario, v))
        })
        .cloned()
        .collect();
    for r in reports {
        for v in r.runs.iter().flat_map(|run| run.failing(lenient)) {
            if !out.iter().any(|e| e.matches(&r.name, v)) {
                out.push(Entry {
                    scenario: r.name.clone(),
                    rule: v.rule,
                    turn: None,
                    call_id: None,
                    note: None,
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The text of a baseline file holding `entries`.
pub fn render(entries: &[Entry]) -> String {
    let file = BaselineFile {
        format: FORMAT.into(),
        version: VERSION,
        expected: entries.to_vec(),
    };
    serde_json::to_string_pretty(&file).expect("a baseline always serializes") + "\n"
}

/// Write a baseline file holding `entries`.
pub fn write(path: &Path, entries: &[Entry]) -> Result<(), Error> {
    std::fs::write(path, render(entries)).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;
    use crate::replay::RunReport;

    fn v(rule: RuleId, turn: usize, call: &str) -> Violation {
        Violation::new(rule, turn, Some(call), "m")
    }

    fn report(name: &str, violations: Vec<Violation>) -> ScenarioReport {
        ScenarioReport {
            name: name.into(),
            path: PathBuf::from(format!("{name}.json")),
            provider: Provider::Anthropic,
            handler: "h".into(),
            runs: vec![RunReport {
                order: "call".into(),
                seed: 42,
                violations,
                error: None,
                notes: vec![],
                turns: vec![],
                output: None,
                timed_out: false,
                repeats: 0,
            }],
            harness_error: None,
        }
    }

    fn parse(text: &str) -> Result<Baseline, Error> {
        Baseline::parse(Path::new("b.json"), text)
    }

    #[test]
    fn entries_match_by_scenario_and_rule_and_narrow_by_turn_and_call() {
        let b = parse(
            r#"{"format":"tooltape-baseline","version":1,"expected":[
                {"scenario":"a","rule":"missing-result"},
                {"scenario":"b","rule":"missing-result","turn":2,"call_id":"c1"}]}"#,
        )
        .unwrap();
        assert!(b.expects("a", &v(RuleId::MissingResult, 3, "x")));
        assert!(!b.expects("a", &v(RuleId::UnknownResult, 1, "x")));
        assert!(b.expects("b", &v(RuleId::MissingResult, 2, "c1")));
        assert!(!b.expects("b", &v(RuleId::MissingResult, 1, "c1")));
        assert!(!b.expects("b", &v(RuleId::MissingResult, 2, "c2")));
    }

    #[test]
    fn stale_entries_are_fixed_or_unknown_and_scenarios_not_run_are_left_alone() {
        let b = parse(
            r#"{"format":"tooltape-baseline","version":1,"expected":[
                {"scenario":"a","rule":"missing-result"},
                {"scenario":"a","rule":"duplicate-result"},
                {"scenario":"not-run","rule":"missing-result"},
                {"scenario":"gone","rule":"missing-result"}]}"#,
        )
        .unwrap();
        let reports = [report("a", vec![v(RuleId::MissingResult, 1, "c")])];
        let names: BTreeSet<String> = ["a", "not-run"].map(String::from).into();
        let stale = b.stale(&reports, &names);
        let got: Vec<(&str, RuleId, StaleReason)> = stale
            .iter()
            .map(|s| (s.entry.scenario.as_str(), s.entry.rule, s.reason))
            .collect();
        assert_eq!(
            got,
            [
                ("a", RuleId::DuplicateResult, StaleReason::Fixed),
                ("gone", RuleId::MissingResult, StaleReason::UnknownScenario)
            ]
        );
    }

    #[test]
    fn refresh_keeps_live_entries_drops_fixed_ones_and_adds_new_ones() {
        let old = parse(
            r#"{"format":"tooltape-baseline","version":1,"expected":[
                {"scenario":"a","rule":"missing-result","call_id":"c","note":"known"},
                {"scenario":"a","rule":"duplicate-result"},
                {"scenario":"other","rule":"missing-result"},
                {"scenario":"gone","rule":"missing-result"}]}"#,
        )
        .unwrap();
        let reports = [report(
            "a",
            vec![
                v(RuleId::MissingResult, 1, "c"),
                v(RuleId::MissingResult, 1, "d"),
                v(RuleId::UnknownResult, 1, "e"),
            ],
        )];
        let names: BTreeSet<String> = ["a", "other"].map(String::from).into();
        let entries = refresh(Some(&old), &reports, &names, false);
        let text = render(&entries);
        let back = parse(&text).unwrap();
        assert_eq!(back.entries, entries);
        let got: Vec<String> = entries.iter().map(Entry::describe).collect();
        assert_eq!(
            got,
            [
                "a missing-result",
                "a missing-result call c",
                "a unknown-result",
                "other missing-result"
            ]
        );
        assert_eq!(entries[1].note.as_deref(), Some("known"));
    }

    #[test]
    fn bad_files_name_the_place() {
        let cases = [
            (
                r#"{"format":"tooltape-baseline","version":1,"expected":[{"scenario":"a","rule":"no-such"}]}"#,
                "b.json:1:",
            ),
            (
                "{\"format\":\"tooltape-baseline\",\n\"version\":1,\n\"expected\":[",
                "b.json:3:",
            ),
            (
                r#"{"format":"nope","version":1}"#,
                "expected \"tooltape-baseline\"",
            ),
            (
                r#"{"format":"tooltape-baseline","version":2}"#,
                "version 2 is not supported",
            ),
            (
                r#"{"format":"tooltape-baseline","version":1,"expected":[{"scenario":"a","rule":"missing-result","why":1}]}"#,
                "unknown field",
            ),
            (
                "{\"format\":\"tooltape-baseline\",\"version\":1,\"expected\":[\n{\"scenario\":\"a\",\"rule\":\"missing-result\"},\n{\"scenario\":\"a\",\"rule\":\"missing-result\"}]}",
                "b.json:3:1 (at `expected[1]`): the same entry as expected[0]",
            ),
            (
                r#"{"format":"tooltape-baseline","version":1,"expected":[{"scenario":"a","rule":"missing-result","turn":0}]}"#,
                "numbered from 1",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}\n=> {err}");
        }
    }
}
