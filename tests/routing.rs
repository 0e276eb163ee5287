//! End-to-end tests of route selection: path types and their precedence, exact
//! and wildcard hosts, ingress classes, weighted destinations, and the
//! gateway's own 404 and 503 answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use gantry_tests::backends::Backends;
use gantry_tests::{
    closed_port, ConfigDir, EchoServer, Gantry, GantryBuilder, Ingress, Path, Registry,
};
use tokio::task::JoinSet;

/// One request and the backend expected to answer it (`None`: the gateway's 404).
struct Case {
    host: &'static str,
    path: &'static str,
    expect: Option<&'static str>,
}

const fn case(host: &'static str, path: &'static str, expect: Option<&'static str>) -> Case {
    Case { host, path, expect }
}

/// Starts a gateway on `ingresses` over `backends`, waits until `ready` serves,
/// then checks every case and fails once with the list of every mismatch.
async fn check(
    builder: GantryBuilder,
    backends: &Backends,
    ingresses: &[Ingress],
    ready: &Case,
    cases: &[Case],
) {
    let config = ConfigDir::new();
    config.write_mcpbridge(&backends.registries());
    for ingress in ingresses {
        config.write_ingress(ingress);
    }
    let gw = builder.start(config).await;
    let client = gw.client();
    client
        .eventually_backend(
            ready.host,
            ready.path,
            ready.expect.expect("ready case names a backend"),
        )
        .await;

    let mut failures = Vec::new();
    for c in cases {
        let reply = match client.get(c.host, c.path).await {
            Ok(reply) => reply,
            Err(e) => {
                failures.push(format!("GET {} Host {}: {e}", c.path, c.host));
                continue;
            }
        };
        let ok = match c.expect {
            Some(name) => reply.status.as_u16() == 200 && reply.echo_name() == Some(name),
            None => reply.status.as_u16() == 404 && reply.echo_name().is_none(),
        };
        if !ok {
            let want = c
                .expect
                .map_or("gateway 404".to_owned(), |n| format!("200 from {n}"));
            failures.push(format!(
                "GET {} Host {}: want {want}, got {}",
                c.path,
                c.host,
                reply.summary()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn path_types_and_precedence() {
    let backends = Backends::start(&["root", "prefix", "exact", "longer", "impl", "noroot"]);
    let host = Some("order.example.com");
    // File names sort opposite to precedence, so file order cannot explain a pass.
    let ingresses = [
        Ingress::route("a-root", host, Path::prefix("/"), "root.static"),
        Ingress::route("b-prefix-foo", host, Path::prefix("/foo"), "prefix.static"),
        Ingress::route("c-exact-foo", host, Path::exact("/foo"), "exact.static"),
        Ingress::route(
            "d-prefix-foo-bar",
            host,
            Path::prefix("/foo/bar"),
            "longer.static",
        ),
        Ingress::route(
            "e-impl",
            host,
            Path::implementation_specific("/impl"),
            "impl.static",
        ),
        Ingress::route(
            "f-noroot",
            Some("noroot.example.com"),
            Path::prefix("/foo"),
            "noroot.static",
        ),
    ];
    let o = "order.example.com";
    let n = "noroot.example.com";
    let cases = [
        // Exact before Prefix.
        case(o, "/foo", Some("exact")),
        case(o, "/foo?x=1", Some("exact")),
        case(o, "/foo/", Some("prefix")),
        case(o, "/foo/baz", Some("prefix")),
        // Longer prefix first.
        case(o, "/foo/bar", Some("longer")),
        case(o, "/foo/bar/", Some("longer")),
        case(o, "/foo/bar/baz", Some("longer")),
        // Prefix matches whole segments.
        case(o, "/foo/barbaz", Some("prefix")),
        case(o, "/foobar", Some("root")),
        // ImplementationSpecific behaves as Prefix.
        case(o, "/impl", Some("impl")),
        case(o, "/impl/x/y", Some("impl")),
        case(o, "/implx", Some("root")),
        // The bare `/` prefix catches the rest.
        case(o, "/", Some("root")),
        case(o, "/other/path", Some("root")),
        // Without a `/` route, non-matching paths are 404.
        case(n, "/foo", Some("noroot")),
        case(n, "/foo/", Some("noroot")),
        case(n, "/foo/x", Some("noroot")),
        case(n, "/foobar", None),
        case(n, "/fo", None),
        case(n, "/", None),
    ];
    check(
        Gantry::builder(),
        &backends,
        &ingresses,
        &case(o, "/", Some("root")),
        &cases,
    )
    .await;
}

#[tokio::test]
async fn exact_wildcard_and_any_host() {
    let backends = Backends::start(&["exact", "wild", "any"]);
    let ingresses = [
        Ingress::new("a-any")
            .destination("any.static")
            .rule(None, vec![Path::prefix("/any"), Path::prefix("/shared")]),
        Ingress::new("b-wild").destination("wild.static").rule(
            Some("*.foo.com"),
            vec![Path::prefix("/wild"), Path::prefix("/shared")],
        ),
        Ingress::new("c-exact").destination("exact.static").rule(
            Some("a.foo.com"),
            vec![Path::prefix("/exact-only"), Path::prefix("/shared")],
        ),
    ];
    let cases = [
        // The exact host wins when it has a matching route.
        case("a.foo.com", "/exact-only", Some("exact")),
        case("a.foo.com", "/shared", Some("exact")),
        // Otherwise the wildcard host's routes, then host-less rules.
        case("a.foo.com", "/wild", Some("wild")),
        case("a.foo.com", "/any", Some("any")),
        case("b.foo.com", "/shared", Some("wild")),
        case("b.foo.com", "/wild/x", Some("wild")),
        case("b.foo.com", "/any", Some("any")),
        case("b.foo.com", "/exact-only", None),
        // `*.foo.com` does not match `foo.com`.
        case("foo.com", "/wild", None),
        case("foo.com", "/shared", Some("any")),
        // Host-less rules match any host.
        case("other.example", "/shared", Some("any")),
        case("other.example", "/any/x", Some("any")),
        case("other.example", "/wild", None),
        case("other.example", "/exact-only", None),
    ];
    check(
        Gantry::builder(),
        &backends,
        &ingresses,
        &case("a.foo.com", "/shared", Some("exact")),
        &cases,
    )
    .await;
}

#[tokio::test]
async fn host_match_ignores_case_and_port() {
    let backends = Backends::start(&["exact", "wild"]);
    let ingresses = [
        Ingress::route(
            "exact",
            Some("a.foo.com"),
            Path::prefix("/"),
            "exact.static",
        ),
        Ingress::route("wild", Some("*.foo.com"), Path::prefix("/"), "wild.static"),
    ];
    let cases = [
        case("A.Foo.COM", "/", Some("exact")),
        case("a.foo.com:8080", "/", Some("exact")),
        case("B.FOO.COM", "/", Some("wild")),
        case("b.foo.com:80", "/", Some("wild")),
    ];
    check(
        Gantry::builder(),
        &backends,
        &ingresses,
        &case("a.foo.com", "/", Some("exact")),
        &cases,
    )
    .await;
}

fn class_ingresses() -> [Ingress; 3] {
    let host = Some("class.example.com");
    [
        Ingress::route(
            "class-higress",
            host,
            Path::prefix("/higress"),
            "higress.static",
        ),
        Ingress::route("class-nginx", host, Path::prefix("/nginx"), "nginx.static")
            .class(Some("nginx")),
        Ingress::route("class-none", host, Path::prefix("/none"), "none.static").class(None),
    ]
}

#[tokio::test]
async fn other_ingress_classes_are_ignored() {
    let backends = Backends::start(&["higress", "nginx", "none"]);
    let h = "class.example.com";
    let cases = [
        case(h, "/higress", Some("higress")),
        case(h, "/nginx", None),
        case(h, "/none", Some("none")),
    ];
    check(
        Gantry::builder(),
        &backends,
        &class_ingresses(),
        &cases[0],
        &cases,
    )
    .await;
}

#[tokio::test]
async fn ingress_class_flag_selects_the_class() {
    let backends = Backends::start(&["higress", "nginx", "none"]);
    let h = "class.example.com";
    let cases = [
        case(h, "/nginx", Some("nginx")),
        case(h, "/higress", None),
        case(h, "/none", Some("none")),
    ];
    let builder = Gantry::builder().ingress_class("nginx");
    check(builder, &backends, &class_ingresses(), &cases[0], &cases).await;
}

#[tokio::test]
async fn weighted_destinations_split_traffic() {
    const TOTAL: usize = 2_000;
    const WORKERS: usize = 8;
    let backends = Backends::start(&["v1", "v2"]);
    let config = ConfigDir::new();
    config.write_mcpbridge(&backends.registries());
    config.write_ingress(&Ingress::route(
        "weighted",
        Some("weighted.example.com"),
        Path::prefix("/"),
        "30% v1.static\n70% v2.static",
    ));
    let gw = Gantry::start(config).await;
    gw.client()
        .eventually_status("weighted.example.com", "/", 200)
        .await;

    let before = (backends.hits("v1"), backends.hits("v2"));
    let mut workers = JoinSet::new();
    for _ in 0..WORKERS {
        let client = gw.client().clone();
        workers.spawn(async move {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for _ in 0..TOTAL / WORKERS {
                let reply = client.get("weighted.example.com", "/").await.unwrap();
                assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
                *counts
                    .entry(reply.echo_name().unwrap_or("-").to_owned())
                    .or_default() += 1;
            }
            counts
        });
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    while let Some(done) = workers.join_next().await {
        for (name, n) in done.unwrap() {
            *counts.entry(name).or_default() += n;
        }
    }
    let v1 = counts.get("v1").copied().unwrap_or(0);
    let v2 = counts.get("v2").copied().unwrap_or(0);
    assert_eq!(
        v1 + v2,
        TOTAL,
        "every request must reach v1 or v2: {counts:?}"
    );
    // 30% +- 5 percentage points.
    assert!(
        (500..=700).contains(&v1),
        "v1 got {v1} of {TOTAL} (want 600 +- 100): {counts:?}"
    );
    // The backends agree with the response headers.
    let after = (backends.hits("v1"), backends.hits("v2"));
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (v1 as u64, v2 as u64),
        "backend hit counters disagree with responses"
    );
}

#[tokio::test]
async fn unknown_host_is_404_with_text_body() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::start(ConfigDir::quickstart("127.0.0.1", httpbin.port())).await;
    gw.client()
        .eventually_backend("foo.bar.com", "/", "httpbin")
        .await;

    let hits = httpbin.hits();
    let reply = gw
        .client()
        .get("unknown.example.com", "/get")
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 404, "{}", reply.summary());
    assert_eq!(reply.echo_name(), None, "{}", reply.summary());
    assert!(
        !reply.body.trim().is_empty(),
        "the 404 must have a text body"
    );
    assert_eq!(
        httpbin.hits(),
        hits,
        "an unknown host must not reach the backend"
    );
}

#[tokio::test]
async fn unreachable_backend_is_503_with_text_body() {
    let config = ConfigDir::new();
    let down = closed_port();
    config.write_mcpbridge(&[
        Registry::fixed("down", down),
        Registry::dns("downdns", "127.0.0.1", down.port()),
    ]);
    config.write_ingress(&Ingress::route(
        "down",
        Some("down.example.com"),
        Path::prefix("/"),
        "down.static",
    ));
    config.write_ingress(&Ingress::route(
        "downdns",
        Some("downdns.example.com"),
        Path::prefix("/"),
        "downdns.dns",
    ));
    let gw = Gantry::start(config).await;

    for host in ["down.example.com", "downdns.example.com"] {
        let reply = gw.client().eventually_status(host, "/get", 503).await;
        assert_eq!(reply.echo_name(), None, "{}", reply.summary());
        assert!(
            !reply.body.trim().is_empty(),
            "the 503 for {host} must have a text body"
        );
    }
}
