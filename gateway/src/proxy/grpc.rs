//! gRPC requests, as Higress (Envoy under Istio's route settings) treats them: the
//! `grpc-timeout` request header bounds the wait for the upstream, and answers the gateway
//! makes itself are gRPC trailers-only responses (HTTP 200 with `grpc-status` and
//! `grpc-message`) rather than bare HTTP errors.

use std::time::{Duration, Instant};

use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::protocols::http::HttpTask;

/// `grpc-status` DEADLINE_EXCEEDED.
pub const DEADLINE_EXCEEDED: u32 = 4;

/// What the gateway knows of a gRPC call.
#[derive(Debug, Clone, Copy)]
pub struct GrpcCall {
    /// When the client's `grpc-timeout` runs out, if it sent one.
    pub deadline: Option<Instant>,
}

// === impl GrpcCall ===

impl GrpcCall {
    /// The call in `req`, if it is gRPC (see [`is_grpc_content_type`]). A malformed
    /// `grpc-timeout` is ignored, as Envoy ignores it.
    pub fn of(req: &RequestHeader) -> Option<Self> {
        let content_type = req.headers.get(http::header::CONTENT_TYPE)?.as_bytes();
        if !is_grpc_content_type(content_type) {
            return None;
        }
        let deadline = req
            .headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_timeout)
            .map(|t| Instant::now() + t);
        Some(Self { deadline })
    }

    /// Time left before the deadline (zero once passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// `application/grpc`, `application/grpc+<codec>` or with parameters, as Envoy tells gRPC;
/// gRPC-Web (`application/grpc-web…`) is not gRPC here.
pub fn is_grpc_content_type(value: &[u8]) -> bool {
    match value.strip_prefix(b"application/grpc") {
        Some(rest) => matches!(rest.first(), None | Some(b'+' | b';')),
        None => false,
    }
}

/// Parses a `grpc-timeout` value: 1–8 digits and a unit `H`, `M`, `S`, `m`, `u` or `n`.
pub fn parse_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The `grpc-status` Envoy gives a local reply with HTTP status `code`.
pub fn status_for_http(code: u16) -> u32 {
    match code {
        400 => 13,                   // INTERNAL
        401 => 16,                   // UNAUTHENTICATED
        403 => 7,                    // PERMISSION_DENIED
        404 => 12,                   // UNIMPLEMENTED
        429 | 502 | 503 | 504 => 14, // UNAVAILABLE
        _ => 2,                      // UNKNOWN
    }
}

/// Writes a trailers-only gRPC answer: HTTP 200, `grpc-status`, `grpc-message`.
pub async fn respond(session: &mut Session, status: u32, message: &str) -> Result<()> {
    let mut resp = ResponseHeader::build(200, Some(4))?;
    resp.insert_header("content-type", "application/grpc")?;
    resp.insert_header("grpc-status", status.to_string())?;
    resp.insert_header("grpc-message", percent_encode(message.trim_end()))?;
    resp.insert_header("content-length", "0")?;
    // One task with end-of-stream: over HTTP/2 a single HEADERS frame with END_STREAM, which
    // is what gRPC clients read as trailers-only (`write_response_header` leaves it open).
    session
        .write_response_tasks(vec![HttpTask::Header(Box::new(resp), true)])
        .await?;
    Ok(())
}

/// Percent-encodes a `grpc-message` as the gRPC spec asks: bytes outside printable ASCII,
/// and `%`.
fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for &b in message.as_bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_the_grpc_spec_writes_them() {
        assert_eq!(parse_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(
            parse_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_timeout("5n"), Some(Duration::from_nanos(5)));
        for bad in [
            "",
            "m",
            "100",
            "100x",
            "123456789S",
            "-1S",
            "1.5S",
            "1 S",
            "é",
        ] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn grpc_content_types_are_told_as_envoy_tells_them() {
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc;charset=x",
        ] {
            assert!(is_grpc_content_type(yes.as_bytes()), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpc-web-text",
            "application/json",
            "",
        ] {
            assert!(!is_grpc_content_type(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn messages_are_percent_encoded() {
        assert_eq!(percent_encode("no healthy upstream"), "no healthy upstream");
        assert_eq!(percent_encode("50% été"), "50%25 %C3%A9t%C3%A9");
    }

    #[test]
    fn http_statuses_map_as_envoy_maps_them() {
        assert_eq!(status_for_http(503), 14);
        assert_eq!(status_for_http(404), 12);
        assert_eq!(status_for_http(403), 7);
        assert_eq!(status_for_http(500), 2);
    }
}
