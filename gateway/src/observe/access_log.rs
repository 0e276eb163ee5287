//! The access log: one JSON line per request with the fields of Higress's default
//! `accessLogFormat` (values are strings, `-` when unknown, as Envoy writes them), written
//! by its own thread. The request path only moves an [`AccessLogEntry`] into a bounded
//! channel; when the writer falls behind (a slow disk, a stalled pipe) the entry is dropped
//! and counted, never waited for.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// Lines buffered between the request path and the writer (default of `--access-log-buffer`).
pub const DEFAULT_CAPACITY: usize = 8192;

/// Bytes collected before one write.
const BATCH_BYTES: usize = 64 * 1024;

/// How long the writer lets lines gather after a write (a line reaches the log at most
/// this much later; at 100k requests/s the channel holds 1,000 of its 8,192 slots).
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (also `/dev/stdout`).
    Stdout,
    /// A file, appended to (created if missing).
    File(PathBuf),
}

/// What one request left behind, moved to the writer as is (header values are shared
/// buffers, not copies); formatted on the writer thread.
#[derive(Debug)]
pub struct AccessLogEntry {
    /// When the request head was read.
    pub start_time: SystemTime,
    /// `Host` (or the URI's authority).
    pub authority: Option<HeaderValue>,
    /// Method.
    pub method: http::Method,
    /// Path and query as the client sent them.
    pub path: http::Uri,
    /// HTTP version.
    pub protocol: http::Version,
    /// Status sent (0: none).
    pub response_code: u16,
    /// Envoy's response flags (`NR`, `UH`, `UF`, `UT`, `UC`, `DC`, `RL`, or `-`).
    pub response_flags: &'static str,
    /// Why the gateway answered itself, when it did (`route_not_found`, …).
    pub response_code_details: &'static str,
    /// Milliseconds from the request head to the end of the response.
    pub duration_ms: u64,
    /// Milliseconds of the last upstream attempt.
    pub upstream_service_time_ms: Option<u64>,
    /// The endpoint of the last attempt.
    pub upstream_host: Option<SocketAddr>,
    /// The destination as configured.
    pub upstream_cluster: Option<String>,
    /// The route (Ingress name).
    pub route_name: Option<String>,
    /// `X-Forwarded-For` as received.
    pub x_forwarded_for: Option<HeaderValue>,
    /// `X-Request-Id` (received, or the one Gantry added upstream).
    pub request_id: Option<HeaderValue>,
    /// `X-B3-TraceId`.
    pub trace_id: Option<HeaderValue>,
    /// `User-Agent`.
    pub user_agent: Option<HeaderValue>,
    /// TLS SNI.
    pub requested_server_name: Option<String>,
    /// Request body bytes.
    pub bytes_received: u64,
    /// Response body bytes.
    pub bytes_sent: u64,
    /// Client address.
    pub downstream_remote_address: Option<SocketAddr>,
    /// Listener address the client reached.
    pub downstream_local_address: Option<SocketAddr>,
}

/// The sending end of a running access-log writer.
#[derive(Debug)]
pub struct AccessLog {
    /// Boxed: the channel's slots are allocated up front, 16 bytes each this way.
    tx: SyncSender<Box<AccessLogEntry>>,
    destination: Destination,
}

/// Why the access log could not start.
#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    /// The file (or its directory) could not be opened for appending.
    #[error("cannot open access log {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the access-log writer: {0}")]
    Thread(std::io::Error),
}

// === impl Destination ===

impl Destination {
    /// `-`, empty, `stdout` and `/dev/stdout` mean standard output; anything else a file.
    pub fn parse(value: &str) -> Self {
        match value.trim() {
            "" | "-" | "stdout" | "/dev/stdout" => Destination::Stdout,
            path => Destination::File(PathBuf::from(path)),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Stdout => f.write_str("stdout"),
            Destination::File(p) => write!(f, "{}", p.display()),
        }
    }
}

// === impl AccessLog ===

impl AccessLog {
    /// Opens `destination` (a file is created, with its directory, and appended to), then
    /// starts the writer thread with room for `capacity` lines in flight.
    pub fn start(destination: Destination, capacity: usize) -> Result<Self, AccessLogError> {
        let out: Box<dyn Write + Send> = match &destination {
            Destination::Stdout => Box::new(std::io::stdout()),
            Destination::File(path) => {
                Box::new(open_file(path).map_err(|source| AccessLogError::Open {
                    path: path.clone(),
                    source,
                })?)
            }
        };
        let (tx, rx) = mpsc::sync_channel::<Box<AccessLogEntry>>(capacity.max(1));
        let dest = destination.clone();
        std::thread::Builder::new()
            .name("gantry-access-log".into())
            .spawn(move || write_loop(&dest, out, &rx))
            .map_err(AccessLogError::Thread)?;
        Ok(Self { tx, destination })
    }

    /// Where lines go.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// Hands an entry to the writer without waiting; false when the buffer is full (the
    /// entry is dropped).
    pub fn send(&self, entry: AccessLogEntry) -> bool {
        match self.tx.try_send(Box::new(entry)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

fn open_file(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

fn write_loop(
    dest: &Destination,
    mut out: Box<dyn Write + Send>,
    rx: &mpsc::Receiver<Box<AccessLogEntry>>,
) {
    let mut buf = Vec::with_capacity(BATCH_BYTES);
    let mut failed = false;
    while let Ok(first) = rx.recv() {
        first.write_json(&mut buf);
        let mut drained = false;
        while buf.len() < BATCH_BYTES {
            match rx.try_recv() {
                Ok(next) => next.write_json(&mut buf),
                Err(_) => {
                    drained = true;
                    break;
                }
            }
        }
        // Whole lines in one write, so they never interleave with other output.
        match out.write_all(&buf).and_then(|()| out.flush()) {
            Ok(()) => failed = false,
            Err(e) if !failed => {
                failed = true;
                tracing::error!("access log {dest}: write failed: {e}");
            }
            Err(_) => {}
        }
        buf.clear();
        if drained {
            // Let lines gather: a busy gateway then wakes this thread once per GATHER,
            // not once per request (each wake-up is a futex call on the request path).
            std::thread::sleep(GATHER);
        }
    }
}

/// One JSON line being written: keys in Higress's order, every value a string.
struct Line<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

// === impl Line ===

impl<'a> Line<'a> {
    fn start(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A value that may need JSON escaping (header values, paths, names).
    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        if serde_json::to_writer(&mut *self.out, value).is_err() {
            self.out.extend_from_slice(b"\"-\"");
        }
    }

    /// A value whose text needs no escaping (numbers, addresses, dates).
    fn plain(&mut self, key: &str, value: impl std::fmt::Display) {
        use std::io::Write as _;
        self.key(key);
        let _ = write!(self.out, "\"{value}\"");
    }

    /// `plain`, or `-` when unknown.
    fn opt(&mut self, key: &str, value: Option<impl std::fmt::Display>) {
        match value {
            Some(v) => self.plain(key, v),
            None => self.plain(key, '-'),
        }
    }

    fn end(self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// A header's text as logged (`-` when absent; invalid UTF-8 replaced).
fn header(v: &Option<HeaderValue>) -> std::borrow::Cow<'_, str> {
    v.as_ref().map_or(std::borrow::Cow::Borrowed("-"), |v| {
        String::from_utf8_lossy(v.as_bytes())
    })
}

// === impl AccessLogEntry ===

impl AccessLogEntry {
    /// Appends the entry's JSON line (with `\n`) to `out`, allocating nothing beyond it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut line = Line::start(out);
        line.text("authority", &header(&self.authority));
        line.plain("bytes_received", self.bytes_received);
        line.plain("bytes_sent", self.bytes_sent);
        line.opt("downstream_local_address", self.downstream_local_address);
        line.opt("downstream_remote_address", self.downstream_remote_address);
        line.plain("duration", self.duration_ms);
        line.text("method", self.method.as_str());
        match self.path.path_and_query() {
            Some(p) => line.text("path", p.as_str()),
            None => line.text("path", &self.path.to_string()),
        }
        line.plain("protocol", protocol(self.protocol));
        line.text("request_id", &header(&self.request_id));
        line.text(
            "requested_server_name",
            self.requested_server_name.as_deref().unwrap_or("-"),
        );
        line.plain("response_code", self.response_code);
        line.text("response_code_details", self.response_code_details);
        line.text("response_flags", self.response_flags);
        line.text("route_name", self.route_name.as_deref().unwrap_or("-"));
        line.plain("start_time", Rfc3339Millis(self.start_time));
        line.text("trace_id", &header(&self.trace_id));
        line.text(
            "upstream_cluster",
            self.upstream_cluster.as_deref().unwrap_or("-"),
        );
        line.opt("upstream_host", self.upstream_host);
        line.opt("upstream_service_time", self.upstream_service_time_ms);
        line.text("user_agent", &header(&self.user_agent));
        line.text("x_forwarded_for", &header(&self.x_forwarded_for));
        line.end();
    }
}

fn protocol(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "-",
    }
}

/// `2026-12-02T16:12:50.123Z` (Envoy's `%START_TIME%`), written without allocating.
pub struct Rfc3339Millis(pub SystemTime);

impl std::fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, day) = civil_from_days(days as i64);
        write!(
            f,
            "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60,
            d.subsec_millis()
        )
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry() -> AccessLogEntry {
        AccessLogEntry {
            start_time: UNIX_EPOCH + Duration::from_millis(1_780_000_000_123),
            authority: Some(HeaderValue::from_static("foo.bar.com")),
            method: http::Method::GET,
            path: http::Uri::from_static("/get?foo=bar"),
            protocol: http::Version::HTTP_11,
            response_code: 200,
            response_flags: "-",
            response_code_details: "via_upstream",
            duration_ms: 3,
            upstream_service_time_ms: Some(2),
            upstream_host: Some(SocketAddr::from(([127, 0, 0, 1], 8081))),
            upstream_cluster: Some("echo.static".into()),
            route_name: Some("route-foo-bar".into()),
            x_forwarded_for: None,
            request_id: Some(HeaderValue::from_static("abc")),
            trace_id: None,
            user_agent: Some(HeaderValue::from_static("curl/8")),
            requested_server_name: None,
            bytes_received: 0,
            bytes_sent: 42,
            downstream_remote_address: Some(SocketAddr::from(([127, 0, 0, 1], 50000))),
            downstream_local_address: None,
        }
    }

    #[test]
    fn line_has_higress_fields_as_strings() {
        let mut out = Vec::new();
        entry().write_json(&mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["authority"], "foo.bar.com");
        assert_eq!(v["path"], "/get?foo=bar");
        assert_eq!(v["response_code"], "200");
        assert_eq!(v["bytes_sent"], "42");
        assert_eq!(v["upstream_host"], "127.0.0.1:8081");
        assert_eq!(v["x_forwarded_for"], "-");
        assert_eq!(v["protocol"], "HTTP/1.1");
        assert_eq!(v["start_time"], "2026-05-28T20:26:40.123Z");
    }

    #[test]
    fn keys_in_higress_order_and_values_escaped() {
        let mut e = entry();
        e.user_agent = Some(HeaderValue::from_static("a \"quoted\" \\ agent"));
        e.x_forwarded_for = Some(HeaderValue::from_bytes(b"10.0.0.1\xff").expect("value"));
        e.upstream_service_time_ms = None;
        let mut out = Vec::new();
        e.write_json(&mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["user_agent"], "a \"quoted\" \\ agent");
        assert_eq!(v["x_forwarded_for"], "10.0.0.1\u{fffd}");
        assert_eq!(v["upstream_service_time"], "-");
        assert_eq!(v["downstream_local_address"], "-");
        let keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys.len(), 22);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("{\"authority\":\"foo.bar.com\",\"bytes_received\":\"0\","));
        // Higress's default format lists its keys alphabetically; so does the line.
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).expect("key"))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(text.matches('\n').count(), 1);
    }

    #[test]
    fn dates() {
        assert_eq!(
            Rfc3339Millis(UNIX_EPOCH).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(Rfc3339Millis(leap).to_string(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn destinations() {
        assert_eq!(Destination::parse("/dev/stdout"), Destination::Stdout);
        assert_eq!(Destination::parse(""), Destination::Stdout);
        assert_eq!(
            Destination::parse("/var/log/proxy/access.log"),
            Destination::File(PathBuf::from("/var/log/proxy/access.log"))
        );
    }
}
