//! TLS certificates, service sources, services, Wasm plugins and plugin instances.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::Harness;

fn cert(names: &[&str]) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    let c = params.self_signed(&key).unwrap();
    (c.pem(), key.serialize_pem())
}

/// A distinctive fragment of a PEM body (never the header line).
fn fragment(pem: &str) -> String {
    pem.lines().nth(2).unwrap().to_string()
}

#[tokio::test]
async fn tls_certificates_round_trip_and_never_return_the_key() {
    let h = Harness::logged_in().await;
    let (crt, key) = cert(&["a.example.com", "*.b.example.com"]);
    let r = h
        .call(
            Method::POST,
            "/v1/tls-certificates",
            Some(json!({"name": "c1", "cert": crt, "key": key})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let c = r.json();
    assert_eq!(c["cert"], Value::Null);
    assert_eq!(c["key"], Value::Null);
    assert!(
        c["domains"]
            .as_array()
            .unwrap()
            .contains(&json!("*.b.example.com")),
        "{c}"
    );
    assert!(c["validityEnd"].as_str().unwrap().ends_with('Z'), "{c}");
    let file = h.file("secrets/c1.yaml").unwrap();
    assert!(file.contains("type: kubernetes.io/tls"), "{file}");
    assert!(
        file.contains("higress.io/domain_wildcard.b.example.com"),
        "{file}"
    );
    assert_eq!(h.data("/v1/tls-certificates/c1").await, c);
    assert_eq!(h.data("/v1/tls-certificates").await[0]["name"], "c1");
    assert_eq!(
        h.call(
            Method::POST,
            "/v1/tls-certificates",
            Some(json!({"name": "c1", "cert": crt, "key": key}))
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    // Update with the version; then the old version is stale.
    let (crt2, key2) = cert(&["c.example.com"]);
    let mut edit = c.clone();
    edit["cert"] = json!(crt2);
    edit["key"] = json!(key2);
    let r = h
        .call(Method::PUT, "/v1/tls-certificates/c1", Some(edit.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["domains"], json!(["c.example.com"]));
    assert_eq!(
        h.call(Method::PUT, "/v1/tls-certificates/c1", Some(edit))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // A bad key: 400 naming it, without echoing it.
    let before = h.tree();
    let r = h
        .call(Method::PUT, "/v1/tls-certificates/c1", Some(json!({"cert": crt, "key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVlLXh5eg==\n-----END PRIVATE KEY-----\n"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("key"), "{}", r.text);
    assert!(!r.text.contains("c2VjcmV0LXZhbHVlLXh5eg"), "{}", r.text);
    assert_eq!(h.tree(), before);
    let r = h
        .call(
            Method::PUT,
            "/v1/tls-certificates/c1",
            Some(json!({"cert": crt, "key": key2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("does not match"), "{}", r.text);
    assert_eq!(h.tree(), before);
    // No answer anywhere carries key material.
    for path in [
        "/v1/tls-certificates",
        "/v1/tls-certificates/c1",
        "/gantry/status",
        "/v1/gantry/status",
    ] {
        let text = h.get(path).await.text;
        for secret in [fragment(&key), fragment(&key2)] {
            assert!(!text.contains(&secret), "{path} leaks a key");
        }
    }
    assert_eq!(
        h.call(Method::DELETE, "/v1/tls-certificates/c1", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.file("secrets/c1.yaml"), None);
    assert_eq!(
        h.get("/v1/tls-certificates/c1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn service_sources_round_trip_in_the_mcp_bridge() {
    let h = Harness::logged_in().await;
    let body = json!({"name": "backend", "type": "static", "domain": "127.0.0.1:8081", "port": 80, "protocol": "http", "vport": null, "properties": null, "authN": {"enabled": false}});
    let r = h
        .call(Method::POST, "/v1/service-sources", Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["domain"], "127.0.0.1:8081");
    let file = h.file("mcpbridges/default.yaml").unwrap();
    assert!(
        file.contains("name: backend") && file.contains("type: static"),
        "{file}"
    );
    assert_eq!(
        h.call(Method::POST, "/v1/service-sources", Some(body.clone()))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let r = h
        .call(
            Method::POST,
            "/v1/service-sources",
            Some(json!({"name": "dns1", "type": "dns", "domain": "localhost", "port": 8080})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let list = h.data("/v1/service-sources").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Services come from the sources.
    let services = h.data("/v1/services").await;
    let names: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"backend.static") && names.contains(&"dns1.dns"),
        "{services}"
    );
    // Upsert by PUT; the domain changes in the file.
    let mut edit = h.data("/v1/service-sources/backend").await;
    edit["domain"] = json!("127.0.0.1:8082");
    let r = h
        .call(Method::PUT, "/v1/service-sources/backend", Some(edit))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(h
        .file("mcpbridges/default.yaml")
        .unwrap()
        .contains("127.0.0.1:8082"));
    // Unsupported types and bad values are 400 naming the field; nothing changes.
    let before = h.tree();
    for (b, field) in [
        (
            json!({"name": "n", "type": "nacos2", "domain": "127.0.0.1", "port": 8848}),
            "type",
        ),
        (
            json!({"name": "-bad", "type": "dns", "domain": "a.com", "port": 1}),
            "name",
        ),
        (
            json!({"name": "s2", "type": "static", "domain": "not-an-address"}),
            "domain",
        ),
        (
            json!({"name": "s3", "type": "dns", "domain": "a.com"}),
            "port",
        ),
        (
            json!({"name": "s4", "type": "dns", "domain": "a.com", "port": 70000}),
            "port",
        ),
    ] {
        let r = h
            .call(Method::POST, "/v1/service-sources", Some(b.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
        assert_eq!(h.tree(), before, "{b}");
    }
    assert_eq!(
        h.call(Method::DELETE, "/v1/service-sources/dns1", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Method::DELETE, "/v1/service-sources/dns1", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.data("/v1/service-sources")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn services_list_kubernetes_services_with_endpoints() {
    let h = Harness::logged_in().await;
    h.write_file(
        "services/web.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 8080}]\n",
    )
    .await;
    h.write_file("endpoints/web.yaml", "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets:\n- addresses: [{ip: 127.0.0.1}]\n  ports: [{port: 8080}]\n").await;
    let services = h.get("/v1/services").await.json();
    assert_eq!(services["total"], 1);
    let s = &services["data"][0];
    assert_eq!(s["name"], "web.higress-system.svc.cluster.local");
    assert_eq!(s["port"], 8080);
    assert_eq!(s["endpoints"], json!(["127.0.0.1:8080"]));
}

#[tokio::test]
async fn wasm_plugins_are_an_empty_catalogue_and_instances_are_not_enforced() {
    let h = Harness::logged_in().await;
    let list = h.get("/v1/wasm-plugins?lang=en-US").await.json();
    assert_eq!(list["data"], json!([]));
    assert_eq!(list["total"], 0);
    assert_eq!(
        h.get("/v1/wasm-plugins/key-auth").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get("/v1/wasm-plugins/key-auth/config").await.status,
        StatusCode::NOT_FOUND
    );
    let r = h
        .call(
            Method::POST,
            "/v1/wasm-plugins",
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("not available"), "{}", r.text);

    assert_eq!(h.data("/v1/global/plugin-instances").await, json!([]));
    let one = h.data("/v1/global/plugin-instances/key-auth").await;
    assert_eq!(one["enabled"], false);
    assert_eq!(one["pluginName"], "key-auth");
    assert_eq!(one["scope"], "GLOBAL");
    let before = h.tree();
    let r = h
        .call(
            Method::PUT,
            "/v1/global/plugin-instances/key-auth",
            Some(json!({"enabled": true, "rawConfigurations": "consumers: []\n", "pluginName": "key-auth"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("not available") && msg.contains("key-auth"),
        "{msg}"
    );
    assert_eq!(h.tree(), before, "nothing written");
    // Unknown targets are 400; the UI's unconfigured read is 200.
    assert_eq!(
        h.get("/v1/routes/nope/plugin-instances/key-auth")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.get("/v1/domains/nope.com/plugin-instances").await.status,
        StatusCode::BAD_REQUEST
    );
    let r = h
        .call(
            Method::PUT,
            "/v1/routes/nope/plugin-instances/key-auth",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("Unknown route"), "{}", r.text);
    let r = h
        .call(
            Method::PUT,
            "/v1/global/plugin-instances/key-auth",
            Some(json!({"rawConfigurations": "a: ["})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("rawConfigurations"), "{}", r.text);
}
