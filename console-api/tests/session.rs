//! First run, login, sessions and what needs one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{Auth, Harness, PASSWORD};

#[tokio::test]
async fn first_run_flow_as_the_ui_does_it() {
    let mut h = Harness::fresh().await;
    // Page bootstrap: /user/info is 401, config says not initialised (a JSON boolean).
    assert_eq!(h.get("/user/info").await.status, StatusCode::UNAUTHORIZED);
    let config = h.data("/system/config").await;
    assert_eq!(config["system.initialized"], json!(false));
    let info = h.get("/system/info").await.json();
    assert!(
        info["version"].is_string() && info.get("success").is_none(),
        "{info}"
    );
    assert_eq!(info["capabilities"], json!(["config.ingress.v1"]));
    // Login before init: an error, not a session.
    let early = h.login(PASSWORD).await;
    assert!(!early.status.is_success(), "{}", early.text);

    let init = h
        .call(
            Method::POST,
            "/system/init",
            Some(json!({"adminUser": {"name": "admin", "displayName": "admin", "password": PASSWORD}, "configs": {"login.prompt": "hi", "chat.enabled": false}, "key": "ignored"})),
        )
        .await;
    assert_eq!(init.status, StatusCode::OK, "{}", init.text);
    assert_eq!(
        init.json(),
        json!({"success": true, "message": null, "data": null})
    );
    let config = h.data("/system/config").await;
    assert_eq!(config["system.initialized"], json!(true));
    assert_eq!(config["chat.enabled"], json!(false));
    assert_eq!(config["login.prompt"], json!("hi"));
    // A second init is refused, as Higress (500).
    let again = h
        .call(
            Method::POST,
            "/system/init",
            Some(json!({"adminUser": {"name": "x", "displayName": "x", "password": "y"}})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["success"], false);

    let login = h.login(PASSWORD).await;
    assert_eq!(login.status, StatusCode::CREATED, "{}", login.text);
    assert_eq!(
        login.json(),
        json!({"name": "admin", "password": null, "displayName": "admin", "avatarUrl": null})
    );
    let cookie = login.cookie().unwrap();
    assert!(cookie.starts_with("_hi_sess="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(
        !cookie.contains("Max-Age"),
        "a browser-session cookie: {cookie}"
    );
    let user = h.data("/user/info").await;
    assert_eq!(user["name"], "admin");
    assert_eq!(user["displayName"], "admin");
    assert_eq!(user["password"], json!(null));

    // The password is stored hashed, never in plain text.
    let secret = h.file("secrets/higress-console.yaml").unwrap();
    assert!(!secret.contains("adminPassword:"), "{secret}");
    assert!(secret.contains("adminPasswordHash"), "{secret}");
    let b64 = base64_of(PASSWORD);
    assert!(
        !secret.contains(PASSWORD) && !secret.contains(&b64),
        "{secret}"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn init_validates_every_field() {
    let h = Harness::fresh().await;
    for (body, field) in [
        (json!({}), "adminUser"),
        (
            json!({"adminUser": {"displayName": "a", "password": "p"}}),
            "adminUser.name",
        ),
        (
            json!({"adminUser": {"name": "a", "password": "p"}}),
            "adminUser.displayName",
        ),
        (
            json!({"adminUser": {"name": "a", "displayName": "a"}}),
            "adminUser.password",
        ),
        (
            json!({"adminUser": {"name": "a:b", "displayName": "a", "password": "p"}}),
            "adminUser.name",
        ),
        (json!({"adminUser": "x"}), "adminUser"),
    ] {
        let before = h.tree();
        let r = h
            .call(Method::POST, "/system/init", Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        let v = r.json();
        assert_eq!(v["success"], false);
        assert!(
            v["message"].as_str().unwrap().contains(field),
            "{body}: {v}"
        );
        assert_eq!(h.tree(), before, "a rejected init changes nothing");
    }
}

#[tokio::test]
async fn remember_me_sets_a_thirty_day_cookie() {
    let mut h = Harness::fresh().await;
    h.init_and_login().await;
    let r = h
        .call(
            Method::POST,
            "/session/login",
            Some(json!({"username": "admin", "password": PASSWORD, "autoLogin": true})),
        )
        .await;
    assert!(r.cookie().unwrap().contains("Max-Age=2592000"));
}

#[tokio::test]
async fn wrong_credentials_are_401_and_attempts_are_limited_per_ip() {
    let mut h = Harness::logged_in().await;
    let good = h.auth.clone();
    h.auth = Auth::None;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(h.login("wrong").await.status);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    let msg = h.login("wrong").await.json();
    assert_eq!(msg["success"], false);
    // 10 attempts per minute (the harness's first login counted one).
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        9,
        "{statuses:?}"
    );
    assert!(statuses[9..]
        .iter()
        .all(|s| *s == StatusCode::TOO_MANY_REQUESTS));
    // Even the right password is refused while limited; another client is not.
    assert_eq!(
        h.login(PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.ip = "127.0.0.2:40000".parse().unwrap();
    assert_eq!(h.login(PASSWORD).await.status, StatusCode::CREATED);
    // The session from before still works.
    h.auth = good;
    assert_eq!(h.get("/user/info").await.status, StatusCode::OK);
}

#[tokio::test]
async fn basic_auth_works_for_scripts() {
    let mut h = Harness::logged_in().await;
    h.auth = Auth::Basic("admin".into(), PASSWORD.into());
    assert_eq!(h.data("/user/info").await["name"], "admin");
    assert_eq!(h.get("/v1/gantry/status").await.status, StatusCode::OK);
    h.auth = Auth::Basic("admin".into(), "nope".into());
    assert_eq!(h.get("/user/info").await.status, StatusCode::UNAUTHORIZED);
    h.auth = Auth::Basic("root".into(), PASSWORD.into());
    assert_eq!(h.get("/user/info").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forged_or_stale_cookies_are_refused() {
    let mut h = Harness::logged_in().await;
    let Auth::Cookie(c) = h.auth.clone() else {
        panic!()
    };
    let (name, token) = c.split_once('=').unwrap();
    let (payload, _) = token.split_once('.').unwrap();
    h.auth = Auth::Cookie(format!("{name}={payload}.AAAA"));
    assert_eq!(h.get("/user/info").await.status, StatusCode::UNAUTHORIZED);
    h.auth = Auth::Cookie("_hi_sess=garbage".into());
    let r = h.get("/user/info").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "Login required.", "data": null})
    );
}

#[tokio::test]
async fn password_change_ends_sessions() {
    let mut h = Harness::logged_in().await;
    let old = h.auth.clone();
    let wrong = h
        .call(
            Method::POST,
            "/user/changePassword",
            Some(json!({"oldPassword": "bad", "newPassword": "n3w-pass"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let empty = h
        .call(
            Method::POST,
            "/user/changePassword",
            Some(json!({"oldPassword": PASSWORD})),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(empty.text.contains("newPassword"));
    let ok = h
        .call(
            Method::POST,
            "/user/changePassword",
            Some(json!({"oldPassword": PASSWORD, "newPassword": "n3w-pass"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(ok.cookie().unwrap().contains("Max-Age=0"));
    h.auth = old;
    assert_eq!(h.get("/user/info").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.login(PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.login("n3w-pass").await.status, StatusCode::CREATED);
    assert_eq!(h.get("/user/info").await.status, StatusCode::OK);
    // Logout clears the cookie.
    let out = h.get("/session/logout").await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.cookie().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn a_higress_plain_password_is_accepted_once_and_hashed() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: higress-console\ntype: Opaque\ndata:\n  adminUsername: {}\n  adminDisplayName: {}\n  adminPassword: {}\n  key: {}\n",
        b64("admin"),
        b64("Admin"),
        b64("plain-higress-pw"),
        b64("0123456789abcdef0123456789abcdef")
    );
    let mut h = Harness::with_options(Default::default(), |dir| {
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/higress-console.yaml"), secret).unwrap();
    })
    .await;
    assert_eq!(h.data("/system/config").await["system.initialized"], true);
    assert_eq!(
        h.login("plain-higress-pw").await.status,
        StatusCode::CREATED
    );
    let stored = h.file("secrets/higress-console.yaml").unwrap();
    assert!(!stored.contains("adminPassword:"), "{stored}");
    assert!(!stored.contains(&b64("plain-higress-pw")), "{stored}");
    assert!(stored.contains("adminPasswordHash"), "{stored}");
    assert!(
        stored.contains(&b64("0123456789abcdef0123456789abcdef")),
        "other keys kept: {stored}"
    );
    assert_eq!(h.data("/user/info").await["displayName"], "Admin");
    assert_eq!(
        h.login("plain-higress-pw").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn console_password_option_initialises_the_admin() {
    let options = console_api::ConsoleOptions {
        admin_password: Some("from-the-flag".into()),
        ui_dir: None,
    };
    let mut h = Harness::with_options(options, |_| {}).await;
    assert_eq!(h.data("/system/config").await["system.initialized"], true);
    assert_eq!(h.login("from-the-flag").await.status, StatusCode::CREATED);
    assert_eq!(h.data("/user/info").await["name"], "admin");
    let secret = h.file("secrets/higress-console.yaml").unwrap();
    assert!(!secret.contains(&base64_of("from-the-flag")), "{secret}");
}

/// Every endpoint but the open ones needs a session.
#[tokio::test]
async fn no_session_is_401_everywhere_but_the_open_endpoints() {
    let h = Harness::logged_in().await;
    let none = Auth::None;
    let protected = [
        (Method::GET, "/user/info"),
        (Method::POST, "/user/changePassword"),
        (Method::GET, "/system/higress-config"),
        (Method::PUT, "/system/higress-config"),
        (Method::GET, "/v1/gantry/status"),
        (Method::GET, "/v1/gantry/route-table"),
        (Method::GET, "/v1/consumers"),
        (Method::GET, "/dashboard/info"),
    ];
    for (m, p) in protected {
        let r = h.call_as(&none, m.clone(), p, Some("{}".into())).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {p}: {}", r.text);
    }
    let open = [
        (Method::GET, "/healthz"),
        (Method::GET, "/readyz"),
        (Method::GET, "/gantry/status"),
        (Method::GET, "/system/info"),
        (Method::GET, "/system/config"),
        (Method::GET, "/session/logout"),
    ];
    for (m, p) in open {
        let r = h.call_as(&none, m.clone(), p, None).await;
        assert_eq!(r.status, StatusCode::OK, "{m} {p}: {}", r.text);
    }
}

#[tokio::test]
async fn unsupported_features_say_so() {
    let h = Harness::logged_in().await;
    for path in [
        "/v1/consumers",
        "/v1/ai/routes/x",
        "/v1/mcpServer",
        "/v1/proxy-servers",
        "/dashboard/info",
    ] {
        let r = h.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "{path}");
        let v = r.json();
        assert_eq!(v["success"], false);
        assert!(
            v["message"].as_str().unwrap().contains("not supported"),
            "{v}"
        );
    }
}

#[tokio::test]
async fn unknown_api_paths_are_json_404_and_root_is_the_embedded_console() {
    let h = Harness::logged_in().await;
    let r = h.get("/v1/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["success"], false);
    let root = h.get("/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(
        root.text.contains("<title>Gantry console</title>"),
        "{}",
        root.text
    );
}

#[tokio::test]
async fn higress_config_round_trips_with_its_version() {
    let h = Harness::logged_in().await;
    h.write_file(
        "configmaps/higress-config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: higress-config\n  labels: {keep: me}\ndata:\n  higress: |\n    downstream:\n      idleTimeout: 180\n",
    )
    .await;
    let yaml = h.data("/system/higress-config").await;
    let yaml = yaml.as_str().unwrap().to_string();
    assert!(!yaml.contains("keep"), "labels removed: {yaml}");
    assert!(yaml.contains("resourceVersion"), "{yaml}");
    let edited = yaml.replace("idleTimeout: 180", "idleTimeout: 90");
    let r = h
        .call(
            Method::PUT,
            "/system/higress-config",
            Some(json!({"config": edited})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let stored = h.file("configmaps/higress-config.yaml").unwrap();
    assert!(stored.contains("idleTimeout: 90"), "{stored}");
    assert!(stored.contains("keep: me"), "labels kept: {stored}");
    assert!(!stored.contains("resourceVersion"), "{stored}");
    // The same (now stale) document again: 409, nothing changes.
    let r = h
        .call(
            Method::PUT,
            "/system/higress-config",
            Some(json!({"config": edited})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let bad = h
        .call(
            Method::PUT,
            "/system/higress-config",
            Some(json!({"config": "data: ["})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("config"), "{}", bad.text);
}

#[tokio::test]
async fn console_status_reports_the_applied_revision() {
    let h = Harness::logged_in().await;
    let status = h.data("/v1/gantry/status").await;
    assert!(status["revision"].as_u64().unwrap() > 0, "{status}");
    assert_eq!(
        status["appliedRevision"], status["revision"],
        "writes wait until applied"
    );
    assert!(
        status["store"].as_str().unwrap().starts_with("dir:"),
        "{status}"
    );
    let open = h.get("/gantry/status").await.json();
    assert_eq!(open["revision"], status["revision"]);
}
