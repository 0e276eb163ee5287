//! Local rate limit: a lock-free token bucket per route, full at start, refilled with
//! `tokens_per_fill` every `fill_interval` (Envoy's local rate limit), and the registry that
//! hands the same bucket to every table compiled for an unchanged route, so a reload does not
//! refill it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use config_store::annotations::RateLimit;
use pingora::proxy::Session;

use crate::filter::{FilterState, Flow, HttpFilter};
use crate::proxy::respond::respond;
use crate::proxy::RequestCtx;

/// A token bucket; state packs `(fill epoch, tokens)` into one atomic word.
#[derive(Debug)]
pub struct TokenBucket {
    start: Instant,
    interval: Duration,
    per_fill: u32,
    max: u32,
    state: AtomicU64,
}

// === impl TokenBucket ===

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: &RateLimit) -> Self {
        Self {
            start: Instant::now(),
            interval: limit.fill_interval,
            per_fill: limit.tokens_per_fill,
            max: limit.max_tokens.max(1),
            state: AtomicU64::new(u64::from(limit.max_tokens.max(1))),
        }
    }

    /// Takes a token; `false` when the bucket is empty (answer 429).
    pub fn try_acquire(&self) -> bool {
        let epoch = (self.start.elapsed().as_nanos() / self.interval.as_nanos().max(1)) as u64
            & 0xffff_ffff;
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let (last_epoch, tokens) = (current >> 32, current & 0xffff_ffff);
            let fills = epoch.wrapping_sub(last_epoch) & 0xffff_ffff;
            let tokens = tokens
                .saturating_add(fills.saturating_mul(u64::from(self.per_fill)))
                .min(u64::from(self.max));
            if tokens == 0 {
                return false;
            }
            let next = (epoch << 32) | (tokens - 1);
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

// === impl HttpFilter for TokenBucket ===

#[async_trait]
impl HttpFilter for TokenBucket {
    fn name(&self) -> &str {
        "rate-limit"
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> pingora::Result<Flow> {
        if self.try_acquire() {
            return Ok(Flow::Continue);
        }
        respond(session, 429, Vec::new(), "local_rate_limited\n".into()).await?;
        Ok(Flow::Responded)
    }
}

/// The stable identity of a route's bucket: the Ingress, the route's host and path, and the
/// limit itself (a changed limit gets a fresh bucket).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketKey {
    ingress: String,
    host: String,
    path: String,
    limit: (u32, Duration, u32),
}

/// Buckets shared across route tables by [`BucketKey`]. Entries are weak: a bucket lives as
/// long as a table (or a request) holds it, and dead entries are swept as new ones arrive.
#[derive(Debug, Default)]
pub struct RateLimits {
    inner: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    map: HashMap<BucketKey, Weak<TokenBucket>>,
    /// Sweep dead entries when the map reaches this size.
    sweep_at: usize,
}

// === impl BucketKey ===

impl BucketKey {
    /// The key of `limit` on the route `host` + `path` (any stable rendering) of `ingress`.
    pub fn new(ingress: &str, host: &str, path: &str, limit: &RateLimit) -> Self {
        Self {
            ingress: ingress.to_owned(),
            host: host.to_owned(),
            path: path.to_owned(),
            limit: (limit.tokens_per_fill, limit.fill_interval, limit.max_tokens),
        }
    }
}

// === impl RateLimits ===

impl RateLimits {
    /// The live bucket for `key`, or a new full one for `limit`.
    pub fn bucket(&self, key: BucketKey, limit: &RateLimit) -> Arc<TokenBucket> {
        let mut inner = match self.inner.lock() {
            Ok(i) => i,
            Err(p) => p.into_inner(),
        };
        if let Some(live) = inner.map.get(&key).and_then(Weak::upgrade) {
            return live;
        }
        if inner.map.len() >= inner.sweep_at {
            inner.map.retain(|_, w| w.strong_count() > 0);
            inner.sweep_at = (inner.map.len() * 2).max(64);
        }
        let bucket = Arc::new(TokenBucket::new(limit));
        inner.map.insert(key, Arc::downgrade(&bucket));
        bucket
    }

    /// Number of entries, live or not yet swept (for tests).
    pub fn len(&self) -> usize {
        match self.inner.lock() {
            Ok(i) => i.map.len(),
            Err(p) => p.into_inner().map.len(),
        }
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(max: u32) -> RateLimit {
        RateLimit {
            tokens_per_fill: max,
            fill_interval: Duration::from_secs(60),
            max_tokens: max,
        }
    }

    #[test]
    fn registry_keeps_live_buckets_and_sweeps_dead_ones() {
        let limits = RateLimits::default();
        let key = |max| BucketKey::new("ing", "a.com", "prefix /", &limit(max));
        let a = limits.bucket(key(2), &limit(2));
        assert!(a.try_acquire() && a.try_acquire() && !a.try_acquire());
        let again = limits.bucket(key(2), &limit(2));
        assert!(Arc::ptr_eq(&a, &again), "same key, live bucket: shared");
        assert!(!again.try_acquire(), "still empty");
        let changed = limits.bucket(key(3), &limit(3));
        assert!(changed.try_acquire(), "a changed limit gets a fresh bucket");
        drop((a, again));
        let fresh = limits.bucket(key(2), &limit(2));
        assert!(fresh.try_acquire(), "nobody held it: a new bucket");
        drop((fresh, changed));
        for i in 0..200 {
            drop(limits.bucket(
                BucketKey::new("ing", &format!("h{i}"), "/", &limit(1)),
                &limit(1),
            ));
        }
        assert!(
            limits.len() < 200,
            "dead entries are swept: {}",
            limits.len()
        );
    }

    #[test]
    fn burst_then_refill() {
        let b = TokenBucket::new(&RateLimit {
            tokens_per_fill: 2,
            fill_interval: Duration::from_millis(200),
            max_tokens: 4,
        });
        let granted = (0..10).filter(|_| b.try_acquire()).count();
        assert_eq!(granted, 4);
        std::thread::sleep(Duration::from_millis(250));
        let granted = (0..10).filter(|_| b.try_acquire()).count();
        assert_eq!(granted, 2);
    }
}
