//! `gantry init`: seeds what Higress standalone seeds at first start, in a directory or a
//! Nacos namespace, and never overwrites (running it twice changes nothing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::rnacos::NS;
use gantry_tests::{run_cli, Rnacos};

const SEEDED: [&str; 4] = [
    "configmaps/higress-config.yaml",
    "mcpbridges/default.yaml",
    "configmaps/higress-console.yaml",
    "secrets/higress-console.yaml",
];

#[test]
fn init_seeds_a_directory_once_and_keeps_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("conf");
    let conf_s = conf.display().to_string();
    let out = run_cli(&["init", "--config", &conf_s]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert_eq!(out.stdout.matches("created ").count(), 4, "{}", out.stdout);
    for rel in SEEDED {
        assert!(conf.join(rel).is_file(), "{rel} missing:\n{}", out.stdout);
    }
    let config = std::fs::read_to_string(conf.join("configmaps/higress-config.yaml")).unwrap();
    assert!(config.contains("maxRequestHeadersKb: 60"), "{config}");
    assert!(config.contains("accessLogFile: /dev/stdout"), "{config}");
    let check = run_cli(&["validate", "--config", &conf_s]);
    assert_eq!(check.code(), Some(0), "{}", check.combined());

    // A user edit and the generated keys survive a second run.
    let edited = config.replace("idleTimeout: 180", "idleTimeout: 90");
    std::fs::write(conf.join("configmaps/higress-config.yaml"), &edited).unwrap();
    let secret = std::fs::read_to_string(conf.join("secrets/higress-console.yaml")).unwrap();
    let again = run_cli(&["init", "--config", &conf_s]);
    assert_eq!(again.code(), Some(0), "{}", again.combined());
    assert_eq!(again.stdout.matches("kept ").count(), 4, "{}", again.stdout);
    assert!(!again.stdout.contains("created"), "{}", again.stdout);
    assert_eq!(
        std::fs::read_to_string(conf.join("configmaps/higress-config.yaml")).unwrap(),
        edited
    );
    assert_eq!(
        std::fs::read_to_string(conf.join("secrets/higress-console.yaml")).unwrap(),
        secret
    );
}

#[tokio::test]
async fn init_seeds_a_nacos_namespace_once() {
    let nacos = Rnacos::start().await;
    let url = nacos.config_url();
    let key = "0123456789abcdef0123456789abcdef";
    let out = run_cli(&["init", "--config", &url, "--data-enc-key", key]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert_eq!(out.stdout.matches("created ").count(), 4, "{}", out.stdout);
    let stored = nacos
        .get(NS, NS, "configmaps.higress-config")
        .await
        .unwrap();
    assert!(stored.contains("maxRequestHeadersKb: 60"), "{stored}");
    let secret = nacos.get(NS, NS, "secrets.higress-console").await.unwrap();
    assert!(
        secret.starts_with("enc|"),
        "Secrets are encrypted as Higress does: {secret}"
    );

    let again = run_cli(&["init", "--config", &url, "--data-enc-key", key]);
    assert_eq!(again.code(), Some(0), "{}", again.combined());
    assert_eq!(again.stdout.matches("kept ").count(), 4, "{}", again.stdout);
    assert_eq!(
        nacos.get(NS, NS, "secrets.higress-console").await.unwrap(),
        secret
    );
}
