//! A tiny HTTP/1.1 file server on loopback for plugin downloads (`http://` WasmPlugin urls,
//! as Higress's plugin server serves them): fixed paths → bytes, 404 for anything else,
//! and a count of the GETs each path got.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A running file server; it stops when dropped.
pub struct FileServer {
    addr: SocketAddr,
    files: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    /// Starts serving nothing (add files with [`FileServer::put`]).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind file server");
        let addr = listener.local_addr().expect("file server address");
        let files: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let (f, h, r) = (files.clone(), hits.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (f, h, r) = (f.clone(), h.clone(), r.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                    let line = String::from_utf8_lossy(&head);
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                    *h.lock().expect("hits").entry(path.clone()).or_default() += 1;
                    let file = f.lock().expect("files").get(&path).cloned();
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
                });
            }
        });
        Self {
            addr,
            files,
            hits,
            requests,
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
        format!("http://{}{path}", self.addr)
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
