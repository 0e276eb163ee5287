//! Load that hides no failure: keep-alive HTTP/1.1 connections over raw TCP, each request
//! sent exactly once. A pooling client (reqwest, hyper's pool) silently resends a request
//! that failed on a reused keep-alive connection, so a gateway that dropped connections would
//! look lossless through it; this one counts every connection the gateway closes.
//!
//! Each worker keeps one connection and alternates `GET /load/<tag>` with `POST /load/<tag>`
//! carrying a unique body; it checks every answer came from an allowed echo backend and (for
//! POSTs) echoes the body sent. A connection closed by the gateway after a response that said
//! `Connection: close` is reopened and counted; any other close is a failure.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

use crate::echo::EchoServer;
use tokio::task::JoinHandle;

use crate::http1::{Http1, RawReply};

/// Bytes of padding in each POST body (after its unique tag).
const POST_PADDING: usize = 2_000;

/// Running load; [`Self::stop`] ends it and returns what happened.
pub struct KeepAliveLoad {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    shared: Arc<Mutex<LoadReport>>,
    workers: Vec<JoinHandle<()>>,
}

/// What the load saw.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Requests answered correctly (200 from an allowed backend, body echoed).
    pub answered: u64,
    /// Bodies of the POSTs answered correctly, in no particular order.
    pub posts: Vec<String>,
    /// Connections opened.
    pub connections: u64,
    /// Connections the gateway closed after announcing it (`Connection: close`).
    pub announced_closes: u64,
    /// Connections that ended without an announced close: closed by the gateway between
    /// requests or during one, or reset.
    pub unannounced_closes: u64,
    /// Every failed request, described.
    pub failures: Vec<String>,
}

// === impl KeepAliveLoad ===

impl KeepAliveLoad {
    /// Starts `workers` connections to `127.0.0.1:<port>` sending to `host`; answers must
    /// come from one of the echo backends named in `backends`.
    pub fn start(port: u16, host: &str, workers: usize, backends: &[&str]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Mutex::new(LoadReport::default()));
        let backends: Arc<Vec<String>> =
            Arc::new(backends.iter().map(|b| (*b).to_owned()).collect());
        let workers = (0..workers)
            .map(|w| {
                let worker = Worker {
                    id: w,
                    port,
                    host: host.to_owned(),
                    backends: backends.clone(),
                    stop: stop.clone(),
                    answered: answered.clone(),
                    shared: shared.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Self {
            stop,
            answered,
            shared,
            workers,
        }
    }

    /// Requests answered correctly so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// Waits until at least `more` further requests have been answered (or a request
    /// failed); use it to let the load run between two events instead of sleeping.
    pub async fn wait_for_more(&self, more: u64) {
        let target = self.answered() + more;
        crate::eventually(crate::DEADLINE, || async {
            let failed = self.shared.lock().unwrap().failures.len();
            let n = self.answered();
            if n >= target || failed > 0 {
                Ok(())
            } else {
                Err(format!("{n} of {target} requests answered"))
            }
        })
        .await;
    }

    /// Stops every worker after its current request and returns the report.
    pub async fn stop(self) -> LoadReport {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            w.await.expect("load worker panicked");
        }
        let report = self.shared.lock().unwrap().clone();
        report
    }
}

// === impl LoadReport ===

impl LoadReport {
    /// Panics unless every request was answered, no connection ended unannounced, and at
    /// least `min` requests were sent; `what` names the test phase.
    pub fn assert_lossless(&self, what: &str, min: u64) {
        let sent = self.answered + self.failures.len() as u64;
        assert!(
            self.failures.is_empty() && self.unannounced_closes == 0,
            "{what}: {} of {sent} requests failed, {} connection(s) of {} closed by the gateway \
             without `Connection: close`; first failures: {:#?}",
            self.failures.len(),
            self.unannounced_closes,
            self.connections,
            &self.failures[..self.failures.len().min(5)]
        );
        assert!(
            self.answered >= min,
            "{what}: only {} requests were answered (want at least {min})",
            self.answered
        );
        assert!(
            !self.posts.is_empty(),
            "{what}: no POST was answered ({} requests)",
            self.answered
        );
    }
}

/// Panics unless every POST body in `answered` reached exactly one of `backends`, once.
pub fn assert_posts_seen_once(answered: &[String], backends: &[&EchoServer]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for b in backends {
        for r in b.requests() {
            if r.method == "POST" && r.path.starts_with("/load/") {
                *seen.entry(r.body_text()).or_default() += 1;
            }
        }
    }
    let missing = answered.iter().filter(|b| !seen.contains_key(*b)).count();
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(b, _)| b)
        .collect();
    assert!(
        missing == 0 && twice.is_empty(),
        "of {} POSTs answered, {missing} never reached a backend with their body; {} bodies \
         arrived more than once (first: {:?})",
        answered.len(),
        twice.len(),
        twice.first().map(|b| b.split(':').next())
    );
}

struct Worker {
    id: usize,
    port: u16,
    host: String,
    backends: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    shared: Arc<Mutex<LoadReport>>,
}

impl Worker {
    async fn run(self) {
        let mut conn: Option<Http1<TcpStream>> = None;
        let mut on_conn = 0u64;
        let mut n = 0u64;
        while !self.stop.load(Ordering::SeqCst) {
            if conn.is_none() {
                match TcpStream::connect(("127.0.0.1", self.port)).await {
                    Ok(tcp) => {
                        let _ = tcp.set_nodelay(true);
                        conn = Some(Http1::new(tcp));
                        on_conn = 0;
                        self.shared.lock().unwrap().connections += 1;
                    }
                    Err(e) => {
                        self.fail(format!("worker {}: connect: {e}", self.id), false);
                        return;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            n += 1;
            on_conn += 1;
            let tag = format!("w{}-r{n}", self.id);
            let path = format!("/load/{tag}");
            let post = n.is_multiple_of(2);
            let body = post.then(|| format!("{tag}:{}", "p".repeat(POST_PADDING)));
            let method = if post { "POST" } else { "GET" };
            let result = match c
                .send(
                    method,
                    &self.host,
                    &path,
                    &[],
                    body.as_deref().map(str::as_bytes),
                )
                .await
            {
                Ok(()) => c.read_reply().await,
                Err(e) => Err(e),
            };
            let what = format!(
                "worker {} request {on_conn} on its connection ({method} {path})",
                self.id
            );
            match result {
                Ok(reply) => {
                    let close = reply
                        .header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                    match self.check(&reply, method, &path, body.as_deref()) {
                        Ok(()) => {
                            self.answered.fetch_add(1, Ordering::SeqCst);
                            let mut shared = self.shared.lock().unwrap();
                            shared.answered += 1;
                            if let Some(body) = body {
                                shared.posts.push(body);
                            }
                        }
                        Err(e) => self.fail(format!("{what}: {e}"), false),
                    }
                    if close {
                        self.shared.lock().unwrap().announced_closes += 1;
                        conn = None;
                    }
                }
                Err(e) => {
                    let kind = if c.nothing_buffered() {
                        "connection closed by the gateway without an answer or `Connection: close`"
                    } else {
                        "connection ended inside the answer"
                    };
                    self.fail(format!("{what}: {kind}: {e}"), true);
                    conn = None;
                }
            }
        }
    }

    /// Checks one answer: 200 from an allowed backend that saw this method, path and body.
    fn check(
        &self,
        reply: &RawReply,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(), String> {
        let from_allowed = reply
            .echo_name()
            .is_some_and(|n| self.backends.iter().any(|b| b == n));
        if reply.status != 200 || !from_allowed {
            return Err(format!(
                "want 200 from one of {:?}, got {}",
                self.backends,
                reply.summary()
            ));
        }
        let seen: serde_json::Value = serde_json::from_slice(&reply.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", reply.summary()))?;
        if seen["method"] != method || seen["path"] != path {
            return Err(format!(
                "the backend saw {} {}, not {method} {path}",
                seen["method"], seen["path"]
            ));
        }
        if seen["body"] != body.unwrap_or_default() {
            let got = seen["body"].as_str().unwrap_or_default();
            return Err(format!(
                "the backend saw a body of {} bytes, not the {} sent",
                got.len(),
                body.map_or(0, str::len)
            ));
        }
        Ok(())
    }

    fn fail(&self, what: String, connection_ended: bool) {
        let mut shared = self.shared.lock().unwrap();
        if connection_ended {
            shared.unannounced_closes += 1;
        }
        shared.failures.push(what);
    }
}
