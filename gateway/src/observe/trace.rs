//! Request tracing from `higress-config`'s `tracing` (`enable`, `sampling` 0–100 % default
//! 100, `timeout` ms default 500, `opentelemetry: {service, port}`): each request forwarded
//! upstream continues the client's trace (W3C `traceparent`, else B3 `x-b3-*`) or starts one,
//! takes the client's sampling decision or samples at `sampling` %, sends `traceparent` and
//! B3 headers upstream, and a sampled one becomes a SERVER span exported over OTLP gRPC
//! ([`super::otlp`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pingora::http::RequestHeader;

use super::otlp::{Exporter, KeyValue, Span, Status};

/// What `higress-config` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// Percentage of new traces sampled (0–100).
    pub sampling: f64,
    /// Time limit of one export call.
    pub timeout: Duration,
    /// OTLP gRPC collector `host:port`.
    pub endpoint: String,
}

/// Tracing in force: its config and exporter.
#[derive(Debug)]
pub struct Tracer {
    config: TracingConfig,
    exporter: Exporter,
}

/// The trace one request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceCtx {
    /// Trace id.
    pub trace_id: [u8; 16],
    /// This hop's span id.
    pub span_id: [u8; 8],
    /// The client's span id, when it sent one.
    pub parent: Option<[u8; 8]>,
    /// Whether the span is recorded and exported.
    pub sampled: bool,
}

// === impl TracingConfig ===

impl TracingConfig {
    /// Reads the `tracing` value: `Ok(None)` when tracing is off, `Err` naming the field
    /// when it asks for something Gantry cannot do.
    pub fn from_yaml(value: Option<&yaml_serde::Value>) -> Result<Option<Self>, String> {
        let Some(v) = value else { return Ok(None) };
        if !v
            .get("enable")
            .and_then(yaml_serde::Value::as_bool)
            .unwrap_or(false)
        {
            return Ok(None);
        }
        let sampling = match v.get("sampling") {
            None => 100.0,
            Some(s) => s
                .as_f64()
                .filter(|s| (0.0..=100.0).contains(s))
                .ok_or("tracing.sampling: expecting a number from 0 to 100")?,
        };
        let timeout = match v.get("timeout") {
            None => 500,
            Some(t) => t
                .as_u64()
                .filter(|t| *t > 0)
                .ok_or("tracing.timeout: expecting milliseconds greater than 0")?,
        };
        for unsupported in ["zipkin", "skywalking"] {
            if v.get(unsupported).is_some() {
                return Err(format!(
                    "tracing.{unsupported}: not supported yet (only opentelemetry)"
                ));
            }
        }
        let otel = v
            .get("opentelemetry")
            .ok_or("tracing.opentelemetry: missing (the only supported provider)")?;
        let service = otel
            .get("service")
            .and_then(yaml_serde::Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("tracing.opentelemetry.service: missing")?;
        let port = otel
            .get("port")
            .and_then(|p| {
                p.as_u64()
                    .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
            })
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or("tracing.opentelemetry.port: expecting a port")?;
        Ok(Some(Self {
            sampling,
            timeout: Duration::from_millis(timeout),
            endpoint: format!("{service}:{port}"),
        }))
    }
}

// === impl Tracer ===

impl Tracer {
    /// Starts the exporter for `config`.
    pub fn start(config: TracingConfig) -> std::io::Result<Self> {
        let exporter = Exporter::start(config.endpoint.clone(), config.timeout)?;
        Ok(Self { config, exporter })
    }

    /// Its config.
    pub fn config(&self) -> &TracingConfig {
        &self.config
    }

    /// The trace of a request about to go upstream (from its headers, or new).
    pub fn context(&self, req: &RequestHeader) -> TraceCtx {
        let (trace_id, parent, decision) =
            extract(req).unwrap_or_else(|| (random_trace(), None, None));
        let sampled = decision.unwrap_or_else(|| fastrand::f64() * 100.0 < self.config.sampling);
        TraceCtx {
            trace_id,
            span_id: random_span(),
            parent,
            sampled,
        }
    }

    /// Exports a finished request's span; false when the exporter's buffer is full.
    pub fn export(&self, span: Span) -> bool {
        self.exporter.send(span)
    }
}

// === impl TraceCtx ===

impl TraceCtx {
    /// Sets `traceparent` and the B3 headers on the upstream request.
    pub fn inject(&self, req: &mut RequestHeader) {
        let trace = hex(&self.trace_id);
        let span = hex(&self.span_id);
        let flags = if self.sampled { "01" } else { "00" };
        let _ = req.insert_header("traceparent", format!("00-{trace}-{span}-{flags}"));
        let _ = req.insert_header("x-b3-traceid", trace);
        let _ = req.insert_header("x-b3-spanid", span);
        let _ = req.insert_header("x-b3-sampled", if self.sampled { "1" } else { "0" });
        match self.parent {
            Some(p) => {
                let _ = req.insert_header("x-b3-parentspanid", hex(&p));
            }
            None => {
                let _ = req.remove_header("x-b3-parentspanid");
            }
        }
    }

    /// The span of the finished request.
    pub fn span(
        &self,
        name: &str,
        start: SystemTime,
        duration: Duration,
        attributes: Vec<KeyValue>,
        status: u16,
    ) -> Span {
        let start_ns = start
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let end_ns = start_ns.saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(0));
        Span {
            trace_id: self.trace_id.to_vec(),
            span_id: self.span_id.to_vec(),
            parent_span_id: self.parent.map(|p| p.to_vec()).unwrap_or_default(),
            name: name.to_string(),
            kind: 2,
            start_time_unix_nano: start_ns,
            end_time_unix_nano: end_ns,
            attributes,
            status: (status >= 500 || status == 0).then(|| Status {
                message: String::new(),
                code: 2,
            }),
        }
    }
}

/// What a client sent about its trace: trace id, its span id, its sampling decision.
type Incoming = ([u8; 16], Option<[u8; 8]>, Option<bool>);

/// The client's trace from `traceparent`, else B3.
fn extract(req: &RequestHeader) -> Option<Incoming> {
    let header = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(tp) = header("traceparent") {
        let parts: Vec<&str> = tp.trim().split('-').collect();
        if let [version, trace, span, flags] = parts[..] {
            let trace = unhex::<16>(trace).filter(|t| t != &[0; 16]);
            let span = unhex::<8>(span).filter(|s| s != &[0; 8]);
            let flags = unhex::<1>(flags);
            if let (Some(t), Some(s), Some(f), true) = (trace, span, flags, version != "ff") {
                return Some((t, Some(s), Some(f[0] & 1 == 1)));
            }
        }
    }
    let trace = header("x-b3-traceid")?;
    let trace = if trace.len() == 16 {
        unhex::<8>(trace).map(|t| {
            let mut full = [0; 16];
            full[8..].copy_from_slice(&t);
            full
        })
    } else {
        unhex::<16>(trace)
    }?;
    let span = header("x-b3-spanid").and_then(unhex::<8>);
    let sampled = match header("x-b3-sampled") {
        Some("1" | "true") => Some(true),
        Some("0" | "false") => Some(false),
        _ => header("x-b3-flags").filter(|f| *f == "1").map(|_| true),
    };
    Some((trace, span, sampled))
}

fn random_trace() -> [u8; 16] {
    let mut id = fastrand::u128(1..).to_be_bytes();
    if id == [0; 16] {
        id[15] = 1;
    }
    id
}

fn random_span() -> [u8; 8] {
    fastrand::u64(1..).to_be_bytes()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> yaml_serde::Value {
        yaml_serde::from_str(s).expect("yaml")
    }

    #[test]
    fn config_follows_higress_defaults_and_refuses_what_is_missing() {
        assert_eq!(TracingConfig::from_yaml(None), Ok(None));
        assert_eq!(
            TracingConfig::from_yaml(Some(&yaml("enable: false"))),
            Ok(None)
        );
        let on = yaml("enable: true\nopentelemetry:\n  service: otel.local\n  port: 4317\n");
        assert_eq!(
            TracingConfig::from_yaml(Some(&on)),
            Ok(Some(TracingConfig {
                sampling: 100.0,
                timeout: Duration::from_millis(500),
                endpoint: "otel.local:4317".into()
            }))
        );
        let zipkin = yaml("enable: true\nzipkin:\n  service: z\n  port: 9411\n");
        assert!(TracingConfig::from_yaml(Some(&zipkin))
            .unwrap_err()
            .contains("tracing.zipkin"));
        let bad = yaml("enable: true\nsampling: 150\nopentelemetry: {service: a, port: 1}\n");
        assert!(TracingConfig::from_yaml(Some(&bad))
            .unwrap_err()
            .contains("tracing.sampling"));
    }

    #[test]
    fn traceparent_and_b3_are_read() {
        let mut req = RequestHeader::build("GET", b"/", None).expect("req");
        req.insert_header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .expect("header");
        let (trace, parent, sampled) = extract(&req).expect("traceparent");
        assert_eq!(hex(&trace), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parent.map(|p| hex(&p)).as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(sampled, Some(true));

        let mut req = RequestHeader::build("GET", b"/", None).expect("req");
        req.insert_header("x-b3-traceid", "a3ce929d0e0e4736")
            .expect("header");
        req.insert_header("x-b3-spanid", "00f067aa0ba902b7")
            .expect("header");
        req.insert_header("x-b3-sampled", "0").expect("header");
        let (trace, _, sampled) = extract(&req).expect("b3");
        assert_eq!(hex(&trace), "0000000000000000a3ce929d0e0e4736");
        assert_eq!(sampled, Some(false));
    }

    #[test]
    fn injected_headers_carry_the_trace() {
        let ctx = TraceCtx {
            trace_id: [0xab; 16],
            span_id: [0xcd; 8],
            parent: Some([0x01; 8]),
            sampled: true,
        };
        let mut req = RequestHeader::build("GET", b"/", None).expect("req");
        ctx.inject(&mut req);
        let get = |n: &str| {
            req.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            get("traceparent").as_deref(),
            Some("00-abababababababababababababababab-cdcdcdcdcdcdcdcd-01")
        );
        assert_eq!(
            get("x-b3-parentspanid").as_deref(),
            Some("0101010101010101")
        );
        assert_eq!(get("x-b3-sampled").as_deref(), Some("1"));
        assert_eq!(
            extract(&req),
            Some(([0xab; 16], Some([0xcd; 8]), Some(true)))
        );
    }
}
