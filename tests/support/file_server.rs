//! A tiny HTTP/1.1 file server on loopback for plugin downloads (`http://` WasmPlugin urls,
//! as Higress's plugin server serves them), over HTTP or HTTPS: fixed paths → bytes, 404
//! for anything else, and a count of the GETs each path got.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::tls::TestCert;

/// A running file server; it stops when dropped.
pub struct FileServer {
    addr: SocketAddr,
    scheme: &'static str,
    files: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// The served files and the counts, shared with the connection tasks.
#[derive(Clone, Default)]
struct Shared {
    files: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<AtomicUsize>,
}

impl FileServer {
    /// Starts serving nothing over plain HTTP (add files with [`FileServer::put`]).
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Like [`FileServer::start`], over HTTPS presenting `cert` (urls are `https://`).
    pub async fn start_tls(cert: &TestCert) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.der.clone()], cert.key())
            .expect("server certificate");
        Self::start_with(Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind file server");
        let addr = listener.local_addr().expect("file server address");
        let shared = Shared::default();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (state, tls) = (state.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(conn) = acceptor.accept(conn).await {
                                serve(conn, state).await;
                            }
                        }
                        None => serve(conn, state).await,
                    }
                });
            }
        });
        Self {
            addr,
            scheme,
            files: shared.files,
            hits: shared.hits,
            requests: shared.requests,
            task,
        }
    }

    /// Serves `bytes` at `path` (`/plugins/…`).
    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files
            .lock()
            .expect("files")
            .insert(path.to_owned(), Arc::new(bytes));
    }

    /// Stops serving `path` (404 from now on).
    pub fn remove(&self, path: &str) {
        self.files.lock().expect("files").remove(path);
    }

    /// The url of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// GETs `path` got so far.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests of any path so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers one request on `conn`: the file at its path, or 404; then closes.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S, state: Shared) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let line = String::from_utf8_lossy(&head);
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    *state
        .hits
        .lock()
        .expect("hits")
        .entry(path.clone())
        .or_default() += 1;
    let file = state.files.lock().expect("files").get(&path).cloned();
    let reply = match &file {
        Some(bytes) => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/wasm\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            bytes.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
    };
    let _ = conn.write_all(reply.as_bytes()).await;
    if let Some(bytes) = file {
        let _ = conn.write_all(&bytes).await;
    }
    let _ = conn.shutdown().await;
}
