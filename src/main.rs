//! The `tooltape` command: parses arguments, calls the library, maps outcomes to exit codes
//! (0 conformant, 1 violations found, 2 the input or the command line is wrong).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use tooltape::handler::builtin;
use tooltape::report::{self, Suite};
use tooltape::rules::RuleId;
use tooltape::runner;

/// Conformance and replay harness for parallel tool calling.
#[derive(Parser)]
#[command(name = "tooltape", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay scenarios against a handler and report every broken rule.
    Test(TestArgs),
    /// Show the rule catalogue, or one rule.
    Rules {
        /// A rule id, like `missing-result`.
        id: Option<String>,
    },
    /// Print the JSON Schema of a file format.
    Schema {
        /// `scenario` or `cassette`.
        #[arg(value_parser = ["scenario", "cassette"])]
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
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Show every scenario's timeline.
    #[arg(long, short)]
    verbose: bool,
    /// The agent command to test (after `--`).
    #[arg(last = true)]
    command: Vec<String>,
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
    match cli.command {
        Command::Test(args) => test(args),
        Command::Rules { id } => {
            let text = match id {
                Some(id) => {
                    let rule: RuleId = id.parse().map_err(anyhow::Error::msg)?;
                    tooltape::rules::doc::explain(rule)
                }
                None => tooltape::rules::doc::catalogue(),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { format } => {
            let schema = if format == "scenario" {
                tooltape::scenario::json_schema()
            } else {
                tooltape::cassette::json_schema()
            };
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    if !args.command.is_empty() {
        bail!(
            "running an agent command (`-- {}`) needs the mock model server, which this build does not have yet; \
             use --handler builtin:NAME or the Rust library",
            args.command.join(" ")
        );
    }
    let name = args
        .handler
        .strip_prefix("builtin:")
        .with_context(|| format!("--handler {}: expected builtin:NAME", args.handler))?;
    let Some(handler) = builtin::by_name(name) else {
        let names: Vec<String> = builtin::all().iter().map(|b| format!("builtin:{}", tooltape::handler::Handler::name(b))).collect();
        bail!("unknown handler {:?}; built-in handlers: {}", args.handler, names.join(", "));
    };
    let paths = if args.paths.is_empty() { vec![PathBuf::from("scenarios")] } else { args.paths };
    let files = runner::discover(&paths)?;
    let (scenarios, errors) = runner::load_all(&files);
    if !errors.is_empty() {
        let mut err = anstream::stderr();
        for e in &errors {
            let _ = writeln!(err, "error: {e}");
        }
        let _ = writeln!(err, "{} scenario file(s) could not be loaded; nothing was run", errors.len());
        return Ok(ExitCode::from(2));
    }
    let scenarios = runner::filter(scenarios, args.filter.as_deref());
    if scenarios.is_empty() {
        bail!("no scenario matches --filter {:?}", args.filter.unwrap_or_default());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let reports = runner::run_suite(&scenarios, &handler, args.seed, jobs, &|_| {});
    let suite = Suite {
        handler: args.handler.clone(),
        seed: args.seed,
        lenient: args.lenient,
        scenarios: reports,
    };
    if let Some(path) = &args.json {
        std::fs::write(path, report::json::render(&suite))
            .with_context(|| format!("writing the JSON report to {}", path.display()))?;
    }
    let mut out = anstream::stdout();
    let _ = out.write_all(report::terminal::render(&suite, args.verbose).as_bytes());
    Ok(if suite.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
