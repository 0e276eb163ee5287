//! Running the HTTP calls plugins dispatch (`proxy_http_call`). The cluster name is Envoy's
//! `outbound|<port>||<host>` for one of the gateway's upstreams ([`Clusters`], built with the
//! route table: McpBridge `<name>.dns` / `<name>.static` and Service FQDNs); the request goes
//! to one of its endpoints over plain HTTP/1.1 with the plugin's timeout. Outcomes as Envoy
//! reports them: an answer with its status, a local 503 when no endpoint can be reached, and
//! a failure without headers on a timeout or reset (Higress's Go SDK reads that as 502).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::host_state::{CallResponse, HeaderMap, HttpCall};
use super::source::http::{body, error_text};
use crate::upstream::{PickHint, Target};

/// The largest call response body kept.
const MAX_BODY: usize = 16 << 20;

/// The upstreams plugins may call, by Envoy cluster name.
#[derive(Debug, Default)]
pub struct Clusters {
    by_name: HashMap<String, Arc<Target>>,
}

// === impl Clusters ===

impl Clusters {
    /// Clusters from `(cluster name, target)` pairs.
    pub fn new(clusters: impl IntoIterator<Item = (String, Arc<Target>)>) -> Self {
        Self {
            by_name: clusters.into_iter().collect(),
        }
    }

    /// True when `name` is a known cluster.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The upstream behind cluster `name`.
    pub fn target(&self, name: &str) -> Option<&Arc<Target>> {
        self.by_name.get(name)
    }
}

thread_local! {
    /// One client (and connection pool) per proxy thread: Pingora's runtimes are per thread.
    static CLIENT: Option<reqwest::Client> = reqwest::Client::builder()
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .ok();
}

/// Runs `call` against `clusters`; never fails (a failure is a response without headers).
pub async fn run(clusters: &Clusters, call: HttpCall) -> CallResponse {
    let Some(target) = clusters.by_name.get(&call.cluster) else {
        return local(503, "unknown cluster");
    };
    let Some(lease) = target.pick(PickHint::default()) else {
        return local(503, "no healthy upstream");
    };
    let Some(client) = CLIENT.with(Clone::clone) else {
        return local(503, "no HTTP client");
    };
    let pseudo = |name: &str| {
        call.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let Ok(method) = reqwest::Method::from_bytes(pseudo(":method").as_bytes()) else {
        return local(400, "bad :method");
    };
    let url = format!("http://{}{}", lease.addr(), pseudo(":path"));
    let mut req = client
        .request(method, url)
        .timeout(Duration::from_millis(u64::from(call.timeout_ms)))
        .header(reqwest::header::HOST, pseudo(":authority"));
    for (name, value) in &call.headers {
        if name.starts_with(':') || name == "content-length" || name == "host" {
            continue;
        }
        req = req.header(name.as_str(), value.as_slice());
    }
    if !call.body.is_empty() {
        req = req.body(call.body);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            tracing::debug!(cluster = %call.cluster, "plugin call: {}", error_text(&e));
            return local(503, "upstream connect error");
        }
        Err(e) => {
            tracing::debug!(cluster = %call.cluster, "plugin call failed: {}", error_text(&e));
            return CallResponse::default();
        }
    };
    let mut headers: HeaderMap = Vec::with_capacity(resp.headers().len() + 1);
    headers.push((":status".into(), resp.status().as_str().as_bytes().to_vec()));
    for (name, value) in resp.headers() {
        headers.push((name.as_str().to_owned(), value.as_bytes().to_vec()));
    }
    let body = match body(resp, "plugin call response", MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(cluster = %call.cluster, "{e}");
            return CallResponse::default();
        }
    };
    drop(lease);
    CallResponse {
        headers,
        body,
        trailers: Vec::new(),
    }
}

/// A reply the host makes up, as Envoy's router does when it cannot reach the upstream.
fn local(status: u16, body: &str) -> CallResponse {
    CallResponse {
        headers: vec![
            (":status".into(), status.to_string().into_bytes()),
            ("content-type".into(), b"text/plain".to_vec()),
        ],
        body: body.as_bytes().to_vec(),
        trailers: Vec::new(),
    }
}
