//! `docker-compose.yml` and the `Dockerfile`: `docker compose config` accepts the file where
//! Compose v2 is installed; everywhere, its structure is checked (Higress's port variables,
//! the bind-mounted config dir, a healthcheck on the health port, a restart policy, the
//! `nacos` profile) and the gateway's command line is one `gantry serve` accepts, with the
//! container ports it publishes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use gantry_tests::installer::repo;
use yaml_serde::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn compose_file_has_the_ports_mount_healthcheck_restart_and_nacos_profile() {
    let c = compose();
    let gantry = &c["services"]["gantry"];
    let ports = strings(&gantry["ports"]);
    for want in [
        "${GATEWAY_HTTP_PORT:-80}:80",
        "${GATEWAY_HTTPS_PORT:-443}:443",
        "${GATEWAY_METRICS_PORT:-15020}:15020",
        "${CONSOLE_PORT:-8080}:8080",
    ] {
        assert!(ports.contains(&want.to_string()), "{want} not in {ports:?}");
    }
    let volumes = strings(&gantry["volumes"]);
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with("${FILE_ROOT_DIR:-") && v.ends_with(":/data")),
        "{volumes:?}"
    );
    let health = strings(&gantry["healthcheck"]["test"]).join(" ");
    assert!(
        health.contains("http://127.0.0.1:15021/healthz/ready"),
        "{health}"
    );
    assert!(gantry["restart"].as_str().is_some(), "no restart policy");
    assert!(gantry["build"].as_str().is_some());

    let nacos = &c["services"]["nacos"];
    assert_eq!(strings(&nacos["profiles"]), vec!["nacos".to_string()]);
    assert!(nacos["healthcheck"]["test"].as_sequence().is_some());
    let dep = &gantry["depends_on"]["nacos"];
    assert_eq!(dep["condition"].as_str(), Some("service_healthy"));
    assert_eq!(
        dep["required"].as_bool(),
        Some(false),
        "the file setup needs no Nacos"
    );

    // The command, with its defaults filled in, is a valid `gantry serve` line whose ports are
    // the published container ports (80, 443, 15020, 8080) plus the health port 15021.
    let command: Vec<String> = strings(&gantry["command"])
        .into_iter()
        .map(|a| a.replace("${GANTRY_CONFIG:-/data}", "/data"))
        .collect();
    assert_eq!(command[..3], ["serve", "--config", "/data"]);
    let help = gantry_tests::run_cli(&["serve", "--help"]);
    for flag in command.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.stdout.contains(flag.as_str()),
            "gantry serve has no {flag}"
        );
    }
    for default in [
        "[default: 80]",
        "[default: 443]",
        "[default: 8080]",
        "[default: 15020]",
        "[default: 15021]",
    ] {
        assert!(
            help.stdout.contains(default),
            "{default} missing:\n{}",
            help.stdout
        );
    }

    if Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let out = Command::new("docker")
            .args(["compose", "-f"])
            .arg(repo().join("docker-compose.yml"))
            .args(["--profile", "nacos", "config", "-q"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker compose config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("docker compose v2 not installed: compose file checked by structure only");
    }
}

#[test]
fn dockerfile_is_multi_stage_cached_and_runs_as_a_non_root_user() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let from: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "build and runtime stages: {from:?}");
    assert!(from[1].contains("slim"), "{from:?}");
    for cache in ["target=/usr/local/cargo/registry", "target=/src/target"] {
        assert!(
            text.contains(&format!("--mount=type=cache,{cache}")),
            "no cache mount {cache}"
        );
    }
    let user = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert_ne!(user.trim(), "root");
    assert!(text.contains("setcap cap_net_bind_service=+ep /usr/local/bin/gantry"));
    assert!(text.contains("HEALTHCHECK") && text.contains("15021/healthz/ready"));
}
