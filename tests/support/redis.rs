//! A real Redis for plugin tests: Debian's `redis-server` on a loopback port, no
//! persistence, optionally with a password; killed on drop. [`Redis::command`] talks RESP
//! to it directly, to look at what plugins stored.
//!
//! The binary is `$REDIS_SERVER_BIN`, else `redis-server` on `PATH` (tests/run.sh installs
//! the Debian package).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::free_port;

/// A running Redis.
pub struct Redis {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: SocketAddr,
    password: Option<String>,
}

fn binary() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned())
}

impl Redis {
    /// Starts Redis; with `password`, clients must `AUTH` first.
    pub fn start(password: Option<&str>) -> Self {
        let port = free_port();
        let mut cmd = Command::new(binary());
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): install Debian's redis-server (tests/run.sh does) or set \
                 REDIS_SERVER_BIN",
                binary()
            )
        });
        let redis = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            password: password.map(str::to_owned),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.command(0, &["PING"]).as_deref() != Some("+PONG\r\n") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    /// Runs one command in database `db` on a fresh connection; the raw RESP reply.
    pub fn command(&self, db: u32, args: &[&str]) -> Option<String> {
        let mut conn = TcpStream::connect(self.addr).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut send = |args: &[&str]| -> Option<String> {
            let mut out = format!("*{}\r\n", args.len());
            for a in args {
                out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
            }
            conn.write_all(out.as_bytes()).ok()?;
            let mut buf = [0u8; 65536];
            let n = conn.read(&mut buf).ok()?;
            Some(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        if let Some(p) = &self.password {
            send(&["AUTH", p])?;
        }
        if db != 0 {
            send(&["SELECT", &db.to_string()])?;
        }
        send(args)
    }
}

impl Redis {
    /// Connections the server has accepted so far (`INFO stats`, counting this one).
    pub fn connections_received(&self) -> u64 {
        let info = self.command(0, &["INFO", "stats"]).unwrap_or_default();
        info.lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
