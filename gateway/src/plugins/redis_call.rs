//! Running the Redis calls plugins dispatch with Higress's `proxy_redis_call` (the Go SDK's
//! `RedisClusterClient`: rate limits, quotas, caches). The cluster is one of the gateway's
//! upstreams by Envoy name ([`Clusters`], e.g. `outbound|80||redis.static`); the query is
//! a RESP command as the plugin encoded it. Each call takes an idle connection to one
//! endpoint from its thread's pool (per login and database), or connects and sends `AUTH`
//! and `SELECT` when `proxy_redis_init` asked for them, then sends the query and reads one
//! whole RESP reply, all within the plugin's timeout; a clean connection goes back to the
//! pool. The reply (an error reply too)
//! reaches `proxy_on_redis_call_response` with status 0 as buffer type 9; a connection
//! failure or timeout is status 1 with no reply.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::host_state::{RedisCall, RedisResponse};
use super::http_call::Clusters;
use crate::upstream::PickHint;

/// The largest reply kept.
const MAX_REPLY: usize = 16 << 20;

/// What `proxy_redis_init` set for a cluster: credentials, database, timeout. Its `Debug`
/// leaves the password out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedisSettings {
    /// ACL user (Redis 6+), empty for none.
    pub username: String,
    /// Password, empty for none. Never logged.
    pub password: String,
    /// Database (`?db=N` on the cluster name).
    pub db: u32,
    /// Per-call timeout.
    pub timeout: Duration,
}

/// Why a call got no reply (status 1 to the plugin; logged at debug).
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("unknown cluster")]
    UnknownCluster,
    #[error("no healthy endpoint")]
    NoEndpoint,
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the reply is not RESP")]
    Protocol,
    #[error("the reply is larger than {MAX_REPLY} bytes")]
    TooLarge,
}

// === impl RedisSettings ===

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<set>"
                },
            )
            .field("db", &self.db)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisSettings {
    /// Splits a cluster name as the Go SDK passes it to `proxy_redis_init`
    /// (`outbound|6379||redis.dns?db=2`) into the cluster and its database.
    pub fn split_cluster(name: &str) -> (&str, u32) {
        let Some((cluster, query)) = name.split_once('?') else {
            return (name, 0);
        };
        let db = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("db="))
            .find_map(|v| v.parse().ok())
            .unwrap_or(0);
        (cluster, db)
    }
}

/// Runs `call` against `clusters`; never fails (a failure is status 1).
pub async fn run(clusters: &Clusters, call: RedisCall) -> RedisResponse {
    let timeout = call.settings.timeout;
    let result = match tokio::time::timeout(timeout, exchange(clusters, &call)).await {
        Ok(r) => r,
        Err(_) => Err(CallError::Timeout),
    };
    match result {
        Ok(reply) => RedisResponse { status: 0, reply },
        Err(e) => {
            tracing::debug!(cluster = %call.cluster, "plugin Redis call failed: {e}");
            RedisResponse {
                status: 1,
                reply: Vec::new(),
            }
        }
    }
}

async fn exchange(clusters: &Clusters, call: &RedisCall) -> Result<Vec<u8>, CallError> {
    let target = clusters
        .target(&call.cluster)
        .ok_or(CallError::UnknownCluster)?;
    let lease = target
        .pick(PickHint::default())
        .ok_or(CallError::NoEndpoint)?;
    let key = PoolKey {
        addr: lease.addr(),
        username: call.settings.username.clone(),
        password: call.settings.password.clone(),
        db: call.settings.db,
    };
    let mut buf = Vec::new();
    // A pooled connection the server closed meanwhile fails before any reply byte; the
    // command then goes once more on a fresh connection.
    if let Some(mut conn) = pool_take(&key) {
        match round_trip(&mut conn, &call.query, &mut buf).await {
            Ok(reply) => {
                pool_put(key, conn, &buf);
                return Ok(reply);
            }
            Err(CallError::Io(_)) if buf.is_empty() => {}
            Err(e) => return Err(e),
        }
    }
    let mut conn = TcpStream::connect(key.addr).await?;
    conn.set_nodelay(true)?;
    let s = &call.settings;
    if !s.password.is_empty() {
        let auth = if s.username.is_empty() {
            command(&["AUTH", &s.password])
        } else {
            command(&["AUTH", &s.username, &s.password])
        };
        let reply = round_trip(&mut conn, &auth, &mut buf).await?;
        if reply.first() == Some(&b'-') {
            return Ok(reply);
        }
    }
    if s.db != 0 {
        let select = command(&["SELECT", &s.db.to_string()]);
        let reply = round_trip(&mut conn, &select, &mut buf).await?;
        if reply.first() == Some(&b'-') {
            return Ok(reply);
        }
    }
    let reply = round_trip(&mut conn, &call.query, &mut buf).await?;
    pool_put(key, conn, &buf);
    Ok(reply)
}

/// Idle connections are kept per endpoint and per login and database (what `AUTH` and
/// `SELECT` fixed on them).
#[derive(PartialEq, Eq, Hash)]
struct PoolKey {
    addr: std::net::SocketAddr,
    username: String,
    password: String,
    db: u32,
}

/// Idle connections kept per key and thread.
const MAX_IDLE: usize = 16;

thread_local! {
    /// Idle connections of this proxy thread, by key (a call takes one out for its exchange
    /// and puts it back after a clean reply, so none is shared).
    static POOL: RefCell<HashMap<PoolKey, Vec<TcpStream>>> = RefCell::new(HashMap::new());
}

fn pool_take(key: &PoolKey) -> Option<TcpStream> {
    POOL.with(|p| p.borrow_mut().get_mut(key).and_then(Vec::pop))
}

/// Keeps `conn` for the next call, unless bytes past the reply are left (`leftover`).
fn pool_put(key: PoolKey, conn: TcpStream, leftover: &[u8]) {
    if !leftover.is_empty() {
        return;
    }
    POOL.with(|p| {
        let mut pool = p.borrow_mut();
        let idle = pool.entry(key).or_default();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    });
}

/// Sends `query` and reads one whole reply (bytes past it stay in `buf` for the next).
async fn round_trip(
    conn: &mut TcpStream,
    query: &[u8],
    buf: &mut Vec<u8>,
) -> Result<Vec<u8>, CallError> {
    conn.write_all(query).await?;
    loop {
        match frame_end(buf, 0) {
            Ok(Some(end)) => return Ok(buf.drain(..end).collect()),
            Ok(None) => {}
            Err(()) => return Err(CallError::Protocol),
        }
        if buf.len() > MAX_REPLY {
            return Err(CallError::TooLarge);
        }
        // Into the buffer's spare room (no chunk array in the future's state).
        buf.reserve(16 * 1024);
        if conn.read_buf(buf).await? == 0 {
            return Err(CallError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

/// A RESP array of bulk strings (how redis-cli sends a command).
fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// How deep aggregates may nest in a reply (a hostile server cannot exhaust the stack).
const MAX_DEPTH: usize = 64;

/// Where the RESP2/RESP3 value starting at `at` ends: `Ok(None)` when more bytes are
/// needed, `Err` when the bytes are not RESP (or nest deeper than [`MAX_DEPTH`]).
fn frame_end(buf: &[u8], at: usize) -> Result<Option<usize>, ()> {
    value_end(buf, at, 0)
}

fn value_end(buf: &[u8], at: usize, depth: usize) -> Result<Option<usize>, ()> {
    if depth > MAX_DEPTH {
        return Err(());
    }
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = &buf[at + 1..at + eol];
    let after = at + eol + 2;
    let number = || -> Result<i64, ()> {
        std::str::from_utf8(line)
            .map_err(|_| ())?
            .parse()
            .map_err(|_| ())
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok(Some(after)),
        b'$' | b'!' | b'=' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let end = after + n as usize + 2;
            Ok((buf.len() >= end).then_some(end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let items = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut next = after;
            for _ in 0..items {
                match value_end(buf, next, depth + 1)? {
                    Some(end) => next = end,
                    None => return Ok(None),
                }
            }
            Ok(Some(next))
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_end_where_the_value_ends() {
        assert_eq!(frame_end(b"+OK\r\n", 0), Ok(Some(5)));
        assert_eq!(frame_end(b":42\r\nrest", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"$3\r\nabc\r\n", 0), Ok(Some(9)));
        assert_eq!(frame_end(b"$-1\r\n", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"*2\r\n:1\r\n$1\r\nx\r\n", 0), Ok(Some(15)));
        assert_eq!(frame_end(b"*2\r\n*1\r\n:1\r\n:2\r\n", 0), Ok(Some(16)));
        assert_eq!(frame_end(b"%1\r\n+a\r\n:1\r\n", 0), Ok(Some(12)));
    }

    #[test]
    fn partial_frames_ask_for_more_and_garbage_is_refused() {
        assert_eq!(frame_end(b"", 0), Ok(None));
        assert_eq!(frame_end(b"+OK", 0), Ok(None));
        assert_eq!(frame_end(b"$3\r\nab", 0), Ok(None));
        assert_eq!(frame_end(b"*2\r\n:1\r\n", 0), Ok(None));
        assert_eq!(frame_end(b"HTTP/1.1 200 OK\r\n", 0), Err(()));
        assert_eq!(frame_end(b"$x\r\n", 0), Err(()));
        let deep = "*1\r\n".repeat(100_000) + ":1\r\n";
        assert_eq!(frame_end(deep.as_bytes(), 0), Err(()), "nesting is bounded");
        let fine = "*1\r\n".repeat(MAX_DEPTH) + ":1\r\n";
        assert_eq!(frame_end(fine.as_bytes(), 0), Ok(Some(fine.len())));
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            command(&["GET", "k"]),
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".to_vec()
        );
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let s = RedisSettings {
            password: "hunter2".into(),
            ..RedisSettings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn cluster_names_carry_the_database() {
        assert_eq!(
            RedisSettings::split_cluster("outbound|6379||redis.dns?db=2"),
            ("outbound|6379||redis.dns", 2)
        );
        assert_eq!(
            RedisSettings::split_cluster("outbound|80||r.static"),
            ("outbound|80||r.static", 0)
        );
        assert_eq!(
            RedisSettings::split_cluster("c?buffer_flush_timeout=0&db=x"),
            ("c", 0)
        );
    }
}
