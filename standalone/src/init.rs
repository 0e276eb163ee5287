//! `gantry init --config URL`: seeds what Higress standalone seeds at its first start, in
//! a directory or a Nacos namespace, never overwriting: ConfigMap `higress-config` with
//! Higress's defaults, the `default` McpBridge, ConfigMap and Secret `higress-console`.
//! Running it again changes nothing.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use clap::Args;
use config_store::{ConfigStore, Precondition, ResourceKind, StoreError};

use crate::config_url;
use crate::nacos_args::NacosArgs;

/// `gantry init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The store to seed: a directory (created if missing) or `nacos://host:port[/namespace]`.
    #[arg(long, short = 'c', env = "GANTRY_CONFIG")]
    pub config: String,
    /// The console port the `higress-console` registry of the `default` McpBridge points at.
    #[arg(long, default_value_t = 8080)]
    pub console_port: u16,
    #[command(flatten)]
    pub nacos: NacosArgs,
}

/// `higress-config` as Higress standalone seeds it (`compose/scripts/prepare.sh`), with the
/// access log on stdout as in the all-in-one image (Gantry reads `mesh.accessLogFile`).
const HIGRESS_CONFIG: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  labels:
    app: higress-gateway
    higress: higress-system-higress-gateway
  name: higress-config
  namespace: higress-system
data:
  higress: |-
    mcpServer:
      enable: false
      sse_path_suffix: /sse
      redis:
        address: redis-address:6379
        username: ""
        password: ""
        db: 0
      match_list: []
      servers: []
    downstream:
      connectionBufferLimits: 32768
      http2:
        initialConnectionWindowSize: 1048576
        initialStreamWindowSize: 65535
        maxConcurrentStreams: 100
      idleTimeout: 180
      maxRequestHeadersKb: 60
      routeTimeout: 0
    upstream:
      connectionBufferLimits: 10485760
      idleTimeout: 10
  mesh: |-
    accessLogEncoding: TEXT
    accessLogFile: /dev/stdout
    dnsRefreshRate: 200s
    enableAutoMtls: false
    enablePrometheusMerge: true
    ingressControllerMode: "OFF"
    protocolDetectionTimeout: 100ms
    rootNamespace: higress-system
    trustDomain: cluster.local
  meshNetworks: 'networks: {}'
"#;

const HIGRESS_CONSOLE_CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: higress-console
  namespace: higress-system
data:
  mode: standalone
";

/// One resource to seed.
struct Seed {
    kind: ResourceKind,
    name: &'static str,
    yaml: String,
}

/// Seeds the store; exit 1 when a write failed.
pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let location = config_url::resolve_with(&args.config, &args.nacos)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    let seeds = seeds(args.console_port)?;
    let failed = runtime.block_on(async {
        let store = crate::migrate::open(&location, true).await?;
        anyhow::Ok(seed(store.as_ref(), &seeds).await)
    })?;
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn seeds(console_port: u16) -> anyhow::Result<Vec<Seed>> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: higress-console\n  namespace: higress-system\n\
         type: Opaque\ndata:\n  iv: {}\n  key: {}\n",
        b64(&random_graph(16)?),
        b64(&random_graph(32)?)
    );
    let bridge = format!(
        "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata:\n  name: default\n  namespace: higress-system\n\
         spec:\n  registries:\n  - domain: 127.0.0.1:{console_port}\n    name: higress-console\n    port: 80\n    type: static\n"
    );
    Ok(vec![
        Seed {
            kind: ResourceKind::ConfigMap,
            name: "higress-config",
            yaml: HIGRESS_CONFIG.to_string(),
        },
        Seed {
            kind: ResourceKind::McpBridge,
            name: "default",
            yaml: bridge,
        },
        Seed {
            kind: ResourceKind::ConfigMap,
            name: "higress-console",
            yaml: HIGRESS_CONSOLE_CONFIGMAP.to_string(),
        },
        Seed {
            kind: ResourceKind::Secret,
            name: "higress-console",
            yaml: secret,
        },
    ])
}

/// Writes each seed that is absent; returns how many writes failed.
async fn seed(store: &dyn ConfigStore, seeds: &[Seed]) -> usize {
    let mut failed = 0;
    for s in seeds {
        let (kind, name) = (s.kind, s.name);
        match store.get(kind, name).await {
            Ok(existing) => println!("kept      {kind} {name} ({} exists)", existing.source),
            Err(StoreError::NotFound { .. }) => {
                match store.put(kind, name, &s.yaml, Precondition::Absent).await {
                    Ok(_) => println!("created   {kind} {name}"),
                    // Written by someone else in the meantime: theirs is kept.
                    Err(StoreError::Conflict { .. }) => println!("kept      {kind} {name}"),
                    Err(e) => {
                        failed += 1;
                        println!("failed    {kind} {name}: {e}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("failed    {kind} {name}: {e}");
            }
        }
    }
    println!(
        "{} store: {}",
        store.describe(),
        if failed == 0 {
            "initialized"
        } else {
            "not fully initialized"
        }
    );
    failed
}

/// `n` random printable ASCII characters other than space (`[:graph:]`), from the OS.
fn random_graph(n: usize) -> anyhow::Result<String> {
    let mut bytes = vec![0u8; n * 2];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    // 94 graph characters; bytes ≥ 188 are skipped so each is equally likely.
    let out: String = bytes
        .iter()
        .filter(|b| **b < 188)
        .map(|b| char::from(b'!' + b % 94))
        .take(n)
        .collect();
    if out.len() < n {
        return random_graph(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_are_graph_characters() {
        let k = random_graph(32).expect("urandom");
        assert_eq!(k.len(), 32);
        assert!(k.chars().all(|c| c.is_ascii_graphic()));
        assert_ne!(k, random_graph(32).expect("urandom"));
    }
}
