//! End-to-end tests of remote Wasm plugin modules: the real Higress `transformer` plugin
//! served over HTTP (as Higress's plugin server serves it) and pulled from a real OCI
//! registry (Debian's `docker-registry`), in Higress's image shape behind basic auth and as
//! an anonymous OCI artifact; pull policy, the download cache, a failed download that
//! fails its route closed and recovers on its own, and pull errors in `gantry validate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::backends::Backends;
use gantry_tests::file_server::FileServer;
use gantry_tests::plugins::{
    plugin_config as config, route_to_one as route, wheel_plugin, WasmPlugin,
};
use gantry_tests::registry::{plugin_tar_gz, Registry, OCI_LAYER, WASM_LAYER};
use gantry_tests::tls::TestCert;
use gantry_tests::{try_eventually, validate, Gantry, DEADLINE};
use reqwest::Method;
use serde_json::{json, Value};

/// transformer adding `x-added: <value>` to the request.
fn adds(value: &str) -> Value {
    json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-added", "value": value}]}]})
}

fn transformer() -> Vec<u8> {
    std::fs::read(wheel_plugin("transformer", "2.0.0")).unwrap()
}

/// A name no other test or run uses (repositories and paths stay apart across runs).
fn fresh(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The `x-added` header the backend saw for a request to `host`, or the status.
async fn added(gw: &Gantry, host: &str) -> Result<Option<String>, u16> {
    let reply = gw
        .client()
        .send(Method::GET, host, "/", &[], None)
        .await
        .map_err(|_| 0u16)?;
    if reply.status.as_u16() != 200 {
        return Err(reply.status.as_u16());
    }
    Ok(reply.json()["headers"]["x-added"]
        .as_str()
        .map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_from_a_plugin_server_is_downloaded_once_and_runs() {
    let backends = Backends::start(&["one"]);
    let server = FileServer::start().await;
    let path = format!("/plugins/{}/2.0.0/plugin.wasm", fresh("transformer"));
    server.put(&path, transformer());
    let plugin = WasmPlugin::url("transformer", &server.url(&path)).only_on("with", adds("v1"));
    let config = config(
        &backends,
        &[route("with", "a.test"), route("without", "b.test")],
        std::slice::from_ref(&plugin),
    );
    let out = validate(config.path());
    assert_eq!(
        out.code(),
        Some(0),
        "validate downloads it: {}",
        out.combined()
    );
    assert_eq!(server.hits(&path), 1, "validate fetched the module");

    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_owned();
    let gw = Gantry::builder()
        .env("GANTRY_DATA_DIR", &data_dir)
        .start(config)
        .await;
    gw.client().eventually_backend("b.test", "/", "one").await;
    assert_eq!(added(&gw, "a.test").await, Ok(Some("v1".into())));
    assert_eq!(
        added(&gw, "b.test").await,
        Ok(None),
        "other route untouched"
    );
    assert_eq!(server.hits(&path), 2, "the gateway downloaded it once");

    // A change elsewhere reloads without downloading again.
    gw.config().write_ingress(&route("other", "c.test"));
    gw.client().eventually_backend("c.test", "/", "one").await;
    assert_eq!(server.hits(&path), 2, "no download for unrelated changes");

    // Always: a change to the plugin downloads it again.
    let always = plugin
        .clone()
        .set("imagePullPolicy", json!("Always"))
        .only_on("with", adds("v2"));
    gw.config().write(&always.file_name(), &always.yaml());
    try_eventually(DEADLINE, || async {
        match added(&gw, "a.test").await {
            Ok(Some(v)) if v == "v2" => Ok(()),
            other => Err(format!("not applied yet: {other:?}")),
        }
    })
    .await
    .unwrap();
    assert_eq!(
        server.hits(&path),
        3,
        "Always downloaded the changed plugin again"
    );

    // IfNotPresent after a restart: the copy in the data dir, with the server gone.
    let config = gw.stop();
    server.remove(&path);
    let again = plugin.only_on("with", adds("v3"));
    config.write(&again.file_name(), &again.yaml());
    let gw = Gantry::builder()
        .env("GANTRY_DATA_DIR", &data_dir)
        .start(config)
        .await;
    gw.client().eventually_backend("b.test", "/", "one").await;
    assert_eq!(added(&gw, "a.test").await, Ok(Some("v3".into())));
    assert_eq!(
        server.hits(&path),
        3,
        "the restart used the data dir's copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_fails_closed_then_recovers_by_itself() {
    let backends = Backends::start(&["one"]);
    let server = FileServer::start().await;
    let path = format!("/plugins/{}/2.0.0/plugin.wasm", fresh("transformer"));
    let plugin = WasmPlugin::url("late", &server.url(&path)).only_on("guarded", adds("late"));
    let config = config(
        &backends,
        &[route("guarded", "a.test"), route("free", "b.test")],
        &[plugin],
    );
    let out = validate(config.path());
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(
        out.combined().contains("WasmPlugin late") && out.combined().contains("HTTP 404"),
        "the error names the plugin and the failure: {}",
        out.combined()
    );
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("b.test", "/", "one").await;
    assert_eq!(
        added(&gw, "a.test").await,
        Err(503),
        "FAIL_CLOSE while it cannot be had"
    );

    // The module appears; the gateway tries again on its own (no config change).
    server.put(&path, transformer());
    try_eventually(Duration::from_secs(40), || async {
        match added(&gw, "a.test").await {
            Ok(Some(v)) if v == "late" => Ok(()),
            other => Err(format!("not recovered yet: {other:?}")),
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_pulled_from_oci_registries() {
    let backends = Backends::start(&["one"]);
    let wasm = transformer();

    // Higress's shape (spec.yaml, README.md, then plugin.tar.gz), behind basic auth.
    let private = Registry::start(true).await;
    let repo = format!("plugins/{}", fresh("transformer"));
    private
        .push_image(
            &repo,
            "2.0.0",
            &[
                (
                    "application/vnd.module.wasm.spec.v1+yaml",
                    b"apiVersion: 1.0.0\n".to_vec(),
                ),
                (
                    "application/vnd.module.wasm.doc.v1+markdown",
                    b"# transformer\n".to_vec(),
                ),
                (OCI_LAYER, plugin_tar_gz(&wasm)),
            ],
        )
        .await;
    // The OCI artifact shape (a raw Wasm layer), anonymous, pinned by spec.sha256.
    let public = Registry::start(false).await;
    let public_repo = format!("plugins/{}", fresh("artifact"));
    let manifest = public
        .push_image(&public_repo, "1.0.0", &[(WASM_LAYER, wasm.clone())])
        .await;

    let private_url = format!("oci://{}/{repo}:2.0.0", private.host);
    let plugins = [
        WasmPlugin::url("with-secret", &private_url)
            .set("imagePullSecret", json!("regcred"))
            .only_on("private", adds("private")),
        WasmPlugin::url(
            "artifact",
            &format!("{}/{public_repo}:1.0.0", public.host), // no scheme: OCI, as in Higress
        )
        .set("sha256", json!(manifest.trim_start_matches("sha256:")))
        .only_on("public", adds("public")),
        WasmPlugin::url("no-secret", &private_url).only_on("refused", adds("refused")),
    ];
    let config = config(
        &backends,
        &[
            route("private", "a.test"),
            route("public", "b.test"),
            route("refused", "c.test"),
            route("plain", "d.test"),
        ],
        &plugins,
    );
    config.write("secrets/regcred.yaml", &private.pull_secret("regcred"));

    let out = validate(config.path());
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    let text = out.combined();
    assert!(
        text.contains("WasmPlugin no-secret") && text.contains("set spec.imagePullSecret"),
        "the anonymous pull of a private image says what to set: {text}"
    );
    assert!(
        !text.contains("WasmPlugin with-secret") && !text.contains("WasmPlugin artifact"),
        "the other pulls succeed: {text}"
    );
    assert!(
        !text.contains("pull-s3cret"),
        "the password is never echoed: {text}"
    );

    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("d.test", "/", "one").await;
    assert_eq!(added(&gw, "a.test").await, Ok(Some("private".into())));
    assert_eq!(added(&gw, "b.test").await, Ok(Some("public".into())));
    assert_eq!(
        added(&gw, "c.test").await,
        Err(503),
        "FAIL_CLOSE without credentials"
    );
    assert_eq!(added(&gw, "d.test").await, Ok(None));
    assert!(
        !gw.log().contains("pull-s3cret"),
        "the password stays out of the log"
    );

    // A wrong digest is refused, and the route keeps the last good module.
    let wrong = plugins[1].clone().set("sha256", json!("00".repeat(32)));
    gw.config().write(&wrong.file_name(), &wrong.yaml());
    try_eventually(DEADLINE, || async {
        if gw.log().contains("spec.sha256 wants sha256:0000") {
            Ok(())
        } else {
            Err("no digest error yet".to_string())
        }
    })
    .await
    .unwrap();
    assert_eq!(added(&gw, "b.test").await, Ok(Some("public".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_plugin_servers_are_verified_against_the_system_roots() {
    // A plugin server with a private CA: refused (the route fails closed) until the CA is
    // among the roots Gantry trusts (`SSL_CERT_FILE`, as OpenSSL-style tools read it).
    let backends = Backends::start(&["one"]);
    let cert = TestCert::new(&["127.0.0.1"]);
    let server = FileServer::start_tls(&cert).await;
    let path = format!("/plugins/{}/2.0.0/plugin.wasm", fresh("transformer"));
    server.put(&path, transformer());
    let url = server.url(&path);
    assert!(url.starts_with("https://"), "{url}");
    let plugin = WasmPlugin::url("transformer", &url).only_on("with", adds("tls"));
    let make_config = || {
        config(
            &backends,
            &[route("with", "a.test"), route("without", "b.test")],
            std::slice::from_ref(&plugin),
        )
    };
    let untrusted = Gantry::builder().start(make_config()).await;
    untrusted
        .client()
        .eventually_backend("b.test", "/", "one")
        .await;
    assert_eq!(
        added(&untrusted, "a.test").await,
        Err(503),
        "an untrusted plugin server fails the route closed"
    );
    assert_eq!(server.requests(), 0, "no request went past the handshake");
    drop(untrusted);

    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, &cert.cert_pem).unwrap();
    let gw = Gantry::builder()
        .env("SSL_CERT_FILE", roots.to_str().unwrap())
        .start(make_config())
        .await;
    try_eventually(DEADLINE, || async {
        match added(&gw, "a.test").await {
            Ok(Some(v)) if v == "tls" => Ok(()),
            other => Err(format!("{other:?}\n{}", gw.log())),
        }
    })
    .await
    .unwrap();
    assert_eq!(server.hits(&path), 1, "downloaded over HTTPS once");
}
