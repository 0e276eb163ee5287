//! Global options from `higress-config`, compiled into each route table: response gzip,
//! client idle timeout (also the upstream stream idle timeout, as Higress pushes it), request
//! header size limit (431) and read deadline (408), global route timeout, upstream idle
//! timeout, `X-Real-IP`.

use std::time::Duration;

use config_store::resource::HigressConfig;
use pingora::http::ResponseHeader;

/// When and how responses are gzip-compressed.
#[derive(Debug, Clone)]
pub struct GzipPolicy {
    /// zlib level 1–9.
    pub level: u32,
    /// Smallest `Content-Length` compressed (responses without one are compressed).
    pub min_length: u64,
    /// Media types compressed (parameters ignored).
    pub content_types: Vec<String>,
    /// Skip responses carrying an `ETag`.
    pub skip_etag: bool,
}

/// The compiled global options.
#[derive(Debug, Clone)]
pub struct GlobalOptions {
    /// Response compression, when enabled.
    pub gzip: Option<GzipPolicy>,
    /// Keep-alive idle time for client connections (seconds); also bounds the wait for a new
    /// connection's first byte.
    pub idle_timeout: Option<u64>,
    /// Time to read a whole HTTP/1.x request header (`downstream.requestHeadersTimeout`).
    pub request_headers_timeout: Option<Duration>,
    /// Longest silence of an upstream while a request waits on it, when no route timeout is
    /// set: `downstream.idleTimeout`, which Higress also pushes as Envoy's
    /// `stream_idle_timeout`.
    pub stream_idle_timeout: Option<Duration>,
    /// Largest request header block in bytes.
    pub max_request_header_bytes: usize,
    /// Timeout applied to every route, overriding per-route ones.
    pub route_timeout: Option<Duration>,
    /// Idle time of pooled upstream connections.
    pub upstream_idle_timeout: Option<Duration>,
    /// Add `X-Real-IP`.
    pub add_x_real_ip: bool,
    /// HTTP/2 settings for client connections (read when listeners start).
    pub http2: Http2Settings,
}

/// `downstream.http2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Settings {
    /// Streams a client may open at once.
    pub max_concurrent_streams: u32,
    /// Per-stream flow-control window.
    pub initial_stream_window_size: u32,
    /// Per-connection flow-control window.
    pub initial_connection_window_size: u32,
}

impl Default for GlobalOptions {
    fn default() -> Self {
        Self::from_config(&HigressConfig::default())
    }
}

// === impl GlobalOptions ===

impl GlobalOptions {
    /// Compiles the parsed ConfigMap.
    pub fn from_config(c: &HigressConfig) -> Self {
        Self {
            gzip: c.gzip.enable.then(|| GzipPolicy {
                level: c.gzip_level(),
                min_length: c.gzip.min_content_length,
                content_types: c
                    .gzip
                    .content_type
                    .iter()
                    .map(|t| t.to_ascii_lowercase())
                    .collect(),
                skip_etag: c.gzip.disable_on_etag_header,
            }),
            idle_timeout: (c.downstream.idle_timeout > 0).then_some(c.downstream.idle_timeout),
            request_headers_timeout: (c.downstream.request_headers_timeout > 0)
                .then(|| Duration::from_secs(c.downstream.request_headers_timeout)),
            stream_idle_timeout: (c.downstream.idle_timeout > 0)
                .then(|| Duration::from_secs(c.downstream.idle_timeout)),
            max_request_header_bytes: c.downstream.max_request_headers_kb as usize * 1024,
            route_timeout: (c.downstream.route_timeout > 0)
                .then(|| Duration::from_secs(c.downstream.route_timeout)),
            upstream_idle_timeout: (c.upstream.idle_timeout > 0)
                .then(|| Duration::from_secs(c.upstream.idle_timeout)),
            add_x_real_ip: c.add_x_real_ip_header,
            http2: Http2Settings {
                max_concurrent_streams: c.downstream.http2.max_concurrent_streams,
                initial_stream_window_size: c.downstream.http2.initial_stream_window_size,
                initial_connection_window_size: c.downstream.http2.initial_connection_window_size,
            },
        }
    }

    /// Options set to non-default values that Gantry does not act on yet (named once).
    pub fn ignored_settings(c: &HigressConfig) -> Vec<&'static str> {
        let d = HigressConfig::default();
        let mut out = Vec::new();
        if c.mcp_server.is_some() {
            out.push("mcpServer");
        }
        if c.gzip.memory_level != d.gzip.memory_level
            || c.gzip.window_bits != d.gzip.window_bits
            || c.gzip.chunk_size != d.gzip.chunk_size
            || c.gzip.compression_strategy != d.gzip.compression_strategy
        {
            out.push("gzip.memoryLevel/windowBits/chunkSize/compressionStrategy");
        }
        if c.downstream.connection_buffer_limits != d.downstream.connection_buffer_limits {
            out.push("downstream.connectionBufferLimits");
        }
        if c.upstream.connection_buffer_limits != d.upstream.connection_buffer_limits {
            out.push("upstream.connectionBufferLimits");
        }
        out
    }
}

// === impl GzipPolicy ===

impl GzipPolicy {
    /// True when this response should be compressed.
    pub fn applies_to(&self, resp: &ResponseHeader) -> bool {
        let h = &resp.headers;
        if h.contains_key(http::header::CONTENT_ENCODING)
            || (self.skip_etag && h.contains_key(http::header::ETAG))
        {
            return false;
        }
        let len = h
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if len.is_some_and(|l| l < self.min_length) {
            return false;
        }
        let Some(ct) = h
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.content_types.contains(&media)
    }
}
