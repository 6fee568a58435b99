//! Drawing primitives of the timeline picture: XML escaping, number formats, the time scale
//! with its ticks, the bar styles and the shared `<defs>` (hatch patterns, fade).

use std::fmt::Write as _;

/// Sans-serif text: whatever the system has, DejaVu on a bare Linux.
pub(super) const SANS: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif";
/// Call ids and figures.
pub(super) const MONO: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace";

pub(super) const INK: &str = "#0f172a";
pub(super) const MUTED: &str = "#64748b";
pub(super) const FAINT: &str = "#e2e8f0";
pub(super) const PASS: &str = "#15803d";
pub(super) const FAIL: &str = "#dc2626";
pub(super) const EXPECTED: &str = "#b45309";

/// Text for an XML text node or attribute value: markup characters escaped, characters that
/// XML 1.0 forbids (most control characters) dropped.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `s` escaped and cut to `max` characters.
pub(super) fn esc_clip(s: &str, max: usize) -> String {
    esc(&crate::util::clip(s, max))
}

/// Milliseconds for a label: one decimal below 10 ms, whole numbers above.
pub(super) fn ms_label(ms: f64) -> String {
    if ms != 0.0 && ms.abs() < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A time axis from 0 to `end` milliseconds drawn between two x positions, with round ticks.
pub(super) struct Scale {
    pub x0: f64,
    pub x1: f64,
    /// Where the axis ends (a whole number of ticks, at least the span shown).
    pub end: f64,
    /// Distance between ticks.
    pub step: f64,
}

impl Scale {
    /// An axis covering `span` milliseconds (and a little more, so the longest bar does not
    /// touch the edge) with five or so round ticks.
    pub fn new(span: f64, x0: f64, x1: f64) -> Scale {
        let span = if span.is_finite() && span > 0.0 {
            span
        } else {
            1.0
        };
        let step = nice_step(span / 5.0);
        let end = (span * 1.03).max(step);
        Scale { x0, x1, end, step }
    }

    /// The x of `ms` milliseconds.
    pub fn x(&self, ms: f64) -> f64 {
        self.x0 + (ms / self.end).clamp(0.0, 1.0) * (self.x1 - self.x0)
    }

    /// The tick values, from 0 up to the end.
    pub fn ticks(&self) -> Vec<f64> {
        let n = (self.end / self.step + 1e-9).floor() as usize;
        (0..=n).map(|k| k as f64 * self.step).collect()
    }
}

/// The smallest of 1, 2, 5 × 10^k that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 { raw } else { 1.0 };
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag)
}

/// How a bar of each state is drawn, and what the legend calls it.
pub(super) struct Look {
    pub state: &'static str,
    pub legend: &'static str,
    pub fill: &'static str,
    pub stroke: &'static str,
    /// Dashed outline: a run that does not belong to its call as it should.
    pub dashed: bool,
    /// The tag written after the bar (none for a plain successful call).
    pub tag: Option<&'static str>,
}

/// Every state, in legend order.
pub(super) const LOOKS: &[Look] = &[
    Look {
        state: "ok",
        legend: "ran, answered",
        fill: "#3b82f6",
        stroke: "#1d4ed8",
        dashed: false,
        tag: None,
    },
    Look {
        state: "failed",
        legend: "tool failed",
        fill: "url(#tt-failed)",
        stroke: "#b91c1c",
        dashed: false,
        tag: Some("failed"),
    },
    Look {
        state: "hung",
        legend: "hung, given up",
        fill: "url(#tt-hung)",
        stroke: "#b45309",
        dashed: false,
        tag: Some("hung, given up"),
    },
    Look {
        state: "abandoned",
        legend: "abandoned",
        fill: "url(#tt-abandoned)",
        stroke: "#475569",
        dashed: false,
        tag: Some("abandoned"),
    },
    Look {
        state: "open",
        legend: "still open when judged",
        fill: "url(#tt-open)",
        stroke: "#b45309",
        dashed: false,
        tag: Some("open"),
    },
    Look {
        state: "repeat",
        legend: "ran again (repeat)",
        fill: "#c4b5fd",
        stroke: "#6d28d9",
        dashed: true,
        tag: Some("repeat"),
    },
    Look {
        state: "wrong-arguments",
        legend: "wrong arguments",
        fill: "#fdba74",
        stroke: "#c2410c",
        dashed: true,
        tag: Some("wrong arguments"),
    },
    Look {
        state: "unknown-tool",
        legend: "unknown tool",
        fill: "#cbd5e1",
        stroke: "#334155",
        dashed: true,
        tag: Some("unknown tool"),
    },
];

/// The look of a state (an unknown state is drawn as `ok`'s neutral cousin, abandoned).
pub(super) fn look(state: &str) -> &'static Look {
    LOOKS.iter().find(|l| l.state == state).unwrap_or(&LOOKS[3])
}

/// The patterns and gradient the bars refer to. Defined once per document.
pub(super) fn defs() -> String {
    let hatch = |id: &str, bg: &str, fg: &str, angle: i32, width: f64| {
        format!(
            r#"<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate({angle})"><rect width="6" height="6" fill="{bg}"/><rect width="{width}" height="6" fill="{fg}"/></pattern>"#
        )
    };
    let mut s = String::from("<defs>");
    s.push_str(&hatch("tt-failed", "#fca5a5", "#dc2626", 45, 3.0));
    s.push_str(&hatch("tt-hung", "#fde68a", "#d97706", -45, 2.0));
    s.push_str(&hatch("tt-abandoned", "#e2e8f0", "#94a3b8", 45, 2.0));
    s.push_str(
        r##"<linearGradient id="tt-open" x1="0" x2="1" y1="0" y2="0"><stop offset="0" stop-color="#f59e0b"/><stop offset="1" stop-color="#f59e0b" stop-opacity="0.08"/></linearGradient>"##,
    );
    s.push_str("</defs>");
    s
}

/// The legend: a swatch and a name per state, wrapped to `width`. Returns the markup and its
/// height.
pub(super) fn legend(x: f64, y: f64, width: f64) -> (String, f64) {
    let mut s = String::new();
    let (mut cx, mut cy) = (x, y);
    for l in LOOKS {
        let w = 30.0 + 6.6 * l.legend.chars().count() as f64;
        if cx + w > x + width {
            cx = x;
            cy += 22.0;
        }
        let _ = write!(
            s,
            r#"<rect x="{cx:.1}" y="{:.1}" width="22" height="12" rx="2" fill="{}" stroke="{}"{}/><text x="{:.1}" y="{:.1}" font-size="12" fill="{INK}">{}</text>"#,
            cy - 10.0,
            l.fill,
            l.stroke,
            if l.dashed {
                r#" stroke-dasharray="3 2""#
            } else {
                ""
            },
            cx + 28.0,
            cy,
            esc(l.legend)
        );
        cx += w + 16.0;
    }
    (s, cy - y + 12.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(esc(r#"<&>"'"#), "&lt;&amp;&gt;&quot;&apos;");
        assert_eq!(esc("a\u{1}b\tc"), "ab c");
    }

    #[test]
    fn ticks_are_round_and_cover_the_span() {
        let s = Scale::new(730.0, 0.0, 600.0);
        assert_eq!(s.step, 200.0);
        assert_eq!(s.ticks(), vec![0.0, 200.0, 400.0, 600.0]);
        assert!(s.x(730.0) < 600.0 && s.x(730.0) > 580.0);
        assert_eq!(s.x(2000.0), 600.0);
        // Nothing took any time: still a usable axis.
        assert_eq!(Scale::new(0.0, 0.0, 10.0).ticks().len(), 6);
        assert_eq!(Scale::new(3.0, 0.0, 10.0).step, 1.0);
    }

    #[test]
    fn labels() {
        assert_eq!(ms_label(2.25), "2.2 ms");
        assert_eq!(ms_label(120.0), "120 ms");
        assert_eq!(ms_label(0.0), "0 ms");
    }
}
