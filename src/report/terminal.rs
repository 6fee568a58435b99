//! The terminal report: a line per scenario, details for failures (rule, turn, call, message,
//! diff), timelines under `--verbose`, and a closing summary line CI logs can grep:
//! `12 passed, 1 failed`. Text is styled with anstyle; print it through an anstream stream so
//! colour is dropped when piped or when `NO_COLOR` is set.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::Suite;
use crate::replay::{RunReport, ScenarioReport};
use crate::rules::Level;

const GREEN: Style = AnsiColor::Green.on_default().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

/// The whole report. With `verbose`, every scenario's timelines are shown.
pub fn render(suite: &Suite, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{BOLD}tooltape{BOLD:#} {} scenario(s), handler {}, seed {}{}",
        suite.scenarios.len(),
        suite.handler,
        suite.seed,
        if suite.lenient { ", lenient" } else { "" }
    );
    let width = suite.scenarios.iter().map(|s| s.name.len()).max().unwrap_or(10).min(48);
    for s in &suite.scenarios {
        out.push_str(&scenario_line(s, suite.lenient, width));
        if !s.passed(suite.lenient) {
            out.push_str(&failure_details(s, suite.lenient));
        }
        if verbose {
            if let Some(run) = s.runs.first() {
                for t in &run.turns {
                    for line in t.timeline(40).lines() {
                        let _ = writeln!(out, "      {DIM}{line}{DIM:#}");
                    }
                }
            }
        }
    }
    let (passed, failed) = suite.counts();
    let _ = writeln!(out);
    let style = if failed == 0 { GREEN } else { RED };
    let _ = writeln!(out, "{style}{passed} passed, {failed} failed{style:#}");
    out
}

fn scenario_line(s: &ScenarioReport, lenient: bool, width: usize) -> String {
    let passed = s.passed(lenient);
    let (tag, style) = if passed { ("PASS", GREEN) } else { ("FAIL", RED) };
    let first = s.runs.first();
    let turns = first.map_or(0, |r| r.turns.len());
    let calls: usize = first.map_or(0, |r| r.turns.iter().map(|t| t.calls).sum());
    let (conc, eff) = first.map_or((0.0, 0.0), figures);
    let warn = !s.runs.iter().all(|r| r.violations.is_empty()) && passed;
    format!(
        "{style}{tag}{style:#} {:<width$} {DIM}{:<16}{DIM:#} {} run(s) {:>2} turn(s) {:>3} call(s)  concurrency {conc:>5.2}  efficiency {:>3.0}%{}\n",
        s.name,
        s.provider.as_str(),
        s.runs.len(),
        turns,
        calls,
        eff * 100.0,
        if warn { format!("  {YELLOW}(should-level findings){YELLOW:#}") } else { String::new() }
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
    let mut out = String::new();
    let mut shown: Vec<(String, Vec<String>)> = Vec::new();
    for run in &s.runs {
        if let Some(e) = &run.error {
            let _ = writeln!(out, "     {RED}error{RED:#} [order {}, seed {}]: {e}", run.order, run.seed);
        }
        for v in &run.violations {
            let key = format!("{}|{}|{:?}|{}", v.rule, v.turn, v.call_id, v.message);
            if let Some((_, orders)) = shown.iter_mut().find(|(k, _)| *k == key) {
                orders.push(run.order.clone());
                continue;
            }
            shown.push((key, vec![run.order.clone()]));
            let failing = !(lenient && v.level == Level::Should);
            let style = if failing { RED } else { YELLOW };
            let _ = writeln!(
                out,
                "     {style}✗ {}{style:#} {DIM}({}){DIM:#} turn {}{}: {}",
                v.rule,
                v.level.as_str(),
                v.turn,
                v.call_id.as_deref().map(|c| format!(", call {c}")).unwrap_or_default(),
                v.message
            );
            let _ = writeln!(out, "       {DIM}order {}, seed {}{DIM:#}", run.order, run.seed);
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
        if !run.passed(lenient) && run.violations.iter().any(|v| timing_rule(v.rule)) {
            for t in &run.turns {
                for line in t.timeline(40).lines() {
                    let _ = writeln!(out, "       {DIM}{line}{DIM:#}");
                }
            }
        }
        for n in &run.notes {
            let _ = writeln!(out, "       {DIM}note [order {}]: {n}{DIM:#}", run.order);
        }
    }
    let repeated: Vec<String> = shown
        .iter()
        .filter(|(_, o)| o.len() > 1)
        .map(|(k, o)| format!("{} also in order(s) {}", k.split('|').next().unwrap_or(""), o[1..].join(", ")))
        .collect();
    for r in repeated {
        let _ = writeln!(out, "       {DIM}{r}{DIM:#}");
    }
    out
}

fn timing_rule(r: crate::rules::RuleId) -> bool {
    use crate::rules::RuleId::*;
    matches!(r, SequentialExecution | UnsafeParallelWrites | TimeoutNotEnforced)
}

/// A failing scenario's details without colour, for assertion messages.
pub fn render_failures(s: &ScenarioReport) -> String {
    anstream::adapter::strip_str(&failure_details(s, false)).to_string()
}
