//! The global options in ConfigMap `higress-config`, data key `higress`, parsed over
//! Higress's defaults (`NewDefaultHigressConfig`): omitted fields keep their defaults.

use serde::{Deserialize, Serialize};

/// Name of the global ConfigMap.
pub const HIGRESS_CONFIG_NAME: &str = "higress-config";
/// Data key holding the options.
pub const HIGRESS_CONFIG_KEY: &str = "higress";

/// Global gateway options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HigressConfig {
    /// Response compression.
    pub gzip: Gzip,
    /// Client-side connection options.
    pub downstream: Downstream,
    /// Upstream connection options.
    pub upstream: Upstream,
    /// Add `X-Real-IP` with the client address (default false).
    pub add_x_real_ip_header: bool,
    /// Suppress `x-envoy-*` headers (default false; Gantry adds none).
    pub disable_x_envoy_headers: bool,
    /// Tracing (kept; not acted on yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<yaml_serde::Value>,
    /// MCP server (kept; not acted on yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_server: Option<yaml_serde::Value>,
}

/// `gzip` (on by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Gzip {
    /// Compress responses (default true).
    pub enable: bool,
    /// Smallest body compressed, bytes (default 1024).
    pub min_content_length: u64,
    /// Content types compressed.
    pub content_type: Vec<String>,
    /// Skip responses with an `ETag` (default true).
    pub disable_on_etag_header: bool,
    /// zlib memory level 1–9 (default 5; kept).
    pub memory_level: u32,
    /// zlib window bits 9–15 (default 12; kept).
    pub window_bits: u32,
    /// Output chunk size (default 4096; kept).
    pub chunk_size: u32,
    /// `BEST_COMPRESSION`, `BEST_SPEED`, `COMPRESSION_LEVEL_1`..`_9`.
    pub compression_level: String,
    /// `DEFAULT_STRATEGY`, `FILTERED`, `HUFFMAN_ONLY`, `RLE`, `FIXED` (kept).
    pub compression_strategy: String,
}

/// `downstream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Downstream {
    /// Idle timeout of client connections, seconds (default 180; 0 = none).
    pub idle_timeout: u64,
    /// Largest request header block, KiB (default 60; ≤ 8192); larger gets 431.
    pub max_request_headers_kb: u32,
    /// Per-connection buffer, bytes (default 32768; kept).
    pub connection_buffer_limits: u64,
    /// HTTP/2 settings.
    pub http2: Http2,
    /// Timeout for every route, seconds (default 0 = per-route only).
    pub route_timeout: u64,
    /// Gantry extension (Envoy's `request_headers_timeout`; Higress has no such key): time to
    /// read a whole HTTP/1.x request header, seconds, from accept for a connection's first
    /// request and from the first byte for later ones; past it 408 (default 60; 0 = none).
    pub request_headers_timeout: u64,
}

/// `downstream.http2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Http2 {
    /// Default 100.
    pub max_concurrent_streams: u32,
    /// Default 65535.
    pub initial_stream_window_size: u32,
    /// Default 1048576.
    pub initial_connection_window_size: u32,
}

/// `upstream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Upstream {
    /// Idle timeout of pooled upstream connections, seconds (default 10).
    pub idle_timeout: u64,
    /// Per-connection buffer, bytes (default 10485760; kept).
    pub connection_buffer_limits: u64,
}

impl Default for Gzip {
    fn default() -> Self {
        Self {
            enable: true,
            min_content_length: 1024,
            content_type: [
                "text/html",
                "text/css",
                "text/plain",
                "text/xml",
                "application/json",
                "application/javascript",
                "application/xhtml+xml",
                "image/svg+xml",
            ]
            .map(String::from)
            .to_vec(),
            disable_on_etag_header: true,
            memory_level: 5,
            window_bits: 12,
            chunk_size: 4096,
            compression_level: "BEST_COMPRESSION".into(),
            compression_strategy: "DEFAULT_STRATEGY".into(),
        }
    }
}

impl Default for Downstream {
    fn default() -> Self {
        Self {
            idle_timeout: 180,
            max_request_headers_kb: 60,
            connection_buffer_limits: 32768,
            http2: Http2::default(),
            route_timeout: 0,
            request_headers_timeout: 60,
        }
    }
}

impl Default for Http2 {
    fn default() -> Self {
        Self {
            max_concurrent_streams: 100,
            initial_stream_window_size: 65535,
            initial_connection_window_size: 1_048_576,
        }
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Self {
            idle_timeout: 10,
            connection_buffer_limits: 10_485_760,
        }
    }
}

// === impl HigressConfig ===

impl HigressConfig {
    /// Parses the `higress` value over the defaults; returns `(field, message)` problems.
    pub fn parse(text: &str) -> Result<Self, Vec<(String, String)>> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        crate::limits::check_yaml(text, &crate::limits::Limits::default())
            .map_err(|e| vec![(String::new(), e.to_string())])?;
        let de = yaml_serde::Deserializer::from_str(text);
        let config: HigressConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            vec![(path, e.into_inner().to_string())]
        })?;
        let problems = config.check();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// zlib level from `gzip.compressionLevel`.
    pub fn gzip_level(&self) -> u32 {
        match self.gzip.compression_level.as_str() {
            "BEST_SPEED" => 1,
            s => s
                .strip_prefix("COMPRESSION_LEVEL_")
                .and_then(|n| n.parse().ok())
                .unwrap_or(9),
        }
    }

    /// Range checks Higress's item controllers make.
    fn check(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        let g = &self.gzip;
        if g.enable {
            if g.min_content_length == 0 {
                p.push((
                    "gzip.minContentLength".into(),
                    "must be greater than 0".into(),
                ));
            }
            if !(1..=9).contains(&g.memory_level) {
                p.push(("gzip.memoryLevel".into(), "must be from 1 to 9".into()));
            }
            if !(9..=15).contains(&g.window_bits) {
                p.push(("gzip.windowBits".into(), "must be from 9 to 15".into()));
            }
            if g.chunk_size == 0 {
                p.push(("gzip.chunkSize".into(), "must be greater than 0".into()));
            }
            let level_ok = matches!(
                g.compression_level.as_str(),
                "BEST_COMPRESSION" | "BEST_SPEED"
            ) || g
                .compression_level
                .strip_prefix("COMPRESSION_LEVEL_")
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| (1..=9).contains(&n));
            if !level_ok {
                p.push((
                    "gzip.compressionLevel".into(),
                    format!(
                        "{:?} is not BEST_COMPRESSION, BEST_SPEED or COMPRESSION_LEVEL_1..9",
                        g.compression_level
                    ),
                ));
            }
            if !matches!(
                g.compression_strategy.as_str(),
                "DEFAULT_STRATEGY" | "FILTERED" | "HUFFMAN_ONLY" | "RLE" | "FIXED"
            ) {
                p.push((
                    "gzip.compressionStrategy".into(),
                    format!("{:?} is not a zlib strategy", g.compression_strategy),
                ));
            }
        }
        if self.downstream.max_request_headers_kb == 0
            || self.downstream.max_request_headers_kb > 8192
        {
            p.push((
                "downstream.maxRequestHeadersKb".into(),
                "must be from 1 to 8192".into(),
            ));
        }
        let h2 = &self.downstream.http2;
        if h2.max_concurrent_streams == 0 || h2.max_concurrent_streams > i32::MAX as u32 {
            p.push((
                "downstream.http2.maxConcurrentStreams".into(),
                "must be from 1 to 2147483647".into(),
            ));
        }
        if h2.initial_stream_window_size < 65535 {
            p.push((
                "downstream.http2.initialStreamWindowSize".into(),
                "must be at least 65535".into(),
            ));
        }
        if h2.initial_connection_window_size < 65535 {
            p.push((
                "downstream.http2.initialConnectionWindowSize".into(),
                "must be at least 65535".into(),
            ));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_over_defaults() {
        let c = HigressConfig::parse(
            "downstream:\n  idleTimeout: 30\n  requestHeadersTimeout: 5\ngzip:\n  enable: false\n",
        )
        .unwrap();
        assert_eq!(c.downstream.idle_timeout, 30);
        assert_eq!(c.downstream.request_headers_timeout, 5);
        assert_eq!(
            HigressConfig::default().downstream.request_headers_timeout,
            60
        );
        assert_eq!(c.downstream.max_request_headers_kb, 60);
        assert!(!c.gzip.enable);
        assert_eq!(c.gzip.min_content_length, 1024);
        assert_eq!(HigressConfig::parse("").unwrap(), HigressConfig::default());
    }

    #[test]
    fn reports_bad_values() {
        let e = HigressConfig::parse("gzip:\n  memoryLevel: 12\n  compressionLevel: MAX\ndownstream:\n  maxRequestHeadersKb: 9000\n").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "gzip.memoryLevel",
                "gzip.compressionLevel",
                "downstream.maxRequestHeadersKb"
            ]
        );
        let e = HigressConfig::parse("downstream:\n  idleTimeout: soon\n").unwrap_err();
        assert_eq!(e[0].0, "downstream.idleTimeout");
    }
}
