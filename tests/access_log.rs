//! The access log: one JSON line per request with Higress's default fields, on stdout by
//! default, to a file with `--access-log` or `higress-config`'s `mesh.accessLogFile`, off
//! with `--access-log off`; a writer that cannot keep up drops lines (counted) and never
//! stalls requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;

use gantry_tests::scrape::{self, value};
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, DEADLINE};
use reqwest::Method;
use serde_json::Value;

const FOO: &str = "foo.bar.com";

/// The parsed lines of `text` whose `request_id` is `id`.
fn lines_with_id(text: &str, id: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["request_id"] == id)
        .collect()
}

async fn send(gw: &Gantry, host: &str, path: &str, id: &str) -> u16 {
    let headers = [
        ("x-request-id", id),
        ("user-agent", "access-log-test/1"),
        ("x-forwarded-for", "203.0.113.7"),
    ];
    gw.client()
        .send(Method::GET, host, path, &headers, None)
        .await
        .unwrap()
        .status
        .as_u16()
}

#[tokio::test]
async fn one_json_line_per_request_on_stdout_with_higress_fields() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::start(ConfigDir::quickstart("127.0.0.1", httpbin.port())).await;
    gw.client().eventually_backend(FOO, "/", "httpbin").await;
    assert_eq!(send(&gw, FOO, "/get?foo=bar", "req-ok").await, 200);
    assert_eq!(send(&gw, "nobody.example", "/x", "req-nr").await, 404);

    let line = eventually(DEADLINE, || async {
        match lines_with_id(&gw.stdout(), "req-ok").as_slice() {
            [one] => Ok(one.clone()),
            other => Err(format!(
                "{} lines for req-ok:\n{}",
                other.len(),
                gw.stdout()
            )),
        }
    })
    .await;
    let upstream = format!("127.0.0.1:{}", httpbin.port());
    for (key, want) in [
        ("authority", FOO),
        ("method", "GET"),
        ("path", "/get?foo=bar"),
        ("protocol", "HTTP/1.1"),
        ("response_code", "200"),
        ("response_flags", "-"),
        ("route_name", "route-foo-bar"),
        ("upstream_cluster", "httpbin.dns"),
        ("upstream_host", upstream.as_str()),
        ("user_agent", "access-log-test/1"),
        ("x_forwarded_for", "203.0.113.7"),
        ("bytes_received", "0"),
    ] {
        assert_eq!(line[key], want, "{key} in {line}");
    }
    for key in ["bytes_sent", "duration", "upstream_service_time"] {
        let n: u64 = line[key]
            .as_str()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{key} in {line}"));
        if key == "bytes_sent" {
            assert!(n > 0, "{line}");
        }
    }
    assert!(
        line["start_time"].as_str().unwrap().ends_with('Z'),
        "{line}"
    );
    assert!(
        line["downstream_remote_address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{line}"
    );

    let nr = eventually(DEADLINE, || async {
        lines_with_id(&gw.stdout(), "req-nr")
            .pop()
            .ok_or_else(|| gw.stdout())
    })
    .await;
    assert_eq!(nr["response_code"], "404", "{nr}");
    assert_eq!(nr["response_flags"], "NR", "{nr}");
    assert_eq!(nr["route_name"], "-", "{nr}");
    assert_eq!(nr["upstream_host"], "-", "{nr}");
}

#[tokio::test]
async fn access_log_flag_writes_a_file_and_off_writes_nothing() {
    let httpbin = EchoServer::start("httpbin");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs/access.log");
    let gw = Gantry::builder()
        .arg("--access-log")
        .arg(&file.display().to_string())
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    assert_eq!(send(&gw, FOO, "/file", "req-file").await, 200);
    eventually(DEADLINE, || async {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        (lines_with_id(&text, "req-file").len() == 1)
            .then_some(())
            .ok_or(text)
    })
    .await;
    assert!(lines_with_id(&gw.stdout(), "req-file").is_empty());
    drop(gw);

    let gw = Gantry::builder()
        .arg("--access-log")
        .arg("off")
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    assert_eq!(send(&gw, FOO, "/off", "req-off").await, 200);
    // The next request's line would follow this one's; give the writer a request's time.
    assert_eq!(send(&gw, FOO, "/off", "req-off-2").await, 200);
    assert_eq!(gw.stdout(), "", "access log must be off");
}

#[tokio::test]
async fn mesh_access_log_file_is_honoured() {
    let httpbin = EchoServer::start("httpbin");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proxy/access.log");
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    config.write(
        "configmaps/higress-config.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: higress-config\n  namespace: higress-system\n\
             data:\n  higress: |-\n    downstream:\n      idleTimeout: 180\n  mesh: |-\n    accessLogEncoding: TEXT\n    accessLogFile: {}\n",
            file.display()
        ),
    );
    let gw = Gantry::start(config).await;
    assert_eq!(send(&gw, FOO, "/mesh", "req-mesh").await, 200);
    eventually(DEADLINE, || async {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        (lines_with_id(&text, "req-mesh").len() == 1)
            .then_some(())
            .ok_or(text)
    })
    .await;
    assert!(lines_with_id(&gw.stdout(), "req-mesh").is_empty());
}

/// O_NONBLOCK: open a FIFO's read end without a writer.
const O_NONBLOCK: i32 = 0o4000;

#[tokio::test]
async fn a_stalled_log_writer_drops_and_counts_lines_instead_of_stalling_requests() {
    let httpbin = EchoServer::start("httpbin");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("access.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // A reader that never reads: once the pipe buffer is full, every write blocks.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let gw = Gantry::builder()
        .metrics(true)
        .arg("--access-log")
        .arg(&fifo.display().to_string())
        .arg("--access-log-buffer")
        .arg("8")
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    for i in 0..600 {
        let id = format!("stall-{i}-{}", "x".repeat(200));
        assert_eq!(send(&gw, FOO, "/stall", &id).await, 200, "request {i}");
    }
    let text = scrape::scrape(gw.metrics_port()).await;
    let dropped = value(&text, "gantry_access_log_dropped_total").unwrap();
    let written = value(&text, "gantry_access_log_lines_total").unwrap();
    assert!(
        dropped > 0.0,
        "no line dropped ({written} written):\n{text}"
    );
    assert!(dropped + written >= 600.0, "{text}");
}
