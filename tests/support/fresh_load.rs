//! Load on new connections: each worker opens a connection per request (`Connection:
//! close`), so every failure is a refused connect or a lost request, never a keep-alive
//! race. Used to prove a process swap loses nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::http1::Http1;

/// Running load; [`Self::stop`] ends it.
pub struct FreshConnectionLoad {
    ok: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

// === impl FreshConnectionLoad ===

impl FreshConnectionLoad {
    /// `workers` loops of `GET /` with `Host: <host>` on `127.0.0.1:<port>`; answers must be
    /// 200 from echo backend `backend`.
    pub fn start(port: u16, host: &str, workers: usize, backend: &str) -> Self {
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let (ok, failures, stop) = (ok.clone(), failures.clone(), stop.clone());
                let (host, backend) = (host.to_owned(), backend.to_owned());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        match one(port, &host, &backend).await {
                            Ok(()) => {
                                ok.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => failures
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("{e} (at {})", wall_clock())),
                        }
                    }
                })
            })
            .collect();
        Self {
            ok,
            failures,
            stop,
            workers,
        }
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.ok.load(Ordering::SeqCst)
    }

    /// Waits until `more` further requests are answered (or [`crate::DEADLINE`]).
    pub async fn wait_for_more(&self, more: u64) {
        let target = self.answered() + more;
        crate::eventually(crate::DEADLINE, || async {
            let n = self.answered();
            (n >= target)
                .then_some(())
                .ok_or(format!("{n} of {target} answered"))
        })
        .await;
    }

    /// Stops the workers; returns (answered, failures).
    pub async fn stop(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            let _ = w.await;
        }
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        (self.ok.load(Ordering::SeqCst), failures)
    }
}

async fn one(port: u16, host: &str, backend: &str) -> Result<(), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let connected = wall_clock();
    let local = tcp.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut http = Http1::new(tcp);
    let answer = async {
        http.send_head("GET", host, "/", &[("connection", "close")])
            .await?;
        http.read_reply().await?.expect_backend(backend).map(|_| ())
    };
    answer
        .await
        .map_err(|e| format!("{e} (from port {local}, connected at {connected})"))
}

/// Now as UTC seconds of the day with microseconds (`HH:MM:SS.ffffff`), to line a failure
/// up with the gateway's log.
fn wall_clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_micros()
    )
}
