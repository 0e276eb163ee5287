//! A client for the admin (console) API of a running gateway: JSON calls with the session
//! cookie it logged in with, or Basic credentials.

use reqwest::Method;
use serde_json::Value;

/// A console API client on `127.0.0.1:<port>`.
#[derive(Debug, Clone)]
pub struct ConsoleClient {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

/// A console API answer.
#[derive(Debug, Clone)]
pub struct ConsoleReply {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub text: String,
    /// `Set-Cookie`, if any.
    pub set_cookie: Option<String>,
}

impl ConsoleReply {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }
}

impl ConsoleClient {
    /// A client for the console on `port`, not logged in.
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            cookie: None,
        }
    }

    /// Logs in as `user`; keeps the session cookie. Returns the answer.
    pub async fn login(&mut self, user: &str, password: &str) -> ConsoleReply {
        let r = self
            .call(
                Method::POST,
                "/session/login",
                Some(serde_json::json!({"username": user, "password": password})),
            )
            .await;
        if let Some(c) = &r.set_cookie {
            self.cookie = c.split(';').next().map(str::to_string);
        }
        r
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> ConsoleReply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("console request");
        let status = resp.status().as_u16();
        let set_cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        ConsoleReply {
            status,
            text,
            set_cookie,
        }
    }

    /// `GET path`, expecting 200 and the wrapper; returns `data`.
    pub async fn data(&self, path: &str) -> Value {
        let r = self.call(Method::GET, path, None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        r.json()["data"].clone()
    }
}
