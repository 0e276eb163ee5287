//! The open-file limit: raised to its hard maximum at start (as nginx and Envoy deployments
//! do), and the default connection limit derived from it so that client connections can
//! never take the descriptors the upstreams, the config reads and the admin API need.

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

/// Descriptors kept out of the connection budget at most: listeners, the runtimes' epoll and
/// event fds, log files, config reads and watches, DNS sockets and admin API connections.
const RESERVE_MAX: u64 = 256;

/// Where `/proc` says how many descriptors a process may have at most.
const NR_OPEN: &str = "/proc/sys/fs/nr_open";

/// The open-file limit in force after [`raise`], and what it was before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit before start.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (capped by `fs.nr_open` when the hard
/// limit is unlimited). Keeps the soft limit when it cannot be raised.
pub fn raise() -> FdLimit {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return FdLimit {
            before: 1024,
            now: 1024,
        };
    };
    let target = if hard == RLIM_INFINITY {
        std::fs::read_to_string(NR_OPEN)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1_048_576)
    } else {
        hard
    };
    if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        return FdLimit {
            before: soft,
            now: target,
        };
    }
    FdLimit {
        before: soft,
        now: soft,
    }
}

/// The connection budget of `nofile` descriptors: a reserve (a quarter of the limit, at most
/// [`RESERVE_MAX`]) comes off, and 90 % of the rest is for client connections; the last
/// tenth is for upstream connections (those of requests in flight and the idle pool), since
/// most client connections at the limit are idle keep-alive ones. 1,024 fds admit 684
/// connections; 65,536 admit 58,752.
pub fn default_max_connections(nofile: u64) -> usize {
    let reserve = (nofile / 4).min(RESERVE_MAX);
    let budget = nofile.saturating_sub(reserve) / 10 * 9;
    usize::try_from(budget.max(1)).unwrap_or(usize::MAX)
}

/// The connection limit to run with: `flag` (`--max-connections`; 0 = none) or the budget
/// of `fds`. Warns when the flag admits more connections than the descriptors can hold.
pub fn max_connections(flag: Option<usize>, fds: FdLimit) -> Option<usize> {
    let budget = default_max_connections(fds.now);
    match flag {
        None => Some(budget),
        Some(0) => {
            tracing::warn!(
                "--max-connections 0: no connection limit; clients can exhaust the {} file \
                 descriptors",
                fds.now
            );
            None
        }
        Some(max) => {
            if max > budget {
                tracing::warn!(
                    "--max-connections {max} is above what {} file descriptors hold with \
                     upstream connections ({budget}); accept may run out of descriptors",
                    fds.now
                );
            }
            Some(max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_leaves_a_reserve_and_room_for_upstreams() {
        assert_eq!(default_max_connections(1024), 684);
        assert_eq!(default_max_connections(65_536), 58_752);
        assert_eq!(default_max_connections(20_000), 17_766);
        assert_eq!(default_max_connections(64), 36);
        assert_eq!(default_max_connections(0), 1);
    }

    #[test]
    fn flag_wins_and_zero_is_unlimited() {
        let fds = FdLimit {
            before: 1024,
            now: 1024,
        };
        assert_eq!(max_connections(None, fds), Some(684));
        assert_eq!(max_connections(Some(50), fds), Some(50));
        assert_eq!(max_connections(Some(0), fds), None);
    }

    #[test]
    fn raise_never_lowers_the_soft_limit() {
        let before = getrlimit(Resource::RLIMIT_NOFILE).map(|(s, _)| s);
        let fds = raise();
        assert!(fds.now >= fds.before);
        assert_eq!(before.ok(), Some(fds.before));
    }
}
