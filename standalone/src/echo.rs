//! `gantry echo`: an httpbin-like backend that answers every request with what it received,
//! for the offline quick start and for tests.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

use crate::cli::EchoArgs;
use crate::listen;

/// Runs the echo backend until the process ends.
pub fn run(args: &EchoArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let addr = listen::addr(&args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (--port)"))?;
        tracing::info!("echo backend {:?} on http://{addr}", args.name);
        serve(listener, args.name.clone()).await
    })
}

/// Serves the echo app on `listener`.
pub async fn serve(listener: tokio::net::TcpListener, name: String) -> anyhow::Result<()> {
    let app = Router::new().fallback(echo).with_state(name);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .context("echo backend stopped")
}

async fn echo(
    State(name): State<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args: BTreeMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect();
    let mut header_map = BTreeMap::new();
    for (k, v) in &headers {
        header_map.insert(
            k.as_str().to_string(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let body_json = json!({
        "name": name,
        "method": method.as_str(),
        "path": uri.path(),
        "args": args,
        "headers": header_map,
        "body": String::from_utf8_lossy(&body),
        "url": format!("http://{host}{}", uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")),
        "origin": peer.ip().to_string(),
    });
    (
        [
            ("x-echo-name", name.clone()),
            ("content-type", "application/json".into()),
        ],
        body_json.to_string(),
    )
        .into_response()
}
