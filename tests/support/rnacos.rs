//! A real Nacos-protocol server for tests: `rnacos` 0.8.8 on loopback ports from the port
//! registry (gRPC = HTTP port + 1000, as the SDK expects), a temp data dir, killed on drop.
//!
//! The binary is `$RNACOS_BIN`, else `~/.cache/gantry/rnacos/bin/rnacos` (tests/run.sh
//! installs it there). rnacos 0.8.8 can panic on its first start with a fresh data dir when
//! the CPU is busy: a start counts only once a config round-trips and its log has no
//! `panicked`; otherwise it is started again with a new data dir.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::config::{mcpbridge, Registry};
use crate::echo::EchoServer;
use crate::ports::free_port;

/// How long one start may take to answer.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Starts tried before giving up.
const START_ATTEMPTS: usize = 8;
/// Higress standalone's namespace, and the group of every resource.
pub const NS: &str = "higress-system";
/// The admin user rnacos creates on its first start.
pub const ADMIN: (&str, &str) = ("admin", "gantry-s3cret");

/// The query naming one config.
fn config_key(namespace: &str, group: &str, data_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("dataId", data_id.to_string()),
        ("group", group.to_string()),
        ("tenant", namespace.to_string()),
    ]
}

/// A service instance as the naming API registers it.
#[derive(Debug, Clone, Copy)]
pub struct Instance {
    /// Address.
    pub addr: std::net::SocketAddr,
    /// Nacos weight (default 1.0).
    pub weight: f64,
    /// Whether it takes traffic.
    pub enabled: bool,
}

impl Instance {
    /// An enabled instance of `weight` at `addr`.
    pub fn new(addr: std::net::SocketAddr, weight: f64) -> Self {
        Self {
            addr,
            weight,
            enabled: true,
        }
    }
}

/// A running rnacos, killed on drop (its data dir is removed then).
pub struct Rnacos {
    child: Option<Child>,
    http_port: u16,
    console_port: u16,
    auth: bool,
    dir: TempDir,
    http: reqwest::Client,
}

/// Where the rnacos binary is; panics with instructions when it is missing.
pub fn rnacos_bin() -> PathBuf {
    let path = match std::env::var_os("RNACOS_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/gantry/rnacos/bin/rnacos")
        }
    };
    assert!(
        path.is_file(),
        "rnacos not found at {}: run `cargo install rnacos --version 0.8.8 --root ~/.cache/gantry/rnacos` \
         (tests/run.sh does) or set RNACOS_BIN",
        path.display()
    );
    path
}

/// How long a request to rnacos is retried: it sometimes stalls for a few seconds right
/// after a gRPC client disconnects.
const REQUEST_DEADLINE: Duration = Duration::from_secs(20);

/// Sends the request `make` builds until one gets an HTTP answer, for [`REQUEST_DEADLINE`].
async fn send(make: impl Fn() -> reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
    let start = Instant::now();
    loop {
        match make().send().await {
            Ok(resp) => return Ok(resp),
            Err(e) if start.elapsed() < REQUEST_DEADLINE => {
                eprintln!("rnacos request failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("{e} (retried for {REQUEST_DEADLINE:?})")),
        }
    }
}

/// An HTTP port whose port + 1000 (gRPC) is free too.
fn port_pair() -> u16 {
    loop {
        let port = free_port();
        if port > 64_000 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 1000)).is_ok() {
            return port;
        }
    }
}

// === impl Rnacos ===

impl Rnacos {
    /// Starts rnacos without auth.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// Starts rnacos with open-API auth on (`RNACOS_ENABLE_OPEN_API_AUTH=true`); the user is
    /// [`ADMIN`].
    pub async fn start_with_auth() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(auth: bool) -> Self {
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("gantry-rnacos-")
                .tempdir()
                .expect("temp dir for rnacos");
            let mut nacos = Self {
                child: None,
                http_port: port_pair(),
                console_port: free_port(),
                auth,
                dir,
                http: reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .expect("HTTP client"),
            };
            match nacos.boot().await {
                Ok(()) => return nacos,
                Err(e) => {
                    last = format!("{e}\n--- rnacos log ---\n{}", nacos.log());
                    eprintln!("rnacos start {attempt} failed, retrying with a new data dir: {e}");
                }
            }
        }
        panic!("rnacos did not start after {START_ATTEMPTS} attempts: {last}");
    }

    /// Spawns the process on this instance's ports and data dir and waits until a config
    /// round-trips.
    async fn boot(&mut self) -> Result<(), String> {
        let log = File::create(self.dir.path().join("rnacos.log")).expect("rnacos log");
        let child = Command::new(rnacos_bin())
            .current_dir(self.dir.path())
            .env("RNACOS_HTTP_PORT", self.http_port.to_string())
            .env("RNACOS_GRPC_PORT", (self.http_port + 1000).to_string())
            .env("RNACOS_HTTP_CONSOLE_PORT", self.console_port.to_string())
            .env("RNACOS_SDK_HOST", "127.0.0.1")
            .env("RNACOS_CONSOLE_HOST", "127.0.0.1")
            .env("RNACOS_DATA_DIR", self.dir.path().join("data"))
            .env("RNACOS_ENABLE_OPEN_API_AUTH", self.auth.to_string())
            .env("RNACOS_INIT_ADMIN_USERNAME", ADMIN.0)
            .env("RNACOS_INIT_ADMIN_PASSWORD", ADMIN.1)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn rnacos: {e}"))?;
        self.child = Some(child);
        let start = Instant::now();
        let mut last = String::from("no attempt yet");
        while start.elapsed() < START_DEADLINE {
            if self.log().contains("panicked") {
                self.kill();
                return Err("rnacos panicked while starting".into());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("rnacos exited with {status}"));
            }
            match self.probe().await {
                Ok(()) if !self.log().contains("panicked") => return Ok(()),
                Ok(()) => {}
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.kill();
        Err(format!("no answer after {START_DEADLINE:?}: {last}"))
    }

    /// Publishes and reads back a probe config in a namespace of its own, and checks the
    /// gRPC port accepts connections.
    async fn probe(&self) -> Result<(), String> {
        let mut form = config_key("gantry-probe", "probe", "probe");
        form.push(("content", "ok".to_string()));
        let form = self.authed(form).await?;
        let resp = self
            .http
            .post(self.url("/nacos/v1/cs/configs"))
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body = resp.text().await.map_err(|e| e.to_string())?;
        if body.trim() != "true" {
            return Err(format!("probe publish answered {body:?}"));
        }
        let got = self.get_in("gantry-probe", "probe", "probe").await?;
        if got.as_deref() != Some("ok") {
            return Err(format!("probe read back {got:?}"));
        }
        std::net::TcpStream::connect(("127.0.0.1", self.http_port + 1000))
            .map(|_| ())
            .map_err(|e| format!("gRPC port: {e}"))
    }

    /// A fresh access token when auth is on.
    async fn token(&self) -> Result<Option<String>, String> {
        if !self.auth {
            return Ok(None);
        }
        let resp = self
            .http
            .post(self.url("/nacos/v1/auth/login"))
            .form(&[("username", ADMIN.0), ("password", ADMIN.1)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
        body["accessToken"]
            .as_str()
            .map(|t| Some(t.to_string()))
            .ok_or_else(|| format!("login answered {body}"))
    }

    /// `params` with an access token added when auth is on.
    async fn authed(
        &self,
        mut params: Vec<(&'static str, String)>,
    ) -> Result<Vec<(&'static str, String)>, String> {
        if let Some(t) = self.token().await? {
            params.push(("accessToken", t));
        }
        Ok(params)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// `127.0.0.1:<http port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// `nacos://127.0.0.1:<http port>`, the `--config` value.
    pub fn config_url(&self) -> String {
        format!("nacos://{}", self.addr())
    }

    /// The HTTP port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Everything rnacos logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rnacos.log")).unwrap_or_default()
    }

    /// Publishes a config through the HTTP open API, as a user in the Nacos console would.
    pub async fn publish(&self, namespace: &str, group: &str, data_id: &str, content: &str) {
        let mut form = config_key(namespace, group, data_id);
        form.push(("content", content.to_string()));
        let form = self.authed(form).await.expect("login");
        let body = send(|| self.http.post(self.url("/nacos/v1/cs/configs")).form(&form))
            .await
            .expect("publish")
            .text()
            .await
            .expect("publish answer");
        assert_eq!(body.trim(), "true", "publish {data_id}: {body}");
    }

    /// Deletes a config through the HTTP open API.
    pub async fn remove(&self, namespace: &str, group: &str, data_id: &str) {
        let query = self
            .authed(config_key(namespace, group, data_id))
            .await
            .expect("login");
        let resp = send(|| {
            self.http
                .delete(self.url("/nacos/v1/cs/configs"))
                .query(&query)
        })
        .await
        .expect("remove");
        assert!(
            resp.status().is_success(),
            "remove {data_id}: {}",
            resp.status()
        );
    }

    /// A config's content (`None`: missing).
    pub async fn get(&self, namespace: &str, group: &str, data_id: &str) -> Option<String> {
        self.get_in(namespace, group, data_id)
            .await
            .expect("get config")
    }

    async fn get_in(
        &self,
        namespace: &str,
        group: &str,
        data_id: &str,
    ) -> Result<Option<String>, String> {
        let query = self.authed(config_key(namespace, group, data_id)).await?;
        let resp = send(|| {
            self.http
                .get(self.url("/nacos/v1/cs/configs"))
                .query(&query)
        })
        .await?;
        match resp.status().as_u16() {
            200 => resp.text().await.map(Some).map_err(|e| e.to_string()),
            404 => Ok(None),
            s => Err(format!("get {data_id}: HTTP {s}")),
        }
    }

    /// Writes a resource as Higress standalone does: config `<plural>.<name>` in group
    /// `higress-system` of namespace `higress-system`, and its entry in the names index
    /// `<plural>.__names__` (`DEFAULT_GROUP`) when it is new.
    pub async fn put_resource(&self, plural: &str, name: &str, yaml: &str) {
        let data_id = format!("{plural}.{name}");
        self.publish(NS, NS, &data_id, yaml).await;
        let index_id = format!("{plural}.__names__");
        let index = self.get(NS, "DEFAULT_GROUP", &index_id).await;
        let key = format!("{NS}/{data_id}\n");
        let current = index.unwrap_or_default().replace("EMPTY", "");
        if !current.contains(&key) {
            self.publish(NS, "DEFAULT_GROUP", &index_id, &format!("{current}{key}"))
                .await;
        }
    }

    /// Deletes a resource and its names-index entry, as Higress standalone does.
    pub async fn delete_resource(&self, plural: &str, name: &str) {
        let data_id = format!("{plural}.{name}");
        self.remove(NS, NS, &data_id).await;
        let index_id = format!("{plural}.__names__");
        let current = self
            .get(NS, "DEFAULT_GROUP", &index_id)
            .await
            .unwrap_or_default();
        let mut next = current.replace(&format!("{NS}/{data_id}\n"), "");
        if next.is_empty() {
            next = "EMPTY".into();
        }
        self.publish(NS, "DEFAULT_GROUP", &index_id, &next).await;
    }

    /// Starts echo backends `one` and `two` and writes McpBridge `default` with them as the
    /// static registries `one.static` and `two.static`.
    pub async fn put_two_backends(&self) -> (EchoServer, EchoServer) {
        let one = EchoServer::start("one");
        let two = EchoServer::start("two");
        let registries = [
            Registry::fixed("one", one.addr()),
            Registry::fixed("two", two.addr()),
        ];
        self.put_resource("mcpbridges", "default", &mcpbridge(&registries))
            .await;
        (one, two)
    }

    /// Registers (or updates) a persistent instance of `service` in the public namespace
    /// through the naming HTTP API, as a service registering itself would.
    pub async fn register_instance(&self, service: &str, group: &str, instance: &Instance) {
        self.instance_call(reqwest::Method::POST, service, group, instance)
            .await;
    }

    /// Removes an instance registered with [`Self::register_instance`].
    pub async fn deregister_instance(&self, service: &str, group: &str, instance: &Instance) {
        self.instance_call(reqwest::Method::DELETE, service, group, instance)
            .await;
    }

    async fn instance_call(
        &self,
        method: reqwest::Method,
        service: &str,
        group: &str,
        instance: &Instance,
    ) {
        let query = vec![
            ("serviceName", service.to_string()),
            ("groupName", group.to_string()),
            ("ip", instance.addr.ip().to_string()),
            ("port", instance.addr.port().to_string()),
            ("weight", instance.weight.to_string()),
            ("enabled", instance.enabled.to_string()),
            ("healthy", "true".to_string()),
            ("ephemeral", "false".to_string()),
        ];
        let query = self.authed(query).await.expect("login");
        let resp = send(|| {
            self.http
                .request(method.clone(), self.url("/nacos/v1/ns/instance"))
                .query(&query)
        })
        .await
        .expect("naming API");
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success() && body.trim() == "ok",
            "{method} instance {service} {}: {status} {body}",
            instance.addr
        );
    }

    /// Kills the process, keeping its data dir and ports for [`Rnacos::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same ports and data dir.
    pub async fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.boot().await {
            panic!(
                "rnacos did not restart: {e}\n--- rnacos log ---\n{}",
                self.log()
            );
        }
    }
}

impl Drop for Rnacos {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let tail: String = log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            eprintln!("--- rnacos (port {}) log tail ---\n{tail}", self.http_port);
        }
    }
}
