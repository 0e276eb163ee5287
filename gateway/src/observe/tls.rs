//! TLS handshakes completed on the HTTPS listener, counted per worker (the listener has no
//! handle on the gateway, so the counter is process-wide).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use super::exposition::{Exposition, Kind};
use super::shard::Sharded;

static HANDSHAKES: LazyLock<Sharded<AtomicU64>> = LazyLock::new(Sharded::new);

/// Counts one completed handshake (called from the handshake callback).
pub fn handshake_completed() {
    HANDSHAKES.local().fetch_add(1, Ordering::Relaxed);
}

/// Handshakes completed so far.
pub fn handshakes() -> u64 {
    HANDSHAKES.all().map(|c| c.load(Ordering::Relaxed)).sum()
}

/// Writes `gantry_tls_handshakes_total`.
pub fn render(e: &mut Exposition) {
    e.family(
        "gantry_tls_handshakes_total",
        Kind::Counter,
        "TLS handshakes completed on the HTTPS listener.",
    );
    e.sample("gantry_tls_handshakes_total", &[], handshakes() as f64);
}
