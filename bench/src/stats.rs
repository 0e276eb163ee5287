//! Summary statistics over samples: nearest-rank percentiles, min, max, mean.

use std::time::Duration;

/// A sorted set of duration samples.
pub struct Samples {
    sorted: Vec<Duration>,
}

// === impl Samples ===

impl Samples {
    /// Sorts `samples`; there must be at least one.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        Self { sorted: samples }
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The nearest-rank `p`-th percentile (`0 < p <= 100`).
    pub fn percentile(&self, p: f64) -> Duration {
        let n = self.sorted.len();
        // Nearest rank: ceil(p/100 * n), 1-based. The product is small and
        // non-negative, so the casts are exact.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }

    /// The smallest sample.
    pub fn min(&self) -> Duration {
        self.sorted[0]
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        self.sorted[self.sorted.len() - 1]
    }

    /// The arithmetic mean.
    pub fn mean(&self) -> Duration {
        let total: Duration = self.sorted.iter().sum();
        total / u32::try_from(self.sorted.len()).unwrap_or(u32::MAX)
    }

    /// One Markdown table row: `| label | n | p50 | p99 | min | max | mean |`.
    pub fn row(&self, label: &str) -> String {
        format!(
            "| {label} | {} | {} | {} | {} | {} | {} |\n",
            self.len(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.min()),
            ms(self.max()),
            ms(self.mean()),
        )
    }
}

/// The header of the table [`Samples::row`] fills.
pub const HEADER: &str =
    "| what | n | p50 | p99 | min | max | mean |\n|---|---:|---:|---:|---:|---:|---:|\n";

/// Milliseconds with one decimal, e.g. `12.3 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
