//! Routes and domains through the API: round trips, the files they write, routing, locking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::Harness;

const BRIDGE: &str = "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata:\n  name: default\nspec:\n  registries:\n  - {type: static, name: echo, domain: '127.0.0.1:9'}\n  - {type: static, name: other, domain: '127.0.0.1:10'}\n";

async fn harness() -> Harness {
    let h = Harness::logged_in().await;
    h.write_file("mcpbridges/default.yaml", BRIDGE).await;
    h
}

fn route(name: &str, path: &str, service: &str) -> Value {
    json!({
        "name": name,
        "domains": ["foo.example.com"],
        "path": {"matchType": "PRE", "matchValue": path, "caseSensitive": null},
        "services": [{"name": service, "port": 80, "weight": 100}],
        "version": 0,
        "key": "ui-only field, ignored",
    })
}

#[tokio::test]
async fn route_round_trip_writes_the_ingress_and_routes() {
    let h = harness().await;
    assert_eq!(h.routed("foo.example.com", "/api/x"), None);
    let r = h
        .call(
            Method::POST,
            "/v1/routes",
            Some(route("r1", "/api", "echo.static")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created = r.json();
    assert_eq!(created["name"], "r1");
    assert!(
        created.get("success").is_none(),
        "POST returns the raw object"
    );
    assert_eq!(created["services"][0]["name"], "echo.static");
    assert_eq!(created["readonly"], false);
    let v1 = created["version"].as_str().unwrap().to_string();

    let file = h.file("ingresses/r1.yaml").unwrap();
    for needle in [
        "higress.io/destination: echo.static:80",
        "higress.io/domain_foo.example.com: 'true'",
        "higress.io/resource-definer: higress",
        "host: foo.example.com",
        "pathType: Prefix",
        "kind: McpBridge",
        "ingressClassName: higress",
    ] {
        assert!(file.contains(needle), "{needle} in\n{file}");
    }
    assert!(!file.contains("ui-only"), "{file}");
    assert!(h.routed("foo.example.com", "/api/x").is_some());

    let got = h.data("/v1/routes/r1").await;
    assert_eq!(got, created);
    let list = h.get("/v1/routes?ts=123").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["pageNum"], Value::Null);
    assert_eq!(list["pageSize"], Value::Null);
    assert_eq!(list["data"][0]["name"], "r1");
    let paged = h.get("/v1/routes?pageNum=2&pageSize=1").await.json();
    assert_eq!(paged["data"], json!([]));
    assert_eq!(paged["total"], 1);
    assert_eq!(paged["pageNum"], 2);

    // Update with the version read: path and service change, routing follows.
    let mut edit = got.clone();
    edit["path"]["matchValue"] = json!("/v2");
    edit["services"][0]["name"] = json!("other.static");
    let r = h
        .call(Method::PUT, "/v1/routes/r1", Some(edit.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let updated = r.json();
    assert_ne!(updated["version"], json!(v1));
    assert!(h.routed("foo.example.com", "/v2/x").is_some());
    assert_eq!(h.routed("foo.example.com", "/api/x"), None);
    assert!(h
        .file("ingresses/r1.yaml")
        .unwrap()
        .contains("other.static:80"));

    // The old version is stale now.
    let before = h.tree();
    let r = h.call(Method::PUT, "/v1/routes/r1", Some(edit)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.json()["success"], false);
    assert_eq!(h.tree(), before);
    // POST of an existing name: 409.
    let r = h
        .call(
            Method::POST,
            "/v1/routes",
            Some(route("r1", "/api", "echo.static")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let r = h.call(Method::DELETE, "/v1/routes/r1", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.text.is_empty());
    assert_eq!(h.file("ingresses/r1.yaml"), None);
    assert_eq!(h.routed("foo.example.com", "/v2/x"), None);
    assert_eq!(h.get("/v1/routes/r1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.call(Method::DELETE, "/v1/routes/r1", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn route_features_round_trip_through_annotations() {
    let h = harness().await;
    let body = json!({
        "name": "full",
        "domains": [],
        "path": {"matchType": "EQUAL", "matchValue": "/exact", "caseSensitive": false},
        "methods": ["GET", "POST"],
        "headers": [{"key": "x-env", "matchType": "EQUAL", "matchValue": "prod", "caseSensitive": null}],
        "urlParams": [{"key": "q", "matchType": "PRE", "matchValue": "a", "caseSensitive": null}],
        "services": [
            {"name": "echo.static", "port": 80, "weight": 30},
            {"name": "other.static", "port": 80, "weight": 70, "version": "v1"}
        ],
        "rewrite": {"enabled": true, "path": "/new", "host": "up.example.com"},
        "proxyNextUpstream": {"enabled": false, "attempts": 3, "timeout": 5, "conditions": ["error", "timeout"]},
        "cors": {"enabled": true, "allowOrigins": ["*"], "allowMethods": ["GET"], "maxAge": 60, "allowCredentials": false},
        "headerControl": {"enabled": true, "request": {"add": [{"key": "x-a", "value": "1"}], "remove": ["x-b"]}},
        "customConfigs": {"higress.io/timeout": "5"},
        "customLabels": {"team": "web"},
    });
    let r = h.call(Method::POST, "/v1/routes", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let back = r.json();
    for field in [
        "path",
        "methods",
        "headers",
        "urlParams",
        "rewrite",
        "proxyNextUpstream",
        "customConfigs",
        "customLabels",
    ] {
        assert_eq!(back[field], body[field], "{field}: {back}");
    }
    assert_eq!(back["services"][1]["version"], "v1");
    assert_eq!(back["cors"]["allowOrigins"], json!(["*"]));
    assert_eq!(
        back["headerControl"]["request"]["add"],
        body["headerControl"]["request"]["add"]
    );
    let file = h.file("ingresses/full.yaml").unwrap();
    for needle in [
        "higress.io/domain_higress-default-domain",
        "higress.io/match-method: GET POST",
        "higress.io/exact-match-header-x-env: prod",
        "higress.io/prefix-match-query-q: a",
        "higress.io/ignore-path-case: 'true'",
        "disabled.higress.io/proxy-next-upstream-tries: '3'",
        "higress.io/rewrite-path: /new",
        "30% echo.static:80",
        "pathType: Exact",
    ] {
        assert!(file.contains(needle), "{needle} in\n{file}");
    }
    assert!(!h.gateway.table().is_empty());
}

#[tokio::test]
async fn bad_route_bodies_are_400_naming_the_field_and_change_nothing() {
    let h = harness().await;
    let before = h.tree();
    let cases = [
        (json!({"domains": []}), "name"),
        (
            json!({"name": "a", "services": [{"name": "echo.static"}]}),
            "path",
        ),
        (
            json!({"name": "a", "path": {"matchType": "EXACT", "matchValue": "/"}, "services": [{"name": "echo.static"}]}),
            "path.matchType",
        ),
        (
            json!({"name": "a", "path": {"matchType": "PRE", "matchValue": "/"}, "services": []}),
            "services",
        ),
        (
            json!({"name": "a", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static", "port": "http"}]}),
            "services[0].port",
        ),
        (
            json!({"name": "a", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "nowhere.static"}]}),
            "nowhere.static",
        ),
        (
            json!({"name": "Bad Name", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static"}]}),
            "name",
        ),
        (
            json!({"name": "a.internal", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static"}]}),
            "internal",
        ),
        (
            json!({"name": "a", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static"}], "customConfigs": {"higress.io/destination": "x"}}),
            "customConfigs",
        ),
        (
            json!({"name": "a", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static"}], "authConfig": {"enabled": true, "allowedConsumers": ["c"]}}),
            "not enforced",
        ),
        (
            json!({"name": "a", "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static"}], "domains": ["bad host"]}),
            "bad host",
        ),
    ];
    for (body, needle) in cases {
        let r = h.call(Method::POST, "/v1/routes", Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        let v = r.json();
        assert_eq!(v["success"], false);
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
        assert_eq!(h.tree(), before, "{body} changed the store");
    }
    let r = h
        .call_as(
            &h.auth,
            Method::POST,
            "/v1/routes",
            Some("{not json".into()),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.tree(), before);
}

#[tokio::test]
async fn file_edits_show_and_unknown_fields_survive_an_update() {
    let h = harness().await;
    h.write_file(
        "ingresses/hand.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: hand\n  annotations:\n    higress.io/destination: echo.static:80\n    example.com/note: keep me\nspec:\n  ingressClassName: higress\n  rules:\n  - host: hand.example.com\n    http:\n      paths:\n      - path: /hand\n        pathType: Prefix\n        backend:\n          resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}\n",
    )
    .await;
    let got = h.data("/v1/routes/hand").await;
    assert_eq!(got["path"]["matchValue"], "/hand");
    assert_eq!(got["domains"], json!(["hand.example.com"]));
    assert_eq!(got["customConfigs"]["example.com/note"], "keep me");
    assert_eq!(got["readonly"], false);
    let mut edit = got.clone();
    edit["path"]["matchValue"] = json!("/edited");
    let r = h.call(Method::PUT, "/v1/routes/hand", Some(edit)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let file = h.file("ingresses/hand.yaml").unwrap();
    assert!(file.contains("example.com/note: keep me"), "{file}");
    assert!(file.contains("path: /edited"), "{file}");

    // An Ingress the form cannot show is readonly and refused on update.
    h.write_file(
        "ingresses/multi.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: multi\n  annotations: {higress.io/destination: echo.static:80}\nspec:\n  rules:\n  - host: m.example.com\n    http:\n      paths:\n      - {path: /a, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}\n      - {path: /b, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}\n",
    )
    .await;
    let multi = h.data("/v1/routes/multi").await;
    assert_eq!(multi["readonly"], true);
    let before = h.file("ingresses/multi.yaml");
    let r = h.call(Method::PUT, "/v1/routes/multi", Some(multi)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(h.file("ingresses/multi.yaml"), before);
}

#[tokio::test]
async fn two_writers_racing_on_one_route_one_wins() {
    let h = harness().await;
    let r = h
        .call(
            Method::POST,
            "/v1/routes",
            Some(route("race", "/race", "echo.static")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let base = r.json();
    let mut a = base.clone();
    a["path"]["matchValue"] = json!("/a");
    let mut b = base.clone();
    b["path"]["matchValue"] = json!("/b");
    let (ra, rb) = tokio::join!(
        h.call(Method::PUT, "/v1/routes/race", Some(a)),
        h.call(Method::PUT, "/v1/routes/race", Some(b)),
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        ra.text,
        rb.text
    );
    let winner = if ra.status == StatusCode::OK {
        "/a"
    } else {
        "/b"
    };
    assert_eq!(
        h.data("/v1/routes/race").await["path"]["matchValue"],
        winner
    );
}

#[tokio::test]
async fn domains_round_trip_and_drive_route_tls() {
    let h = harness().await;
    let r = h
        .call(
            Method::POST,
            "/v1/domains",
            Some(json!({"name": "foo.example.com", "enableHttps": "off"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let d = r.json();
    assert_eq!(d["name"], "foo.example.com");
    let file = h.file("configmaps/domain-foo.example.com.yaml").unwrap();
    assert!(
        file.contains("higress.io/config-map-type: domain"),
        "{file}"
    );
    assert!(file.contains("domain: foo.example.com"), "{file}");
    assert_eq!(h.data("/v1/domains").await[0]["name"], "foo.example.com");
    assert_eq!(h.data("/v1/domains/foo.example.com").await, d);
    let r = h
        .call(
            Method::POST,
            "/v1/domains",
            Some(json!({"name": "foo.example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // A missing certificate is a rejected write, with the reason.
    let mut on = d.clone();
    on["enableHttps"] = json!("on");
    on["certIdentifier"] = json!("missing-cert");
    let r = h
        .call(Method::PUT, "/v1/domains/foo.example.com", Some(on))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("missing-cert"), "{}", r.text);
    assert_eq!(
        h.file("configmaps/domain-foo.example.com.yaml").unwrap(),
        file
    );
    // A route on the domain; the domain cannot be deleted while it has routes.
    let r = h
        .call(
            Method::POST,
            "/v1/routes",
            Some(route("r1", "/", "echo.static")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let routes = h.data("/v1/domains/foo.example.com/routes").await;
    assert_eq!(routes[0]["name"], "r1");
    assert_eq!(
        h.data("/v1/routes?domainName=foo.example.com").await[0]["name"],
        "r1"
    );
    assert_eq!(h.data("/v1/routes?domainName=other.com").await, json!([]));
    let r = h
        .call(Method::DELETE, "/v1/domains/foo.example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("has routes"));
    // Stale version → 409.
    let mut stale = d.clone();
    stale["enableHttps"] = json!("force");
    let ok = h
        .call(
            Method::PUT,
            "/v1/domains/foo.example.com",
            Some(stale.clone()),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let again = h
        .call(Method::PUT, "/v1/domains/foo.example.com", Some(stale))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let bad = h
        .call(
            Method::PUT,
            "/v1/domains/foo.example.com",
            Some(json!({"enableHttps": "maybe"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("enableHttps"));
    assert_eq!(
        h.call(Method::DELETE, "/v1/routes/r1", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Method::DELETE, "/v1/domains/foo.example.com", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.file("configmaps/domain-foo.example.com.yaml"), None);
}

#[tokio::test]
async fn the_default_domain_is_created_on_first_save() {
    let h = harness().await;
    let r = h
        .call(
            Method::PUT,
            "/v1/domains/other.example.com",
            Some(json!({"enableHttps": "off"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .call(
            Method::PUT,
            "/v1/domains/higress-default-domain",
            Some(json!({"name": "higress-default-domain", "enableHttps": "off", "version": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(h
        .file("configmaps/domain-higress-default-domain.yaml")
        .is_some());
}
