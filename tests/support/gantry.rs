//! The `gantry` process under test: find the binary, start `gantry serve` on a
//! config dir with a free port, wait until it answers, keep its logs, and kill
//! it on drop. Also runs one-shot commands (`gantry validate`, `gantry routes`).
//!
//! The binary is `$GANTRY_BIN` if set, else `gantry` in the cargo profile dir of
//! the running test or bench executable (`target/<profile>/gantry`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::net::TcpStream;

use crate::client::Client;
use crate::config::ConfigDir;
use crate::eventually::DEADLINE;
use crate::ports::free_port;

/// How many times [`GantryBuilder::start`] tries fresh ports when the one it
/// picked was taken by another process in the meantime.
const BIND_ATTEMPTS: usize = 5;

/// How long a one-shot command (`validate`, `routes`) may run.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// The `Host` of the readiness probe; no route should match it.
const PROBE_HOST: &str = "readiness-probe.gantry.invalid";

/// Where the `gantry` binary is; panics with instructions when it is missing.
pub fn gantry_bin() -> PathBuf {
    let path = match std::env::var_os("GANTRY_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            let mut dir = exe.parent().expect("exe has a parent").to_path_buf();
            if dir.file_name().is_some_and(|n| n == "deps") {
                dir.pop();
            }
            dir.join(format!("gantry{}", std::env::consts::EXE_SUFFIX))
        }
    };
    assert!(
        path.is_file(),
        "gantry binary not found at {}: run `cargo build -p gantry` first \
         (with the same --release flag and CARGO_TARGET_DIR as the tests), or set GANTRY_BIN",
        path.display()
    );
    path
}

/// How `gantry serve` watches its config dir (`--watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// `--watch auto`.
    Auto,
    /// `--watch events`: file-system notifications.
    Events,
    /// `--watch poll --poll-interval <d>`.
    Poll(Duration),
}

/// Options for `gantry serve`. Defaults: `--watch events`, admin API off, no `--ingress-class`,
/// text logs, `RUST_LOG=info` unless the environment sets it.
#[derive(Debug, Clone)]
pub struct GantryBuilder {
    watch: Watch,
    ingress_class: Option<String>,
    console: bool,
    config_arg: Option<String>,
    https: bool,
    metrics: bool,
    health: bool,
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

/// A running `gantry serve` process, killed on drop. When dropped during a
/// panic it prints its stderr, so failing tests show the gateway's logs.
pub struct Gantry {
    child: Child,
    http_port: u16,
    https_port: Option<u16>,
    console_port: Option<u16>,
    metrics_port: Option<u16>,
    health_port: Option<u16>,
    config: ConfigDir,
    logs: TempDir,
    client: Client,
}

/// What a one-shot `gantry` command printed and how it exited.
#[derive(Debug)]
pub struct CliOutput {
    /// The exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

// === impl GantryBuilder ===

impl GantryBuilder {
    /// Sets `--watch` (and `--poll-interval` for [`Watch::Poll`]).
    pub fn watch(mut self, watch: Watch) -> Self {
        self.watch = watch;
        self
    }

    /// Sets `--ingress-class`.
    pub fn ingress_class(mut self, class: &str) -> Self {
        self.ingress_class = Some(class.to_owned());
        self
    }

    /// Turns the admin API on, on a free port (default: off, `--console-port 0`).
    pub fn console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }

    /// Passes `value` as `--config` instead of the config dir's plain path
    /// (e.g. a `file://` URL for the same directory).
    pub fn config_arg(mut self, value: &str) -> Self {
        self.config_arg = Some(value.to_owned());
        self
    }

    /// Turns the HTTPS listener on, on a free port (default: off, `--https-port 0`).
    pub fn https(mut self, on: bool) -> Self {
        self.https = on;
        self
    }

    /// Turns the metrics port on, on a free port (default: off, `--metrics-port 0`).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Turns the health port on, on a free port (default: off, `--health-port 0`).
    pub fn health(mut self, on: bool) -> Self {
        self.health = on;
        self
    }

    /// Appends a raw argument to `gantry serve`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Sets an environment variable of the process (e.g. `GANTRY_DATA_DIR`, to share a data dir across restarts).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts `gantry serve` on `config` and waits (up to [`DEADLINE`]) until it
    /// answers HTTP on its port. Panics, with the gateway's logs, if it exits or
    /// never answers.
    pub async fn start(self, config: ConfigDir) -> Gantry {
        let mut config = config;
        for attempt in 1..=BIND_ATTEMPTS {
            let mut gantry = self.spawn(config, free_port());
            match gantry.wait_ready(DEADLINE).await {
                Ok(()) => return gantry,
                Err(e) if attempt < BIND_ATTEMPTS && gantry.lost_port_race() => {
                    eprintln!(
                        "gantry could not bind port {} ({e}); retrying",
                        gantry.http_port
                    );
                    config = gantry.into_config();
                }
                Err(e) => {
                    let log = gantry.log();
                    drop(gantry);
                    panic!("gantry did not become ready: {e}\n--- gantry stderr ---\n{log}");
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Spawns `gantry serve` on `config` with `--http-port <http_port>` (and a
    /// free `--https-port` when [`Self::https`] is on) and returns at once,
    /// without waiting for readiness.
    pub fn spawn(&self, config: ConfigDir, http_port: u16) -> Gantry {
        let logs = tempfile::Builder::new()
            .prefix("gantry-logs-")
            .tempdir()
            .expect("create log dir");
        let stdout = File::create(logs.path().join("stdout.log")).expect("create stdout log");
        let stderr = File::create(logs.path().join("stderr.log")).expect("create stderr log");
        let config_arg = self
            .config_arg
            .clone()
            .unwrap_or_else(|| config.path().display().to_string());
        let mut cmd = Command::new(gantry_bin());
        cmd.arg("serve")
            .args(["--config", &config_arg])
            .args(["--http-port", &http_port.to_string()])
            .args(["--bind", "127.0.0.1"]);
        let https_port = self.https.then(free_port);
        cmd.args(["--https-port", &https_port.unwrap_or(0).to_string()]);
        let console_port = if self.console { free_port() } else { 0 };
        cmd.args(["--console-port", &console_port.to_string()]);
        let metrics_port = if self.metrics { free_port() } else { 0 };
        cmd.args(["--metrics-port", &metrics_port.to_string()]);
        let health_port = if self.health { free_port() } else { 0 };
        cmd.args(["--health-port", &health_port.to_string()]);
        // The access log (on by default, to stdout) goes to stdout.log like any output.
        match self.watch {
            Watch::Auto => {
                cmd.args(["--watch", "auto"]);
            }
            Watch::Events => {
                cmd.args(["--watch", "events"]);
            }
            Watch::Poll(every) => {
                cmd.args([
                    "--watch",
                    "poll",
                    "--poll-interval",
                    &format!("{}ms", every.as_millis()),
                ]);
            }
        }
        if let Some(class) = &self.ingress_class {
            cmd.args(["--ingress-class", class]);
        }
        cmd.args(&self.args);
        cmd.env("GANTRY_DATA_DIR", logs.path().join("data"));
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
        Gantry {
            child,
            http_port,
            https_port,
            console_port: self.console.then_some(console_port),
            metrics_port: self.metrics.then_some(metrics_port),
            health_port: self.health.then_some(health_port),
            config,
            logs,
            client: Client::new(http_port),
        }
    }
}

impl Default for GantryBuilder {
    fn default() -> Self {
        Self {
            watch: Watch::Events,
            ingress_class: None,
            console: false,
            config_arg: None,
            https: false,
            metrics: false,
            health: false,
            args: Vec::new(),
            envs: Vec::new(),
        }
    }
}

// === impl Gantry ===

impl Gantry {
    /// Options for a new gateway process.
    pub fn builder() -> GantryBuilder {
        GantryBuilder::default()
    }

    /// Starts `gantry serve --watch events` on `config`; see [`GantryBuilder::start`].
    pub async fn start(config: ConfigDir) -> Self {
        Self::builder().start(config).await
    }

    /// The HTTP port the gateway listens on (`127.0.0.1`).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The HTTPS port the gateway listens on (`127.0.0.1`); panics unless the
    /// builder turned HTTPS on.
    pub fn https_port(&self) -> u16 {
        self.https_port
            .expect("HTTPS is off: start the gateway with Gantry::builder().https(true)")
    }

    /// The admin API port (`127.0.0.1`); panics unless the builder turned it on.
    pub fn console_port(&self) -> u16 {
        self.console_port
            .expect("the admin API is off: start the gateway with Gantry::builder().console(true)")
    }

    /// The metrics port (`127.0.0.1`); panics unless the builder turned it on.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
            .expect("metrics are off: start the gateway with Gantry::builder().metrics(true)")
    }

    /// The health port (`127.0.0.1`); panics unless the builder turned it on.
    pub fn health_port(&self) -> u16 {
        self.health_port
            .expect("the health port is off: start the gateway with Gantry::builder().health(true)")
    }

    /// Everything the gateway wrote to stdout so far (the access log by default).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stdout.log")).unwrap_or_default()
    }

    /// A client aimed at the gateway's HTTP port.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The config dir the gateway serves; edit it to change the config live.
    pub fn config(&self) -> &ConfigDir {
        &self.config
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the gateway wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr.log")).unwrap_or_default()
    }

    /// Whether the process has exited (and how).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the gateway accepts a TCP connection on its port and answers
    /// an HTTP request (any status), and accepts TCP on its HTTPS port if that is
    /// on, within `deadline`.
    pub async fn wait_ready(&mut self, deadline: Duration) -> Result<(), String> {
        let start = Instant::now();
        let probe = Client::new(self.http_port);
        let mut last = String::from("no attempt yet");
        while start.elapsed() < deadline {
            if let Some(status) = self.exit_status() {
                return Err(format!("gantry exited early with {status}"));
            }
            match TcpStream::connect(("127.0.0.1", self.http_port)).await {
                Ok(_) => match probe.get(PROBE_HOST, "/").await {
                    // An echo backend that grabbed the port is not the gateway.
                    Ok(reply) if reply.echo_name().is_some() => {
                        last = format!("port {} answered by an echo backend", self.http_port);
                    }
                    Ok(_) => match self.https_port {
                        None => return Ok(()),
                        Some(port) => match TcpStream::connect(("127.0.0.1", port)).await {
                            Ok(_) => return Ok(()),
                            Err(e) => last = format!("connect 127.0.0.1:{port} (HTTPS): {e}"),
                        },
                    },
                    Err(e) => last = e,
                },
                Err(e) => last = format!("connect 127.0.0.1:{}: {e}", self.http_port),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(format!(
            "no HTTP answer after {deadline:?}; last error: {last}"
        ))
    }

    /// Kills the process and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process exited because its port was taken.
    fn lost_port_race(&mut self) -> bool {
        if self.exit_status().is_none() {
            return false;
        }
        let log = self.log().to_ascii_lowercase();
        log.contains("already in use") || log.contains("addrinuse") || log.contains("os error 98")
    }

    /// Kills the process and hands back its config dir.
    /// Kills the process and hands its config dir back, for a restart on the same files.
    pub fn stop(self) -> ConfigDir {
        self.into_config()
    }

    fn into_config(mut self) -> ConfigDir {
        self.kill();
        let empty = ConfigDir::new();
        std::mem::replace(&mut self.config, empty)
    }
}

impl Drop for Gantry {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- gantry (port {}) stderr ---\n{}--- end of gantry stderr ---",
                self.http_port,
                self.log()
            );
        }
    }
}

// === impl CliOutput ===

impl CliOutput {
    /// Standard output followed by standard error.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The exit code, if the process exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The lines of [`Self::combined`] that start with `error:`.
    pub fn errors(&self) -> Vec<String> {
        self.combined()
            .lines()
            .filter(|l| l.trim_start().starts_with("error:"))
            .map(str::to_owned)
            .collect()
    }
}

/// Runs `gantry <args>` to completion (at most 60 s) and returns its output.
pub fn run_cli(args: &[&str]) -> CliOutput {
    let dir = tempfile::tempdir().expect("temp dir for CLI output");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(gantry_bin())
        .args(args)
        // Fixed default ports would clash between tests running at once.
        .env("GANTRY_METRICS_PORT", "0")
        .env("GANTRY_HEALTH_PORT", "0")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn gantry {args:?}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > CLI_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gantry {args:?} still running after {CLI_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    CliOutput {
        status,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// Runs `gantry validate --config <dir>`.
pub fn validate(dir: &Path) -> CliOutput {
    run_cli(&["validate", "--config", &dir.display().to_string()])
}

/// Runs `gantry routes --config <dir>` (with `--json` if `json`).
pub fn routes(dir: &Path, json: bool) -> CliOutput {
    let dir = dir.display().to_string();
    let mut args = vec!["routes", "--config", dir.as_str()];
    if json {
        args.push("--json");
    }
    run_cli(&args)
}
