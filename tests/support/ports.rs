//! Loopback port allocation: ask the kernel for a free port on `127.0.0.1:0` and
//! never hand the same port out twice in one process (sozu `e2e/src/port_registry.rs`).

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Returns a loopback port that was free a moment ago and that this process has
/// not handed out before.
///
/// The port is released before returning, so another process may still grab it;
/// [`crate::Gantry`] retries with a new port when its listener fails to bind.
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

/// Returns a loopback address nobody listens on: connecting to it is refused.
pub fn closed_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}
