//! Raw TCP against the gateway, for requests no HTTP client would send: write bytes, read
//! until the gateway closes, count the response heads, and the process's open file
//! descriptors (to know when it has processed many closes).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a TCP connection (no Nagle delay) to the gateway's HTTP port.
pub async fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to gantry");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// How a connection ended while a test waited on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The gateway closed (or reset) the connection; the bytes it sent first.
    Closed(Vec<u8>),
    /// Still open when the wait ran out; the bytes read so far.
    Open(Vec<u8>),
}

// === impl Ending ===

impl Ending {
    /// The bytes read either way.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Closed(b) | Self::Open(b) => b,
        }
    }
}

/// Reads from `stream` until the gateway closes it or `wait` passes.
pub async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Ending {
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    let read_all = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
    };
    match tokio::time::timeout(wait, read_all).await {
        Ok(()) => Ending::Closed(out),
        Err(_) => Ending::Open(out),
    }
}

/// Writes `request` on a fresh connection and reads until the gateway closes it or `wait`
/// passes.
pub async fn exchange(port: u16, request: &[u8], wait: Duration) -> Ending {
    let mut stream = connect(port).await;
    stream.write_all(request).await.expect("write request");
    read_until_closed(&mut stream, wait).await
}

/// The status codes of every response head in `bytes` (`HTTP/1.x NNN` at a line start).
pub fn statuses(bytes: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(pos) = rest.find("HTTP/1.") {
        let at_line_start = pos == 0 || rest[..pos].ends_with('\n');
        let tail = &rest[pos..];
        if at_line_start {
            if let Some(code) = tail.get(9..12).and_then(|c| c.parse().ok()) {
                out.push(code);
            }
        }
        rest = &tail[7..];
    }
    out
}

/// The first 300 bytes of `bytes`, for failure messages.
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    format!("{text:?}")
}

/// How many file descriptors process `pid` has open (Linux `/proc`).
pub fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(Iterator::count)
}
