//! Graceful upgrade: `gantry serve --upgrade` takes the listening sockets of the running
//! gantry when that one gets SIGQUIT, over a unix socket in `--data-dir`; no request fails
//! and the old process drains and exits 0. The hand-over only happens between processes of
//! the same user (or root): another user who gets to the socket path neither receives the
//! sockets nor can feed its own, and a data dir others can write is refused at start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gantry_tests::http1::Http1;
use gantry_tests::process::{send_signal, wait_exit};
use gantry_tests::{
    eventually, run_cli, ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE,
};
use tokio::net::TcpStream;

/// The host the tests route.
const HOST: &str = "upgrade.test";

/// The uid and gid of `nobody`, the other user.
const NOBODY: &str = "65534";

fn config_for(addr: std::net::SocketAddr) -> ConfigDir {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("backend", addr)]);
    config.write_ingress(&Ingress::host_route("upgrade", HOST, "backend.static"));
    config
}

/// A private data dir (0700) inside a directory others may enter (0755), so that a test can
/// later open the data dir to another user.
fn data_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let parent = tempfile::Builder::new()
        .prefix("gantry-upgrade-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    (parent, dir)
}

/// Whether this machine can run a process as another user (root, `setpriv`, `perl`).
fn can_play_another_user() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let has = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    root && has("setpriv") && has("perl")
}

/// Runs the perl `script` with `args` as user `nobody`; stdout is piped.
fn as_nobody(script: &str, args: &[&str]) -> Child {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "perl",
            "-MIO::Socket::UNIX",
            "-e",
            script,
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn setpriv perl")
}

/// Requests on fresh connections (`connection: close`), counted, until stopped. Never
/// retries: every failure counts.
struct Load {
    ok: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(port: u16) -> Self {
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (ok, failures, stop) = (ok.clone(), failures.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::SeqCst) {
                    match one_request(port).await {
                        Ok(()) => ok.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            failures.lock().unwrap().push(e);
                            0
                        }
                    };
                }
            }
        });
        Self {
            ok,
            failures,
            stop,
            task,
        }
    }

    fn ok(&self) -> u64 {
        self.ok.load(Ordering::SeqCst)
    }

    async fn stop(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::SeqCst), failures)
    }
}

async fn one_request(port: u16) -> Result<(), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut http = Http1::new(tcp);
    http.send_head("GET", HOST, "/", &[("connection", "close")])
        .await?;
    let reply = http.read_reply().await?;
    reply.expect_backend("backend").map(|_| ())
}

/// Waits until `path` exists.
async fn exists(path: &Path) {
    eventually(DEADLINE, || {
        let there = path.exists();
        async move {
            there
                .then_some(())
                .ok_or("upgrade socket not there yet".to_owned())
        }
    })
    .await;
}

// Multi-threaded: the test body's blocking calls (spawning the new process, `kill`, reading
// logs) must not freeze the load's client between its connect and its request, or the old
// process rightly closes that connection as idle while it drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_hands_the_listeners_over_without_a_failed_request() {
    let backend = EchoServer::start("backend");
    let (_parent, dir) = data_dir();
    let dir_arg = dir.display().to_string();
    let mut old = Gantry::builder()
        .arg("--data-dir")
        .arg(&dir_arg)
        .start(config_for(backend.addr()))
        .await;
    let port = old.http_port();
    old.client().eventually_backend(HOST, "/", "backend").await;

    let load = Load::start(port);
    let mut new = Gantry::builder()
        .arg("--data-dir")
        .arg(&dir_arg)
        .arg("--upgrade")
        .spawn(config_for(backend.addr()), port);
    exists(&dir.join("upgrade.sock")).await;
    send_signal(old.pid(), "QUIT");

    let status = wait_exit(&mut old, Duration::from_secs(60)).await;
    assert_eq!(status.code(), Some(0), "old process: {status}");
    assert!(old.log().contains("listener sockets sent"), "{}", old.log());
    // The new process alone serves from here on.
    let served_by_old = load.ok();
    eventually(DEADLINE, || {
        let ok = load.ok();
        async move {
            (ok >= served_by_old + 50).then_some(()).ok_or(format!(
                "{} requests since the old one exited",
                ok - served_by_old
            ))
        }
    })
    .await;
    let (ok, failures) = load.stop().await;
    assert!(
        failures.is_empty(),
        "{} of {ok} requests failed: {failures:?}",
        failures.len()
    );
    assert!(
        new.exit_status().is_none(),
        "new process exited:\n{}",
        new.log()
    );
}

#[tokio::test]
async fn another_user_on_the_upgrade_socket_gets_no_listener() {
    if !can_play_another_user() {
        eprintln!("skipped: needs root, setpriv and perl to run a peer as another user");
        return;
    }
    let backend = EchoServer::start("backend");
    let (_parent, dir) = data_dir();
    let mut gantry = Gantry::builder()
        .arg("--data-dir")
        .arg(&dir.display().to_string())
        .start(config_for(backend.addr()))
        .await;
    gantry
        .client()
        .eventually_backend(HOST, "/", "backend")
        .await;

    // Someone opens the data dir after start; another user binds the socket path first.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = dir.join("upgrade.sock");
    let mut thief = as_nobody(
        r#"my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 1)
               or die "listen: $!";
           $| = 1; print "listening\n";
           my $c = $l->accept or die "accept: $!";
           my $n = sysread($c, my $buf, 4096);
           print "received ", ($n // 0), "\n";"#,
        &[&socket.display().to_string()],
    );
    let mut lines = BufReader::new(thief.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "listening");

    send_signal(gantry.pid(), "QUIT");
    let received = tokio::task::spawn_blocking(move || lines.next().unwrap().unwrap())
        .await
        .unwrap();
    let _ = thief.wait();
    assert_eq!(
        received, "received 0",
        "the other user got the hand-over message"
    );
    eventually(DEADLINE, || {
        let log = gantry.log();
        async move {
            log.contains("upgrade aborted, still serving")
                .then_some(())
                .ok_or("no refusal logged yet".to_owned())
        }
    })
    .await;
    assert!(gantry.log().contains("uid 65534"), "{}", gantry.log());
    assert!(
        gantry.exit_status().is_none(),
        "gantry stopped after the refused hand-over"
    );
    gantry
        .client()
        .get(HOST, "/")
        .await
        .unwrap()
        .expect_backend("backend")
        .unwrap();
}

#[tokio::test]
async fn another_user_cannot_feed_sockets_to_an_upgrading_gantry() {
    if !can_play_another_user() {
        eprintln!("skipped: needs root, setpriv and perl to run a peer as another user");
        return;
    }
    let backend = EchoServer::start("backend");
    let (_parent, dir) = data_dir();
    let dir_arg = dir.display().to_string();
    let mut old = Gantry::builder()
        .arg("--data-dir")
        .arg(&dir_arg)
        .start(config_for(backend.addr()))
        .await;
    let port = old.http_port();
    let mut new = Gantry::builder()
        .arg("--data-dir")
        .arg(&dir_arg)
        .arg("--upgrade")
        .spawn(config_for(backend.addr()), port);
    let socket = dir.join("upgrade.sock");
    exists(&socket).await;

    // Another user reaches the waiting socket first and offers an address without sockets.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut forger = as_nobody(
        r#"my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
               or die "connect: $!";
           print $s $ARGV[1]; close $s; print "sent\n";"#,
        &[&socket.display().to_string(), &format!("127.0.0.1:{port}")],
    );
    let forged = forger.wait().unwrap();
    assert!(forged.success(), "the forger could not connect");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    // The real hand-over still goes through.
    send_signal(old.pid(), "QUIT");
    let status = wait_exit(&mut old, Duration::from_secs(60)).await;
    assert_eq!(status.code(), Some(0), "old process: {status}");
    assert!(
        new.exit_status().is_none(),
        "new process died:\n{}",
        new.log()
    );
    assert!(
        new.log()
            .contains("Refusing listening sockets from uid 65534"),
        "{}",
        new.log()
    );
    new.client().eventually_backend(HOST, "/", "backend").await;
}

#[test]
fn a_data_dir_others_can_write_is_refused() {
    let config = ConfigDir::new();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("open");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run_cli(&[
        "serve",
        "--config",
        &config.path().display().to_string(),
        "--data-dir",
        &dir.display().to_string(),
        "--http-port",
        "0",
        "--https-port",
        "0",
        "--console-port",
        "0",
    ]);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    let text = out.combined();
    assert!(text.contains("writable by group or others"), "{text}");
    assert!(text.contains(&dir.display().to_string()), "{text}");
}
