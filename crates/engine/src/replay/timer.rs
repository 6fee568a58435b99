//! Waiting until an instant, to well under a millisecond on the real clock.
//!
//! tokio's timer wheel has millisecond granularity: a sleep ends on the next 1 ms tick or
//! later, so a fake tool planned at 20 ms was held about 1.1 ms too long (p50; the p99 near
//! 2 ms). On the real clock (asked for by the mock server, whose runtime has I/O) the wait is
//! a Linux timerfd awaited through tokio's reactor instead, in stages:
//!
//! - A long kernel sleep overshoots in proportion to its length, not only by a fixed wake-up
//!   cost: on this project's KVM machine an idle `clock_nanosleep` or timerfd of 300 ms ended
//!   1.5–1.9 ms late (p50), one of 20 ms 0.3 ms late, one of 2 ms 0.1 ms late (the guest's
//!   timer device and its clock source do not run at quite the same rate, and an idle vCPU
//!   wakes slowly). So the timerfd is armed to end early by a sixteenth of what is left, and
//!   re-armed for the rest: each stage is shorter, so its overshoot is smaller.
//! - The last [`SPIN`] is spent yielding to the runtime (other tasks keep running) until the
//!   instant: a kernel wake-up costs about as much as the whole precision goal.
//! - On a multi-thread runtime (the real clock's, [`real_clock_runtime`]) the last 2 ms are
//!   not waited for through the reactor at all: the task's own thread sleeps them out in
//!   `clock_nanosleep` stages and a busy loop (`block_in_place`, so the worker's other tasks
//!   move to another thread). Woken through the reactor, the end of a 300 ms wait was late by
//!   0.15–0.25 ms (p50) and up to 0.6 ms; on its own thread, 0.002 ms (p50) and 0.2–0.3 ms at
//!   worst (docs/BENCHMARKS.md, "The last 2 ms on the task's own thread"). The price: for those
//!   last 2 ms the wait cannot be cancelled, so an agent that gives up on a call within 2 ms
//!   of its planned end sees it end first (as it could with a real tool).
//!
//! Measured with `cargo bench --bench server` (docs/BENCHMARKS.md). Hand-written (about 60
//! lines) because no maintained crate offers an async timerfd sleep over tokio's own reactor;
//! `nix` provides the timerfd itself.
//!
//! Everywhere else (the virtual clock of in-process runs; another OS) it is tokio's own
//! `sleep_until`, which on the virtual clock is exact.
//!
//! A precise wait is only as good as the wake-up of the thread that ends it: on a busy
//! machine a runtime worker whose timer fired waited for a core behind other processes, and
//! held a call 1–7 ms too long now and then. So the real clock's runtime
//! ([`real_clock_runtime`]) asks the kernel for a real-time policy for its threads where it
//! may (`SCHED_RR` at the lowest real-time priority, reset on fork so the agent processes it
//! starts run as they would anyway); where it may not (an unprivileged user without
//! `RLIMIT_RTPRIO`), the threads keep the normal policy and holds may overrun under load.

use tokio::time::Instant;

/// The log target of the events here: the `tooltape` crate's name, which log filters
/// (`TOOLTAPE_LOG=tooltape::replay=debug`) use, not this crate's.
#[cfg(all(feature = "mock", target_os = "linux"))]
const LOG: &str = "tooltape::replay::timer";

/// Sleep until `at`; with `precise` (only on the real clock, in a runtime with I/O) to well
/// under a millisecond, see the module docs.
pub(crate) async fn sleep_until(at: Instant, precise: bool) {
    #[cfg(not(all(feature = "mock", target_os = "linux")))]
    let _ = precise;
    #[cfg(all(feature = "mock", target_os = "linux"))]
    if precise {
        let on_own_thread = tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread;
        let reactor_until = if on_own_thread {
            at.checked_sub(precise::FINAL).unwrap_or(at)
        } else {
            at
        };
        match precise::sleep_until(reactor_until).await {
            Ok(()) => {
                if on_own_thread {
                    let at = at.into_std();
                    tokio::task::block_in_place(|| precise::finish(at));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(target: LOG, error = %e, "timerfd unavailable; tokio's timer used")
            }
        }
    }
    tokio::time::sleep_until(at).await;
}

/// A multi-thread runtime for the real clock (the mock server and the agents it serves), with
/// `workers` worker threads (tokio's default, one a core, when `None`); on Linux its threads
/// ask for a real-time scheduling policy where permitted (see the module docs).
pub fn real_clock_runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    #[cfg(all(feature = "mock", target_os = "linux"))]
    builder.on_thread_start(precise::favour_this_thread);
    builder.enable_all().build()
}

#[cfg(all(feature = "mock", target_os = "linux"))]
mod precise {
    use std::os::fd::{AsFd, AsRawFd, RawFd};

    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use std::time::Duration;

    use tokio::io::unix::AsyncFd;
    use tokio::time::Instant;

    struct Fd(TimerFd);

    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    /// Asks for `SCHED_RR` at priority 1 (the lowest real-time priority: above every normal
    /// process, below every other real-time one) for the calling thread, with
    /// `SCHED_RESET_ON_FORK` so that processes started from it (the agent under test) and the
    /// threads it starts get the normal policy. Refused without the privilege: then the thread
    /// keeps the normal policy, said once in the log.
    pub(super) fn favour_this_thread() {
        static REFUSED: std::sync::Once = std::sync::Once::new();
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: `sched_setscheduler` with pid 0 changes only the calling thread's policy and
        // reads `param`, which lives for the whole call.
        let rc = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            REFUSED.call_once(|| {
                tracing::debug!(target: super::LOG,
                    error = %e,
                    "no real-time scheduling for the real clock's threads; holds may overrun on a busy machine"
                );
            });
        }
    }

    /// The last stretch before the instant, spent yielding (or, in [`finish`], spinning)
    /// instead of sleeping.
    pub(super) const SPIN: Duration = Duration::from_micros(200);

    /// How long before the instant a wait on a multi-thread runtime leaves the reactor for
    /// [`finish`] on its own thread.
    pub(super) const FINAL: Duration = Duration::from_millis(2);

    /// Blocks the calling thread until `at`: `clock_nanosleep` (`std::thread::sleep`) in stages
    /// that end early by a sixteenth of what is left, and at least [`SPIN`], then a busy loop.
    pub(super) fn finish(at: std::time::Instant) {
        loop {
            let left = at.saturating_duration_since(std::time::Instant::now());
            if left <= SPIN {
                while std::time::Instant::now() < at {
                    std::hint::spin_loop();
                }
                return;
            }
            std::thread::sleep(left - (left / 16).max(SPIN));
        }
    }

    pub(super) async fn sleep_until(at: Instant) -> std::io::Result<()> {
        if Instant::now() >= at {
            return Ok(());
        }
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: `Fd` owns the timerfd, so the descriptor stays open, and is the same one,
        // for as long as the `AsyncFd` owns `Fd`.
        let fd =
            unsafe { AsyncFd::register_with_interest(Fd(timer), tokio::io::Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?;
        loop {
            let left = at.saturating_duration_since(Instant::now());
            if left <= SPIN {
                while Instant::now() < at {
                    tokio::task::yield_now().await;
                }
                return Ok(());
            }
            // End early by a sixteenth of what is left (the overshoot grows with the length),
            // and by at least the spin.
            let early = (left / 16).max(SPIN);
            fd.get_ref().0.set(
                Expiration::OneShot(TimeSpec::from_duration(left - early)),
                TimerSetTimeFlags::empty(),
            )?;
            let mut ready = fd.readable().await?;
            // Consume the expiry (a spurious readiness reads nothing: the loop re-arms).
            let _ = fd.get_ref().0.wait();
            ready.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// On the virtual clock the wait is tokio's: exact, and costing no real time.
    #[test]
    fn exact_on_the_virtual_clock() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let t0 = Instant::now();
            let real = std::time::Instant::now();
            sleep_until(t0 + Duration::from_secs(30), false).await;
            assert_eq!(t0.elapsed(), Duration::from_secs(30));
            assert!(real.elapsed() < Duration::from_secs(5));
        });
    }

    /// The real clock's threads run at `SCHED_RR` where the process may ask for it (as root,
    /// here and in CI), and what they start (the agent) does not inherit it; where it may not,
    /// they keep the normal policy and the runtime works the same.
    #[cfg(all(feature = "mock", target_os = "linux"))]
    #[test]
    fn real_clock_threads_favoured_where_permitted_children_not() {
        // What `SCHED_RR` at priority 1 needs: a real-time priority limit of at least 1 (root
        // has CAP_SYS_NICE, which ignores the limit).
        let permitted = {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `getrlimit` writes the limit into `limit`, which outlives the call.
            let ok = unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut limit) } == 0;
            // SAFETY: `geteuid` has no preconditions.
            (ok && limit.rlim_cur >= 1) || unsafe { libc::geteuid() } == 0
        };
        let rt = real_clock_runtime(Some(1)).unwrap();
        // On a worker thread (`block_on` runs its future on this test's own thread).
        let (policy, child) = rt
            .block_on(rt.spawn(async {
                // SAFETY: `sched_getscheduler(0)` reads the calling thread's policy.
                let policy = unsafe { libc::sched_getscheduler(0) };
                let child = tokio::process::Command::new("sh")
                    .args(["-c", "grep '^policy' /proc/self/sched"])
                    .output()
                    .await
                    .unwrap();
                (policy, String::from_utf8_lossy(&child.stdout).into_owned())
            }))
            .unwrap();
        let policy = policy & !libc::SCHED_RESET_ON_FORK;
        if permitted {
            assert_eq!(policy, libc::SCHED_RR, "a worker thread's policy");
        } else {
            assert_eq!(policy, libc::SCHED_OTHER, "a worker thread's policy");
        }
        let child_policy: i32 = child
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no policy line in {child:?}"));
        assert_eq!(child_policy, libc::SCHED_OTHER, "the child's policy");
    }

    /// On the real clock it never ends early: not in the spin alone, not after one stage, not
    /// after several, not in the final stretch on its own thread (multi-thread runtimes) nor
    /// through the reactor alone (current-thread ones). How late it ends is measured in
    /// benches/server.rs, not here.
    #[cfg(all(feature = "mock", target_os = "linux"))]
    #[test]
    fn never_early_on_the_real_clock() {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for rt in [multi, current] {
            let flavor = rt.handle().runtime_flavor();
            rt.block_on(async {
                for us in [0u64, 150, 300, 1_500, 3_000, 20_000] {
                    let at = Instant::now() + Duration::from_micros(us);
                    sleep_until(at, true).await;
                    assert!(Instant::now() >= at, "woke early at {us} us on {flavor:?}");
                }
            });
        }
    }
}
