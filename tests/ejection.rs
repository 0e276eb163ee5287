//! Passive health checking: an endpoint that keeps refusing connections is ejected (requests
//! stop paying for its connect failures) and comes back once it answers again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::{eventually, free_port, ConfigDir, EchoServer, Gantry, Ingress, Path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOST: &str = "pool.example.com";

/// A minimal HTTP/1.1 server on a fixed port that answers `x-echo-name: revived`.
async fn revive(port: u16) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind revived endpoint");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let reply =
                        b"HTTP/1.1 200 OK\r\nx-echo-name: revived\r\ncontent-length: 0\r\n\r\n";
                    if sock.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

#[tokio::test]
async fn refusing_endpoint_is_ejected_then_recovers() {
    let live = EchoServer::start("live");
    let dead_port = free_port();
    let config = ConfigDir::new();
    let pool = format!("127.0.0.1:{},127.0.0.1:{dead_port}", live.port());
    config.write(
        "mcpbridges/default.yaml",
        &format!("apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata:\n  name: default\nspec:\n  registries:\n  - {{type: static, name: pool, domain: \"{pool}\", port: 80}}\n"),
    );
    config.write_ingress(
        &Ingress::new("pool")
            .destination("pool.static")
            .rule(Some(HOST), vec![Path::prefix("/")]),
    );
    let gw = Gantry::start(config).await;
    let client = gw.client();
    client.eventually_backend(HOST, "/", "live").await;

    // Connect failures are retried on the live endpoint; after five in a row the dead one
    // is ejected and the gateway says so.
    for _ in 0..20 {
        let reply = client.get(HOST, "/").await.unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
    }
    eventually(Duration::from_secs(5), || async {
        if gw.log().contains("endpoint ejected") {
            Ok(())
        } else {
            Err("no ejection logged".to_string())
        }
    })
    .await;

    // Once the endpoint answers again it gets traffic back after its ejection ends.
    let _server = revive(dead_port).await;
    eventually(Duration::from_secs(30), || async {
        let reply = client.get(HOST, "/").await?;
        match reply.echo_name() {
            Some("revived") => Ok(()),
            other => Err(format!("still served by {other:?}")),
        }
    })
    .await;
}
