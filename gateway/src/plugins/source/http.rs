//! The HTTP client plugin downloads use: rustls on ring with the system's roots (and
//! `SSL_CERT_FILE`), bounded connect and total times, and a cap on the module size.

use std::time::Duration;

/// The largest module (or OCI layer) Gantry downloads.
pub const MAX_BYTES: usize = 128 << 20;
/// Connect timeout of one request.
const CONNECT: Duration = Duration::from_secs(5);
/// Total time of one request, body included.
const TOTAL: Duration = Duration::from_secs(60);

/// A client for plugin downloads.
pub fn client() -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system roots leave the store empty: https then fails with a clear
    // "unknown issuer", plain http still works.
    for cert in pingora::tls::load_native_certs().unwrap_or_default() {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(CONNECT)
        .timeout(TOTAL)
        .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client setup: {e}"))
}

/// Sends `req`; a transport failure is an error naming `what` and its causes.
pub async fn send(req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, String> {
    req.send()
        .await
        .map_err(|e| format!("{what}: {}", error_text(&e)))
}

/// The body of `resp`, refused past `limit` bytes.
pub async fn body(
    mut resp: reqwest::Response,
    what: &str,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let too_large = || format!("{what} is larger than {} MiB", limit >> 20);
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("{what}: {}", error_text(&e)))?
    {
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A GET of a whole module: `http(s)://…` as written in `spec.url`.
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let what = format!("GET {url}");
    let resp = send(client.get(url), &what).await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{what}: HTTP {}", status.as_u16()));
    }
    body(resp, &what, MAX_BYTES).await
}

/// An error with its causes (reqwest's own text stops at "error sending request").
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
