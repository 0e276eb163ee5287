//! OTLP trace export: the protobuf messages of `opentelemetry/proto/trace/v1` that Gantry
//! fills, and an exporter thread that batches finished spans and sends them as unary gRPC
//! `TraceService/Export` calls (HTTP/2 cleartext) to `service:port`, each bounded by the
//! configured timeout. Spans the exporter cannot take are dropped, never waited for.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;

/// Spans buffered for the exporter.
const CAPACITY: usize = 4096;
/// Most spans in one export call.
const BATCH: usize = 512;
/// The gRPC method of the OTLP trace service.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// `ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTraceServiceRequest {
    /// Spans by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ResourceSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceSpans {
    /// The process (`service.name`).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Spans by instrumentation scope.
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
    /// The instrumentation scope.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// Spans.
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
}

/// `InstrumentationScope`.
#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Version.
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `Span` (the fields Gantry sets).
#[derive(Clone, PartialEq, Message)]
pub struct Span {
    /// 16 bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    /// 8 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    /// 8 bytes, or empty for a root span.
    #[prost(bytes = "vec", tag = "4")]
    pub parent_span_id: Vec<u8>,
    /// Name (the route).
    #[prost(string, tag = "5")]
    pub name: String,
    /// 2 = SERVER.
    #[prost(int32, tag = "6")]
    pub kind: i32,
    /// Start, Unix nanoseconds.
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    /// End, Unix nanoseconds.
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    /// Attributes (`http.request.method`, `http.response.status_code`, …).
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// Status (error for 5xx).
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

/// `Status`.
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    /// Message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// 0 unset, 1 ok, 2 error.
    #[prost(int32, tag = "3")]
    pub code: i32,
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

/// `AnyValue` (string or integer).
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// The value.
    #[prost(oneof = "any_value::Value", tags = "1, 3")]
    pub value: Option<any_value::Value>,
}

/// `AnyValue.value`.
pub mod any_value {
    /// One of the value kinds.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A string.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// An integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
    }
}

// === impl KeyValue ===

impl KeyValue {
    /// A string attribute.
    pub fn string(key: &str, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
        }
    }

    /// An integer attribute.
    pub fn int(key: &str, value: i64) -> Self {
        Self {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(value)),
            }),
        }
    }
}

/// The sending end of a running exporter for one collector address.
#[derive(Debug)]
pub struct Exporter {
    /// Boxed: the channel's slots are allocated up front.
    tx: SyncSender<Box<Span>>,
    /// `host:port` of the collector.
    pub endpoint: String,
}

// === impl Exporter ===

impl Exporter {
    /// Starts the exporter thread for the collector at `endpoint` (`host:port`, OTLP gRPC),
    /// each call bounded by `timeout`. The thread ends when the exporter is dropped.
    pub fn start(endpoint: String, timeout: Duration) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(CAPACITY);
        let target = endpoint.clone();
        std::thread::Builder::new()
            .name("gantry-otlp".into())
            .spawn(move || export_loop(&target, timeout, &rx))?;
        Ok(Self { tx, endpoint })
    }

    /// Hands a finished span over without waiting; false when the buffer is full.
    pub fn send(&self, span: Span) -> bool {
        match self.tx.try_send(Box::new(span)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

fn export_loop(endpoint: &str, timeout: Duration, rx: &Receiver<Box<Span>>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("OTLP exporter not started: {e}");
            return;
        }
    };
    let mut failing = false;
    while let Ok(first) = rx.recv() {
        let mut spans = vec![*first];
        while spans.len() < BATCH {
            match rx.try_recv() {
                Ok(s) => spans.push(*s),
                Err(_) => break,
            }
        }
        let n = spans.len();
        let body = grpc_frame(&request(spans));
        let result = runtime.block_on(async {
            tokio::time::timeout(timeout, export(endpoint, body))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
        });
        match result {
            Ok(()) => {
                if failing {
                    tracing::info!("OTLP export to {endpoint} works again");
                }
                failing = false;
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("OTLP export of {n} span(s) to {endpoint} failed: {e}");
            }
            Err(_) => {}
        }
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue::string("service.name", "higress-gateway")],
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "gantry".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                }),
                spans,
            }],
        }],
    }
}

/// A gRPC message frame: uncompressed flag, big-endian length, the message.
fn grpc_frame(msg: &ExportTraceServiceRequest) -> Bytes {
    let len = msg.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    // Encoding into a buffer with enough room cannot fail.
    let _ = msg.encode(&mut buf);
    buf.freeze()
}

/// One unary call on a new HTTP/2 connection; Ok when the answer's `grpc-status` is 0.
async fn export(endpoint: &str, body: Bytes) -> Result<(), String> {
    let tcp = tokio::net::TcpStream::connect(endpoint)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut client, connection) = h2::client::handshake(tcp)
        .await
        .map_err(|e| format!("HTTP/2: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{endpoint}{EXPORT_PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .map_err(|e| e.to_string())?;
    let (response, mut stream) = client
        .send_request(req, false)
        .map_err(|e| format!("send: {e}"))?;
    stream
        .send_data(body, true)
        .map_err(|e| format!("send: {e}"))?;
    let response = response.await.map_err(|e| format!("answer: {e}"))?;
    let (head, mut recv) = response.into_parts();
    if head.status != http::StatusCode::OK {
        return Err(format!("HTTP status {}", head.status));
    }
    let mut status = head
        .headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    while let Some(chunk) = recv.data().await {
        let chunk = chunk.map_err(|e| format!("answer: {e}"))?;
        let _ = recv.flow_control().release_capacity(chunk.len());
    }
    if status.is_none() {
        let trailers = recv
            .trailers()
            .await
            .map_err(|e| format!("trailers: {e}"))?;
        status = trailers
            .as_ref()
            .and_then(|t| t.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
    }
    match status.as_deref() {
        Some("0") => Ok(()),
        Some(code) => Err(format!("grpc-status {code}")),
        None => Err("no grpc-status".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_protobuf() {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "route".into(),
            kind: 2,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            attributes: vec![KeyValue::int("http.response.status_code", 200)],
            ..Default::default()
        };
        let framed = grpc_frame(&request(vec![span.clone()]));
        assert_eq!(framed[0], 0);
        let len = u32::from_be_bytes([framed[1], framed[2], framed[3], framed[4]]) as usize;
        assert_eq!(len, framed.len() - 5);
        let back = ExportTraceServiceRequest::decode(&framed[5..]).expect("decode");
        assert_eq!(back.resource_spans[0].scope_spans[0].spans, vec![span]);
    }
}
