//! The admin API listens on 127.0.0.1 unless `--console-bind` says otherwise, whatever
//! `--bind` the data plane uses, as Caddy keeps its admin API local.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::http1::Http1;
use gantry_tests::{free_port, ConfigDir, Gantry};
use tokio::net::TcpStream;

/// Another address of the Linux loopback interface (all of 127.0.0.0/8 is local).
const OTHER_LOOPBACK: &str = "127.0.0.2";

/// `GET /healthz` on `host:port`.
async fn healthz(host: &str, port: u16) -> Result<u16, String> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    Ok(Http1::new(tcp).get(host, "/healthz").await?.status)
}

#[tokio::test]
async fn admin_api_stays_on_loopback_when_the_gateway_binds_every_address() {
    let console = free_port();
    let gantry = Gantry::builder()
        .arg("--bind")
        .arg("0.0.0.0")
        .arg("--console-port")
        .arg(&console.to_string())
        .start(ConfigDir::new())
        .await;

    assert_eq!(healthz("127.0.0.1", console).await, Ok(200));
    let elsewhere = healthz(OTHER_LOOPBACK, console).await;
    assert!(
        elsewhere.is_err(),
        "admin API answered on {OTHER_LOOPBACK}: {elsewhere:?}"
    );
    // The data plane does listen there: the address is usable, only the admin API is local.
    let tcp = TcpStream::connect((OTHER_LOOPBACK, gantry.http_port()))
        .await
        .expect("data port on the other loopback address");
    let reply = Http1::new(tcp).get("unrouted.test", "/").await.unwrap();
    assert_eq!(reply.status, 404, "{}", reply.summary());
}

#[tokio::test]
async fn console_bind_opens_the_admin_api_to_another_address() {
    let console = free_port();
    let _gantry = Gantry::builder()
        .arg("--console-bind")
        .arg(OTHER_LOOPBACK)
        .arg("--console-port")
        .arg(&console.to_string())
        .start(ConfigDir::new())
        .await;

    assert_eq!(healthz(OTHER_LOOPBACK, console).await, Ok(200));
    assert!(healthz("127.0.0.1", console).await.is_err());
}
