//! `--log-format json`: every line the gateway writes to stderr is one JSON object with a
//! `level` and a `fields.message` (tracing-subscriber's JSON layout), from start-up through
//! requests, reloads and config errors, Pingora's own records included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, Ingress, Path, DEADLINE};
use serde_json::Value;

const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// Parses every line of `log`; panics naming the first line that is not a JSON object with
/// a known `level` and a non-empty `fields.message`.
fn parse_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line:?}"));
            let level = v["level"].as_str().unwrap_or_default();
            assert!(LEVELS.contains(&level), "no known level in {line:?}");
            assert!(
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "no fields.message in {line:?}"
            );
            v
        })
        .collect()
}

#[tokio::test]
async fn json_log_format_writes_one_json_object_per_line() {
    let httpbin = EchoServer::start("httpbin");
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    // A broken file: an error line at start.
    config.write("ingresses/broken.yaml", "kind: [");
    let gw = Gantry::builder()
        .arg("--log-format")
        .arg("json")
        .start(config)
        .await;
    gw.client()
        .eventually_backend("foo.bar.com", "/get", "httpbin")
        .await;
    // A reload, and an unroutable request.
    gw.config().write_ingress(&Ingress::route(
        "marker",
        Some("marker.example.com"),
        Path::prefix("/"),
        "httpbin.dns",
    ));
    gw.client()
        .eventually_backend("marker.example.com", "/", "httpbin")
        .await;
    gw.client().get("nowhere.example.com", "/").await.unwrap();

    let lines = eventually(DEADLINE, || async {
        let lines = parse_lines(&gw.log());
        let reloaded = lines
            .iter()
            .any(|v| v["fields"]["message"] == "configuration reloaded");
        if reloaded {
            Ok(lines)
        } else {
            Err(format!("no reload logged yet in {} lines", lines.len()))
        }
    })
    .await;
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|v| v["level"] == "ERROR" || v["level"] == "WARN")
        .filter(|v| v.to_string().contains("ingresses/broken.yaml"))
        .collect();
    assert!(
        !errors.is_empty(),
        "the broken file must be logged as a JSON error line; got:\n{}",
        gw.log()
    );
    assert!(lines.len() >= 3, "only {} log lines", lines.len());
}
