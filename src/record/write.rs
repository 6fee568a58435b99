//! After the run: judge it, assemble the cassette (the old exchanges first for `--mode new`),
//! scan its text for the run's credentials ([`finish`], the library-level seam the secret tests
//! drive), and write it atomically, or say why not.

use std::path::Path;

use super::build::Built;
use super::redact::{Credentials, Hit, Redactor};
use super::{Ended, Mode, Options, Outcome, Prepared, RecordError, Written, drift};
use crate::cassette::{self, Cassette, Meta, Overwrite};
use crate::error::Error;

/// How the run went, and the cassette written if it may be.
pub(super) fn conclude(
    opts: &Options,
    prep: Prepared,
    ended: &Ended,
    built: Built,
    credentials: &Credentials,
) -> Result<Outcome, super::RecordError> {
    let old_for_new = if opts.mode == Mode::New {
        prep.old.as_ref()
    } else {
        None
    };
    let mut outcome = Outcome {
        out: opts.out.clone(),
        notes: prep.notes,
        problems: built.problems.clone(),
        ..Outcome::default()
    };
    match &ended {
        Ended::Exited(s) if s.success() => {}
        Ended::Exited(s) => outcome
            .failures
            .push(format!("the command exited with {s}")),
        Ended::Signal(name) => outcome
            .failures
            .push(format!("interrupted by {name} before the command ended")),
        Ended::WaitFailed(e) => outcome
            .failures
            .push(format!("waiting for the command failed: {e}")),
    }
    outcome.failures.extend(built.failures.iter().cloned());
    if built.retries > 0 {
        outcome.notes.push(format!(
            "{} SDK retr{} folded into the request{} they repeat",
            built.retries,
            if built.retries == 1 { "y" } else { "ies" },
            if built.retries == 1 { "" } else { "s" }
        ));
    }
    if built.passed_through > 0 {
        outcome.notes.push(format!(
            "{} request(s) to other endpoints passed through, not recorded",
            built.passed_through
        ));
    }
    if built.replayed > 0 {
        outcome.notes.push(format!(
            "{} request(s) answered from the old cassette",
            built.replayed
        ));
    }
    let recorded = built.exchanges.len();
    let Some(provider) = built.provider else {
        outcome.failures.push(
            "the command made no model request through the proxy (does it read ANTHROPIC_BASE_URL or OPENAI_BASE_URL?)".into(),
        );
        return Ok(outcome);
    };
    if recorded == 0 {
        if opts.mode == Mode::New && built.replayed > 0 && !outcome.failed() {
            outcome.notes.push(format!("nothing new to record: the run asked for nothing beyond the cassette's {} exchanges; {} is unchanged", built.replayed, opts.out.display()));
            return Ok(outcome);
        }
        if !outcome.failed() {
            outcome
                .failures
                .push("no model exchange could be recorded".into());
        }
    }
    let keep = !outcome.failed() || opts.keep_partial;
    if !keep || recorded == 0 {
        let fate = if prep.existed {
            "is unchanged"
        } else {
            "was not created"
        };
        let hint = if recorded > 0 {
            format!("; --keep-partial writes the {recorded} exchange(s) recorded so far")
        } else {
            String::new()
        };
        outcome.notes.push(format!(
            "nothing written: {} {fate}{hint}",
            opts.out.display()
        ));
        return Ok(outcome);
    }
    if outcome.failed() {
        outcome.missing = missing(&built, provider);
    }

    let (mut exchanges, mut meta) = match (old_for_new, &prep.old) {
        (Some(_), Some(old)) => (old.cassette.exchanges.clone(), old.cassette.meta.clone()),
        _ => (Vec::new(), Meta::default()),
    };
    let now = now_rfc3339();
    let via = format!(
        "through {} ({})",
        prep.upstreams.describe(),
        built
            .endpoints
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut notes = vec![if old_for_new.is_some() {
        format!("{recorded} exchange(s) appended by tooltape record --mode new on {now}, {via}.")
    } else {
        format!(
            "Recorded by tooltape record {via}. tool_latency_ms is the time from a reply's end to the next request: \
             an upper bound of each call's run time (the proxy sees the turn, not each tool)."
        )
    }];
    if outcome.failed() {
        notes.push(format!("PARTIAL: {}", outcome.failures.join("; ")));
    }
    meta.notes = Some(match meta.notes.take() {
        Some(old) => format!("{old} {}", notes.join(" ")),
        None => notes.join(" "),
    });
    if old_for_new.is_none() {
        meta.model = built.model.clone();
        meta.recorded_at = Some(now);
        meta.source = Some(prep.redactor.text(&shell_words(&opts.command)).into_owned());
    }
    exchanges.extend(built.exchanges);
    let cassette = Cassette {
        format: cassette::FORMAT.into(),
        version: cassette::VERSION,
        provider,
        meta,
        exchanges,
    };
    let exchanges_written = cassette.exchanges.len();
    let text = render(cassette, &prep.redactor);
    // Readable by its owner only until the bytes on disk passed the scan.
    let staged = Staged::new(&opts.out, &text)?;
    if let Some(hit) = credentials.scan_cassette(&staged.written()?) {
        let len = credentials
            .iter()
            .find(|c| c.source == hit.source)
            .map_or(0, |c| c.len());
        return Err(RecordError::CredentialInFile {
            path: opts.out.clone(),
            source_name: hit.source,
            len,
            form: hit.form,
            place: hit.place,
            existed: prep.existed,
        });
    }
    let loaded = match cassette::parse(&opts.out, &text) {
        Ok(l) => Some(l),
        Err(e) if opts.keep_partial => {
            outcome
                .failures
                .push(format!("the recording does not load as a cassette: {e}"));
            None
        }
        Err(e) => {
            outcome
                .failures
                .push(format!("the recording does not load as a cassette: {e}"));
            outcome.notes.push(format!(
                "nothing written; --keep-partial writes it anyway to {}",
                opts.out.display()
            ));
            return Ok(outcome);
        }
    };
    if opts.mode == Mode::All
        && let (Some(old), Some(new)) = (&prep.old, &loaded)
    {
        outcome.drift = Some(drift::drift(old, new));
    }
    let overwrite = if prep.existed {
        Overwrite::Replace
    } else {
        Overwrite::Never
    };
    staged.commit(&opts.out, overwrite)?;
    outcome.written = Some(Written {
        exchanges: exchanges_written,
        recorded,
        partial: outcome.failed(),
        replaced: prep.existed,
    });
    Ok(outcome)
}

/// A cassette's text as it will be written: `meta` redacted like the bodies were, then
/// serialized.
pub fn render(mut cassette: Cassette, redactor: &Redactor) -> String {
    let mut meta_value = serde_json::to_value(&cassette.meta).unwrap_or_default();
    redactor.value(&mut meta_value);
    if let Ok(meta) = serde_json::from_value::<Meta>(meta_value) {
        cassette.meta = meta;
    }
    // Serializing plain data (strings, numbers, maps with string keys) cannot fail.
    serde_json::to_string_pretty(&cassette).unwrap_or_default() + "\n"
}

/// The last steps before a cassette reaches its file, apart from the file itself: [`render`],
/// then the search for every credential of the run in everything a reader could reassemble
/// from the text ([`Credentials::scan_cassette`]). The text to write, or where a credential
/// was found.
pub fn finish(
    cassette: Cassette,
    redactor: &Redactor,
    credentials: &Credentials,
) -> Result<String, Hit> {
    let text = render(cassette, redactor);
    match credentials.scan_cassette(&text) {
        Some(hit) => Err(hit),
        None => Ok(text),
    }
}

/// A cassette's text in a temporary file beside its destination, readable and writable by its
/// owner only (mode 0600) until [`Staged::commit`] gives it the mode any new file gets (0666
/// less the umask) and renames it into place. Dropped uncommitted, it is deleted.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    normal: std::fs::Permissions,
}

impl Staged {
    /// Write `text` beside `path`.
    pub fn new(path: &Path, text: &str) -> Result<Self, Error> {
        use std::io::Write as _;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".tooltape-").suffix(".tmp");
        // Created as any file a tool writes (the umask applies), to learn that mode; made
        // private before a byte is written.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        let at = tmp.path().to_path_buf();
        let normal = tmp
            .as_file()
            .metadata()
            .map_err(|e| Error::io(&at, e))?
            .permissions();
        #[cfg(unix)]
        tmp.as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| Error::io(&at, e))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(&at, e))?;
        Ok(Staged { tmp, normal })
    }

    /// Where the text is for now.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The bytes on disk, read back (lossy UTF-8: the scan must see every byte).
    pub fn written(&self) -> Result<String, Error> {
        let bytes = std::fs::read(self.path()).map_err(|e| Error::io(self.path(), e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Give the file its normal mode and move it to `path` (replacing a file there only with
    /// [`Overwrite::Replace`]).
    pub fn commit(self, path: &Path, overwrite: Overwrite) -> Result<(), Error> {
        if overwrite == Overwrite::Never && path.exists() {
            return Err(Error::Usage(format!(
                "{} exists; pass --force to replace it",
                path.display()
            )));
        }
        self.tmp
            .as_file()
            .set_permissions(self.normal.clone())
            .map_err(|e| Error::io(self.tmp.path(), e))?;
        let result = if overwrite == Overwrite::Never {
            self.tmp.persist_noclobber(path)
        } else {
            self.tmp.persist(path)
        };
        result.map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}

/// What a partial cassette lacks.
fn missing(built: &Built, provider: crate::provider::Provider) -> Vec<String> {
    let mut out: Vec<String> = built
        .failures
        .iter()
        .map(|f| format!("no exchange for {f}"))
        .collect();
    if let Some(last) = built.exchanges.last() {
        let fmt = crate::provider::format(provider);
        let body = match &last.reply {
            cassette::RecordedReply::Body(b) => Ok(b.clone()),
            cassette::RecordedReply::Stream(ev) => fmt.reply_from_stream(ev),
        };
        if let Some(reply) = body.ok().and_then(|b| fmt.parse_reply(&b).ok())
            && reply.wants_tools()
        {
            out.push(format!(
                "the last reply asks for {} tool call(s); the follow-up that answers them was not recorded (continue with --mode new)",
                reply.calls().len()
            ));
        }
    }
    out
}

/// The current time in RFC 3339, to the second.
fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// The command as a shell would take it back: arguments quoted where needed.
fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_only_what_needs_it() {
        let cmd = [
            "python".to_string(),
            "agent.py".into(),
            "--prompt".into(),
            "it's here".into(),
            String::new(),
        ];
        assert_eq!(
            shell_words(&cmd),
            r"python agent.py --prompt 'it'\''s here' ''"
        );
    }

    #[test]
    fn a_staged_cassette_is_private_until_committed_then_gets_the_normal_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        // The mode any new file gets here: 0666 less the umask.
        let probe = dir.path().join("probe");
        std::fs::write(&probe, "").unwrap();
        let normal = mode(&probe);
        std::fs::remove_file(&probe).unwrap();

        let out = dir.path().join("c.json");
        let staged = Staged::new(&out, "{}\n").unwrap();
        assert_eq!(mode(staged.path()), 0o600);
        assert_eq!(staged.written().unwrap(), "{}\n");
        assert!(!out.exists());
        staged.commit(&out, Overwrite::Never).unwrap();
        assert_eq!(mode(&out), normal);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{}\n");

        // Refused: dropped, and nothing is left; an existing file is not replaced by accident.
        drop(Staged::new(&dir.path().join("d.json"), "refused").unwrap());
        let again = Staged::new(&out, "new").unwrap();
        assert!(again.commit(&out, Overwrite::Never).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.json"]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{}\n");
    }

    #[test]
    fn timestamps_are_rfc3339_to_the_second() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
        assert!(t.parse::<jiff::Timestamp>().is_ok());
    }
}
