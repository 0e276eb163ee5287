//! Upstream groups: a route's weighted destinations, each a [`Target`] whose endpoints
//! discovery keeps current. Picking is lock-free: smooth weighted round robin across
//! destinations (schedule precomputed at compile time), round robin across endpoints.

pub mod identity;
pub mod schedule;
pub mod target;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Serialize;

use schedule::smooth_schedule;

pub use target::{Endpoint, Lease, PickHint, Target, TargetOptions, TargetSpec, UpstreamTls};

/// One destination of a group.
#[derive(Debug, Clone)]
pub struct Destination {
    /// Relative weight (> 0).
    pub weight: u32,
    /// How the user named it (`httpbin.dns`, `svc:80`).
    pub label: String,
    /// Its endpoints.
    pub target: Arc<Target>,
}

/// The destinations of one route.
#[derive(Debug)]
pub struct UpstreamGroup {
    destinations: Vec<Destination>,
    /// Destination indices in smooth weighted round-robin order.
    schedule: Vec<u16>,
    next: AtomicUsize,
}

/// Serialisable description of one destination.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationInfo {
    /// Weight.
    pub weight: u32,
    /// Name as configured.
    pub name: String,
    /// Resolved target key.
    pub target: String,
    /// Current endpoints.
    pub endpoints: Vec<String>,
}

// === impl UpstreamGroup ===

impl UpstreamGroup {
    /// Builds a group; destinations with weight 0 are dropped. An empty group always
    /// answers "no endpoint" (503).
    pub fn new(destinations: Vec<Destination>) -> Self {
        let destinations: Vec<_> = destinations.into_iter().filter(|d| d.weight > 0).collect();
        let schedule = smooth_schedule(&destinations.iter().map(|d| d.weight).collect::<Vec<_>>());
        Self {
            destinations,
            schedule,
            next: AtomicUsize::new(0),
        }
    }

    /// Picks the destination for the next request.
    pub fn pick(&self) -> Option<&Destination> {
        match self.destinations.len() {
            0 => None,
            1 => self.destinations.first(),
            _ => {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let idx = self.schedule[n % self.schedule.len()];
                self.destinations.get(idx as usize)
            }
        }
    }

    /// The destinations.
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// A serialisable view.
    pub fn describe(&self) -> Vec<DestinationInfo> {
        self.destinations
            .iter()
            .map(|d| DestinationInfo {
                weight: d.weight,
                name: d.label.clone(),
                target: d.target.key().to_string(),
                endpoints: d
                    .target
                    .endpoints()
                    .iter()
                    .map(|e| e.addr.to_string())
                    .collect(),
            })
            .collect()
    }
}
