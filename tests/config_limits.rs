//! Bounded input against the real binary: a wide-alias file, deep flow nesting and an
//! oversized file are each an error naming the file, reached in bounded memory (the process
//! runs under a 1 GiB address-space limit) and long before a generous kill deadline;
//! `--max-file-size` raises the size limit for `validate` and `serve`; the samples still load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gantry_tests::{gantry_bin, validate, ConfigDir, EchoServer, Gantry, Ingress, Registry};

/// Far above what the bounded checks need (milliseconds), far below what the unbounded
/// parse took (minutes, or gigabytes).
const KILL_AFTER: Duration = Duration::from_secs(45);

/// Address-space limit for the process, in KiB (1 GiB; the wide-alias file needed 3.9 GB).
const ADDRESS_SPACE_KIB: u64 = 1 << 20;

/// What `gantry validate` printed and its exit code, run under the address-space limit;
/// `None` when it was still running at [`KILL_AFTER`].
fn validate_bounded(dir: &Path, extra: &[&str]) -> Option<(Option<i32>, String)> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let file = out.reopen().unwrap();
    let script = format!("ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\"");
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .arg(gantry_bin())
        .args(["validate", "--config", &dir.display().to_string()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > KILL_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some((status.code(), std::fs::read_to_string(out.path()).unwrap()))
}

fn assert_rejected(config: &ConfigDir, file: &str, message: &str) {
    let (code, out) = validate_bounded(config.path(), &[])
        .unwrap_or_else(|| panic!("validate on {file} still running after {KILL_AFTER:?}"));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("error: {file}: ")) && l.contains(message)),
        "no `{message}` error naming {file}:\n{out}"
    );
}

#[test]
fn wide_alias_file_is_refused_in_bounded_memory() {
    let config = ConfigDir::new();
    let items: Vec<String> = (0..10_000).map(|i| format!("item-{i:05}")).collect();
    let aliases = vec!["*list"; 10_000].join(", ");
    config.write(
        "configmaps/wide.yaml",
        &format!(
            "kind: ConfigMap\nmetadata:\n  name: wide\nlist: &list [{}]\nmore: [{aliases}]\n",
            items.join(", ")
        ),
    );
    assert_rejected(
        &config,
        "configmaps/wide.yaml",
        "YAML aliases expand to more than 1000000 nodes",
    );
}

#[test]
fn deep_flow_nesting_is_refused() {
    let config = ConfigDir::new();
    let deep = format!("kind: ConfigMap\ndata: {}\n", "{a: ".repeat(100_000));
    config.write("configmaps/deep.yaml", &deep);
    assert_rejected(
        &config,
        "configmaps/deep.yaml",
        "YAML nests deeper than 128 levels",
    );
}

#[test]
fn oversized_file_is_refused_unless_the_limit_is_raised() {
    let config = ConfigDir::quickstart("127.0.0.1", 9);
    let padding = "#".repeat(100);
    let big = format!(
        "{}{}\n",
        Ingress::host_route("big", "big.example.com", "httpbin.dns").yaml(),
        format!("{padding}\n").repeat(5 * 1024 * 1024 / 101)
    );
    config.write("ingresses/big.yaml", &big);
    assert_rejected(&config, "ingresses/big.yaml", "over the 4 MiB limit");
    let (code, out) = validate_bounded(config.path(), &["--max-file-size", "8MiB"]).unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
}

#[tokio::test]
async fn serve_honours_max_file_size() {
    let backend = EchoServer::start("backend");
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::dns("httpbin", "127.0.0.1", backend.port())]);
    let small = Ingress::host_route("small", "small.example.com", "httpbin.dns");
    config.write_ingress(&small);
    let big = Ingress::host_route("big", "big.example.com", "httpbin.dns");
    config.write(
        &big.file(),
        &format!("{}# {}\n", big.yaml(), "x".repeat(2048)),
    );
    let gw = Gantry::builder()
        .arg("--max-file-size")
        .arg("2k")
        .start(config)
        .await;
    gw.client()
        .eventually_backend("small.example.com", "/", "backend")
        .await;
    let reply = gw.client().get("big.example.com", "/").await.unwrap();
    assert_eq!(reply.status.as_u16(), 404, "{}", reply.summary());
    assert!(
        gw.log().contains("ingresses/big.yaml: file is")
            && gw.log().contains("over the 2 KiB limit"),
        "{}",
        gw.log()
    );
}

#[test]
fn samples_still_load() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf-samples");
    for entry in std::fs::read_dir(&samples).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            let out = validate(&dir);
            assert_eq!(out.code(), Some(0), "{}: {}", dir.display(), out.combined());
        }
    }
}
