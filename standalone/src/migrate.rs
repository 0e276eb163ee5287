//! `gantry migrate --from <url> --to <url>`: copies every resource between two stores (a
//! directory, a Nacos namespace), through the same [`ConfigStore`] calls the admin API
//! uses, so each write is checked and versioned.
//!
//! A resource already at the destination with the same text is left alone; one that
//! differs is left too, and reported, unless `--force` replaces it. Kinds are copied in
//! load order (ConfigMaps and Secrets before the Ingresses that name them).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use config_store::{
    ConfigStore, DirStore, NacosStore, Precondition, ResourceKind, StoreError, WatchOptions,
};

use crate::config_url::{self, ConfigLocation};
use crate::nacos_args::NacosArgs;

/// `gantry migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store to copy from: a directory or `nacos://host:port[/namespace]`.
    #[arg(long)]
    pub from: String,
    /// The store to copy to (a directory is created if missing).
    #[arg(long)]
    pub to: String,
    /// Replace resources that exist at the destination with other content.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub nacos: NacosArgs,
}

/// What happened to each resource.
#[derive(Debug, Default)]
struct Tally {
    created: usize,
    replaced: usize,
    unchanged: usize,
    differing: usize,
    failed: usize,
}

/// Copies every resource; exit 1 when a resource differs (without `--force`) or fails.
pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let from = config_url::resolve_with(&args.from, &args.nacos)?;
    let to = config_url::resolve_with(&args.to, &args.nacos)?;
    if from == to {
        bail!("--from and --to are the same store ({from})");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    let tally = runtime.block_on(async {
        let source = open(&from, false).await.context("--from")?;
        let dest = open(&to, true).await.context("--to")?;
        copy(source.as_ref(), dest.as_ref(), args.force).await
    })?;
    println!(
        "{from} → {to}: {} created, {} replaced, {} unchanged, {} differ{}, {} failed",
        tally.created,
        tally.replaced,
        tally.unchanged,
        tally.differing,
        if tally.differing > 0 {
            " (not overwritten; --force replaces them)"
        } else {
            ""
        },
        tally.failed
    );
    Ok(if tally.differing > 0 || tally.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn copy(
    source: &dyn ConfigStore,
    dest: &dyn ConfigStore,
    force: bool,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    for kind in ResourceKind::ALL {
        let docs = source.list(kind).await.with_context(|| {
            format!("cannot list the {} of {}", kind.plural(), source.describe())
        })?;
        for doc in docs {
            let name = doc.name.as_str();
            let written = match dest.get(kind, name).await {
                Ok(existing) if existing.yaml == doc.yaml => {
                    println!("unchanged  {kind} {name}");
                    tally.unchanged += 1;
                    continue;
                }
                Ok(existing) if !force => {
                    println!(
                        "differs    {kind} {name}: {} has other content; not overwritten",
                        existing.source
                    );
                    tally.differing += 1;
                    continue;
                }
                Ok(existing) => dest
                    .put(
                        kind,
                        name,
                        &doc.yaml,
                        Precondition::Version(existing.version),
                    )
                    .await
                    .map(|_| ("replaced  ", &mut tally.replaced)),
                Err(StoreError::NotFound { .. }) => dest
                    .put(kind, name, &doc.yaml, Precondition::Absent)
                    .await
                    .map(|_| ("created   ", &mut tally.created)),
                Err(e) => Err(e),
            };
            match written {
                Ok((what, count)) => {
                    *count += 1;
                    println!("{what} {kind} {name} (from {})", doc.source);
                }
                Err(e) => {
                    tally.failed += 1;
                    println!("failed     {kind} {name} (from {}): {e}", doc.source);
                }
            }
        }
    }
    Ok(tally)
}

/// Opens a store for copying; a Nacos store must be reachable.
pub(crate) async fn open(
    location: &ConfigLocation,
    create: bool,
) -> anyhow::Result<Arc<dyn ConfigStore>> {
    match location {
        ConfigLocation::Dir(root) => {
            if create {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("cannot create {}", root.display()))?;
            }
            let store = DirStore::open(root, WatchOptions::default())
                .with_context(|| format!("cannot open {}", root.display()))?;
            Ok(Arc::new(store))
        }
        ConfigLocation::Nacos(options) => {
            let store = NacosStore::open(options.clone()).await?;
            if let config_store::StoreState::Unreachable { message } = store.state() {
                bail!("{}: {message}", options.describe());
            }
            Ok(Arc::new(store))
        }
    }
}
