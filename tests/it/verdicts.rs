//! Verdicts users can trust (issue #9): no false pass, no false blame, bad input refused with
//! the place. In-process on the virtual clock unless an item needs a process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tooltape::handler::{BoxError, Env, builtin, from_fn, run_scenario};
use tooltape::rules::RuleId;
use tooltape::scenario::{NamedOrder, OrderSpec, Scenario};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bundled(name: &str) -> Scenario {
    tooltape::scenario::load(&root().join("scenarios").join(name)).expect("bundled scenario")
}

/// Parse scenario text as if it were a file beside tests/fixtures/ok/small.json (so
/// `cassettes/small.json` resolves).
fn parse_ok_dir(text: &str) -> Result<Scenario, tooltape::error::Error> {
    let path: PathBuf = root().join("tests/fixtures/ok/edited.json");
    tooltape::scenario::parse(&path, text)
}

fn small_with(extra: &str) -> String {
    format!(
        r#"{{"format": "tooltape-scenario", "version": 1, "cassette": "cassettes/small.json"{extra}}}"#
    )
}

fn handler(name: &str) -> builtin::Builtin {
    builtin::by_name(name).expect("built-in handler")
}

// ---- 1. `all` on large turns ----

#[test]
fn all_orders_on_a_twenty_call_turn_catch_completion_order_pairing() {
    let mut s = bundled("anthropic-twenty_parallel.json");
    s.file.orders = vec![OrderSpec::Named(NamedOrder::All)];
    let s = Arc::new(s);
    let labels: Vec<String> = tooltape::replay::order::plans(&s, 42)
        .map(|p| p.label)
        .collect();
    assert!(labels.len() >= 3, "all made only {labels:?}");
    let broken = run_scenario(s.clone(), &handler("breaks-mismatched-result"), 42);
    assert!(
        broken.rules_broken().contains(&RuleId::MismatchedResult),
        "{:?}",
        broken.rules_broken()
    );
    let reference = run_scenario(s, &handler("reference"), 42);
    assert!(reference.passed(false), "{:?}", reference.rules_broken());
}

// ---- 2. and 9. run counts refused at load ----

#[test]
fn a_scenario_with_zero_or_too_many_runs_is_refused_at_load() {
    let e = parse_ok_dir(&small_with(r#", "orders": [{"shuffle": 0}]"#))
        .expect_err("zero shuffles make no run")
        .to_string();
    assert!(
        e.contains("edited.json") && e.contains("orders[0].shuffle"),
        "{e}"
    );
    let e = parse_ok_dir(&small_with(
        r#", "orders": ["call", {"shuffle": 4294967295}]"#,
    ))
    .expect_err("four billion runs")
    .to_string();
    assert!(
        e.contains("orders[1]") && e.contains("at most 1000000"),
        "{e}"
    );
    assert!(parse_ok_dir(&small_with(r#", "orders": [{"shuffle": 1000000}]"#)).is_ok());
    let e = parse_ok_dir(&small_with(r#", "orders": ["call", {"shuffle": 1000000}]"#))
        .expect_err("one run too many")
        .to_string();
    assert!(e.contains("at most 1000000"), "{e}");
}

#[test]
fn plans_are_made_as_they_are_drawn() {
    // A lazily made list costs nothing until drawn: the first of 10000 shuffles comes at once
    // and nothing holds the rest.
    let s = parse_ok_dir(&small_with(r#", "orders": [{"shuffle": 10000}]"#)).unwrap();
    let mut plans = tooltape::replay::order::plans(&s, 7);
    assert_eq!(plans.next().unwrap().label, "shuffle 1/10000");
    assert_eq!(plans.count(), 9999);
}

// ---- 3. a scenario whose run panics stays in the report ----

async fn panics(_env: Env) -> Result<(), BoxError> {
    panic!("deliberate panic in a test handler")
}

#[test]
fn a_scenario_whose_run_panics_is_reported_as_a_harness_failure() {
    let s = Arc::new(bundled("anthropic-single_call.json"));
    let h = from_fn("panics", panics);
    let reports = tooltape::runner::run_suite(&[s], &h, 42, 1, &|_| {});
    assert_eq!(reports.len(), 1, "the scenario vanished from the suite");
    let r = &reports[0];
    assert!(!r.passed(false));
    let e = r.harness_error.as_deref().expect("a harness error");
    assert!(e.contains("deliberate panic"), "{e}");
}

// ---- 4. trailing garbage ----

#[test]
fn trailing_garbage_after_a_scenario_or_cassette_is_refused() {
    let e = parse_ok_dir(&(small_with("") + " THIS IS NOT JSON"))
        .expect_err("garbage after the scenario")
        .to_string();
    assert!(
        e.contains("edited.json:1:") && e.contains("trailing characters"),
        "{e}"
    );
    let text = std::fs::read_to_string(root().join("tests/fixtures/ok/cassettes/small.json"))
        .unwrap()
        + "\n{} THIS IS NOT JSON\n";
    let path = root().join("tests/fixtures/ok/cassettes/edited.json");
    let e = tooltape::cassette::parse(&path, &text)
        .expect_err("garbage after the cassette")
        .to_string();
    assert!(
        e.contains("edited.json:") && e.contains("trailing characters"),
        "{e}"
    );
}

// ---- 5. a request with altered arguments is paired with the call it answers ----

/// Every bundled scenario with a turn of two or more calls.
fn multi_call_scenarios() -> Vec<Arc<Scenario>> {
    let files = tooltape::runner::discover(&[root().join("scenarios")]).unwrap();
    files
        .iter()
        .map(|f| tooltape::scenario::load(f).unwrap())
        .filter(|s| s.turns.iter().any(|t| t.len() > 1))
        .map(Arc::new)
        .collect()
}

#[test]
fn altered_arguments_on_every_call_are_blamed_on_wrong_arguments_alone() {
    let h = handler("breaks-wrong-arguments-every-call");
    let scenarios = multi_call_scenarios();
    assert!(scenarios.len() >= 15, "{} scenarios", scenarios.len());
    let mut wrong = Vec::new();
    for s in &scenarios {
        for seed in 0..50 {
            let report = run_scenario(s.clone(), &h, seed);
            let errors: Vec<_> = report.runs.iter().filter_map(|r| r.error.clone()).collect();
            let got = report.rules_broken();
            if got != [RuleId::WrongArguments].into() || !errors.is_empty() {
                wrong.push(format!("{} seed {seed}: {got:?} {errors:?}", s.name));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Frameworks that validate arguments through a typed model send `56` back as `56.0`: the same
/// JSON number, so the same call, never `wrong-arguments` (found by synthesized runs of
/// pydantic-ai and openai-agents).
#[test]
fn integers_resent_as_floats_are_the_same_arguments() {
    let h = handler("reference-float-arguments");
    let mut wrong = Vec::new();
    for s in multi_call_scenarios() {
        let report = run_scenario(s.clone(), &h, 7);
        if !report.passed(false) {
            wrong.push(format!("{}: {:?}", s.name, report.rules_broken()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---- 6. the built-in handlers follow the scenario's deadline ----

#[test]
fn the_reference_gives_up_a_hung_tool_within_a_short_scenario_deadline() {
    let mut s = bundled("anthropic-hung_tool.json");
    s.file.policy.tool_deadline_ms = 4000;
    let reference = run_scenario(Arc::new(s.clone()), &handler("reference"), 42);
    assert!(
        reference.passed(false),
        "{}",
        tooltape::report::terminal::render_failures(&reference)
    );
    // And a handler that never gives up is still caught under it.
    let broken = run_scenario(Arc::new(s), &handler("breaks-timeout-not-enforced"), 42);
    assert!(broken.rules_broken().contains(&RuleId::TimeoutNotEnforced));
}

// ---- 7. bad input is refused at load with the place, not blamed on the handler ----

#[test]
fn impossible_policies_and_outcomes_are_refused_at_load() {
    let cases = [
        (
            r#", "policy": {"run_timeout_ms": 0}"#,
            "policy.run_timeout_ms",
        ),
        (
            r#", "policy": {"tool_deadline_ms": 0}"#,
            "policy.tool_deadline_ms",
        ),
        (
            r#", "tools": {"get_weather": {"hang": true, "fail": "boom"}}"#,
            "tools.get_weather",
        ),
    ];
    for (extra, place) in cases {
        let e = parse_ok_dir(&small_with(extra))
            .expect_err(extra)
            .to_string();
        assert!(
            e.contains("edited.json:") && e.contains(place),
            "{extra}: {e}"
        );
    }
    let ids: Vec<String> = parse_ok_dir(&small_with(""))
        .unwrap()
        .turns
        .iter()
        .flatten()
        .map(|c| c.call.id.clone())
        .collect();
    let extra = format!(
        r#", "calls": {{"{}": {{"hang": true, "fail": "boom"}}}}"#,
        ids[0]
    );
    let e = parse_ok_dir(&small_with(&extra))
        .expect_err("hang and fail")
        .to_string();
    assert!(
        e.contains(&format!("calls.{}", ids[0])) && e.contains("hang and fail"),
        "{e}"
    );
}

#[test]
fn a_stream_gap_that_would_stall_every_run_is_refused() {
    let path = root().join("cassettes/anthropic/three_parallel.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let stream = doc["exchanges"][0]["reply"]["stream"]
        .as_array_mut()
        .expect("a streamed reply");
    stream[1]["gap_ms"] = u64::MAX.into();
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let e = tooltape::cassette::parse(&path, &text)
        .expect_err("gap of u64::MAX")
        .to_string();
    assert!(e.contains("exchanges[0].reply.stream[1].gap_ms"), "{e}");
}

fn tooltape() -> assert_cmd::Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
    c.current_dir(root()).env_remove("TOOLTAPE_SEED");
    c
}

#[test]
fn an_absurd_time_scale_or_a_command_that_cannot_start_exits_2() {
    use predicates::prelude::*;
    let single = "scenarios/anthropic-single_call.json";
    tooltape()
        .args(["test", single, "--time-scale", "1e300", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1e300 is more than 1000"));
    let dir = tempfile::tempdir().unwrap();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "just text\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&text_file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "just text\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    for (file, says) in [
        (&text_file, "neither a script"),
        (&plain, "is not executable"),
    ] {
        tooltape()
            .args(["test", single, "--"])
            .arg(file)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

// ---- 8. nothing the command started outlives its run ----

/// Processes whose command line is exactly `cmd`.
fn running(cmd: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let raw = std::fs::read(e.path().join("cmdline")).ok()?;
            let line = String::from_utf8_lossy(&raw).replace('\0', " ");
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let zombie = stat.rsplit(')').next()?.trim_start().starts_with('Z');
            (line.trim() == cmd && !zombie).then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn a_setsid_grandchild_is_killed_and_named_when_the_command_exits() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("one.json");
    let cassette = root().join("cassettes/anthropic/single_call.json");
    std::fs::write(
        &scenario,
        format!(
            r#"{{"format": "tooltape-scenario", "version": 1, "cassette": {:?}, "orders": ["call"]}}"#,
            cassette.display().to_string()
        ),
    )
    .unwrap();
    // A duration no other test uses, so the process is ours to look for. The pause lets the
    // grandchild leave the group before the command exits.
    let marker = format!("sleep 4242.{}", std::process::id());
    let out = tooltape()
        .args(["test", "--json", "-"])
        .arg(&scenario)
        .args([
            "--",
            "sh",
            "-c",
            &format!("setsid {marker} & sleep 0.3; exit 0"),
        ])
        .output()
        .unwrap();
    let survivors = running(&marker);
    for pid in &survivors {
        // Clean up before failing, so a regression leaves nothing behind either.
        let _ = std::process::Command::new("kill").arg(pid).status();
    }
    assert!(survivors.is_empty(), "{marker} outlived the run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes = report["scenarios"][0]["runs"][0]["notes"].to_string();
    assert!(
        notes.contains(&marker) && notes.contains("now killed"),
        "{notes}"
    );
}

// ---- 10. a hung agent: --run-timeout, --fail-fast, and a word before the next run ----

/// A scenario file over a bundled cassette with the given orders, in `dir`.
fn scenario_file(dir: &Path, name: &str, orders: &str) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let cassette = root().join("cassettes/anthropic/single_call.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"format": "tooltape-scenario", "version": 1, "cassette": {:?}, "orders": {orders}}}"#,
            cassette.display().to_string()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_hung_agent_is_cut_short_and_said_so_before_the_next_run() {
    use predicates::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let two = scenario_file(dir.path(), "two", r#"["call", "reverse"]"#);
    tooltape()
        .args(["test", "--run-timeout", "300"])
        .arg(&two)
        .args(["--", "sleep", "30"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "two (call) timed out after 300 ms; 1 more run(s) of it follow",
        ))
        .stdout(predicate::str::contains("run_timeout_ms (300 ms)"));
    let a = scenario_file(dir.path(), "a", r#"["call"]"#);
    let b = scenario_file(dir.path(), "b", r#"["call"]"#);
    let out = tooltape()
        .args([
            "test",
            "--jobs",
            "1",
            "--fail-fast",
            "--run-timeout",
            "300",
            "--json",
            "-",
        ])
        .args([&a, &b])
        .args(["--", "sleep", "30"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 of 2 scenario(s) not run"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 1);
}

#[test]
fn test_help_states_the_run_timeout() {
    use predicates::prelude::*;
    tooltape()
        .args(["test", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("600000 ms (10 minutes)"))
        .stdout(predicate::str::contains("--fail-fast"))
        .stdout(predicate::str::contains("--run-timeout <MS>"));
}
