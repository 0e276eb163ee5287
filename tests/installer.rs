//! `standalone/get-gantry.sh` from a local binary into a temp dir: install, start, status,
//! a request, shutdown with no process left; `-u` keeps the configuration, backs up and swaps
//! a running gateway under load without failing a request; every bad flag is refused with
//! its message; `~` and relative config paths resolve as Higress resolves them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;

use gantry_tests::fresh_load::FreshConnectionLoad;
use gantry_tests::installer::{alive, InstallDir};
use gantry_tests::{closed_port, Client, ConfigDir, EchoServer, HeldPort};

const FOO: &str = "foo.bar.com";

#[tokio::test]
async fn install_start_status_request_shutdown() {
    let httpbin = EchoServer::start("httpbin");
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    let url = format!("file://{}", config.path().display());
    let inst = InstallDir::new();
    let out = inst.install(&["-c", &url, "-p", "s3cret-pw", "-a"]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let [http, https, _, _, console] = inst.ports;
    for want in [
        "Gantry is now started. You can check out its status by executing".to_string(),
        format!("http://0.0.0.0:{http}"),
        format!("https://0.0.0.0:{https}"),
        format!("Visit Gantry Console: http://localhost:{console}/"),
        "Re-configure: ".to_string(),
    ] {
        assert!(
            out.stdout.contains(&want),
            "{want:?} missing:\n{}",
            out.combined()
        );
    }
    let pid = inst.pid().expect("pid file");
    assert!(alive(pid));

    // The settings hold the password, readable by the owner only; the unit does not.
    let env = inst.dir().join("gantry.env");
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("GANTRY_CONSOLE_PASSWORD='s3cret-pw'"));
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let unit = std::fs::read_to_string(inst.dir().join("gantry.service")).unwrap();
    assert!(!unit.contains("s3cret-pw"), "{unit}");
    assert!(
        unit.contains(&format!("--config {}", config.path().display())),
        "{unit}"
    );
    assert!(
        unit.contains(&format!("EnvironmentFile=-{}", env.display())),
        "{unit}"
    );
    // `gantry init` seeded what was missing, kept what was there.
    assert!(config.file("configmaps/higress-config.yaml").is_file());
    assert!(config.read("mcpbridges/default.yaml").contains("httpbin"));

    let status = inst.script("status.sh", &[]);
    assert_eq!(status.code(), Some(0), "{}", status.combined());
    assert!(
        status
            .stdout
            .contains(&format!("Gantry is running (pid {pid})")),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains(&format!("listening: port {http}")),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("  ready"), "{}", status.stdout);

    let reply = Client::new(http).get(FOO, "/get").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.summary());
    assert_eq!(reply.echo_name(), Some("httpbin"));
    let access = std::fs::read_to_string(inst.dir().join("logs/access.log")).unwrap_or_default();
    let logs = inst.script("logs.sh", &["access"]);
    assert!(
        logs.stdout.contains("\"route_name\":\"route-foo-bar\"") || access.is_empty(),
        "{}",
        logs.stdout
    );

    let again = inst.script("startup.sh", &[]);
    assert!(
        again.stdout.contains("already running"),
        "{}",
        again.combined()
    );

    let down = inst.script("shutdown.sh", &[]);
    assert_eq!(down.code(), Some(0), "{}", down.combined());
    assert!(
        !alive(pid),
        "gantry (pid {pid}) still runs after shutdown.sh"
    );
    let status = inst.script("status.sh", &[]);
    assert_eq!(status.code(), Some(3), "{}", status.combined());
    assert!(
        status.stdout.contains("Gantry is not running"),
        "{}",
        status.stdout
    );
}

#[tokio::test]
async fn status_tells_a_crash_and_startup_reports_a_gateway_that_exits() {
    let inst = InstallDir::new();
    let out = inst.install(&[]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let up = inst.script("startup.sh", &[]);
    assert_eq!(up.code(), Some(0), "{}", up.combined());
    let pid = inst.pid().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    for _ in 0..100 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = inst.script("status.sh", &[]);
    assert_eq!(status.code(), Some(3), "{}", status.combined());
    assert!(status.stdout.contains("it exited"), "{}", status.stdout);

    // A port taken after install: the gateway exits, and startup.sh says so.
    let _taken = std::net::TcpListener::bind(("0.0.0.0", inst.http_port())).unwrap();
    let up = inst.script("startup.sh", &[]);
    assert_eq!(up.code(), Some(1), "{}", up.combined());
    assert!(
        up.stderr.contains("Starting Gantry fails: it exited"),
        "{}",
        up.combined()
    );
    assert!(up.stderr.contains("already in use"), "{}", up.combined());
}

// Two workers: the installer runs as a blocking child process (`block_in_place` below)
// while the load's clients keep going on the other worker. On a single-threaded test
// runtime they froze mid-request for the whole update, so a connection opened just before
// it sat unused for seconds and was closed as idle when the old process stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_keeps_config_backs_up_and_swaps_a_running_gateway_under_load() {
    let httpbin = EchoServer::start("httpbin");
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    let url = format!("file://{}", config.path().display());
    let inst = InstallDir::new();
    let out = inst.install(&["-c", &url, "-a"]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let env_before = std::fs::read_to_string(inst.dir().join("gantry.env")).unwrap();
    let old = inst.pid().unwrap();

    let again = inst.install(&["-c", &url]);
    assert_ne!(again.code(), Some(0));
    assert!(
        again
            .stderr
            .contains("is already installed in the target folder")
            && again.stderr.contains("Add \"-u\""),
        "{}",
        again.combined()
    );

    // New connections (as a keep-alive client's retry would open): none may fail.
    let load = FreshConnectionLoad::start(inst.http_port(), FOO, 4, "httpbin");
    load.wait_for_more(200).await;
    let dir = inst.dir().display().to_string();
    let bin = gantry_tests::gantry_bin().display().to_string();
    let update = tokio::task::block_in_place(|| inst.get_gantry(&[&dir, "-u", "--binary", &bin]));
    assert_eq!(update.code(), Some(0), "{}", update.combined());
    assert!(
        update
            .stdout
            .contains("The current version is packed here: "),
        "{}",
        update.stdout
    );
    assert!(
        update.stdout.contains("Gantry upgraded"),
        "{}",
        update.combined()
    );
    load.wait_for_more(200).await;
    let (answered, failures) = load.stop().await;
    let log = std::fs::read_to_string(inst.dir().join("logs/gantry.log")).unwrap_or_default();
    assert!(
        failures.is_empty(),
        "{} of {answered} failed: {failures:?}\n--- gantry.log ---\n{log}",
        failures.len()
    );
    assert!(answered >= 400, "{answered}");

    let new = inst.pid().unwrap();
    assert_ne!(new, old);
    assert!(!alive(old), "the old gateway drained and exited");
    assert_eq!(
        std::fs::read_to_string(inst.dir().join("gantry.env")).unwrap(),
        env_before
    );
    let backups: Vec<_> = std::fs::read_dir(inst.tmp())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("gantry_backup_")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    let down = inst.script("shutdown.sh", &[]);
    assert_eq!(down.code(), Some(0), "{}", down.combined());
    assert!(!alive(new));
}

#[test]
fn relative_and_home_config_paths_resolve_like_higress() {
    let inst = InstallDir::new();
    let out = inst.install(&["-c", "./my-conf"]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let conf = inst.tmp().join("my-conf");
    assert!(
        conf.join("configmaps/higress-config.yaml").is_file(),
        "relative to the caller's directory"
    );
    let unit = std::fs::read_to_string(inst.dir().join("gantry.service")).unwrap();
    assert!(
        unit.contains(&format!("--config {}", conf.display())),
        "{unit}"
    );

    let other = InstallDir::new();
    let out = other.install(&["-c", "file://~/higress/conf"]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let conf = other.tmp().join("higress/conf");
    assert!(conf.join("mcpbridges/default.yaml").is_file());
    let unit = std::fs::read_to_string(other.dir().join("gantry.service")).unwrap();
    assert!(
        unit.contains(&format!("--config {} ", conf.display())),
        "{unit}"
    );
    assert!(!unit.contains('~'), "{unit}");
}

#[test]
fn bad_flags_are_refused_with_their_message() {
    let inst = InstallDir::new();
    let dir = inst.dir().display().to_string();
    let closed = closed_port();
    let closed_url = format!("nacos://127.0.0.1:{}", closed.port());
    let held = HeldPort::new();
    let busy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let cases: Vec<(Vec<String>, String)> = vec![
        (vec!["-x".into()], "Unknown option -x".into()),
        (
            vec!["--gateway-http-port=99999".into()],
            "Invalid port for --gateway-http-port: \"99999\"".into(),
        ),
        (
            vec!["--console-port=abc".into()],
            "Invalid port for --console-port: \"abc\"".into(),
        ),
        (vec!["-c".into()], "Option -c needs a value.".into()),
        (
            vec!["-c".into(), "ftp://x".into()],
            "Invalid config service URL: ftp://x".into(),
        ),
        (
            vec!["-c".into(), "file://conf".into()],
            "Relative path must begin with a \".\"".into(),
        ),
        (
            vec!["-c".into(), "nacos://hostonly".into()],
            "Invalid config service URL: nacos://hostonly".into(),
        ),
        (
            vec!["-c".into(), closed_url.clone()],
            "is unreachable".into(),
        ),
        (
            vec![
                "-c".into(),
                closed_url.clone(),
                "--nacos-username=nacos".into(),
            ],
            "Both Nacos username and password shall be provided.".into(),
        ),
        (
            vec!["-k".into(), "short".into()],
            "Expecting 32 characters for --data-enc-key, but got 5.".into(),
        ),
        (
            vec![
                "--gateway-http-port=18080".into(),
                "--console-port=18080".into(),
            ],
            "--console-port and --gateway-http-port are both 18080".into(),
        ),
        (
            vec![format!("--gateway-metrics-port={busy_port}")],
            format!("Port {busy_port} (--gateway-metrics-port) is already in use"),
        ),
        (vec!["-u".into()], "No Gantry install found".into()),
    ];
    let _ = held;
    for (extra, want) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = inst.install(&extra);
        assert_eq!(out.code(), Some(1), "{extra:?}: {}", out.combined());
        assert!(
            out.stderr.contains(&want),
            "{extra:?}: want {want:?} in:\n{}",
            out.combined()
        );
        assert!(
            !inst.dir().join(".configured").exists(),
            "{extra:?} installed anyway"
        );
    }
    // Neither a binary nor --from-source: there is no release to download.
    let out = inst.get_gantry(&[&dir]);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(out.stderr.contains("--binary PATH"), "{}", out.combined());
    let out = inst.get_gantry(&[&dir, "--binary", "/nonexistent/gantry"]);
    assert!(
        out.stderr.contains("is not an executable file"),
        "{}",
        out.combined()
    );
    let out = inst.get_gantry(&["-h"]);
    assert_eq!(out.code(), Some(0));
    assert!(
        out.stdout
            .starts_with("Usage: get-gantry.sh [DIR] [OPTIONS...]"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn nacos_install_starts_and_reports_ready() {
    let nacos = gantry_tests::Rnacos::start().await;
    let url = nacos.config_url();
    let inst = InstallDir::new();
    let key = "0123456789abcdef0123456789abcdef";
    let out = inst.install(&["-c", &url, "-k", key, "-a"]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert!(
        out.stdout
            .contains("--data-enc-key='0123456789abcdef0123456789abcdef'"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Gantry is now started"),
        "{}",
        out.combined()
    );
    let status = inst.script("status.sh", &[]);
    assert_eq!(status.code(), Some(0), "{}", status.combined());
    // Seeded as Higress's first start does, in the namespace.
    assert!(nacos
        .get(
            gantry_tests::rnacos::NS,
            gantry_tests::rnacos::NS,
            "configmaps.higress-config"
        )
        .await
        .is_some());
    let pid = inst.pid().unwrap();
    let down = inst.script("shutdown.sh", &[]);
    assert_eq!(down.code(), Some(0), "{}", down.combined());
    assert!(!alive(pid));
}
