//! A [`Target`]: one resolved service (a `*.dns` or `*.static` registry, a Service) with its
//! current endpoints, which discovery replaces atomically, and how requests are spread over
//! them (round robin, least connections, random, consistent hash, cookie affinity).

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
pub use config_store::annotations::LoadBalance;

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

/// One endpoint address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub addr: SocketAddr,
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
    endpoints: ArcSwap<Vec<Arc<EndpointSlot>>>,
    next: AtomicUsize,
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
            endpoints: ArcSwap::from_pointee(Vec::new()),
            next: AtomicUsize::new(0),
        };
        if let TargetSpec::Static(addrs) = &target.spec {
            let eps = addrs.iter().map(|addr| Endpoint { addr: *addr }).collect();
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
        self.endpoints
            .load()
            .iter()
            .map(|s| Endpoint { addr: s.addr })
            .collect()
    }

    /// Number of current endpoints.
    pub fn endpoint_count(&self) -> usize {
        self.endpoints.load().len()
    }

    /// Number of current endpoints not ejected for failing (passive health).
    pub fn available_count(&self) -> usize {
        let now = clock_ms();
        self.endpoints
            .load()
            .iter()
            .filter(|s| s.available(now))
            .count()
    }

    /// Replaces the endpoints (discovery only); endpoints that stay keep their state.
    pub fn set_endpoints(&self, endpoints: Vec<Endpoint>) {
        let old = self.endpoints.load();
        let slots = endpoints
            .into_iter()
            .map(|e| {
                old.iter()
                    .find(|s| s.addr == e.addr)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(EndpointSlot::new(e.addr)))
            })
            .collect();
        self.endpoints.store(Arc::new(slots));
    }

    /// Picks an endpoint with the target's balancer; `None` when there is none.
    pub fn pick(&self, hint: PickHint) -> Option<Lease> {
        let eps = self.endpoints.load();
        let n = eps.len();
        if n == 0 {
            return None;
        }
        if n == 1 {
            return eps.first().map(Lease::new);
        }
        let rr = || self.next.fetch_add(1, Ordering::Relaxed) % n;
        let idx = match &self.options.balance {
            LoadBalance::RoundRobin => rr(),
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
