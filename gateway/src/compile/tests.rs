//! Compile cases: ordering, hosts, duplicates, classes, Service and registry resolution.

use std::time::Duration;

use config_store::parse::SourceContext;
use config_store::snapshot::{assemble, SourceOutcome};
use config_store::{ResourceKind, Snapshot};

use super::*;

/// Parsed sources from `(path, yaml)` pairs laid out as in a config dir.
fn sources(files: &[(&str, &str)]) -> Vec<SourceOutcome> {
    files
        .iter()
        .map(|(path, text)| {
            let (dir, file) = path.split_once('/').unwrap();
            let name = file.strip_suffix(".yaml").unwrap();
            let ctx = SourceContext {
                label: path,
                dir_kind: ResourceKind::from_plural(dir),
                default_name: Some(name),
            };
            SourceOutcome::parse(path.to_string(), (*text).into(), ctx)
        })
        .collect()
}

/// A snapshot of `files`, which must hold no error.
fn snapshot(files: &[(&str, &str)]) -> Snapshot {
    let s = assemble(&Snapshot::default(), sources(files));
    assert_eq!(s.errors().count(), 0, "{:?}", s.diagnostics());
    s
}

/// Assembles `before`, then `after` on top of it (resources rejected in `after` keep their
/// `before` versions, stale), and compiles the result.
fn compiled_after(before: &[(&str, &str)], after: &[(&str, &str)]) -> Compiled {
    let next = assemble(&snapshot(before), sources(after));
    compile(
        &next,
        &Discovery::new(Duration::from_secs(60)),
        &CompileOptions::default(),
    )
}

fn compiled(files: &[(&str, &str)]) -> Compiled {
    compile(
        &snapshot(files),
        &Discovery::new(Duration::from_secs(60)),
        &CompileOptions::default(),
    )
}

const BRIDGE: &str = "kind: McpBridge\nspec:\n  registries:\n  - {type: static, name: a, domain: '127.0.0.1:1001'}\n  - {type: static, name: b, domain: '127.0.0.1:1002'}\n  - {type: static, name: c, domain: '127.0.0.1:1003'}\n  - {type: static, name: d, domain: '127.0.0.1:1004'}\n";

/// An Ingress with one host and `(pathType, path, destination)` paths.
fn ingress(ts: &str, host: Option<&str>, paths: &[(&str, &str, &str)]) -> String {
    let mut s = format!("kind: Ingress\nmetadata:\n  creationTimestamp: '{ts}'\n");
    let dest = paths.first().map(|p| p.2).unwrap_or("a.static");
    s += &format!("  annotations:\n    higress.io/destination: {dest}\nspec:\n  rules:\n  - ");
    if let Some(h) = host {
        s += &format!("host: '{h}'\n    ");
    }
    s += "http:\n      paths:\n";
    for (ty, path, _) in paths {
        s += &format!("      - path: {path}\n        pathType: {ty}\n        backend: {{resource: {{apiGroup: networking.higress.io, kind: McpBridge, name: default}}}}\n");
    }
    s
}

/// Which route (ingress name + path) serves host/path.
fn served(c: &Compiled, host: &str, path: &str) -> Option<String> {
    c.table
        .find(host, path)
        .map(|r| format!("{} {}", r.ingress, r.path.display_path()))
}

#[test]
fn exact_before_prefix_longer_first_root_last() {
    let c = compiled(&[
        ("mcpbridges/default.yaml", BRIDGE),
        (
            "ingresses/root.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                Some("x.com"),
                &[("Prefix", "/", "a.static")],
            ),
        ),
        (
            "ingresses/foo.yaml",
            &ingress(
                "2021-01-01T00:00:00Z",
                Some("x.com"),
                &[("Prefix", "/foo", "b.static")],
            ),
        ),
        (
            "ingresses/foobar.yaml",
            &ingress(
                "2022-01-01T00:00:00Z",
                Some("x.com"),
                &[("Prefix", "/foo/bar", "c.static")],
            ),
        ),
        (
            "ingresses/exact.yaml",
            &ingress(
                "2023-01-01T00:00:00Z",
                Some("x.com"),
                &[("Exact", "/foo", "d.static")],
            ),
        ),
    ]);
    assert_eq!(served(&c, "x.com", "/foo").as_deref(), Some("exact /foo"));
    assert_eq!(served(&c, "x.com", "/foo/").as_deref(), Some("foo /foo"));
    assert_eq!(
        served(&c, "x.com", "/foo/bar/baz").as_deref(),
        Some("foobar /foo/bar")
    );
    assert_eq!(served(&c, "x.com", "/foobar").as_deref(), Some("root /"));
    assert_eq!(served(&c, "y.com", "/foo"), None);
    let order: Vec<String> = c
        .table
        .describe()
        .iter()
        .map(|r| format!("{} {}", r.match_type, r.path))
        .collect();
    assert_eq!(
        order,
        ["exact /foo", "prefix /foo/bar", "prefix /foo", "prefix /"]
    );
}

#[test]
fn exact_host_falls_back_to_wildcard_then_any() {
    let c = compiled(&[
        ("mcpbridges/default.yaml", BRIDGE),
        (
            "ingresses/wild.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                Some("*.foo.com"),
                &[("Prefix", "/", "a.static")],
            ),
        ),
        (
            "ingresses/www.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                Some("www.foo.com"),
                &[("Exact", "/bar", "b.static")],
            ),
        ),
        (
            "ingresses/deep.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                Some("*.b.foo.com"),
                &[("Prefix", "/deep", "c.static")],
            ),
        ),
        (
            "ingresses/any.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                None,
                &[("Prefix", "/any", "d.static")],
            ),
        ),
    ]);
    assert_eq!(
        served(&c, "www.foo.com", "/bar").as_deref(),
        Some("www /bar")
    );
    assert_eq!(served(&c, "www.foo.com", "/foo").as_deref(), Some("wild /"));
    assert_eq!(
        served(&c, "a.b.foo.com", "/deep/x").as_deref(),
        Some("deep /deep")
    );
    assert_eq!(
        served(&c, "a.b.foo.com", "/other").as_deref(),
        Some("wild /")
    );
    assert_eq!(served(&c, "foo.com", "/x"), None);
    assert_eq!(served(&c, "foo.com", "/any").as_deref(), Some("any /any"));
    assert_eq!(served(&c, "bar.com", "/any/1").as_deref(), Some("any /any"));
}

#[test]
fn duplicates_keep_the_oldest_ingress() {
    let c = compiled(&[
        ("mcpbridges/default.yaml", BRIDGE),
        (
            "ingresses/new.yaml",
            &ingress(
                "2022-01-01T00:00:00Z",
                Some("x.com"),
                &[("Prefix", "/p/", "b.static")],
            ),
        ),
        (
            "ingresses/old.yaml",
            &ingress(
                "2021-01-01T00:00:00Z",
                Some("x.com"),
                &[("Prefix", "/p", "a.static")],
            ),
        ),
    ]);
    assert_eq!(served(&c, "x.com", "/p").as_deref(), Some("old /p"));
    assert_eq!(c.diagnostics.len(), 1);
    assert!(
        c.diagnostics[0]
            .message
            .contains("Ingress old defines it first"),
        "{}",
        c.diagnostics[0]
    );
}

#[test]
fn ingress_class_filter() {
    let other = ingress(
        "2020-01-01T00:00:00Z",
        Some("o.com"),
        &[("Prefix", "/", "a.static")],
    )
    .replace("spec:\n", "spec:\n  ingressClassName: nginx\n");
    let files = [
        ("mcpbridges/default.yaml", BRIDGE),
        (
            "ingresses/none.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                Some("n.com"),
                &[("Prefix", "/", "a.static")],
            ),
        ),
        ("ingresses/other.yaml", &other),
    ];
    let c = compiled(&files);
    assert!(served(&c, "n.com", "/").is_some());
    assert!(served(&c, "o.com", "/").is_none());
    assert!(c.diagnostics[0].message.contains("\"nginx\" is not served"));
    let all = compile(
        &snapshot(&files),
        &Discovery::new(Duration::from_secs(60)),
        &CompileOptions {
            ingress_class: None,
        },
    );
    assert!(served(&all, "o.com", "/").is_some());
}

#[test]
fn default_backend_is_last_and_covers_any_host() {
    let text = "kind: Ingress\nmetadata:\n  annotations: {higress.io/destination: b.static}\nspec:\n  defaultBackend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}\n";
    let c = compiled(&[
        ("mcpbridges/default.yaml", BRIDGE),
        (
            "ingresses/a.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                None,
                &[("Prefix", "/a", "a.static")],
            ),
        ),
        ("ingresses/def.yaml", text),
    ]);
    assert_eq!(served(&c, "z.com", "/a").as_deref(), Some("a /a"));
    assert_eq!(served(&c, "z.com", "/zzz").as_deref(), Some("def /"));
}

fn endpoints_of(c: &Compiled, host: &str, path: &str) -> Vec<String> {
    let route = c.table.find(host, path).expect("route");
    let crate::route_table::RouteAction::Forward(group) = &route.action else {
        panic!("not a forward route")
    };
    group.destinations()[0]
        .target
        .endpoints()
        .iter()
        .map(|e| e.addr.to_string())
        .collect()
}

#[test]
fn service_backends_resolve_through_endpoints_and_slices() {
    let ing = "kind: Ingress\nspec:\n  rules:\n  - host: s.com\n    http:\n      paths:\n      - {path: /num, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n      - {path: /named, pathType: Prefix, backend: {service: {name: web, port: {name: admin}}}}\n      - {path: /sliced, pathType: Prefix, backend: {service: {name: api, port: {number: 9000}}}}\n";
    let c = compiled(&[
        ("ingresses/s.yaml", ing),
        ("services/web.yaml", "kind: Service\nspec:\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n  - {name: admin, port: 81}\n"),
        ("endpoints/web.yaml", "kind: Endpoints\nsubsets:\n- addresses: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]\n  notReadyAddresses: [{ip: 10.0.0.9}]\n  ports: [{name: http, port: 8080}, {name: admin, port: 8081}]\n"),
        ("services/api.yaml", "kind: Service\nspec:\n  ports: [{port: 9000}]\n"),
        ("endpointslices/api-x.yaml", "kind: EndpointSlice\nmetadata:\n  labels: {kubernetes.io/service-name: api}\nports: [{port: 9001}]\nendpoints:\n- addresses: [10.1.0.1]\n- addresses: [10.1.0.2]\n  conditions: {ready: false}\n"),
    ]);
    assert_eq!(
        endpoints_of(&c, "s.com", "/num"),
        ["10.0.0.1:8080", "10.0.0.2:8080"]
    );
    assert_eq!(
        endpoints_of(&c, "s.com", "/named"),
        ["10.0.0.1:8081", "10.0.0.2:8081"]
    );
    assert_eq!(endpoints_of(&c, "s.com", "/sliced"), ["10.1.0.1:9001"]);
}

#[test]
fn a_kept_ingress_whose_service_vanished_gets_no_endpoints_and_a_warning() {
    let ing = "kind: Ingress\nspec:\n  rules:\n  - host: s.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n";
    let svc = "kind: Service\nspec:\n  ports: [{port: 80}]\n";
    let c = compiled_after(
        &[("ingresses/s.yaml", ing), ("services/web.yaml", svc)],
        &[("ingresses/s.yaml", ing)],
    );
    assert!(endpoints_of(&c, "s.com", "/").is_empty());
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.message.contains("Service \"web\" not found")),
        "{:?}",
        c.diagnostics
    );
}

#[test]
fn destinations_whose_registry_vanished_warn_and_weights_carry_over() {
    let ing = "kind: Ingress\nmetadata:\n  annotations:\n    higress.io/destination: |\n      30% a.static\n      70% zz.dns\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}\n";
    let with_zz = format!("{BRIDGE}  - {{type: dns, name: zz, domain: zz.example, port: 80}}\n");
    let c = compiled_after(
        &[
            ("mcpbridges/default.yaml", &with_zz),
            ("ingresses/w.yaml", ing),
        ],
        &[
            ("mcpbridges/default.yaml", BRIDGE),
            ("ingresses/w.yaml", ing),
        ],
    );
    let route = c.table.find("any.com", "/").unwrap();
    let crate::route_table::RouteAction::Forward(group) = &route.action else {
        panic!("not a forward route")
    };
    let weights: Vec<u32> = group.destinations().iter().map(|d| d.weight).collect();
    assert_eq!(weights, [30, 70]);
    assert!(group.destinations()[1].target.endpoints().is_empty());
    assert!(
        c.diagnostics[0]
            .message
            .contains("no dns registry named \"zz\""),
        "{}",
        c.diagnostics[0]
    );
}

/// An Ingress `x.com` Prefix `/` to `dest` with extra `annotations` (YAML lines).
fn annotated(ts: &str, dest: &str, annotations: &[(&str, &str)]) -> String {
    let mut s = format!(
        "kind: Ingress\nmetadata:\n  creationTimestamp: '{ts}'\n  annotations:\n    higress.io/destination: {dest}\n"
    );
    for (k, v) in annotations {
        s += &format!("    {k}: '{v}'\n");
    }
    s + "spec:\n  rules:\n  - host: x.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}\n"
}

/// The Ingress whose route serves `GET /` on `x.com` with `headers`.
fn served_with(c: &Compiled, headers: &[(&str, &str)]) -> Option<String> {
    let mut req = pingora::http::RequestHeader::build("GET", b"/", None).unwrap();
    for (k, v) in headers {
        req.insert_header(k.to_string(), v.to_string()).unwrap();
    }
    c.table
        .find_id("x.com", &req)
        .map(|id| c.table.route(id).ingress.clone())
}

#[test]
fn header_canary_with_the_base_condition_is_tried_before_its_base() {
    const TENANT: (&str, &str) = ("higress.io/exact-match-header-x-tenant", "acme");
    let c = compiled(&[
        ("mcpbridges/default.yaml", BRIDGE),
        (
            "ingresses/base.yaml",
            &annotated("2020-01-01T00:00:00Z", "b.static", &[TENANT]),
        ),
        (
            "ingresses/canary.yaml",
            &annotated(
                "2021-01-01T00:00:00Z",
                "a.static",
                &[
                    TENANT,
                    ("higress.io/canary", "true"),
                    ("higress.io/canary-by-header", "x-preview"),
                    ("higress.io/canary-by-header-value", "yes"),
                ],
            ),
        ),
        (
            "ingresses/other.yaml",
            &annotated("2019-01-01T00:00:00Z", "c.static", &[]),
        ),
    ]);
    let both = [("x-tenant", "acme"), ("x-preview", "yes")];
    assert_eq!(served_with(&c, &both).as_deref(), Some("canary"));
    assert_eq!(
        served_with(&c, &[("x-tenant", "acme")]).as_deref(),
        Some("base")
    );
    assert_eq!(
        served_with(&c, &[("x-tenant", "acme"), ("x-preview", "no")]).as_deref(),
        Some("base")
    );
    // As in Higress, the canary's condition replaces the base's header conditions.
    assert_eq!(
        served_with(&c, &[("x-preview", "yes")]).as_deref(),
        Some("canary")
    );
    assert_eq!(served_with(&c, &[]).as_deref(), Some("other"));
    let order: Vec<String> = c
        .table
        .describe()
        .iter()
        .map(|r| r.ingress.clone())
        .collect();
    assert_eq!(order, ["canary", "base", "other"]);
}

/// The rate-limit bucket of the route serving `GET /` on `host`.
fn bucket(c: &Compiled, host: &str) -> Arc<crate::policy::rate_limit::TokenBucket> {
    c.table
        .find(host, "/")
        .and_then(|r| r.policy.rate_limit.clone())
        .expect("a rate-limited route")
}

#[test]
fn rate_limit_buckets_survive_unrelated_edits() {
    let limited = |host: &str, rpm: &str| {
        format!("kind: Ingress\nmetadata:\n  annotations:\n    higress.io/destination: a.static\n    higress.io/route-limit-rpm: '{rpm}'\nspec:\n  rules:\n  - host: {host}\n    http:\n      paths:\n      - {{path: /, pathType: Prefix, backend: {{resource: {{apiGroup: networking.higress.io, kind: McpBridge, name: default}}}}}}\n")
    };
    let discovery = Discovery::new(Duration::from_secs(60));
    let build =
        |files: &[(&str, &str)]| compile(&snapshot(files), &discovery, &CompileOptions::default());
    let first = build(&[
        ("mcpbridges/default.yaml", BRIDGE),
        ("ingresses/kept.yaml", &limited("kept.com", "5")),
        ("ingresses/changed.yaml", &limited("changed.com", "5")),
    ]);
    let second = build(&[
        ("mcpbridges/default.yaml", BRIDGE),
        ("ingresses/kept.yaml", &limited("kept.com", "5")),
        ("ingresses/changed.yaml", &limited("changed.com", "6")),
        (
            "ingresses/new.yaml",
            &ingress(
                "2020-01-01T00:00:00Z",
                Some("new.com"),
                &[("Prefix", "/", "b.static")],
            ),
        ),
    ]);
    assert!(Arc::ptr_eq(
        &bucket(&first, "kept.com"),
        &bucket(&second, "kept.com")
    ));
    assert!(!Arc::ptr_eq(
        &bucket(&first, "changed.com"),
        &bucket(&second, "changed.com")
    ));
    // Another registry (another process) starts afresh.
    let other = compile(
        &snapshot(&[
            ("mcpbridges/default.yaml", BRIDGE),
            ("ingresses/kept.yaml", &limited("kept.com", "5")),
        ]),
        &Discovery::new(Duration::from_secs(60)),
        &CompileOptions::default(),
    );
    assert!(!Arc::ptr_eq(
        &bucket(&first, "kept.com"),
        &bucket(&other, "kept.com")
    ));
}
