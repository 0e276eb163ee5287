//! End-to-end tests of the HTTP annotation families: rewrites and regex paths, redirects,
//! header control, CORS, `match-*` conditions, `ignore-path-case`, and how bad annotation
//! values are reported (`gantry validate`) and survived (last good version keeps serving).
//!
//! Each test runs one gateway and checks every case before failing once with the list of
//! all mismatches, so a failure names each request, what was expected and what came back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::backends::Backends;
use gantry_tests::{
    try_eventually, validate, Client, ConfigDir, Gantry, Ingress, Path, Registry, Reply, DEADLINE,
};
use reqwest::Method;
use serde_json::Value;

// --- helpers -----------------------------------------------------------------------------

/// The support client with redirects returned, not followed.
struct Http(Client);

impl Http {
    fn new(port: u16) -> Self {
        Self(Client::no_redirects(port))
    }

    async fn send(
        &self,
        method: Method,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        self.0.send(method, host, path, headers, None).await
    }

    async fn get(&self, host: &str, path: &str) -> Result<Reply, String> {
        self.0.get(host, path).await
    }
}

/// Writes the backends' McpBridge and `ingresses`, starts a gateway, and waits until `host`
/// + `path` is served by backend `ready`.
async fn serve(backends: &Backends, ingresses: &[Ingress], ready: (&str, &str, &str)) -> Gantry {
    let config = ConfigDir::new();
    config.write_mcpbridge(&backends.registries());
    for ingress in ingresses {
        config.write_ingress(ingress);
    }
    let gw = Gantry::start(config).await;
    let (host, path, name) = ready;
    gw.client().eventually_backend(host, path, name).await;
    gw
}

/// Collects every mismatch of a test, then fails once listing them all.
#[derive(Default)]
struct Failures {
    checked: usize,
    failed: Vec<String>,
}

impl Failures {
    /// Records the outcome of one case, described by `what`.
    fn check(&mut self, what: &str, outcome: Result<(), String>) {
        self.checked += 1;
        if let Err(e) = outcome {
            self.failed.push(format!("{what}: {e}"));
        }
    }

    fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{} of {} cases failed:\n  {}",
            self.failed.len(),
            self.checked,
            self.failed.join("\n  ")
        );
    }
}

/// The reply's header `name` as text (the first value), if present.
fn header<'r>(reply: &'r Reply, name: &str) -> Option<&'r str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every value of header `name`, joined with `", "`.
fn header_all(reply: &Reply, name: &str) -> Option<String> {
    let values: Vec<&str> = reply
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// `Ok` when header `name` is `want` (`None`: absent).
fn want_header(reply: &Reply, name: &str, want: Option<&str>) -> Result<(), String> {
    let got = header_all(reply, name);
    if got.as_deref() == want {
        Ok(())
    } else {
        Err(format!(
            "header {name}: want {want:?}, got {got:?} ({})",
            reply.summary()
        ))
    }
}

/// `Ok` with the echo JSON when backend `name` answered 200.
fn from_backend(reply: Result<Reply, String>, name: &str) -> Result<Value, String> {
    let reply = reply?.expect_backend(name)?;
    serde_json::from_str(&reply.body).map_err(|e| format!("echo body is not JSON: {e}"))
}

/// `Ok` when the echo JSON's `field` (a JSON pointer, e.g. `/headers/host`) is `want`
/// (`None`: absent).
fn want_seen(seen: &Value, field: &str, want: Option<&str>) -> Result<(), String> {
    let got = seen.pointer(field).and_then(Value::as_str);
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "backend saw {field} = {got:?}, want {want:?} (request seen: {seen})"
        ))
    }
}

/// `Ok` when `reply` is the gateway's own 404 (no backend answered).
/// For each `(path, backend)` case: `GET path` on `host` reaches that backend with the path
/// forwarded as sent, or gets the gateway's 404 when the backend is `None`.
async fn check_paths(http: &Http, f: &mut Failures, host: &str, cases: &[(&str, Option<&str>)]) {
    for &(path, want) in cases {
        let reply = http.get(host, path).await;
        let outcome = match want {
            Some(name) => from_backend(reply, name).and_then(|seen| {
                want_seen(&seen, "/path", Some(path.split('?').next().unwrap_or(path)))
            }),
            None => want_gateway_404(reply),
        };
        f.check(
            &format!(
                "GET {path} (Host {host}) -> {}",
                want.map_or("gateway 404".to_owned(), |n| format!("200 from {n}"))
            ),
            outcome,
        );
    }
}

fn want_gateway_404(reply: Result<Reply, String>) -> Result<(), String> {
    let reply = reply?;
    if reply.status.as_u16() == 404 && reply.echo_name().is_none() {
        Ok(())
    } else {
        Err(format!("want the gateway's 404, got {}", reply.summary()))
    }
}

/// `Ok` when `reply` is a gateway redirect with `code` and `Location: location`.
fn want_redirect(reply: Result<Reply, String>, code: u16, location: &str) -> Result<(), String> {
    let reply = reply?;
    let got_location = header(&reply, "location");
    if reply.status.as_u16() == code
        && got_location == Some(location)
        && reply.echo_name().is_none()
    {
        Ok(())
    } else {
        Err(format!(
            "want {code} to {location:?} from the gateway, got {} with Location {got_location:?}",
            reply.summary()
        ))
    }
}

// --- 1. rewrite and regex paths -----------------------------------------------------------

const RW: &str = "rw.example.com";
const RW_ROOT: &str = "rwroot.example.com";

#[tokio::test]
async fn rewrite_target_rewrite_path_and_upstream_vhost() {
    let backends = Backends::start(&["rw", "plain"]);
    let ingresses = [
        // nginx rewrite-target with a capture on a regex (ImplementationSpecific) path.
        Ingress::route(
            "rw-target",
            Some(RW),
            Path::implementation_specific("/svc/(.*)"),
            "rw.static",
        )
        .annotation("nginx.ingress.kubernetes.io/rewrite-target", "/$1"),
        // rewrite-target without captures on a Prefix path: the prefix is replaced.
        Ingress::route(
            "rw-plain-target",
            Some(RW),
            Path::prefix("/old"),
            "rw.static",
        )
        .annotation("nginx.ingress.kubernetes.io/rewrite-target", "/new"),
        // higress.io/rewrite-path on a Prefix path.
        Ingress::route("rw-path", Some(RW), Path::prefix("/foo"), "rw.static")
            .annotation("higress.io/rewrite-path", "/bar"),
        // rewrite-path ending in `/`: a plain prefix replacement.
        Ingress::route(
            "rw-path-slash",
            Some(RW),
            Path::prefix("/slash"),
            "rw.static",
        )
        .annotation("higress.io/rewrite-path", "/to/"),
        // upstream-vhost: the Host the backend sees.
        Ingress::route("rw-vhost", Some(RW), Path::prefix("/vhost"), "rw.static").annotation(
            "nginx.ingress.kubernetes.io/upstream-vhost",
            "internal.example.org",
        ),
        // No rewrite: the control.
        Ingress::route("rw-none", Some(RW), Path::prefix("/plain"), "plain.static"),
        // rewrite-target on the root prefix: pattern `^/`.
        Ingress::route("rw-root", Some(RW_ROOT), Path::prefix("/"), "rw.static")
            .annotation("nginx.ingress.kubernetes.io/rewrite-target", "/api/"),
    ];
    let gw = serve(&backends, &ingresses, (RW, "/plain", "plain")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();

    // (host, request path, backend path, backend query)
    let cases: &[(&str, &str, &str, &str)] = &[
        (RW, "/svc/foo", "/foo", ""),
        (RW, "/svc/foo?x=1&y=two", "/foo", "x=1&y=two"),
        (RW, "/svc/a/b/c", "/a/b/c", ""),
        (RW, "/svc/", "/", ""),
        (RW, "/old/x", "/new/x", ""),
        (RW, "/old?k=v", "/new", "k=v"),
        // The pattern is the unanchored prefix, replaced everywhere (as Envoy's regex_rewrite).
        (RW, "/old/x/old", "/new/x/new", ""),
        (RW, "/foo/x", "/bar/x", ""),
        (RW, "/foo", "/bar", ""),
        (RW, "/foo/", "/bar/", ""),
        (RW, "/foo/x/y?q=1", "/bar/x/y", "q=1"),
        (RW, "/slash/x", "/to/x", ""),
        (RW, "/slash", "/to/", ""),
        (RW, "/vhost/x?z=9", "/vhost/x", "z=9"),
        (RW, "/plain/x?p=1", "/plain/x", "p=1"),
        (RW_ROOT, "/x", "/api/x", ""),
        (RW_ROOT, "/?a=b", "/api/", "a=b"),
    ];
    for &(host, path, want_path, want_query) in cases {
        let backend = if path.starts_with("/plain") {
            "plain"
        } else {
            "rw"
        };
        let outcome = async {
            let seen = from_backend(http.get(host, path).await, backend)?;
            want_seen(&seen, "/path", Some(want_path))?;
            want_seen(&seen, "/query", Some(want_query))
        }
        .await;
        f.check(
            &format!("GET {path} (Host {host}) -> backend path {want_path} query {want_query:?}"),
            outcome,
        );
    }

    // Hosts: upstream-vhost replaces it, other routes keep the client's.
    let outcome = async {
        let seen = from_backend(http.get(RW, "/vhost/x").await, "rw")?;
        want_seen(&seen, "/headers/host", Some("internal.example.org"))
    }
    .await;
    f.check(
        "GET /vhost/x (Host rw) with upstream-vhost -> backend Host internal.example.org",
        outcome,
    );
    let outcome = async {
        let seen = from_backend(http.get(RW, "/foo/x").await, "rw")?;
        want_seen(&seen, "/headers/host", Some(RW))
    }
    .await;
    f.check(
        "GET /foo/x (Host rw) -> backend Host rw.example.com",
        outcome,
    );

    // rewrite-path matches whole segments: /foobar is not under /foo.
    f.check(
        "GET /foobar (Host rw) -> gateway 404",
        want_gateway_404(http.get(RW, "/foobar").await),
    );
    f.finish();
}

const RE: &str = "regex.example.com";

#[tokio::test]
async fn use_regex_and_full_path_regex() {
    let backends = Backends::start(&["prefix-re", "full-re", "other"]);
    let ingresses = [
        Ingress::route(
            "re-prefix",
            Some(RE),
            Path::implementation_specific("/re/[0-9]+"),
            "prefix-re.static",
        )
        .annotation("nginx.ingress.kubernetes.io/use-regex", "true"),
        Ingress::route(
            "re-full",
            Some(RE),
            Path::implementation_specific("/full/[a-z]+"),
            "full-re.static",
        )
        .annotation("higress.io/full-path-regex", "true"),
        Ingress::route("re-other", Some(RE), Path::prefix("/other"), "other.static"),
    ];
    let gw = serve(&backends, &ingresses, (RE, "/other", "other")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();

    // (request path, backend or None for the gateway's 404)
    let cases: &[(&str, Option<&str>)] = &[
        // use-regex: anchored at the start only.
        ("/re/123", Some("prefix-re")),
        ("/re/7/more/stuff", Some("prefix-re")),
        ("/re/42?x=1", Some("prefix-re")),
        ("/re/abc", None),
        ("/x/re/123", None),
        // full-path-regex: anchored at both ends.
        ("/full/abc", Some("full-re")),
        ("/full/abc?q=1", Some("full-re")),
        ("/full/abc/def", None),
        ("/full/abc1", None),
        ("/full/ABC", None),
        ("/other/x", Some("other")),
    ];
    // A regex path without a rewrite forwards the path unchanged.
    check_paths(&http, &mut f, RE, cases).await;
    f.finish();
}

// --- 2. redirects --------------------------------------------------------------------------

const REDIR: &str = "redir.example.com";

#[tokio::test]
async fn temporal_and_permanent_redirects() {
    let backends = Backends::start(&["redir", "ready"]);
    let host = Some(REDIR);
    let ingresses = [
        Ingress::route("temp", host, Path::prefix("/temp"), "redir.static").annotation(
            "nginx.ingress.kubernetes.io/temporal-redirect",
            "http://other.example.com/landing",
        ),
        // temporal-redirect wins over permanent-redirect.
        Ingress::route("both", host, Path::prefix("/both"), "redir.static")
            .annotation(
                "nginx.ingress.kubernetes.io/permanent-redirect",
                "http://perm.example.com/p",
            )
            .annotation(
                "nginx.ingress.kubernetes.io/temporal-redirect",
                "http://temp.example.com/t",
            ),
        // A URL without a path keeps the request path.
        Ingress::route("perm", host, Path::prefix("/perm"), "redir.static").annotation(
            "nginx.ingress.kubernetes.io/permanent-redirect",
            "http://bar.example.com",
        ),
        Ingress::route("perm-308", host, Path::prefix("/p308"), "redir.static")
            .annotation(
                "nginx.ingress.kubernetes.io/permanent-redirect",
                "https://bar.example.com/new",
            )
            .annotation("nginx.ingress.kubernetes.io/permanent-redirect-code", "308"),
        Ingress::route("perm-299", host, Path::prefix("/p299"), "redir.static")
            .annotation(
                "higress.io/permanent-redirect",
                "https://bar.example.com/low",
            )
            .annotation("higress.io/permanent-redirect-code", "299"),
        Ingress::route("perm-309", host, Path::prefix("/p309"), "redir.static")
            .annotation(
                "nginx.ingress.kubernetes.io/permanent-redirect",
                "https://bar.example.com/high",
            )
            .annotation("nginx.ingress.kubernetes.io/permanent-redirect-code", "309"),
        // A URL redirect wins over ssl-redirect.
        Ingress::route("url-and-ssl", host, Path::prefix("/urlssl"), "redir.static")
            .annotation("nginx.ingress.kubernetes.io/ssl-redirect", "true")
            .annotation(
                "nginx.ingress.kubernetes.io/permanent-redirect",
                "http://url.example.com/u",
            ),
        Ingress::route("ready", host, Path::prefix("/ready"), "ready.static"),
    ];
    let gw = serve(&backends, &ingresses, (REDIR, "/ready", "ready")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();
    let hits = backends.total_hits();

    // (request path, code, Location)
    let cases: &[(&str, u16, &str)] = &[
        ("/temp", 302, "http://other.example.com/landing"),
        ("/temp/x?a=1", 302, "http://other.example.com/landing?a=1"),
        ("/both/x", 302, "http://temp.example.com/t"),
        ("/perm", 301, "http://bar.example.com/perm"),
        (
            "/perm/page?q=1&r=2",
            301,
            "http://bar.example.com/perm/page?q=1&r=2",
        ),
        ("/p308/x?y=1", 308, "https://bar.example.com/new?y=1"),
        ("/p299", 301, "https://bar.example.com/low"),
        ("/p309", 301, "https://bar.example.com/high"),
        ("/urlssl/x", 301, "http://url.example.com/u"),
    ];
    for &(path, code, location) in cases {
        f.check(
            &format!("GET {path} (Host {REDIR}) -> {code} Location {location}"),
            want_redirect(http.get(REDIR, path).await, code, location),
        );
    }
    // A POST is redirected too.
    f.check(
        "POST /perm/form (Host redir) -> 301 Location http://bar.example.com/perm/form",
        want_redirect(
            http.send(Method::POST, REDIR, "/perm/form", &[]).await,
            301,
            "http://bar.example.com/perm/form",
        ),
    );
    f.check(
        "redirects never reach a backend",
        if backends.total_hits() == hits {
            Ok(())
        } else {
            Err(format!(
                "backends answered {} requests",
                backends.total_hits() - hits
            ))
        },
    );
    f.finish();
}

const SSL: &str = "ssl.example.com";
const FORCE_SSL: &str = "force-ssl.example.com";
const APP: &str = "app.example.com";
const APP_NO_ROOT: &str = "app-noroot.example.com";

#[tokio::test]
async fn ssl_redirect_and_app_root() {
    let backends = Backends::start(&["ssl", "app"]);
    let ingresses = [
        Ingress::route("ssl", Some(SSL), Path::prefix("/"), "ssl.static")
            .annotation("nginx.ingress.kubernetes.io/ssl-redirect", "true"),
        Ingress::route(
            "force-ssl",
            Some(FORCE_SSL),
            Path::prefix("/"),
            "ssl.static",
        )
        .annotation("higress.io/force-ssl-redirect", "true"),
        Ingress::route("app", Some(APP), Path::prefix("/"), "app.static")
            .annotation("nginx.ingress.kubernetes.io/app-root", "/app"),
        // app-root is per host: it applies even when the host has no `/` route.
        Ingress::route(
            "app-noroot",
            Some(APP_NO_ROOT),
            Path::prefix("/api"),
            "app.static",
        )
        .annotation("higress.io/app-root", "/start"),
    ];
    let gw = serve(&backends, &ingresses, (APP, "/other", "app")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();
    let hits = backends.total_hits();

    // (host, path, code, Location)
    let cases: &[(&str, &str, u16, &str)] = &[
        (SSL, "/", 308, "https://ssl.example.com/"),
        (
            SSL,
            "/secure/path?x=1",
            308,
            "https://ssl.example.com/secure/path?x=1",
        ),
        (
            "ssl.example.com:8080",
            "/p",
            308,
            "https://ssl.example.com/p",
        ),
        (FORCE_SSL, "/f/g", 308, "https://force-ssl.example.com/f/g"),
        (APP, "/", 302, "http://app.example.com/app"),
        (APP, "/?x=1", 302, "http://app.example.com/app?x=1"),
        (APP_NO_ROOT, "/", 302, "http://app-noroot.example.com/start"),
    ];
    for &(host, path, code, location) in cases {
        f.check(
            &format!("GET {path} (Host {host}) -> {code} Location {location}"),
            want_redirect(http.get(host, path).await, code, location),
        );
    }
    f.check(
        "ssl-redirect and app-root redirects never reach a backend",
        if backends.total_hits() == hits {
            Ok(())
        } else {
            Err(format!(
                "backends answered {} requests",
                backends.total_hits() - hits
            ))
        },
    );
    // app-root redirects only `/`: other paths are proxied unchanged.
    for path in ["/app", "/app/page?y=2", "/other"] {
        let outcome = async {
            let seen = from_backend(http.get(APP, path).await, "app")?;
            want_seen(&seen, "/path", Some(path.split('?').next().unwrap()))
        }
        .await;
        f.check(
            &format!("GET {path} (Host {APP}) -> proxied to app"),
            outcome,
        );
    }
    f.check(
        "GET /start (Host app-noroot, no route) -> gateway 404",
        want_gateway_404(http.get(APP_NO_ROOT, "/start").await),
    );
    f.check(
        "GET /api/x (Host app-noroot) -> proxied to app",
        http.get(APP_NO_ROOT, "/api/x")
            .await
            .and_then(|r| r.expect_backend("app"))
            .map(|_| ()),
    );
    f.finish();
}

// --- 3. header control ---------------------------------------------------------------------

const HDR: &str = "hdr.example.com";

#[tokio::test]
async fn request_and_response_header_control() {
    let backends = Backends::start(&["hdr", "ready"]);
    let ingresses = [
        Ingress::route("hdr", Some(HDR), Path::prefix("/h"), "hdr.static")
            .annotation(
                "higress.io/request-header-control-add",
                "x-test \"higress; test=true\"\nx-add from-gateway",
            )
            .annotation(
                "higress.io/request-header-control-update",
                "x-update new-value",
            )
            .annotation(
                "higress.io/request-header-control-remove",
                "x-remove, X-Remove-Too",
            )
            .annotation(
                "higress.io/response-header-control-add",
                "x-resp-add 'added value'",
            )
            .annotation(
                "higress.io/response-header-control-update",
                "content-type text/x-updated",
            )
            .annotation("higress.io/response-header-control-remove", "x-echo-name")
            // Header control exists only under higress.io/: this key has no effect.
            .annotation(
                "nginx.ingress.kubernetes.io/request-header-control-add",
                "x-nginx-prefixed yes",
            ),
        Ingress::route(
            "hdr-ready",
            Some(HDR),
            Path::prefix("/ready"),
            "ready.static",
        ),
    ];
    let gw = serve(&backends, &ingresses, (HDR, "/ready", "ready")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();

    let reply = http
        .send(
            Method::GET,
            HDR,
            "/h/x",
            &[
                ("x-add", "from-client"),
                ("x-update", "old-value"),
                ("x-remove", "gone"),
                ("x-remove-too", "gone too"),
                ("x-keep", "kept"),
            ],
        )
        .await;
    match reply {
        Err(e) => f.check("GET /h/x (Host hdr)", Err(e)),
        Ok(reply) => {
            let seen: Result<Value, String> = if reply.status.as_u16() == 200 {
                serde_json::from_str(&reply.body).map_err(|e| format!("body is not JSON: {e}"))
            } else {
                Err(format!("want 200, got {}", reply.summary()))
            };
            match seen {
                Err(e) => f.check("GET /h/x (Host hdr) reaches the backend", Err(e)),
                Ok(seen) => {
                    f.check(
                        "the backend hdr answered",
                        want_seen(&seen, "/name", Some("hdr")),
                    );
                    // (header the backend sees, want)
                    let request_cases: &[(&str, Option<&str>)] = &[
                        ("x-test", Some("higress; test=true")),
                        ("x-add", Some("from-client, from-gateway")),
                        ("x-update", Some("new-value")),
                        ("x-remove", None),
                        ("x-remove-too", None),
                        ("x-keep", Some("kept")),
                        ("x-nginx-prefixed", None),
                    ];
                    for &(name, want) in request_cases {
                        f.check(
                            &format!("request header {name} at the backend"),
                            want_seen(&seen, &format!("/headers/{name}"), want),
                        );
                    }
                    // (response header the client sees, want)
                    let response_cases: &[(&str, Option<&str>)] = &[
                        ("x-resp-add", Some("added value")),
                        ("content-type", Some("text/x-updated")),
                        ("x-echo-name", None),
                    ];
                    for &(name, want) in response_cases {
                        f.check(
                            &format!("response header {name} at the client"),
                            want_header(&reply, name, want),
                        );
                    }
                }
            }
        }
    }

    // Update sets the header when the client did not send it; add works alone too.
    let outcome = async {
        let reply = http.get(HDR, "/h/y").await?;
        let seen: Value = serde_json::from_str(&reply.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", reply.summary()))?;
        want_seen(&seen, "/headers/x-update", Some("new-value"))?;
        want_seen(&seen, "/headers/x-add", Some("from-gateway"))
    }
    .await;
    f.check(
        "GET /h/y without client headers -> backend sees x-update: new-value, x-add: from-gateway",
        outcome,
    );

    // Other routes of the host are untouched.
    let outcome = async {
        let reply = http.get(HDR, "/ready").await?;
        want_header(&reply, "x-echo-name", Some("ready"))?;
        want_header(&reply, "x-resp-add", None)?;
        let seen = from_backend(Ok(reply), "ready")?;
        want_seen(&seen, "/headers/x-test", None)
    }
    .await;
    f.check(
        "GET /ready (Host hdr) -> no header edits on another Ingress's route",
        outcome,
    );
    f.finish();
}

// --- 4. CORS -------------------------------------------------------------------------------

const CORS: &str = "cors.example.com";
const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS: &str = "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization";

/// A CORS preflight request's headers from `origin`.
fn preflight(origin: &str) -> Vec<(&str, &str)> {
    vec![
        ("origin", origin),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ]
}

#[tokio::test]
async fn cors_preflight_and_actual_requests() {
    let backends = Backends::start(&["cors"]);
    let host = Some(CORS);
    let ingresses = [
        Ingress::route("cors-list", host, Path::prefix("/list"), "cors.static")
            .annotation("nginx.ingress.kubernetes.io/enable-cors", "true")
            .annotation(
                "nginx.ingress.kubernetes.io/cors-allow-origin",
                "http://allowed.com, https://*.example.com",
            )
            .annotation(
                "nginx.ingress.kubernetes.io/cors-expose-headers",
                "X-Expose-One, X-Expose-Two",
            ),
        Ingress::route("cors-any", host, Path::prefix("/any"), "cors.static")
            .annotation("higress.io/enable-cors", "true"),
        Ingress::route("cors-custom", host, Path::prefix("/custom"), "cors.static")
            .annotation("nginx.ingress.kubernetes.io/enable-cors", "true")
            .annotation(
                "nginx.ingress.kubernetes.io/cors-allow-methods",
                "GET, POST",
            )
            .annotation("nginx.ingress.kubernetes.io/cors-allow-headers", "X-A,X-B")
            .annotation("nginx.ingress.kubernetes.io/cors-max-age", "600")
            .annotation(
                "nginx.ingress.kubernetes.io/cors-allow-credentials",
                "false",
            ),
        Ingress::route("cors-off", host, Path::prefix("/off"), "cors.static"),
    ];
    let gw = serve(&backends, &ingresses, (CORS, "/off", "cors")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();

    // Preflights from allowed origins: answered by the gateway, backend untouched.
    // (path, origin, allow-methods, allow-headers, max-age, allow-credentials)
    type Preflight<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);
    let answered: &[Preflight<'_>] = &[
        (
            "/list/x",
            "http://allowed.com",
            DEFAULT_METHODS,
            DEFAULT_HEADERS,
            "1728000",
            Some("true"),
        ),
        (
            "/list",
            "https://api.example.com",
            DEFAULT_METHODS,
            DEFAULT_HEADERS,
            "1728000",
            Some("true"),
        ),
        // `*.` patterns match any subdomain depth, any scheme, any port.
        (
            "/list/y",
            "http://deep.sub.example.com:8080",
            DEFAULT_METHODS,
            DEFAULT_HEADERS,
            "1728000",
            Some("true"),
        ),
        (
            "/any/z",
            "http://whatever.test",
            DEFAULT_METHODS,
            DEFAULT_HEADERS,
            "1728000",
            Some("true"),
        ),
        (
            "/custom",
            "http://c.test",
            "GET, POST",
            "X-A,X-B",
            "600",
            None,
        ),
    ];
    for &(path, origin, methods, headers, max_age, credentials) in answered {
        let hits = backends.total_hits();
        let outcome = async {
            let reply = http
                .send(Method::OPTIONS, CORS, path, &preflight(origin))
                .await?;
            if reply.status.as_u16() != 200 || reply.echo_name().is_some() {
                return Err(format!(
                    "want 200 from the gateway, got {}",
                    reply.summary()
                ));
            }
            want_header(&reply, "access-control-allow-origin", Some(origin))?;
            want_header(&reply, "access-control-allow-methods", Some(methods))?;
            want_header(&reply, "access-control-allow-headers", Some(headers))?;
            want_header(&reply, "access-control-max-age", Some(max_age))?;
            want_header(&reply, "access-control-allow-credentials", credentials)?;
            if backends.total_hits() != hits {
                return Err("the backend saw the preflight".to_owned());
            }
            Ok(())
        }
        .await;
        f.check(
            &format!("preflight OPTIONS {path} Origin {origin} -> 200 from the gateway"),
            outcome,
        );
    }

    // Disallowed origins: no CORS headers; the request is proxied (preflight included).
    let disallowed = [
        "http://evil.com",
        "http://example.com",
        "https://evil-example.com",
        "https://example.com.evil.org",
        "http://allowed.com.evil.org",
    ];
    for origin in disallowed {
        let hits = backends.total_hits();
        let outcome = async {
            let reply = http
                .send(Method::OPTIONS, CORS, "/list/x", &preflight(origin))
                .await?
                .expect_backend("cors")?;
            want_header(&reply, "access-control-allow-origin", None)?;
            want_header(&reply, "access-control-allow-methods", None)?;
            want_header(&reply, "access-control-allow-credentials", None)?;
            let seen = from_backend(Ok(reply), "cors")?;
            want_seen(&seen, "/method", Some("OPTIONS"))?;
            if backends.total_hits() != hits + 1 {
                return Err(format!(
                    "backend hits went from {hits} to {}, want +1",
                    backends.total_hits()
                ));
            }
            Ok(())
        }
        .await;
        f.check(
            &format!("preflight OPTIONS /list/x Origin {origin} (disallowed) -> proxied, no CORS headers"),
            outcome,
        );
        let outcome = async {
            let reply = http
                .send(Method::GET, CORS, "/list/x", &[("origin", origin)])
                .await?
                .expect_backend("cors")?;
            want_header(&reply, "access-control-allow-origin", None)?;
            want_header(&reply, "access-control-expose-headers", None)
        }
        .await;
        f.check(
            &format!("GET /list/x Origin {origin} (disallowed) -> 200, no CORS headers"),
            outcome,
        );
    }

    // Actual requests from allowed origins: proxied, origin echoed with credentials and
    // expose headers.
    for origin in ["http://allowed.com", "https://api.example.com"] {
        let outcome = async {
            let reply = http
                .send(Method::GET, CORS, "/list/x?a=1", &[("origin", origin)])
                .await?
                .expect_backend("cors")?;
            want_header(&reply, "access-control-allow-origin", Some(origin))?;
            want_header(&reply, "access-control-allow-credentials", Some("true"))?;
            want_header(
                &reply,
                "access-control-expose-headers",
                Some("X-Expose-One, X-Expose-Two"),
            )
        }
        .await;
        f.check(
            &format!(
                "GET /list/x Origin {origin} -> 200 with Allow-Origin echo and expose headers"
            ),
            outcome,
        );
    }
    // A POST from an allowed origin reaches the backend with its body.
    let outcome = async {
        let reply = http
            .send(
                Method::POST,
                CORS,
                "/any/post",
                &[("origin", "http://x.test")],
            )
            .await?;
        want_header(&reply, "access-control-allow-origin", Some("http://x.test"))?;
        want_header(&reply, "access-control-expose-headers", None)?;
        let seen = from_backend(Ok(reply), "cors")?;
        want_seen(&seen, "/method", Some("POST"))
    }
    .await;
    f.check(
        "POST /any/post Origin http://x.test -> proxied with Allow-Origin echo",
        outcome,
    );
    // An OPTIONS without Access-Control-Request-Method is not a preflight.
    let hits = backends.total_hits();
    let outcome = async {
        let reply = http
            .send(
                Method::OPTIONS,
                CORS,
                "/list/x",
                &[("origin", "http://allowed.com")],
            )
            .await?
            .expect_backend("cors")?;
        want_header(
            &reply,
            "access-control-allow-origin",
            Some("http://allowed.com"),
        )?;
        if backends.total_hits() != hits + 1 {
            return Err("the backend did not see the request".to_owned());
        }
        Ok(())
    }
    .await;
    f.check(
        "OPTIONS /list/x Origin allowed, no Access-Control-Request-Method -> proxied with CORS headers",
        outcome,
    );
    // No Origin, or a route without CORS: no CORS headers.
    for (path, headers) in [
        ("/list/x", vec![]),
        ("/off/x", vec![("origin", "http://allowed.com")]),
    ] {
        let outcome = async {
            let reply = http
                .send(Method::GET, CORS, path, &headers)
                .await?
                .expect_backend("cors")?;
            want_header(&reply, "access-control-allow-origin", None)?;
            want_header(&reply, "access-control-allow-credentials", None)
        }
        .await;
        f.check(
            &format!("GET {path} {headers:?} -> no CORS headers"),
            outcome,
        );
    }
    let hits = backends.total_hits();
    let outcome = async {
        let reply = http
            .send(
                Method::OPTIONS,
                CORS,
                "/off/x",
                &preflight("http://allowed.com"),
            )
            .await?
            .expect_backend("cors")?;
        want_header(&reply, "access-control-allow-origin", None)?;
        if backends.total_hits() != hits + 1 {
            return Err("the backend did not see the request".to_owned());
        }
        Ok(())
    }
    .await;
    f.check(
        "preflight OPTIONS /off/x (no enable-cors) -> proxied, no CORS headers",
        outcome,
    );
    f.finish();
}

// --- 5. match-* conditions ------------------------------------------------------------------

const MATCH: &str = "match.example.com";

/// One request of the match test and the backend expected (`None`: gateway 404).
struct MatchCase {
    method: Method,
    host: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    want: Option<&'static str>,
}

const fn mc(
    method: Method,
    host: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    want: Option<&'static str>,
) -> MatchCase {
    MatchCase {
        method,
        host,
        path,
        headers,
        want,
    }
}

#[tokio::test]
async fn match_method_header_query_and_authority() {
    let backends = Backends::start(&[
        "base",
        "method",
        "api",
        "hexact",
        "hprefix",
        "hregex",
        "qexact",
        "qprefix",
        "qregex",
        "all",
        "one",
        "two",
        "authority",
    ]);
    let host = Some(MATCH);
    // Names sort opposite to the expected precedence where it matters, so file or name
    // order cannot explain a pass.
    let ingresses = [
        Ingress::route("a-base", host, Path::prefix("/"), "base.static"),
        Ingress::route("b-api", host, Path::prefix("/api"), "api.static"),
        Ingress::route("c-method", host, Path::prefix("/api"), "method.static")
            .annotation("higress.io/match-method", "POST put"),
        Ingress::route("d-hexact", host, Path::prefix("/h"), "hexact.static")
            .annotation("higress.io/exact-match-header-x-env", "dev"),
        Ingress::route("e-hprefix", host, Path::prefix("/hp"), "hprefix.static")
            .annotation("higress.io/prefix-match-header-x-user", "adm"),
        Ingress::route("f-hregex", host, Path::prefix("/hr"), "hregex.static")
            .annotation("higress.io/regex-match-header-x-ver", "v[0-9]+"),
        Ingress::route("g-qexact", host, Path::prefix("/q"), "qexact.static")
            .annotation("higress.io/exact-match-query-lang", "en"),
        Ingress::route("h-qprefix", host, Path::prefix("/qp"), "qprefix.static")
            .annotation("higress.io/prefix-match-query-id", "ab"),
        Ingress::route("i-qregex", host, Path::prefix("/qr"), "qregex.static")
            .annotation("higress.io/regex-match-query-n", "[0-9]{2}"),
        Ingress::route("j-all", host, Path::prefix("/and"), "all.static")
            .annotation("higress.io/match-method", "GET")
            .annotation("higress.io/exact-match-header-x-a", "1")
            .annotation("higress.io/exact-match-query-b", "2"),
        // More header conditions sort first.
        Ingress::route("k-one", host, Path::prefix("/count"), "one.static")
            .annotation("higress.io/exact-match-header-x-a", "1"),
        Ingress::route("l-two", host, Path::prefix("/count"), "two.static")
            .annotation("higress.io/exact-match-header-x-a", "1")
            .annotation("higress.io/exact-match-header-x-b", "2"),
        // A method condition outranks more header conditions on the same path.
        Ingress::route("n-mix-headers", host, Path::prefix("/mix"), "two.static")
            .annotation("higress.io/exact-match-header-x-a", "1")
            .annotation("higress.io/exact-match-header-x-b", "2"),
        Ingress::route("o-mix-method", host, Path::prefix("/mix"), "method.static")
            .annotation("higress.io/match-method", "GET"),
        // A host-less rule conditioned on the authority.
        Ingress::route(
            "m-authority",
            None,
            Path::prefix("/auth"),
            "authority.static",
        )
        .annotation("higress.io/prefix-match-pseudo-header-authority", "api."),
    ];
    let gw = serve(&backends, &ingresses, (MATCH, "/", "base")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();

    use Method as M;
    let cases = [
        // Method: a route with a method match beats the one without on the same path.
        mc(M::POST, MATCH, "/api", &[], Some("method")),
        mc(M::PUT, MATCH, "/api/x", &[], Some("method")),
        mc(M::GET, MATCH, "/api", &[], Some("api")),
        mc(M::DELETE, MATCH, "/api/x", &[], Some("api")),
        mc(M::PATCH, MATCH, "/api/x", &[], Some("api")),
        // Exact header: value must be equal (case-sensitive); names are not.
        mc(M::GET, MATCH, "/h", &[("x-env", "dev")], Some("hexact")),
        mc(M::GET, MATCH, "/h/x", &[("X-Env", "dev")], Some("hexact")),
        mc(M::GET, MATCH, "/h", &[("x-env", "DEV")], Some("base")),
        mc(M::GET, MATCH, "/h", &[("x-env", "dev2")], Some("base")),
        mc(M::GET, MATCH, "/h", &[], Some("base")),
        // Prefix header.
        mc(
            M::GET,
            MATCH,
            "/hp",
            &[("x-user", "admin")],
            Some("hprefix"),
        ),
        mc(M::GET, MATCH, "/hp", &[("x-user", "adm")], Some("hprefix")),
        mc(
            M::GET,
            MATCH,
            "/hp",
            &[("x-user", "root-adm")],
            Some("base"),
        ),
        // Regex header: whole-value match.
        mc(M::GET, MATCH, "/hr", &[("x-ver", "v12")], Some("hregex")),
        mc(M::GET, MATCH, "/hr", &[("x-ver", "v12-beta")], Some("base")),
        mc(M::GET, MATCH, "/hr", &[("x-ver", "xv1")], Some("base")),
        // Query parameters.
        mc(M::GET, MATCH, "/q?lang=en", &[], Some("qexact")),
        mc(M::GET, MATCH, "/q?x=1&lang=en", &[], Some("qexact")),
        mc(M::GET, MATCH, "/q?lang=english", &[], Some("base")),
        mc(M::GET, MATCH, "/q", &[], Some("base")),
        mc(M::GET, MATCH, "/qp?id=abc", &[], Some("qprefix")),
        mc(M::GET, MATCH, "/qp?id=xab", &[], Some("base")),
        mc(M::GET, MATCH, "/qr?n=42", &[], Some("qregex")),
        mc(M::GET, MATCH, "/qr?n=421", &[], Some("base")),
        mc(M::GET, MATCH, "/qr?n=4", &[], Some("base")),
        // All conditions of one Ingress are ANDed.
        mc(M::GET, MATCH, "/and?b=2", &[("x-a", "1")], Some("all")),
        mc(M::POST, MATCH, "/and?b=2", &[("x-a", "1")], Some("base")),
        mc(M::GET, MATCH, "/and?b=3", &[("x-a", "1")], Some("base")),
        mc(M::GET, MATCH, "/and?b=2", &[("x-a", "0")], Some("base")),
        mc(M::GET, MATCH, "/and", &[("x-a", "1")], Some("base")),
        // More header conditions first.
        mc(
            M::GET,
            MATCH,
            "/count",
            &[("x-a", "1"), ("x-b", "2")],
            Some("two"),
        ),
        mc(M::GET, MATCH, "/count", &[("x-a", "1")], Some("one")),
        mc(M::GET, MATCH, "/count", &[("x-b", "2")], Some("base")),
        mc(
            M::GET,
            MATCH,
            "/mix",
            &[("x-a", "1"), ("x-b", "2")],
            Some("method"),
        ),
        mc(
            M::POST,
            MATCH,
            "/mix",
            &[("x-a", "1"), ("x-b", "2")],
            Some("two"),
        ),
        mc(M::POST, MATCH, "/mix", &[("x-a", "1")], Some("base")),
        // :authority (host-less rule): non-matching hosts have no other route, so 404.
        mc(M::GET, "api.anything.test", "/auth", &[], Some("authority")),
        mc(M::GET, "api.other.test", "/auth/x", &[], Some("authority")),
        mc(M::GET, "www.anything.test", "/auth", &[], None),
        mc(M::GET, "api.anything.test", "/else", &[], None),
    ];
    for c in &cases {
        let reply = http.send(c.method.clone(), c.host, c.path, c.headers).await;
        let outcome = match c.want {
            Some(name) => reply.and_then(|r| r.expect_backend(name)).map(|_| ()),
            None => want_gateway_404(reply),
        };
        f.check(
            &format!(
                "{} {} (Host {}) headers {:?} -> {}",
                c.method,
                c.path,
                c.host,
                c.headers,
                c.want
                    .map_or("gateway 404".to_owned(), |n| format!("200 from {n}"))
            ),
            outcome,
        );
    }
    f.finish();
}

// --- 6. ignore-path-case ---------------------------------------------------------------------

const CASE: &str = "case.example.com";

#[tokio::test]
async fn ignore_path_case() {
    let backends = Backends::start(&["on", "off", "unset", "regex"]);
    let host = Some(CASE);
    let ingresses = [
        Ingress::new("ic-on")
            .destination("on.static")
            .annotation("nginx.ingress.kubernetes.io/ignore-path-case", "true")
            .rule(host, vec![Path::prefix("/foo"), Path::exact("/exact")]),
        Ingress::route("ic-off", host, Path::prefix("/bar"), "off.static")
            .annotation("higress.io/ignore-path-case", "false"),
        Ingress::route("ic-unset", host, Path::prefix("/baz"), "unset.static"),
        // Istio's ignoreUriCase covers exact and prefix matches only; regex paths keep case.
        Ingress::route(
            "ic-regex",
            host,
            Path::implementation_specific("/re/[a-z]+"),
            "regex.static",
        )
        .annotation("nginx.ingress.kubernetes.io/use-regex", "true")
        .annotation("nginx.ingress.kubernetes.io/ignore-path-case", "true"),
    ];
    let gw = serve(&backends, &ingresses, (CASE, "/foo", "on")).await;
    let http = Http::new(gw.http_port());
    let mut f = Failures::default();

    let cases: &[(&str, Option<&str>)] = &[
        ("/foo", Some("on")),
        ("/FOO", Some("on")),
        ("/Foo/Bar", Some("on")),
        ("/fOo/x?Q=1", Some("on")),
        ("/FOOBAR", None),
        ("/exact", Some("on")),
        ("/EXACT", Some("on")),
        ("/EXACT/", None),
        ("/bar", Some("off")),
        ("/bar/x", Some("off")),
        ("/BAR", None),
        ("/Bar/x", None),
        ("/baz", Some("unset")),
        ("/BAZ", None),
        ("/re/abc", Some("regex")),
        ("/RE/abc", None),
    ];
    check_paths(&http, &mut f, CASE, cases).await;
    f.finish();
}

// --- 7. bad annotation values ----------------------------------------------------------------

/// Ingresses that each carry bad annotation values: `(Ingress, [annotation keys named])`.
fn bad_ingresses() -> Vec<(Ingress, Vec<&'static str>)> {
    let host = Some("bad.example.com");
    let route =
        |name: &str, path: &str| Ingress::route(name, host, Path::prefix(path), "v1.static");
    vec![
        (
            Ingress::route(
                "bad-weight",
                host,
                Path::prefix("/w"),
                "150% v1.static\n-50% v2.static",
            ),
            vec!["higress.io/destination"],
        ),
        (
            route("bad-bool", "/b").annotation("nginx.ingress.kubernetes.io/ssl-redirect", "yes"),
            vec!["nginx.ingress.kubernetes.io/ssl-redirect"],
        ),
        (
            route("bad-regex", "/r").annotation("higress.io/regex-match-header-x-a", "(unclosed"),
            vec!["higress.io/regex-match-header-x-a"],
        ),
        (
            route("bad-redirect", "/d").annotation(
                "nginx.ingress.kubernetes.io/permanent-redirect",
                "ftp://files.example.com/x",
            ),
            vec!["nginx.ingress.kubernetes.io/permanent-redirect"],
        ),
        (
            route("bad-header", "/h").annotation(
                "higress.io/request-header-control-add",
                "x-ok fine\nnovalue",
            ),
            vec!["higress.io/request-header-control-add"],
        ),
        (
            route("bad-protocol", "/p")
                .annotation("nginx.ingress.kubernetes.io/backend-protocol", "FCGI"),
            vec!["nginx.ingress.kubernetes.io/backend-protocol"],
        ),
        // Several bad keys on one Ingress: each is reported.
        (
            route("bad-several", "/s")
                .annotation("nginx.ingress.kubernetes.io/enable-cors", "true")
                .annotation("nginx.ingress.kubernetes.io/cors-max-age", "a day")
                .annotation("higress.io/timeout", "soon")
                .annotation("higress.io/ignore-path-case", "maybe"),
            vec![
                "nginx.ingress.kubernetes.io/cors-max-age",
                "higress.io/timeout",
                "higress.io/ignore-path-case",
            ],
        ),
    ]
}

#[test]
fn validate_reports_every_bad_annotation_at_once() {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::fixed("v1", "127.0.0.1:18080".parse().unwrap()),
        Registry::fixed("v2", "127.0.0.1:18081".parse().unwrap()),
    ]);
    config.write_ingress(&Ingress::route(
        "good",
        Some("bad.example.com"),
        Path::prefix("/good"),
        "v1.static",
    ));
    let bad = bad_ingresses();
    for (ingress, _) in &bad {
        config.write_ingress(ingress);
    }

    let out = validate(config.path());
    let all = out.combined();
    assert_eq!(out.code(), Some(1), "validate must exit 1; output:\n{all}");
    let errors = out.errors();
    let mut failures = Vec::new();
    let mut expected = 0;
    for (ingress, keys) in &bad {
        for key in keys {
            expected += 1;
            let file = ingress.file();
            let who = format!("Ingress {}", ingress.name());
            let quoted = format!("{key:?}");
            if !errors
                .iter()
                .any(|l| l.contains(&file) && l.contains(&who) && l.contains(&quoted))
            {
                failures.push(format!("no error naming {file}, {who} and {quoted}"));
            }
        }
    }
    // Every error line is one of the expected ones: about a bad annotation of a bad Ingress.
    for line in &errors {
        let known = bad.iter().any(|(ingress, keys)| {
            line.contains(&ingress.file())
                && keys
                    .iter()
                    .any(|k| line.contains(&format!("metadata.annotations[{k:?}]")))
        });
        if !known {
            failures.push(format!("unexpected error line: {line}"));
        }
    }
    if errors.len() != expected {
        failures.push(format!(
            "want {expected} error lines (one per bad key), got {}",
            errors.len()
        ));
    }
    if errors.iter().any(|l| l.contains("ingresses/good.yaml")) {
        failures.push("the good Ingress is blamed".to_owned());
    }
    assert!(
        failures.is_empty(),
        "validate output problems:\n  {}\n--- output ---\n{all}",
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn bad_annotation_keeps_the_last_good_ingress() {
    let backends = Backends::start(&["v1", "v2"]);
    let host = Some("last.example.com");
    let h = "last.example.com";
    let ingresses = [
        Ingress::route("edited", host, Path::prefix("/a"), "v1.static"),
        Ingress::route("other", host, Path::prefix("/b"), "v1.static"),
    ];
    let gw = serve(&backends, &ingresses, (h, "/a", "v1")).await;
    let client = gw.client();
    client.eventually_backend(h, "/b", "v1").await;

    // Break `edited` (bad annotations plus a new destination), add a never-good Ingress,
    // then edit `other` and add `added`: once those serve, the bad writes were read too.
    let broken = Ingress::route("edited", host, Path::prefix("/a"), "v2.static")
        .annotation("nginx.ingress.kubernetes.io/ssl-redirect", "maybe")
        .annotation("higress.io/request-header-control-add", "novalue");
    gw.config().write_ingress(&broken);
    gw.config().write_ingress(
        &Ingress::route("never-good", host, Path::prefix("/new"), "v2.static")
            .annotation("nginx.ingress.kubernetes.io/backend-protocol", "FCGI"),
    );
    gw.config().write_ingress(&Ingress::route(
        "other",
        host,
        Path::prefix("/b"),
        "v2.static",
    ));
    gw.config().write_ingress(&Ingress::route(
        "added",
        host,
        Path::prefix("/c"),
        "v2.static",
    ));
    client.eventually_backend(h, "/c", "v2").await;
    client.eventually_backend(h, "/b", "v2").await;

    let mut f = Failures::default();
    // The gateway logs each rejected key, naming file and Ingress; waiting for that also
    // makes sure the bad versions were read before `/a` is checked.
    let logged = try_eventually(DEADLINE, || async {
        let log = gw.log();
        let rejected = [
            ("edited", "nginx.ingress.kubernetes.io/ssl-redirect"),
            ("edited", "higress.io/request-header-control-add"),
            ("never-good", "nginx.ingress.kubernetes.io/backend-protocol"),
        ];
        for (name, key) in rejected {
            let file = format!("ingresses/{name}.yaml");
            let who = format!("Ingress {name}");
            let quoted = format!("{key:?}");
            if !log
                .lines()
                .any(|l| l.contains(&file) && l.contains(&who) && l.contains(&quoted))
            {
                return Err(format!(
                    "no gateway log line names {file}, {who} and {quoted}"
                ));
            }
        }
        Ok(())
    })
    .await
    .map(|_| ());
    f.check("the gateway logs each rejected annotation key", logged);
    for _ in 0..5 {
        f.check(
            "GET /a keeps the last good `edited` (v1, no ssl-redirect)",
            client
                .get(h, "/a")
                .await
                .and_then(|r| r.expect_backend("v1"))
                .map(|_| ()),
        );
    }
    f.check(
        "GET /new (never-good Ingress) -> gateway 404",
        want_gateway_404(client.get(h, "/new").await),
    );

    // Fixing the file applies the new version.
    gw.config().write_ingress(&Ingress::route(
        "edited",
        host,
        Path::prefix("/a"),
        "v2.static",
    ));
    client.eventually_backend(h, "/a", "v2").await;
    f.finish();
}
