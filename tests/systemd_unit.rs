//! The systemd unit runs Gantry as the dedicated user `gantry`, never root, with only
//! `CAP_NET_BIND_SERVICE`, `NoNewPrivileges`, its state directory as `--data-dir` and a file
//! limit the default connection limit follows; `install.sh` still installs it (with `cargo`
//! and `useradd` stood in for), and what it writes passes `systemd-analyze verify` and
//! `shellcheck` where those are installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use gantry_tests::gantry_bin;

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `key=value` settings of `unit`, in order (comments and sections left out).
fn settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn value<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn has_tool(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `systemd-analyze verify` on `unit`: no error and no warning (unknown keys are warnings).
fn verify_unit(unit: &Path) {
    if !has_tool("systemd-analyze") {
        eprintln!("systemd-analyze not installed: unit not verified");
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    let own: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(&*unit.display().to_string()))
        .collect();
    assert!(own.is_empty(), "systemd-analyze verify warns: {own:?}");
}

fn shellcheck(script: &Path) {
    let syntax = Command::new("bash").arg("-n").arg(script).output().unwrap();
    assert!(
        syntax.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&syntax.stderr)
    );
    if !has_tool("shellcheck") {
        return;
    }
    let out = Command::new("shellcheck").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck {}:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unit_runs_as_a_dedicated_user_with_only_the_bind_capability() {
    let unit = std::fs::read_to_string(repo().join("standalone/gantry.service")).unwrap();
    let s = settings(&unit);
    assert_eq!(value(&s, "User"), Some("gantry"));
    assert_eq!(value(&s, "Group"), Some("gantry"));
    assert!(
        !s.iter()
            .any(|(k, v)| (k == "User" || k == "Group") && v == "root"),
        "runs as root"
    );
    assert_eq!(
        value(&s, "AmbientCapabilities"),
        Some("CAP_NET_BIND_SERVICE")
    );
    assert_eq!(
        value(&s, "CapabilityBoundingSet"),
        Some("CAP_NET_BIND_SERVICE")
    );
    assert_eq!(value(&s, "NoNewPrivileges"), Some("yes"));
    assert_eq!(value(&s, "StateDirectory"), Some("gantry"));
    assert_eq!(value(&s, "StateDirectoryMode"), Some("0700"));
    assert_eq!(
        value(&s, "Environment"),
        Some("GANTRY_DATA_DIR=/var/lib/gantry")
    );
    let nofile: u64 = value(&s, "LimitNOFILE").unwrap().parse().unwrap();
    // The comment states the connection limit this file limit gives; keep them together.
    let max = (nofile - (nofile / 4).min(256)) / 10 * 9;
    assert!(
        unit.contains(&format!(
            "{},{:03} client connections",
            max / 1000,
            max % 1000
        )),
        "the unit's comment does not state the {max} connections LimitNOFILE={nofile} gives"
    );
    // systemd must not kill a gateway that is still draining (--drain-timeout 30 s).
    let stop: u64 = value(&s, "TimeoutStopSec").unwrap().parse().unwrap();
    assert!(stop > 30, "TimeoutStopSec={stop}");
}

#[test]
fn install_sh_writes_a_unit_and_scripts_that_check_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let fake_bin = tmp.path().join("fake-bin");
    std::fs::create_dir(&fake_bin).unwrap();
    let write_exe = |name: &str, body: &str| {
        let path = fake_bin.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    // `cargo install ... --root DIR` puts the already built binary in DIR/bin.
    write_exe(
        "cargo",
        &format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
             mkdir -p \"$root/bin\" && cp '{}' \"$root/bin/gantry\"\n",
            gantry_bin().display()
        ),
    );
    // `useradd` records what it was asked instead of adding a user to this machine.
    let useradd_log = tmp.path().join("useradd.log");
    write_exe(
        "useradd",
        &format!("#!/bin/sh\necho \"$@\" >> '{}'\n", useradd_log.display()),
    );
    let dir = tmp.path().join("install");
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Every port free (8080 would clash with the console's default, which is refused).
    let ports = [
        "--gateway-http-port",
        "--gateway-https-port",
        "--gateway-metrics-port",
    ]
    .map(|flag| format!("{flag}={}", gantry_tests::free_port()));
    let out = Command::new(repo().join("standalone/install.sh"))
        .arg(&dir)
        .args(&ports)
        .arg(format!(
            "--gateway-health-port={}",
            gantry_tests::free_port()
        ))
        .arg(format!("--console-port={}", gantry_tests::free_port()))
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install.sh failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let unit_path = dir.join("gantry.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let s = settings(&unit);
    let exec = value(&s, "ExecStart").unwrap();
    assert!(
        exec.starts_with(&format!("{}/bin/gantry serve --config ", dir.display())),
        "{exec}"
    );
    assert!(
        !exec.contains("--data-dir"),
        "the unit's data dir is systemd's: {exec}"
    );
    assert_eq!(value(&s, "User"), Some("gantry"));
    let unit_copy = tmp.path().join("gantry-install-check.service");
    std::fs::write(&unit_copy, &unit).unwrap();
    verify_unit(&unit_copy);

    let am_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let user_exists = Command::new("id")
        .arg("gantry")
        .output()
        .is_ok_and(|o| o.status.success());
    if am_root && !user_exists {
        let added = std::fs::read_to_string(&useradd_log).unwrap();
        assert!(
            added.contains("--system") && added.trim_end().ends_with("gantry"),
            "{added}"
        );
    }

    shellcheck(&repo().join("standalone/install.sh"));
    shellcheck(&repo().join("standalone/get-gantry.sh"));
    for script in [
        "base",
        "startup",
        "shutdown",
        "status",
        "logs",
        "upgrade",
        "configure",
        "reset",
    ] {
        shellcheck(&dir.join(format!("bin/{script}.sh")));
    }
}
