//! End-to-end tests of the annotations that steer traffic: canaries, weighted
//! destinations, load balancing, retries, timeouts, fallback, mirroring, rate
//! limits and source-range whitelists (docs/compatibility.md, "Annotations").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use gantry_tests::backends::Backends;
use gantry_tests::echo::Recorded;
use gantry_tests::{
    closed_port, eventually, try_eventually, validate, Client, ConfigDir, EchoServer, Gantry,
    HeldPort, Ingress, Path, Registry, Reply, DEADLINE,
};
use reqwest::Method;
use tokio::task::JoinSet;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Writes a Service `name` (port 80, named `http`) and its Endpoints at
/// `127.0.0.1:<port>`: `services/<name>.yaml` and `endpoints/<name>.yaml`.
fn write_service(config: &ConfigDir, name: &str, port: u16) {
    config.write(
        &format!("services/{name}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: higress-system\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: {port}\n"
        ),
    );
    config.write(
        &format!("endpoints/{name}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: {name}\n  namespace: higress-system\nsubsets:\n- addresses:\n  - ip: 127.0.0.1\n  ports:\n  - name: http\n    port: {port}\n"
        ),
    );
}

/// Writes `registries` and `ingresses` to a fresh config dir and starts a gateway on it.
async fn start(registries: &[Registry], ingresses: &[Ingress]) -> Gantry {
    start_with(ConfigDir::new(), registries, ingresses).await
}

/// Like [`start`], on a config dir that may already hold other files.
async fn start_with(config: ConfigDir, registries: &[Registry], ingresses: &[Ingress]) -> Gantry {
    config.write_mcpbridge(registries);
    for ingress in ingresses {
        config.write_ingress(ingress);
    }
    Gantry::start(config).await
}

/// `GET <path>` on `host` with extra `headers`.
async fn get_with(client: &Client, host: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    client
        .send(Method::GET, host, path, headers, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `GET <path>` on `host`.
async fn get(client: &Client, host: &str, path: &str) -> Reply {
    get_with(client, host, path, &[]).await
}

/// One request and the backend expected to answer it.
struct Case {
    host: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    expect: &'static str,
}

fn case(
    host: &'static str,
    headers: &[(&'static str, &'static str)],
    expect: &'static str,
) -> Case {
    Case {
        host,
        path: "/get",
        headers: headers.to_vec(),
        expect,
    }
}

/// Sends every case once and fails with the list of all mismatches.
async fn check_cases(client: &Client, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let reply = match client
            .send(Method::GET, c.host, c.path, &c.headers, None)
            .await
        {
            Ok(reply) => reply,
            Err(e) => {
                failures.push(format!(
                    "GET {} Host {} {:?}: {e}",
                    c.path, c.host, c.headers
                ));
                continue;
            }
        };
        if reply.status.as_u16() != 200 || reply.echo_name() != Some(c.expect) {
            failures.push(format!(
                "GET {} Host {} headers {:?}: want 200 from {}, got {}",
                c.path,
                c.host,
                c.headers,
                c.expect,
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

/// Sends `total` GETs to `host` over `workers` concurrent connections and
/// counts which backend answered; every answer must be a 200 from a backend.
async fn spread(
    client: &Client,
    host: &'static str,
    total: usize,
    workers: usize,
) -> BTreeMap<String, usize> {
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let client = client.clone();
        set.spawn(async move {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for _ in 0..total / workers {
                let reply = client.get(host, "/get").await.unwrap();
                assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
                let name = reply.echo_name().expect("a backend answers").to_owned();
                *counts.entry(name).or_default() += 1;
            }
            counts
        });
    }
    let mut counts = BTreeMap::new();
    while let Some(done) = set.join_next().await {
        for (name, n) in done.unwrap() {
            *counts.entry(name).or_default() += n;
        }
    }
    counts
}

/// Asserts that `name` got `percent` ± 5 percentage points of `counts`.
fn assert_share(counts: &BTreeMap<String, usize>, name: &str, percent: usize, what: &str) {
    let total: usize = counts.values().sum();
    let got = counts.get(name).copied().unwrap_or(0);
    let (lo, hi) = (
        total * percent.saturating_sub(5) / 100,
        total * (percent + 5) / 100,
    );
    assert!(
        (lo..=hi).contains(&got),
        "{what}: {name} got {got} of {total} (want {percent}% +- 5, i.e. {lo}..={hi}): {counts:?}"
    );
}

/// Waits until `server` has received a request whose path is `path`, and returns it.
async fn eventually_request(server: &EchoServer, path: &str, deadline: Duration) -> Recorded {
    let name = server.name().to_owned();
    eventually(deadline, || async {
        server
            .requests()
            .into_iter()
            .find(|r| r.path == path)
            .ok_or_else(|| {
                let seen: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
                format!("backend {name} has not received {path}; it saw {seen:?}")
            })
    })
    .await
}

/// The `Set-Cookie` header of `reply`, if any.
fn set_cookie(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
}

// ---------------------------------------------------------------------------
// 1. Canary
// ---------------------------------------------------------------------------

/// A base Ingress for `host` to `base.static` and a canary Ingress for the same
/// host and path to `canary.static` with `annotations`.
fn canary_pair(prefix: &str, host: &str, annotations: &[(&str, &str)]) -> [Ingress; 2] {
    let mut canary = Ingress::host_route(&format!("{prefix}-canary"), host, "canary.static")
        .annotation("higress.io/canary", "true");
    for (k, v) in annotations {
        canary = canary.annotation(k, v);
    }
    [
        Ingress::host_route(&format!("{prefix}-base"), host, "base.static"),
        canary,
    ]
}

#[tokio::test]
async fn canary_by_header_value_pattern_and_cookie() {
    let backends = Backends::start(&["base", "canary"]);
    const HEADER: &str = "header.canary.example.com";
    const VALUE: &str = "value.canary.example.com";
    const PATTERN: &str = "pattern.canary.example.com";
    const COOKIE: &str = "cookie.canary.example.com";
    let mut ingresses = Vec::new();
    ingresses.extend(canary_pair(
        "header",
        HEADER,
        &[("higress.io/canary-by-header", "x-canary")],
    ));
    ingresses.extend(canary_pair(
        "value",
        VALUE,
        &[
            ("higress.io/canary-by-header", "x-user-group"),
            ("higress.io/canary-by-header-value", "gray.1"),
        ],
    ));
    ingresses.extend(canary_pair(
        "pattern",
        PATTERN,
        &[
            ("higress.io/canary-by-header", "x-origin"),
            ("higress.io/canary-by-header-pattern", "test.com"),
        ],
    ));
    ingresses.extend(canary_pair(
        "cookie",
        COOKIE,
        &[(
            "nginx.ingress.kubernetes.io/canary-by-cookie",
            "canary_user",
        )],
    ));
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(HEADER, "/get", "base").await;
    for host in [VALUE, PATTERN, COOKIE] {
        client.eventually_backend(host, "/get", "base").await;
    }

    let cases = [
        // canary-by-header: exactly `always` goes to the canary.
        case(HEADER, &[], "base"),
        case(HEADER, &[("x-canary", "always")], "canary"),
        case(HEADER, &[("x-canary", "never")], "base"),
        case(HEADER, &[("x-canary", "yes")], "base"),
        case(HEADER, &[("x-canary", "always1")], "base"),
        // -value: the regex `always|gray.1`, whole value, not escaped.
        case(VALUE, &[], "base"),
        case(VALUE, &[("x-user-group", "always")], "canary"),
        case(VALUE, &[("x-user-group", "gray.1")], "canary"),
        case(VALUE, &[("x-user-group", "grayx1")], "canary"),
        case(VALUE, &[("x-user-group", "gray.10")], "base"),
        case(VALUE, &[("x-user-group", "my-gray.1")], "base"),
        case(VALUE, &[("x-user-group", "other")], "base"),
        // -pattern: `.*test.com.*`.
        case(PATTERN, &[], "base"),
        case(PATTERN, &[("x-origin", "test.com")], "canary"),
        case(PATTERN, &[("x-origin", "test.com.abc")], "canary"),
        case(PATTERN, &[("x-origin", "www.test.com")], "canary"),
        case(PATTERN, &[("x-origin", "test.org")], "base"),
        // canary-by-cookie: `canary_user=always` anywhere in the Cookie header.
        case(COOKIE, &[], "base"),
        case(COOKIE, &[("cookie", "canary_user=always")], "canary"),
        case(COOKIE, &[("cookie", "a=1; canary_user=always")], "canary"),
        case(COOKIE, &[("cookie", "canary_user=always; b=2")], "canary"),
        case(COOKIE, &[("cookie", "canary_user=never")], "base"),
        case(COOKIE, &[("cookie", "canary_user=alwaysx")], "base"),
        case(COOKIE, &[("cookie", "xcanary_user=always")], "base"),
        case(COOKIE, &[("x-canary", "always")], "base"),
    ];
    check_cases(client, &cases).await;
}

#[tokio::test]
async fn canary_by_weight_and_weight_total() {
    const TOTAL: usize = 2_000;
    const WORKERS: usize = 8;
    const WEIGHT: &str = "weight.canary.example.com";
    const OF_60: &str = "total.canary.example.com";
    const ZERO: &str = "zero.canary.example.com";
    const ALL: &str = "all.canary.example.com";
    let backends = Backends::start(&["base", "canary"]);
    let mut ingresses = Vec::new();
    ingresses.extend(canary_pair(
        "weight",
        WEIGHT,
        &[("higress.io/canary-weight", "30")],
    ));
    ingresses.extend(canary_pair(
        "total",
        OF_60,
        &[
            ("higress.io/canary-weight", "30"),
            ("higress.io/canary-weight-total", "60"),
        ],
    ));
    ingresses.extend(canary_pair(
        "zero",
        ZERO,
        &[("higress.io/canary-weight", "0")],
    ));
    ingresses.extend(canary_pair(
        "all",
        ALL,
        &[("higress.io/canary-weight", "100")],
    ));
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(ZERO, "/get", "base").await;
    client.eventually_backend(ALL, "/get", "canary").await;

    // 30 of 100.
    let counts = spread(client, WEIGHT, TOTAL, WORKERS).await;
    assert_eq!(counts.values().sum::<usize>(), TOTAL, "{counts:?}");
    assert_share(&counts, "canary", 30, "canary-weight 30");
    // 30 of 60 is half.
    let counts = spread(client, OF_60, TOTAL, WORKERS).await;
    assert_share(
        &counts,
        "canary",
        50,
        "canary-weight 30 of canary-weight-total 60",
    );
    // 0 and 100 are all or nothing.
    let counts = spread(client, ZERO, 100, 4).await;
    assert_eq!(
        counts.get("base"),
        Some(&100),
        "canary-weight 0: {counts:?}"
    );
    let counts = spread(client, ALL, 100, 4).await;
    assert_eq!(
        counts.get("canary"),
        Some(&100),
        "canary-weight 100: {counts:?}"
    );
}

#[tokio::test]
async fn canary_precedence_header_cookie_weight() {
    let backends = Backends::start(&["base", "canary", "hdr", "ck", "wt"]);
    // One canary Ingress with all three: Higress reads it as a header canary, so
    // the cookie and the weight are not used.
    const ONE: &str = "one.precedence.example.com";
    // One canary Ingress with a cookie and a weight: a cookie canary.
    const CW: &str = "cw.precedence.example.com";
    // Three canary Ingresses on one base: header and cookie canaries are checked
    // before the base route's weighted split.
    const LAYERS: &str = "layers.precedence.example.com";
    let mut ingresses = Vec::new();
    ingresses.extend(canary_pair(
        "one",
        ONE,
        &[
            ("higress.io/canary-by-header", "x-canary"),
            ("higress.io/canary-by-cookie", "canary_user"),
            ("higress.io/canary-weight", "100"),
        ],
    ));
    ingresses.extend(canary_pair(
        "cw",
        CW,
        &[
            ("higress.io/canary-by-cookie", "canary_user"),
            ("higress.io/canary-weight", "100"),
        ],
    ));
    ingresses.push(Ingress::host_route("layers-base", LAYERS, "base.static"));
    for (name, dest, key, value) in [
        (
            "layers-header",
            "hdr.static",
            "higress.io/canary-by-header",
            "x-canary",
        ),
        (
            "layers-cookie",
            "ck.static",
            "higress.io/canary-by-cookie",
            "canary_user",
        ),
        (
            "layers-weight",
            "wt.static",
            "higress.io/canary-weight",
            "100",
        ),
    ] {
        ingresses.push(
            Ingress::host_route(name, LAYERS, dest)
                .annotation("higress.io/canary", "true")
                .annotation(key, value),
        );
    }
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(ONE, "/get", "base").await;
    client.eventually_backend(CW, "/get", "base").await;
    client.eventually_backend(LAYERS, "/get", "wt").await;

    let always = ("x-canary", "always");
    let cookie = ("cookie", "canary_user=always");
    let cases = [
        case(ONE, &[always], "canary"),
        case(ONE, &[always, cookie], "canary"),
        case(ONE, &[cookie], "base"),
        case(ONE, &[], "base"),
        case(CW, &[cookie], "canary"),
        case(CW, &[always], "base"),
        case(CW, &[], "base"),
        case(LAYERS, &[always], "hdr"),
        case(LAYERS, &[cookie], "ck"),
        case(LAYERS, &[("x-canary", "no")], "wt"),
        case(LAYERS, &[("cookie", "canary_user=no")], "wt"),
        case(LAYERS, &[], "wt"),
    ];
    check_cases(client, &cases).await;
}

#[tokio::test]
async fn canary_without_base_route_is_ignored_with_a_warning() {
    let backends = Backends::start(&["base", "canary"]);
    const ORPHAN: &str = "orphan.canary.example.com";
    const OTHER: &str = "other.canary.example.com";
    let ingresses = [
        Ingress::host_route("other", OTHER, "base.static"),
        Ingress::host_route("orphan", ORPHAN, "canary.static")
            .annotation("higress.io/canary", "true")
            .annotation("higress.io/canary-by-header", "x-canary"),
        // Same host as a base route, other path: still no base route.
        Ingress::route(
            "orphan-path",
            Some(OTHER),
            Path::prefix("/only-canary"),
            "canary.static",
        )
        .annotation("higress.io/canary", "true")
        .annotation("higress.io/canary-weight", "100"),
    ];
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(OTHER, "/get", "base").await;

    for headers in [&[][..], &[("x-canary", "always")][..]] {
        let reply = get_with(client, ORPHAN, "/get", headers).await;
        assert_eq!(
            reply.status.as_u16(),
            404,
            "orphan canary {headers:?}: {}",
            reply.summary()
        );
    }
    let reply = get(client, OTHER, "/only-canary").await;
    assert_eq!(
        reply.echo_name(),
        Some("base"),
        "a canary path without base must not route: {}",
        reply.summary()
    );
    assert_eq!(
        backends.get("canary").hits(),
        0,
        "the canary backend got traffic"
    );

    let out = validate(gw.config().path());
    let text = out.combined();
    assert_eq!(
        out.code(),
        Some(0),
        "validate must pass with warnings:\n{text}"
    );
    for name in ["orphan", "orphan-path"] {
        assert!(
            text.lines().any(|l| l.starts_with("warning:")
                && l.contains(&format!("Ingress {name}:"))
                && l.contains("canary has no base route")),
            "no canary warning for {name}:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Weighted destinations
// ---------------------------------------------------------------------------

#[tokio::test]
async fn weighted_destination_with_three_backends() {
    const HOST: &str = "three.weighted.example.com";
    let backends = Backends::start(&["d1", "d2", "d3"]);
    let ingress = Ingress::host_route("three", HOST, "20% d1.static\n30% d2.static\n50% d3.static");
    let gw = start(&backends.registries(), &[ingress]).await;
    let client = gw.client();
    client.eventually_status(HOST, "/get", 200).await;

    let counts = spread(client, HOST, 2_000, 8).await;
    assert_eq!(counts.values().sum::<usize>(), 2_000, "{counts:?}");
    for (name, percent) in [("d1", 20), ("d2", 30), ("d3", 50)] {
        assert_share(&counts, name, percent, "destination 20/30/50");
    }
}

/// Weights that do not sum to 100 split traffic in proportion (docs/compatibility.md,
/// "Upstreams"): 10 + 30 and 30 + 90 both mean one request in four to the first backend.
/// The bound 50..=150 of 400 holds even for independent random picks (binomial, mean 100,
/// sd 8.7: 5.8 sd each way) and excludes an even split (200).
#[tokio::test]
async fn weights_not_summing_to_100_split_in_proportion() {
    const UNDER: &str = "under.weighted.example.com";
    const OVER: &str = "over.weighted.example.com";
    const TOTAL: usize = 400;
    let backends = Backends::start(&["u1", "u3", "o1", "o3"]);
    let ingresses = [
        Ingress::host_route("under", UNDER, "10% u1.static\n30% u3.static"),
        Ingress::host_route("over", OVER, "30% o1.static\n90% o3.static"),
    ];
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    for (host, small, large) in [(UNDER, "u1", "u3"), (OVER, "o1", "o3")] {
        client.eventually_status(host, "/get", 200).await;
        let counts = spread(client, host, TOTAL, 4).await;
        let (got_small, got_large) = (
            counts.get(small).copied().unwrap_or(0),
            counts.get(large).copied().unwrap_or(0),
        );
        assert_eq!(got_small + got_large, TOTAL, "{host}: {counts:?}");
        assert!(
            (50..=150).contains(&got_small),
            "{host}: {small} got {got_small} of {TOTAL}, want about a quarter: {counts:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 3. Load balancing
// ---------------------------------------------------------------------------

/// Three echo endpoints `e1`..`e3` behind one static registry `pool`.
fn three_endpoints() -> (Backends, Registry) {
    let backends = Backends::start(&["e1", "e2", "e3"]);
    let registry = Registry::pool("pool", &backends.addrs());
    (backends, registry)
}

#[tokio::test]
async fn round_robin_spreads_evenly() {
    const HOST: &str = "rr.lb.example.com";
    const DEFAULT: &str = "default.lb.example.com";
    let (_backends, registry) = three_endpoints();
    let ingresses = [
        Ingress::host_route("rr", HOST, "pool.static")
            .annotation("higress.io/load-balance", "round_robin"),
        Ingress::host_route("default", DEFAULT, "pool.static"),
    ];
    let gw = start(&[registry], &ingresses).await;
    let client = gw.client();
    client.eventually_status(HOST, "/get", 200).await;
    client.eventually_status(DEFAULT, "/get", 200).await;

    for host in [HOST, DEFAULT] {
        // Sequential requests: round robin gives each endpoint exactly a third.
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..300 {
            let reply = get(client, host, "/get").await;
            assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
            *counts
                .entry(reply.echo_name().unwrap().to_owned())
                .or_default() += 1;
        }
        let want: BTreeMap<String, usize> = ["e1", "e2", "e3"]
            .iter()
            .map(|n| ((*n).to_owned(), 100))
            .collect();
        assert_eq!(counts, want, "round robin on {host}");
    }
}

#[tokio::test]
async fn upstream_hash_by_header_uri_and_arg() {
    const HEADER: &str = "header.hash.example.com";
    const URI: &str = "uri.hash.example.com";
    const ARG: &str = "arg.hash.example.com";
    let (_backends, registry) = three_endpoints();
    let ingresses = [
        Ingress::host_route("hash-header", HEADER, "pool.static").annotation(
            "nginx.ingress.kubernetes.io/upstream-hash-by",
            "$http_x_user",
        ),
        Ingress::host_route("hash-uri", URI, "pool.static")
            .annotation("higress.io/upstream-hash-by", "$request_uri"),
        Ingress::host_route("hash-arg", ARG, "pool.static")
            .annotation("higress.io/upstream-hash-by", "$arg_id"),
    ];
    let gw = start(&[registry], &ingresses).await;
    let client = gw.client();
    for host in [HEADER, URI, ARG] {
        client.eventually_status(host, "/get", 200).await;
    }

    for (what, host) in [
        ("$http_x_user", HEADER),
        ("$request_uri", URI),
        ("$arg_id", ARG),
    ] {
        let mut used = BTreeSet::new();
        for i in 0..60 {
            let user = format!("user-{i}");
            let mut seen = BTreeSet::new();
            // Four requests with the same key and otherwise different URIs (the
            // same URI for `$request_uri`).
            for k in 0..4 {
                let (path, headers) = match host {
                    HEADER => (format!("/p{k}?q={k}"), vec![("x-user", user.as_str())]),
                    URI => (format!("/item/{i}?a=b"), vec![]),
                    _ => (format!("/path{k}?x={k}&id={i}&y=1"), vec![]),
                };
                let reply = get_with(client, host, &path, &headers).await;
                assert_eq!(reply.status.as_u16(), 200, "{what}: {}", reply.summary());
                seen.insert(reply.echo_name().unwrap().to_owned());
            }
            assert_eq!(
                seen.len(),
                1,
                "{what}: key {i} must stick to one endpoint, got {seen:?}"
            );
            used.extend(seen);
        }
        assert_eq!(
            used.len(),
            3,
            "{what}: 60 keys must spread over all 3 endpoints, got {used:?}"
        );
    }
}

/// Parses a `Set-Cookie` value into its `name=value` pair and its lower-cased attributes.
fn parse_set_cookie(value: &str) -> ((String, String), BTreeSet<String>) {
    let mut parts = value.split(';').map(str::trim);
    let pair = parts.next().unwrap_or("");
    let (name, val) = pair.split_once('=').unwrap_or((pair, ""));
    let attrs = parts.map(str::to_ascii_lowercase).collect();
    ((name.to_owned(), val.to_owned()), attrs)
}

#[tokio::test]
async fn cookie_affinity_sets_and_follows_the_cookie() {
    const HOST: &str = "cookie.lb.example.com";
    const NAMED: &str = "named.lb.example.com";
    let (_backends, registry) = three_endpoints();
    let ingresses = [
        Ingress::host_route("affinity", HOST, "pool.static")
            .annotation("nginx.ingress.kubernetes.io/affinity", "cookie"),
        Ingress::host_route("named", NAMED, "pool.static")
            .annotation("higress.io/affinity", "cookie")
            .annotation("higress.io/session-cookie-name", "route")
            .annotation("higress.io/session-cookie-max-age", "3600"),
    ];
    let gw = start(&[registry], &ingresses).await;
    let client = gw.client();
    client.eventually_status(HOST, "/get", 200).await;
    client.eventually_status(NAMED, "/get", 200).await;

    // Requests without the cookie get one; round robin hands out all three endpoints.
    let mut issued: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..6 {
        let reply = get(client, HOST, "/get").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
        let header = set_cookie(&reply).unwrap_or_else(|| panic!("no Set-Cookie: {reply:?}"));
        let ((name, value), attrs) = parse_set_cookie(&header);
        assert_eq!(name, "INGRESSCOOKIE", "{header}");
        assert!(!value.is_empty(), "{header}");
        let want: BTreeSet<String> = ["path=/", "httponly"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(attrs, want, "Set-Cookie attributes: {header}");
        let backend = reply.echo_name().unwrap().to_owned();
        if let Some(old) = issued.insert(value.clone(), backend.clone()) {
            assert_eq!(old, backend, "one cookie value for two endpoints: {value}");
        }
    }
    let endpoints: BTreeSet<&String> = issued.values().collect();
    assert_eq!(endpoints.len(), 3, "cookies issued for {issued:?}");

    // Requests carrying a cookie stick to its endpoint, and get no new cookie.
    for (value, backend) in &issued {
        for cookie in [
            format!("INGRESSCOOKIE={value}"),
            format!("a=1; INGRESSCOOKIE={value}; b=2"),
        ] {
            for _ in 0..5 {
                let reply = get_with(client, HOST, "/get", &[("cookie", &cookie)]).await;
                assert_eq!(
                    reply.echo_name(),
                    Some(backend.as_str()),
                    "Cookie {cookie}: {}",
                    reply.summary()
                );
                assert_eq!(set_cookie(&reply), None, "Cookie {cookie} was replaced");
            }
        }
    }
    // A cookie naming no endpoint is served and replaced.
    let reply = get_with(
        client,
        HOST,
        "/get",
        &[("cookie", "INGRESSCOOKIE=0123456789abcdef")],
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
    let header = set_cookie(&reply).expect("a stale cookie is replaced");
    assert_eq!(parse_set_cookie(&header).0 .0, "INGRESSCOOKIE", "{header}");

    // session-cookie-name and -max-age.
    let reply = get(client, NAMED, "/get").await;
    let header = set_cookie(&reply).unwrap_or_else(|| panic!("no Set-Cookie: {reply:?}"));
    let ((name, value), attrs) = parse_set_cookie(&header);
    assert_eq!(name, "route", "{header}");
    let want: BTreeSet<String> = ["path=/", "httponly", "max-age=3600"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(attrs, want, "Set-Cookie attributes: {header}");
    let backend = reply.echo_name().unwrap().to_owned();
    let cookie = format!("route={value}");
    for _ in 0..10 {
        let reply = get_with(client, NAMED, "/get", &[("cookie", &cookie)]).await;
        assert_eq!(
            reply.echo_name(),
            Some(backend.as_str()),
            "Cookie {cookie}: {}",
            reply.summary()
        );
    }
    // The default cookie name means nothing on this route.
    let mut seen = BTreeSet::new();
    for _ in 0..6 {
        let reply = get_with(
            client,
            NAMED,
            "/get",
            &[("cookie", &format!("INGRESSCOOKIE={value}"))],
        )
        .await;
        seen.insert(reply.echo_name().unwrap().to_owned());
    }
    assert_eq!(
        seen.len(),
        3,
        "INGRESSCOOKIE must not pin the `route` cookie route: {seen:?}"
    );
}

#[tokio::test]
async fn least_conn_avoids_the_busy_endpoint() {
    const HOST: &str = "lc.lb.example.com";
    // Held by its backend until released, so the endpoint is busy for as long as needed.
    const SLOW_PATH: &str = "/hold/slow";
    let (backends, registry) = three_endpoints();
    let ingress = Ingress::host_route("least-conn", HOST, "pool.static")
        .annotation("higress.io/load-balance", "least_conn");
    let gw = start(&[registry], &[ingress]).await;
    let client = gw.client();
    client.eventually_status(HOST, "/get", 200).await;

    // One held request keeps one endpoint busy.
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.get(HOST, SLOW_PATH).await })
    };
    let busy = eventually(DEADLINE, || async {
        backends
            .servers()
            .iter()
            .find(|s| s.requests().iter().any(|r| r.path == SLOW_PATH))
            .map(|s| s.name().to_owned())
            .ok_or_else(|| "the slow request has not arrived".to_owned())
    })
    .await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..30 {
        let reply = get(client, HOST, "/get").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
        *counts
            .entry(reply.echo_name().unwrap().to_owned())
            .or_default() += 1;
    }
    // Every fast request was answered while the slow one was still held: none waited on it.
    assert!(
        !slow.is_finished(),
        "the held request ended before its backend released it"
    );
    for server in backends.servers() {
        server.release();
    }
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.echo_name(), Some(busy.as_str()), "{}", slow.summary());
    assert_eq!(
        counts.get(&busy),
        None,
        "least_conn sent requests to the busy endpoint {busy}: {counts:?}"
    );
    assert_eq!(
        counts.len(),
        2,
        "the idle endpoints share the load: {counts:?}"
    );
}

// ---------------------------------------------------------------------------
// 4. Retries
// ---------------------------------------------------------------------------

/// Sends one request, returns the reply and the requests the backend saw for it.
async fn attempt(
    client: &Client,
    backend: &EchoServer,
    method: Method,
    host: &str,
    path: &str,
    body: Option<&str>,
) -> (Reply, Vec<Recorded>) {
    backend.take_requests();
    let reply = client
        .send(method, host, path, &[], body.map(str::to_owned))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (reply, backend.take_requests())
}

#[tokio::test]
async fn retries_follow_proxy_next_upstream() {
    const TRIES: &str = "tries.retry.example.com";
    const ONLY_502: &str = "502.retry.example.com";
    const OFF: &str = "off.retry.example.com";
    const POST: &str = "post.retry.example.com";
    const NON_IDEMPOTENT: &str = "nonidem.retry.example.com";
    let backends = Backends::start(&["tries", "only502", "off", "post", "nonidem"]);
    let ingresses = [
        Ingress::host_route("tries", TRIES, "tries.static")
            .annotation("higress.io/proxy-next-upstream-tries", "3"),
        Ingress::host_route("only502", ONLY_502, "only502.static")
            .annotation("higress.io/proxy-next-upstream-tries", "3")
            .annotation("higress.io/proxy-next-upstream", "http_502"),
        Ingress::host_route("off", OFF, "off.static")
            .annotation("nginx.ingress.kubernetes.io/proxy-next-upstream", "off"),
        Ingress::host_route("post", POST, "post.static")
            .annotation("higress.io/proxy-next-upstream-tries", "3"),
        Ingress::host_route("nonidem", NON_IDEMPOTENT, "nonidem.static")
            .annotation("higress.io/proxy-next-upstream-tries", "3")
            .annotation("higress.io/proxy-next-upstream", "error,non_idempotent"),
    ];
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    for (host, name) in [
        (TRIES, "tries"),
        (ONLY_502, "only502"),
        (OFF, "off"),
        (POST, "post"),
        (NON_IDEMPOTENT, "nonidem"),
    ] {
        client.eventually_backend(host, "/get", name).await;
    }
    let mut failures = Vec::new();
    let mut expect =
        |what: &str, reply: &Reply, seen: &[Recorded], status: u16, tries: usize| {
            if reply.status.as_u16() != status || seen.len() != tries {
                failures.push(format!(
                "{what}: want {status} after {tries} upstream request(s), got {} after {} ({:?})",
                reply.summary(),
                seen.len(),
                seen.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>()
            ));
            }
        };
    let mut extra = Vec::new();

    // Two 503s, then 200: three attempts in all.
    let b = backends.get("tries");
    b.fail_next(2, 503);
    let (reply, seen) = attempt(client, b, Method::GET, TRIES, "/get?n=1", None).await;
    expect("tries 3, 503 x2", &reply, &seen, 200, 3);
    if seen.iter().any(|r| r.path != "/get" || r.query != "n=1") {
        extra.push(format!("retries must repeat the request: {seen:?}"));
    }
    // Attempts run out: the last upstream answer is returned.
    b.fail_next(3, 503);
    let (reply, seen) = attempt(client, b, Method::GET, TRIES, "/get", None).await;
    expect("tries 3, 503 x3", &reply, &seen, 503, 3);
    if reply.status.as_u16() == 503 && reply.echo_name() != Some("tries") {
        extra.push(format!(
            "the last upstream 503 must be passed on: {}",
            reply.summary()
        ));
    }

    // http_502 retries 502 only.
    let b = backends.get("only502");
    b.fail_next(1, 502);
    let (reply, seen) = attempt(client, b, Method::GET, ONLY_502, "/get", None).await;
    expect("http_502, one 502", &reply, &seen, 200, 2);
    b.fail_next(1, 503);
    let (reply, seen) = attempt(client, b, Method::GET, ONLY_502, "/get", None).await;
    expect("http_502, one 503", &reply, &seen, 503, 1);
    b.fail_next(1, 500);
    let (reply, seen) = attempt(client, b, Method::GET, ONLY_502, "/get", None).await;
    expect("http_502, one 500", &reply, &seen, 500, 1);

    // off: no retry.
    let b = backends.get("off");
    b.fail_next(1, 503);
    let (reply, seen) = attempt(client, b, Method::GET, OFF, "/get", None).await;
    expect("off, one 503", &reply, &seen, 503, 1);
    b.fail_next(1, 502);
    let (reply, seen) = attempt(client, b, Method::GET, OFF, "/get", None).await;
    expect("off, one 502", &reply, &seen, 502, 1);

    // POST is not retried without non_idempotent; GET on the same route is.
    let b = backends.get("post");
    b.fail_next(1, 503);
    let (reply, seen) = attempt(client, b, Method::POST, POST, "/post", Some("payload")).await;
    expect("POST without non_idempotent", &reply, &seen, 503, 1);
    b.fail_next(1, 503);
    let (reply, seen) = attempt(client, b, Method::GET, POST, "/get", None).await;
    expect("GET on the POST route", &reply, &seen, 200, 2);

    // non_idempotent: POST is retried, with its body.
    let b = backends.get("nonidem");
    b.fail_next(1, 503);
    let (reply, seen) = attempt(
        client,
        b,
        Method::POST,
        NON_IDEMPOTENT,
        "/post",
        Some("payload-1"),
    )
    .await;
    expect("POST with non_idempotent", &reply, &seen, 200, 2);
    if seen
        .iter()
        .any(|r| r.method != "POST" || r.body_text() != "payload-1")
    {
        extra.push(format!(
            "a retried POST must carry its body: {:?}",
            seen.iter()
                .map(|r| (r.method.clone(), r.body_text()))
                .collect::<Vec<_>>()
        ));
    }
    if reply.status.as_u16() == 200 && reply.json()["body"] != "payload-1" {
        extra.push(format!(
            "the answered attempt lost the body: {}",
            reply.summary()
        ));
    }

    failures.extend(extra);
    assert!(
        failures.is_empty(),
        "retry cases failed:\n  {}",
        failures.join("\n  ")
    );
}

/// Connect failures are retried on another endpoint with `proxy-next-upstream-tries` and,
/// without any retry annotation, by default (Istio's default). Each leg has its own target
/// (its own live backend between two refusing ports), so neither leg's refusing endpoints
/// were ejected by the other's traffic: round robin sends the very first request of each leg
/// to a refusing endpoint.
#[tokio::test]
async fn retries_move_past_a_closed_endpoint() {
    const RETRY: &str = "retry.closed.example.com";
    const DEFAULT: &str = "default.closed.example.com";
    const READY: &str = "ready.closed.example.com";
    const REQUESTS: usize = 30;
    let ready = EchoServer::start("ready");
    let retry_live = EchoServer::start("retry-live");
    let default_live = EchoServer::start("default-live");
    let refusing: Vec<HeldPort> = (0..4).map(|_| HeldPort::new()).collect();
    let registries = [
        Registry::fixed("ready", ready.addr()),
        Registry::pool(
            "retrypool",
            &[refusing[0].addr(), retry_live.addr(), refusing[1].addr()],
        ),
        Registry::pool(
            "defaultpool",
            &[refusing[2].addr(), default_live.addr(), refusing[3].addr()],
        ),
    ];
    let ingresses = [
        Ingress::host_route("ready", READY, "ready.static"),
        Ingress::host_route("retry", RETRY, "retrypool.static")
            .annotation("higress.io/proxy-next-upstream-tries", "3"),
        // No retry annotations: connect failures are still retried.
        Ingress::host_route("default", DEFAULT, "defaultpool.static"),
    ];
    let gw = start(&registries, &ingresses).await;
    let client = gw.client();
    // All three Ingresses load together; the pools see no request before their leg.
    client.eventually_backend(READY, "/get", "ready").await;

    for (host, live) in [(DEFAULT, &default_live), (RETRY, &retry_live)] {
        let mut failures = Vec::new();
        for i in 0..REQUESTS {
            let reply = get(client, host, &format!("/get?i={i}")).await;
            if reply.status.as_u16() != 200 || reply.echo_name() != Some(live.name()) {
                failures.push(format!("request {i}: {}", reply.summary()));
            }
        }
        assert!(
            failures.is_empty(),
            "{host}: {} of {REQUESTS} requests did not reach the live endpoint:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
        // Each request reached the live endpoint exactly once.
        let seen: Vec<String> = live.requests().into_iter().map(|r| r.query).collect();
        let want: Vec<String> = (0..REQUESTS).map(|i| format!("i={i}")).collect();
        assert_eq!(seen, want, "{host}: requests the live endpoint saw");
    }
}

// ---------------------------------------------------------------------------
// 5. Timeout
// ---------------------------------------------------------------------------

/// Times `GET <path>` on `host`.
async fn timed(client: &Client, host: &str, path: &str) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = get(client, host, path).await;
    (reply, started.elapsed())
}

#[tokio::test]
async fn timeout_gives_504_from_a_slow_backend() {
    const HOST: &str = "timeout.example.com";
    const LONGER: &str = "longer.timeout.example.com";
    let backends = Backends::start(&["slow"]);
    let ingresses = [
        Ingress::host_route("timeout", HOST, "slow.static").annotation("higress.io/timeout", "1"),
        Ingress::host_route("longer", LONGER, "slow.static").annotation("higress.io/timeout", "3"),
    ];
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(HOST, "/get", "slow").await;

    // Faster than the timeout: served.
    let reply = get(client, HOST, "/delay/200").await;
    assert_eq!(reply.echo_name(), Some("slow"), "{}", reply.summary());

    // The backend holds both requests until the test releases it: each gets the gateway's
    // 504, no sooner than its own timeout, and the 1 s one before the 3 s one.
    let ((short, short_took), (long, long_took)) = tokio::join!(
        timed(client, HOST, "/hold/1"),
        timed(client, LONGER, "/hold/3")
    );
    // The gateway hung up on the backend when it gave up: nothing is held any more.
    eventually(DEADLINE, || async {
        match backends.get("slow").held_now() {
            0 => Ok(()),
            n => Err(format!(
                "{n} timed-out requests still held open by the gateway"
            )),
        }
    })
    .await;
    for (reply, took, floor) in [(&short, short_took, 1), (&long, long_took, 3)] {
        assert_eq!(reply.status.as_u16(), 504, "{}", reply.summary());
        assert_eq!(reply.echo_name(), None, "{}", reply.summary());
        assert!(
            took >= Duration::from_millis(floor * 1_000 - 50),
            "504 after {took:?}, before the {floor} s timeout"
        );
    }
    assert!(
        short_took < long_took,
        "timeout 1 answered after timeout 3 ({short_took:?} vs {long_took:?})"
    );
    // A backend slow on every path (not per path) times out the same way.
    let slow = backends.get("slow");
    slow.hold_all();
    let (reply, took) = timed(client, HOST, "/get").await;
    assert_eq!(reply.status.as_u16(), 504, "{}", reply.summary());
    assert!(took >= Duration::from_millis(950), "504 after {took:?}");
    slow.release();
}

// ---------------------------------------------------------------------------
// 6. Fallback
// ---------------------------------------------------------------------------

#[tokio::test]
async fn default_backend_serves_when_upstream_is_down_or_errors() {
    const DOWN: &str = "down.fallback.example.com";
    const ERRORS: &str = "errors.fallback.example.com";
    let fb = EchoServer::start("fb");
    let primary = EchoServer::start("primary");
    let config = ConfigDir::new();
    write_service(&config, "fb", fb.port());
    let registries = [
        Registry::fixed("down", closed_port()),
        Registry::fixed("primary", primary.addr()),
    ];
    let ingresses = [
        Ingress::host_route("down", DOWN, "down.static")
            .annotation("higress.io/default-backend", "fb"),
        Ingress::host_route("errors", ERRORS, "primary.static")
            .annotation("nginx.ingress.kubernetes.io/default-backend", "fb")
            .annotation("nginx.ingress.kubernetes.io/custom-http-errors", "503"),
    ];
    let gw = start_with(config, &registries, &ingresses).await;
    let client = gw.client();
    client.eventually_backend(DOWN, "/get", "fb").await;
    client.eventually_backend(ERRORS, "/get", "primary").await;

    // Unreachable primary: the fallback gets the same request.
    fb.take_requests();
    let reply = get(client, DOWN, "/some/path?x=1").await;
    assert_eq!(reply.echo_name(), Some("fb"), "{}", reply.summary());
    let seen = fb.take_requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].path.as_str(), seen[0].query.as_str()),
        ("/some/path", "x=1")
    );

    // A listed status: the fallback answers, and sees `/`.
    primary.take_requests();
    let reply = get(client, ERRORS, "/status/503").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
    assert_eq!(reply.echo_name(), Some("fb"), "{}", reply.summary());
    let seen = fb.take_requests();
    assert_eq!(seen.len(), 1, "fallback requests: {seen:?}");
    assert_eq!(seen[0].path, "/", "the fallback must see `/`: {seen:?}");
    let tried = primary.take_requests();
    assert_eq!(tried.len(), 1, "primary requests: {tried:?}");
    assert_eq!(tried[0].path, "/status/503");

    // The same through a failing backend on an ordinary path.
    primary.fail_next(1, 503);
    let reply = get(client, ERRORS, "/anything").await;
    assert_eq!(reply.echo_name(), Some("fb"), "{}", reply.summary());
    assert_eq!(fb.take_requests().len(), 1);

    // Unlisted statuses and successes pass through.
    let reply = get(client, ERRORS, "/status/500").await;
    assert_eq!(reply.status.as_u16(), 500, "{}", reply.summary());
    assert_eq!(reply.echo_name(), Some("primary"), "{}", reply.summary());
    let reply = get(client, ERRORS, "/get").await;
    assert_eq!(reply.echo_name(), Some("primary"), "{}", reply.summary());
    assert!(
        fb.take_requests().is_empty(),
        "the fallback must not see these"
    );
}

// ---------------------------------------------------------------------------
// 7. Mirror
// ---------------------------------------------------------------------------

/// Checks that a copy of `POST <path>` with `body` reached `mirror` with Host
/// `<host>-shadow`, while `main` answered the client.
async fn check_mirrored(client: &Client, main: &str, mirror: &EchoServer, host: &str, tag: &str) {
    let path = format!("/mirror/{tag}");
    let body = format!("{{\"tag\":\"{tag}\"}}");
    let reply = client
        .send(
            Method::POST,
            host,
            &format!("{path}?k=v"),
            &[("x-tag", tag), ("content-type", "application/json")],
            Some(body.clone()),
        )
        .await
        .unwrap();
    assert_eq!(reply.echo_name(), Some(main), "{}", reply.summary());
    let copy = eventually_request(mirror, &path, DEADLINE).await;
    assert_eq!(copy.method, "POST", "{copy:?}");
    assert_eq!(copy.query, "k=v", "{copy:?}");
    assert_eq!(copy.host, format!("{host}-shadow"), "{copy:?}");
    assert_eq!(copy.body_text(), body, "{copy:?}");
    assert_eq!(copy.header("x-tag"), Some(tag), "{copy:?}");

    let get_path = format!("/mirror/{tag}/get");
    let reply = get(client, host, &format!("{get_path}?a=1&b=2")).await;
    assert_eq!(reply.echo_name(), Some(main), "{}", reply.summary());
    let copy = eventually_request(mirror, &get_path, DEADLINE).await;
    assert_eq!(
        (copy.method.as_str(), copy.query.as_str()),
        ("GET", "a=1&b=2"),
        "{copy:?}"
    );
    assert_eq!(copy.host, format!("{host}-shadow"), "{copy:?}");
}

#[tokio::test]
async fn mirror_copies_requests_to_fqdn_and_service_targets() {
    const FQDN: &str = "fqdn.mirror.example.com";
    const DNS: &str = "dns.mirror.example.com";
    const SERVICE: &str = "svc.mirror.example.com";
    let main = EchoServer::start("main");
    let copy = EchoServer::start("copy");
    let copy_dns = EchoServer::start("copy-dns");
    let copy_svc = EchoServer::start("copy-svc");
    let config = ConfigDir::new();
    write_service(&config, "mirror-svc", copy_svc.port());
    let registries = [
        Registry::fixed("main", main.addr()),
        Registry::fixed("copy", copy.addr()),
        Registry::dns("copydns", "127.0.0.1", copy_dns.port()),
    ];
    let dns_port = copy_dns.port().to_string();
    let ingresses = [
        Ingress::host_route("fqdn", FQDN, "main.static")
            .annotation("higress.io/mirror-target-fqdn", "copy.static")
            .annotation("higress.io/mirror-target-fqdn-port", "80"),
        Ingress::host_route("dns", DNS, "main.static")
            .annotation(
                "nginx.ingress.kubernetes.io/mirror-target-fqdn",
                "copydns.dns",
            )
            .annotation(
                "nginx.ingress.kubernetes.io/mirror-target-fqdn-port",
                &dns_port,
            ),
        Ingress::host_route("svc", SERVICE, "main.static")
            .annotation("higress.io/mirror-target-service", "mirror-svc"),
    ];
    let gw = start_with(config, &registries, &ingresses).await;
    let client = gw.client();
    for (host, mirror) in [(FQDN, &copy), (DNS, &copy_dns), (SERVICE, &copy_svc)] {
        client.eventually_backend(host, "/get", "main").await;
        // The dns registry resolves in the background: wait for a first copy.
        eventually(DEADLINE, || async {
            get(client, host, "/warmup").await;
            if mirror.requests().iter().any(|r| r.path == "/warmup") {
                Ok(())
            } else {
                Err(format!("no copy at {} yet", mirror.name()))
            }
        })
        .await;
    }
    check_mirrored(client, "main", &copy, FQDN, "fqdn").await;
    check_mirrored(client, "main", &copy_dns, DNS, "dns").await;
    check_mirrored(client, "main", &copy_svc, SERVICE, "svc").await;
    // Each copy went to its own mirror only.
    for (mirror, own) in [(&copy, "fqdn"), (&copy_dns, "dns"), (&copy_svc, "svc")] {
        for r in mirror.requests() {
            if let Some(tag) = r.path.strip_prefix("/mirror/") {
                assert!(tag.starts_with(own), "{} got {}", mirror.name(), r.path);
            }
        }
    }
}

#[tokio::test]
async fn mirror_percentage_and_slow_mirror() {
    const HALF: &str = "half.mirror.example.com";
    const SLOW: &str = "slow.mirror.example.com";
    let main = EchoServer::start("main");
    let half = EchoServer::start("half");
    let slow = EchoServer::start("slow");
    // The slow mirror holds every copy until the end of the test.
    slow.hold_all();
    let registries = [
        Registry::fixed("main", main.addr()),
        Registry::fixed("half", half.addr()),
        Registry::fixed("slow", slow.addr()),
    ];
    let ingresses = [
        Ingress::host_route("half", HALF, "main.static")
            .annotation("higress.io/mirror-target-fqdn", "half.static")
            .annotation("higress.io/mirror-percentage", "50"),
        Ingress::host_route("slow", SLOW, "main.static")
            .annotation("higress.io/mirror-target-fqdn", "slow.static"),
    ];
    let gw = start(&registries, &ingresses).await;
    let client = gw.client();
    client.eventually_backend(HALF, "/get", "main").await;
    client.eventually_backend(SLOW, "/get", "main").await;

    // 50%: evenly spread, so exactly 100 of 200 requests.
    for i in 0..200 {
        let reply = get(client, HALF, &format!("/counted/{i}")).await;
        assert_eq!(reply.echo_name(), Some("main"), "{}", reply.summary());
    }
    let counted = || {
        half.requests()
            .iter()
            .filter(|r| r.path.starts_with("/counted/"))
            .count()
    };
    let copies = try_eventually(DEADLINE, || async {
        let n = counted();
        if n >= 100 {
            Ok(n)
        } else {
            Err(format!("{n} copies so far"))
        }
    })
    .await
    .map_or_else(|_| counted(), |(n, _)| n);
    assert_eq!(copies, 100, "mirror-percentage 50 over 200 requests");
    // Every copy arrived once, for an evenly spread half of the requests.
    let paths: BTreeSet<String> = half
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/counted/"))
        .map(|r| r.path)
        .collect();
    assert_eq!(paths.len(), 100, "duplicate copies");
    for window in (0..200).collect::<Vec<_>>().chunks(10) {
        let n = window
            .iter()
            .filter(|i| paths.contains(&format!("/counted/{i}")))
            .count();
        assert_eq!(n, 5, "copies of requests {window:?}: {n}, want 5");
    }

    // A mirror that never answers does not hold up the main request: each is answered
    // while its copy still waits at the mirror on an open connection (the gateway neither
    // waited for the copy's answer nor gave up on it first).
    for i in 0..3 {
        let path = format!("/held/{i}");
        let reply = get(client, SLOW, &path).await;
        assert_eq!(reply.echo_name(), Some("main"), "{}", reply.summary());
        eventually_request(&slow, &path, DEADLINE).await;
        let held = slow.held_now();
        assert!(
            held > i,
            "copy {i}: {held} copies waiting at the mirror when the main answer came"
        );
    }
    slow.release();
}

// ---------------------------------------------------------------------------
// 8. Rate limit
// ---------------------------------------------------------------------------

/// A limited route `/` on `host` and an unlimited `/ready` route to the same backend.
fn limited(name: &str, host: &str, annotations: &[(&str, &str)]) -> [Ingress; 2] {
    let mut ingress = Ingress::host_route(name, host, "limited.static");
    for (k, v) in annotations {
        ingress = ingress.annotation(k, v);
    }
    [
        ingress,
        Ingress::route(
            &format!("{name}-ready"),
            Some(host),
            Path::prefix("/ready"),
            "limited.static",
        ),
    ]
}

fn expect_limited(reply: &Reply) -> Result<(), String> {
    if reply.status.as_u16() == 429
        && reply.body.trim() == "local_rate_limited"
        && reply.echo_name().is_none()
    {
        Ok(())
    } else {
        Err(format!(
            "want the gateway's 429 local_rate_limited, got {}",
            reply.summary()
        ))
    }
}

/// Status codes of `n` requests to `GET /get` on `host`, sent one after another as fast as
/// they go, and how long they took from the first send to the last answer.
/// Also checks that every 429 among them is the gateway's `local_rate_limited`.
async fn burst(client: &Client, host: &str, n: usize) -> (Vec<u16>, Duration) {
    let started = Instant::now();
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        let reply = get(client, host, "/get").await;
        if reply.status.as_u16() == 429 {
            expect_limited(&reply).unwrap();
        }
        statuses.push(reply.status.as_u16());
    }
    (statuses, started.elapsed())
}

/// Fill intervals (of `interval`) that can begin within `span`: at most `ceil(span/interval)`.
fn fills_within(span: Duration, interval: Duration) -> usize {
    span.as_nanos().div_ceil(interval.as_nanos()) as usize
}

#[tokio::test]
async fn route_limit_rps_with_burst_multiplier() {
    const HOST: &str = "rps.limit.example.com";
    const MINUTE: &str = "rpm.limit.example.com";
    const RPS: usize = 5;
    const FILL: Duration = Duration::from_secs(1);
    let backends = Backends::start(&["limited"]);
    let mut ingresses = limited(
        "rps",
        HOST,
        &[
            ("higress.io/route-limit-rps", "5"),
            ("higress.io/route-limit-burst-multiplier", "1"),
        ],
    )
    .to_vec();
    // The same bucket size per minute: the control that does not refill during the test.
    ingresses.extend(limited(
        "minute",
        MINUTE,
        &[
            ("higress.io/route-limit-rpm", "5"),
            ("higress.io/route-limit-burst-multiplier", "1"),
        ],
    ));
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(HOST, "/ready", "limited").await;
    client.eventually_backend(MINUTE, "/ready", "limited").await;

    // The limit holds: a run of requests gets the full bucket (5) plus 5 for each fill that
    // can begin during the run, whatever the run's speed (a slower run only allows more).
    let (statuses, span) = burst(client, HOST, 30).await;
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    let allowed = RPS + RPS * fills_within(span, FILL);
    assert!(
        statuses[..RPS] == [200; RPS] && admitted <= allowed && statuses.contains(&429),
        "30 requests in {span:?}: {admitted} admitted (at most {allowed}): {statuses:?}"
    );
    let (minute, _) = burst(client, MINUTE, RPS + 1).await;
    assert_eq!(minute, [200, 200, 200, 200, 200, 429], "rpm 5 x 1");

    // It refills: poll until a request passes, remembering when the last limited one began.
    // The fill came after that instant, so the next cannot come within FILL of it.
    let limited_since = std::sync::Mutex::new(Instant::now());
    eventually(DEADLINE, || async {
        let sent = Instant::now();
        let reply = get(client, HOST, "/get").await;
        if reply.status.as_u16() == 429 {
            *limited_since.lock().unwrap() = sent;
            return Err("still limited".to_owned());
        }
        reply.expect_backend("limited").map(|_| ())
    })
    .await;
    let limited_since = *limited_since.lock().unwrap();
    // One fill is 5 tokens: the request that saw it took one, 4 more pass, then 429.
    let (statuses, _) = burst(client, HOST, 8).await;
    let next_fill_possible = limited_since + FILL;
    if Instant::now() < next_fill_possible {
        assert_eq!(
            statuses,
            [200, 200, 200, 200, 429, 429, 429, 429],
            "after a refill"
        );
    } else {
        // Slower than one fill interval: only the bound holds.
        let span = limited_since.elapsed();
        let admitted = statuses.iter().filter(|s| **s == 200).count();
        let allowed = RPS - 1 + RPS * fills_within(span, FILL);
        assert!(
            admitted <= allowed,
            "after a refill: {admitted} of 8 admitted in {span:?} (at most {allowed}): {statuses:?}"
        );
        eprintln!("the burst after the refill took longer than a fill; checked the bound only");
    }
    // Other routes are not limited.
    for _ in 0..10 {
        get(client, HOST, "/ready")
            .await
            .expect_backend("limited")
            .unwrap();
    }

    // Recovers by the next fill, while the per-minute bucket emptied above stays empty.
    eventually(DEADLINE, || async {
        get(client, HOST, "/get").await.expect_backend("limited")
    })
    .await;
    expect_limited(&get(client, MINUTE, "/get").await)
        .unwrap_or_else(|e| panic!("the per-minute bucket refilled within the test: {e}"));
}

#[tokio::test]
async fn route_limit_rpm_wins_over_rps_and_burst_multiplier() {
    const HOST: &str = "rpm.limit.example.com";
    const BURST: &str = "burst.limit.example.com";
    let backends = Backends::start(&["limited"]);
    let mut ingresses = Vec::new();
    ingresses.extend(limited(
        "rpm",
        HOST,
        &[
            ("higress.io/route-limit-rpm", "3"),
            ("higress.io/route-limit-rps", "100"),
            ("higress.io/route-limit-burst-multiplier", "1"),
        ],
    ));
    // The default burst multiplier is 5.
    ingresses.extend(limited(
        "burst",
        BURST,
        &[("higress.io/route-limit-rpm", "2")],
    ));
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(HOST, "/ready", "limited").await;
    client.eventually_backend(BURST, "/ready", "limited").await;

    // The buckets start full and refill only after a minute.
    for (host, tokens, what) in [
        (HOST, 3, "rpm 3 x 1 (rps 100 must be ignored)"),
        (BURST, 10, "rpm 2 x default multiplier 5"),
    ] {
        let mut statuses = Vec::new();
        for _ in 0..tokens + 5 {
            statuses.push(get(client, host, "/get").await.status.as_u16());
        }
        let mut want = vec![200; tokens];
        want.extend([429; 5]);
        assert_eq!(statuses, want, "{what}");
        expect_limited(&get(client, host, "/get").await).unwrap();
    }
}

// ---------------------------------------------------------------------------
// 9. Whitelist
// ---------------------------------------------------------------------------

#[tokio::test]
async fn whitelist_source_range() {
    const DENY: &str = "deny.acl.example.com";
    const ALLOW: &str = "allow.acl.example.com";
    const LIST: &str = "list.acl.example.com";
    let backends = Backends::start(&["denied", "allowed"]);
    let ingresses = [
        Ingress::host_route("deny", DENY, "denied.static")
            .annotation("higress.io/whitelist-source-range", "10.0.0.0/8"),
        Ingress::host_route("allow", ALLOW, "allowed.static").annotation(
            "nginx.ingress.kubernetes.io/whitelist-source-range",
            "127.0.0.1/32",
        ),
        Ingress::host_route("list", LIST, "allowed.static").annotation(
            "higress.io/whitelist-source-range",
            "10.0.0.0/8, 192.168.0.0/16,127.0.0.0/8",
        ),
    ];
    let gw = start(&backends.registries(), &ingresses).await;
    let client = gw.client();
    client.eventually_backend(ALLOW, "/get", "allowed").await;
    client.eventually_backend(LIST, "/get", "allowed").await;

    for headers in [&[][..], &[("x-forwarded-for", "10.1.2.3")][..]] {
        let reply = get_with(client, DENY, "/get", headers).await;
        assert_eq!(
            reply.status.as_u16(),
            403,
            "{headers:?}: {}",
            reply.summary()
        );
        assert_eq!(
            reply.body.trim(),
            "RBAC: access denied",
            "{}",
            reply.summary()
        );
        assert_eq!(reply.echo_name(), None, "{}", reply.summary());
    }
    assert_eq!(
        backends.get("denied").hits(),
        0,
        "a denied request reached the backend"
    );
}
