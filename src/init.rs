//! `tooltape init`: a starter `tooltape/` folder in an agent's repository, so that an agent
//! that was never recorded gets a verdict at once. It holds a synthesis spec (the model's side
//! is made from the agent's own tools, so no cassette and no key are needed), a README saying
//! what to run, and a GitHub Actions workflow. Nothing is written when any target exists,
//! unless `force`.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::provider::Provider;

/// What to write, and where.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The agent's repository.
    pub dir: PathBuf,
    /// The command that runs the agent (default: guessed from the repository's files).
    pub command: Option<String>,
    /// Replace files that exist.
    pub force: bool,
}

/// A model API an agent's code uses, and the file that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The API, as `tooltape` names it.
    pub api: &'static str,
    /// The file, relative to the repository.
    pub file: PathBuf,
}

/// What `init` did.
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The files written, relative to the repository.
    pub written: Vec<PathBuf>,
    /// The APIs the agent's code uses, as far as its imports tell.
    pub apis: Vec<Found>,
    /// The agent command the files use.
    pub command: String,
    /// Whether the command was guessed (or is a placeholder to replace).
    pub command_known: bool,
    /// The commands to run next.
    pub next: Vec<String>,
}

/// The folder `init` writes.
pub const FOLDER: &str = "tooltape";
/// The synthesis spec it writes (inside [`FOLDER`]).
pub const SPEC: &str = "tooltape/synth.json";
/// The workflow it writes.
pub const WORKFLOW: &str = ".github/workflows/tooltape.yml";
/// Stands for the agent command when none was given or found.
pub const PLACEHOLDER: &str = "python my_agent.py";

/// Write the starter files into `options.dir`.
pub fn init(options: &Options) -> Result<Initialized, Error> {
    let dir = &options.dir;
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a folder; run `tooltape init` in your agent's repository",
            dir.display()
        )));
    }
    let apis = detect_apis(dir);
    let (command, command_known) = match &options.command {
        Some(c) if !c.trim().is_empty() => (c.trim().to_string(), true),
        Some(_) => return Err(Error::Usage("--command is empty".into())),
        None => match guess_command(dir) {
            Some(c) => (c, true),
            None => (PLACEHOLDER.to_string(), false),
        },
    };
    let files = [
        (PathBuf::from(SPEC), spec_text()),
        (PathBuf::from("tooltape/README.md"), readme_text(&command)),
        (PathBuf::from(WORKFLOW), workflow_text(&command, dir)),
    ];
    if !options.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _)| dir.join(p).exists())
            .map(|(p, _)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::Usage(format!(
                "{} exist(s); pass --force to replace (nothing was written)",
                existing.join(", ")
            )));
        }
    }
    let mut written = Vec::new();
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        written.push(rel.clone());
    }
    let next = vec![
        format!("tooltape test --synthesize {SPEC} -- {command}"),
        format!("git add {FOLDER} {WORKFLOW}"),
    ];
    Ok(Initialized {
        written,
        apis,
        command,
        command_known,
        next,
    })
}

/// The default synthesis spec, with the fields a user most often edits spelled out.
fn spec_text() -> String {
    let spec = serde_json::json!({
        "format": "tooltape-synth",
        "version": 1,
        "description": "Made by `tooltape init`: the agent's own tools called in parallel (3 calls a turn, 2 rounds), once with every call succeeding, once with one failing, once with one hanging. List your side-effecting tools (by name or `send_*` pattern) in side_effects.",
        "calls_per_turn": 3,
        "rounds": 2,
        "variants": ["parallel", "fail_one", "hang_one"],
        "side_effects": [],
    });
    let mut text = serde_json::to_string_pretty(&spec).unwrap_or_default();
    text.push('\n');
    text
}

fn readme_text(command: &str) -> String {
    format!(
        "# tooltape\n\n\
         Checks that this agent handles parallel tool calls right: one result per call, tagged \
         with its call id, failures flagged, hung tools timed out, independent calls run \
         concurrently, side-effecting ones one at a time, and the loop kept going while the model \
         asks for tools.\n\n\
         `synth.json` needs no recording and no key: tooltape reads the tools your agent offers in \
         its first model request and answers with parallel calls to them, with arguments valid \
         under their schemas.\n\n\
         ```sh\n\
         tooltape test --synthesize {SPEC} -- {command}\n\
         ```\n\n\
         Edit `synth.json` to mark side-effecting tools (`side_effects`), add variants \
         (`identical`, `side_effect_twice`) or change the number of calls and rounds. Add \
         `--save-cassette FILE` to keep the conversation as a cassette, and record real ones \
         with `tooltape record`. The workflow in `{WORKFLOW}` runs the same command in CI and \
         keeps a JUnit report.\n"
    )
}

fn workflow_text(command: &str, dir: &Path) -> String {
    let (setup, install) = if dir.join("package.json").is_file() {
        (
            "      - uses: actions/setup-node@v4\n        with:\n          node-version: \"20\"\n      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"\n",
            "npm ci && pip install tooltape",
        )
    } else if dir.join("requirements.txt").is_file() {
        (
            "      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"\n          cache: pip\n",
            "pip install -r requirements.txt tooltape",
        )
    } else {
        (
            "      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"\n",
            "pip install . tooltape",
        )
    };
    format!(
        "# Made by `tooltape init`: the agent against tooltape's synthesized parallel calls.\n\
         name: tooltape\n\n\
         on:\n  push:\n    branches: [main]\n  pull_request:\n\n\
         permissions:\n  contents: read\n\n\
         jobs:\n  tooltape:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n\
         {setup}\
         \x20     - name: Install the agent and tooltape\n        run: {install}\n\
         \x20     - name: Parallel tool calling, judged by tooltape\n        run: >-\n          tooltape test --synthesize {SPEC}\n          --junit tooltape-junit.xml\n          -- {command}\n\
         \x20     - name: Keep the JUnit report\n        if: ${{{{ !cancelled() }}}}\n        uses: actions/upload-artifact@v4\n        with:\n          name: tooltape-junit\n          path: tooltape-junit.xml\n"
    )
}

/// Folders never searched: dependencies, environments, build output.
const SKIP: [&str; 8] = [
    "node_modules",
    "target",
    "dist",
    "build",
    "__pycache__",
    "site-packages",
    "venv",
    "tooltape",
];

/// The agent's own source files (`.py`, `.ts`, `.js`, `.mjs`), at most three folders deep.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .max_depth(3)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || SKIP.contains(&name.as_ref()))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| ["py", "ts", "js", "mjs"].iter().any(|e| x == *e))
        })
        .collect();
    out.sort();
    out
}

/// The APIs the agent's sources use, the first file for each.
pub fn detect_apis(dir: &Path) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for path in sources(dir) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for p in Provider::ALL {
            let shows = p.format().sdk_imports().iter().any(|m| text.contains(m));
            if shows && !found.iter().any(|f| f.api == p.as_str()) {
                found.push(Found {
                    api: p.as_str(),
                    file: path.strip_prefix(dir).unwrap_or(&path).to_path_buf(),
                });
            }
        }
    }
    found
}

/// Whether `text` imports any model API's SDK.
fn imports_an_sdk(text: &str) -> bool {
    Provider::ALL
        .iter()
        .any(|p| p.format().sdk_imports().iter().any(|m| text.contains(m)))
}

/// A command that runs the agent: the one Python script that calls a model API and runs as a
/// program, or the package's `start` script. `None` when that is not clear.
fn guess_command(dir: &Path) -> Option<String> {
    let scripts: Vec<PathBuf> = sources(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.contains("__name__") && t.contains("__main__") && imports_an_sdk(&t)
            })
        })
        .collect();
    if let [one] = scripts.as_slice() {
        let rel = one.strip_prefix(dir).unwrap_or(one);
        return Some(format!("python {}", rel.display()));
    }
    if !scripts.is_empty() {
        return None;
    }
    let package = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let package: serde_json::Value = serde_json::from_str(&package).ok()?;
    package
        .pointer("/scripts/start")
        .and_then(serde_json::Value::as_str)
        .map(|_| "npm start --silent".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const AGENT: &str = "import anthropic\n\nif __name__ == \"__main__\":\n    main()\n";

    #[test]
    fn apis_and_the_agent_command_are_found_from_imports() {
        let dir = repo(&[
            ("agent.py", AGENT),
            ("lib/helpers.py", "from openai import OpenAI\n"),
            ("node_modules/x/index.js", "import '@google/genai'"),
            (".venv/lib/g.py", "from google import genai"),
        ]);
        let apis = detect_apis(dir.path());
        let names: Vec<&str> = apis.iter().map(|f| f.api).collect();
        assert_eq!(
            names,
            ["anthropic", "openai-chat", "openai-responses"],
            "{apis:?}"
        );
        assert_eq!(
            guess_command(dir.path()).as_deref(),
            Some("python agent.py")
        );
        // Two runnable scripts: not clear which is the agent.
        let dir = repo(&[("a.py", AGENT), ("b.py", AGENT)]);
        assert_eq!(guess_command(dir.path()), None);
        let dir = repo(&[
            ("src/agent.ts", "import OpenAI from 'openai';"),
            (
                "package.json",
                r#"{"scripts": {"start": "tsx src/agent.ts"}}"#,
            ),
        ]);
        let apis = detect_apis(dir.path());
        assert_eq!(apis[0].api, "openai-chat");
        assert_eq!(
            guess_command(dir.path()).as_deref(),
            Some("npm start --silent")
        );
    }

    #[test]
    fn writes_the_starter_files_and_never_overwrites_without_force() {
        let dir = repo(&[("agent.py", AGENT), ("requirements.txt", "anthropic\n")]);
        let options = Options {
            dir: dir.path().to_path_buf(),
            ..Options::default()
        };
        let done = init(&options).unwrap();
        assert_eq!(done.command, "python agent.py");
        assert!(done.command_known);
        assert_eq!(
            done.next[0],
            "tooltape test --synthesize tooltape/synth.json -- python agent.py"
        );
        for rel in [SPEC, "tooltape/README.md", WORKFLOW] {
            assert!(dir.path().join(rel).is_file(), "{rel}");
        }
        // The spec is one the synthesis reads, with the defaults it documents.
        let spec = crate::synth::spec::load(&dir.path().join(SPEC)).unwrap();
        assert_eq!((spec.calls_per_turn, spec.rounds), (3, 2));
        assert_eq!(spec.variants.len(), 3);
        let workflow = std::fs::read_to_string(dir.path().join(WORKFLOW)).unwrap();
        assert!(workflow.contains("pip install -r requirements.txt tooltape"));
        assert!(workflow.contains("-- python agent.py"));
        // Again: refused, and the user's edit survives.
        std::fs::write(dir.path().join(SPEC), "edited").unwrap();
        let err = init(&options).unwrap_err().to_string();
        assert!(err.contains("--force") && err.contains(SPEC), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(SPEC)).unwrap(),
            "edited"
        );
        let forced = Options {
            force: true,
            command: Some("uv run agent.py".into()),
            ..options
        };
        let done = init(&forced).unwrap();
        assert_eq!(done.command, "uv run agent.py");
        assert_ne!(
            std::fs::read_to_string(dir.path().join(SPEC)).unwrap(),
            "edited"
        );
    }

    #[test]
    fn an_unknown_command_is_a_placeholder_the_output_says_to_replace() {
        let dir = repo(&[]);
        let done = init(&Options {
            dir: dir.path().to_path_buf(),
            ..Options::default()
        })
        .unwrap();
        assert!(!done.command_known);
        assert_eq!(done.command, PLACEHOLDER);
        assert!(done.apis.is_empty());
        let missing = dir.path().join("nope");
        let err = init(&Options {
            dir: missing,
            ..Options::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("not a folder"), "{err}");
    }
}
