//! Certificates and domains written through the console API serve HTTPS on the real
//! binary: the certificate is presented by SNI as soon as the writes answer, and `force`
//! redirects plain HTTP. The key never appears in an API answer.

use gantry_tests::http1::Http1;
use gantry_tests::tls::{LeafCert, TestCert, TlsClient};
use gantry_tests::{ConfigDir, ConsoleClient, EchoServer, Gantry};
use reqwest::Method;
use serde_json::json;

const PASSWORD: &str = "tls-Console-pw";
const HOST: &str = "secure.example.com";

#[tokio::test]
async fn api_certificate_and_domain_serve_https() {
    let echo = EchoServer::start("secure-backend");
    let gw = Gantry::builder()
        .console(true)
        .https(true)
        .arg("--console-password")
        .arg(PASSWORD)
        .start(ConfigDir::new())
        .await;
    let mut console = ConsoleClient::new(gw.console_port());
    assert_eq!(console.login("admin", PASSWORD).await.status, 201);
    let cert = TestCert::new(&[HOST]);

    let calls = [
        (
            "/v1/service-sources",
            json!({"name": "echo", "type": "static", "domain": echo.addr().to_string()}),
        ),
        (
            "/v1/tls-certificates",
            json!({"name": "secure-cert", "cert": cert.cert_pem, "key": cert.key_pem}),
        ),
        (
            "/v1/domains",
            json!({"name": HOST, "enableHttps": "on", "certIdentifier": "secure-cert"}),
        ),
        (
            "/v1/routes",
            json!({"name": "secure", "domains": [HOST], "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "echo.static", "port": 80}]}),
        ),
    ];
    let key_line = cert.key_pem.lines().nth(1).unwrap().to_string();
    for (path, body) in calls {
        let r = console.call(Method::POST, path, Some(body)).await;
        assert_eq!(r.status, 201, "{path}: {}", r.text);
        assert!(!r.text.contains(&key_line), "{path} echoed the key");
    }
    let secret = gw.config().read("secrets/secure-cert.yaml");
    assert!(secret.contains("kubernetes.io/tls"), "{secret}");
    let ingress = gw.config().read("ingresses/secure.yaml");
    assert!(ingress.contains("secretName: secure-cert"), "{ingress}");

    // Served when answered: the handshake presents the new certificate, HTTPS is routed.
    let client = TlsClient::new(&[&cert]);
    let tls = client.connect(gw.https_port(), HOST).await.unwrap();
    assert_eq!(LeafCert::of(&tls).dns_names, cert.names);
    Http1::new(tls)
        .get(HOST, "/get")
        .await
        .unwrap()
        .expect_backend("secure-backend")
        .unwrap();

    // `force`: plain HTTP is redirected.
    let mut domain = console.data(&format!("/v1/domains/{HOST}")).await;
    domain["enableHttps"] = json!("force");
    let r = console
        .call(Method::PUT, &format!("/v1/domains/{HOST}"), Some(domain))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", gw.http_port()))
        .await
        .unwrap();
    let reply = Http1::new(tcp).get(HOST, "/get").await.unwrap();
    assert_eq!(reply.status, 308, "{}", reply.summary());

    for path in ["/v1/tls-certificates", "/v1/tls-certificates/secure-cert"] {
        let text = console.call(Method::GET, path, None).await.text;
        assert!(!text.contains(&key_line), "{path} leaks the key");
    }
}
