//! The timeline picture (`tooltape test --timeline FILE.svg` or `.html`): a Gantt chart of
//! every scenario's turns, so that a person sees at a glance which calls overlapped, which
//! failed or hung, and what each turn cost.
//!
//! Each scenario shows its first run, plus every run that failed; each turn gets its own time
//! axis (0 is the turn's first tool start) with one row per tool invocation: call id, tool,
//! a bar from start to end, its duration, and for anything but a plain successful call a
//! tag. The turn's header carries its figures (wall, tools, concurrency, peak in flight,
//! efficiency). Hand-written SVG with no external resources; `.html` wraps one SVG per
//! scenario in a page.

mod draw;

use std::fmt::Write as _;
use std::path::Path;

use draw::{
    EXPECTED, FAIL, FAINT, INK, MONO, MUTED, PASS, SANS, Scale, esc, esc_clip, look, ms_label,
};

use super::{Status, Suite};
use crate::error::Error;
use crate::replay::{RunReport, ScenarioReport};
use crate::rules::input::ms;
use crate::timing::TurnTiming;

/// Width of the picture, in CSS pixels.
const WIDTH: f64 = 1120.0;
const PAD: f64 = 24.0;
/// Where the bars' area starts and ends (labels on the left, durations on the right).
const PLOT_X0: f64 = 340.0;
const PLOT_X1: f64 = WIDTH - PAD - 130.0;
const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
/// Characters of 12 px text that fit across the picture.
const LINE_CHARS: usize = 172;
/// Violations listed under a failing run before "and N more".
const MAX_LISTED: usize = 6;

/// The picture's file format, from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One SVG document holding every scenario.
    Svg,
    /// A page with one inline SVG per scenario.
    Html,
}

impl Format {
    /// `.svg` or `.html`/`.htm`; anything else is a usage error.
    pub fn for_path(path: &Path) -> Result<Format, Error> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("html" | "htm") => Ok(Format::Html),
            _ => Err(Error::Usage(format!(
                "--timeline {}: the file name must end in .svg or .html",
                path.display()
            ))),
        }
    }
}

/// Write the picture of `suite` to `path`, as SVG or HTML by its extension.
pub fn write(path: &Path, suite: &Suite) -> Result<(), Error> {
    let text = match Format::for_path(path)? {
        Format::Svg => svg(suite),
        Format::Html => html(suite),
    };
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// The whole suite as one SVG document.
pub fn svg(suite: &Suite) -> String {
    let (head, head_h) = header(suite);
    let mut body = String::new();
    let mut y = head_h;
    for s in &suite.scenarios {
        let (block, h) = scenario(suite, s);
        let _ = write!(body, r#"<g transform="translate(0 {y:.1})">{block}</g>"#);
        y += h + 18.0;
    }
    let height = y + PAD;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{SANS}" role="img"><title>tooltape timeline</title>{defs}<rect width="100%" height="100%" fill="#f8fafc"/>{head}{body}</svg>
"##,
        defs = draw::defs(),
    )
}

/// The suite as an HTML page: the header and legend, then a card per scenario.
pub fn html(suite: &Suite) -> String {
    let (head, head_h) = header(suite);
    let mut out = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tooltape timeline — {}</title>
<style>
body {{ margin: 0; padding: 24px 12px; background: #f1f5f9; font-family: {SANS}; color: {INK}; }}
main {{ max-width: {WIDTH}px; margin: 0 auto; }}
.card {{ background: #f8fafc; border-radius: 10px; box-shadow: 0 1px 3px rgba(15, 23, 42, 0.12); margin-bottom: 18px; overflow: hidden; }}
svg {{ display: block; width: 100%; height: auto; }}
</style>
</head>
<body>
<main>
"#,
        esc(&suite.handler)
    );
    // The first picture holds the shared patterns; the others refer to them by id.
    let _ = writeln!(
        out,
        r#"<div class="card">{}</div>"#,
        svg_element(&format!("{}{head}", draw::defs()), head_h)
    );
    for s in &suite.scenarios {
        let (block, h) = scenario(suite, s);
        let _ = writeln!(
            out,
            r#"<section class="card" id="{}">{}</section>"#,
            esc(&s.name),
            svg_element(&block, h + 6.0)
        );
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn svg_element(inner: &str, height: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{SANS}" role="img">{inner}</svg>"#
    )
}

/// The title, the run's facts and the legend.
fn header(suite: &Suite) -> (String, f64) {
    let (passed, failed) = suite.counts();
    let expected = suite.expected_failures();
    let mut facts = format!(
        "{} scenario(s) · handler {} · seed {} · {passed} passed, {failed} failed",
        suite.scenarios.len(),
        suite.handler,
        suite.seed
    );
    if expected > 0 {
        let _ = write!(facts, ", {expected} expected failure(s)");
    }
    if suite.lenient {
        facts.push_str(" · lenient");
    }
    let mut s = format!(
        r#"<text x="{PAD}" y="40" font-size="22" font-weight="700" fill="{INK}">tooltape timeline</text><text x="{PAD}" y="62" font-size="13" fill="{MUTED}">{}</text>"#,
        esc(&facts)
    );
    let (legend, lh) = draw::legend(PAD, 92.0, WIDTH - 2.0 * PAD);
    s.push_str(&legend);
    let _ = write!(
        s,
        r#"<text x="{PAD}" y="{:.1}" font-size="11.5" fill="{MUTED}">Each turn has its own axis, in milliseconds from its first tool start. Bars that overlap ran concurrently.</text>"#,
        92.0 + lh + 14.0
    );
    (s, 92.0 + lh + 30.0)
}

/// One scenario, drawn from y = 0. Returns the markup and its height.
fn scenario(suite: &Suite, s: &ScenarioReport) -> (String, f64) {
    let status = suite.status(s);
    let (verdict, colour) = match status {
        Status::Passed => ("PASS", PASS),
        Status::Failed => ("FAIL", FAIL),
        Status::ExpectedFailure => ("EXPECTED FAIL", EXPECTED),
    };
    let badge_w = 14.0 + 8.0 * verdict.len() as f64;
    let mut out = format!(
        r##"<rect x="{PAD}" y="0" width="{:.0}" height="40" rx="8" fill="#ffffff" stroke="{FAINT}"/><rect x="{x:.0}" y="10" width="{badge_w:.0}" height="20" rx="10" fill="{colour}"/><text x="{tx:.1}" y="24.5" font-size="11.5" font-weight="700" fill="#ffffff" text-anchor="middle" letter-spacing="0.5">{verdict}</text><text x="{nx:.1}" y="25.5" font-size="16" font-weight="700" fill="{INK}">{}</text><text x="{rx:.1}" y="25" font-size="12" fill="{MUTED}" text-anchor="end">{}</text>"##,
        WIDTH - 2.0 * PAD,
        esc_clip(&s.name, 60),
        esc(&format!("{} · {} run(s)", s.provider, s.run_count())),
        x = PAD + 10.0,
        tx = PAD + 10.0 + badge_w / 2.0,
        nx = PAD + 20.0 + badge_w,
        rx = WIDTH - PAD - 12.0,
    );
    let mut y = 64.0;
    for (i, run) in s.runs.iter().enumerate() {
        let run_status = suite.run_status(s, run);
        if i > 0 && run_status == Status::Passed {
            continue;
        }
        y = draw_run(&mut out, suite, s, run, run_status, y) + 14.0;
    }
    (out, y)
}

/// A run's subheader, its failures, then its turns. Returns the next free y.
fn draw_run(
    out: &mut String,
    suite: &Suite,
    s: &ScenarioReport,
    run: &RunReport,
    status: Status,
    mut y: f64,
) -> f64 {
    let (word, colour) = match status {
        Status::Passed => ("passed", PASS),
        Status::Failed => ("failed", FAIL),
        Status::ExpectedFailure => ("failed as expected", EXPECTED),
    };
    y += 8.0;
    let _ = write!(
        out,
        r#"<line x1="{PAD}" y1="{:.1}" x2="{:.0}" y2="{:.1}" stroke="{FAINT}"/>"#,
        y - 14.0,
        WIDTH - PAD,
        y - 14.0
    );
    let _ = write!(
        out,
        r#"<text x="{PAD}" y="{y:.1}" font-size="13" fill="{INK}"><tspan font-weight="700">Run: order {}</tspan><tspan fill="{MUTED}"> · seed {} · </tspan><tspan fill="{colour}" font-weight="700">{word}</tspan></text>"#,
        esc(&run.order),
        run.seed
    );
    y += 20.0;
    if let Some(e) = &run.error {
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{y:.1}" font-size="12" fill="{FAIL}">error: {}</text>"#,
            PAD + 12.0,
            esc_clip(e, LINE_CHARS - 10)
        );
        y += 17.0;
    }
    let failing: Vec<_> = run.failing(suite.lenient).collect();
    for v in failing.iter().take(MAX_LISTED) {
        let expected = suite.is_expected(s, v);
        let call = v
            .call_id
            .as_deref()
            .map(|c| format!(" · call {c}"))
            .unwrap_or_default();
        // What fits on the line at this size, after the rule, turn and call.
        let room = LINE_CHARS
            .saturating_sub(v.rule.as_str().len() + call.len() + 24)
            .max(20);
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{y:.1}" font-size="12" fill="{}"><tspan font-weight="700">✗ {}</tspan><tspan fill="{MUTED}"> turn {}{}{}</tspan> — {}</text>"#,
            PAD + 12.0,
            if expected { EXPECTED } else { FAIL },
            v.rule,
            v.turn,
            esc(&call),
            if expected { " (expected)" } else { "" },
            esc_clip(&v.message, room)
        );
        y += 17.0;
    }
    if failing.len() > MAX_LISTED {
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{y:.1}" font-size="12" fill="{MUTED}">and {} more</text>"#,
            PAD + 12.0,
            failing.len() - MAX_LISTED
        );
        y += 17.0;
    }
    for t in &run.turns {
        let blamed: Vec<&str> = failing
            .iter()
            .filter(|v| v.turn == t.turn)
            .filter_map(|v| v.call_id.as_deref())
            .collect();
        y = draw_turn(out, t, &blamed, y + 8.0);
    }
    y + 4.0
}

/// One turn: figures, axis, one row per invocation; rows of calls that a failing violation
/// names get a red mark. Returns the next free y.
fn draw_turn(out: &mut String, t: &TurnTiming, blamed: &[&str], mut y: f64) -> f64 {
    let figures = format!(
        "{} call(s) · wall {} · tools {} · concurrency {:.2} · peak {} in flight · efficiency {:.0}%{}",
        t.calls,
        ms_label(ms(t.wall)),
        ms_label(ms(t.tool_sum)),
        t.concurrency,
        t.peak_in_flight,
        t.efficiency * 100.0,
        if t.held.is_zero() {
            String::new()
        } else {
            format!(" · held by tooltape {}", ms_label(ms(t.held)))
        }
    );
    let _ = write!(
        out,
        r#"<text x="{:.0}" y="{:.1}" font-size="12.5" fill="{INK}"><tspan font-weight="700">Turn {}</tspan><tspan fill="{MUTED}">   {}</tspan></text>"#,
        PAD + 12.0,
        y + 12.0,
        t.turn,
        esc(&figures)
    );
    y += 20.0;
    let Some(t0) = t.bars.iter().map(|b| b.start).min() else {
        let _ = write!(
            out,
            r#"<text x="{PLOT_X0}" y="{:.1}" font-size="12" fill="{MUTED}" font-style="italic">no tool ran in this turn</text>"#,
            y + 12.0
        );
        return y + 22.0;
    };
    // Calls still open were judged when the turn ended: the wall time covers them.
    let last_end = t
        .bars
        .iter()
        .map(|b| b.end.unwrap_or(b.start))
        .max()
        .unwrap_or(t0);
    let judged = ms(t.wall).max(ms(last_end - t0));
    let scale = Scale::new(judged, PLOT_X0, PLOT_X1);
    // Axis: tick labels above, grid lines through the rows.
    let rows_top = y + 16.0;
    let rows_bottom = rows_top + ROW * t.bars.len() as f64;
    for tick in scale.ticks() {
        let x = scale.x(tick);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{rows_bottom:.1}" stroke="{FAINT}" stroke-width="1"/><text x="{x:.1}" y="{:.1}" font-size="10.5" fill="{MUTED}" text-anchor="middle" font-family="{MONO}">{}</text>"#,
            rows_top - 3.0,
            y + 10.0,
            ms_label(tick)
        );
    }
    for (i, b) in t.bars.iter().enumerate() {
        let top = rows_top + ROW * i as f64;
        if i % 2 == 0 {
            let _ = write!(
                out,
                r##"<rect x="{PAD}" y="{top:.1}" width="{:.0}" height="{ROW}" fill="#eef2f7" opacity="0.6"/>"##,
                WIDTH - 2.0 * PAD
            );
        }
        if blamed.contains(&b.call_id.as_str()) {
            let _ = write!(
                out,
                r#"<rect class="blamed" x="{PAD}" y="{top:.1}" width="4" height="{ROW}" fill="{FAIL}"/>"#
            );
        }
        let mid = top + ROW / 2.0;
        let id = if b.call_id.is_empty() {
            "(no call)"
        } else {
            &b.call_id
        };
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{:.1}" font-size="11.5" fill="{INK}" font-family="{MONO}">{}</text><text x="{:.0}" y="{:.1}" font-size="12" fill="{MUTED}">{}</text>"#,
            PAD + 12.0,
            mid + 4.0,
            esc_clip(id, 24),
            PAD + 204.0,
            mid + 4.0,
            esc_clip(&b.tool, 15)
        );
        let l = look(b.state);
        let start = ms(b.start - t0);
        let end = b.end.map(|e| ms(e - t0));
        let x0 = scale.x(start);
        let x1 = scale.x(end.unwrap_or(judged)).max(x0 + 2.0);
        let tip = format!(
            "{} · {} · {} → {} · {} · via {}",
            id,
            b.tool,
            ms_label(start),
            end.map_or("still open".to_string(), ms_label),
            b.state,
            b.via
        );
        let _ = write!(
            out,
            r#"<rect class="bar state-{}" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{BAR}" rx="3" fill="{}" stroke="{}" stroke-width="1"{}><title>{}</title></rect>"#,
            l.state,
            mid - BAR / 2.0,
            x1 - x0,
            l.fill,
            l.stroke,
            if l.dashed {
                r#" stroke-dasharray="4 2""#
            } else {
                ""
            },
            esc(&tip)
        );
        let label = match (end, l.tag) {
            (Some(e), Some(tag)) => format!("{} · {tag}", ms_label(e - start)),
            (Some(e), None) => ms_label(e - start),
            (None, _) => format!("still open after {}", ms_label(judged - start)),
        };
        // Right of the bar when there is room, else inside its end.
        let (lx, anchor, fill) = if x1 + 6.0 + 7.0 * label.chars().count() as f64 <= WIDTH - PAD {
            (
                x1 + 6.0,
                "start",
                if l.tag.is_some() { l.stroke } else { MUTED },
            )
        } else {
            // A light plate keeps the text readable over the bar's pattern.
            let w = 6.4 * label.chars().count() as f64 + 10.0;
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" rx="3" fill="#ffffff" opacity="0.88"/>"##,
                x1 - 3.0 - w,
                mid - BAR / 2.0 + 1.5,
                BAR - 3.0
            );
            (x1 - 8.0, "end", INK)
        };
        let _ = write!(
            out,
            r#"<text x="{lx:.1}" y="{:.1}" font-size="11" fill="{fill}" text-anchor="{anchor}" font-weight="{}">{}</text>"#,
            mid + 4.0,
            if l.tag.is_some() { 600 } else { 400 },
            esc(&label)
        );
    }
    rows_bottom + 10.0
}

#[cfg(test)]
mod tests;
