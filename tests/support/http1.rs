//! A minimal HTTP/1.1 client over one connection of any kind (plain TCP or TLS): several
//! requests on the same kept-alive connection, and chunked bodies read piece by piece.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::backend::find;

/// How long one read or write may take. Default: 10 s.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How errors writing a request start.
const CLOSED_WRITING: &str = "write request";

/// One HTTP/1.1 connection.
pub struct Http1<S> {
    io: S,
    buf: Vec<u8>,
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct RawReply {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

// === impl Http1 ===

impl<S: AsyncRead + AsyncWrite + Unpin> Http1<S> {
    /// Wraps an open connection.
    pub fn new(io: S) -> Self {
        Self {
            io,
            buf: Vec::new(),
        }
    }

    /// The underlying connection.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Writes `bytes` as they are (a request the caller splits) and flushes.
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        let io = &mut self.io;
        let write = async move {
            io.write_all(bytes).await?;
            io.flush().await
        };
        tokio::time::timeout(IO_TIMEOUT, write)
            .await
            .map_err(|_| format!("{CLOSED_WRITING}: timed out"))?
            .map_err(|e| format!("{CLOSED_WRITING}: {e}"))
    }

    /// `GET <path>` with `Host: <host>`, keeping the connection open; reads the reply.
    pub async fn get(&mut self, host: &str, path: &str) -> Result<RawReply, String> {
        self.send_head("GET", host, path, &[]).await?;
        self.read_reply().await
    }

    /// Sends a body-less request head.
    pub async fn send_head(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), String> {
        self.send(method, host, path, headers, None).await
    }

    /// Sends a request in one write: the head, and `body` (if any) framed by
    /// `content-length`.
    pub async fn send(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body.unwrap_or_default());
        timed(self.io.write_all(&request))
            .await?
            .map_err(|e| format!("{CLOSED_WRITING}: {e}"))?;
        timed(self.io.flush())
            .await?
            .map_err(|e| format!("{CLOSED_WRITING} (flush): {e}"))
    }

    /// Waits until the peer closes the connection (or resets it), up to `deadline`; `Err`
    /// when bytes arrive instead or the deadline passes.
    pub async fn wait_closed(&mut self, deadline: Duration) -> Result<(), String> {
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(deadline, self.io.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => Ok(()),
            Ok(Ok(n)) => Err(format!(
                "got {n} bytes instead of a close: {:?}",
                String::from_utf8_lossy(&chunk[..n])
            )),
            Err(_) => Err(format!("still open after {deadline:?}")),
        }
    }

    /// Whether nothing of a response has arrived yet (no byte buffered).
    pub fn nothing_buffered(&self) -> bool {
        self.buf.is_empty()
    }

    /// Reads a whole reply: head, then a body framed by `content-length`, chunked
    /// encoding or the end of the connection.
    pub async fn read_reply(&mut self) -> Result<RawReply, String> {
        let (status, headers) = self.read_head().await?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if status == 204 || status == 304 {
        } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            while let Some(chunk) = self.read_chunk().await? {
                body.extend(chunk);
            }
        } else if let Some(len) = header("content-length") {
            let len: usize = len.parse().map_err(|_| format!("content-length {len:?}"))?;
            while self.buf.len() < len {
                if self.fill().await? == 0 {
                    return Err(format!(
                        "connection closed after {} of {len} body bytes",
                        self.buf.len()
                    ));
                }
            }
            body = self.buf.drain(..len).collect();
        } else {
            while self.fill().await? > 0 {}
            body = std::mem::take(&mut self.buf);
        }
        Ok(RawReply {
            status,
            headers,
            body,
        })
    }

    /// Reads a response head (skipping `1xx` heads): status and lower-cased headers.
    pub async fn read_head(&mut self) -> Result<(u16, Vec<(String, String)>), String> {
        loop {
            let end = loop {
                if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                    break pos;
                }
                if self.fill().await? == 0 {
                    return Err(format!(
                        "connection closed before a response head (got {:?})",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end + 4);
            let mut lines = head.split("\r\n");
            let status_line = lines.next().unwrap_or_default();
            let status: u16 = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("bad status line {status_line:?}"))?;
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            return Ok((status, headers));
        }
    }

    /// Reads the next chunk of a chunked body; `None` after the last (empty) chunk and
    /// its trailers.
    pub async fn read_chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        let line = self.read_line().await?;
        let size_hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size line {line:?}"))?;
        if size == 0 {
            while !self.read_line().await?.is_empty() {}
            return Ok(None);
        }
        while self.buf.len() < size + 2 {
            if self.fill().await? == 0 {
                return Err("connection closed inside a chunk".into());
            }
        }
        let data = self.buf.drain(..size).collect();
        self.buf.drain(..2);
        Ok(Some(data))
    }

    /// Reads chunks until the body read so far (`seen`, which this extends) contains
    /// `needle`; `Err` if the body ends first.
    pub async fn read_chunks_until(
        &mut self,
        seen: &mut String,
        needle: &str,
    ) -> Result<(), String> {
        while !seen.contains(needle) {
            match self.read_chunk().await? {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                None => return Err(format!("body ended without {needle:?}; got {seen:?}")),
            }
        }
        Ok(())
    }

    async fn read_line(&mut self) -> Result<String, String> {
        loop {
            if let Some(pos) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..pos + 2);
                return Ok(line);
            }
            if self.fill().await? == 0 {
                return Err("connection closed inside the chunked framing".into());
            }
        }
    }

    async fn fill(&mut self) -> Result<usize, String> {
        let mut chunk = [0u8; 8192];
        let n = timed(self.io.read(&mut chunk))
            .await?
            .map_err(|e| format!("read: {e}"))?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

async fn timed<T>(fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(IO_TIMEOUT, fut)
        .await
        .map_err(|_| format!("no progress within {IO_TIMEOUT:?}"))
}

// === impl RawReply ===

impl RawReply {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `x-echo-name` header: which backend answered, if any.
    pub fn echo_name(&self) -> Option<&str> {
        self.header("x-echo-name")
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.text()))
    }

    /// `Ok(self)` when the status is 200 and backend `name` answered.
    pub fn expect_backend(self, name: &str) -> Result<Self, String> {
        if self.status == 200 && self.echo_name() == Some(name) {
            Ok(self)
        } else {
            Err(format!(
                "expected 200 from backend {name:?}, got {}",
                self.summary()
            ))
        }
    }

    /// One line describing the reply.
    pub fn summary(&self) -> String {
        let excerpt: String = self.text().chars().take(200).collect();
        format!(
            "{} from backend {:?}, body {excerpt:?}",
            self.status,
            self.echo_name().unwrap_or("-")
        )
    }
}
