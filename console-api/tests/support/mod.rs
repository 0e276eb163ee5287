//! In-process harness: the admin API router over a real `DirStore` on a temp dir, with a
//! real `Gateway` following it, called through `tower::ServiceExt::oneshot`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use config_store::{ConfigStore, DirStore, WatchMode, WatchOptions};
use console_api::{ConsoleOptions, ConsoleState, StatusSource};
use gateway::{CompileOptions, Discovery, Gateway};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// The admin password the harness initialises.
pub const PASSWORD: &str = "Pa55-w0rd-distinctive";

/// An answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// How a call authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Cookie(String),
    Basic(String, String),
}

struct GatewayStatus(Arc<Gateway>);

impl StatusSource for GatewayStatus {
    fn route_count(&self) -> usize {
        self.0.table().len()
    }
    fn gateway_diagnostics(&self) -> Vec<config_store::Diagnostic> {
        self.0.diagnostics().as_ref().clone()
    }
    fn applied_revision(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.0.applied_revision())
    }
    fn route_table(&self) -> Option<Value> {
        serde_json::to_value(self.0.table().describe()).ok()
    }
}

/// A console over a temp config dir.
pub struct Harness {
    pub dir: TempDir,
    pub store: Arc<dyn ConfigStore>,
    pub gateway: Arc<Gateway>,
    pub router: Router,
    pub auth: Auth,
    pub ip: SocketAddr,
}

impl Harness {
    /// A console on an empty config dir, not initialised.
    pub async fn fresh() -> Self {
        Self::with_options(ConsoleOptions::default(), |_| {}).await
    }

    /// A console with an admin (`admin` / [`PASSWORD`]), logged in with a session cookie.
    pub async fn logged_in() -> Self {
        let mut h = Self::fresh().await;
        h.init_and_login().await;
        h
    }

    /// A console whose dir `prepare` fills first.
    pub async fn with_options(
        options: ConsoleOptions,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path());
        let store = DirStore::open(
            dir.path(),
            WatchOptions {
                mode: WatchMode::Events,
                poll_interval: std::time::Duration::from_secs(1),
                ..WatchOptions::default()
            },
        )
        .unwrap();
        let store: Arc<dyn ConfigStore> = Arc::new(store);
        let gateway = Arc::new(Gateway::new(
            CompileOptions::default(),
            Discovery::new(std::time::Duration::from_secs(60)),
        ));
        gateway.start_following(store.subscribe()).await;
        let state = ConsoleState {
            store: store.clone(),
            status: Arc::new(GatewayStatus(gateway.clone())),
            options,
        };
        let router = console_api::start(state).await;
        Self {
            dir,
            store,
            gateway,
            router,
            auth: Auth::None,
            ip: "127.0.0.1:40000".parse().unwrap(),
        }
    }

    /// The first-run flow as the UI does it; keeps the session cookie.
    pub async fn init_and_login(&mut self) {
        let r = self
            .call(
                Method::POST,
                "/system/init",
                Some(serde_json::json!({"adminUser": {"name": "admin", "displayName": "admin", "password": PASSWORD}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        self.login(PASSWORD).await;
    }

    /// Logs in as `admin`, keeping the cookie.
    pub async fn login(&mut self, password: &str) -> Reply {
        let r = self
            .call(
                Method::POST,
                "/session/login",
                Some(serde_json::json!({"username": "admin", "password": password})),
            )
            .await;
        if r.status == StatusCode::CREATED {
            let c = r.cookie().unwrap();
            let pair = c.split(';').next().unwrap().to_string();
            self.auth = Auth::Cookie(pair);
        }
        r
    }

    /// Calls the API with the harness's auth.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.auth, method, path, body.map(|b| b.to_string()))
            .await
    }

    /// Calls the API with `auth` and a raw body.
    pub async fn call_as(
        &self,
        auth: &Auth,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        match auth {
            Auth::None => {}
            Auth::Cookie(c) => req = req.header(header::COOKIE, c),
            Auth::Basic(u, p) => {
                let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                req = req.header(header::AUTHORIZATION, format!("Basic {b}"));
            }
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let mut req = req.body(Body::from(body.unwrap_or_default())).unwrap();
        req.extensions_mut().insert(ConnectInfo(self.ip));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// GET that must be 200; returns `data`.
    pub async fn data(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text);
        let v = r.json();
        assert_eq!(v["success"], true, "{v}");
        v["data"].clone()
    }

    /// A file under the config dir.
    pub fn file(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(rel)).ok()
    }

    /// Writes a file under the config dir and reloads the store (as the watcher would).
    pub async fn write_file(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self.store.reload().await;
    }

    /// Every file under the config dir, with its content (to check nothing changed).
    pub fn tree(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for kind in std::fs::read_dir(self.dir.path()).unwrap() {
            let kind = kind.unwrap().path();
            if !kind.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&kind).unwrap() {
                let f = f.unwrap().path();
                out.push((
                    f.strip_prefix(self.dir.path())
                        .unwrap()
                        .display()
                        .to_string(),
                    std::fs::read_to_string(&f).unwrap_or_default(),
                ));
            }
        }
        out.sort();
        out
    }

    /// What the live route table serves for `host` + `path`: the route's name, if any.
    pub fn routed(&self, host: &str, path: &str) -> Option<String> {
        self.gateway
            .table()
            .find(host, path)
            .map(|r| r.ingress.clone())
    }
}
