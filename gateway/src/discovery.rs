//! Discovery: turns target specs into shared [`Target`]s and keeps DNS targets resolved in
//! the background, never on the request path.
//!
//! Targets are shared by key across route tables, so a reload keeps resolved endpoints and
//! only brand-new DNS targets are resolved (before their table goes live). A target no table
//! uses any more is forgotten. Discovery also carries the other state compiles share across
//! tables: the rate-limit buckets ([`RateLimits`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::policy::rate_limit::RateLimits;
use crate::upstream::{Endpoint, Target, TargetOptions, TargetSpec};

/// How long one DNS lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Shared targets and their background refresh.
#[derive(Debug)]
pub struct Discovery {
    targets: Mutex<HashMap<String, Weak<Target>>>,
    refresh_interval: Duration,
    rate_limits: RateLimits,
}

// === impl Discovery ===

impl Discovery {
    /// A registry that re-resolves DNS targets every `refresh_interval`.
    pub fn new(refresh_interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            targets: Mutex::new(HashMap::new()),
            refresh_interval,
            rate_limits: RateLimits::default(),
        })
    }

    /// Rate-limit buckets shared by the tables compiled with this registry.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// The shared target for `spec`; `true` when it was just created (and, for DNS, still
    /// needs its first [`Self::resolve`]).
    pub fn target(&self, spec: TargetSpec, options: TargetOptions) -> (Arc<Target>, bool) {
        let key = target_key(&spec, &options);
        let mut targets = match self.targets.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        if let Some(existing) = targets.get(&key).and_then(Weak::upgrade) {
            return (existing, false);
        }
        let target = Arc::new(Target::new(key.clone(), spec, options));
        targets.insert(key, Arc::downgrade(&target));
        (target, true)
    }

    /// Resolves the DNS targets among `targets` now (concurrently).
    pub async fn resolve(&self, targets: &[Arc<Target>]) {
        let lookups = targets.iter().filter_map(|t| match t.spec() {
            TargetSpec::Dns { names, port } => Some(async move {
                match lookup(names, *port).await {
                    Ok(eps) => t.set_endpoints(eps),
                    Err(e) => tracing::warn!(target = t.key(), "DNS resolution failed: {e}"),
                }
            }),
            TargetSpec::Static(_) => None,
        });
        let handles: Vec<_> = lookups.collect();
        for h in handles {
            h.await;
        }
    }

    /// Re-resolves every live DNS target and forgets dropped ones.
    pub async fn refresh(&self) {
        let live: Vec<Arc<Target>> = {
            let mut targets = match self.targets.lock() {
                Ok(t) => t,
                Err(p) => p.into_inner(),
            };
            targets.retain(|_, w| w.strong_count() > 0);
            targets.values().filter_map(Weak::upgrade).collect()
        };
        for t in &live {
            if let TargetSpec::Dns { names, port } = t.spec() {
                match lookup(names, *port).await {
                    Ok(eps) if eps != t.endpoints() => {
                        tracing::info!(target = t.key(), endpoints = ?eps, "DNS endpoints changed");
                        t.set_endpoints(eps);
                    }
                    Ok(_) => {}
                    // Keep the last known endpoints: stale beats none.
                    Err(e) => tracing::warn!(target = t.key(), "DNS refresh failed: {e}"),
                }
            }
        }
    }

    /// Runs [`Self::refresh`] forever on the current runtime.
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let every = self.refresh_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { break };
                this.refresh().await;
            }
        })
    }
}

fn target_key(spec: &TargetSpec, options: &TargetOptions) -> String {
    let base = match spec {
        TargetSpec::Static(addrs) => {
            let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            format!("static:{}", list.join(","))
        }
        TargetSpec::Dns { names, port } => format!("dns:{}:{port}", names.join(",")),
    };
    let mut key = base;
    if let Some(t) = &options.tls {
        key.push_str(&format!(" tls(sni={},verify={})", t.sni, t.verify));
        if let Some(id) = &t.identity {
            key.push_str(&format!(" identity={id:?}"));
        }
    }
    if options.h2 {
        key.push_str(" h2");
    }
    if options.balance != TargetOptions::default().balance {
        key.push_str(&format!(" lb={:?}", options.balance));
    }
    key
}

/// Resolves every name on `port`; the union of the answers, sorted. Fails only if every
/// name fails.
async fn lookup(names: &[String], port: u16) -> Result<Vec<Endpoint>, String> {
    let mut found = BTreeSet::new();
    let mut errors = Vec::new();
    for name in names {
        let res = tokio::time::timeout(
            LOOKUP_TIMEOUT,
            tokio::net::lookup_host((name.as_str(), port)),
        )
        .await;
        match res {
            Ok(Ok(addrs)) => found.extend(addrs.map(|addr| Endpoint { addr })),
            Ok(Err(e)) => errors.push(format!("{name}: {e}")),
            Err(_) => errors.push(format!("{name}: timed out after {LOOKUP_TIMEOUT:?}")),
        }
    }
    if found.is_empty() && !errors.is_empty() {
        return Err(errors.join("; "));
    }
    Ok(found.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shares_targets_and_resolves_dns() {
        let d = Discovery::new(Duration::from_secs(60));
        let spec = TargetSpec::Dns {
            names: vec!["localhost".into()],
            port: 8080,
        };
        let (a, new_a) = d.target(spec.clone(), TargetOptions::default());
        let (b, new_b) = d.target(spec, TargetOptions::default());
        assert!(new_a && !new_b);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.pick(Default::default()).is_none());
        d.resolve(std::slice::from_ref(&a)).await;
        let ep = a.pick(Default::default()).expect("localhost resolves");
        assert!(ep.addr().ip().is_loopback());
        assert_eq!(ep.addr().port(), 8080);
        drop(ep);
        drop((a, b));
        d.refresh().await;
        assert!(d.targets.lock().unwrap().is_empty());
    }
}
