//! How a recording's progress and outcome read on a terminal.

use super::{Outcome, Progress};

/// One line for a progress event.
pub fn progress_line(p: &Progress, command: &[String]) -> String {
    match p {
        Progress::Started {
            addr,
            upstreams,
            replaying,
        } => {
            let replay = if *replaying > 0 {
                format!(
                    "; the first {replaying} repl{} come from the cassette",
                    if *replaying == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            };
            format!(
                "tooltape record: proxy on http://{addr} -> {upstreams}{replay}\ntooltape record: running `{}`\n",
                command.join(" ")
            )
        }
        Progress::Interrupted(signal) => {
            format!(
                "tooltape record: {signal}: stopping the command; nothing is written unless --keep-partial\n"
            )
        }
    }
}

/// The outcome, for a person.
pub fn render(o: &Outcome) -> String {
    let mut s = String::new();
    let path = o.out.display();
    if o.failed() {
        s.push_str("tooltape record: the run failed:\n");
        for f in &o.failures {
            s.push_str(&format!("  - {f}\n"));
        }
    }
    match &o.written {
        Some(w) if w.partial => {
            s.push_str(&format!(
                "tooltape record: wrote a PARTIAL cassette {path}: {} exchange(s); it lacks:\n",
                w.exchanges
            ));
            for m in &o.missing {
                s.push_str(&format!("  - {m}\n"));
            }
        }
        Some(w) => {
            let how = match (w.replaced, w.recorded == w.exchanges) {
                (true, true) => "replaced",
                (true, false) => "extended",
                (false, _) => "wrote",
            };
            s.push_str(&format!(
                "tooltape record: {how} {path}: {} exchange(s), {} recorded in this run\n",
                w.exchanges, w.recorded
            ));
        }
        None => {}
    }
    for p in &o.problems {
        s.push_str(&format!("  problem: {p}\n"));
    }
    for n in &o.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    if let Some(d) = &o.drift {
        s.push_str(&d.to_string());
    }
    if o.written.as_ref().is_some_and(|w| !w.partial) {
        s.push_str(&format!("next: tooltape scenario new {path}\n"));
    }
    s
}
