//! Prometheus metrics on `--metrics-port`: request counters by route, cluster and status
//! class move with traffic, latency histograms fill, config gauges follow the store, both
//! `/stats/prometheus` and `/metrics` answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::scrape::{self, value};
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, Ingress, DEADLINE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FOO: &str = "foo.bar.com";
const OK_SERIES: &str =
    "gantry_requests_total{route=\"route-foo-bar\",cluster=\"httpbin.dns\",code_class=\"2xx\"}";
const NR_SERIES: &str = "gantry_requests_total{route=\"-\",cluster=\"-\",code_class=\"4xx\"}";

#[tokio::test]
async fn counters_move_with_traffic() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::builder()
        .metrics(true)
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    gw.client().eventually_backend(FOO, "/", "httpbin").await;
    let port = gw.metrics_port();
    // The one 200 so far (eventually_backend's) is counted once its logging phase ran.
    let before = eventually(DEADLINE, || async {
        let text = scrape::scrape(port).await;
        (value(&text, OK_SERIES) == Some(1.0))
            .then_some(text.clone())
            .ok_or(text)
    })
    .await;
    let ok_before = value(&before, OK_SERIES).unwrap_or(0.0);
    let nr_before = value(&before, NR_SERIES).unwrap_or(0.0);

    for _ in 0..25 {
        gw.client()
            .get(FOO, "/get")
            .await
            .unwrap()
            .expect_status(200)
            .unwrap();
    }
    for _ in 0..4 {
        gw.client()
            .get("nobody.example", "/")
            .await
            .unwrap()
            .expect_status(404)
            .unwrap();
    }

    let text = eventually(DEADLINE, || async {
        let text = scrape::scrape(port).await;
        let ok = value(&text, OK_SERIES).unwrap_or(0.0) - ok_before;
        let nr = value(&text, NR_SERIES).unwrap_or(0.0) - nr_before;
        if ok >= 25.0 && nr >= 4.0 {
            Ok(text)
        } else {
            Err(format!("2xx +{ok}, 404 +{nr}:\n{text}"))
        }
    })
    .await;
    assert_eq!(value(&text, OK_SERIES).unwrap() - ok_before, 25.0, "{text}");
    let hist =
        "gantry_request_duration_seconds_count{route=\"route-foo-bar\",cluster=\"httpbin.dns\"}";
    assert!(value(&text, hist).unwrap() >= 26.0, "{text}");
    let inf = "gantry_upstream_duration_seconds_bucket{route=\"route-foo-bar\",cluster=\"httpbin.dns\",le=\"+Inf\"}";
    assert!(value(&text, inf).unwrap() >= 26.0, "{text}");
    assert!(
        value(
            &text,
            "gantry_response_bytes_total{route=\"route-foo-bar\",cluster=\"httpbin.dns\"}"
        )
        .unwrap()
            > 0.0,
        "{text}"
    );
    assert_eq!(
        value(&text, "gantry_upstream_endpoints{cluster=\"httpbin.dns\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "gantry_upstream_endpoints_healthy{cluster=\"httpbin.dns\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "gantry_tls_handshakes_total"),
        Some(0.0),
        "{text}"
    );
    assert!(
        value(&text, "gantry_config_applies_total").unwrap() >= 1.0,
        "{text}"
    );
    assert_eq!(value(&text, "gantry_routes"), Some(1.0), "{text}");
    assert!(
        text.contains("# TYPE gantry_request_duration_seconds histogram"),
        "{text}"
    );

    // Every series the Grafana dashboard queries exists.
    let dashboard = std::fs::read_to_string(
        gantry_tests::installer::repo().join("docs/grafana-dashboard.json"),
    )
    .unwrap();
    let _: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    for name in dashboard.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if let Some(family) = name.strip_prefix("gantry_") {
            let family = family.trim_end_matches("_bucket");
            assert!(
                text.contains(&format!("# TYPE gantry_{family} ")),
                "the dashboard queries gantry_{family}, which is not exported"
            );
        }
    }

    // The same families on /metrics, in the Prometheus text format.
    let (status, content_type, body) = scrape::get(port, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(value(&body, OK_SERIES).unwrap() >= 25.0, "{body}");
}

#[tokio::test]
async fn config_gauges_follow_the_store() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::builder()
        .metrics(true)
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    let port = gw.metrics_port();
    let text = scrape::scrape(port).await;
    assert_eq!(value(&text, "gantry_config_errors"), Some(0.0), "{text}");
    let applies = value(&text, "gantry_config_applies_total").unwrap();
    assert!(
        text.contains("gantry_config_store_up{store=\"dir:"),
        "{text}"
    );

    // A second route applies a new table; a broken file is a config error.
    gw.config().write_ingress(&Ingress::host_route(
        "second",
        "second.example",
        "httpbin.dns",
    ));
    gw.config().write(
        "ingresses/broken.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: [\n",
    );
    eventually(DEADLINE, || async {
        let text = scrape::scrape(port).await;
        let now = value(&text, "gantry_config_applies_total").unwrap_or(0.0);
        let errors = value(&text, "gantry_config_errors").unwrap_or(0.0);
        let routes = value(&text, "gantry_routes").unwrap_or(0.0);
        if now > applies && errors >= 1.0 && routes == 2.0 {
            Ok(())
        } else {
            Err(format!(
                "applies {now} (was {applies}), errors {errors}, routes {routes}"
            ))
        }
    })
    .await;
}

#[tokio::test]
async fn tls_handshakes_are_counted_and_the_sni_is_logged() {
    use gantry_tests::http1::Http1;
    use gantry_tests::tls::{ingress_with_tls, secret_file, TestCert, TlsClient};

    let httpbin = EchoServer::start("httpbin");
    let cert = TestCert::new(&["secure.example.com"]);
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    config.write(
        &secret_file("cert-secure"),
        &cert.secret_yaml("cert-secure"),
    );
    let ingress = Ingress::host_route("secure", "secure.example.com", "httpbin.dns");
    config.write(
        &ingress.file(),
        &ingress_with_tls(&ingress, &[(&["secure.example.com"], "cert-secure")]),
    );
    let gw = Gantry::builder()
        .https(true)
        .metrics(true)
        .start(config)
        .await;
    let client = TlsClient::new(&[&cert]);
    let reply = eventually(DEADLINE, || async {
        let tls = client
            .connect(gw.https_port(), "secure.example.com")
            .await?;
        let mut conn = Http1::new(tls);
        conn.send_head(
            "GET",
            "secure.example.com",
            "/tls",
            &[("x-request-id", "req-tls")],
        )
        .await?;
        conn.read_reply().await?.expect_backend("httpbin")
    })
    .await;
    drop(reply);
    eventually(DEADLINE, || async {
        let text = scrape::scrape(gw.metrics_port()).await;
        let tls = value(&text, "gantry_tls_handshakes_total").unwrap_or(0.0);
        (tls >= 1.0 && text.contains("route=\"secure\""))
            .then_some(())
            .ok_or(text)
    })
    .await;
    // Plain HTTP on the HTTPS port is a failed handshake, counted once.
    let failures = |text: &str| value(text, "gantry_tls_handshake_failures_total");
    let before = failures(&scrape::scrape(gw.metrics_port()).await).expect("failures counted");
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", gw.https_port()))
        .await
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: secure.example.com\r\n\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest).await;
    eventually(DEADLINE, || async {
        let text = scrape::scrape(gw.metrics_port()).await;
        (failures(&text) == Some(before + 1.0))
            .then_some(())
            .ok_or(format!("failures {:?}, before {before}", failures(&text)))
    })
    .await;
    let line = eventually(DEADLINE, || async {
        gw.stdout()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["request_id"] == "req-tls")
            .ok_or_else(|| gw.stdout())
    })
    .await;
    assert_eq!(
        line["requested_server_name"], "secure.example.com",
        "{line}"
    );
    assert_eq!(line["route_name"], "secure", "{line}");
}
