//! Binding a fresh mock's listening socket on 127.0.0.1 without the kernel's port search.
//!
//! Each run gets a fresh server on its own port. Asked for "any port" (port 0), Linux searches
//! its ephemeral range for a port no socket holds — and a port still held by a TIME_WAIT socket
//! counts as held, even with `SO_REUSEADDR`. A run leaves one there: a tool call made with
//! `Connection: close` is closed by the server first (RFC 9112 §9.6 has it initiate the close),
//! and the side that closes first keeps the connection in TIME_WAIT for 60 s, on the listening
//! port. At a few thousand runs a second the kernel's half of the range for `bind()` is full
//! within seconds, and every `bind()` then walks thousands of ports under locks (70% of the
//! CPU of `cargo bench --bench server -- throughput` once the range had filled:
//! docs/BENCHMARKS.md).
//!
//! Binding a *named* port is a single lookup, and with `SO_REUSEADDR` it succeeds on a port
//! held only by TIME_WAIT sockets of an earlier listener that also set it (ours do): the same
//! rule that lets a restarted server take its port back at once. So [`bind`] first tries a few
//! random odd ports of the ephemeral range itself (odd, as the kernel's own choice for `bind()`
//! is, leaving even ports to `connect()`; never a port reserved there), and asks for port 0
//! only when those are taken. Live
//! sockets still conflict: another process's listener, or a connected socket that did not set
//! `SO_REUSEADDR` (a client's), makes that try fail and the next one is taken.
//!
//! What an agent sees does not change: a random port in the same range, closes as before. The
//! one thing given up is the kernel's quarantine of a port whose previous server closed first:
//! a leftover client of an earlier run could reach a later run on the same port. That is no
//! new exposure — with port 0 a port the *client* closed first is free again at once, and a
//! run's leftover processes are killed before the next run starts (`process::leftovers`) — and
//! a random pick lands on the previous run's port about once in 14,000 runs.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;

use tokio::net::{TcpListener, TcpSocket};

/// Random ports tried before asking the kernel for one.
const TRIES: usize = 8;

/// A listener on 127.0.0.1:`port`, with `SO_REUSEADDR`; port 0: a free port of the ephemeral
/// range, picked here at random when one of a few picks is free, else by the kernel.
pub(crate) fn bind(port: u16) -> io::Result<TcpListener> {
    if port == 0
        && let Some(range) = ephemeral_range()
    {
        for _ in 0..TRIES {
            let pick = range.pick();
            if range.reserved(pick) {
                continue;
            }
            // Taken (or refused for another reason): the next pick, then the kernel's choice.
            if let Ok(listener) = bind_exactly(pick) {
                return Ok(listener);
            }
        }
    }
    bind_exactly(port)
}

/// A listener on 127.0.0.1:`port` exactly (0: the kernel's choice), with `SO_REUSEADDR` (as
/// `TcpListener::bind` sets it on Unix) and its backlog.
fn bind_exactly(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(1024)
}

/// The kernel's ephemeral port range (`net.ipv4.ip_local_port_range`), where it would pick a
/// port 0 from, less the ports reserved in it (`net.ipv4.ip_local_reserved_ports`, which the
/// kernel never picks but a named bind may take).
#[derive(Debug, PartialEq, Eq)]
struct Ephemeral {
    low: u16,
    high: u16,
    reserved: Vec<(u16, u16)>,
}

impl Ephemeral {
    /// A random odd port in the range.
    fn pick(&self) -> u16 {
        rand::random_range(self.low / 2..=(self.high - 1) / 2) * 2 + 1
    }

    fn reserved(&self, port: u16) -> bool {
        self.reserved.iter().any(|&(a, b)| (a..=b).contains(&port))
    }
}

/// `None` where unknown (not Linux) or too narrow to pick from.
fn ephemeral_range() -> Option<&'static Ephemeral> {
    static RANGE: OnceLock<Option<Ephemeral>> = OnceLock::new();
    RANGE
        .get_or_init(|| {
            let sys = |name: &str| std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"));
            let range = sys("ip_local_port_range").ok()?;
            // Unreadable reservations: as if every port were reserved, so the kernel picks.
            let reserved = sys("ip_local_reserved_ports").ok()?;
            parse_range(&range, &reserved)
        })
        .as_ref()
}

/// The two files' text: "LOW HIGH" and a comma-separated list of ports and "A-B" ranges.
fn parse_range(range: &str, reserved: &str) -> Option<Ephemeral> {
    let mut it = range.split_whitespace().map(str::parse::<u16>);
    let (low, high) = (it.next()?.ok()?, it.next()?.ok()?);
    if low < 1024 || high <= low.saturating_add(16) {
        return None;
    }
    let reserved = reserved
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect::<Option<Vec<(u16, u16)>>>()?;
    Some(Ephemeral {
        low,
        high,
        reserved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_range_is_read_as_the_kernel_writes_it() {
        let r = parse_range("32768\t60999\n", "\n").expect("a range");
        assert_eq!((r.low, r.high, r.reserved.len()), (32768, 60999, 0));
        assert!(parse_range("1024 65535", "").is_some());
        // Privileged or too narrow to pick from: the kernel picks.
        assert!(parse_range("80 90", "").is_none());
        assert!(parse_range("40000 40001", "").is_none());
        assert!(parse_range("nonsense", "").is_none());
        // Unreadable reservations: the kernel picks.
        assert!(parse_range("32768 60999", "8080-x").is_none());
    }

    #[test]
    fn reserved_ports_are_never_picked() {
        let r = parse_range("32768 60999", "33000-33010,40001\n").expect("a range");
        assert_eq!(r.reserved, vec![(33000, 33010), (40001, 40001)]);
        assert!(r.reserved(33005) && r.reserved(40001) && !r.reserved(40003));
        for _ in 0..1000 {
            let p = r.pick();
            assert!((32768..=60999).contains(&p) && p % 2 == 1, "{p}");
        }
    }

    #[tokio::test]
    async fn any_port_is_an_odd_port_of_the_ephemeral_range_on_loopback() {
        let l = bind(0).expect("bind");
        let addr = l.local_addr().expect("addr");
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        if let Some(r) = ephemeral_range() {
            let p = addr.port();
            assert!((r.low..=r.high).contains(&p), "{p} outside {r:?}");
            assert_eq!(p % 2, 1, "{p}: bind's half of the range is the odd ports");
        }
        // Two listeners at once never share a port.
        let other = bind(0).expect("bind");
        assert_ne!(other.local_addr().expect("addr").port(), addr.port());
    }

    /// What makes the random pick cheap: the port of a finished run whose server closed a
    /// connection first (so it is held by a TIME_WAIT socket, and the kernel's own choice of
    /// a port would skip it) can be bound again at once.
    #[tokio::test]
    async fn a_port_held_by_the_servers_time_wait_is_bound_again() {
        let listener = bind(0).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        // The server closes first: its side of the connection enters TIME_WAIT.
        drop(server);
        let mut rest = Vec::new();
        client
            .read_to_end(&mut rest)
            .await
            .expect("the server's close");
        client.shutdown().await.ok();
        drop(client);
        drop(listener);
        let again = bind(addr.port()).expect("a port held only by TIME_WAIT binds again");
        assert_eq!(again.local_addr().expect("addr"), addr);
    }

    #[tokio::test]
    async fn a_port_with_a_live_listener_is_not_taken() {
        let listener = bind(0).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(bind_exactly(port).is_err(), "{port} was bound twice");
    }
}
