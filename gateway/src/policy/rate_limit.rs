//! Local rate limit: a lock-free token bucket per route, full at start, refilled with
//! `tokens_per_fill` every `fill_interval` (Envoy's local rate limit).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use config_store::annotations::RateLimit;

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

#[cfg(test)]
mod tests {
    use super::*;

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
