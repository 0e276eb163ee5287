//! Per-worker shards: each thread writes its own cache-line-aligned copy of a counter block,
//! so counting takes no lock and bounces no cache line; a scrape sums the shards.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Shards per counter block. Threads beyond this share shards (still correct, a little
/// contention).
pub const SHARDS: usize = 16;

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The calling thread's shard (assigned round robin at its first use).
pub fn index() -> usize {
    INDEX.with(|i| {
        let v = i.get();
        if v != usize::MAX {
            return v;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
        i.set(n);
        n
    })
}

/// A value alone on its cache lines (128 bytes: two lines, for adjacent-line prefetch).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

/// One `T` per shard.
#[derive(Debug)]
pub struct Sharded<T> {
    shards: Box<[Padded<T>]>,
}

// === impl Sharded ===

impl<T: Default> Sharded<T> {
    /// [`SHARDS`] default values.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Padded::default()).collect(),
        }
    }
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Sharded<T> {
    /// The calling thread's shard.
    pub fn local(&self) -> &T {
        &self.shards[index() % self.shards.len()].0
    }

    /// Every shard, for aggregation.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().map(|p| &p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn shards_sum_across_threads() {
        let c: std::sync::Arc<Sharded<AtomicU64>> = Default::default();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.local().fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        let sum: u64 = c.all().map(|a| a.load(Ordering::Relaxed)).sum();
        assert_eq!(sum, 8000);
        assert_eq!(std::mem::align_of::<Padded<u8>>(), 128);
    }
}
