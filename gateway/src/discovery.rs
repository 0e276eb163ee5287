//! Discovery: turns target specs into shared [`Target`]s and keeps DNS targets resolved and
//! Nacos targets subscribed in the background, never on the request path.
//!
//! Targets are shared by key across route tables, so a reload keeps resolved endpoints and
//! only brand-new DNS targets are resolved (all at once, before their table goes live; the
//! old table serves meanwhile). A target no table uses any more is forgotten. Discovery also
//! carries the other state compiles share across tables: the rate-limit buckets
//! ([`RateLimits`]).
//!
//! Re-resolution follows each answer's TTL, bounded to [`MIN_REFRESH`] ..= the refresh
//! interval; a failed lookup keeps the last endpoints and is retried after 1 s, doubling up
//! to the refresh interval. A Nacos target is loaded and subscribed once (a failure is
//! retried the same way); from then on its instances arrive as pushes ([`nacos`]).

pub mod dns;
pub mod nacos;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::policy::rate_limit::RateLimits;
use crate::upstream::{Target, TargetOptions, TargetSpec};
use dns::{DnsResolver, Resolved};
use nacos::NacosNaming;

/// The shortest time between two lookups of one target, whatever its TTL.
pub const MIN_REFRESH: Duration = Duration::from_secs(1);

/// Shared targets and their background refresh.
#[derive(Debug)]
pub struct Discovery {
    targets: Mutex<HashMap<String, Entry>>,
    refresh_interval: Duration,
    resolver: Arc<DnsResolver>,
    /// Woken when a lookup set a new deadline, so the refresh loop can sleep until it.
    wake: Arc<Notify>,
    rate_limits: RateLimits,
    nacos: NacosNaming,
    plugins: crate::plugins::PluginRegistry,
}

/// A target and, for DNS targets, when to look it up again.
#[derive(Debug)]
struct Entry {
    target: Weak<Target>,
    /// `None` until the first lookup finished.
    next: Option<Instant>,
    /// Failed lookups in a row.
    failures: u32,
}

// === impl Discovery ===

impl Discovery {
    /// A registry using the system DNS configuration; DNS targets are re-resolved when their
    /// TTL expires, at most `refresh_interval` apart.
    pub fn new(refresh_interval: Duration) -> Arc<Self> {
        Self::with_dns_server(refresh_interval, None)
    }

    /// Like [`Self::new`], sending every DNS query to `server` when given (`--dns-server`).
    pub fn with_dns_server(refresh_interval: Duration, server: Option<SocketAddr>) -> Arc<Self> {
        Arc::new(Self {
            targets: Mutex::new(HashMap::new()),
            refresh_interval: refresh_interval.max(MIN_REFRESH),
            resolver: Arc::new(DnsResolver::new(server)),
            wake: Arc::new(Notify::new()),
            rate_limits: RateLimits::default(),
            nacos: NacosNaming::default(),
            plugins: crate::plugins::PluginRegistry::default(),
        })
    }

    /// Rate-limit buckets shared by the tables compiled with this registry.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// Wasm plugin runtimes shared by the tables compiled with this registry.
    pub fn plugins(&self) -> &crate::plugins::PluginRegistry {
        &self.plugins
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        match self.targets.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        }
    }

    /// The shared target for `spec`; `true` when it was just created (and, for DNS, still
    /// needs its first [`Self::resolve`]).
    pub fn target(&self, spec: TargetSpec, options: TargetOptions) -> (Arc<Target>, bool) {
        let key = target_key(&spec, &options);
        let mut targets = self.entries();
        if let Some(existing) = targets.get(&key).and_then(|e| e.target.upgrade()) {
            return (existing, false);
        }
        let target = Arc::new(Target::new(key.clone(), spec, options));
        targets.insert(
            key,
            Entry {
                target: Arc::downgrade(&target),
                next: None,
                failures: 0,
            },
        );
        (target, true)
    }

    /// Resolves the DNS targets among `targets` now and loads and subscribes the Nacos ones
    /// not yet subscribed, all at once, and schedules their next lookups.
    pub async fn resolve(&self, targets: &[Arc<Target>]) {
        let mut lookups = JoinSet::new();
        let mut subscriptions = Vec::new();
        for t in targets {
            match t.spec() {
                TargetSpec::Dns { names, port } => {
                    let (t, names, port) = (t.clone(), names.clone(), *port);
                    let resolver = self.resolver.clone();
                    lookups.spawn(async move {
                        let res = resolver.lookup(&names, port).await;
                        (t, res)
                    });
                }
                TargetSpec::Nacos(service) if !self.nacos.is_subscribed(t) => {
                    subscriptions.push(async move {
                        let res = self.nacos.resolve(t, service).await;
                        (t, res)
                    });
                }
                _ => {}
            }
        }
        if lookups.is_empty() && subscriptions.is_empty() {
            return;
        }
        let subscribed = futures_util::future::join_all(subscriptions);
        let looked_up = async {
            let mut out = Vec::new();
            while let Some(joined) = lookups.join_next().await {
                match joined {
                    Ok(done) => out.push(done),
                    Err(e) => tracing::warn!("DNS lookup task failed: {e}"),
                }
            }
            out
        };
        let (subscribed, looked_up) = tokio::join!(subscribed, looked_up);
        for (t, res) in looked_up {
            self.record(&t, res);
        }
        for (t, res) in subscribed {
            self.record_subscription(t, res.map_err(|e| e.to_string()));
        }
        self.wake.notify_one();
    }

    /// Applies a Nacos load-and-subscribe result: done for good, or retried with backoff.
    fn record_subscription(&self, t: &Target, res: Result<(), String>) {
        let mut targets = self.entries();
        let entry = targets.get_mut(t.key());
        match res {
            Ok(()) => {
                if let Some(e) = entry {
                    e.failures = 0;
                    e.next = None;
                }
            }
            Err(err) => {
                tracing::warn!(target = t.key(), "Nacos service discovery failed: {err}");
                if let Some(e) = entry {
                    e.failures = e.failures.saturating_add(1);
                    let backoff = MIN_REFRESH.saturating_mul(1 << (e.failures - 1).min(16));
                    e.next = Some(Instant::now() + backoff.min(self.refresh_interval));
                }
            }
        }
    }

    /// Applies a lookup's result to `t` and sets when to look again.
    fn record(&self, t: &Target, res: Result<Resolved, String>) {
        let now = Instant::now();
        let mut targets = self.entries();
        let entry = targets.get_mut(t.key());
        match res {
            Ok(resolved) => {
                if resolved.endpoints != t.endpoints() {
                    if !t.endpoints().is_empty() {
                        tracing::info!(target = t.key(), endpoints = ?resolved.endpoints, "DNS endpoints changed");
                    }
                    t.set_endpoints(resolved.endpoints);
                }
                let wait = resolved
                    .ttl
                    .unwrap_or(self.refresh_interval)
                    .clamp(MIN_REFRESH, self.refresh_interval);
                if let Some(e) = entry {
                    e.failures = 0;
                    e.next = Some(now + wait);
                }
            }
            // Keep the last known endpoints: stale beats none.
            Err(err) => {
                tracing::warn!(target = t.key(), "DNS resolution failed: {err}");
                if let Some(e) = entry {
                    e.failures = e.failures.saturating_add(1);
                    let backoff = MIN_REFRESH.saturating_mul(1 << (e.failures - 1).min(16));
                    e.next = Some(now + backoff.min(self.refresh_interval));
                }
            }
        }
    }

    /// Re-resolves every live DNS target now and forgets dropped ones.
    pub async fn refresh(&self) {
        let live = self.live(|_| true).0;
        self.resolve(&live).await;
    }

    /// Live targets whose entry passes `due`, and the earliest deadline among the others.
    /// Forgets entries whose target is gone.
    fn live(&self, due: impl Fn(&Entry) -> bool) -> (Vec<Arc<Target>>, Option<Instant>) {
        let mut targets = self.entries();
        targets.retain(|_, e| e.target.strong_count() > 0);
        let mut ready = Vec::new();
        let mut earliest: Option<Instant> = None;
        for e in targets.values() {
            let Some(t) = e.target.upgrade() else {
                continue;
            };
            match t.spec() {
                TargetSpec::Dns { .. } => {}
                TargetSpec::Nacos(_) if !self.nacos.is_subscribed(&t) => {}
                _ => continue,
            }
            if due(e) {
                ready.push(t);
            } else if let Some(next) = e.next {
                earliest = Some(earliest.map_or(next, |x| x.min(next)));
            }
        }
        (ready, earliest)
    }

    /// Re-resolves, forever on the current runtime, each DNS target when its deadline
    /// passes (all due targets at once); stops when the registry is dropped.
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let wake = self.wake.clone();
        tokio::spawn(async move {
            loop {
                let wait = {
                    let Some(this) = weak.upgrade() else { break };
                    let now = Instant::now();
                    this.nacos.forget_dropped().await;
                    let (due, earliest) = this.live(|e| e.next.is_some_and(|n| n <= now));
                    if !due.is_empty() {
                        this.resolve(&due).await;
                        continue;
                    }
                    earliest.map_or(this.refresh_interval, |n| {
                        n.saturating_duration_since(now).min(this.refresh_interval)
                    })
                };
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = wake.notified() => {}
                }
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
        TargetSpec::Nacos(service) => service.key(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The time `target` is scheduled for, relative to `before`.
    fn scheduled(d: &Discovery, target: &Target, before: Instant) -> Duration {
        d.entries()[target.key()]
            .next
            .expect("scheduled")
            .duration_since(before)
    }

    #[test]
    fn next_lookup_follows_ttl_within_bounds_and_backs_off() {
        let d = Discovery::new(Duration::from_secs(10));
        let spec = TargetSpec::Dns {
            names: vec!["x.test".into()],
            port: 80,
        };
        let (t, _) = d.target(spec, TargetOptions::default());
        let answer = |ttl: Option<u64>| {
            Ok(Resolved {
                endpoints: Vec::new(),
                ttl: ttl.map(Duration::from_millis),
            })
        };
        let check = |res: Result<Resolved, String>, lo: u64, hi: u64| {
            let before = Instant::now();
            d.record(&t, res);
            let after = before.elapsed();
            let got = scheduled(&d, &t, before);
            assert!(
                got >= Duration::from_millis(lo) && got <= Duration::from_millis(hi) + after,
                "scheduled in {got:?}, want {lo}..={hi} ms"
            );
        };
        check(answer(Some(3_000)), 3_000, 3_000);
        check(answer(Some(10)), 1_000, 1_000);
        check(answer(Some(3_600_000)), 10_000, 10_000);
        check(answer(None), 10_000, 10_000);
        for want in [1_000, 2_000, 4_000, 8_000, 10_000, 10_000] {
            check(Err("down".into()), want, want);
        }
        check(answer(Some(2_000)), 2_000, 2_000);
    }

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
        assert!(d.entries().is_empty());
    }
}
