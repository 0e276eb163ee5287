//! A small OTLP/gRPC trace receiver: answers `TraceService/Export` over h2c with
//! `grpc-status: 0` and keeps every span it decodes (protobuf, the fields Gantry sends), so
//! tests can check what the gateway exported.

use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};
use http::Response;
use prost::Message;

use crate::backend::Background;

/// `ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportRequest {
    /// Spans by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ResourceSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceSpans {
    /// Resource.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Spans by scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
}

/// `Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// `ScopeSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeSpans {
    /// Spans.
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
}

/// `Span`.
#[derive(Clone, PartialEq, Message)]
pub struct Span {
    /// Trace id.
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    /// Span id.
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    /// Parent span id.
    #[prost(bytes = "vec", tag = "4")]
    pub parent_span_id: Vec<u8>,
    /// Name.
    #[prost(string, tag = "5")]
    pub name: String,
    /// Kind.
    #[prost(int32, tag = "6")]
    pub kind: i32,
    /// Start.
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    /// End.
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    /// Attributes.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue` (string or int).
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// String value.
    #[prost(string, optional, tag = "1")]
    pub string_value: Option<String>,
    /// Int value.
    #[prost(int64, optional, tag = "3")]
    pub int_value: Option<i64>,
}

/// What one export call carried.
#[derive(Debug, Clone)]
pub struct Received {
    /// `:path`.
    pub path: String,
    /// `content-type`.
    pub content_type: String,
    /// The decoded request.
    pub request: ExportRequest,
}

/// A running receiver; dropping it stops it.
pub struct OtlpReceiver {
    server: Background,
    calls: Arc<Mutex<Vec<Received>>>,
}

// === impl Span ===

impl Span {
    /// The attribute `key` as text (strings as is, ints in decimal).
    pub fn attribute(&self, key: &str) -> Option<String> {
        let v = self
            .attributes
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_ref()?;
        v.string_value
            .clone()
            .or_else(|| v.int_value.map(|i| i.to_string()))
    }
}

// === impl OtlpReceiver ===

impl OtlpReceiver {
    /// Listens on a free loopback port.
    pub fn start() -> Self {
        let calls: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = calls.clone();
        let server = Background::spawn("otlp", move |tcp| {
            let seen = seen.clone();
            async move {
                let Ok(mut conn) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((req, mut respond))) = conn.accept().await {
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        let (head, mut body) = req.into_parts();
                        let mut buf = BytesMut::new();
                        while let Some(Ok(chunk)) = body.data().await {
                            let _ = body.flow_control().release_capacity(chunk.len());
                            buf.extend_from_slice(&chunk);
                        }
                        let mut frame = buf.freeze();
                        if frame.len() >= 5 {
                            frame.advance(5);
                        }
                        if let Ok(request) = ExportRequest::decode(frame) {
                            seen.lock().unwrap().push(Received {
                                path: head.uri.path().to_owned(),
                                content_type: head
                                    .headers
                                    .get("content-type")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned(),
                                request,
                            });
                        }
                        let resp = Response::builder()
                            .status(200)
                            .header("content-type", "application/grpc")
                            .body(())
                            .expect("head");
                        if let Ok(mut stream) = respond.send_response(resp, false) {
                            let mut trailers = http::HeaderMap::new();
                            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                            let _ = stream.send_trailers(trailers);
                        }
                    });
                }
            }
        });
        Self { server, calls }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// Every export call so far.
    pub fn calls(&self) -> Vec<Received> {
        self.calls.lock().unwrap().clone()
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.calls()
            .into_iter()
            .flat_map(|c| c.request.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }
}
