//! [`Gateway`]: owns the live route table and applies snapshots to it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use config_store::{Diagnostic, Snapshot};
use tokio::sync::watch;

use crate::compile::{compile, CompileOptions};
use crate::discovery::Discovery;
use crate::observe::Observe;
use crate::proxy::GatewayProxy;
use crate::route_table::RouteTable;
use crate::tls::SniResolver;

/// The live route table and what builds it.
pub struct Gateway {
    table: Arc<ArcSwap<RouteTable>>,
    certs: Arc<SniResolver>,
    offer_client_certs: Arc<AtomicBool>,
    discovery: Arc<Discovery>,
    options: CompileOptions,
    diagnostics: ArcSwap<Vec<Diagnostic>>,
    /// The revision of the snapshot the table was built from (0 before the first apply).
    applied: watch::Sender<u64>,
    /// Metrics and access log of the proxy.
    observe: Arc<Observe>,
}

// === impl Gateway ===

impl Gateway {
    /// A gateway with an empty table (every request gets 404 until the first apply).
    pub fn new(options: CompileOptions, discovery: Arc<Discovery>) -> Self {
        Self {
            table: Arc::new(ArcSwap::from_pointee(RouteTable::default())),
            certs: Arc::new(SniResolver::default()),
            offer_client_certs: Arc::new(AtomicBool::new(false)),
            discovery,
            options,
            diagnostics: ArcSwap::from_pointee(Vec::new()),
            applied: watch::Sender::new(0),
            observe: Arc::default(),
        }
    }

    /// Compiles `snapshot`, resolves its new upstream targets, then swaps the table in.
    /// Requests in flight keep the table they started with.
    pub async fn apply(&self, snapshot: &Snapshot) {
        self.discovery.plugins().download(snapshot).await;
        let compiled = compile(snapshot, &self.discovery, &self.options);
        self.discovery.resolve(&compiled.new_targets).await;
        let old: BTreeSet<Diagnostic> = self.diagnostics.load().iter().cloned().collect();
        for d in compiled.diagnostics.iter().filter(|d| !old.contains(d)) {
            tracing::warn!("{d}");
        }
        let routes = compiled.table.len();
        self.certs.update(compiled.certs);
        self.offer_client_certs.store(
            compiled.table.tls_policies().wants_client_certs(),
            Ordering::Relaxed,
        );
        self.table.store(Arc::new(compiled.table));
        self.diagnostics.store(Arc::new(compiled.diagnostics));
        self.applied.send_replace(snapshot.revision());
        self.observe.metrics().config_applied();
        self.observe
            .apply_tracing(snapshot.higress_config().tracing.as_ref());
        tracing::info!(
            revision = snapshot.revision(),
            routes,
            "route table applied"
        );
    }

    /// Applies the receiver's current snapshot now (so the first request finds routes),
    /// then follows later ones on a background task. A plugin download that failed is
    /// tried again when due, by applying the current snapshot again.
    pub async fn start_following(self: &Arc<Self>, mut rx: watch::Receiver<Arc<Snapshot>>) {
        let first = rx.borrow_and_update().clone();
        self.apply(&first).await;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let retry = this.discovery.plugins().download_retry_in();
                let changed = match retry {
                    Some(wait) => tokio::select! {
                        r = rx.changed() => r.is_ok(),
                        () = tokio::time::sleep(wait) => true,
                    },
                    None => rx.changed().await.is_ok(),
                };
                if !changed {
                    break;
                }
                let snapshot = rx.borrow_and_update().clone();
                this.apply(&snapshot).await;
            }
        });
    }

    /// The current table.
    pub fn table(&self) -> Arc<RouteTable> {
        self.table.load_full()
    }

    /// Problems found while compiling the current table (unresolved references, …).
    pub fn diagnostics(&self) -> Arc<Vec<Diagnostic>> {
        self.diagnostics.load_full()
    }

    /// Follows the revision of the snapshot the live table was built from, so a writer can
    /// wait until its change is served.
    pub fn applied_revision(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// The SNI certificate resolver the HTTPS listener uses.
    pub fn cert_resolver(&self) -> Arc<SniResolver> {
        self.certs.clone()
    }

    /// The flag that makes the HTTPS listener ask clients for certificates.
    pub fn offer_client_certs(&self) -> Arc<AtomicBool> {
        self.offer_client_certs.clone()
    }

    /// The discovery registry.
    pub fn discovery(&self) -> &Arc<Discovery> {
        &self.discovery
    }

    /// A Pingora proxy that serves this gateway's table.
    pub fn proxy(&self) -> GatewayProxy {
        GatewayProxy::with_observe(self.table.clone(), self.observe.clone())
    }

    /// The proxy's metrics registry and access-log sink.
    pub fn observe(&self) -> &Arc<Observe> {
        &self.observe
    }
}
