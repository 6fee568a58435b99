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
