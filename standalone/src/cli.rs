//! Command line: `serve`, `validate`, `routes`, `migrate`, `init`, `echo`, `demo`. These names are stable;
//! users' scripts call them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use config_store::WatchMode;

/// Gantry: one small binary that serves Higress configuration.
#[derive(Debug, Parser)]
#[command(name = "gantry", version, about)]
pub struct Cli {
    /// Log format (level filter from RUST_LOG, default info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway on a config directory, applying every change live.
    Serve(Box<ServeArgs>),
    /// Check a config directory; print every problem; exit 1 if any is an error.
    Validate(ConfigArgs),
    /// Print the route table compiled from a config directory.
    Routes(RoutesArgs),
    /// Copy every resource from one store to another (directory or Nacos namespace).
    Migrate(crate::migrate::MigrateArgs),
    /// Seed a store (directory or Nacos namespace) with what Higress standalone creates at
    /// first start (`higress-config`, the `default` McpBridge, `higress-console`); never
    /// overwrites.
    Init(crate::init::InitArgs),
    /// Run an httpbin-like echo backend (method, path, args, headers, body as JSON).
    Echo(EchoArgs),
    /// Run the gateway on the bundled local sample with an echo backend, no internet needed.
    Demo(DemoArgs),
}

/// Where the configuration is.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config location: `file:///abs/dir`, `file://~/dir`, `./dir`, `/abs/dir`, or a Nacos
    /// namespace `nacos://host:port[/namespace]`.
    #[arg(long, short = 'c', env = "GANTRY_CONFIG")]
    pub config: String,
    #[command(flatten)]
    pub nacos: crate::nacos_args::NacosArgs,
    /// Serve Ingresses of this class (and those without one); empty serves every class.
    #[arg(long, default_value = "higress")]
    pub ingress_class: String,
    /// Largest config file read (`4MiB`, `512k`, or bytes); a larger one is an error and
    /// keeps its last good version.
    #[arg(long, env = "GANTRY_MAX_FILE_SIZE", default_value = "4MiB", value_parser = config_store::limits::parse_size)]
    pub max_file_size: u64,
}

/// `gantry serve`. A flag given twice takes its last value.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub listen: ListenArgs,
    /// How config changes are detected: `auto` (events plus polling, for Docker mounts from
    /// Windows), `events`, or `poll`.
    #[arg(long, default_value = "auto", value_parser = parse_watch_mode)]
    pub watch: WatchMode,
    /// Poll period for `--watch poll|auto`: `1s`, `500ms`, or seconds.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// DNS server (`ip:port`) for `.dns` registries instead of the system configuration,
    /// e.g. a local resolver on an air-gapped host.
    #[arg(long, env = "GANTRY_DNS_SERVER")]
    pub dns_server: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub process: ProcessArgs,
    #[command(flatten)]
    pub observe: ObserveArgs,
}

/// Metrics, health and access-log flags of `gantry serve`.
#[derive(Debug, Clone, Args)]
pub struct ObserveArgs {
    /// Prometheus metrics port (`/stats/prometheus`, `/metrics`) on `--bind`; 0 = off.
    #[arg(long, env = "GANTRY_METRICS_PORT", default_value_t = 15020)]
    pub metrics_port: u16,
    /// Health port (`/healthz`, `/readyz`, `/healthz/ready`) on `--bind`; 0 = off.
    #[arg(long, env = "GANTRY_HEALTH_PORT", default_value_t = 15021)]
    pub health_port: u16,
    /// Access log: a file path, `stdout`, or `off`. Default: `higress-config`'s
    /// `mesh.accessLogFile` (read at start), else stdout.
    #[arg(long, env = "GANTRY_ACCESS_LOG")]
    pub access_log: Option<String>,
    /// Access-log lines buffered for the writer; beyond that lines are dropped (and
    /// counted in `gantry_access_log_dropped_total`), never waited for.
    #[arg(long, default_value_t = gateway::observe::access_log::DEFAULT_CAPACITY)]
    pub access_log_buffer: usize,
}

// === impl ObserveArgs ===

impl ObserveArgs {
    /// Everything off (the demo).
    pub fn off() -> Self {
        Self {
            metrics_port: 0,
            health_port: 0,
            access_log: Some("off".into()),
            access_log_buffer: gateway::observe::access_log::DEFAULT_CAPACITY,
        }
    }
}

/// How the `gantry serve` process admits connections, stops and keeps its state.
#[derive(Debug, Clone, Args)]
pub struct ProcessArgs {
    /// Most open client connections, both ports together (idle keep-alive ones are closed
    /// first to admit new ones); 0 = no limit. Default: 90 % of the open-file limit left
    /// after a reserve (see docs/operations.md).
    #[arg(long, env = "GANTRY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// On SIGTERM/SIGINT, how long requests in flight may take to finish before exit.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Gantry's own state (upgrade socket, last good config): a directory only this user
    /// can write. Default: /var/lib/gantry as root, else $XDG_DATA_HOME/gantry or
    /// ~/.local/share/gantry.
    #[arg(long, env = "GANTRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Take the listening sockets over from the running gantry (same --data-dir), which is
    /// then sent SIGQUIT: a restart without a refused connection.
    #[arg(long)]
    pub upgrade: bool,
}

/// Listener flags; 0 turns a listener off.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// HTTP listener port (0 = off).
    #[arg(long, default_value_t = 80)]
    pub http_port: u16,
    /// HTTPS listener port (0 = off); certificates by SNI from Secrets.
    #[arg(long, default_value_t = 443)]
    pub https_port: u16,
    /// Admin API port (0 = off).
    #[arg(long, default_value_t = 8080)]
    pub console_port: u16,
    /// Address the HTTP and HTTPS listeners bind.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: String,
    /// Address the admin API binds. Local only by default.
    #[arg(long, default_value = "127.0.0.1")]
    pub console_bind: String,
    /// Console (admin API) password of user `admin`, set at start when no admin exists, so
    /// no init form is needed. Stored as an argon2 hash.
    #[arg(long, env = "GANTRY_CONSOLE_PASSWORD", hide_env_values = true)]
    pub console_password: Option<String>,
    /// A built Higress Console frontend to serve at the console port's root.
    #[arg(long, value_name = "DIR")]
    pub console_ui_dir: Option<std::path::PathBuf>,
}

// === impl ListenArgs ===

impl ListenArgs {
    /// The admin API's options from these flags.
    pub fn console_options(&self) -> console_api::ConsoleOptions {
        console_api::ConsoleOptions {
            admin_password: self.console_password.clone(),
            ui_dir: self.console_ui_dir.clone(),
        }
    }
}

/// `gantry routes`.
#[derive(Debug, Args)]
pub struct RoutesArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `gantry echo`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Port to listen on.
    #[arg(long, short = 'p', default_value_t = 8081)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Name reported in the `x-echo-name` header and the JSON body.
    #[arg(long, default_value = "echo")]
    pub name: String,
}

/// `gantry demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// HTTP port of the gateway.
    #[arg(long, default_value_t = 8000)]
    pub http_port: u16,
    /// Admin API port (0 = off).
    #[arg(long, default_value_t = 8001)]
    pub console_port: u16,
    /// Config directory (default: ./conf-samples/local, else a copy of the bundled sample).
    #[arg(long, short = 'c')]
    pub config: Option<String>,
}

// === impl Cli ===

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Serve(args) => crate::serve::run(*args).map(|_| ExitCode::SUCCESS),
            Command::Validate(args) => crate::validate::run(&args),
            Command::Routes(args) => crate::routes::run(&args).map(|_| ExitCode::SUCCESS),
            Command::Migrate(args) => crate::migrate::run(&args),
            Command::Init(args) => crate::init::run(&args),
            Command::Echo(args) => crate::echo::run(&args).map(|_| ExitCode::SUCCESS),
            Command::Demo(args) => crate::demo::run(args).map(|_| ExitCode::SUCCESS),
        }
    }
}

// === impl ConfigArgs ===

impl ConfigArgs {
    /// The store `--config` names, with the `--nacos-*` flags applied.
    pub fn location(&self) -> anyhow::Result<crate::config_url::ConfigLocation> {
        crate::config_url::resolve_with(&self.config, &self.nacos)
    }

    /// The class filter for the compiler.
    pub fn class_filter(&self) -> Option<String> {
        (!self.ingress_class.is_empty()).then(|| self.ingress_class.clone())
    }
}

fn parse_watch_mode(s: &str) -> Result<WatchMode, String> {
    s.parse()
}

/// Parses `1s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 1s or 500ms)"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration unit in {s:?} (use ms, s or m)")),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("duration {s:?} must be greater than zero"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn repeated_serve_flags_take_the_last_value() {
        let cli = Cli::try_parse_from([
            "gantry",
            "serve",
            "-c",
            "/x",
            "--console-port",
            "0",
            "--console-port",
            "9",
        ])
        .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.listen.console_port, 9);
        assert_eq!(args.listen.console_bind, "127.0.0.1");
        assert_eq!(args.process.drain_timeout, Duration::from_secs(30));
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
