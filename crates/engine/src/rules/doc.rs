//! The rule catalogue as text: `tooltape rules` prints it and docs/rules.md holds it (a test
//! keeps the two in step).

use std::fmt::Write as _;

use super::RuleId;

/// One rule's full explanation.
pub fn explain(rule: RuleId) -> String {
    let e = rule.rule();
    let mut s = String::new();
    let _ = writeln!(s, "## {} ({})\n", rule, rule.level().as_str());
    let _ = writeln!(s, "The handler {}.\n", rule.summary());
    let _ = writeln!(s, "**Why it matters.** {}\n", e.why);
    let _ = writeln!(s, "**What the providers do.** {}\n", e.providers);
    let _ = writeln!(s, "**How to fix it.** {}\n", e.fix);
    let _ = writeln!(
        s,
        "Demo: `tooltape test --handler builtin:{}`\n",
        rule.breaking_handler()
    );
    s
}

/// The whole catalogue, as Markdown.
pub fn catalogue() -> String {
    let mut s = String::from(
        "# tooltape rule catalogue\n\n\
         Rule ids are stable. **must** rules always fail a scenario (the real API would reject \
         the follow-up, or the answer is wrong); **should** rules fail it unless `--lenient` is \
         given, and are always reported.\n\n\
         | id | level | the handler... |\n|---|---|---|\n",
    );
    for r in RuleId::ALL {
        let _ = writeln!(s, "| `{r}` | {} | {} |", r.level().as_str(), r.summary());
    }
    s.push('\n');
    for r in RuleId::ALL {
        s.push_str(&explain(*r));
    }
    s
}

/// The catalogue's Markdown as text for a terminal: headings without `#`, emphasis and code
/// marks taken out, the table's columns aligned. Written out: the Markdown is our own
/// (a heading, a table, `**lead**` paragraphs, inline code), no renderer crate is needed.
pub fn plain(markdown: &str) -> String {
    let strip = |l: &str| l.replace("**", "").replace('`', "");
    let mut out = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |table: &mut Vec<Vec<String>>, out: &mut String| {
        let widths: Vec<usize> = (0..table.first().map_or(0, Vec::len))
            .map(|c| {
                table
                    .iter()
                    .map(|r| r.get(c).map_or(0, |x| x.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in table.drain(..) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
        }
    };
    for line in markdown.lines() {
        if let Some(row) = line.strip_prefix('|') {
            if row.trim_start().starts_with("---") {
                continue;
            }
            table.push(
                row.trim_end_matches('|')
                    .split('|')
                    .map(|c| strip(c.trim()))
                    .collect(),
            );
            continue;
        }
        if !table.is_empty() {
            flush(&mut table, &mut out);
        }
        let heading = line.trim_start_matches('#');
        if heading.len() < line.len() {
            let title = strip(heading.trim());
            let rule = if line.starts_with("## ") { '-' } else { '=' };
            let _ = writeln!(
                out,
                "{title}\n{}",
                rule.to_string().repeat(title.chars().count())
            );
        } else {
            let _ = writeln!(out, "{}", strip(line));
        }
    }
    if !table.is_empty() {
        flush(&mut table, &mut out);
    }
    out
}

/// The published rule catalogue (`docs/rules.md`) is the one generated today.
#[cfg(test)]
#[test]
fn the_published_catalogue_is_the_generated_one() {
    crate::util::check_published("docs/rules.md", &catalogue());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #10 item 4: `tooltape rules` on a terminal is text, not raw Markdown.
    #[test]
    fn the_catalogue_reads_as_plain_text_on_a_terminal() {
        let text = plain(&catalogue());
        for mark in ["**", "`", "|---", "## ", "# "] {
            assert!(!text.contains(mark), "{mark:?} left in:\n{text}");
        }
        assert!(text.starts_with("tooltape rule catalogue\n======================="));
        assert!(text.contains("\n  missing-result "), "{text}");
        assert!(text.contains("Why it matters. "), "{text}");
        let one = plain(&explain(RuleId::HistoryChanged));
        assert!(
            one.starts_with("history-changed (must)\n----------------------\n"),
            "{one}"
        );
    }
}
