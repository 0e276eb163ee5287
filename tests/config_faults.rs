//! Config input faults against the real binary: a config root renamed away or replaced by a
//! file, and a file cut to 0 bytes, keep traffic routed (200, not 404) and show in
//! `/gantry/status`; a Secret's value never reaches `gantry validate`, the status API or
//! the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gantry_tests::config::{domain_configmap, mcpbridge};
use gantry_tests::{
    eventually, free_port, gantry_bin, validate, Client, EchoServer, Ingress, Registry, DEADLINE,
};
use serde_json::Value;
use tempfile::TempDir;

const FOO: &str = "foo.bar.com";

/// A value that must never be shown.
const SECRET: &str = "Tr0ub4dor-SECRET-5e1d";

/// `gantry serve` with the admin API on, on a root the test may rename or replace.
struct Served {
    child: Child,
    http: Client,
    console: Client,
    logs: TempDir,
}

impl Served {
    /// Starts `gantry serve --watch auto` on `root` and waits until both ports answer.
    async fn start(root: &Path) -> Self {
        for _ in 0..5 {
            let served = Self::spawn(root, free_port(), free_port());
            match served.ready().await {
                Ok(()) => return served,
                Err(log) if log.contains("in use") => continue,
                Err(log) => panic!("gantry did not become ready:\n{log}"),
            }
        }
        panic!("no free ports after 5 attempts");
    }

    fn spawn(root: &Path, http: u16, console: u16) -> Self {
        let logs = tempfile::tempdir().unwrap();
        let stderr = File::create(logs.path().join("stderr.log")).unwrap();
        let child = Command::new(gantry_bin())
            .arg("serve")
            .args(["--config", &root.display().to_string()])
            .args(["--http-port", &http.to_string()])
            .args(["--https-port", "0"])
            .args(["--console-port", &console.to_string()])
            .args(["--metrics-port", "0", "--health-port", "0"])
            .args(["--bind", "127.0.0.1"])
            .args(["--watch", "auto", "--poll-interval", "200ms"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Self {
            child,
            http: Client::new(http),
            console: Client::new(console),
            logs,
        }
    }

    async fn ready(&self) -> Result<(), String> {
        let deadline = std::time::Instant::now() + DEADLINE;
        while std::time::Instant::now() < deadline {
            let up = self.console.get("localhost", "/healthz").await.is_ok()
                && self.http.get("probe.invalid", "/").await.is_ok();
            if up {
                return Ok(());
            }
            if self.log().contains("in use") {
                return Err(self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(self.log())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr.log")).unwrap_or_default()
    }

    /// The `/gantry/status` body.
    async fn status(&self) -> Result<(String, Value), String> {
        let reply = self.console.get("localhost", "/gantry/status").await?;
        let json = serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
        Ok((reply.body, json))
    }

    /// Waits until status lists an error from `source` whose message contains `text`.
    async fn eventually_error(&self, source: &str, text: &str) {
        eventually(DEADLINE, || async move {
            let (body, json) = self.status().await?;
            let found = json["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| {
                    d["severity"] == "error"
                        && d["source"] == source
                        && d["message"].as_str().is_some_and(|m| m.contains(text))
                });
            found
                .then_some(())
                .ok_or_else(|| format!("no error {source}: …{text}… in {body}"))
        })
        .await;
    }

    /// Waits until status lists no error.
    async fn eventually_clean(&self) {
        eventually(DEADLINE, || async move {
            let (body, json) = self.status().await?;
            let errors = json["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["severity"] == "error")
                .count();
            (errors == 0)
                .then_some(())
                .ok_or_else(|| format!("errors remain: {body}"))
        })
        .await;
    }

    /// Sends `n` requests to the quick-start route; every one must reach `backend`.
    async fn assert_routed(&self, backend: &str, n: usize) {
        for i in 0..n {
            let reply = self.http.get(FOO, "/get").await.unwrap();
            assert_eq!(
                (reply.status.as_u16(), reply.echo_name()),
                (200, Some(backend)),
                "request {i}: {}\n--- gantry stderr ---\n{}",
                reply.summary(),
                self.log()
            );
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- gantry stderr ---\n{}", self.log());
        }
    }
}

/// The quick-start config (every path of `foo.bar.com` → `backend`) in `<parent>/config`.
fn quickstart_root(parent: &Path, backend: &EchoServer) -> PathBuf {
    let root = parent.join("config");
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "mcpbridges/default.yaml",
        &mcpbridge(&[Registry::dns("httpbin", "127.0.0.1", backend.port())]),
    );
    write(
        "configmaps/domain-foo.bar.com.yaml",
        &domain_configmap("foo.bar.com"),
    );
    let ingress = Ingress::quickstart();
    write(&ingress.file(), &ingress.yaml());
    root
}

#[tokio::test]
async fn root_renamed_away_or_replaced_by_a_file_keeps_routing() {
    let backend = EchoServer::start("backend");
    let parent = tempfile::tempdir().unwrap();
    let root = quickstart_root(parent.path(), &backend);
    let gw = Served::start(&root).await;
    gw.http.eventually_backend(FOO, "/", "backend").await;

    let aside = parent.path().join("config.moved");
    std::fs::rename(&root, &aside).unwrap();
    gw.eventually_error(".", "the config root is gone").await;
    gw.assert_routed("backend", 5).await;

    std::fs::write(&root, "a file where the config root was").unwrap();
    gw.eventually_error(".", "the config root is not a directory")
        .await;
    gw.assert_routed("backend", 5).await;

    std::fs::remove_file(&root).unwrap();
    std::fs::rename(&aside, &root).unwrap();
    gw.eventually_clean().await;
    gw.assert_routed("backend", 5).await;
}

#[tokio::test]
async fn emptied_file_keeps_its_route_until_deleted() {
    let backend = EchoServer::start("backend");
    let parent = tempfile::tempdir().unwrap();
    let root = quickstart_root(parent.path(), &backend);
    let gw = Served::start(&root).await;
    gw.http.eventually_backend(FOO, "/", "backend").await;

    let file = root.join(Ingress::quickstart().file());
    std::fs::write(&file, "").unwrap();
    gw.eventually_error(&Ingress::quickstart().file(), "file is empty (0 bytes)")
        .await;
    gw.assert_routed("backend", 5).await;

    std::fs::remove_file(&file).unwrap();
    gw.http.eventually_status(FOO, "/", 404).await;
    gw.eventually_clean().await;
}

#[tokio::test]
async fn secret_values_stay_out_of_validate_status_and_logs() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let backend = EchoServer::start("backend");
    let parent = tempfile::tempdir().unwrap();
    let root = quickstart_root(parent.path(), &backend);
    let files = [
        (
            "secrets/plain.yaml",
            format!("kind: Secret\ndata: {SECRET}\n"),
        ),
        (
            "secrets/dup.yaml",
            format!("kind: Secret\nstringData:\n  {SECRET}: a\n  {SECRET}: b\n"),
        ),
        (
            "secrets/tls.yaml",
            format!(
                "kind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
                b64(&format!("-----BEGIN {SECRET}\n")),
                b64(&format!("-----BEGIN {SECRET}\n")),
            ),
        ),
    ];
    std::fs::create_dir_all(root.join("secrets")).unwrap();
    for (rel, text) in &files {
        std::fs::write(root.join(rel), text).unwrap();
    }

    let out = validate(&root);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(
        !out.combined().contains(SECRET),
        "validate shows the secret:\n{}",
        out.combined()
    );
    for (rel, _) in &files {
        assert!(
            out.errors()
                .iter()
                .any(|e| e.contains(&format!(": {rel}:"))),
            "no error for {rel}:\n{}",
            out.combined()
        );
    }
    assert!(
        out.combined().contains(
            "error: secrets/plain.yaml: Secret plain: data: invalid type: expected a map"
        ),
        "{}",
        out.combined()
    );

    let gw = Served::start(&root).await;
    gw.http.eventually_backend(FOO, "/", "backend").await;
    gw.eventually_error("secrets/plain.yaml", "expected a map")
        .await;
    let (body, json) = gw.status().await.unwrap();
    assert!(!body.contains(SECRET), "status shows the secret: {body}");
    for d in json["diagnostics"].as_array().unwrap() {
        let source = d["source"].as_str().unwrap();
        assert!(
            !source.starts_with('/') && !source.contains(&*parent.path().to_string_lossy()),
            "status names an absolute path: {d}"
        );
    }
    assert!(!gw.log().contains(SECRET), "the log shows the secret");
}
