//! The rule table: one entry per rule, from which everything else derives — the ids, `tooltape
//! rules` and docs/rules.md, the `breaks-<rule>` built-in handlers, the rules lint can run, the
//! terminal report's grouping, which follow-ups the mock refuses as the real API would, and
//! which rules a scenario can catch.
//!
//! Each rule's [`Rule`] value (id, level, family, explanation, check, what a scenario needs to
//! exercise it) lives in its rule file, next to its check; this file only lists them, in
//! catalogue order. Adding a rule: its `Rule` and check in a rule file, one line in
//! [`catalogue!`] below, its tests (rules/tests.rs), and its breaking built-in handler.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::input::{Execution, ScenarioFacts, TurnMessages};
use super::shape::Shape;
use super::{Violation, execution, history, request, results, shape};
use crate::provider::ApiFault;
use crate::transcript::Request;

/// How strongly a rule binds, like MUST and SHOULD in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The real API would reject the follow-up, or the answer is wrong: always fails.
    Must,
    /// Fails unless `--lenient` is given; always reported.
    Should,
}

impl Level {
    /// `must` or `should`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

/// What part of a handler's job a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// One result per call, under the right id, flagged when it failed.
    Results,
    /// Where the results and the assistant turn sit in the follow-up.
    Placement,
    /// The conversation repeated unchanged.
    History,
    /// How the calls overlapped in time: the timeline explains these.
    Timing,
    /// Which tools ran, with what input, how often, and whether the loop went on.
    Calls,
    /// A request on its own.
    Request,
}

/// Whether the real API refuses a follow-up that breaks the rule (HTTP 400), so the replay
/// must stop there as production would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Never: only a harness sees it.
    Never,
    /// Always, with the provider's text for this fault.
    Always(ApiFault),
    /// Where the violation is must-level (the check sets the level from the provider's
    /// behaviour), with the provider's text for this fault.
    AtMustLevel(ApiFault),
}

/// One turn as a turn rule reads it.
pub struct Turn<'a> {
    /// What the messages show.
    pub(crate) messages: &'a TurnMessages,
    /// The follow-up's layout, when there is a follow-up.
    pub(crate) shape: Option<&'a Shape>,
    /// What running the tools showed (`None` in lint).
    pub(crate) execution: Option<&'a Execution>,
}

/// How a rule is checked.
#[derive(Clone, Copy)]
pub enum Check {
    /// On one turn. `needs_execution`: the rule reads what the tools saw, so lint (which only
    /// has messages) cannot run it.
    Turn {
        /// The check.
        check: fn(&Turn<'_>) -> Vec<Violation>,
        /// Whether it needs [`Turn::execution`].
        needs_execution: bool,
    },
    /// On one request: the request, the side-effecting tools, and the turn whose reply the
    /// request asks for.
    Request(fn(&Request, &[&str], usize) -> Option<Violation>),
}

/// One rule of the catalogue.
pub struct Rule {
    /// The stable id, like `missing-result`.
    pub id: &'static str,
    /// Its usual level (a violation may carry a weaker one, see `split-results`).
    pub level: Level,
    /// What part of the handler's job it is about.
    pub family: Family,
    /// Whether the real API refuses a follow-up that breaks it.
    pub refused: Refused,
    /// One line: what the handler did wrong ("the handler ...").
    pub summary: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// What each provider does about it (protocols.md §8).
    pub providers: &'static str,
    /// How to fix a handler that breaks it.
    pub fix: &'static str,
    /// The check.
    pub check: Check,
    /// Whether a scenario with these facts can catch a handler that breaks this rule.
    pub exercised_by: fn(&ScenarioFacts) -> bool,
}

macro_rules! catalogue {
    ($( $variant:ident => $rule:path, )*) => {
        /// A rule's stable id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $(
                #[allow(missing_docs)]
                $variant,
            )*
        }

        impl RuleId {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The rule's entry in the table.
            pub fn rule(self) -> &'static Rule {
                match self { $(RuleId::$variant => &$rule,)* }
            }
        }
    };
}

catalogue! {
    MissingResult => results::MISSING_RESULT,
    UnknownResult => results::UNKNOWN_RESULT,
    DuplicateResult => results::DUPLICATE_RESULT,
    MismatchedResult => results::MISMATCHED_RESULT,
    SplitResults => shape::SPLIT_RESULTS,
    MissingAssistantTurn => shape::MISSING_ASSISTANT_TURN,
    ResultsNotFirst => shape::RESULTS_NOT_FIRST,
    HistoryChanged => history::HISTORY_CHANGED,
    ErrorNotFlagged => results::ERROR_NOT_FLAGGED,
    SequentialExecution => execution::SEQUENTIAL_EXECUTION,
    UnsafeParallelWrites => execution::UNSAFE_PARALLEL_WRITES,
    ParallelWritesEnabled => request::PARALLEL_WRITES_ENABLED,
    TimeoutNotEnforced => execution::TIMEOUT_NOT_ENFORCED,
    WrongArguments => execution::WRONG_ARGUMENTS,
    CallNotRun => execution::CALL_NOT_RUN,
    CallRunTwice => execution::CALL_RUN_TWICE,
    StoppedEarly => execution::STOPPED_EARLY,
}

impl RuleId {
    /// The stable id, like `missing-result`.
    pub fn as_str(self) -> &'static str {
        self.rule().id
    }

    /// The rule's usual level (a violation may carry a weaker one, see `split-results`).
    pub fn level(self) -> Level {
        self.rule().level
    }

    /// One line: what the handler did wrong.
    pub fn summary(self) -> &'static str {
        self.rule().summary
    }

    /// What part of the handler's job it is about.
    pub fn family(self) -> Family {
        self.rule().family
    }

    /// The name of the built-in handler that breaks this rule alone.
    pub fn breaking_handler(self) -> String {
        format!("breaks-{}", self.as_str())
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rule {s:?} (see `tooltape rules`)"))
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// For the published schemas, derived in tests only (see `scenario::json_schema`).
#[cfg(any(test, feature = "schema"))]
impl schemars::JsonSchema for RuleId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one_of: Vec<serde_json::Value> = RuleId::ALL
            .iter()
            .map(|r| {
                serde_json::json!({
                    "description": r.summary(),
                    "type": "string",
                    "const": r.as_str(),
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "A rule's stable id.",
            "oneOf": one_of,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for &r in RuleId::ALL {
            let id = r.as_str();
            assert!(seen.insert(id), "{id} twice");
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
            assert_eq!(id.parse::<RuleId>(), Ok(r));
            assert_eq!(serde_json::to_value(r).unwrap(), id);
            assert!(!r.rule().why.is_empty() && !r.rule().fix.is_empty());
        }
        assert!("no-such-rule".parse::<RuleId>().is_err());
    }

    #[test]
    fn must_level_rules_the_api_refuses_are_must_level() {
        for &r in RuleId::ALL {
            if matches!(r.rule().refused, Refused::Always(_)) {
                assert_eq!(r.level(), Level::Must, "{r}");
            }
        }
    }
}
