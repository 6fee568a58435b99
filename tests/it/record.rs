//! `tooltape record` end to end, offline: the binary records an agent through its proxy in front
//! of a local fake upstream (the mock server on a bundled scenario, or a scripted upstream that
//! fails on cue), and the cassette is checked byte by byte.
//!
//! The agent is either this test binary itself (see `record/agent.rs`: a small HTTP agent, no
//! SDK) or, when a Python with the SDKs is there (like tests/agents.rs), the example agents.

#[path = "record/agent.rs"]
mod agent;
#[path = "record/upstream.rs"]
mod upstream;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tooltape::cassette::{self, LoadedCassette, RecordedReply};
use tooltape::record::redact::base64_encode as b64;
use tooltape::scenario::{NamedOrder, OrderSpec};
use tooltape::server::MockRun;
use upstream::{Fail, Script};

/// The credentials the agents run with: shaped like no known key, so only the proxy's
/// header-only recording keeps them out of the file (no pattern would mask them).
const ANTHROPIC_KEY: &str = "tt-anthropic-KEY-7Qx9Lm2Pz4Rw8Ty1";
const OPENAI_KEY: &str = "tt-openai-KEY-3Hv6Nb0Jc5Kd9Fg2";
const GEMINI_KEY: &str = "tt-gemini-KEY-8Wc1Ys4Ue7Ab3Xq6";

/// The full name of [`helper_agent`] in this test binary (`record::helper_agent`).
const HELPER_AGENT: &str = "record::helper_agent";

/// This binary, started by the recorder as the agent (see `agent.rs`).
#[test]
fn helper_agent() {
    let here = module_path!().split_once("::").map_or("", |(_, m)| m);
    assert_eq!(HELPER_AGENT, format!("{here}::helper_agent"));
    agent::run_if_asked();
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bundled(name: &str) -> PathBuf {
    root().join("cassettes").join(name)
}

fn load(path: &Path) -> LoadedCassette {
    cassette::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// An agent command and the variables it needs.
struct Agent {
    command: Vec<String>,
    env: Vec<(String, String)>,
}

impl Agent {
    /// The test binary's own agent, sending `cassette`'s first request.
    fn rust(cassette: &Path, stream: bool) -> Agent {
        let exe = std::env::current_exe().expect("test binary");
        Agent {
            command: [
                HELPER_AGENT,
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ]
            .into_iter()
            .map(String::from)
            .fold(vec![exe.display().to_string()], |mut v, a| {
                v.push(a);
                v
            }),
            env: vec![
                ("TOOLTAPE_TEST_AGENT".into(), "loop".into()),
                (
                    "TOOLTAPE_TEST_CASSETTE".into(),
                    cassette.display().to_string(),
                ),
                (
                    "TOOLTAPE_TEST_STREAM".into(),
                    if stream { "1" } else { "0" }.into(),
                ),
            ],
        }
    }

    /// One of examples/python's agents, when a Python with the SDKs is there.
    fn python(script: &str, stream: bool) -> Option<Agent> {
        let py = crate::python_with("anthropic, openai, google.genai")?;
        let mut command = vec![
            py.display().to_string(),
            root()
                .join("examples/python")
                .join(script)
                .display()
                .to_string(),
        ];
        if stream {
            command.push("--stream".into());
        }
        Some(Agent {
            command,
            env: Vec::new(),
        })
    }

    fn with(mut self, name: &str, value: &str) -> Agent {
        self.env.push((name.into(), value.into()));
        self
    }
}

/// How a `tooltape record` run ended.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stderr: String,
}

/// The recorder's command, in `dir`, with the test credentials.
fn recorder(dir: &Path, args: &[&str], agent: &Agent) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tooltape"));
    cmd.arg("record")
        .args(args)
        .arg("--")
        .args(&agent.command)
        .current_dir(dir)
        .env("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env("GEMINI_API_KEY", GEMINI_KEY)
        .env_remove("GOOGLE_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("TOOLTAPE_TOOLS_URL")
        .env_remove("TOOLTAPE_TEST_AGENT")
        .envs(agent.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Run `tooltape record ARGS -- AGENT` in `dir` (at most 40 s).
async fn record(dir: &Path, args: &[&str], agent: &Agent) -> Run {
    let child = recorder(dir, args, agent).spawn().expect("start tooltape");
    let out = tokio::time::timeout(Duration::from_secs(40), child.wait_with_output())
        .await
        .expect("tooltape record did not end within 40 s")
        .expect("tooltape record ran");
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout),
    }
}

/// The mock server on a bundled scenario (one order, latencies scaled down): the fake upstream.
async fn mock(scenario: &str) -> MockRun {
    let mut s =
        tooltape::scenario::load(&root().join("scenarios").join(format!("{scenario}.json")))
            .expect("bundled scenario");
    s.file.orders = vec![OrderSpec::Named(NamedOrder::Call)];
    let plan = tooltape::replay::order::plans(&s, 42).next().unwrap();
    MockRun::start(Arc::new(s), plan, 0, 0.2)
        .await
        .expect("mock server")
}

fn var(vars: &[(String, String)], name: &str) -> String {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .expect(name)
}

/// Every byte of the file, searched for each key: verbatim and base64 at every alignment.
fn assert_no_secret(path: &Path) {
    let bytes = std::fs::read(path).expect("cassette");
    let text = String::from_utf8_lossy(&bytes);
    for key in [ANTHROPIC_KEY, OPENAI_KEY, GEMINI_KEY] {
        assert!(!text.contains(key), "{key} is in {}", path.display());
        for skip in 0..3 {
            for url_safe in [false, true] {
                let tail = &key.as_bytes()[skip..];
                let enc = b64(&tail[..tail.len() / 3 * 3], url_safe);
                assert!(
                    !text.contains(&enc),
                    "base64 of {key} is in {}",
                    path.display()
                );
            }
        }
    }
}

/// Only these names in `dir` (no temporary file left behind).
fn assert_files(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, names, "files in {}", dir.display());
}

/// Record `scenario` through the mock with `agent`; check the cassette and that it makes a
/// scenario the reference handler passes.
async fn record_and_check(scenario: &str, agent: Agent, stream: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(scenario).await;
    let vars = mock.env_vars();
    let agent = agent.with("TOOLTAPE_TOOLS_URL", &var(&vars, "TOOLTAPE_TOOLS_URL"));
    let run = record(
        dir.path(),
        &[
            "--out",
            "c.json",
            "--upstream",
            &var(&vars, "ANTHROPIC_BASE_URL"),
        ],
        &agent,
    )
    .await;
    let report = mock.finish().await;
    assert_eq!(run.code, Some(0), "{scenario} (stream {stream}): {run:?}");
    assert!(
        report.error.is_none() && report.violations.is_empty(),
        "{scenario}: the agent through the proxy: {report:?}"
    );
    let path = dir.path().join("c.json");
    assert_no_secret(&path);
    let got = load(&path);
    let want = load(&scenario_cassette(scenario));
    assert_eq!(got.replies.len(), want.replies.len(), "{scenario}");
    for (g, w) in got.replies.iter().zip(&want.replies) {
        let ids = |r: &tooltape::transcript::Reply| {
            r.calls().iter().map(|c| c.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(g), ids(w), "{scenario}: the replies as served");
    }
    for ex in &got.cassette.exchanges {
        assert_eq!(
            matches!(ex.reply, RecordedReply::Stream(_)),
            stream,
            "{scenario}: stream {stream}"
        );
    }
    let first_calls = got.replies[0].calls();
    assert_eq!(
        got.cassette.exchanges[1].tool_latency_ms.len(),
        first_calls.len(),
        "{scenario}: a latency per call"
    );
    assert!(got.cassette.meta.recorded_at.is_some() && got.cassette.meta.source.is_some());
    // From cassette to test: the starting scenario passes against the reference handler.
    let starter = tooltape::record::starter::write(
        &path,
        &dir.path().join("s/x.json"),
        cassette::Overwrite::Never,
    )
    .expect("scenario new");
    assert_eq!(
        starter.latencies_recorded.0, starter.latencies_recorded.1,
        "every latency recorded"
    );
    let s = tooltape::scenario::load(&dir.path().join("s/x.json")).expect("the scenario loads");
    let reference = tooltape::handler::builtin::by_name("reference").unwrap();
    let r = tokio::task::spawn_blocking(move || {
        tooltape::handler::run_scenario(Arc::new(s), &reference, 42)
    })
    .await
    .expect("replay");
    assert!(
        r.passed(false),
        "{scenario}: {}",
        tooltape::report::terminal::render_failures(&r)
    );
}

/// The cassette a bundled scenario replays.
fn scenario_cassette(scenario: &str) -> PathBuf {
    let path = root().join("scenarios").join(format!("{scenario}.json"));
    root().join("scenarios").join(
        tooltape::scenario::load(&path)
            .expect("bundled scenario")
            .file
            .cassette,
    )
}

const CASES: [(&str, &str); 4] = [
    ("anthropic-three_round_loop", "anthropic_agent.py"),
    ("openai-chat-three_parallel", "openai_chat_agent.py"),
    (
        "openai-responses-three_parallel",
        "openai_responses_agent.py",
    ),
    ("gemini-three_parallel_no_ids", "gemini_agent.py"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_all_four_apis_plain_and_streamed() {
    let mut runs = Vec::new();
    for (scenario, _) in CASES {
        for stream in [false, true] {
            runs.push(record_and_check(
                scenario,
                Agent::rust(&scenario_cassette(scenario), stream),
                stream,
            ));
        }
    }
    futures_util::future::join_all(runs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_agents_record_through_the_proxy() {
    let mut runs = Vec::new();
    for (scenario, script) in CASES {
        for stream in [false, true] {
            let Some(agent) = Agent::python(script, stream) else {
                return;
            };
            runs.push(record_and_check(scenario, agent, stream));
        }
    }
    futures_util::future::join_all(runs).await;
}

/// The whole flow on the command line: record, `scenario new`, `tooltape test`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_scenario_new_then_test_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mock = mock("openai-chat-three_round_loop").await;
    let vars = mock.env_vars();
    let agent = Agent::rust(&bundled("openai-chat/three_round_loop.json"), true)
        .with("TOOLTAPE_TOOLS_URL", &var(&vars, "TOOLTAPE_TOOLS_URL"));
    let run = record(
        dir.path(),
        &[
            "--out",
            "cassettes/run.json",
            "--upstream",
            &var(&vars, "ANTHROPIC_BASE_URL"),
        ],
        &agent,
    )
    .await;
    mock.finish().await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr
            .contains("next: tooltape scenario new cassettes/run.json"),
        "{}",
        run.stderr
    );
    let tooltape = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tooltape"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("tooltape")
    };
    let out = tooltape(&["scenario", "new", "cassettes/run.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("scenarios/run.json")).unwrap();
    assert!(
        text.contains("\"cassette\": \"../cassettes/run.json\""),
        "{text}"
    );
    let out = tooltape(&["test", "scenarios/run.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let again = tooltape(&["scenario", "new", "cassettes/run.json"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing scenario is not replaced without --force"
    );
    assert!(
        tooltape(&["scenario", "new", "cassettes/run.json", "--force"])
            .status
            .success()
    );
}

/// A scripted upstream serving `cassette`'s replies from exchange `from`.
async fn scripted(
    cassette: &str,
    from: usize,
    fail_at: Option<(usize, Fail)>,
) -> upstream::Upstream {
    upstream::start(Script::from_cassette(
        &load(&bundled(cassette)),
        from,
        fail_at,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_in_prompts_are_masked_and_a_known_credential_stops_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let up = scripted("anthropic/single_call.json", 0, None).await;
    let agent = |prompt: &str| {
        Agent::rust(&bundled("anthropic/single_call.json"), false)
            .with("TOOLTAPE_TEST_PROMPT", prompt)
    };

    // Key-shaped text and --redact matches are masked; the file is written.
    let masked = agent(
        "my keys: sk-ant-api03-abcdefghijklmnopqrstuv and corp-123456; Authorization: Bearer abcdefghijkl",
    );
    let run = record(
        dir.path(),
        &[
            "--out",
            "a.json",
            "--upstream",
            &up.url(),
            "--redact",
            "corp-[0-9]+",
        ],
        &masked,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let text = std::fs::read_to_string(dir.path().join("a.json")).unwrap();
    assert!(
        text.contains("my keys: [REDACTED] and [REDACTED]; Authorization: [REDACTED]"),
        "{text}"
    );
    assert_no_secret(&dir.path().join("a.json"));

    // The run's own key, verbatim or base64, is found and nothing is written.
    for prompt in [
        format!("the key is {ANTHROPIC_KEY}"),
        format!(
            "attachment {}",
            b64(format!("m:{ANTHROPIC_KEY}").as_bytes(), false)
        ),
    ] {
        let up = scripted("anthropic/single_call.json", 0, None).await;
        let run = record(
            dir.path(),
            &["--out", "b.json", "--upstream", &up.url()],
            &agent(&prompt),
        )
        .await;
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(
            run.stderr.contains("refusing to write b.json")
                && run.stderr.contains("ANTHROPIC_API_KEY"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(ANTHROPIC_KEY),
            "the key is never printed"
        );
    }
    assert_files(dir.path(), &["a.json"]);

    // A --redact pattern for it lets the recording through, without the key.
    let up = scripted("anthropic/single_call.json", 0, None).await;
    let run = record(
        dir.path(),
        &[
            "--out",
            "b.json",
            "--upstream",
            &up.url(),
            "--redact",
            "tt-anthropic-KEY-[A-Za-z0-9]+",
        ],
        &agent(&format!("the key is {ANTHROPIC_KEY}")),
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_no_secret(&dir.path().join("b.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_are_reported_and_written_only_with_keep_partial() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = bundled("anthropic/three_parallel.json");
    let plain = Agent::rust(&cassette, false);

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let run = record(
        dir.path(),
        &["--out", "c.json", "--upstream", &format!("http://{closed}")],
        &plain,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("could not reach http://{closed}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("nothing written: c.json was not created"),
        "{}",
        run.stderr
    );

    // A 500 on the first request.
    let up = scripted(
        "anthropic/three_parallel.json",
        0,
        Some((0, Fail::Status(500))),
    )
    .await;
    let run = record(
        dir.path(),
        &["--out", "c.json", "--upstream", &up.url(), "--keep-partial"],
        &plain,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("model request 1: the upstream answered 500"),
        "{}",
        run.stderr
    );

    // A stream cut mid-way.
    let up = scripted("anthropic/three_parallel.json", 0, Some((0, Fail::Cut))).await;
    let run = record(
        dir.path(),
        &["--out", "c.json", "--upstream", &up.url()],
        &Agent::rust(&cassette, true),
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("model request 1: the upstream reply broke off"),
        "{}",
        run.stderr
    );
    assert_files(dir.path(), &[]);

    // A 503 on the follow-up: nothing written, unless --keep-partial.
    let up = scripted(
        "anthropic/three_parallel.json",
        0,
        Some((1, Fail::Status(503))),
    )
    .await;
    let run = record(
        dir.path(),
        &["--out", "c.json", "--upstream", &up.url()],
        &plain,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("--keep-partial writes the 1 exchange(s) recorded so far"),
        "{}",
        run.stderr
    );
    assert_files(dir.path(), &[]);
    let up = scripted(
        "anthropic/three_parallel.json",
        0,
        Some((1, Fail::Status(503))),
    )
    .await;
    let run = record(
        dir.path(),
        &["--out", "c.json", "--upstream", &up.url(), "--keep-partial"],
        &plain,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("wrote a PARTIAL cassette c.json: 1 exchange(s)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the last reply asks for 3 tool call(s)"),
        "{}",
        run.stderr
    );
    let partial = load(&dir.path().join("c.json"));
    assert_eq!(partial.cassette.exchanges.len(), 1);
    assert!(
        partial
            .cassette
            .meta
            .notes
            .as_deref()
            .is_some_and(|n| n.contains("PARTIAL"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_once_all_and_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.json");
    let old = std::fs::read(bundled("anthropic/three_round_loop.json")).unwrap();
    std::fs::write(&out, &old).unwrap();
    let touch = Agent {
        command: vec!["sh".into(), "-c".into(), "touch ran".into()],
        env: Vec::new(),
    };
    // once (the default) and all without --force refuse before running anything.
    for args in [
        &["--out", "c.json"][..],
        &["--out", "c.json", "--mode", "all"][..],
    ] {
        let run = record(dir.path(), args, &touch).await;
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(
            run.stderr.contains("c.json: the file exists"),
            "{}",
            run.stderr
        );
    }
    assert!(!dir.path().join("ran").exists(), "the command was not run");
    let missing = Agent {
        command: vec!["/nonexistent/agent".into()],
        env: Vec::new(),
    };
    let run = record(dir.path(), &["--out", "d.json"], &missing).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("could not start `/nonexistent/agent`"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&out).unwrap(), old);

    // all --force re-records and says what changed.
    let up = scripted("anthropic/three_parallel.json", 0, None).await;
    let agent = Agent::rust(&bundled("anthropic/three_parallel.json"), false);
    let run = record(
        dir.path(),
        &[
            "--out",
            "c.json",
            "--mode",
            "all",
            "--force",
            "--upstream",
            &up.url(),
        ],
        &agent,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("replaced c.json: 2 exchange(s)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("drift against the old cassette:")
            && run.stderr.contains("turns: 4 → 2"),
        "{}",
        run.stderr
    );
    assert_eq!(load(&out).cassette.exchanges.len(), 2);
    assert_files(dir.path(), &["c.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_new_continues_a_partial_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.json");
    let full = load(&bundled("anthropic/three_round_loop.json"));
    let mut partial = full.cassette.clone();
    partial.exchanges.truncate(2);
    cassette::save(&out, &partial, cassette::Overwrite::Never).unwrap();
    // Streamed: the old replies (plain JSON in the file) are served as streams.
    let agent = Agent::rust(&bundled("anthropic/three_round_loop.json"), true);

    // The first two replies come from the file; the rest from the upstream.
    let up = scripted("anthropic/three_round_loop.json", 2, None).await;
    let run = record(
        dir.path(),
        &["--out", "c.json", "--mode", "new", "--upstream", &up.url()],
        &agent,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr
            .contains("extended c.json: 4 exchange(s), 2 recorded in this run"),
        "{}",
        run.stderr
    );
    assert_eq!(up.served(), 2);
    let got = load(&out);
    assert_eq!(&got.cassette.exchanges[..2], &partial.exchanges[..]);
    let ids: Vec<String> = got.replies[1]
        .calls()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(
        got.cassette.exchanges[2]
            .tool_latency_ms
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        ids
    );

    // Complete now: nothing new, the file is left as it is.
    let before = std::fs::read(&out).unwrap();
    let up = scripted("anthropic/three_round_loop.json", 4, None).await;
    let run = record(
        dir.path(),
        &["--out", "c.json", "--mode", "new", "--upstream", &up.url()],
        &agent,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("nothing new to record"),
        "{}",
        run.stderr
    );
    assert_eq!(up.served(), 0);
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

/// Start a recording whose agent stops after its first reply; wait until it is there.
async fn hanging_recording(
    dir: &Path,
    ready: &Path,
    up: &upstream::Upstream,
) -> (tokio::process::Child, i32) {
    let agent = Agent::rust(&bundled("anthropic/three_parallel.json"), true)
        .with("TOOLTAPE_TEST_AGENT", "hang")
        .with("TOOLTAPE_TEST_READY", &ready.display().to_string());
    let child = recorder(
        dir,
        &[
            "--out",
            "c.json",
            "--mode",
            "all",
            "--force",
            "--upstream",
            &up.url(),
        ],
        &agent,
    )
    .spawn()
    .expect("start tooltape");
    for _ in 0..400 {
        if let Ok(pid) = std::fs::read_to_string(ready).map(|s| s.trim().parse::<i32>())
            && let Ok(pid) = pid
        {
            return (child, pid);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the agent did not get its first reply within 20 s");
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_or_stopped_recorder_leaves_the_old_file_byte_identical() {
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::Pid;
    let up = scripted("anthropic/three_parallel.json", 0, None).await;
    let old = std::fs::read(bundled("anthropic/three_round_loop.json")).unwrap();
    for signal in [Signal::SIGKILL, Signal::SIGTERM] {
        let dir = tempfile::tempdir().unwrap();
        let ready = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.json"), &old).unwrap();
        let (mut child, agent_pid) =
            hanging_recording(dir.path(), &ready.path().join("pid"), &up).await;
        let recorder = Pid::from_raw(child.id().expect("pid") as i32);
        kill(recorder, signal).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("the recorder ends")
            .unwrap();
        if signal == Signal::SIGKILL {
            // Nobody is left to stop the agent: its group is ours to clean up.
            let _ = killpg(Pid::from_raw(agent_pid), Signal::SIGKILL);
        } else {
            assert_eq!(status.code(), Some(1));
            for _ in 0..40 {
                if !alive(agent_pid) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(!alive(agent_pid), "the recorder stopped the agent");
        }
        assert_eq!(
            std::fs::read(dir.path().join("c.json")).unwrap(),
            old,
            "{signal}: the old file is intact"
        );
        assert_files(dir.path(), &["c.json"]);
    }
}

/// A streamed reply reaches the agent event by event as the upstream sends it (time to first
/// token unchanged), and each event is recorded with its arrival gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_relayed_as_they_arrive_and_recorded_with_their_gaps() {
    use tooltape::record::proxy;
    let cassette = load(&bundled("anthropic/single_call.json"));
    let mut script = Script::from_cassette(&cassette, 0, None);
    script.pause_ms = 1200;
    let up = upstream::start(script).await;
    let running = proxy::start(proxy::Upstreams::new(Some(&up.url())).unwrap(), None)
        .await
        .unwrap();
    let mut request = cassette.cassette.exchanges[0].request.clone();
    request["stream"] = serde_json::json!(true);
    let started = std::time::Instant::now();
    let mut reply = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{}/v1/messages", running.addr))
        .body(request.to_string())
        .send()
        .await
        .unwrap();
    let mut arrivals = Vec::new();
    while let Some(chunk) = reply.chunk().await.unwrap() {
        arrivals.push((started.elapsed(), chunk.len()));
    }
    let events = provider_events(&cassette);
    // The first event is passed on at once, not held until the reply is complete.
    assert!(arrivals[0].0 < Duration::from_millis(900), "{arrivals:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "{arrivals:?}"
    );
    let log = running.log.clone();
    running.stop().await;
    let entry = &log.snapshot()[0];
    assert_eq!(entry.frames.len(), events);
    assert!(entry.frames[0].gap_ms < 900, "{:?}", entry.frames[0]);
    assert!(
        (1100..5000).contains(&entry.frames[1].gap_ms),
        "{:?}",
        entry.frames[1]
    );
}

/// How many stream events the first reply of `cassette` makes.
fn provider_events(cassette: &LoadedCassette) -> usize {
    tooltape::provider::format(cassette.provider())
        .stream_from_reply(&cassette.reply_bodies[0])
        .unwrap()
        .len()
}

/// `tooltape record` listens on 127.0.0.1 only: the proxy answers there, and neither on this
/// host's other address nor on IPv6; and the command it starts is told 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_proxy_listens_on_loopback_only() {
    use std::net::{IpAddr, Ipv6Addr, SocketAddr};
    use tooltape::record::proxy;
    let running = proxy::start(
        proxy::Upstreams::new(Some("http://127.0.0.1:9")).unwrap(),
        None,
    )
    .await
    .unwrap();
    let addr = running.addr;
    assert!(addr.ip().is_loopback(), "{addr}");
    let reach = move |ip: IpAddr| {
        std::net::TcpStream::connect_timeout(
            &SocketAddr::new(ip, addr.port()),
            Duration::from_secs(2),
        )
        .is_ok()
    };
    let (loopback, other, v6) = tokio::task::spawn_blocking(move || {
        let other = agent::other_address().map(|ip| (ip, reach(ip)));
        (reach(addr.ip()), other, reach(Ipv6Addr::LOCALHOST.into()))
    })
    .await
    .unwrap();
    running.stop().await;
    assert!(loopback, "the proxy answers on {addr}");
    assert!(!v6, "the proxy answers on [::1]");
    match other {
        Some((ip, answered)) => assert!(!answered, "the proxy answers on {ip}"),
        None => eprintln!("no non-loopback address here: checked loopback and [::1] only"),
    }

    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("probe.txt");
    let agent = Agent::rust(&bundled("anthropic/single_call.json"), false)
        .with("TOOLTAPE_TEST_AGENT", "probe")
        .with("TOOLTAPE_TEST_READY", &ready.display().to_string());
    let run = record(dir.path(), &["--out", "c.json"], &agent).await;
    assert_eq!(run.code, Some(1), "no model request: {run:?}");
    let probe = std::fs::read_to_string(&ready).expect("the agent ran");
    let mut lines = probe.lines();
    let base = lines.next().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{probe}");
    let other = lines.next().unwrap();
    assert!(
        other == "none" || other.ends_with(" refused"),
        "the proxy of `tooltape record` answers beyond loopback: {probe}"
    );
}

/// A key shaped like Anthropic's, too short for the `sk-` pattern once cut in three.
const SK_ANT_45: &str = "sk-ant-api03-Zq3Lw9xPk2Vb7Nc4Md8Rf1Ty6Hs5Jg0x";
/// An opaque key no pattern knows: only the run's own credentials find it.
const HEX_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

fn text_reply(text: &str) -> serde_json::Value {
    serde_json::json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}})
}

/// The text of an Anthropic stream's text deltas, and the stream without them (the place of
/// the first one kept as `None`).
fn take_text(
    events: Vec<tooltape::provider::SseEvent>,
) -> (String, Vec<Option<tooltape::provider::SseEvent>>) {
    let mut text = String::new();
    let mut rest = Vec::new();
    for e in events {
        match serde_json::from_str::<serde_json::Value>(&e.data)
            .ok()
            .and_then(|v| v["delta"]["text"].as_str().map(str::to_string))
        {
            Some(t) => {
                if text.is_empty() {
                    rest.push(None);
                }
                text.push_str(&t);
            }
            None => rest.push(Some(e)),
        }
    }
    (text, rest)
}

/// `rest` with text delta events holding `texts` (raw JSON string contents) where the first was.
fn with_text(
    rest: Vec<Option<tooltape::provider::SseEvent>>,
    texts: &[String],
) -> Vec<tooltape::provider::SseEvent> {
    rest.into_iter()
        .flat_map(|e| match e {
            Some(e) => vec![e],
            None => texts
                .iter()
                .map(|t| tooltape::provider::SseEvent {
                    event: Some("content_block_delta".into()),
                    data: format!(
                        r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{t}"}}}}"#
                    ),
                    gap_ms: 0,
                })
                .collect(),
        })
        .collect()
}

/// The text deltas of an Anthropic stream as one event, every character a `\uXXXX` escape.
fn escaped_text_delta(
    events: Vec<tooltape::provider::SseEvent>,
) -> Vec<tooltape::provider::SseEvent> {
    let (text, rest) = take_text(events);
    let escaped: String = text
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    with_text(rest, &[escaped])
}

/// The text deltas of an Anthropic stream as two events, cut in the middle.
fn text_in_two(events: Vec<tooltape::provider::SseEvent>) -> Vec<tooltape::provider::SseEvent> {
    let (text, rest) = take_text(events);
    let (a, b) = text.split_at(text.len() / 2);
    with_text(rest, &[a.to_string(), b.to_string()])
}

/// Record one run of the test agent against an upstream serving `replies`; the run and the
/// folder it wrote to.
async fn record_replies(
    replies: Vec<serde_json::Value>,
    rewrite: Option<fn(Vec<tooltape::provider::SseEvent>) -> Vec<tooltape::provider::SseEvent>>,
    stream: bool,
    env: &[(&str, &str)],
) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut script = Script::new(tooltape::provider::Provider::Anthropic, replies, None);
    script.rewrite = rewrite;
    let up = upstream::start(script).await;
    let agent = env.iter().fold(
        Agent::rust(&bundled("anthropic/single_call.json"), stream),
        |a, (k, v)| a.with(k, v),
    );
    let run = record(
        dir.path(),
        &["--out", "c.json", "--upstream", &up.url()],
        &agent,
    )
    .await;
    (run, dir)
}

/// Issue #14, reproduced as it was reported: through the binary and a fake upstream. Each of
/// these wrote the key into the cassette before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_leaks_through_a_fake_upstream_are_masked_or_refused() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let once = b64(&format!("token={ANTHROPIC_KEY}"));
    let hex: String = ANTHROPIC_KEY.bytes().map(|b| format!("{b:02x}")).collect();
    let query = "client_secret=cs-0b9f7e3a5c1d2e4f&access-token=at-5e6f7a8b9c0d1e2f&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE1&private_token=glpat-xY7zW3vU1tS9rQ5p";
    let query_env = [("TOOLTAPE_TEST_QUERY", query)];
    let refused = |what: &'static str, source: &'static str| (what, Some(source));
    let (split3, split2, escaped, wrapped, twice, hexed, queried) = tokio::join!(
        record_replies(vec![text_reply(SK_ANT_45)], None, true, &[]),
        record_replies(
            vec![text_reply(HEX_KEY)],
            Some(text_in_two),
            true,
            &[("SERVICE_API_KEY", HEX_KEY)]
        ),
        record_replies(
            vec![text_reply(&format!("my key: {ANTHROPIC_KEY}"))],
            Some(escaped_text_delta),
            true,
            &[]
        ),
        record_replies(
            vec![text_reply(&format!("a: {}\n{}", &once[..20], &once[20..]))],
            None,
            false,
            &[]
        ),
        record_replies(
            vec![text_reply(&format!("a: {}", b64(&once)))],
            None,
            false,
            &[]
        ),
        record_replies(vec![text_reply(&format!("a: {hex}"))], None, false, &[]),
        record_replies(vec![text_reply("done")], None, false, &query_env),
    );
    let failures: Vec<String> = [
        (
            refused("a key split in two deltas", "SERVICE_API_KEY"),
            split2,
        ),
        (
            refused("\\u escapes in SSE data", "ANTHROPIC_API_KEY"),
            escaped,
        ),
        (
            refused("base64 across a line break", "ANTHROPIC_API_KEY"),
            wrapped,
        ),
        (refused("base64 twice", "ANTHROPIC_API_KEY"), twice),
        (refused("hex", "ANTHROPIC_API_KEY"), hexed),
        (("a key split in three deltas", None), split3),
        (("secret-named query parameters", None), queried),
    ]
    .into_iter()
    .filter_map(|((what, source), (run, dir))| {
        leak_case(source, query, &run, dir.path())
            .err()
            .map(|e| format!("{what}: {e}"))
    })
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What one run of the issue-14 test did wrong: refused when `source` is given (naming it, and
/// writing nothing), else written without any piece of a key or query value.
fn leak_case(source: Option<&str>, query: &str, run: &Run, dir: &Path) -> Result<(), String> {
    macro_rules! check {
        ($cond:expr, $($msg:tt)+) => {
            if !$cond {
                return Err(format!($($msg)+));
            }
        };
    }
    for key in [ANTHROPIC_KEY, HEX_KEY] {
        check!(!run.stderr.contains(key), "a key printed: {}", run.stderr);
    }
    let path = dir.join("c.json");
    if let Some(source) = source {
        check!(
            run.code == Some(1),
            "not refused (the file leaks it): {run:?}"
        );
        check!(
            run.stderr.contains("refusing to write c.json")
                && run.stderr.contains(source)
                && run.stderr.contains("exchange 1"),
            "{}",
            run.stderr
        );
        check!(!path.exists(), "a file was written");
        return Ok(());
    }
    check!(run.code == Some(0), "{run:?}");
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let c = load(&path);
    let reply = serde_json::to_string(&c.replies[0]).unwrap();
    for window in SK_ANT_45.as_bytes()[13..].windows(10) {
        let piece = std::str::from_utf8(window).unwrap();
        check!(!reply.contains(piece), "{piece} in the reply {reply}");
    }
    for value in query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|p| p.1)
    {
        check!(!text.contains(value), "{value} in the file:\n{text}");
        check!(!run.stderr.contains(value), "{value} printed");
    }
    check!(
        mode(&path) == normal_mode(dir),
        "mode {:o} after the write",
        mode(&path)
    );
    assert_no_secret(&path);
    Ok(())
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The mode a new file gets in `dir` (0666 less the umask).
fn normal_mode(dir: &Path) -> u32 {
    let path = dir.join(".mode-probe");
    std::fs::write(&path, "").unwrap();
    let m = mode(&path);
    std::fs::remove_file(&path).unwrap();
    m
}
