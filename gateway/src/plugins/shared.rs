//! State a plugin's VMs share (Envoy shares it between the VMs of one `vm_id`): shared data
//! with compare-and-swap, shared queues, and metrics. Locks here are short and only taken
//! by plugins that use these calls.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A metric a plugin defined (`proxy_define_metric`).
#[derive(Debug)]
pub struct Metric {
    /// 0 counter, 1 gauge, 2 histogram.
    pub kind: i32,
    /// Name as the plugin gave it.
    pub name: String,
    /// Current value (counter/gauge; last sample for a histogram).
    pub value: AtomicI64,
    /// Sum of a histogram's samples.
    sum: AtomicI64,
    /// Number of a histogram's samples.
    count: AtomicU64,
}

/// Metric kinds, as `proxy_define_metric` numbers them.
pub const COUNTER: i32 = 0;
/// See [`COUNTER`].
pub const GAUGE: i32 = 1;
/// See [`COUNTER`].
pub const HISTOGRAM: i32 = 2;

/// One metric's values at a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricValue {
    /// Name as the plugin gave it.
    pub name: String,
    /// 0 counter, 1 gauge, 2 histogram.
    pub kind: i32,
    /// Counter or gauge value; a histogram's last sample.
    pub value: i64,
    /// A histogram's sum of samples (0 otherwise).
    pub sum: i64,
    /// A histogram's number of samples (0 otherwise).
    pub count: u64,
}

// === impl Metric ===

impl Metric {
    /// `proxy_record_metric`: sets a counter or gauge; adds a sample to a histogram.
    pub fn record(&self, value: i64) {
        self.value.store(value, Ordering::Relaxed);
        if self.kind == HISTOGRAM {
            self.sum.fetch_add(value, Ordering::Relaxed);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `proxy_increment_metric`: adds to a counter or gauge (a histogram takes a sample).
    pub fn increment(&self, by: i64) {
        if self.kind == HISTOGRAM {
            self.record(by);
        } else {
            self.value.fetch_add(by, Ordering::Relaxed);
        }
    }
}

/// Shared data, queues and metrics of one plugin.
#[derive(Debug, Default)]
pub struct SharedState {
    data: Mutex<HashMap<String, (Vec<u8>, u32)>>,
    queues: Mutex<Queues>,
    metrics: Mutex<Vec<std::sync::Arc<Metric>>>,
}

#[derive(Debug, Default)]
struct Queues {
    by_name: HashMap<String, u32>,
    items: HashMap<u32, VecDeque<Vec<u8>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Why a shared-data write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasMismatch {
    /// The stored version differs from the one given.
    Mismatch,
}

/// A queue id that was never registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchQueue;

// === impl SharedState ===

impl SharedState {
    /// The value and its version (`cas`) under `key`.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        lock(&self.data).get(key).cloned()
    }

    /// Stores `value` under `key` if `cas` is 0 or matches the stored version.
    pub fn set(&self, key: &str, value: Vec<u8>, cas: u32) -> Result<(), CasMismatch> {
        let mut data = lock(&self.data);
        let entry = data.entry(key.to_owned()).or_insert((Vec::new(), 0));
        if cas != 0 && cas != entry.1 {
            return Err(CasMismatch::Mismatch);
        }
        *entry = (value, entry.1.wrapping_add(1).max(1));
        Ok(())
    }

    /// The id of queue `name`, registering it when new.
    pub fn register_queue(&self, name: &str) -> u32 {
        let mut q = lock(&self.queues);
        if let Some(id) = q.by_name.get(name) {
            return *id;
        }
        let id = q.by_name.len() as u32 + 1;
        q.by_name.insert(name.to_owned(), id);
        q.items.insert(id, VecDeque::new());
        id
    }

    /// The id of an existing queue `name`.
    pub fn resolve_queue(&self, name: &str) -> Option<u32> {
        lock(&self.queues).by_name.get(name).copied()
    }

    /// Appends to queue `id`; false when there is no such queue.
    pub fn enqueue(&self, id: u32, value: Vec<u8>) -> bool {
        match lock(&self.queues).items.get_mut(&id) {
            Some(q) => {
                q.push_back(value);
                true
            }
            None => false,
        }
    }

    /// Takes the oldest item of queue `id` (`Err` when there is no such queue).
    pub fn dequeue(&self, id: u32) -> Result<Option<Vec<u8>>, NoSuchQueue> {
        match lock(&self.queues).items.get_mut(&id) {
            Some(q) => Ok(q.pop_front()),
            None => Err(NoSuchQueue),
        }
    }

    /// The id of metric `name` (defined when new).
    pub fn define_metric(&self, kind: i32, name: &str) -> u32 {
        let mut m = lock(&self.metrics);
        if let Some(i) = m.iter().position(|x| x.name == name) {
            return i as u32 + 1;
        }
        m.push(std::sync::Arc::new(Metric {
            kind,
            name: name.to_owned(),
            value: AtomicI64::new(0),
            sum: AtomicI64::new(0),
            count: AtomicU64::new(0),
        }));
        m.len() as u32
    }

    /// Metric `id`.
    pub fn metric(&self, id: u32) -> Option<std::sync::Arc<Metric>> {
        let m = lock(&self.metrics);
        m.get((id as usize).checked_sub(1)?).cloned()
    }

    /// All metrics with their current values, in definition order (for the metrics port).
    pub fn metrics(&self) -> Vec<MetricValue> {
        lock(&self.metrics)
            .iter()
            .map(|m| MetricValue {
                name: m.name.clone(),
                kind: m.kind,
                value: m.value.load(Ordering::Relaxed),
                sum: m.sum.load(Ordering::Relaxed),
                count: m.count.load(Ordering::Relaxed),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_keep_sum_and_count_counters_add() {
        let s = SharedState::default();
        let c = s.define_metric(COUNTER, "c");
        let h = s.define_metric(HISTOGRAM, "h");
        assert_eq!(s.define_metric(COUNTER, "c"), c, "defined once");
        for v in [3, 5] {
            s.metric(c).unwrap().increment(v);
            s.metric(h).unwrap().record(v);
        }
        let values = s.metrics();
        assert_eq!((values[0].value, values[0].count), (8, 0));
        assert_eq!((values[1].value, values[1].sum, values[1].count), (5, 8, 2));
    }
}
