//! `higress-config` `tracing` with OpenTelemetry: spans reach an OTLP/gRPC receiver (run by
//! the test, decoding what arrives) with the client's trace continued from `traceparent` or
//! B3, `traceparent` and B3 headers go upstream, and `sampling` decides for new traces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::otlp::OtlpReceiver;
use gantry_tests::scrape::{self, value};
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, DEADLINE};
use reqwest::Method;
use serde_json::Value;

const FOO: &str = "foo.bar.com";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn config(backend: &EchoServer, receiver: &OtlpReceiver, sampling: u32) -> ConfigDir {
    let config = ConfigDir::quickstart("127.0.0.1", backend.port());
    config.write_higress_config(&format!(
        "tracing:\n  enable: true\n  sampling: {sampling}\n  timeout: 500\n  opentelemetry:\n    service: 127.0.0.1\n    port: {}\n",
        receiver.port()
    ));
    config
}

async fn seen_headers(gw: &Gantry, headers: &[(&str, &str)]) -> Value {
    let reply = gw
        .client()
        .send(Method::GET, FOO, "/traced", headers, None)
        .await
        .unwrap()
        .expect_backend("httpbin")
        .unwrap();
    reply.json()["headers"].clone()
}

#[tokio::test]
async fn spans_continue_the_clients_trace_and_reach_the_collector() {
    let httpbin = EchoServer::start("httpbin");
    let receiver = OtlpReceiver::start();
    let gw = Gantry::builder()
        .metrics(true)
        .start(config(&httpbin, &receiver, 100))
        .await;
    gw.client().eventually_backend(FOO, "/", "httpbin").await;

    let parent = format!("00-{TRACE}-{PARENT}-01");
    let seen = seen_headers(&gw, &[("traceparent", &parent)]).await;
    let upstream = seen["traceparent"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = upstream.split('-').collect();
    assert_eq!(parts[0], "00", "{upstream}");
    assert_eq!(parts[1], TRACE, "the trace continues: {upstream}");
    assert_ne!(parts[2], PARENT, "a span of its own: {upstream}");
    assert_eq!(parts[3], "01", "{upstream}");
    assert_eq!(seen["x-b3-traceid"], TRACE, "{seen}");
    assert_eq!(seen["x-b3-spanid"], parts[2], "{seen}");
    assert_eq!(seen["x-b3-parentspanid"], PARENT, "{seen}");
    assert_eq!(seen["x-b3-sampled"], "1", "{seen}");

    let span = eventually(DEADLINE, || async {
        receiver
            .spans()
            .into_iter()
            .find(|s| hex(&s.trace_id) == TRACE)
            .ok_or(format!("{} span(s) so far", receiver.spans().len()))
    })
    .await;
    assert_eq!(hex(&span.span_id), parts[2]);
    assert_eq!(hex(&span.parent_span_id), PARENT);
    assert_eq!(span.name, "route-foo-bar");
    assert_eq!(span.kind, 2, "SERVER");
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    assert_eq!(
        span.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        span.attribute("http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        span.attribute("upstream_cluster").as_deref(),
        Some("httpbin.dns")
    );
    let call = receiver.calls().remove(0);
    assert_eq!(
        call.path,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    assert_eq!(call.content_type, "application/grpc");

    // B3 from the client is continued too.
    let seen = seen_headers(
        &gw,
        &[
            ("x-b3-traceid", "a3ce929d0e0e4736a3ce929d0e0e4736"),
            ("x-b3-spanid", "1111111111111111"),
            ("x-b3-sampled", "1"),
        ],
    )
    .await;
    assert!(
        seen["traceparent"]
            .as_str()
            .unwrap()
            .starts_with("00-a3ce929d0e0e4736a3ce929d0e0e4736-"),
        "{seen}"
    );
    eventually(DEADLINE, || async {
        receiver
            .spans()
            .iter()
            .any(|s| hex(&s.trace_id) == "a3ce929d0e0e4736a3ce929d0e0e4736")
            .then_some(())
            .ok_or_else(|| "no span of the B3 trace yet".to_string())
    })
    .await;
    let text = scrape::scrape(gw.metrics_port()).await;
    assert!(
        value(&text, "gantry_tracing_spans_total").unwrap() >= 2.0,
        "{text}"
    );
}

#[tokio::test]
async fn sampling_zero_records_no_new_trace_but_honours_a_sampled_parent() {
    let httpbin = EchoServer::start("httpbin");
    let receiver = OtlpReceiver::start();
    let gw = Gantry::builder()
        .metrics(true)
        .start(config(&httpbin, &receiver, 0))
        .await;
    gw.client().eventually_backend(FOO, "/", "httpbin").await;
    for _ in 0..20 {
        let seen = seen_headers(&gw, &[]).await;
        let tp = seen["traceparent"].as_str().unwrap().to_owned();
        assert!(tp.ends_with("-00"), "not sampled: {tp}");
        assert_eq!(seen["x-b3-sampled"], "0", "{seen}");
    }
    // The client decided: sampled.
    let parent = format!("00-{TRACE}-{PARENT}-01");
    seen_headers(&gw, &[("traceparent", &parent)]).await;
    let spans = eventually(DEADLINE, || async {
        let spans = receiver.spans();
        (!spans.is_empty())
            .then_some(spans)
            .ok_or_else(|| "no span yet".to_string())
    })
    .await;
    assert!(
        spans.iter().all(|s| hex(&s.trace_id) == TRACE),
        "only the sampled parent's trace"
    );
    let text = scrape::scrape(gw.metrics_port()).await;
    assert_eq!(
        value(&text, "gantry_tracing_spans_total"),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn without_tracing_no_trace_headers_are_added() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::start(ConfigDir::quickstart("127.0.0.1", httpbin.port())).await;
    gw.client().eventually_backend(FOO, "/", "httpbin").await;
    let seen = seen_headers(&gw, &[]).await;
    assert!(seen["traceparent"].is_null(), "{seen}");
    assert!(seen["x-b3-traceid"].is_null(), "{seen}");
}
