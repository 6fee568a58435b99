//! The `tooltape` command as users and CI scripts see it: every command, every exit code
//! (0 conformant, 1 violations, 2 bad input or command line), the reports it writes, and the
//! terminal report itself as snapshots (tests/snapshots/).
//!
//! Broken inputs live in tests/fixtures/bad/ (its README says what is broken in each), small
//! well-formed ones in tests/fixtures/ok/.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// The binary, run from the crate root, with colour decided by the environment alone.
fn tooltape() -> Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TOOLTAPE_SEED");
    c
}

fn stdout_of(c: &mut Command) -> String {
    String::from_utf8(c.output().expect("tooltape runs").stdout).expect("utf-8 output")
}

fn json_of(c: &mut Command) -> Value {
    serde_json::from_str(&stdout_of(c)).expect("--json - prints one JSON document")
}

const SUMMARY_ALL_PASS: &str = r"(?m)^[1-9]\d* passed, 0 failed$";
const SMALL: &str = "tests/fixtures/ok/small.json";

// ---- commands and exit codes ----

#[test]
fn test_on_the_bundled_scenarios_passes_with_exit_0() {
    tooltape()
        .arg("test")
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(SUMMARY_ALL_PASS).unwrap())
        .stdout(predicate::str::contains("FAIL").not());
}

#[test]
fn a_broken_handler_exits_1_naming_the_rule_and_the_seed() {
    tooltape()
        .args([
            "test",
            "--handler",
            "builtin:breaks-missing-result",
            "--seed",
            "7",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "✗ missing-result (must) turn 1, call ",
        ))
        .stdout(predicate::str::contains("seed 7"))
        .stdout(predicate::str::is_match(r"(?m)^0 passed, [1-9]\d* failed$").unwrap());
}

#[test]
fn rules_lists_the_catalogue_and_explains_one_rule() {
    tooltape()
        .arg("rules")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("`missing-result`"))
        .stdout(predicate::str::contains("`stopped-early`"));
    tooltape()
        .args(["rules", "missing-result"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("missing-result"));
    tooltape()
        .args(["rules", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule \"no-such-rule\""));
}

#[test]
fn schema_prints_json_schemas() {
    for format in ["scenario", "cassette"] {
        let out = stdout_of(tooltape().args(["schema", format]));
        let schema: Value = serde_json::from_str(&out).expect("a JSON schema");
        assert!(schema.get("properties").is_some(), "{format}: {out}");
    }
    tooltape().args(["schema", "nope"]).assert().code(2);
}

// ---- bad command lines ----

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["test", "--no-such-flag"],
            "unexpected argument '--no-such-flag'",
        ),
        (&["test", "--partition", "0/3"], "K must be between 1 and 3"),
        (&["test", "--partition", "4/3"], "K must be between 1 and 3"),
        (
            &["test", "--partition", "x/y"],
            "K \"x\" is not a whole number",
        ),
        (&["test", "--partition", "3"], "expected K/N"),
        (
            &["test", "--handler", "builtin:nope"],
            "unknown handler \"builtin:nope\"",
        ),
        (
            &["test", "--handler", "python agent.py"],
            "expected builtin:NAME",
        ),
        (
            &["test", "--seed", "many"],
            "invalid value 'many' for '--seed",
        ),
        (
            &["test", "--json", "-", "--junit", "-"],
            "cannot both write to stdout",
        ),
        (
            &["test", "--filter", "no-scenario-has-this"],
            "no scenario matches --filter",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, message) in cases {
        tooltape()
            .args(*args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(*message));
    }
}

#[test]
fn a_missing_file_and_an_empty_folder_exit_2() {
    tooltape()
        .args(["test", "tests/fixtures/no-such-file.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tests/fixtures/no-such-file.json: no such file or folder",
        ));
    let empty = tempfile::tempdir().unwrap();
    tooltape()
        .arg("test")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no scenario files (*.json) in this folder",
        ));
}

// ---- broken inputs: each names the file and the place ----

#[test]
fn broken_scenarios_and_cassettes_exit_2_naming_file_line_and_column() {
    let cases = [
        (
            "truncated.json",
            r"tests/fixtures/bad/truncated\.json:5:14 .*EOF while parsing a value",
        ),
        (
            "wrong_type.json",
            r#"tests/fixtures/bad/wrong_type\.json:3:\d+ \(at `version`\): invalid type: string "1", expected u32"#,
        ),
        (
            "missing_cassette.json",
            r"tests/fixtures/bad/missing_cassette\.json:5:\d+ \(at `cassette`\): cassette .*does_not_exist\.json does not exist",
        ),
        (
            "unknown_tool.json",
            r#"tests/fixtures/bad/unknown_tool\.json:\d+:\d+ \(at `tools\.send_email`\): unknown tool "send_email": the cassette calls only get_weather"#,
        ),
        (
            "unknown_provider.json",
            r"tests/fixtures/bad/cassettes/unknown_provider\.json:4:\d+ \(at `provider`\): unknown variant `mistral`",
        ),
        (
            "call_without_id.json",
            r"tests/fixtures/bad/cassettes/call_without_id\.json:\d+:\d+ \(at `exchanges\[0\]\.reply\.body\.content\[1\]\.id`\)",
        ),
    ];
    for (file, pattern) in cases {
        let path = format!("tests/fixtures/bad/{file}");
        tooltape()
            .args(["test", &path])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::is_match(pattern).unwrap())
            .stderr(predicate::str::contains(
                "could not be loaded; nothing was run",
            ));
    }
    // The well-formed original of those fixtures runs.
    tooltape().args(["test", SMALL]).assert().code(0);
}

#[test]
fn every_broken_file_of_a_folder_is_reported_not_just_the_first() {
    let out = tooltape()
        .args(["test", "tests/fixtures/bad"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    for file in [
        "truncated.json",
        "wrong_type.json",
        "unknown_tool.json",
        "missing_cassette.json",
    ] {
        assert!(err.contains(file), "{file} missing from:\n{err}");
    }
}

// ---- --json ----

#[test]
fn json_report_has_verdicts_violations_and_timing_per_turn() {
    let doc = json_of(tooltape().args([
        "test",
        "--handler",
        "builtin:breaks-mismatched-result",
        SMALL,
        "--json",
        "-",
    ]));
    assert_eq!(doc["handler"], "builtin:breaks-mismatched-result");
    assert_eq!(doc["seed"], 42);
    assert_eq!(
        (doc["passed"].as_u64(), doc["failed"].as_u64()),
        (Some(0), Some(1))
    );
    let s = &doc["scenarios"][0];
    assert_eq!(s["name"], "small");
    assert_eq!(s["passed"], false);
    assert_eq!(s["status"], "failed");
    let v = &s["violations"][0];
    assert_eq!(v["rule"], "mismatched-result");
    assert_eq!(v["turn"], 1);
    assert_eq!(v["call_id"], "toolu_a");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("carries the output of toolu_b")
    );
    assert_eq!(v["expected"], false);
    let turn = &s["runs"][0]["turns"][0];
    for key in [
        "wall_ms",
        "tool_sum_ms",
        "concurrency",
        "peak_in_flight",
        "ideal_ms",
        "efficiency",
        "overhead_ms",
        "bars",
    ] {
        assert!(turn.get(key).is_some(), "turn has no {key}: {turn}");
    }
}

#[test]
fn json_to_a_file_and_the_terminal_report_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    tooltape()
        .args(["test", SMALL, "--json"])
        .arg(&file)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 passed, 0 failed"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["scenarios"][0]["passed"], true);
}

#[test]
fn json_on_stdout_moves_the_terminal_report_to_stderr() {
    tooltape()
        .args(["test", SMALL, "--json", "-"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("{"))
        .stderr(predicate::str::contains("1 passed, 0 failed"));
}

// ---- --junit ----

#[test]
fn junit_has_one_testcase_per_scenario_and_order_and_a_failure_per_failing_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    tooltape()
        .args([
            "test",
            "--handler",
            "builtin:breaks-missing-result",
            "--filter",
            "failing",
            "--seed",
            "9",
        ])
        .arg("--junit")
        .arg(&file)
        .arg("--json")
        .arg(&json)
        .assert()
        .code(1);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let xml = std::fs::read_to_string(&file).unwrap();
    let x = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites: Vec<_> = x
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let cases: Vec<_> = x
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let scenarios = doc["scenarios"].as_array().unwrap();
    let runs: usize = scenarios
        .iter()
        .map(|s| s["runs"].as_array().unwrap().len())
        .sum();
    assert_eq!(cases.len(), runs);
    assert_eq!(
        suites[0].attribute("tests"),
        Some(runs.to_string().as_str())
    );
    let mut failures = 0;
    for s in scenarios {
        for run in s["runs"].as_array().unwrap() {
            let name = format!(
                "{} [{}]",
                s["name"].as_str().unwrap(),
                run["order"].as_str().unwrap()
            );
            let case = cases
                .iter()
                .find(|c| c.attribute("name") == Some(name.as_str()))
                .unwrap_or_else(|| panic!("no testcase {name}"));
            assert_eq!(case.attribute("classname"), s["provider"].as_str());
            let violations = run["violations"].as_array().unwrap();
            let failure = case.children().find(|n| n.has_tag_name("failure"));
            assert_eq!(failure.is_some(), !violations.is_empty(), "{name}");
            if let Some(f) = failure {
                failures += 1;
                assert_eq!(f.attribute("type"), Some("missing-result"));
                let message = f.attribute("message").unwrap();
                for v in violations {
                    assert!(
                        message.contains(v["call_id"].as_str().unwrap()),
                        "{message}"
                    );
                    assert!(
                        message.contains(v["message"].as_str().unwrap()),
                        "{message}"
                    );
                }
                assert!(f.text().unwrap().contains("seed 9"));
            }
        }
    }
    assert!(failures > 0);
    assert_eq!(
        suites[0].attribute("failures"),
        Some(failures.to_string().as_str())
    );
    let seed = x
        .descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("seed"))
        .unwrap();
    assert_eq!(seed.attribute("value"), Some("9"));
}

// ---- --partition ----

fn names_in(args: &[&str]) -> Vec<String> {
    let doc = json_of(tooltape().args(["test", "--json", "-"]).args(args));
    doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_partitions_together_run_every_scenario_exactly_once() {
    let all = names_in(&[]);
    assert!(all.len() > 5);
    for n in 1..=5 {
        let mut seen = Vec::new();
        for k in 1..=n {
            seen.extend(names_in(&["--partition", &format!("{k}/{n}")]));
        }
        seen.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(seen, want, "partitions of {n}");
    }
}

#[test]
fn an_empty_partition_is_not_a_failure() {
    // One scenario, five shards: four of them are empty.
    let mut empty = 0;
    for k in 1..=5 {
        let out = tooltape()
            .args(["test", SMALL, "--partition", &format!("{k}/5")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        if String::from_utf8_lossy(&out.stderr).contains("holds no scenario") {
            empty += 1;
            assert!(String::from_utf8_lossy(&out.stdout).contains("0 passed, 0 failed"));
        }
    }
    assert_eq!(empty, 4);
}

// ---- --expected-failures and --write-baseline ----

fn baseline_entries(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(doc["format"], "tooltape-baseline");
    assert_eq!(doc["version"], 1);
    doc["expected"].as_array().unwrap().clone()
}

#[test]
fn a_baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("baseline.json");
    let broken = ["test", "--handler", "builtin:breaks-missing-result"];

    // Written from a broken handler's run: the run is judged against it and passes.
    tooltape()
        .args(broken)
        .arg("--write-baseline")
        .arg(&b)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wrote"));
    let entries = baseline_entries(&b);
    assert!(entries.len() > 3);
    assert!(entries.iter().all(|e| e["rule"] == "missing-result"));

    // Read back: every violation is expected, nothing fails.
    tooltape()
        .args(broken)
        .arg("--expected-failures")
        .arg(&b)
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(r"(?m)^0 passed, 0 failed, [1-9]\d* expected failures$")
                .unwrap(),
        )
        .stdout(predicate::str::contains("XFAIL"))
        .stdout(predicate::str::contains("[expected: in the baseline]"));

    // One entry removed: that scenario fails again, and only it.
    let removed = entries[0]["scenario"].as_str().unwrap().to_string();
    let mut fewer = entries.clone();
    fewer.remove(0);
    let text = serde_json::json!({"format": "tooltape-baseline", "version": 1, "expected": fewer});
    std::fs::write(&b, text.to_string()).unwrap();
    let out = tooltape()
        .args(broken)
        .arg("--expected-failures")
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(failed[0].contains(&removed));
    assert!(stdout.contains("0 passed, 1 failed, "), "{stdout}");

    // A stale entry (the reference handler breaks nothing): reported as fixed, not failing.
    tooltape()
        .arg("test")
        .arg("--expected-failures")
        .arg(&b)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no longer appl"))
        .stdout(predicate::str::contains("fixed"))
        .stdout(
            predicate::str::is_match(
                r"(?m)^\d+ passed, 0 failed, 0 expected failures, \d+ baseline entries to remove$",
            )
            .unwrap(),
        );
}

#[test]
fn writing_a_baseline_keeps_live_entries_and_drops_fixed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.json");
    std::fs::copy("tests/fixtures/ok/baseline.json", &b).unwrap();
    tooltape()
        .args([
            "test",
            SMALL,
            "--handler",
            "builtin:breaks-mismatched-result",
            "--expected-failures",
        ])
        .arg(&b)
        .arg("--write-baseline")
        .arg(&b)
        .assert()
        .code(0);
    let entries = baseline_entries(&b);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["rule"], "mismatched-result");
    assert_eq!(
        entries[0]["note"],
        "pairs results by completion order; being fixed"
    );
}

#[test]
fn a_baseline_that_is_missing_or_malformed_exits_2_naming_the_place() {
    let cases = [
        (
            "tests/fixtures/bad/baselines/no-such.json",
            r"--expected-failures: tests/fixtures/bad/baselines/no-such\.json: No such file",
        ),
        (
            "tests/fixtures/bad/baselines/truncated.json",
            r"tests/fixtures/bad/baselines/truncated\.json:\d+:\d+ .*EOF while parsing",
        ),
        (
            "tests/fixtures/bad/baselines/unknown_rule.json",
            r#"tests/fixtures/bad/baselines/unknown_rule\.json:5:\d+ \(at `expected\[0\]\.rule`\): unknown rule "missing-results" \(see `tooltape rules`\)"#,
        ),
    ];
    for (file, pattern) in cases {
        tooltape()
            .args(["test", "--expected-failures", file])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::is_match(pattern).unwrap());
    }
}

#[test]
fn the_baseline_shows_in_json() {
    let doc = json_of(tooltape().args([
        "test",
        SMALL,
        "--handler",
        "builtin:breaks-mismatched-result",
        "--expected-failures",
        "tests/fixtures/ok/baseline.json",
        "--json",
        "-",
    ]));
    assert_eq!(doc["expected_failures"], 1);
    assert_eq!(doc["scenarios"][0]["status"], "expected-failure");
    assert_eq!(doc["scenarios"][0]["passed"], true);
    assert_eq!(doc["scenarios"][0]["violations"][0]["expected"], true);
    let reasons: BTreeSet<&str> = doc["baseline"]["stale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["fixed", "unknown-scenario"].into());
}

// ---- colour ----

#[test]
fn piped_output_and_no_color_have_no_escape_codes() {
    let broken = [
        "test",
        "--handler",
        "builtin:breaks-mismatched-result",
        SMALL,
    ];
    let plain = stdout_of(tooltape().args(broken));
    assert!(!plain.contains('\x1b'), "piped output has escape codes");
    // The check can see colour: forced on, it is there...
    let forced = stdout_of(tooltape().args(broken).env("CLICOLOR_FORCE", "1"));
    assert!(forced.contains("\x1b["), "CLICOLOR_FORCE=1 gave no colour");
    // ...and NO_COLOR wins over it.
    let no_color = stdout_of(
        tooltape()
            .args(broken)
            .env("CLICOLOR_FORCE", "1")
            .env("NO_COLOR", "1"),
    );
    assert!(
        !no_color.contains('\x1b'),
        "NO_COLOR output has escape codes"
    );
    assert_eq!(no_color, plain);
}

#[test]
fn color_flag_overrides_the_environment() {
    let broken = [
        "test",
        "--handler",
        "builtin:breaks-mismatched-result",
        SMALL,
    ];
    let always = stdout_of(tooltape().args(broken).args(["--color", "always"]));
    assert!(always.contains("\x1b["), "--color always gave no colour");
    let never = stdout_of(
        tooltape()
            .args(broken)
            .args(["--color", "never"])
            .env("CLICOLOR_FORCE", "1"),
    );
    assert!(!never.contains('\x1b'), "--color never has escape codes");
    tooltape()
        .args(["--color", "sometimes", "rules"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected auto, always or never"));
}

// ---- logs of what tooltape decided ----

#[test]
fn logs_are_off_by_default_and_vv_shows_each_decision_on_stderr() {
    let quiet = tooltape()
        .args(["test", SMALL])
        .env_remove("TOOLTAPE_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(!stderr.contains("DEBUG"), "logs without -vv: {stderr}");
    let out = tooltape()
        .args(["test", SMALL, "-vv", "--color", "never"])
        .env_remove("TOOLTAPE_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for decision in [
        "model request served reply=1",
        "tool call filed turn=1",
        "matched=Exact held=true",
        "barrier opened: held calls released in this order",
        "follow-up judged turn=1 violations=0",
    ] {
        assert!(stderr.contains(decision), "no {decision:?} in: {stderr}");
    }
    // Each line says which scenario and order it belongs to; stdout stays the report's.
    assert!(stderr.contains("run{scenario=small order="), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("DEBUG"));
}

#[test]
fn log_file_takes_the_log_and_a_bad_filter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tooltape.log");
    let out = tooltape()
        .args([
            "test",
            SMALL,
            "--handler",
            "builtin:breaks-mismatched-result",
            "--log",
        ])
        .arg(&log)
        .env_remove("TOOLTAPE_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("DEBUG"));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("tool call filed") && text.contains("follow-up judged"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "escape codes in the log file");
    // TOOLTAPE_LOG narrows it, in RUST_LOG syntax.
    let out = tooltape()
        .args(["test", SMALL])
        .env("TOOLTAPE_LOG", "tooltape::replay=debug")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("tool call filed"));
    tooltape()
        .args(["test", SMALL])
        .env("TOOLTAPE_LOG", "tooltape=notalevel")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "TOOLTAPE_LOG=\"tooltape=notalevel\" is not a filter",
        ));
    tooltape()
        .args(["test", SMALL, "--log", "/nonexistent-dir/x.log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot create the log file /nonexistent-dir/x.log",
        ));
}

// ---- the terminal report, as snapshots ----

#[test]
fn snapshot_passing_scenario() {
    let out = stdout_of(tooltape().args(["test", SMALL]));
    insta::assert_snapshot!("terminal_pass", out);
}

#[test]
fn snapshot_failing_scenario() {
    let out = stdout_of(tooltape().args([
        "test",
        SMALL,
        "--handler",
        "builtin:breaks-mismatched-result",
    ]));
    insta::assert_snapshot!("terminal_fail", out);
}

#[test]
fn snapshot_expected_failures_and_stale_baseline_entries() {
    let out = stdout_of(tooltape().args([
        "test",
        SMALL,
        "--handler",
        "builtin:breaks-mismatched-result",
        "--expected-failures",
        "tests/fixtures/ok/baseline.json",
    ]));
    insta::assert_snapshot!("terminal_baseline", out);
}

#[test]
fn snapshot_verbose_timelines() {
    let out = stdout_of(tooltape().args(["test", SMALL, "--verbose"]));
    insta::assert_snapshot!("terminal_verbose", out);
}

#[test]
fn snapshot_json_report() {
    let mut doc = json_of(tooltape().args([
        "test",
        SMALL,
        "--handler",
        "builtin:breaks-mismatched-result",
        "--json",
        "-",
    ]));
    doc["tooltape"] = Value::from("[version]");
    insta::assert_json_snapshot!("json_fail", doc);
}

#[test]
fn an_absurd_duration_is_refused_with_its_place_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/anthropic-single_call.json")).unwrap();
    let mut s: serde_json::Value = serde_json::from_str(&text).unwrap();
    s["cassette"] = root
        .join("cassettes/anthropic/single_call.json")
        .display()
        .to_string()
        .into();
    s["policy"] = serde_json::json!({"tool_deadline_ms": u64::MAX});
    let path = dir.path().join("absurd.json");
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    tooltape()
        .arg("test")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("policy.tool_deadline_ms"))
        .stderr(predicates::str::contains("longer than"));
}
