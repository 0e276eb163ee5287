//! TLS handshakes completed on the HTTPS listener, counted per worker (the listener has no
//! handle on the gateway, so the counter is process-wide), and those that failed (counted
//! by the vendored pingora-core, where the failure happens).

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

/// Writes `gantry_tls_handshakes_total` and `gantry_tls_handshake_failures_total`.
pub fn render(e: &mut Exposition) {
    e.family(
        "gantry_tls_handshakes_total",
        Kind::Counter,
        "TLS handshakes completed on the HTTPS listener.",
    );
    e.sample("gantry_tls_handshakes_total", &[], handshakes() as f64);
    e.family(
        "gantry_tls_handshake_failures_total",
        Kind::Counter,
        "TLS handshakes on the HTTPS listener that failed or timed out (60 s).",
    );
    let failed = pingora::listeners::handshake_failures();
    e.sample("gantry_tls_handshake_failures_total", &[], failed as f64);
}
