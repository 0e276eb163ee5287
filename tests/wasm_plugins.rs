//! End-to-end tests of Wasm plugins: real Higress plugins from the `gpustack-higress-plugins`
//! wheel (`transformer`, `gpustack-ip-acl`, the Rust-SDK `ai-data-masking` rewriting a body)
//! loaded unchanged by the proxy-wasm host, phase/priority order, failure handling
//! (`failStrategy`) with trapping and looping WAT modules and a missing module, a plugin
//! configuration changed live under load, `gpustack-ext-auth` asking an auth service
//! through `proxy_http_call`, and `gpustack-rate-limit` counting in a real Redis through
//! Higress's Redis calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::backends::Backends;
use gantry_tests::config::Registry;
use gantry_tests::load::KeepAliveLoad;
use gantry_tests::plugins::{
    plugin_config as config, route_to_one as route, wat_append_header, wat_pairs, wat_plugin,
    wat_request_headers, wat_with, wheel_plugin, WasmPlugin,
};
use gantry_tests::ports::closed_port;
use gantry_tests::redis::Redis;
use gantry_tests::{try_eventually, validate, Gantry, DEADLINE};
use reqwest::Method;
use serde_json::{json, Value};

const TRANSFORMER: (&str, &str) = ("transformer", "2.0.0");
const IP_ACL: (&str, &str) = ("gpustack-ip-acl", "0.1.0");
const DATA_MASKING: (&str, &str) = ("ai-data-masking", "2.0.3");
const AI_STATISTICS: (&str, &str) = ("ai-statistics", "2.0.0");
const EXT_AUTH: (&str, &str) = ("gpustack-ext-auth", "0.1.3");
const RATE_LIMIT: (&str, &str) = ("gpustack-rate-limit", "1.0.1");

/// Gantry with `plugin` on route `r` (`a.test` → `one`) and `redis` as the static registry
/// `redis` (`outbound|80||redis.static`), started and answering.
async fn start_with_redis(backends: &Backends, redis: &Redis, plugin: WasmPlugin) -> Gantry {
    let config = config(backends, &[route("r", "a.test")], &[plugin]);
    let mut registries = backends.registries();
    registries.push(Registry::fixed("redis", redis.addr));
    config.write_mcpbridge(&registries);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("a.test", "/", "one").await;
    gw
}

/// `ai-data-masking` with `settings` as its global config on route `masked` (`a.test`),
/// started and answering.
async fn with_masking(settings: Value) -> (Backends, Gantry) {
    let backends = Backends::start(&["one"]);
    let (name, version) = DATA_MASKING;
    let plugin = WasmPlugin::file("ai-data-masking", &wheel_plugin(name, version))
        .set("defaultConfig", settings);
    let config = config(&backends, &[route("masked", "a.test")], &[plugin]);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("a.test", "/", "one").await;
    (backends, gw)
}

/// POSTs an OpenAI chat request whose one user message is `content` to `host`.
async fn post_chat(gw: &Gantry, host: &str, content: &str) -> gantry_tests::Reply {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": content}]});
    gw.client()
        .send(
            Method::POST,
            host,
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            Some(body.to_string()),
        )
        .await
        .unwrap()
}

fn transformer_config(value: &str) -> Value {
    json!({
        "reqRules": [
            {"operate": "remove", "headers": [{"key": "x-drop"}]},
            {"operate": "add", "headers": [{"key": "x-added", "value": value}],
             "querys": [{"key": "plugin", "value": value}]}
        ],
        "respRules": [
            {"operate": "add", "headers": [{"key": "x-resp", "value": value}]}
        ]
    })
}

/// What the echo backend saw of a request sent to `host`, and the reply's `x-resp`.
async fn seen(gw: &Gantry, host: &str) -> Result<(Value, Option<String>), String> {
    let reply = gw
        .client()
        .send(Method::GET, host, "/echo?a=1", &[("x-drop", "gone")], None)
        .await?
        .expect_backend("one")?;
    let resp = reply
        .headers
        .get("x-resp")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((reply.json(), resp))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transformer_rewrites_headers_and_query_on_its_route_only() {
    let backends = Backends::start(&["one"]);
    let (name, version) = TRANSFORMER;
    let plugin = WasmPlugin::file("transformer", &wheel_plugin(name, version))
        .only_on("with-plugin", transformer_config("v1"));
    let config = config(
        &backends,
        &[route("with-plugin", "a.test"), route("without", "b.test")],
        &[plugin],
    );
    let out = validate(config.path());
    assert_eq!(out.code(), Some(0), "validate: {}", out.combined());
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("b.test", "/", "one").await;

    let (body, resp) = seen(&gw, "a.test").await.unwrap();
    let headers = &body["headers"];
    assert_eq!(headers["x-added"], "v1", "request header added: {body}");
    assert!(
        headers.get("x-drop").is_none(),
        "request header removed: {body}"
    );
    assert_eq!(
        body["args"]["plugin"], "v1",
        "query parameter added: {body}"
    );
    assert_eq!(body["args"]["a"], "1", "existing query kept: {body}");
    assert_eq!(resp.as_deref(), Some("v1"), "response header added");

    let (body, resp) = seen(&gw, "b.test").await.unwrap();
    assert!(
        body["headers"].get("x-added").is_none(),
        "other route untouched: {body}"
    );
    assert_eq!(
        body["headers"]["x-drop"], "gone",
        "other route untouched: {body}"
    );
    assert!(
        body["args"].get("plugin").is_none(),
        "other route untouched: {body}"
    );
    assert_eq!(resp, None, "other route's response untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_acl_denies_a_cidr_and_passes_an_allowed_one() {
    let backends = Backends::start(&["one"]);
    let (name, version) = IP_ACL;
    let plugin = WasmPlugin::file("gpustack-ip-acl", &wheel_plugin(name, version))
        .set("phase", json!("AUTHN"))
        .set("priority", json!(350))
        .set(
            "defaultConfig",
            json!({"consumers": {
                "denied": {"deniedCidrs": ["127.0.0.0/8"]},
                "allowed": {"allowedCidrs": ["127.0.0.1/32"]},
                "elsewhere": {"allowedCidrs": ["10.0.0.0/8"]}
            }}),
        );
    let config = config(&backends, &[route("acl", "a.test")], &[plugin]);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("a.test", "/", "one").await;
    let as_consumer = |consumer: &'static str| {
        let gw = &gw;
        async move {
            gw.client()
                .send(
                    Method::GET,
                    "a.test",
                    "/",
                    &[("x-mse-consumer", consumer)],
                    None,
                )
                .await
                .unwrap()
        }
    };
    let mut failures = Vec::new();
    for (consumer, status) in [
        ("denied", 403),
        ("elsewhere", 403),
        ("allowed", 200),
        ("nobody", 200),
    ] {
        let reply = as_consumer(consumer).await;
        if reply.status.as_u16() != status {
            failures.push(format!(
                "{consumer}: expected {status}, got {}",
                reply.summary()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        backends.get("one").requests().iter().all(|r| {
            let c = r.headers.iter().find(|(k, _)| k == "x-mse-consumer");
            !matches!(c.map(|(_, v)| v.as_str()), Some("denied" | "elsewhere"))
        }),
        "a denied request reached the backend"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trapping_looping_and_greedy_plugins_fail_open_or_closed() {
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    let trap = wat_plugin(dir.path(), "trap", &wat_request_headers("unreachable"));
    let looping = wat_plugin(
        dir.path(),
        "loop",
        &wat_request_headers("(loop $forever (br $forever)) (i32.const 0)"),
    );
    // Grows memory until the host's limit stops it (a trap, not an abort of the gateway).
    let grow = wat_plugin(
        dir.path(),
        "grow",
        &wat_request_headers(
            "(loop $more (br_if $more (i32.ne (memory.grow (i32.const 1024)) (i32.const -1)))) (i32.const 0)",
        ),
    );
    let missing = dir.path().join("missing.wasm");
    let mut plugins = Vec::new();
    let mut ingresses = Vec::new();
    for (name, path) in [
        ("trap", &trap),
        ("loop", &looping),
        ("grow", &grow),
        ("missing", &missing),
    ] {
        for strategy in ["FAIL_OPEN", "FAIL_CLOSE"] {
            let ingress = format!("{name}-{}", &strategy[5..].to_lowercase());
            ingresses.push(route(&ingress, &format!("{ingress}.test")));
            plugins.push(
                WasmPlugin::file(&ingress, path)
                    .set("failStrategy", json!(strategy))
                    .only_on(&ingress, json!({})),
            );
        }
    }
    ingresses.push(route("healthy", "healthy.test"));
    let config = config(&backends, &ingresses, &plugins);
    let out = validate(config.path());
    assert_eq!(
        out.code(),
        Some(1),
        "a missing module is an error: {}",
        out.combined()
    );
    assert!(
        out.combined().contains("WasmPlugin missing-open")
            && out.combined().contains("missing.wasm"),
        "the error names the plugin and its module: {}",
        out.combined()
    );
    let gw = Gantry::start(config).await;
    gw.client()
        .eventually_backend("healthy.test", "/", "one")
        .await;
    let mut failures = Vec::new();
    for round in 0..2 {
        for (host, status) in [
            ("trap-open.test", 200),
            ("trap-close.test", 503),
            ("loop-open.test", 200),
            ("loop-close.test", 503),
            ("grow-open.test", 200),
            ("grow-close.test", 503),
            ("missing-open.test", 200),
            ("missing-close.test", 503),
            ("healthy.test", 200),
        ] {
            let reply = gw.client().get(host, "/").await.unwrap();
            if reply.status.as_u16() != status {
                failures.push(format!(
                    "round {round} {host}: expected {status}, got {}",
                    reply.summary()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let log = gw.log();
    let trap_lines = log
        .lines()
        .filter(|l| l.contains("trap-close") && l.contains("VM recycled"))
        .count();
    assert_eq!(
        trap_lines, 1,
        "a VM failure is logged once per plugin at warn level:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_config_changes_live_under_load_without_failures() {
    let backends = Backends::start(&["one"]);
    let (name, version) = TRANSFORMER;
    let path = wheel_plugin(name, version);
    let plugin = |value: &str| {
        WasmPlugin::file("transformer", &path).only_on("live", transformer_config(value))
    };
    let config = config(&backends, &[route("live", "a.test")], &[plugin("v1")]);
    let gw = Gantry::start(config).await;
    let has = |value: &'static str| {
        let gw = &gw;
        async move {
            let (body, _) = seen(gw, "a.test").await?;
            if body["headers"]["x-added"] == value {
                Ok(())
            } else {
                Err(format!("x-added is not {value}: {body}"))
            }
        }
    };
    try_eventually(DEADLINE, || has("v1")).await.unwrap();
    let load = KeepAliveLoad::start(gw.http_port(), "a.test", 4, &["one"]);
    load.wait_for_more(50).await;
    for value in ["v2", "v3", "v4"] {
        let p = plugin(value);
        gw.config().write(&p.file_name(), &p.yaml());
        try_eventually(DEADLINE, || has(value)).await.unwrap();
        load.wait_for_more(50).await;
    }
    let report = load.stop().await;
    report.assert_lossless("3 plugin config changes", 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_run_in_phase_then_priority_order() {
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    // (name, phase, priority): expected order b (AUTHN 100), a (AUTHN 10), d (AUTHZ),
    // s (STATS), c (UNSPECIFIED_PHASE, despite its high priority).
    let specs = [
        ("a", "AUTHN", 10),
        ("b", "AUTHN", 100),
        ("c", "UNSPECIFIED_PHASE", 1000),
        ("d", "AUTHZ", 0),
        ("s", "STATS", 5),
    ];
    let plugins: Vec<WasmPlugin> = specs
        .iter()
        .map(|(name, phase, priority)| {
            let path = wat_plugin(dir.path(), name, &wat_append_header("x-order", name));
            WasmPlugin::file(&format!("order-{name}"), &path)
                .set("phase", json!(phase))
                .set("priority", json!(priority))
                .set("defaultConfig", json!({}))
        })
        .collect();
    let config = config(&backends, &[route("ordered", "a.test")], &plugins);
    let gw = Gantry::start(config).await;
    let reply = gw.client().eventually_backend("a.test", "/", "one").await;
    assert_eq!(
        reply.json()["headers"]["x-order"],
        "b, a, d, s, c",
        "plugins ran in Higress order: {}",
        reply.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_plugin_rewrites_the_request_body() {
    let (_backends, gw) = with_masking(json!({
        "deny_openai": true,
        "deny_words": [],
        "replace_roles": [{"regex": "secret-[0-9]+", "type": "replace", "value": "****"}]
    }))
    .await;
    let reply = post_chat(&gw, "a.test", "my key is secret-12345")
        .await
        .expect_backend("one")
        .unwrap();
    let seen: Value = serde_json::from_str(reply.json()["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        seen["messages"][0]["content"],
        "my key is ****",
        "the backend got the masked body: {}",
        reply.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_plugin_config_keeps_the_last_good_one() {
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    // Accepts configurations shorter than 20 bytes, rejects longer ones.
    let wat = wat_append_header("x-plugin", "ran").replace(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))"#,
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.lt_u (local.get 1) (i32.const 20)))"#,
    );
    assert!(wat.contains("i32.lt_u"), "template changed: {wat}");
    let path = wat_plugin(dir.path(), "picky", &wat);
    let plugin = |config: Value| WasmPlugin::file("picky", &path).set("defaultConfig", config);
    let config = config(&backends, &[route("kept", "a.test")], &[plugin(json!({}))]);
    let gw = Gantry::start(config).await;
    let reply = gw.client().eventually_backend("a.test", "/", "one").await;
    assert_eq!(
        reply.json()["headers"]["x-plugin"],
        "ran",
        "{}",
        reply.summary()
    );
    let bad = plugin(json!({"a long configuration": "that the plugin rejects"}));
    gw.config().write(&bad.file_name(), &bad.yaml());
    try_eventually(DEADLINE, || async {
        let log = gw.log();
        if log.contains("proxy_on_configure rejected the plugin configuration")
            && log.contains("keeping the last good version")
        {
            Ok(())
        } else {
            Err("no rejection in the log yet".to_string())
        }
    })
    .await
    .unwrap();
    let reply = gw
        .client()
        .get("a.test", "/")
        .await
        .unwrap()
        .expect_backend("one")
        .unwrap();
    assert_eq!(
        reply.json()["headers"]["x-plugin"],
        "ran",
        "the last good version stays in force: {}",
        reply.summary()
    );
    let out = validate(gw.config().path());
    assert_eq!(
        out.code(),
        Some(1),
        "validate reports the rejection: {}",
        out.combined()
    );
    assert!(
        out.combined().contains("WasmPlugin picky") && out.combined().contains("rejected"),
        "{}",
        out.combined()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_metrics_reach_the_metrics_port() {
    let backends = Backends::start(&["one"]);
    let (name, version) = AI_STATISTICS;
    let plugin = WasmPlugin::file("ai-statistics", &wheel_plugin(name, version));
    let config = config(&backends, &[route("stats", "s.test")], &[plugin]);
    let gw = Gantry::builder().metrics(true).start(config).await;
    gw.client().eventually_backend("s.test", "/", "one").await;
    // An OpenAI chat completion as the upstream's answer: ai-statistics counts its tokens.
    let completion = json!({
        "id": "c1", "object": "chat.completion", "model": "m1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    })
    .to_string();
    let request = json!({"model": "m1", "messages": [{"role": "user", "content": "hi"}]});
    let reply = gw
        .client()
        .send(
            Method::POST,
            "s.test",
            "/v1/chat/completions",
            &[
                ("content-type", "application/json"),
                ("x-reply", &completion),
            ],
            Some(request.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
    let input_tokens = |text: &str| {
        text.lines()
            .filter(|l| {
                l.starts_with(
                    "gantry_wasm_plugin_counter{plugin=\"ai-statistics\",name=\"route.stats.",
                )
            })
            .find(|l| l.contains(".model.m1.") && l.contains(".metric.input_token\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    try_eventually(DEADLINE, || async {
        let text = gantry_tests::scrape::scrape(gw.metrics_port()).await;
        (input_tokens(&text) == Some(3.0))
            .then_some(())
            .ok_or_else(|| format!("no input_token counter of 3 in\n{text}\n{}", gw.log()))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ext_auth_asks_its_auth_service_with_an_http_call() {
    let backends = Backends::start(&["one", "auth"]);
    let (name, version) = EXT_AUTH;
    let wasm = wheel_plugin(name, version);
    // Each copy acts only on the routes its regex names; the auth backend answers the
    // status its path asks for (`/status/<code>`).
    let auth = |plugin: &str, route: &str, service: &str, path: &str| {
        WasmPlugin::file(plugin, &wasm).set(
            "defaultConfig",
            json!({
                "route_match_regexes": [format!("^{route}$")],
                "authz": {
                    "endpoint": {"service_name": service, "service_port": 80,
                                 "path": path, "request_method": "GET"},
                    "timeout": 2000,
                    "authorization_request": {"allowed_headers": [{"exact": "x-api-key"}]},
                },
                "status_on_error": 403,
            }),
        )
    };
    let plugins = [
        auth("ext-allow", "allowed", "auth.static", "/status/200"),
        auth("ext-deny", "denied", "auth.static", "/status/401"),
        auth("ext-down", "down", "down.static", "/status/200"),
    ];
    let ingresses = [
        route("allowed", "a.test"),
        route("denied", "b.test"),
        route("down", "d.test"),
        route("open", "c.test"),
    ];
    let config = config(&backends, &ingresses, &plugins);
    let mut registries = backends.registries();
    registries.push(Registry::fixed("down", closed_port()));
    config.write_mcpbridge(&registries);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("c.test", "/", "one").await;
    assert!(
        backends.get("auth").take_requests().is_empty(),
        "a route no regex names makes no call"
    );

    let key = [("x-api-key", "k-123")];
    let reply = gw
        .client()
        .send(Method::GET, "a.test", "/models?x=1", &key, None)
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200, "allowed: {}", reply.summary());
    reply.clone().expect_backend("one").unwrap();
    let calls = backends.get("auth").take_requests();
    assert_eq!(calls.len(), 1, "one authorization call: {calls:#?}");
    assert_eq!(
        (calls[0].method.as_str(), calls[0].path.as_str()),
        ("GET", "/status/200")
    );
    assert!(
        calls[0]
            .headers
            .iter()
            .any(|(k, v)| k == "x-api-key" && v == "k-123"),
        "the allowed header reached the auth service: {calls:#?}"
    );

    let before = backends.hits("one");
    let reply = gw
        .client()
        .send(Method::GET, "b.test", "/", &key, None)
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 401, "denied: {}", reply.summary());
    assert_eq!(
        backends.hits("one"),
        before,
        "a denied request never reaches the upstream"
    );
    assert_eq!(backends.get("auth").take_requests().len(), 1);

    let reply = gw
        .client()
        .send(Method::GET, "d.test", "/", &key, None)
        .await
        .unwrap();
    assert_eq!(
        reply.status.as_u16(),
        403,
        "an unreachable auth service fails closed (status_on_error): {}",
        reply.summary()
    );
    assert_eq!(backends.hits("one"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_run_and_their_http_calls_are_answered() {
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    let cluster = "outbound|80||one.static";
    let (headers, headers_len) = wat_pairs(&[
        (":method", "GET"),
        (":path", "/tick"),
        (":authority", "ticker"),
    ]);
    // Every 50 ms: count a tick and call the `one` backend; count each answer.
    let imports = r#"(import "env" "proxy_set_tick_period_milliseconds" (func $period (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $inc (param i32 i64) (result i32)))
  (import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))"#;
    let data = format!(
        r#"(data (i32.const 16) "ticks") (data (i32.const 32) "answers")
  (data (i32.const 64) "{cluster}") (data (i32.const 128) "{headers}")"#
    );
    let funcs = format!(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $period (i32.const 50)))
    (drop (call $define (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 1000)))
    (drop (call $define (i32.const 0) (i32.const 32) (i32.const 7) (i32.const 1004)))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $inc (i32.load (i32.const 1000)) (i64.const 1)))
    (drop (call $call (i32.const 64) (i32.const {cluster_len}) (i32.const 128) (i32.const {headers_len})
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 1008))))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
    (drop (call $inc (i32.load (i32.const 1004)) (i64.const 1))))"#,
        cluster_len = cluster.len(),
    );
    // Every 50 ms: count a tick and call the `one` backend; count each answer.
    let wat = wat_with(imports, &data, &funcs);
    let path = wat_plugin(dir.path(), "ticker", &wat);
    let plugin = WasmPlugin::file("ticker", &path).set("defaultConfig", json!({}));
    let config = config(&backends, &[route("r", "a.test")], &[plugin]);
    let gw = Gantry::builder().metrics(true).start(config).await;
    let counter = |text: &str, name: &str| {
        let prefix = format!("gantry_wasm_plugin_counter{{plugin=\"ticker\",name=\"{name}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    try_eventually(DEADLINE, || async {
        let text = gantry_tests::scrape::scrape(gw.metrics_port()).await;
        let (ticks, answers) = (counter(&text, "ticks"), counter(&text, "answers"));
        if ticks >= 5.0 && answers >= 3.0 {
            Ok(())
        } else {
            Err(format!("ticks {ticks}, answers {answers}\n{}", gw.log()))
        }
    })
    .await
    .unwrap();
    let calls = backends.get("one").requests();
    assert!(
        calls
            .iter()
            .any(|r| r.path == "/tick" && r.host == "ticker"),
        "the tick's call reached the backend with its :path and :authority"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_a_body_callback_reaches_the_client_whole() {
    let (_backends, gw) = with_masking(json!({
        "deny_openai": true,
        "deny_words": ["forbidden-word"],
        "deny_code": 403,
        "deny_message": "blocked by the masking policy",
    }))
    .await;
    let reply = post_chat(&gw, "a.test", "say forbidden-word").await;
    assert_eq!(reply.status.as_u16(), 403, "{}", reply.summary());
    let text = reply.body.clone();
    assert!(
        text.contains("blocked by the masking policy"),
        "the plugin's own body, not an error page: {text}"
    );
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "the plugin's headers: {}",
        reply.summary()
    );
    // The connection's next request is served normally.
    gw.client().eventually_backend("a.test", "/", "one").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_learn_the_log_level_from_both_the_abi_call_and_higress_foreign_function() {
    // Higress's Go SDK asks the foreign function `get_log_level` before formatting each log
    // line (and formats every line when it gets no answer); proxy-wasm's own call answers
    // the same level. The tests run gantry at `info` (2).
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    let imports = r#"(import "env" "proxy_call_foreign_function" (func $foreign (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_log_level" (func $level (param i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))"#;
    let data = r#"(data (i32.const 16) "get_log_level") (data (i32.const 48) "x-log-level")"#;
    // x-log-level: <foreign answer, `n` if none, `l` if not 4 bytes><ABI answer>
    let funcs = r#"(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $foreign (i32.const 16) (i32.const 13) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 1004)))
      (then
        (if (i32.eq (i32.load (i32.const 1004)) (i32.const 4))
          (then (i32.store8 (i32.const 200) (i32.add (i32.load (i32.load (i32.const 1000))) (i32.const 48))))
          (else (i32.store8 (i32.const 200) (i32.const 108)))))
      (else (i32.store8 (i32.const 200) (i32.const 110))))
    (drop (call $level (i32.const 1008)))
    (i32.store8 (i32.const 201) (i32.add (i32.load (i32.const 1008)) (i32.const 48)))
    (drop (call $add (i32.const 0) (i32.const 48) (i32.const 11) (i32.const 200) (i32.const 2)))
    (i32.const 0))"#;
    let path = wat_plugin(dir.path(), "levels", &wat_with(imports, data, funcs));
    let plugin = WasmPlugin::file("levels", &path).set("defaultConfig", json!({}));
    let config = config(&backends, &[route("r", "a.test")], &[plugin]);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend("a.test", "/", "one").await;
    let seen = backends.get("one").requests();
    let level = seen
        .last()
        .and_then(|r| r.headers.iter().find(|(k, _)| k == "x-log-level"))
        .map(|(_, v)| v.clone());
    assert_eq!(level.as_deref(), Some("22"), "{}", gw.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_counts_in_a_real_redis_through_higress_redis_calls() {
    // gpustack-rate-limit keeps its counters in Redis with Higress's `proxy_redis_init` /
    // `proxy_redis_call` (an EVAL of its Lua script per request); the server needs a
    // password and the plugin uses database 2.
    let redis = Redis::start(Some("redis-s3cret"));
    let backends = Backends::start(&["one"]);
    let (name, version) = RATE_LIMIT;
    let plugin = WasmPlugin::file("rate-limit", &wheel_plugin(name, version)).set(
        "defaultConfig",
        json!({
            "rule_name": "gantry-test",
            "enable_on_path_suffix": ["*"],
            "redis": {"service_name": "redis.static", "service_port": 80,
                      "password": "redis-s3cret", "database": 2, "timeout": 2000},
            "limit_combinations": [{
                "name": "per-user",
                "match": [{"source": "header", "name": "x-user", "value": "*"}],
                "query_limits": {"per_minute": 2},
            }],
        }),
    );
    let gw = start_with_redis(&backends, &redis, plugin).await;
    let as_user = |user: &'static str| {
        let gw = &gw;
        async move {
            gw.client()
                .send(Method::GET, "a.test", "/v1/x", &[("x-user", user)], None)
                .await
                .unwrap()
        }
    };
    for n in 1..=2 {
        let reply = as_user("alice").await;
        assert_eq!(
            reply.status.as_u16(),
            200,
            "request {n}: {}\n{}",
            reply.summary(),
            gw.log()
        );
    }
    let limited = as_user("alice").await;
    assert_eq!(
        limited.status.as_u16(),
        429,
        "{}\n{}",
        limited.summary(),
        gw.log()
    );
    assert!(
        limited.body.contains("rate_limit_exceeded"),
        "{}",
        limited.body
    );
    let other = as_user("bob").await;
    assert_eq!(
        other.status.as_u16(),
        200,
        "another user's own bucket: {}",
        other.summary()
    );
    // Commands reuse pooled connections (already logged in, on database 2).
    let before = redis.connections_received();
    for _ in 0..10 {
        as_user("carol").await;
    }
    let opened = redis.connections_received() - before;
    assert!(
        opened <= 5,
        "10 requests opened {opened} Redis connections (1 is INFO's own)"
    );
    let keys = redis.command(2, &["DBSIZE"]).unwrap_or_default();
    assert_ne!(keys.trim(), ":0", "the counters are in database 2");
    assert_eq!(redis.command(0, &["DBSIZE"]).as_deref(), Some(":0\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_calls_made_as_a_request_ends_still_run() {
    // A plugin that INCRs a key from `proxy_on_log` (as rate limits record the tokens a
    // response used): the command runs although the request is over.
    let redis = Redis::start(None);
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    let cluster = "outbound|80||redis.static";
    let query = "*2\\0d\\0a$4\\0d\\0aINCR\\0d\\0a$4\\0d\\0ahits\\0d\\0a";
    let imports = r#"(import "env" "proxy_redis_init" (func $init (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_redis_call" (func $rcall (param i32 i32 i32 i32 i32) (result i32)))"#;
    let data = format!(r#"(data (i32.const 16) "{cluster}") (data (i32.const 64) "{query}")"#);
    let funcs = format!(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $init (i32.const 16) (i32.const {n}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 500)))
    (i32.const 1))
  (func (export "proxy_on_log") (param i32)
    (drop (call $rcall (i32.const 16) (i32.const {n}) (i32.const 64) (i32.const 24) (i32.const 1000))))"#,
        n = cluster.len()
    );
    let path = wat_plugin(dir.path(), "counter", &wat_with(imports, &data, &funcs));
    let plugin = WasmPlugin::file("counter", &path).set("defaultConfig", json!({}));
    let gw = start_with_redis(&backends, &redis, plugin).await;
    let hits = || -> u64 {
        let reply = redis.command(0, &["GET", "hits"]).unwrap_or_default();
        reply
            .lines()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let before = hits();
    for _ in 0..3 {
        gw.client().eventually_backend("a.test", "/", "one").await;
    }
    try_eventually(DEADLINE, || async {
        let now = hits();
        if now >= before + 3 {
            Ok(())
        } else {
            Err(format!("hits {now} (before {before})\n{}", gw.log()))
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_make_redis_calls_and_get_their_answers() {
    // Every 50 ms the module INCRs `ticks` in Redis; each answer counts a plugin metric.
    let redis = Redis::start(None);
    let backends = Backends::start(&["one"]);
    let dir = tempfile::tempdir().unwrap();
    let cluster = "outbound|80||redis.static";
    let query = "*2\\0d\\0a$4\\0d\\0aINCR\\0d\\0a$5\\0d\\0aticks\\0d\\0a";
    let imports = r#"(import "env" "proxy_set_tick_period_milliseconds" (func $period (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $inc (param i32 i64) (result i32)))
  (import "env" "proxy_redis_init" (func $init (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_redis_call" (func $rcall (param i32 i32 i32 i32 i32) (result i32)))"#;
    let data = format!(
        r#"(data (i32.const 16) "{cluster}") (data (i32.const 64) "{query}") (data (i32.const 128) "answers")"#
    );
    let funcs = format!(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $period (i32.const 50)))
    (drop (call $define (i32.const 0) (i32.const 128) (i32.const 7) (i32.const 1000)))
    (drop (call $init (i32.const 16) (i32.const {n}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 500)))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $rcall (i32.const 16) (i32.const {n}) (i32.const 64) (i32.const 25) (i32.const 1008))))
  (func (export "proxy_on_redis_call_response") (param i32 i32 i32 i32)
    (if (i32.eqz (local.get 2))
      (then (drop (call $inc (i32.load (i32.const 1000)) (i64.const 1))))))"#,
        n = cluster.len()
    );
    let path = wat_plugin(
        dir.path(),
        "redis-ticker",
        &wat_with(imports, &data, &funcs),
    );
    let plugin = WasmPlugin::file("redis-ticker", &path).set("defaultConfig", json!({}));
    let config = config(&backends, &[route("r", "a.test")], &[plugin]);
    let mut registries = backends.registries();
    registries.push(Registry::fixed("redis", redis.addr));
    config.write_mcpbridge(&registries);
    let gw = Gantry::builder().metrics(true).start(config).await;
    let prefix = "gantry_wasm_plugin_counter{plugin=\"redis-ticker\",name=\"answers\"} ";
    try_eventually(DEADLINE, || async {
        let text = gantry_tests::scrape::scrape(gw.metrics_port()).await;
        let answers: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        let ticks = redis.command(0, &["GET", "ticks"]).unwrap_or_default();
        let ticks: u64 = ticks
            .lines()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if answers >= 3.0 && ticks >= 3 {
            Ok(())
        } else {
            Err(format!(
                "answers {answers}, ticks in Redis {ticks}\n{}",
                gw.log()
            ))
        }
    })
    .await
    .unwrap();
}
