//! End-to-end: which `Accept-Encoding` headers get a gzip response, decided as Envoy's
//! compressor decides (q-values, `*`, `identity`, `gzip;q=0`), through the real gateway and
//! Pingora's compression module, against an echo backend. The header reaches the backend
//! unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use gantry_tests::{ConfigDir, EchoServer, Gantry};
use serde_json::Value;

const FOO: &str = "foo.bar.com";

/// A reply as raw bytes (reqwest is built without decompression and adds no
/// `Accept-Encoding` of its own).
struct Raw {
    status: u16,
    encoding: Option<String>,
    body: Vec<u8>,
}

/// `GET <path>` on [`FOO`] with one `Accept-Encoding` line per entry of `accept`.
async fn get(client: &reqwest::Client, port: u16, path: &str, accept: &[&str]) -> Raw {
    let mut req = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", FOO);
    for value in accept {
        req = req.header("accept-encoding", *value);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{accept:?}: {e}"));
    Raw {
        status: resp.status().as_u16(),
        encoding: resp
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

/// Decompresses `data` with the system `gzip -dc`.
fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn `gzip -dc` (is gzip installed?)");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip -dc failed: {}", out.status);
    out.stdout
}

#[tokio::test]
async fn accept_encoding_weights_wildcard_and_refusals() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::start(ConfigDir::quickstart("127.0.0.1", httpbin.port())).await;
    gw.client().eventually_backend(FOO, "/get", "httpbin").await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // Above the default minContentLength (1024) with a compressible type (JSON).
    let path = format!("/get?pad={}", "x".repeat(1500));

    let cases: &[(&[&str], bool)] = &[
        (&["gzip"], true),
        (&["*"], true),
        (&["br, gzip"], true),
        (&["br;q=1, gzip;q=0.5"], true),
        (&["gzip ;q=0.5"], true),
        (&["gzip;q=0.1, *"], true),
        (&["br", "gzip"], true),
        (&["identity;q=0.5, gzip"], true),
        (&["gzip;q=0"], false),
        (&["*, gzip;q=0"], false),
        (&["*;q=0"], false),
        (&["identity"], false),
        (&["identity;q=1, gzip;q=0.5"], false),
        (&["br, deflate"], false),
        (&[], false),
    ];
    let mut failures = Vec::new();
    for (accept, want_gzip) in cases {
        let reply = get(&client, gw.http_port(), &path, accept).await;
        let gzip = reply.encoding.as_deref() == Some("gzip");
        if reply.status != 200 || gzip != *want_gzip || (!gzip && reply.encoding.is_some()) {
            failures.push(format!(
                "{accept:?}: want gzip={want_gzip}, got status {} content-encoding {:?}",
                reply.status, reply.encoding
            ));
            continue;
        }
        let plain = if gzip {
            gunzip(&reply.body)
        } else {
            reply.body
        };
        let seen: Value = serde_json::from_slice(&plain).expect("echo JSON");
        let forwarded = seen["headers"]["accept-encoding"]
            .as_str()
            .map(str::to_owned);
        let sent = (!accept.is_empty()).then(|| accept.join(", "));
        if forwarded != sent {
            failures.push(format!(
                "{accept:?}: backend saw accept-encoding {forwarded:?}, want {sent:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}
