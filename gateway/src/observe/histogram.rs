//! Latency histograms with Envoy's default bucket bounds (milliseconds), stored as plain
//! atomics inside a shard; exposed in seconds as Prometheus histograms.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds in milliseconds (Envoy's `histogram_bucket_settings` defaults).
pub const BOUNDS_MS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// One shard's histogram cells: a count per bucket (the last is `+Inf`) and the sum.
#[derive(Debug, Default)]
pub struct HistogramCells {
    buckets: [AtomicU64; BOUNDS_MS.len() + 1],
    sum_micros: AtomicU64,
}

/// A histogram summed over shards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramTotal {
    /// Non-cumulative count per bucket, `+Inf` last.
    pub buckets: [u64; BOUNDS_MS.len() + 1],
    /// Sum of observations, seconds.
    pub sum_seconds: f64,
}

// === impl HistogramCells ===

impl HistogramCells {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let ms = micros as f64 / 1000.0;
        let idx = BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BOUNDS_MS.len());
        self.buckets[idx].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Adds this shard into `total`.
    pub fn add_to(&self, total: &mut HistogramTotal) {
        for (t, b) in total.buckets.iter_mut().zip(&self.buckets) {
            *t += b.load(Ordering::Relaxed);
        }
        total.sum_seconds += self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
    }
}

// === impl HistogramTotal ===

impl HistogramTotal {
    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket() {
        let h = HistogramCells::default();
        h.observe(Duration::from_micros(300)); // ≤ 0.5 ms
        h.observe(Duration::from_millis(7)); // ≤ 10 ms
        h.observe(Duration::from_secs(7200)); // +Inf
        let mut t = HistogramTotal::default();
        h.add_to(&mut t);
        assert_eq!(t.buckets[0], 1);
        assert_eq!(t.buckets[3], 1);
        assert_eq!(t.buckets[BOUNDS_MS.len()], 1);
        assert_eq!(t.count(), 3);
        assert!((t.sum_seconds - 7200.0073).abs() < 1e-6);
    }
}
