//! Processes a command under test left behind. Killing its process group misses any
//! descendant that moved to a session or group of its own (`setsid`, a daemon's double fork);
//! as the child subreaper, tooltape inherits those. Each run gives its command a unique
//! `TOOLTAPE_RUN_ID`, which every descendant inherits; once the command has exited, whatever
//! still carries that id is killed and named in the run's report.
//!
//! Found through `/proc` (Linux): no crate lists processes by an environment variable, and the
//! check is a read of `/proc/PID/environ` per process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The variable that marks a run's processes.
pub const RUN_ID_VAR: &str = "TOOLTAPE_RUN_ID";

/// A new id, unique within this machine for as long as this process lives.
pub fn new_run_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One process that outlived the command it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftBehind {
    /// Its process id.
    pub pid: i32,
    /// Its command line, arguments joined by spaces.
    pub command: String,
}

/// Kill every process that carries `run_id` (SIGKILL: the command has ended, nothing of it may
/// go on) and collect those that became our children; returns what was found. Repeats until
/// a pass finds nothing, as a process may fork while it is being killed.
pub async fn kill_all(run_id: &str) -> Vec<LeftBehind> {
    let mut found: Vec<LeftBehind> = Vec::new();
    for _ in 0..20 {
        let now = carrying(run_id);
        if now.is_empty() {
            break;
        }
        for p in now {
            let pid = nix::unistd::Pid::from_raw(p.pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            if !found.iter().any(|f| f.pid == p.pid) {
                found.push(p);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        for p in &found {
            reap(p.pid);
        }
    }
    found
}

/// Collect `pid` if it is an exited child of ours (re-parented to us as the subreaper).
fn reap(pid: i32) {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    let _ = waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
}

/// Live processes (not zombies) whose environment has `RUN_ID_VAR=run_id`.
fn carrying(run_id: &str) -> Vec<LeftBehind> {
    let needle = format!("{RUN_ID_VAR}={run_id}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        })
        .filter(|&pid| !is_zombie(pid))
        .map(|pid| LeftBehind {
            pid,
            command: command_line(pid),
        })
        .collect()
}

fn is_zombie(pid: i32) -> bool {
    // `/proc/PID/stat`: "pid (comm) S ..." — the state follows the last ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace()
                .next()
                .map(|st| st == "Z" || st == "X")
        })
        .unwrap_or(true)
}

fn command_line(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    if words.is_empty() {
        format!("pid {pid}")
    } else {
        words.join(" ")
    }
}
