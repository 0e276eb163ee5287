//! Every annotation family: defaults, Higress value formats, and the errors for bad values.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

fn parse(pairs: &[(&str, &str)]) -> Result<IngressAnnotations, Vec<AnnotationError>> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    IngressAnnotations::parse(&AnnotationReader::new(&map))
}

fn ok(pairs: &[(&str, &str)]) -> IngressAnnotations {
    parse(pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e:?}"))
}

#[test]
fn nginx_prefix_wins_over_higress() {
    let a = ok(&[
        (
            "nginx.ingress.kubernetes.io/upstream-vhost",
            "nginx.example",
        ),
        ("higress.io/upstream-vhost", "higress.example"),
    ]);
    assert_eq!(
        a.rewrite.unwrap().upstream_vhost.as_deref(),
        Some("nginx.example")
    );
}

#[test]
fn redirects() {
    let a = ok(&[
        ("higress.io/temporal-redirect", "http://a.com/x"),
        ("higress.io/permanent-redirect", "http://b.com"),
    ]);
    assert_eq!(
        a.redirect,
        Some(Redirect::Url {
            url: "http://a.com/x".into(),
            code: 302
        })
    );
    let a = ok(&[
        (
            "nginx.ingress.kubernetes.io/permanent-redirect",
            "https://b.com",
        ),
        ("nginx.ingress.kubernetes.io/permanent-redirect-code", "308"),
    ]);
    assert_eq!(
        a.redirect,
        Some(Redirect::Url {
            url: "https://b.com".into(),
            code: 308
        })
    );
    let a = ok(&[
        ("higress.io/permanent-redirect", "http://b.com"),
        ("higress.io/permanent-redirect-code", "404"),
    ]);
    assert_eq!(
        a.redirect,
        Some(Redirect::Url {
            url: "http://b.com".into(),
            code: 301
        })
    );
    assert_eq!(
        ok(&[("higress.io/ssl-redirect", "true")]).redirect,
        Some(Redirect::Https)
    );
    assert_eq!(
        ok(&[("higress.io/app-root", "/app")]).app_root,
        Some(AppRoot("/app".into()))
    );
}

#[test]
fn canary_precedence_header_cookie_weight() {
    let base = [("higress.io/canary", "true")];
    let a = ok(&[
        base[0],
        ("higress.io/canary-by-header", "X-Canary"),
        ("higress.io/canary-by-cookie", "c"),
        ("higress.io/canary-weight", "10"),
    ]);
    assert_eq!(
        a.canary,
        Some(Canary::Header {
            name: "x-canary".into(),
            value_regex: None
        })
    );
    let a = ok(&[
        base[0],
        ("higress.io/canary-by-header", "x"),
        ("higress.io/canary-by-header-pattern", "test.com"),
    ]);
    assert_eq!(
        a.canary,
        Some(Canary::Header {
            name: "x".into(),
            value_regex: Some(".*test.com.*".into())
        })
    );
    let a = ok(&[
        base[0],
        ("higress.io/canary-by-cookie", "c"),
        ("higress.io/canary-weight", "10"),
    ]);
    assert_eq!(a.canary, Some(Canary::Cookie { name: "c".into() }));
    let a = ok(&[
        base[0],
        ("higress.io/canary-weight", "10"),
        ("higress.io/canary-weight-total", "50"),
    ]);
    assert_eq!(
        a.canary,
        Some(Canary::Weight {
            weight: 10,
            total: 50
        })
    );
    assert_eq!(ok(&[("higress.io/canary-weight", "10")]).canary, None);
}

#[test]
fn cors_defaults() {
    let c = ok(&[("higress.io/enable-cors", "true")]).cors.unwrap();
    assert!(c.allow_origins.is_empty());
    assert_eq!(c.allow_methods, cors::DEFAULT_METHODS);
    assert!(c.allow_credentials);
    assert_eq!(c.max_age, 1_728_000);
    let c = ok(&[
        ("higress.io/enable-cors", "true"),
        ("higress.io/cors-allow-origin", "http://a.com, *"),
    ])
    .cors
    .unwrap();
    assert!(c.allow_origins.is_empty());
}

#[test]
fn retries_timeouts_limits() {
    let r = ok(&[("higress.io/proxy-next-upstream-tries", "2")])
        .retry
        .unwrap();
    assert_eq!((r.attempts, r.on_5xx), (2, true));
    let r = ok(&[("higress.io/proxy-next-upstream", "http_503, non_idempotent")])
        .retry
        .unwrap();
    assert_eq!(
        (r.attempts, r.on_5xx, r.statuses.clone(), r.non_idempotent),
        (3, false, vec![503], true)
    );
    assert_eq!(
        ok(&[("higress.io/proxy-next-upstream", "off")])
            .retry
            .unwrap()
            .attempts,
        0
    );
    assert_eq!(
        ok(&[("higress.io/timeout", "5")]).timeout,
        Some(Timeout(Duration::from_secs(5)))
    );
    assert_eq!(ok(&[("higress.io/timeout", "0")]).timeout, None);
    let rl = ok(&[("higress.io/route-limit-rps", "10")])
        .rate_limit
        .unwrap();
    assert_eq!(
        (rl.tokens_per_fill, rl.max_tokens, rl.fill_interval),
        (10, 50, Duration::from_secs(1))
    );
    let rl = ok(&[
        ("higress.io/route-limit-rpm", "6"),
        ("higress.io/route-limit-rps", "10"),
        ("higress.io/route-limit-burst-multiplier", "1"),
    ])
    .rate_limit
    .unwrap();
    assert_eq!(
        (rl.tokens_per_fill, rl.max_tokens, rl.fill_interval),
        (6, 6, Duration::from_secs(60))
    );
}

#[test]
fn load_balancing_precedence() {
    let lb = ok(&[
        ("higress.io/load-balance", "least_conn"),
        ("higress.io/upstream-hash-by", "$http_x_user"),
        ("higress.io/affinity", "cookie"),
    ])
    .load_balance;
    assert_eq!(
        lb,
        Some(LoadBalance::Cookie {
            name: "INGRESSCOOKIE".into(),
            path: "/".into(),
            ttl: None
        })
    );
    let lb = ok(&[
        ("higress.io/load-balance", "least_conn"),
        ("higress.io/upstream-hash-by", "$http_x_user"),
    ])
    .load_balance;
    assert_eq!(
        lb,
        Some(LoadBalance::Hash(HashKey::Header("x-user".into())))
    );
    assert_eq!(
        ok(&[("higress.io/load-balance", "random")]).load_balance,
        Some(LoadBalance::Random)
    );
}

#[test]
fn mirror_fallback_access_tls() {
    let m = ok(&[
        ("higress.io/mirror-target-service", "ns/svc:8080"),
        ("higress.io/mirror-percentage", "50"),
    ])
    .mirror
    .unwrap();
    assert_eq!(
        m,
        Mirror {
            target: MirrorTarget::Service {
                name: "svc".into(),
                port: Some(8080)
            },
            percentage: 50
        }
    );
    let m = ok(&[
        ("higress.io/mirror-target-fqdn", "copy.dns"),
        ("higress.io/mirror-target-service", "svc"),
    ])
    .mirror
    .unwrap();
    assert_eq!(
        m.target,
        MirrorTarget::Fqdn {
            host: "copy.dns".into(),
            port: 80
        }
    );
    let f = ok(&[
        ("higress.io/default-backend", "ns/fb"),
        ("higress.io/custom-http-errors", "404,503"),
    ])
    .fallback
    .unwrap();
    assert_eq!(
        (f.service.as_str(), f.on_status.clone()),
        ("fb", vec![404, 503])
    );
    let s = ok(&[("higress.io/whitelist-source-range", "10.0.0.0/8, 127.0.0.1")])
        .source_range
        .unwrap();
    assert_eq!(s.0.len(), 2);
    assert_eq!(
        ok(&[("higress.io/whitelist-source-range", "*")]).source_range,
        None
    );
    let t = ok(&[
        ("higress.io/backend-protocol", "grpcs"),
        ("higress.io/proxy-ssl-name", "up.example"),
        ("higress.io/proxy-ssl-server-name", "on"),
    ])
    .upstream_tls
    .unwrap();
    assert_eq!(
        (t.protocol, t.sni.as_deref(), t.server_name),
        (BackendProtocol::Grpcs, Some("up.example"), true)
    );
    assert_eq!(
        ok(&[
            ("higress.io/backend-protocol", "HTTP"),
            ("higress.io/proxy-ssl-verify", "on")
        ])
        .upstream_tls,
        None
    );
}

#[test]
fn retired_and_unknown_keys_are_noticed() {
    let u = ok(&[
        ("nginx.ingress.kubernetes.io/auth-type", "basic"),
        ("nginx.ingress.kubernetes.io/configuration-snippet", "x"),
        ("higress.io/exact-match-header-a", "b"),
        ("other.io/x", "y"),
    ])
    .unsupported
    .unwrap();
    let keys: Vec<&str> = u.0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "nginx.ingress.kubernetes.io/auth-type",
            "nginx.ingress.kubernetes.io/configuration-snippet"
        ]
    );
}

/// A bad value in every family at once: each is reported, none is guessed.
#[test]
fn every_bad_value_is_reported() {
    let errors = parse(&[
        ("higress.io/canary", "yes"),
        ("higress.io/enable-cors", "true"),
        ("higress.io/cors-max-age", "-1"),
        ("higress.io/tls-min-protocol-version", "SSLv3"),
        ("higress.io/temporal-redirect", "ftp://x"),
        ("higress.io/app-root", "app"),
        ("higress.io/rewrite-path", "noslash"),
        ("higress.io/backend-protocol", "FCGI"),
        ("higress.io/whitelist-source-range", "10.0.0.300"),
        ("higress.io/timeout", "soon"),
        ("higress.io/proxy-next-upstream", "error, http_99x"),
        ("higress.io/upstream-hash-by", "$cookie_x"),
        ("higress.io/route-limit-rps", "0"),
        ("higress.io/custom-http-errors", "404"),
        ("higress.io/mirror-target-service", "svc:http"),
        ("higress.io/destination", "200% a.dns"),
        ("higress.io/ignore-path-case", "sometimes"),
        ("higress.io/regex-match-header-x", "(unclosed"),
        ("higress.io/request-header-control-add", "only-a-name"),
    ])
    .unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "higress.io/canary",
            "higress.io/cors-max-age",
            "higress.io/tls-min-protocol-version",
            "higress.io/temporal-redirect",
            "higress.io/app-root",
            "higress.io/rewrite-path",
            "higress.io/backend-protocol",
            "higress.io/whitelist-source-range",
            "higress.io/timeout",
            "higress.io/proxy-next-upstream",
            "higress.io/upstream-hash-by",
            "higress.io/route-limit-rps",
            "higress.io/custom-http-errors",
            "higress.io/mirror-target-service",
            "higress.io/destination",
            "higress.io/ignore-path-case",
            "higress.io/regex-match-header-x",
            "higress.io/request-header-control-add",
        ]
    );
}
