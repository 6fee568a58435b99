//! The terminal report: a line per scenario, details for failures (rule, turn, call, message,
//! diff), timelines under `--verbose`, and a closing summary line CI logs can grep:
//! `12 passed, 1 failed` (with a baseline: `12 passed, 1 failed, 2 expected failures`).
//! Text is styled with anstyle; print it through an anstream stream so colour is dropped when
//! piped or when `NO_COLOR` is set.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{Status, Suite};
use crate::baseline::StaleReason;
use crate::replay::{RunReport, ScenarioReport};
use crate::rules::{Level, Violation};

const GREEN: Style = AnsiColor::Green.on_default().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const CYAN: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

/// How many lines of a failed handler process's output to show.
const OUTPUT_TAIL: usize = 20;

/// The whole report. With `verbose`, every scenario's timelines are shown.
pub fn render(suite: &Suite, verbose: bool) -> String {
    let mut out = String::new();
    let mut header = format!(
        "{BOLD}tooltape{BOLD:#} {} scenario(s), handler {}, seed {}",
        suite.scenarios.len(),
        suite.handler,
        suite.seed
    );
    if suite.lenient {
        header.push_str(", lenient");
    }
    if let Some(p) = suite.partition {
        let _ = write!(header, ", partition {p}");
    }
    if let Some(b) = &suite.baseline {
        let _ = write!(header, ", baseline {}", b.path.display());
    }
    let _ = writeln!(out, "{header}");
    let width = suite
        .scenarios
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(10)
        .min(48);
    // XFAIL is a letter longer than PASS and FAIL; pad only when it can appear, so reports
    // without a baseline keep their shape.
    let tag_width = if suite.baseline.is_some() { 5 } else { 4 };
    for s in &suite.scenarios {
        let status = suite.status(s);
        out.push_str(&scenario_line(s, status, width, tag_width));
        if status != Status::Passed {
            out.push_str(&details(s, suite.lenient, &|v| suite.is_expected(s, v)));
        }
        if verbose && let Some(run) = s.runs.first() {
            for t in &run.turns {
                for line in t.timeline(40).lines() {
                    let _ = writeln!(out, "      {DIM}{line}{DIM:#}");
                }
            }
        }
    }
    out.push_str(&stale_section(suite));
    let _ = writeln!(out);
    out.push_str(&summary_line(suite));
    out
}

/// The closing line: `N passed, M failed` first, always, then baseline figures if any.
pub fn summary_line(suite: &Suite) -> String {
    let (passed, failed) = suite.counts();
    let style = if failed == 0 { GREEN } else { RED };
    let mut line = format!("{passed} passed, {failed} failed");
    if suite.baseline.is_some() {
        let x = suite.expected_failures();
        let _ = write!(line, ", {x} expected failure{}", plural(x));
        let n = suite.stale.len();
        if n > 0 {
            let _ = write!(
                line,
                ", {n} baseline entr{} to remove",
                if n == 1 { "y" } else { "ies" }
            );
        }
    }
    format!("{style}{line}{style:#}\n")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn scenario_line(s: &ScenarioReport, status: Status, width: usize, tag_width: usize) -> String {
    let (tag, style) = match status {
        Status::Passed => ("PASS", GREEN),
        Status::Failed => ("FAIL", RED),
        Status::ExpectedFailure => ("XFAIL", YELLOW),
    };
    let first = s.runs.first();
    let turns = first.map_or(0, |r| r.turns.len());
    let calls: usize = first.map_or(0, |r| r.turns.iter().map(|t| t.calls).sum());
    let (conc, eff) = first.map_or((0.0, 0.0), figures);
    let warn = status == Status::Passed && !s.runs.iter().all(|r| r.violations.is_empty());
    format!(
        "{style}{tag:<tag_width$}{style:#} {:<width$} {DIM}{:<16}{DIM:#} {} run(s) {:>2} turn(s) {:>3} call(s)  concurrency {conc:>5.2}  efficiency {:>3.0}%{}\n",
        s.name,
        s.provider.as_str(),
        s.run_count(),
        turns,
        calls,
        eff * 100.0,
        if warn {
            format!("  {YELLOW}(should-level findings){YELLOW:#}")
        } else {
            String::new()
        }
    )
}

/// Concurrency and efficiency of a run over its turns with tools: sum of tool time over sum of
/// wall time, and sum of ideal over sum of wall.
fn figures(r: &RunReport) -> (f64, f64) {
    let (mut tools, mut wall, mut ideal) = (0.0, 0.0, 0.0);
    for t in r.turns.iter().filter(|t| !t.bars.is_empty()) {
        tools += t.tool_sum.as_secs_f64();
        wall += t.wall.as_secs_f64();
        ideal += t.ideal.as_secs_f64();
    }
    if wall == 0.0 {
        (if tools == 0.0 { 1.0 } else { 0.0 }, 1.0)
    } else {
        (tools / wall, (ideal / wall).min(1.0))
    }
}

/// The details of a failing scenario: each failing run's violations, deduplicated across runs
/// (a rule broken the same way in every order is shown once, with the orders it failed in).
pub fn failure_details(s: &ScenarioReport, lenient: bool) -> String {
    details(s, lenient, &|_| false)
}

/// [`failure_details`], with the violations `expected` accepts (listed in a baseline) shown on
/// one line each, marked as expected, without their diff.
fn details(s: &ScenarioReport, lenient: bool, expected: &dyn Fn(&Violation) -> bool) -> String {
    let mut out = String::new();
    // Per rule, turn and call: the orders that broke it, and how many folded runs (not
    // listed, `RunReport::repeats`) broke it too.
    let mut shown: Vec<(String, Vec<String>, u64)> = Vec::new();
    // Each note once, with the orders it applies to (a rejection reads the same in each).
    let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
    // The handler's output is shown once: with the first run error, else with the first run
    // that broke a rule.
    let mut output_shown = false;
    for run in &s.runs {
        if let Some(e) = &run.error {
            let _ = writeln!(
                out,
                "     {RED}error{RED:#} [order {}, seed {}]: {e}",
                run.order, run.seed
            );
            if let Some(output) = &run.output {
                out.push_str(&output_tail(output, None));
                output_shown = true;
            }
        }
        for v in &run.violations {
            // One line per rule, turn and call: the other orders that broke it the same way
            // (perhaps with another call's output) are listed after, not repeated.
            let key = format!(
                "{} turn {}{}",
                v.rule,
                v.turn,
                v.call_id
                    .as_deref()
                    .map(|c| format!(", call {c}"))
                    .unwrap_or_default()
            );
            if let Some((_, orders, folded)) = shown.iter_mut().find(|(k, _, _)| *k == key) {
                orders.push(run.order.clone());
                *folded += run.repeats;
                continue;
            }
            shown.push((key, vec![run.order.clone()], run.repeats));
            let is_expected = expected(v);
            let counts = !(lenient && v.level == Level::Should);
            let failing = counts && !is_expected;
            let (mark, style) = match (failing, is_expected) {
                (true, _) => ("✗", RED),
                (false, true) => ("~", YELLOW),
                (false, false) => ("✗", YELLOW),
            };
            let _ = writeln!(
                out,
                "     {style}{mark} {}{style:#} {DIM}({}){DIM:#} turn {}{}: {}{}",
                v.rule,
                v.level.as_str(),
                v.turn,
                v.call_id
                    .as_deref()
                    .map(|c| format!(", call {c}"))
                    .unwrap_or_default(),
                v.message,
                if is_expected {
                    format!("  {YELLOW}[expected: in the baseline]{YELLOW:#}")
                } else {
                    String::new()
                }
            );
            let _ = writeln!(
                out,
                "       {DIM}order {}, seed {}{DIM:#}",
                run.order, run.seed
            );
            if is_expected {
                continue;
            }
            if let Some(d) = &v.diff {
                for line in d.lines() {
                    let st = if line.starts_with('+') && !line.starts_with("+++") {
                        AnsiColor::Green.on_default()
                    } else if line.starts_with('-') && !line.starts_with("---") {
                        AnsiColor::Red.on_default()
                    } else {
                        DIM
                    };
                    let _ = writeln!(out, "       {st}{line}{st:#}");
                }
            }
        }
        if !run.passed(lenient)
            && run
                .violations
                .iter()
                .any(|v| timing_rule(v.rule) && !expected(v))
        {
            for t in &run.turns {
                for line in t.timeline(40).lines() {
                    let _ = writeln!(out, "       {DIM}{line}{DIM:#}");
                }
            }
        }
        if !output_shown
            && run.error.is_none()
            && !run.passed(lenient)
            && let Some(output) = &run.output
        {
            out.push_str(&output_tail(output, Some(&run.order)));
            output_shown = true;
        }
        for n in &run.notes {
            match notes.iter_mut().find(|(text, _)| text == n) {
                Some((_, orders)) => orders.push(&run.order),
                None => notes.push((n, vec![&run.order])),
            }
        }
    }
    for (n, orders) in notes {
        let label = if orders.len() == 1 { "order" } else { "orders" };
        let _ = writeln!(
            out,
            "       {DIM}note [{label} {}]: {n}{DIM:#}",
            orders.join(", ")
        );
    }
    let repeated: Vec<String> = shown
        .iter()
        .filter(|(_, o, folded)| o.len() > 1 || *folded > 0)
        .map(|(k, o, folded)| {
            let others = &o[1..];
            let listed = others
                .iter()
                .take(4)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = others.len().saturating_sub(4) as u64 + folded;
            if listed.is_empty() {
                return format!("{k}: also in {more} more run(s)");
            }
            format!(
                "{k}: also in order(s) {listed}{}",
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        })
        .collect();
    for r in repeated {
        let _ = writeln!(out, "       {DIM}{r}{DIM:#}");
    }
    out
}

/// The last lines of what a handler process printed (in the run of `order`, when named).
fn output_tail(output: &str, order: Option<&str>) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let skip = lines.len().saturating_sub(OUTPUT_TAIL);
    let mut out = format!(
        "       {DIM}output of the handler{}{}:{DIM:#}\n",
        order.map(|o| format!(" in order {o}")).unwrap_or_default(),
        if skip > 0 {
            format!(" (last {OUTPUT_TAIL} lines)")
        } else {
            String::new()
        }
    );
    for l in &lines[skip..] {
        let _ = writeln!(out, "       {DIM}| {l}{DIM:#}");
    }
    out
}

/// Baseline entries that no longer apply, so the file can shrink.
fn stale_section(suite: &Suite) -> String {
    let Some(b) = &suite.baseline else {
        return String::new();
    };
    if suite.stale.is_empty() {
        return String::new();
    }
    let n = suite.stale.len();
    let mut out = format!(
        "\n{CYAN}baseline {}{CYAN:#}: {n} entr{} no longer appl{}, remove {} from the file:\n",
        b.path.display(),
        if n == 1 { "y" } else { "ies" },
        if n == 1 { "ies" } else { "y" },
        if n == 1 { "it" } else { "them" },
    );
    for st in &suite.stale {
        let why = match st.reason {
            StaleReason::Fixed => "fixed  ",
            StaleReason::UnknownScenario => "unknown",
        };
        let tail = match st.reason {
            StaleReason::Fixed => "no longer fails",
            StaleReason::UnknownScenario => "no scenario of the suite has this name",
        };
        let _ = writeln!(
            out,
            "  {CYAN}{why}{CYAN:#} {} {DIM}({tail}){DIM:#}",
            st.entry.describe()
        );
    }
    out
}

fn timing_rule(r: crate::rules::RuleId) -> bool {
    use crate::rules::RuleId::*;
    matches!(
        r,
        SequentialExecution | UnsafeParallelWrites | TimeoutNotEnforced
    )
}

/// A failing scenario's details without colour, for assertion messages.
pub fn render_failures(s: &ScenarioReport) -> String {
    anstream::adapter::strip_str(&failure_details(s, false)).to_string()
}
