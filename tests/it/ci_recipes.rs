//! The CI recipes of docs/ci.md are real files (docs/ci/*.yml) and they stay runnable: every
//! `tooltape` command a workflow runs names a real subcommand and only flags that subcommand
//! has, as the built binary's `--help` lists them, gives each flag that takes a value a value,
//! and its `--partition K/N` shards are exactly the ones the file sets up (a matrix or
//! `parallel:` of N jobs numbered 1..N). docs/ci.md quotes each file verbatim.

#[path = "ci_recipes/cli.rs"]
mod cli;
#[path = "ci_recipes/shell.rs"]
mod shell;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use cli::{Invocation, check_command, check_partition, cli};
use shell::shell_commands;

const GITHUB: &str = "docs/ci/github-actions.yml";
const GITLAB: &str = "docs/ci/gitlab-ci.yml";

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// The workflow files, as typed YAML (serde-saphyr has no untyped DOM; unknown keys are ignored).

#[derive(Deserialize)]
struct GithubWorkflow {
    jobs: BTreeMap<String, GithubJob>,
}

#[derive(Deserialize)]
struct GithubJob {
    #[serde(default)]
    strategy: Option<GithubStrategy>,
    #[serde(default)]
    steps: Vec<GithubStep>,
}

#[derive(Deserialize)]
struct GithubStrategy {
    #[serde(default)]
    matrix: BTreeMap<String, MatrixAxis>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MatrixAxis {
    Numbers(Vec<u32>),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct GithubStep {
    run: Option<Spanned<String>>,
}

/// A top-level entry of a GitLab CI file: a job (or `default:`) with scripts, or anything else.
#[derive(Deserialize)]
#[serde(untagged)]
enum GitlabEntry {
    Job(GitlabJob),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct GitlabJob {
    before_script: Option<Script>,
    script: Option<Script>,
    after_script: Option<Script>,
    parallel: Option<Parallel>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Script {
    Line(String),
    Lines(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Parallel {
    Jobs(u32),
    Matrix(IgnoredAny),
}

/// Problems of every tooltape command in a GitHub Actions workflow, and how many commands ran
/// tooltape (with their invocations, for the callers' own checks).
fn check_github(file: &str, yaml: &str) -> (Vec<String>, Vec<Invocation>) {
    let workflow: GithubWorkflow =
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{file}: not a workflow: {e}"));
    let (mut problems, mut found) = (Vec::new(), Vec::new());
    for (name, job) in &workflow.jobs {
        let axis = |variable: &str| {
            let axis = variable.strip_prefix("${{matrix.")?.strip_suffix("}}")?;
            match job.strategy.as_ref()?.matrix.get(axis)? {
                MatrixAxis::Numbers(values) => Some(values.clone()),
                MatrixAxis::Other(_) => None,
            }
        };
        for run in job.steps.iter().filter_map(|s| s.run.as_ref()) {
            // A block scalar's span starts at its first line of text.
            let at = |line: usize| {
                format!(
                    "{file}:{}: job {name}",
                    run.referenced.line() as usize + line
                )
            };
            check_script(&run.value, &at, &axis, &mut problems, &mut found);
        }
    }
    (problems, found)
}

/// The same for a GitLab CI file (`parallel: N` numbers its jobs' `CI_NODE_INDEX` 1..N).
fn check_gitlab(file: &str, yaml: &str) -> (Vec<String>, Vec<Invocation>) {
    let entries: BTreeMap<String, Spanned<GitlabEntry>> = serde_saphyr::from_str(yaml)
        .unwrap_or_else(|e| panic!("{file}: not a GitLab CI file: {e}"));
    let (mut problems, mut found) = (Vec::new(), Vec::new());
    for (name, entry) in &entries {
        let GitlabEntry::Job(job) = &entry.value else {
            continue;
        };
        let jobs = match job.parallel {
            Some(Parallel::Jobs(n)) => Some(n),
            Some(Parallel::Matrix(_)) => None,
            None => Some(1),
        };
        let node = |variable: &str| match (variable, jobs) {
            ("$CI_NODE_INDEX" | "${CI_NODE_INDEX}", Some(n)) => Some((1..=n).collect()),
            ("$CI_NODE_TOTAL" | "${CI_NODE_TOTAL}", Some(n)) => Some(vec![n]),
            _ => None,
        };
        for script in [&job.before_script, &job.script, &job.after_script]
            .into_iter()
            .flatten()
        {
            let text = match script {
                Script::Line(line) => line.clone(),
                Script::Lines(lines) => lines.join("\n"),
            };
            // Spans inside untagged enums are lost: the job's own line it is.
            let at = |_| format!("{file}:{}: job {name}", entry.referenced.line());
            check_script(&text, &at, &node, &mut problems, &mut found);
        }
    }
    (problems, found)
}

/// Checks every command of `script`; `at(line)` names the place of a command starting on that
/// line of the script.
fn check_script(
    script: &str,
    at: &dyn Fn(usize) -> String,
    shard_values: &dyn Fn(&str) -> Option<Vec<u32>>,
    problems: &mut Vec<String>,
    found: &mut Vec<Invocation>,
) {
    for (line, words) in shell_commands(script) {
        let checked = check_command(&words, cli()).and_then(|invocation| {
            if let Some(inv) = &invocation {
                check_partition(inv, shard_values)?;
            }
            Ok(invocation)
        });
        match checked {
            Ok(Some(invocation)) => found.push(invocation),
            Ok(None) => {}
            Err(problem) => {
                problems.push(format!("{}: `{}`: {problem}", at(line), words.join(" ")))
            }
        }
    }
}

// The recipes.

/// The recipe's main job: `tooltape test` sharded, with a JUnit report and a baseline.
fn assert_sharded_test_run(file: &str, found: &[Invocation]) {
    let runs: Vec<_> = found.iter().filter(|i| i.subcommand == ["test"]).collect();
    assert!(!runs.is_empty(), "{file} runs no `tooltape test`");
    for flag in ["--partition", "--junit", "--expected-failures"] {
        assert!(
            runs.iter().all(|i| i.values.contains_key(flag)),
            "{file}: a `tooltape test` without {flag}"
        );
    }
}

#[test]
fn github_actions_recipe_runs_only_real_commands_and_flags() {
    let (problems, found) = check_github(GITHUB, &read(GITHUB));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_sharded_test_run(GITHUB, &found);
}

#[test]
fn gitlab_recipe_runs_only_real_commands_and_flags() {
    let (problems, found) = check_gitlab(GITLAB, &read(GITLAB));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_sharded_test_run(GITLAB, &found);
}

#[test]
fn ci_md_quotes_each_recipe_verbatim() {
    let md = read("docs/ci.md");
    for file in [GITHUB, GITLAB] {
        let quoted = format!("```yaml\n{}```\n", read(file));
        assert!(
            md.contains(&quoted),
            "docs/ci.md does not quote {file} as it is"
        );
    }
}

// The checker itself catches what it is for.

const GOOD_STEP: &str = "tooltape test scenarios/ --partition ${{ matrix.shard }}/2 \\\n  --junit \"junit-${{ matrix.shard }}.xml\" --seed=7 -v -- python agent.py --shard x";

fn github_snippet(run: &str, shards: &str) -> String {
    let run = run.replace('\n', "\n          ");
    format!(
        "jobs:\n  t:\n    strategy:\n      matrix:\n        shard: {shards}\n    steps:\n      - uses: actions/checkout@v4\n      - run: pip install tooltape\n      - run: |\n          echo tooltape test --bogus\n          {run}\n"
    )
}

fn github_problems(run: &str, shards: &str) -> Vec<String> {
    check_github("snippet.yml", &github_snippet(run, shards)).0
}

#[test]
fn a_correct_snippet_passes_and_other_programs_are_not_checked() {
    assert_eq!(github_problems(GOOD_STEP, "[1, 2]"), Vec::<String>::new());
    let (_, found) = check_github("snippet.yml", &github_snippet(GOOD_STEP, "[1, 2]"));
    assert_eq!(
        found.len(),
        1,
        "only the tooltape command, not `pip install tooltape` or `echo`"
    );
    assert_eq!(found[0].values["--seed"], ["7"]);
}

#[test]
fn a_made_up_flag_fails() {
    let problems = github_problems(&GOOD_STEP.replace("--seed=7", "--shard=7"), "[1, 2]");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("snippet.yml:11: job t: `tooltape test scenarios/")
            && problems[0].contains("`tooltape test` has no flag --shard (it has "),
        "{}",
        problems[0]
    );
}

#[test]
fn a_made_up_subcommand_and_a_missing_value_fail() {
    let problems = github_problems(
        "tooltape tset scenarios/\ntooltape test --junit -- python a.py",
        "[1]",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("`tooltape` has no subcommand `tset`"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].contains("`tooltape test` --junit needs a value"),
        "{}",
        problems[1]
    );
}

#[test]
fn shards_must_match_the_matrix() {
    let problems = github_problems(GOOD_STEP, "[1, 2, 3]");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("the jobs run shards [1, 2, 3] of 2"),
        "{}",
        problems[0]
    );
}

#[test]
fn gitlab_scripts_are_checked_and_parallel_numbers_the_shards() {
    // `parallel: 3` numbers the jobs 1..3; the job's place is the first line of its body.
    let yaml = |parallel: u32, command: &str| {
        format!(
            "stages: [test]\nvariables:\n  A: b\nt:\n  parallel: {parallel}\n  script:\n    - pip install tooltape\n    - {command}\n"
        )
    };
    let ok = "tooltape test --partition $CI_NODE_INDEX/$CI_NODE_TOTAL --junit j.xml -- python a.py";
    assert_eq!(check_gitlab("g.yml", &yaml(3, ok)).0, Vec::<String>::new());
    assert_eq!(check_gitlab("g.yml", &yaml(3, ok)).1.len(), 1);
    let fixed_n = ok.replace("$CI_NODE_TOTAL", "4");
    let problems = check_gitlab("g.yml", &yaml(3, &fixed_n)).0;
    assert!(
        problems.len() == 1 && problems[0].contains("shards [1, 2, 3] of 4"),
        "{problems:?}"
    );
    let problems = check_gitlab("g.yml", &yaml(3, &ok.replace("--junit", "--junit-xml"))).0;
    assert!(
        problems.len() == 1
            && problems[0].starts_with("g.yml:5: job t: ")
            && problems[0].contains("no flag --junit-xml"),
        "{problems:?}"
    );
}
