//! Higress standalone's shipped default config (the shapes of its `all-in-one/config/`, kept
//! in config-store's fixtures) passes `gantry validate`: no error, the `envoyfilters/`
//! directory reported once as not applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use gantry_tests::validate;

#[test]
fn higress_standalone_default_config_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config-store/tests/fixtures/higress-standalone-default");
    let out = validate(&dir);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert!(out.errors().is_empty(), "{}", out.combined());
    let envoy: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("envoyfilters"))
        .collect();
    assert_eq!(envoy.len(), 1, "{}", out.stdout);
    assert!(
        envoy[0].starts_with("warning: envoyfilters: 2 EnvoyFilter file(s) not applied"),
        "{}",
        envoy[0]
    );
    assert!(out.stdout.contains("0 error(s)"), "{}", out.stdout);
}
