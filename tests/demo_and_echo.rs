//! `gantry demo` and `gantry echo` do what README.md says: the demo starts the gateway on the
//! bundled quick start with its own echo backend, offline, prints the `curl` line to try and
//! serves it; `echo` is an httpbin-like backend answering with what it received.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::path::Path;
use std::sync::Mutex;

use gantry_tests::subcommand::Subcommand;
use gantry_tests::{eventually, free_port, try_eventually, Client, DEADLINE};
use reqwest::Method;

/// The port `conf-samples/local` (and the bundled copy) points its `httpbin` registry at,
/// where the demo runs its echo backend. Fixed by the product, so another demo may hold it.
const DEMO_ECHO_PORT: u16 = 18081;

/// Starts `gantry <args…> <port_flag> <free port>` until one start holds its ports (a port
/// taken meanwhile, or the demo's fixed echo port held by another demo, means try again) and
/// `ready` says it is up; returns the process and its port.
async fn start_until_ready(
    args: &[&str],
    port_flag: &str,
    dir: &Path,
    ready: impl Fn(&Subcommand, u16) -> bool,
) -> (Subcommand, u16) {
    // A demo elsewhere may hold the fixed echo port for a while: wait longer than usual.
    let started = Mutex::new(None);
    eventually(DEADLINE * 3, || async {
        let port = free_port();
        let port_arg = port.to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend([port_flag, &port_arg]);
        let what = format!("gantry {all:?}");
        let proc = RefCell::new(Subcommand::spawn(&all, dir, &[("TMPDIR", dir)]));
        let up = try_eventually(DEADLINE, || async {
            let mut p = proc.borrow_mut();
            match p.exit_status() {
                Some(status) => Ok(Some(status)),
                None if ready(&p, port) => Ok(None),
                None => Err(format!("{what} is not ready yet")),
            }
        })
        .await;
        let proc = proc.into_inner();
        match up {
            Ok((None, _)) => {
                *started.lock().unwrap() = Some((proc, port));
                Ok(())
            }
            Ok((Some(status), _)) if proc.stderr().contains("already in use") => {
                Err(format!("{what} exited ({status}): a port was busy"))
            }
            Ok((Some(status), _)) => {
                panic!("{what} exited with {status}:\n{}", proc.stderr())
            }
            Err(e) => panic!("{what} never became ready: {e}"),
        }
    })
    .await;
    let started = started.lock().unwrap().take();
    started.expect("started")
}

#[tokio::test]
async fn demo_serves_the_bundled_quick_start_offline() {
    // No `conf-samples/local` in the working directory: the demo writes the bundled copy
    // under $TMPDIR/gantry-demo, here a fresh directory.
    let dir = tempfile::tempdir().unwrap();
    let (demo, port) = start_until_ready(
        &["demo", "--console-port", "0"],
        "--http-port",
        dir.path(),
        |proc, port| {
            let curl = format!("curl 'http://localhost:{port}/get?foo=bar' -H 'Host: foo.bar.com'");
            proc.stdout().contains(&curl)
        },
    )
    .await;
    assert!(
        dir.path()
            .join("gantry-demo/ingresses/route-foo-bar.yaml")
            .is_file(),
        "the bundled sample was not written under TMPDIR: {}",
        demo.stdout()
    );

    // The printed curl line works.
    let client = Client::new(port);
    let reply = client
        .eventually_backend("foo.bar.com", "/get?foo=bar", "demo-echo")
        .await;
    let seen = reply.json();
    assert_eq!(seen["path"], "/get", "{seen}");
    assert_eq!(seen["args"]["foo"], "bar", "{seen}");
    assert_eq!(seen["headers"]["host"], "foo.bar.com", "{seen}");
    // And so does the second: no route, 404 from the gateway.
    let reply = client.get("unknown.example", "/").await.unwrap();
    assert_eq!(reply.status.as_u16(), 404, "{}", reply.summary());
    assert_eq!(reply.echo_name(), None, "{}", reply.summary());
    // The demo's echo backend is on the port the sample names.
    let echo = Client::new(DEMO_ECHO_PORT)
        .get("anything.example", "/direct")
        .await
        .unwrap();
    assert_eq!(echo.echo_name(), Some("demo-echo"), "{}", echo.summary());
}

#[tokio::test]
async fn echo_answers_with_what_it_received() {
    let dir = tempfile::tempdir().unwrap();
    let (echo, port) = start_until_ready(
        &["echo", "--name", "probe"],
        "--port",
        dir.path(),
        |proc, _| proc.stderr().contains("echo backend"),
    )
    .await;
    let client = Client::new(port);
    let reply = eventually(DEADLINE, || async {
        client
            .send(
                Method::POST,
                "echo.example",
                "/anything/x?a=1&b=two",
                &[("x-test", "yes")],
                Some("hello".to_owned()),
            )
            .await?
            .expect_backend("probe")
    })
    .await;
    let seen = reply.json();
    assert_eq!(seen["name"], "probe", "{seen}");
    assert_eq!(seen["method"], "POST", "{seen}");
    assert_eq!(seen["path"], "/anything/x", "{seen}");
    assert_eq!(seen["args"]["a"], "1", "{seen}");
    assert_eq!(seen["args"]["b"], "two", "{seen}");
    assert_eq!(seen["headers"]["x-test"], "yes", "{seen}");
    assert_eq!(seen["headers"]["host"], "echo.example", "{seen}");
    assert_eq!(seen["body"], "hello", "{seen}");
    assert_eq!(
        seen["url"], "http://echo.example/anything/x?a=1&b=two",
        "{seen}"
    );
    assert_eq!(seen["origin"], "127.0.0.1", "{seen}");
    drop(echo);
}
