//! tooltape's command line as the built binary's `--help` describes it, and the check of one
//! command line against it.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;

use regex::Regex;

/// One (sub)command as its `--help` describes it.
#[derive(Debug, Default)]
pub struct Cli {
    subcommands: BTreeMap<String, Cli>,
    /// `--long` and `-s` flags, each with whether it takes a value (`--json <FILE>`).
    flags: BTreeMap<String, bool>,
}

pub fn cli() -> &'static Cli {
    static CLI: OnceLock<Cli> = OnceLock::new();
    CLI.get_or_init(|| load_cli(&mut Vec::new()))
}

fn load_cli(path: &mut Vec<String>) -> Cli {
    let out = Command::new(env!("CARGO_BIN_EXE_tooltape"))
        .args(path.iter())
        .arg("--help")
        .output()
        .expect("run tooltape --help");
    assert!(out.status.success(), "tooltape {path:?} --help failed");
    let help = String::from_utf8(out.stdout).expect("help is UTF-8");
    let (names, flags) = parse_help(&help);
    let mut subcommands = BTreeMap::new();
    for name in names.into_iter().filter(|n| n != "help") {
        path.push(name.clone());
        subcommands.insert(name, load_cli(path));
        path.pop();
    }
    Cli { subcommands, flags }
}

/// The subcommand names and the flags of one clap help text. Entries start two spaces in
/// (`  -v, --verbose`, `      --json <FILE>`, `  lint  Check ...`); deeper lines continue them.
fn parse_help(help: &str) -> (Vec<String>, BTreeMap<String, bool>) {
    let section = Regex::new(r"^([A-Z][A-Za-z ]*):$").unwrap();
    let command = Regex::new(r"^  ([a-z][\w-]*)(?:\s|$)").unwrap();
    let option =
        Regex::new(r"^  (?:(-[[:alnum:]])(?:, |\s|$)|    )(--[[:alnum:]][\w-]*)?( <|=<)?").unwrap();
    let (mut names, mut flags, mut current) = (Vec::new(), BTreeMap::new(), "");
    for line in help.lines() {
        if let Some(c) = section.captures(line) {
            current = c.get(1).unwrap().as_str();
        } else if current == "Commands" {
            if let Some(c) = command.captures(line) {
                names.push(c[1].to_string());
            }
        } else if current == "Options"
            && let Some(c) = option.captures(line)
        {
            let takes_value = c.get(3).is_some();
            for name in [c.get(1), c.get(2)].into_iter().flatten() {
                flags.insert(name.as_str().to_string(), takes_value);
            }
        }
    }
    (names, flags)
}

/// A tooltape command line that the CLI accepts: its subcommand path and its flags' values.
#[derive(Debug)]
pub struct Invocation {
    pub subcommand: Vec<String>,
    pub values: BTreeMap<String, Vec<String>>,
}

/// `Ok(None)` when `words` do not run tooltape; an error names what the CLI would reject.
pub fn check_command(words: &[String], cli: &Cli) -> Result<Option<Invocation>, String> {
    let assignment = Regex::new(r"^[A-Za-z_]\w*=").unwrap();
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| assignment.is_match(w))
        .collect();
    let program = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let args = match words.as_slice() {
        [exe, rest @ ..] if program(exe) == "tooltape" => rest,
        [py, "-m", "tooltape", rest @ ..] if program(py).starts_with("python") => rest,
        _ => return Ok(None),
    };
    let (mut at, mut subcommand) = (cli, Vec::new());
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut args = args.iter().copied();
    while let Some(arg) = args.next() {
        let name = || {
            let words: Vec<&str> = std::iter::once("tooltape")
                .chain(subcommand.iter().map(String::as_str))
                .collect();
            format!("`{}`", words.join(" "))
        };
        if arg == "--" {
            break; // the agent command follows
        } else if let Some(flag) = arg.strip_prefix('-').filter(|f| !f.is_empty()) {
            let (flag, inline) = match flag.split_once('=') {
                Some((f, v)) => (format!("-{f}"), Some(v)),
                None => (format!("-{flag}"), None),
            };
            let Some(&takes_value) = at.flags.get(&flag) else {
                let known: Vec<_> = at.flags.keys().map(String::as_str).collect();
                return Err(format!(
                    "{} has no flag {flag} (it has {})",
                    name(),
                    known.join(", ")
                ));
            };
            let value = match (takes_value, inline) {
                (_, Some(v)) => v,
                (true, None) => args
                    .next()
                    .filter(|v| *v != "--")
                    .ok_or_else(|| format!("{} {flag} needs a value", name()))?,
                (false, None) => "",
            };
            values.entry(flag).or_default().push(value.to_string());
        } else if !at.subcommands.is_empty() {
            at = at.subcommands.get(arg).ok_or_else(|| {
                let known: Vec<_> = at.subcommands.keys().map(String::as_str).collect();
                format!(
                    "{} has no subcommand `{arg}` (it has {})",
                    name(),
                    known.join(", ")
                )
            })?;
            subcommand.push(arg.to_string());
        }
        // else: a positional argument (scenario paths, files to lint, ...)
    }
    Ok(Some(Invocation { subcommand, values }))
}

/// `--partition K/N` must cover shards 1..N exactly once over the jobs the file starts:
/// `shard_values` gives the values a job-level variable takes (a matrix axis, `CI_NODE_INDEX`).
pub fn check_partition(
    invocation: &Invocation,
    shard_values: &dyn Fn(&str) -> Option<Vec<u32>>,
) -> Result<(), String> {
    for value in invocation.values.get("--partition").into_iter().flatten() {
        let (k, n) = value
            .split_once('/')
            .ok_or_else(|| format!("--partition {value}: not K/N"))?;
        let resolve = |v: &str| match v.parse::<u32>() {
            Ok(x) => Some(vec![x]),
            Err(_) => shard_values(v),
        };
        let (Some(ks), Some(ns)) = (resolve(k), resolve(n)) else {
            return Err(format!(
                "--partition {value}: cannot tell which shards this runs"
            ));
        };
        let [n] = ns.as_slice() else {
            return Err(format!(
                "--partition {value}: N must be one number, not {ns:?}"
            ));
        };
        let mut ks = ks;
        ks.sort_unstable();
        if ks != (1..=*n).collect::<Vec<_>>() {
            return Err(format!(
                "--partition {value}: the jobs run shards {ks:?} of {n}, not 1..={n} once each"
            ));
        }
    }
    Ok(())
}

#[test]
fn the_help_parser_reads_subcommands_flags_and_values() {
    let test = &cli().subcommands["test"];
    assert_eq!(test.flags.get("--partition"), Some(&true));
    assert_eq!(test.flags.get("--lenient"), Some(&false));
    assert_eq!(test.flags.get("-v"), Some(&false));
    assert_eq!(test.flags.get("--verbose"), Some(&false));
    assert!(
        cli().subcommands["scenario"]
            .subcommands
            .contains_key("new")
    );
    assert_eq!(cli().flags.get("--version"), Some(&false));
}
