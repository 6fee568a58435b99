//! The `tooltape` command: parses arguments, calls the library, maps outcomes to exit codes
//! (0 conformant, 1 violations found, 2 the input or the command line is wrong).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand};

use tooltape::baseline::{self, Baseline};
use tooltape::handler::builtin;
use tooltape::report::progress::{Progress, Surroundings};
use tooltape::report::{self, Suite};
use tooltape::rules::RuleId;
use tooltape::runner;

// The allocator is mimalloc, declared in the engine (Cargo.toml, feature `mimalloc`).

/// Conformance and replay harness for parallel tool calling.
#[derive(Parser)]
#[command(name = "tooltape", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

/// Options every command takes.
#[derive(clap::Args)]
struct Global {
    /// More detail: `-v` shows every scenario's timeline (test) and harness warnings; `-vv`
    /// logs what tooltape decided (each model request served or rejected, each tool call and
    /// the call it was filed under, each barrier hold and release, each proxy exchange);
    /// `-vvv` everything. `TOOLTAPE_LOG` (RUST_LOG syntax, e.g. `tooltape::replay=trace`)
    /// overrides the log level.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Append the log to FILE instead of stderr (at least `-vv` detail).
    #[arg(long, value_name = "FILE", global = true)]
    log: Option<PathBuf>,
    /// Colour the output: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = parse_color, global = true)]
    color: tooltape::logging::ColorWhen,
}

fn parse_color(s: &str) -> Result<tooltape::logging::ColorWhen, String> {
    use tooltape::logging::ColorWhen;
    match s {
        "auto" => Ok(ColorWhen::Auto),
        "always" => Ok(ColorWhen::Always),
        "never" => Ok(ColorWhen::Never),
        _ => Err("expected auto, always or never".into()),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Replay scenarios against a handler and report every broken rule.
    ///
    /// With a command, each run (one per completion order) may last up to the scenario's
    /// `policy.run_timeout_ms`, 600000 ms (10 minutes) unless the scenario sets it: a hung
    /// agent costs that much per order. `--run-timeout MS` shortens it for every scenario and
    /// `--fail-fast` starts no run after the first failing one.
    Test(Box<TestArgs>),
    /// Check recorded conversations on their own: every call answered once, ids unique, ...
    ///
    /// Reads tooltape cassettes, request bodies, bare message arrays and JSON-lines logs of
    /// them (folders are searched for .json and .jsonl files). Exit 1 on findings.
    Lint(LintArgs),
    /// Run the mock model server alone for one scenario, for an agent started by hand.
    ///
    /// Prints the variables to export, serves until the cassette is spent (or Ctrl-C), then
    /// prints the report.
    Serve {
        /// The scenario to serve.
        #[arg(long)]
        scenario: PathBuf,
        /// Port on 127.0.0.1 (default: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Seed for shuffled orders and latency ranges.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Show the rule catalogue, or one rule.
    Rules {
        /// A rule id, like `missing-result`.
        id: Option<String>,
    },
    /// Record a live run of an agent into a cassette, through a proxy in front of the real API.
    ///
    /// The command is started with ANTHROPIC_BASE_URL and OPENAI_BASE_URL pointing at the proxy
    /// and keeps its own credentials; the cassette holds bodies only, redacted, and is scanned
    /// for every credential the run used before it is written. Exit 0 written, 1 the run or
    /// the upstream failed, 2 a wrong command line.
    Record(Box<RecordArgs>),
    /// Turn existing recordings into tooltape cassettes: vcrpy / pytest-recording YAML
    /// cassettes, and JSON or JSON-lines logs of request bodies.
    ///
    /// Only model calls answered 2xx are kept (others are listed and skipped); headers are
    /// never copied. Each conversation becomes one cassette, checked before it is written.
    Import(ImportArgs),
    /// Work with scenario files.
    Scenario {
        #[command(subcommand)]
        command: ScenarioCommand,
    },
    /// Start testing an agent's repository: writes tooltape/ (a synthesis spec that needs no
    /// recording and no key, and a README) and a GitHub Actions workflow, then prints the two
    /// commands to run. Never replaces a file without --force.
    Init {
        /// The agent's repository.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The command that runs the agent (default: guessed from its files).
        #[arg(long, value_name = "CMD")]
        command: Option<String>,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
    },
    /// The run's fake tools over MCP stdio: a bridge an agent starts as its MCP server command.
    ///
    /// Relays newline-delimited JSON-RPC between stdin/stdout and the run's Streamable HTTP
    /// endpoint. MCP clients pass only a few variables to a server they spawn: give it the URL
    /// in the server's env or with --url.
    McpStdio {
        /// The run's MCP endpoint.
        #[arg(long, env = "TOOLTAPE_MCP_URL")]
        url: Option<String>,
    },
    /// Print the JSON Schema of a file format.
    Schema {
        /// `scenario`, `cassette` or `synth` (the spec of `--synthesize`).
        #[arg(value_parser = ["scenario", "cassette", "synth"])]
        format: String,
    },
}

#[derive(clap::Args)]
struct TestArgs {
    /// Scenario files or folders (default: scenarios/).
    paths: Vec<PathBuf>,
    /// A built-in handler: `builtin:reference` or `builtin:breaks-<rule>`.
    #[arg(long, default_value = "builtin:reference")]
    handler: String,
    /// Seed for shuffled orders and latency ranges (printed with every failure).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Scenarios to run side by side (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Only scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Report should-level rules without failing on them.
    #[arg(long)]
    lenient: bool,
    /// Write the JSON report here (`-`: stdout, the terminal report then goes to stderr).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Show every scenario's timeline (set by the global `-v`).
    #[arg(skip)]
    verbose: bool,
    /// Run only shard K of N (1-based), split by a hash of each scenario's name.
    #[arg(long, value_name = "K/N")]
    partition: Option<tooltape::partition::Partition>,
    /// A baseline of known violations: reported as expected, not failing.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<PathBuf>,
    /// Write the current violations as a baseline (kept entries, fixed ones dropped), then
    /// judge the run against it.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Write a JUnit XML report here (`-`: stdout, the terminal report then goes to stderr).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Draw every scenario's turns as a Gantt chart (FILE.svg, or FILE.html for a page).
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Stop every scenario's runs for good after the first failing run (with a command);
    /// scenarios not started are left out of the report.
    #[arg(long)]
    fail_fast: bool,
    /// End any run that lasts longer than MS milliseconds, whatever the scenario's
    /// `policy.run_timeout_ms` says (default there: 600000, 10 minutes).
    #[arg(long, value_name = "MS", value_parser = parse_run_timeout)]
    run_timeout: Option<u64>,
    /// With a command: multiply every tool latency and stream gap by this factor.
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    time_scale: f64,
    /// Test an agent that was never recorded: synthesize the model's side from the tools its
    /// first request offers. SPEC: a `tooltape-synth` file (default: 3 parallel calls, 2
    /// rounds, plus a failing-tool and a hung-tool case).
    // clap's PathBuf parser refuses an empty value, which `--synthesize` alone stands for.
    #[arg(long, value_name = "SPEC", num_args = 0..=1, default_missing_value = "",
          value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from))]
    synthesize: Option<PathBuf>,
    /// With --synthesize: write the synthesized cassette here (other cases beside it, named
    /// FILE's stem + `.CASE.json`), to replay, review or commit.
    #[arg(long, value_name = "FILE", requires = "synthesize")]
    save_cassette: Option<PathBuf>,
    /// The agent command to test (after `--`).
    #[arg(last = true)]
    command: Vec<String>,
}

#[derive(clap::Args)]
struct RecordArgs {
    /// The cassette to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Send every request to this base URL instead of the providers' public APIs.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// once: only if FILE does not exist; new: serve FILE's replies first, append what follows;
    /// all: re-record (replacing FILE needs --force) and show the drift.
    #[arg(long, default_value = "once", value_parser = parse_mode)]
    mode: tooltape::record::Mode,
    /// Allow --mode all to replace an existing FILE.
    #[arg(long)]
    force: bool,
    /// Write what was recorded even when the run or the upstream failed.
    #[arg(long)]
    keep_partial: bool,
    /// Also mask matches of this regular expression in the recorded bodies (repeatable).
    #[arg(long, value_name = "REGEX")]
    redact: Vec<String>,
    /// The agent command (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Write a starting scenario for a cassette: its tools with their recorded latencies, the
    /// default orders and policy. It passes against the reference handler as written.
    ///
    /// With --synthesize, write a synthesis spec instead (for `tooltape test --synthesize
    /// SPEC -- CMD`): no cassette needed.
    New {
        /// The cassette.
        #[arg(required_unless_present = "synthesize")]
        cassette: Option<PathBuf>,
        /// Write a synthesis spec (the defaults, for editing) instead of a scenario.
        #[arg(long, conflicts_with = "cassette")]
        synthesize: bool,
        /// Where to write the scenario (default: scenarios/NAME.json; with --synthesize,
        /// synth.json).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing scenario file.
        #[arg(long)]
        force: bool,
    },
    /// Which rules each scenario can catch, computed from its calls, tools, orders and policy
    /// (the rule table's own conditions). Exit 1 when a file's `exercises` list differs.
    Exercises {
        /// Scenario files or folders.
        #[arg(required = true, value_name = "FILE")]
        paths: Vec<PathBuf>,
        /// Seed of shuffled orders and latency ranges.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write the computed list into each file's `exercises`.
        #[arg(long)]
        write: bool,
    },
}

#[derive(clap::Args)]
struct ImportArgs {
    /// vcrpy cassettes (.yaml), request bodies or JSON-lines logs.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Read logged requests as this API instead of telling it from their shape; for vcrpy
    /// cassettes, the API their model calls must be for.
    #[arg(long, value_parser = parse_provider)]
    provider: Option<tooltape::provider::Provider>,
    /// The cassette to write (one input only; default: the input's name with .json).
    #[arg(long, value_name = "FILE", conflicts_with = "out_dir")]
    out: Option<PathBuf>,
    /// Write the cassettes into this folder.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Replace existing cassettes.
    #[arg(long)]
    force: bool,
}

fn parse_mode(s: &str) -> Result<tooltape::record::Mode, String> {
    s.parse()
}

#[derive(clap::Args)]
struct LintArgs {
    /// Cassettes, request bodies, message arrays or JSON-lines logs (or folders of them).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Read raw requests as this API instead of telling it from their shape.
    #[arg(long, value_parser = parse_provider)]
    provider: Option<tooltape::provider::Provider>,
    /// Also write the findings as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn parse_provider(s: &str) -> Result<tooltape::provider::Provider, String> {
    use tooltape::provider::Provider;
    Provider::ALL
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
            format!("expected one of {}", names.join(", "))
        })
}

fn parse_run_timeout(s: &str) -> Result<u64, String> {
    let max = tooltape::scenario::MAX_MS;
    match s.parse::<u64>() {
        Ok(ms) if (1..=max).contains(&ms) => Ok(ms),
        Ok(_) => Err(format!("{s} is not between 1 and {max} milliseconds")),
        Err(_) => Err(format!("{s:?} is not a whole number of milliseconds")),
    }
}

fn parse_scale(s: &str) -> Result<f64, String> {
    const MAX: f64 = tooltape::process::MAX_TIME_SCALE;
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 && f <= MAX => Ok(f),
        Ok(f) if f.is_finite() && f > MAX => Err(format!(
            "{s} is more than {MAX}: a scale that large would stretch every latency past any timeout"
        )),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(anstream::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    tooltape::logging::set_color(cli.global.color);
    tooltape::logging::init(cli.global.verbose, cli.global.log.as_deref())?;
    match cli.command {
        Command::Test(mut args) => {
            args.verbose = cli.global.verbose > 0;
            test(*args)
        }
        Command::Lint(args) => lint(args),
        Command::Serve {
            scenario,
            port,
            seed,
        } => serve(&scenario, port, seed),
        Command::Init {
            dir,
            command,
            force,
        } => init(dir, command, force),
        Command::Rules { id } => {
            let text = match id {
                Some(id) => {
                    let rule: RuleId = id.parse().map_err(anyhow::Error::msg)?;
                    tooltape::rules::doc::explain(rule)
                }
                None => tooltape::rules::doc::catalogue(),
            };
            // Markdown for files and pipes (docs/rules.md is this text); plain on a terminal.
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                print!("{}", tooltape::rules::doc::plain(&text));
            } else {
                print!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Record(args) => record(*args),
        Command::Import(args) => import(args),
        Command::Scenario {
            command:
                ScenarioCommand::New {
                    cassette,
                    synthesize,
                    out,
                    force,
                },
        } => match (cassette, synthesize) {
            (Some(cassette), false) => scenario_new(&cassette, out, force),
            _ => synth_spec_new(out, force),
        },
        Command::Scenario {
            command: ScenarioCommand::Exercises { paths, seed, write },
        } => scenario_exercises(&paths, seed, write),
        Command::McpStdio { url } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(tooltape::mcp::stdio::bridge(
                url,
                tokio::io::stdin(),
                tokio::io::stdout(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { format } => {
            let schema = match format.as_str() {
                "scenario" => tooltape::scenario::json_schema(),
                "synth" => tooltape::synth::spec::json_schema(),
                _ => tooltape::cassette::json_schema(),
            };
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let name = args
        .handler
        .strip_prefix("builtin:")
        .with_context(|| format!("--handler {}: expected builtin:NAME", args.handler))?;
    let Some(handler) = builtin::by_name(name) else {
        let names: Vec<String> = builtin::all()
            .iter()
            .map(|b| format!("builtin:{}", tooltape::handler::Handler::name(b)))
            .collect();
        bail!(
            "unknown handler {:?}; built-in handlers: {}",
            args.handler,
            names.join(", ")
        );
    };
    let outputs = Outputs::check(&args)?;
    if let Some(p) = &args.timeline {
        report::timeline::Format::for_path(p)?;
    }
    let baseline = match &args.expected_failures {
        // Formatted here, not chained: the library error already carries the OS message.
        Some(p) => Some(Baseline::load(p).map_err(|e| anyhow!("--expected-failures: {e}"))?),
        None => None,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    // Synthesized cases live in a temporary folder for the run (kept with --save-cassette).
    let mut _synth_dir = None;
    let (scenarios, errors) = if let Some(spec) = &args.synthesize {
        let (dir, scenarios) = synthesized(&args, spec)?;
        _synth_dir = Some(dir);
        (scenarios, Vec::new())
    } else {
        runner::load_all(&runner::discover(&paths)?)
    };
    if !errors.is_empty() {
        let mut err = anstream::stderr();
        for e in &errors {
            let _ = writeln!(err, "error: {e}");
        }
        let _ = writeln!(
            err,
            "{} scenario file(s) could not be loaded; nothing was run",
            errors.len()
        );
        return Ok(ExitCode::from(2));
    }
    let scenarios: Vec<std::sync::Arc<tooltape::scenario::Scenario>> = match args.run_timeout {
        Some(ms) => scenarios
            .into_iter()
            .map(|s| {
                let mut s = std::sync::Arc::unwrap_or_clone(s);
                s.file.policy.run_timeout_ms = ms;
                std::sync::Arc::new(s)
            })
            .collect(),
        None => scenarios,
    };
    let suite_names: BTreeSet<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    let scenarios = runner::filter(scenarios, args.filter.as_deref());
    if scenarios.is_empty() {
        bail!(
            "no scenario matches --filter {:?}",
            args.filter.clone().unwrap_or_default()
        );
    }
    let scenarios = runner::partition(scenarios, args.partition);
    if let Some(p) = args.partition
        && scenarios.is_empty()
    {
        // A hash split can leave a shard empty; that is not a failure of the CI job.
        let _ = writeln!(anstream::stderr(), "note: partition {p} holds no scenario");
    }
    let progress = Progress::new(
        scenarios.len(),
        Surroundings::detect(outputs.machine_stdout()),
    );
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let reports = if args.command.is_empty() {
        runner::run_suite(&scenarios, &handler, args.seed, jobs, &|r| progress.done(r))
    } else {
        let note = progress.clone();
        let fail_fast = args.fail_fast;
        let on_run = move |s: &tooltape::scenario::Scenario,
                           r: &tooltape::replay::RunReport,
                           left: usize| {
            if r.timed_out && fail_fast {
                note.note(&format!(
                    "note: {} ({}) timed out after {} ms; --fail-fast: no further run starts",
                    s.name, r.order, s.file.policy.run_timeout_ms
                ));
            } else if r.timed_out && left > 0 {
                note.note(&format!(
                    "note: {} ({}) timed out after {} ms; {left} more run(s) of it follow (--fail-fast stops at the first failure, --run-timeout MS sets a shorter limit)",
                    s.name, r.order, s.file.policy.run_timeout_ms
                ));
            }
        };
        let opts = tooltape::process::ProcessOptions {
            time_scale: args.time_scale,
            fail_fast: args.fail_fast,
            lenient: args.lenient,
            on_run: Some(tooltape::process::RunHook(std::sync::Arc::new(on_run))),
            ..Default::default()
        };
        tooltape::process::run_suite(&scenarios, &args.command, args.seed, jobs, &opts, &|r| {
            progress.done(r)
        })
        .context("cannot run the command under test")?
    };
    progress.finish();
    if reports.len() < scenarios.len() {
        let _ = writeln!(
            anstream::stderr(),
            "note: --fail-fast: stopped after the first failure; {} of {} scenario(s) not run",
            scenarios.len() - reports.len(),
            scenarios.len()
        );
    }
    let mut suite = Suite::new(
        if args.command.is_empty() {
            args.handler.clone()
        } else {
            args.command.join(" ")
        },
        args.seed,
        args.lenient,
        reports,
    );
    suite.partition = args.partition;
    if let Some(path) = &args.write_baseline {
        let entries = baseline::refresh(
            baseline.as_ref(),
            &suite.scenarios,
            &suite_names,
            args.lenient,
        );
        baseline::write(path, &entries).map_err(|e| anyhow!("--write-baseline: {e}"))?;
        let _ = writeln!(
            anstream::stderr(),
            "wrote {} ({} entr{})",
            path.display(),
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" }
        );
        suite = suite.with_baseline(
            Baseline {
                path: path.clone(),
                entries,
            },
            &suite_names,
        );
    } else if let Some(b) = baseline {
        suite = suite.with_baseline(b, &suite_names);
    }
    outputs.write(&suite, args.verbose)?;
    if let Some(p) = &args.timeline {
        report::timeline::write(p, &suite)?;
    }
    // A scenario tooltape itself failed on has no verdict: that is not the handler's fault.
    Ok(
        if suite.scenarios.iter().any(|r| r.harness_error.is_some()) {
            ExitCode::from(2)
        } else if suite.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// Where the reports go: `--json` and `--junit` files, or one of them on stdout (`-`), in which
/// case the terminal report goes to stderr.
struct Outputs {
    json: Option<PathBuf>,
    junit: Option<PathBuf>,
}

impl Outputs {
    fn check(args: &TestArgs) -> anyhow::Result<Self> {
        let dash = |p: &Option<PathBuf>| p.as_deref().is_some_and(|p| p.as_os_str() == "-");
        if dash(&args.json) && dash(&args.junit) {
            bail!("--json - and --junit - cannot both write to stdout; give one of them a file");
        }
        Ok(Outputs {
            json: args.json.clone(),
            junit: args.junit.clone(),
        })
    }

    fn machine_stdout(&self) -> bool {
        [&self.json, &self.junit]
            .into_iter()
            .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"))
    }

    fn write(&self, suite: &Suite, verbose: bool) -> anyhow::Result<()> {
        let emit = |path: &PathBuf, what: &str, text: String| -> anyhow::Result<()> {
            if path.as_os_str() == "-" {
                let _ = std::io::stdout().write_all(text.as_bytes());
                Ok(())
            } else {
                std::fs::write(path, text)
                    .with_context(|| format!("writing the {what} report to {}", path.display()))
            }
        };
        if let Some(path) = &self.json {
            emit(path, "JSON", report::json::render(suite))?;
        }
        if let Some(path) = &self.junit {
            let xml = report::junit::render(suite).context("rendering the JUnit report")?;
            emit(path, "JUnit", xml)?;
        }
        let text = report::terminal::render(suite, verbose);
        if self.machine_stdout() {
            let _ = anstream::stderr().write_all(text.as_bytes());
        } else {
            let _ = anstream::stdout().write_all(text.as_bytes());
        }
        Ok(())
    }
}

/// `tooltape lint`: a line per finding, a summary line; exit 2 if a file could not be read,
/// else 1 on findings.
fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let options = tooltape::lint::Options {
        provider: args.provider,
    };
    let files = tooltape::lint::discover(&args.files)?;
    let (mut out, mut err) = (anstream::stdout(), anstream::stderr());
    let mut reports = Vec::new();
    let mut unreadable = 0;
    for f in &files {
        match tooltape::lint::lint_file(f, &options) {
            Ok(r) => {
                for finding in &r.findings {
                    let _ = writeln!(out, "{finding}");
                }
                reports.push(r);
            }
            Err(e) => {
                unreadable += 1;
                let _ = writeln!(err, "error: {e}");
            }
        }
    }
    let _ = writeln!(out, "{}", tooltape::lint::summary(&reports, unreadable));
    if let Some(path) = &args.json {
        std::fs::write(path, tooltape::lint::json_report(&reports, unreadable))
            .with_context(|| format!("writing the JSON report to {}", path.display()))?;
    }
    Ok(if unreadable > 0 {
        ExitCode::from(2)
    } else if reports.iter().any(|r| !r.findings.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn serve(path: &std::path::Path, port: u16, seed: u64) -> anyhow::Result<ExitCode> {
    let scenario = std::sync::Arc::new(tooltape::scenario::load(path)?);
    let Some(plan) = tooltape::replay::order::plans(&scenario, seed).next() else {
        anyhow::bail!("{}: the scenario asks for no run", path.display());
    };
    let order = plan.label.clone();
    tooltape::process::become_subreaper();
    let rt = tooltape::replay::real_clock_runtime(None).context("starting the runtime")?;
    let run = rt
        .block_on(tooltape::process::serve(
            scenario.clone(),
            plan,
            port,
            |vars| {
                let mut out = anstream::stdout();
                let _ = writeln!(
                    out,
                    "# tooltape is serving {} (order {order}); export these and start your agent:",
                    scenario.name
                );
                for (k, v) in vars {
                    let _ = writeln!(out, "export {k}={v}");
                }
                let _ = out.flush();
            },
        ))
        .context("starting the mock server")?;
    let report = tooltape::replay::ScenarioReport::new(&scenario, "serve".into(), vec![run]);
    let suite = Suite::new("serve".into(), seed, false, vec![report]);
    let mut out = anstream::stdout();
    let _ = out.write_all(report::terminal::render(&suite, true).as_bytes());
    Ok(if suite.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tooltape record`: exit 0 written, 1 the run or the upstream failed, 2 a wrong command line.
fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    use tooltape::record::{self, report};
    let opts = record::Options {
        out: args.out,
        upstream: args.upstream,
        mode: args.mode,
        force: args.force,
        keep_partial: args.keep_partial,
        redact: args.redact,
        command: args.command,
    };
    let progress = |p: record::Progress| {
        let _ = anstream::stderr().write_all(report::progress_line(&p, &opts.command).as_bytes());
    };
    match record::record(&opts, &progress) {
        Ok(outcome) => {
            let _ = anstream::stderr().write_all(report::render(&outcome).as_bytes());
            Ok(ExitCode::from(outcome.exit_code()))
        }
        Err(e) => {
            let _ = writeln!(anstream::stderr(), "error: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// `tooltape scenario new`.
fn scenario_new(
    cassette: &std::path::Path,
    out: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let out = match out {
        Some(o) => o,
        None => {
            let stem = cassette
                .file_stem()
                .with_context(|| format!("{}: not a file name", cassette.display()))?;
            PathBuf::from("scenarios").join(format!("{}.json", stem.to_string_lossy()))
        }
    };
    let overwrite = if force {
        tooltape::cassette::Overwrite::Replace
    } else {
        tooltape::cassette::Overwrite::Never
    };
    let starter = tooltape::record::starter::write(cassette, &out, overwrite)?;
    let (recorded, total) = starter.latencies_recorded;
    let mut err = anstream::stderr();
    let _ = writeln!(
        err,
        "wrote {}: {} tool(s), {recorded} of {total} call latencies recorded (the others {} ms)",
        out.display(),
        starter.file.tools.len(),
        tooltape::record::starter::DEFAULT_LATENCY_MS
    );
    let _ = writeln!(err, "next: tooltape test {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// `tooltape scenario exercises`: a line per scenario with the rules it can catch; exit 1
/// when a file's own list differs (unless `write` rewrote it), 2 on unreadable input.
fn scenario_exercises(paths: &[PathBuf], seed: u64, write: bool) -> anyhow::Result<ExitCode> {
    let files = runner::discover(paths)?;
    let mut out = anstream::stdout();
    let mut differs = 0;
    for f in &files {
        let scenario = tooltape::scenario::load(f)?;
        let computed = tooltape::replay::exercise::exercised(&scenario, seed);
        let ids: Vec<&str> = computed.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(out, "{}: {}", f.display(), ids.join(", "));
        if computed == scenario.file.exercises {
            continue;
        }
        if write {
            tooltape::scenario::write_exercises(f, &computed)?;
            let _ = writeln!(out, "  wrote the list into {}", f.display());
        } else {
            differs += 1;
            let listed: Vec<&str> = scenario.file.exercises.iter().map(|r| r.as_str()).collect();
            let _ = writeln!(out, "  the file lists: {}", listed.join(", "));
        }
    }
    Ok(if differs > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `tooltape init`: the files written, the APIs found, and the two commands to run.
fn init(dir: PathBuf, command: Option<String>, force: bool) -> anyhow::Result<ExitCode> {
    let done = tooltape::init::init(&tooltape::init::Options {
        dir: dir.clone(),
        command,
        force,
    })?;
    let mut out = anstream::stdout();
    for w in &done.written {
        let _ = writeln!(out, "wrote {}", dir.join(w).display());
    }
    for f in &done.apis {
        let _ = writeln!(out, "found: {} API ({})", f.api, f.file.display());
    }
    if !done.command_known {
        let _ = writeln!(
            out,
            "note: the agent command is not clear from the files; replace `{}` below and in {} \
             (or run again with --command CMD --force)",
            done.command,
            tooltape::init::WORKFLOW
        );
    }
    let _ = writeln!(out, "\nNext:");
    for c in &done.next {
        let _ = writeln!(out, "  {c}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `tooltape import`: a line per cassette written and per note, on stderr.
fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let options = tooltape::import::Options {
        provider: args.provider,
        out: args.out,
        out_dir: args.out_dir,
        force: args.force,
    };
    let done = tooltape::import::import(&args.inputs, &options)?;
    let mut err = anstream::stderr();
    for file in &done {
        for w in &file.written {
            let _ = writeln!(
                err,
                "wrote {}: {} exchange(s), {} tool call(s), {} (from {})",
                w.path.display(),
                w.exchanges,
                w.calls,
                w.provider,
                file.input.display()
            );
        }
        for note in &file.notes {
            let _ = writeln!(err, "  note: {}: {note}", file.input.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tooltape test --synthesize [SPEC] -- CMD`: the agent's first request is caught by a probe,
/// and each case of the spec becomes a scenario in a temporary folder.
fn synthesized(
    args: &TestArgs,
    spec: &std::path::Path,
) -> anyhow::Result<(
    tempfile::TempDir,
    Vec<std::sync::Arc<tooltape::scenario::Scenario>>,
)> {
    use tooltape::synth;
    if args.command.is_empty() {
        bail!("--synthesize needs the agent command after `--`");
    }
    if !args.paths.is_empty() {
        bail!("--synthesize makes its own scenarios: give it no scenario files");
    }
    let spec = if spec.as_os_str().is_empty() {
        synth::SynthSpec::default()
    } else {
        synth::spec::load(spec)?
    };
    let first = tooltape::process::first_request(&args.command, std::time::Duration::from_secs(60))
        .map_err(|e| anyhow!("--synthesize: {e}"))?;
    let body = first.body.map_err(|e| {
        anyhow!(
            "--synthesize: the agent's first {} request: {e}",
            first.provider
        )
    })?;
    let cases = synth::synthesize(first.provider, &body, &spec)
        .map_err(|e| anyhow!("--synthesize: {e}"))?;
    let dir = tempfile::tempdir().context("cannot make a temporary folder")?;
    let mut scenarios = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (scenario, _) = synth::save(case, dir.path(), args.seed)?;
        if let Some(out) = &args.save_cassette {
            let path = if i == 0 {
                out.clone()
            } else {
                let stem = out
                    .file_stem()
                    .map_or_else(|| "synth".into(), |s| s.to_string_lossy());
                out.with_file_name(format!("{stem}.{}.json", case.variant.as_str()))
            };
            tooltape::cassette::save(
                &path,
                &case.cassette,
                tooltape::cassette::Overwrite::Replace,
            )?;
            let _ = writeln!(anstream::stderr(), "wrote {}", path.display());
        }
        scenarios.push(std::sync::Arc::new(scenario));
    }
    Ok((dir, scenarios))
}

/// `tooltape scenario new --synthesize`: the default synthesis spec, to edit.
fn synth_spec_new(out: Option<PathBuf>, force: bool) -> anyhow::Result<ExitCode> {
    let out = out.unwrap_or_else(|| PathBuf::from("synth.json"));
    let overwrite = if force {
        tooltape::cassette::Overwrite::Replace
    } else {
        tooltape::cassette::Overwrite::Never
    };
    let text = serde_json::to_string_pretty(&tooltape::synth::SynthSpec::default())? + "\n";
    tooltape::cassette::save_text(&out, &text, overwrite)?;
    let mut err = anstream::stderr();
    let _ = writeln!(err, "wrote {}", out.display());
    let _ = writeln!(
        err,
        "next: tooltape test --synthesize {} -- YOUR AGENT COMMAND",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
