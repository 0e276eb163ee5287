//! `gantry demo`: the gateway on the bundled local sample plus an echo backend in the same
//! process, so the README's first command works offline.

use std::path::{Path, PathBuf};

use anyhow::Context;
use config_store::WatchOptions;
use gateway::server::ServerOptions;

use crate::cli::{DemoArgs, ListenArgs};
use crate::config_url::{self, ConfigLocation};
use crate::{echo, listen, serve};

/// Where `conf-samples/local` points its `httpbin` service source.
const ECHO_PORT: u16 = 18081;

/// The bundled sample, used when `./conf-samples/local` is not around.
const SAMPLE: &[(&str, &str)] = &[
    (
        "mcpbridges/default.yaml",
        include_str!("../../conf-samples/local/mcpbridges/default.yaml"),
    ),
    (
        "configmaps/domain-foo.bar.com.yaml",
        include_str!("../../conf-samples/local/configmaps/domain-foo.bar.com.yaml"),
    ),
    (
        "ingresses/route-foo-bar.yaml",
        include_str!("../../conf-samples/local/ingresses/route-foo-bar.yaml"),
    ),
];

/// Runs the demo until the process is signalled.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let root = match &args.config {
        Some(c) => config_url::resolve(c)?,
        None => ConfigLocation::Dir(sample_dir()?),
    };
    let listen = ListenArgs {
        http_port: args.http_port,
        https_port: 0,
        console_port: args.console_port,
        bind: "127.0.0.1".into(),
        console_bind: "127.0.0.1".into(),
        console_password: None,
        console_ui_dir: None,
    };
    serve::preflight(&listen, &crate::cli::ObserveArgs::off())?;
    listen::check("127.0.0.1", ECHO_PORT, "(the demo's echo backend port)")?;
    let control = serve::start_control_plane(
        &serve::ControlPlaneOptions {
            location: &root,
            watch: WatchOptions::default(),
            ingress_class: Some("higress".into()),
            dns_server: None,
            data_dir: None,
            observe: &crate::cli::ObserveArgs::off(),
        },
        &listen,
    )?;
    let echo_listener = control
        .runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", ECHO_PORT)))
        .with_context(|| format!("cannot listen on 127.0.0.1:{ECHO_PORT} for the echo backend"))?;
    control.runtime.spawn(async move {
        if let Err(e) = echo::serve(echo_listener, "demo-echo".into()).await {
            tracing::error!("{e:#}");
        }
    });
    let port = args.http_port;
    println!("Gantry demo: config in {root} (edit it; changes apply live)");
    println!("Try:");
    println!("  curl 'http://localhost:{port}/get?foo=bar' -H 'Host: foo.bar.com'");
    println!("  curl -i http://localhost:{port}/ -H 'Host: unknown.example'      # 404: no route");
    if args.console_port != 0 {
        println!(
            "  curl http://localhost:{}/gantry/status",
            args.console_port
        );
    }
    serve::run_proxy(&listen, &control, ServerOptions::default())
}

/// `./conf-samples/local` when run from a checkout, else a fresh copy of the bundled sample.
fn sample_dir() -> anyhow::Result<PathBuf> {
    let local = Path::new("conf-samples/local");
    if local.join("ingresses").is_dir() {
        return Ok(local.to_path_buf());
    }
    let dir = std::env::temp_dir().join("gantry-demo");
    for (rel, text) in SAMPLE {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        if !path.exists() {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(dir)
}
