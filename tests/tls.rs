//! End-to-end tests of downstream TLS: certificates chosen by SNI (exact, wildcard,
//! default, none), domain `enableHttps` modes, live certificate rotation and broken
//! Secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use gantry_tests::http1::{Http1, RawReply};
use gantry_tests::tls::{
    broken_secret_yaml, domain_configmap, domain_file, ingress_with_tls, secret_file, LeafCert,
    TestCert, TlsClient,
};
use gantry_tests::{
    eventually, try_eventually, validate, ConfigDir, EchoServer, Gantry, Ingress, Path, Registry,
    DEADLINE,
};

/// A config with the `httpbin` dns registry at `backend` and no routes.
fn base_config(backend: &EchoServer) -> ConfigDir {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::dns("httpbin", "127.0.0.1", backend.port())]);
    config
}

/// An Ingress `name` sending every path of each of `hosts` to `httpbin.dns`.
fn route(name: &str, hosts: &[&str]) -> Ingress {
    hosts.iter().fold(
        Ingress::new(name).destination("httpbin.dns"),
        |ingress, host| ingress.rule(Some(host), vec![Path::prefix("/")]),
    )
}

/// Opens a TLS connection with SNI `name` and sends `GET <path>` with `Host: <name>`;
/// returns the leaf certificate seen and the reply.
async fn https_get(
    client: &TlsClient,
    port: u16,
    name: &str,
    path: &str,
) -> Result<(LeafCert, RawReply), String> {
    let tls = client.connect(port, name).await?;
    let leaf = LeafCert::of(&tls);
    let mut conn = Http1::new(tls);
    let reply = conn
        .get(name, path)
        .await
        .map_err(|e| format!("GET https://{name}{path}: {e}"))?;
    Ok((leaf, reply))
}

/// Polls until a handshake with SNI `name` presents a certificate whose SANs are `cert`'s.
async fn eventually_cert(client: &TlsClient, port: u16, name: &str, cert: &TestCert) -> LeafCert {
    eventually(DEADLINE, || async move {
        let tls = client.connect(port, name).await?;
        let leaf = LeafCert::of(&tls);
        if leaf.dns_names == cert.names {
            Ok(leaf)
        } else {
            Err(format!(
                "SNI {name}: expected the certificate for {:?}, got {leaf:?}",
                cert.names
            ))
        }
    })
    .await
}

#[tokio::test]
async fn sni_picks_exact_wildcard_and_default_certificates() {
    let httpbin = EchoServer::start("httpbin");
    let a = TestCert::new(&["a.example.com"]);
    let b = TestCert::new(&["b.example.com"]);
    let wild = TestCert::new(&["*.wild.example.com"]);
    let default = TestCert::new(&["default.example.com"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-a"), &a.secret_yaml("cert-a"));
    // One Secret in `stringData` form, the others base64 `data`.
    config.write(&secret_file("cert-b"), &b.string_data_secret_yaml("cert-b"));
    config.write(&secret_file("cert-wild"), &wild.secret_yaml("cert-wild"));
    config.write(
        &secret_file("cert-default"),
        &default.secret_yaml("cert-default"),
    );
    let ingress = route(
        "tls-hosts",
        &["a.example.com", "b.example.com", "*.wild.example.com"],
    );
    // a and the wildcard by Ingress spec.tls, b by its domain ConfigMap, and a default
    // (an entry without hosts).
    config.write(
        &ingress.file(),
        &ingress_with_tls(
            &ingress,
            &[
                (&["a.example.com"], "cert-a"),
                (&["*.wild.example.com"], "cert-wild"),
                (&[], "cert-default"),
            ],
        ),
    );
    config.write(
        &domain_file("b.example.com"),
        &domain_configmap("b.example.com", Some("cert-b"), "on"),
    );
    let gw = Gantry::builder().https(true).start(config).await;
    let port = gw.https_port();
    let client = TlsClient::new(&[&a, &b, &wild, &default]);

    eventually_cert(&client, port, "a.example.com", &a).await;
    for (name, cert) in [
        ("a.example.com", &a),
        ("b.example.com", &b),
        ("api.wild.example.com", &wild),
        ("www.wild.example.com", &wild),
    ] {
        let (leaf, reply) = eventually(DEADLINE, || async {
            https_get(&client, port, name, "/get").await
        })
        .await;
        assert_eq!(
            leaf.common_name.as_deref(),
            Some(cert.common_name()),
            "SNI {name}: leaf certificate subject"
        );
        assert_eq!(
            leaf.dns_names, cert.names,
            "SNI {name}: leaf certificate SANs"
        );
        let reply = reply
            .expect_backend("httpbin")
            .unwrap_or_else(|e| panic!("GET https://{name}/get: {e}"));
        let seen = reply.json();
        assert_eq!(seen["headers"]["host"], name, "{seen}");
        assert_eq!(
            seen["headers"]["x-forwarded-proto"], "https",
            "requests over TLS must be forwarded with x-forwarded-proto: https: {seen}"
        );
    }

    // No SNI: the default certificate.
    let tls = client
        .connect_no_sni(port, "default.example.com")
        .await
        .unwrap_or_else(|e| panic!("a client without SNI must get the default certificate: {e}"));
    let leaf = LeafCert::of(&tls);
    assert_eq!(leaf.common_name.as_deref(), Some("default.example.com"));
    assert_eq!(leaf.dns_names, default.names);
}

#[tokio::test]
async fn without_default_certificate_unknown_names_get_an_alert() {
    let httpbin = EchoServer::start("httpbin");
    let a = TestCert::new(&["a.example.com"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-a"), &a.secret_yaml("cert-a"));
    let ingress = route("tls-a", &["a.example.com"]);
    config.write(
        &ingress.file(),
        &ingress_with_tls(&ingress, &[(&["a.example.com"], "cert-a")]),
    );
    let gw = Gantry::builder().https(true).start(config).await;
    let port = gw.https_port();
    let client = TlsClient::new(&[&a]);
    eventually_cert(&client, port, "a.example.com", &a).await;

    match client.connect_no_sni(port, "a.example.com").await {
        Ok(tls) => panic!(
            "without a default certificate a client without SNI must get a TLS alert; \
             it got {:?}",
            LeafCert::of(&tls)
        ),
        Err(e) => assert!(e.contains("alert"), "expected a TLS alert, got: {e}"),
    }
    match client.connect(port, "unknown.example.org").await {
        Ok(tls) => panic!(
            "without a default certificate an unknown SNI must get a TLS alert; it got {:?}",
            LeafCert::of(&tls)
        ),
        Err(e) => assert!(e.contains("alert"), "expected a TLS alert, got: {e}"),
    }
    // The gateway still serves the known name afterwards.
    let (_, reply) = https_get(&client, port, "a.example.com", "/")
        .await
        .unwrap();
    reply.expect_backend("httpbin").unwrap();
}

#[tokio::test]
async fn domain_force_redirects_http_and_on_serves_both() {
    let httpbin = EchoServer::start("httpbin");
    let force = TestCert::new(&["force.example.com"]);
    let on = TestCert::new(&["on.example.com"]);
    let wild = TestCert::new(&["*.fw.example.com"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-force"), &force.secret_yaml("cert-force"));
    config.write(&secret_file("cert-on"), &on.secret_yaml("cert-on"));
    config.write(&secret_file("cert-fw"), &wild.secret_yaml("cert-fw"));
    config.write(
        &domain_file("force.example.com"),
        &domain_configmap("force.example.com", Some("cert-force"), "force"),
    );
    config.write(
        &domain_file("on.example.com"),
        &domain_configmap("on.example.com", Some("cert-on"), "on"),
    );
    assert_eq!(
        domain_file("*.fw.example.com"),
        "configmaps/domain-wildcard.fw.example.com.yaml"
    );
    config.write(
        &domain_file("*.fw.example.com"),
        &domain_configmap("*.fw.example.com", Some("cert-fw"), "force"),
    );
    config.write_ingress(&route(
        "domains",
        &["force.example.com", "on.example.com", "*.fw.example.com"],
    ));
    let gw = Gantry::builder().https(true).start(config).await;
    let http = gw.client();
    let port = gw.https_port();
    let client = TlsClient::new(&[&force, &on, &wild]);

    // `on`: plain HTTP is still served, and HTTPS too.
    http.eventually_backend("on.example.com", "/get", "httpbin")
        .await;
    let (leaf, reply) = eventually(DEADLINE, || async {
        https_get(&client, port, "on.example.com", "/get").await
    })
    .await;
    assert_eq!(leaf.dns_names, on.names);
    reply.expect_backend("httpbin").unwrap();

    // `force`: plain HTTP gets a 308 to the same URL over https; HTTPS is served.
    for (host, path) in [
        ("force.example.com", "/some/path?q=1&r=two"),
        ("x.fw.example.com", "/wild"),
    ] {
        // A raw client: reqwest would follow the redirect.
        let http_port = gw.http_port();
        let reply = eventually(DEADLINE, || async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", http_port))
                .await
                .map_err(|e| e.to_string())?;
            let reply = Http1::new(tcp).get(host, path).await?;
            if reply.status == 308 {
                Ok(reply)
            } else {
                Err(format!(
                    "GET http://{host}{path}: expected 308, got {}",
                    reply.summary()
                ))
            }
        })
        .await;
        assert_eq!(
            reply.echo_name(),
            None,
            "the redirect must come from the gateway: {}",
            reply.summary()
        );
        assert_eq!(
            reply.header("location").unwrap_or_default(),
            format!("https://{host}{path}"),
            "GET http://{host}{path}: Location"
        );
        let (_, reply) = https_get(&client, port, host, path)
            .await
            .unwrap_or_else(|e| panic!("HTTPS to forced host {host}: {e}"));
        reply.expect_backend("httpbin").unwrap_or_else(|e| {
            panic!("GET https://{host}{path} must be served, not redirected: {e}")
        });
    }
}

#[tokio::test]
async fn rotated_certificate_serves_new_connections_and_keeps_old_ones() {
    let httpbin = EchoServer::start("httpbin");
    let v1 = TestCert::new(&["rot.example.com", "v1.rot.example.com"]);
    let v2 = TestCert::new(&["rot.example.com", "v2.rot.example.com"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-rot"), &v1.secret_yaml("cert-rot"));
    let ingress = route("rot", &["rot.example.com"]);
    config.write(
        &ingress.file(),
        &ingress_with_tls(&ingress, &[(&["rot.example.com"], "cert-rot")]),
    );
    let gw = Gantry::builder().https(true).start(config).await;
    let port = gw.https_port();
    let client = TlsClient::new(&[&v1, &v2]);
    eventually_cert(&client, port, "rot.example.com", &v1).await;

    // A keep-alive connection made with v1.
    let tls = client.connect(port, "rot.example.com").await.unwrap();
    assert_eq!(LeafCert::of(&tls).dns_names, v1.names);
    let mut old = Http1::new(tls);
    for i in 0..3 {
        old.get("rot.example.com", &format!("/before/{i}"))
            .await
            .unwrap_or_else(|e| panic!("request {i} on the open connection: {e}"))
            .expect_backend("httpbin")
            .unwrap();
    }

    let start = Instant::now();
    gw.config()
        .write(&secret_file("cert-rot"), &v2.secret_yaml("cert-rot"));
    let seen = try_eventually(DEADLINE, || async {
        let tls = client.connect(port, "rot.example.com").await?;
        let leaf = LeafCert::of(&tls);
        if leaf.dns_names == v2.names {
            Ok(())
        } else {
            Err(format!("new connection still gets {leaf:?}"))
        }
    })
    .await;
    let took = start.elapsed();
    if let Err(e) = seen {
        panic!("the rotated certificate never served: {e}");
    }
    // How soon is printed, not asserted (wall-clock bounds flake on a loaded machine).
    eprintln!("rotation served after {took:?}");

    // The connection opened before the rotation keeps working, with its old certificate.
    assert_eq!(
        LeafCert::from_der(&old.get_ref().get_ref().1.peer_certificates().unwrap()[0]).dns_names,
        v1.names
    );
    for i in 0..3 {
        old.get("rot.example.com", &format!("/after/{i}"))
            .await
            .unwrap_or_else(|e| panic!("request {i} on the connection opened before rotation: {e}"))
            .expect_backend("httpbin")
            .unwrap();
    }
    // And a new connection serves requests with the new certificate.
    let (leaf, reply) = https_get(&client, port, "rot.example.com", "/new")
        .await
        .unwrap();
    assert_eq!(leaf.dns_names, v2.names);
    reply.expect_backend("httpbin").unwrap();
}

#[tokio::test]
async fn broken_secret_keeps_the_old_certificate() {
    let httpbin = EchoServer::start("httpbin");
    let good = TestCert::new(&["brk.example.com", "good.brk.example.com"]);
    let fixed = TestCert::new(&["brk.example.com", "fixed.brk.example.com"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-brk"), &good.secret_yaml("cert-brk"));
    let ingress = route("brk", &["brk.example.com"]);
    config.write(
        &ingress.file(),
        &ingress_with_tls(&ingress, &[(&["brk.example.com"], "cert-brk")]),
    );
    let gw = Gantry::builder().https(true).start(config).await;
    let port = gw.https_port();
    let client = TlsClient::new(&[&good, &fixed]);
    eventually_cert(&client, port, "brk.example.com", &good).await;

    // Break the Secret, then add a marker route; once the marker serves, the gateway
    // has read the directory after the broken write.
    gw.config()
        .write(&secret_file("cert-brk"), &broken_secret_yaml("cert-brk"));
    gw.config()
        .write_ingress(&route("marker", &["marker.example.com"]));
    gw.client()
        .eventually_backend("marker.example.com", "/", "httpbin")
        .await;
    for i in 0..5 {
        let (leaf, reply) = https_get(&client, port, "brk.example.com", "/")
            .await
            .unwrap_or_else(|e| panic!("handshake {i} after the broken Secret: {e}"));
        assert_eq!(
            leaf.dns_names, good.names,
            "a broken Secret must keep the previous certificate serving"
        );
        reply.expect_backend("httpbin").unwrap();
    }

    // `gantry validate` names the Secret's file and the bad field.
    let out = validate(gw.config().path());
    let all = out.combined();
    assert_eq!(out.code(), Some(1), "validate must fail; output:\n{all}");
    assert!(
        out.errors()
            .iter()
            .any(|l| l.contains("secrets/cert-brk.yaml") && l.contains(r#"data["tls.crt"]"#)),
        "validate must report secrets/cert-brk.yaml data[\"tls.crt\"]; output:\n{all}"
    );

    // Fixing it serves the new certificate.
    gw.config()
        .write(&secret_file("cert-brk"), &fixed.secret_yaml("cert-brk"));
    eventually_cert(&client, port, "brk.example.com", &fixed).await;
}

/// `auth-tls-secret`: a host answers only requests whose client certificate chains to its
/// CA (the Secret's `ca.crt`); other hosts on the same listener need none.
#[tokio::test]
async fn client_certificates_are_required_per_host() {
    let backend = EchoServer::start("mtls");
    let config = base_config(&backend);
    let server = TestCert::new(&["secure.example.com"]);
    let open = TestCert::new(&["open.example.com"]);
    let (ca, issuer) = TestCert::authority("test client ca");
    let (_, other_issuer) = TestCert::authority("some other ca");
    let good = TestCert::client_signed_by("alice", &issuer);
    let stranger = TestCert::client_signed_by("mallory", &other_issuer);
    config.write(
        &secret_file("secure-cert"),
        &server.secret_yaml("secure-cert"),
    );
    config.write(&secret_file("open-cert"), &open.secret_yaml("open-cert"));
    config.write(
        &secret_file("client-ca"),
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: client-ca\ndata:\n  ca.crt: {}\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &ca.cert_pem)
        ),
    );
    let secure = route("secure", &["secure.example.com"])
        .annotation("higress.io/auth-tls-secret", "client-ca");
    config.write(
        &secure.file(),
        &ingress_with_tls(&secure, &[(&["secure.example.com"], "secure-cert")]),
    );
    let plain = route("open", &["open.example.com"]);
    config.write(
        &plain.file(),
        &ingress_with_tls(&plain, &[(&["open.example.com"], "open-cert")]),
    );
    let gantry = Gantry::builder().https(true).start(config).await;
    let port = gantry.https_port();

    let anonymous = TlsClient::new(&[&server, &open]);
    let (_, reply) = eventually(DEADLINE, || {
        https_get(&anonymous, port, "secure.example.com", "/x")
    })
    .await;
    assert_eq!(reply.status, 400, "no client certificate: {reply:?}");
    assert!(
        String::from_utf8_lossy(&reply.body).contains("client certificate"),
        "{reply:?}"
    );
    let (_, reply) = https_get(&anonymous, port, "open.example.com", "/x")
        .await
        .unwrap();
    assert_eq!(
        reply.status, 200,
        "a host without auth-tls-secret needs no certificate"
    );

    let alice = TlsClient::new(&[&server]).identity(&good);
    let (_, reply) = https_get(&alice, port, "secure.example.com", "/x")
        .await
        .unwrap();
    assert_eq!(
        reply.status, 200,
        "certificate from the host's CA: {reply:?}"
    );

    let mallory = TlsClient::new(&[&server]).identity(&stranger);
    let (_, reply) = https_get(&mallory, port, "secure.example.com", "/x")
        .await
        .unwrap();
    assert_eq!(reply.status, 400, "certificate from another CA: {reply:?}");
    assert_eq!(
        backend.hits(),
        2,
        "rejected requests never reach the backend"
    );
}

/// `tls-min-protocol-version`: older connections are refused for that host only.
#[tokio::test]
async fn tls_min_protocol_version_is_enforced_per_host() {
    let backend = EchoServer::start("versions");
    let config = base_config(&backend);
    let cert = TestCert::new(&["new.example.com", "old.example.com"]);
    config.write(&secret_file("both"), &cert.secret_yaml("both"));
    let strict = route("strict", &["new.example.com"])
        .annotation("higress.io/tls-min-protocol-version", "TLSv1.3");
    config.write(
        &strict.file(),
        &ingress_with_tls(&strict, &[(&["new.example.com"], "both")]),
    );
    let lax = route("lax", &["old.example.com"]);
    config.write(
        &lax.file(),
        &ingress_with_tls(&lax, &[(&["old.example.com"], "both")]),
    );
    let gantry = Gantry::builder().https(true).start(config).await;
    let port = gantry.https_port();

    let tls12 = TlsClient::new(&[&cert]).tls12_only();
    let (_, reply) = eventually(DEADLINE, || https_get(&tls12, port, "new.example.com", "/")).await;
    assert_eq!(
        reply.status, 403,
        "TLS 1.2 to a TLS 1.3-only host: {reply:?}"
    );
    let (_, reply) = https_get(&tls12, port, "old.example.com", "/")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let modern = TlsClient::new(&[&cert]);
    let (_, reply) = https_get(&modern, port, "new.example.com", "/")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
}

/// A domain ConfigMap with `enableHttps: off` gives its host no certificate even when it
/// names a `cert` (Higress skips such domains when it adds TLS); plain HTTP is served.
#[tokio::test]
async fn domain_enable_https_off_gives_no_certificate() {
    let httpbin = EchoServer::start("httpbin");
    let off = TestCert::new(&["off.example.com"]);
    let on = TestCert::new(&["on.example.com"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-off"), &off.secret_yaml("cert-off"));
    config.write(&secret_file("cert-on"), &on.secret_yaml("cert-on"));
    config.write(
        &domain_file("off.example.com"),
        &domain_configmap("off.example.com", Some("cert-off"), "off"),
    );
    config.write(
        &domain_file("on.example.com"),
        &domain_configmap("on.example.com", Some("cert-on"), "on"),
    );
    config.write_ingress(&route("domains", &["off.example.com", "on.example.com"]));
    let gw = Gantry::builder().https(true).start(config).await;
    let port = gw.https_port();
    let client = TlsClient::new(&[&off, &on]);
    // The config is in force once `on` presents its certificate.
    eventually_cert(&client, port, "on.example.com", &on).await;

    match client.connect(port, "off.example.com").await {
        Ok(tls) => panic!(
            "enableHttps: off must not serve the domain's certificate; got {:?}",
            LeafCert::of(&tls)
        ),
        Err(e) => assert!(e.contains("alert"), "expected a TLS alert, got: {e}"),
    }
    gw.client()
        .get("off.example.com", "/get")
        .await
        .unwrap()
        .expect_backend("httpbin")
        .unwrap_or_else(|e| panic!("plain HTTP to an `off` domain must be served: {e}"));
}

/// The domain ConfigMap of `higress-default-domain` (as the Higress console writes it) with a
/// `cert` is the default certificate: clients without SNI or with a name no other certificate
/// covers get it; a host with its own certificate keeps that one.
#[tokio::test]
async fn higress_default_domain_cert_is_the_default_certificate() {
    let httpbin = EchoServer::start("httpbin");
    let a = TestCert::new(&["a.example.com"]);
    // It also names the unknown host, so a client can verify it got this one.
    let fallback = TestCert::new(&["default.example.com", "unknown.example.org"]);
    let config = base_config(&httpbin);
    config.write(&secret_file("cert-a"), &a.secret_yaml("cert-a"));
    config.write(&secret_file("default"), &fallback.secret_yaml("default"));
    assert_eq!(
        domain_file("higress-default-domain"),
        "configmaps/domain-higress-default-domain.yaml"
    );
    config.write(
        &domain_file("higress-default-domain"),
        &domain_configmap("higress-default-domain", Some("default"), "on"),
    );
    let ingress = route("tls-a", &["a.example.com"]);
    config.write(
        &ingress.file(),
        &ingress_with_tls(&ingress, &[(&["a.example.com"], "cert-a")]),
    );
    let gw = Gantry::builder().https(true).start(config).await;
    let port = gw.https_port();
    let client = TlsClient::new(&[&a, &fallback]);
    eventually_cert(&client, port, "a.example.com", &a).await;

    // No SNI, or a name no other certificate covers: the default certificate.
    let tls = client
        .connect_no_sni(port, "default.example.com")
        .await
        .unwrap_or_else(|e| panic!("a client without SNI must get the default certificate: {e}"));
    assert_eq!(LeafCert::of(&tls).dns_names, fallback.names);
    let tls = client
        .connect(port, "unknown.example.org")
        .await
        .unwrap_or_else(|e| panic!("an unknown SNI must get the default certificate: {e}"));
    assert_eq!(LeafCert::of(&tls).dns_names, fallback.names);
    // A host with its own certificate keeps it.
    let tls = client.connect(port, "a.example.com").await.unwrap();
    assert_eq!(LeafCert::of(&tls).dns_names, a.names);
}
