//! After the run: judge it, assemble the cassette (the old exchanges first for `--mode new`),
//! scan its text for the run's credentials ([`finish`], the library-level seam the secret tests
//! drive), and write it atomically, or say why not.

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
) -> Result<Outcome, Error> {
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
    let text = match finish(cassette, &prep.redactor, credentials) {
        Ok(text) => text,
        Err(hit) => {
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
            }
            .into());
        }
    };
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
    cassette::save_text(&opts.out, &text, overwrite)?;
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
    fn timestamps_are_rfc3339_to_the_second() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
        assert!(t.parse::<jiff::Timestamp>().is_ok());
    }
}
