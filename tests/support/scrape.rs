//! Reading Gantry's metrics and health ports: scrape the Prometheus text, find one sample's
//! value, fetch a JSON status with its code.

use std::time::Duration;

/// `GET http://127.0.0.1:<port><path>`: status, `Content-Type` and body.
pub async fn get(port: u16, path: &str) -> Result<(u16, String, String), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{port}{path}");
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    Ok((status, content_type, body))
}

/// The body of `GET /stats/prometheus` on the metrics port; panics on failure.
pub async fn scrape(port: u16) -> String {
    let (status, _, body) = get(port, "/stats/prometheus").await.expect("scrape");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample `series` (`name{labels}` exactly as rendered, or a bare name),
/// if present.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The status and parsed JSON body of `GET <path>`.
pub async fn json(port: u16, path: &str) -> Result<(u16, serde_json::Value), String> {
    let (status, _, body) = get(port, path).await?;
    let v = serde_json::from_str(&body).map_err(|e| format!("{path}: {e}: {body}"))?;
    Ok((status, v))
}
