//! A [`Target`]: one resolved service (a `*.dns`, `*.static` or `*.nacos` registry, a
//! Service) with its current endpoints, which discovery replaces atomically, and how requests
//! are spread over them (weighted round robin, least connections, random, consistent hash,
//! cookie affinity).

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
pub use config_store::annotations::LoadBalance;

use super::schedule::smooth_schedule;

/// Where a target's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetSpec {
    /// Fixed addresses (static registry, Service endpoints).
    Static(Vec<SocketAddr>),
    /// DNS names resolved in the background, all on one port.
    Dns {
        /// Names to resolve.
        names: Vec<String>,
        /// Port of every endpoint.
        port: u16,
    },
    /// A Nacos service whose instances a naming subscription pushes.
    Nacos(crate::discovery::nacos::NacosService),
}

/// TLS towards the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamTls {
    /// Server name sent in SNI (empty: none).
    pub sni: String,
    /// Verify the certificate chain and name.
    pub verify: bool,
    /// Client certificate and CA (`proxy-ssl-secret`).
    pub identity: Option<Arc<super::identity::UpstreamIdentity>>,
}

/// How a target is spoken to and balanced (service-scope settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetOptions {
    /// TLS, when the upstream speaks it.
    pub tls: Option<UpstreamTls>,
    /// HTTP/2 to the upstream (h2c without TLS).
    pub h2: bool,
    /// Endpoint selection.
    pub balance: LoadBalance,
}

impl Default for TargetOptions {
    fn default() -> Self {
        Self {
            tls: None,
            h2: false,
            balance: LoadBalance::RoundRobin,
        }
    }
}

/// One endpoint address and its relative weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub addr: SocketAddr,
    /// Relative weight under round robin (> 0; 1 for DNS, static and Service endpoints).
    pub weight: u32,
}

// === impl Endpoint ===

impl Endpoint {
    /// An endpoint of weight 1.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, weight: 1 }
    }
}

/// An endpoint with its selection state.
#[derive(Debug)]
pub struct EndpointSlot {
    /// Address.
    pub addr: SocketAddr,
    /// Stable id (hash of the address), used in affinity cookies.
    pub id: u64,
    active: AtomicUsize,
    /// Connect failures in a row.
    failures: AtomicU32,
    /// Ejections in a row (each doubles the next ejection).
    ejections: AtomicU32,
    /// Milliseconds on [`clock_ms`] until which the endpoint is skipped.
    ejected_until: AtomicU64,
}

/// Consecutive connect failures that eject an endpoint.
pub const EJECT_AFTER_FAILURES: u32 = 5;
/// First ejection; doubles with each ejection in a row, up to [`MAX_EJECTION`].
pub const BASE_EJECTION: Duration = Duration::from_secs(10);
/// Longest ejection.
pub const MAX_EJECTION: Duration = Duration::from_secs(300);

/// Milliseconds since the first call (a monotonic clock for ejections).
fn clock_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

// === impl EndpointSlot ===

impl EndpointSlot {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            id: hash_of(&addr),
            active: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            ejections: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
        }
    }

    /// False while the endpoint is ejected for failing.
    pub fn available(&self, now_ms: u64) -> bool {
        self.ejected_until.load(Ordering::Relaxed) <= now_ms
    }
}

/// A chosen endpoint; counts as one active request until dropped.
#[derive(Debug)]
pub struct Lease {
    slot: Arc<EndpointSlot>,
}

/// Request attributes some balancers need.
#[derive(Debug, Clone, Copy, Default)]
pub struct PickHint {
    /// Hash of the `upstream-hash-by` attribute, when present.
    pub hash: Option<u64>,
    /// Endpoint id from the affinity cookie, when present.
    pub cookie: Option<u64>,
}

/// A service with its current endpoints.
#[derive(Debug)]
pub struct Target {
    key: String,
    spec: TargetSpec,
    options: TargetOptions,
    endpoints: ArcSwap<EndpointSet>,
    next: AtomicUsize,
}

/// The endpoints of a target at one moment, with their round-robin schedule.
#[derive(Debug, Default)]
struct EndpointSet {
    slots: Vec<Arc<EndpointSlot>>,
    /// Weight of each slot.
    weights: Vec<u32>,
    /// Slot indices in smooth weighted order; `None` when all weights are equal.
    schedule: Option<Vec<u16>>,
}

// === impl Lease ===

impl Lease {
    fn new(slot: &Arc<EndpointSlot>) -> Self {
        slot.active.fetch_add(1, Ordering::Relaxed);
        Self { slot: slot.clone() }
    }

    /// The endpoint address.
    pub fn addr(&self) -> SocketAddr {
        self.slot.addr
    }

    /// The endpoint id (for affinity cookies).
    pub fn id(&self) -> u64 {
        self.slot.id
    }

    /// Records a failed connection; the fifth in a row ejects the endpoint (passive
    /// health checking, like Envoy's outlier detection on gateway failures).
    pub fn report_failure(&self) {
        let slot = &self.slot;
        if slot.failures.fetch_add(1, Ordering::Relaxed) + 1 >= EJECT_AFTER_FAILURES {
            slot.failures.store(0, Ordering::Relaxed);
            let n = slot.ejections.fetch_add(1, Ordering::Relaxed).min(16);
            let ejection = BASE_EJECTION.saturating_mul(1 << n).min(MAX_EJECTION);
            slot.ejected_until
                .store(clock_ms() + ejection.as_millis() as u64, Ordering::Relaxed);
            tracing::warn!(endpoint = %slot.addr, ?ejection, "endpoint ejected after {EJECT_AFTER_FAILURES} connect failures in a row");
        }
    }

    /// Records a successful connection; the endpoint is healthy again.
    pub fn report_success(&self) {
        let slot = &self.slot;
        slot.failures.store(0, Ordering::Relaxed);
        if slot.ejections.load(Ordering::Relaxed) != 0 && slot.available(clock_ms()) {
            slot.ejections.store(0, Ordering::Relaxed);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.slot.active.fetch_sub(1, Ordering::Relaxed);
    }
}

// === impl Target ===

impl Target {
    /// A target; static specs start with their endpoints, DNS specs empty until resolved.
    pub fn new(key: String, spec: TargetSpec, options: TargetOptions) -> Self {
        let target = Self {
            key,
            spec,
            options,
            endpoints: ArcSwap::from_pointee(EndpointSet::default()),
            next: AtomicUsize::new(0),
        };
        if let TargetSpec::Static(addrs) = &target.spec {
            let eps = addrs.iter().map(|addr| Endpoint::new(*addr)).collect();
            target.set_endpoints(eps);
        }
        target
    }

    /// Identity of the target (spec and options), shared by equal targets across tables.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where endpoints come from.
    pub fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    /// Protocol and balancing options.
    pub fn options(&self) -> &TargetOptions {
        &self.options
    }

    /// TLS settings, if the upstream speaks TLS.
    pub fn tls(&self) -> Option<&UpstreamTls> {
        self.options.tls.as_ref()
    }

    /// The current endpoints.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let set = self.endpoints.load();
        set.slots
            .iter()
            .zip(&set.weights)
            .map(|(s, w)| Endpoint {
                addr: s.addr,
                weight: *w,
            })
            .collect()
    }

    /// Number of current endpoints.
    pub fn endpoint_count(&self) -> usize {
        self.endpoints.load().slots.len()
    }

    /// Number of current endpoints not ejected for failing (passive health).
    pub fn available_count(&self) -> usize {
        let now = clock_ms();
        self.endpoints
            .load()
            .slots
            .iter()
            .filter(|s| s.available(now))
            .count()
    }

    /// Replaces the endpoints (discovery only); endpoints that stay keep their state, and
    /// requests in flight on removed ones finish on them.
    pub fn set_endpoints(&self, endpoints: Vec<Endpoint>) {
        let old = self.endpoints.load();
        let slots: Vec<Arc<EndpointSlot>> = endpoints
            .iter()
            .map(|e| {
                old.slots
                    .iter()
                    .find(|s| s.addr == e.addr)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(EndpointSlot::new(e.addr)))
            })
            .collect();
        let weights: Vec<u32> = endpoints.iter().map(|e| e.weight.max(1)).collect();
        let uneven = weights.windows(2).any(|w| w[0] != w[1]);
        let schedule =
            (uneven && slots.len() <= usize::from(u16::MAX)).then(|| smooth_schedule(&weights));
        self.endpoints.store(Arc::new(EndpointSet {
            slots,
            weights,
            schedule,
        }));
    }

    /// Picks an endpoint with the target's balancer; `None` when there is none.
    pub fn pick(&self, hint: PickHint) -> Option<Lease> {
        let set = self.endpoints.load();
        let eps = &set.slots;
        let n = eps.len();
        if n == 0 {
            return None;
        }
        if n == 1 {
            return eps.first().map(Lease::new);
        }
        let rr = || self.next.fetch_add(1, Ordering::Relaxed) % n;
        let idx = match &self.options.balance {
            LoadBalance::RoundRobin => match &set.schedule {
                Some(s) => {
                    let slot = self.next.fetch_add(1, Ordering::Relaxed) % s.len();
                    usize::from(s[slot]).min(n - 1)
                }
                None => rr(),
            },
            LoadBalance::Random => fastrand::usize(..n),
            LoadBalance::LeastConn => {
                let start = rr();
                (0..n)
                    .map(|i| (start + i) % n)
                    .min_by_key(|i| eps[*i].active.load(Ordering::Relaxed))
                    .unwrap_or(start)
            }
            LoadBalance::Hash(_) => match hint.hash {
                // Rendezvous hashing: the endpoint set can change with minimal remapping.
                Some(h) => (0..n)
                    .max_by_key(|i| hash_of(&(h, eps[*i].id)))
                    .unwrap_or(0),
                None => rr(),
            },
            LoadBalance::Cookie { .. } => hint
                .cookie
                .and_then(|id| eps.iter().position(|s| s.id == id))
                .unwrap_or_else(rr),
        };
        // Skip ejected endpoints; when all are ejected, use them anyway (panic mode).
        let now = clock_ms();
        let idx = (0..n)
            .map(|i| (idx + i) % n)
            .find(|i| eps[*i].available(now))
            .unwrap_or(idx);
        eps.get(idx).map(Lease::new)
    }
}

/// A stable 64-bit hash (SipHash with fixed keys).
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_store::annotations::HashKey;

    fn target(balance: LoadBalance, n: u16) -> Target {
        let addrs = (0..n)
            .map(|i| SocketAddr::from(([127, 0, 0, 1], 1000 + i)))
            .collect();
        Target::new(
            "t".into(),
            TargetSpec::Static(addrs),
            TargetOptions {
                balance,
                ..TargetOptions::default()
            },
        )
    }

    #[test]
    fn least_conn_avoids_busy_endpoints() {
        let t = target(LoadBalance::LeastConn, 3);
        let a = t.pick(PickHint::default()).unwrap();
        let b = t.pick(PickHint::default()).unwrap();
        let c = t.pick(PickHint::default()).unwrap();
        assert_ne!(a.addr(), b.addr());
        assert_ne!(b.addr(), c.addr());
        drop(b);
        let d = t.pick(PickHint::default()).unwrap();
        assert_eq!(d.addr().port(), 1001);
        drop((a, c, d));
    }

    #[test]
    fn round_robin_follows_endpoint_weights_and_keeps_state_across_updates() {
        let t = target(LoadBalance::RoundRobin, 1);
        let ep = |port: u16, weight: u32| Endpoint {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            weight,
        };
        t.set_endpoints(vec![ep(1, 100), ep(2, 300)]);
        let held = t.pick(PickHint::default()).unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..400 {
            *counts
                .entry(t.pick(PickHint::default()).unwrap().addr().port())
                .or_insert(0) += 1;
        }
        assert_eq!(counts, [(1, 100), (2, 300)].into_iter().collect());
        // A lease taken before an update still counts on its endpoint afterwards.
        t.set_endpoints(vec![ep(1, 100), ep(2, 300), ep(3, 100)]);
        let slot = t
            .endpoints
            .load()
            .slots
            .iter()
            .find(|s| s.addr == held.addr())
            .cloned();
        assert_eq!(slot.unwrap().active.load(Ordering::Relaxed), 1);
        drop(held);
        let picks: std::collections::BTreeSet<u16> = (0..5)
            .map(|_| t.pick(PickHint::default()).unwrap().addr().port())
            .collect();
        assert_eq!(picks.len(), 3);
    }

    #[test]
    fn failing_endpoint_is_ejected_and_skipped() {
        let t = target(LoadBalance::RoundRobin, 2);
        for _ in 0..EJECT_AFTER_FAILURES {
            let lease = (0..2)
                .map(|_| t.pick(PickHint::default()).unwrap())
                .find(|l| l.addr().port() == 1000)
                .unwrap();
            lease.report_failure();
        }
        let picks: Vec<u16> = (0..10)
            .map(|_| t.pick(PickHint::default()).unwrap().addr().port())
            .collect();
        assert!(picks.iter().all(|p| *p == 1001), "{picks:?}");
    }

    #[test]
    fn hash_is_sticky_and_cookie_finds_its_endpoint() {
        let t = target(LoadBalance::Hash(HashKey::RequestUri), 5);
        let pick = |h| {
            t.pick(PickHint {
                hash: Some(h),
                cookie: None,
            })
            .unwrap()
            .addr()
        };
        assert_eq!(pick(42), pick(42));
        let spread: std::collections::HashSet<_> = (0..50).map(pick).collect();
        assert!(spread.len() > 1);
        let c = target(
            LoadBalance::Cookie {
                name: "c".into(),
                path: "/".into(),
                ttl: None,
            },
            4,
        );
        let first = c.pick(PickHint::default()).unwrap();
        for _ in 0..5 {
            let again = c
                .pick(PickHint {
                    hash: None,
                    cookie: Some(first.id()),
                })
                .unwrap();
            assert_eq!(again.addr(), first.addr());
        }
    }
}
