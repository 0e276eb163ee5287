//! A small HTTP/1.1 client for talking to the gateway with an explicit `Host`
//! header. It ignores proxy environment variables.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::eventually::{eventually, try_eventually, DEADLINE};

/// How long one request may take before it counts as failed. Default: 10 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client aimed at one gateway port on `127.0.0.1`.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    port: u16,
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, decoded as UTF-8 (lossy).
    pub body: String,
}

// === impl Client ===

impl Client {
    /// A client that sends every request to `127.0.0.1:<port>`, following redirects.
    pub fn new(port: u16) -> Self {
        Self::build(port, reqwest::redirect::Policy::default())
    }

    /// Like [`Self::new`], but redirects are returned, not followed.
    pub fn no_redirects(port: u16) -> Self {
        Self::build(port, reqwest::redirect::Policy::none())
    }

    fn build(port: u16, redirects: reqwest::redirect::Policy) -> Self {
        let inner = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirects)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("build reqwest client");
        Self { inner, port }
    }

    /// The port requests go to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `GET http://127.0.0.1:<port><path_and_query>` with `Host: <host>`.
    pub async fn get(&self, host: &str, path_and_query: &str) -> Result<Reply, String> {
        self.send(Method::GET, host, path_and_query, &[], None)
            .await
    }

    /// Sends one request with `Host: <host>`, extra `headers`, and an optional body.
    pub async fn send(
        &self,
        method: Method,
        host: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Reply, String> {
        let url = format!("http://127.0.0.1:{}{}", self.port, path_and_query);
        let mut req = self
            .inner
            .request(method.clone(), &url)
            .header("host", host);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let what = format!("{method} {url} (Host: {host})");
        let resp = req.send().await.map_err(|e| format!("{what}: {e:#}"))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .text()
            .await
            .map_err(|e| format!("{what}: reading body: {e:#}"))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Polls `GET <path>` on `host` until backend `name` answers 200, for up to
    /// [`DEADLINE`]; panics with the last reply otherwise.
    pub async fn eventually_backend(&self, host: &str, path: &str, name: &str) -> Reply {
        eventually(DEADLINE, || async move {
            self.get(host, path).await?.expect_backend(name)
        })
        .await
    }

    /// Polls `GET <path>` on `host` until it answers `status`, for up to
    /// [`DEADLINE`]; panics with the last reply otherwise.
    pub async fn eventually_status(&self, host: &str, path: &str, status: u16) -> Reply {
        eventually(DEADLINE, || async move {
            self.get(host, path).await?.expect_status(status)
        })
        .await
    }

    /// Polls `GET <path>` on `host` until backend `name` answers 200 and returns
    /// how long that took; `Err` after `deadline`.
    pub async fn time_until_backend(
        &self,
        host: &str,
        path: &str,
        name: &str,
        deadline: Duration,
    ) -> Result<Duration, String> {
        try_eventually(deadline, || async move {
            self.get(host, path).await?.expect_backend(name)
        })
        .await
        .map(|(_, took)| took)
    }
}

// === impl Reply ===

impl Reply {
    /// The `x-echo-name` header, i.e. which echo backend answered, if any.
    pub fn echo_name(&self) -> Option<&str> {
        self.headers
            .get("x-echo-name")
            .and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }

    /// `Ok(self)` when the status is `status`, else an error describing the reply.
    pub fn expect_status(self, status: u16) -> Result<Self, String> {
        if self.status.as_u16() == status {
            Ok(self)
        } else {
            Err(format!("expected status {status}, got {}", self.summary()))
        }
    }

    /// `Ok(self)` when the status is 200 and the echo backend `name` answered.
    pub fn expect_backend(self, name: &str) -> Result<Self, String> {
        if self.status == StatusCode::OK && self.echo_name() == Some(name) {
            Ok(self)
        } else {
            Err(format!(
                "expected 200 from backend {name:?}, got {}",
                self.summary()
            ))
        }
    }

    /// One line describing the reply: status, echo backend and a body excerpt.
    pub fn summary(&self) -> String {
        let excerpt: String = self.body.chars().take(200).collect();
        format!(
            "{} from backend {:?}, body {:?}",
            self.status,
            self.echo_name().unwrap_or("-"),
            excerpt
        )
    }
}
