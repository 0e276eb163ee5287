//! Loopback port registry (sozu `e2e/src/port_registry.rs`): every port a test uses comes from
//! here, so no two parts of one test process ever share one.
//!
//! - [`listener`]: a bound, listening `127.0.0.1:0` socket for an in-process backend; the port
//!   stays taken as long as the listener lives.
//! - [`HeldPort`]: a port bound but not listening, so connecting to it is refused, that nobody
//!   else can take while it is held; [`HeldPort::listen`] later serves on the same socket.
//! - [`closed_port`]: a refusing address held until the process exits.
//! - [`free_port`]: a port number for another process (the gateway) to bind; it is released
//!   before returning, so [`crate::Gantry`] retries with a new port when it was taken.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;

use tokio::net::TcpSocket;

/// Every port this process has handed out.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Sockets behind [`closed_port`], held (bound, not listening) until the process exits.
static HELD_FOREVER: Mutex<Vec<HeldPort>> = Mutex::new(Vec::new());

/// Records `port` as handed out; false when it was handed out before.
fn register(port: u16) -> bool {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    guard.get_or_insert_with(HashSet::new).insert(port)
}

/// Returns a loopback port that was free a moment ago and that this process has
/// not handed out before.
///
/// The port is released before returning, so another process may still grab it;
/// [`crate::Gantry`] retries with a new port when its listener fails to bind.
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if register(port) {
            return port;
        }
    }
}

/// A listening socket on `127.0.0.1:<fresh port>` (blocking mode), for a backend.
pub fn listener() -> TcpListener {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if register(port) {
            return listener;
        }
    }
}

/// Returns a loopback address whose connections are refused for the rest of the test
/// process: the port is bound but never listens, and stays held, so no other backend (of
/// this or another process) can take it.
pub fn closed_port() -> SocketAddr {
    let held = HeldPort::new();
    let addr = held.addr();
    HELD_FOREVER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(held);
    addr
}

/// A loopback port bound but not listening: connections to it are refused (the kernel
/// answers with a reset), and no other socket can bind it while this value lives.
pub struct HeldPort {
    socket: TcpSocket,
    addr: SocketAddr,
}

// === impl HeldPort ===

impl HeldPort {
    /// Binds a fresh `127.0.0.1` port without listening on it.
    pub fn new() -> Self {
        loop {
            // No SO_REUSEADDR: then no other socket may bind the port, listening or not.
            let socket = TcpSocket::new_v4().expect("create socket");
            socket
                .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .expect("bind 127.0.0.1:0");
            let addr = socket.local_addr().expect("local_addr");
            if register(addr.port()) {
                return Self { socket, addr };
            }
        }
    }

    /// The held address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The held port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Starts listening on the held socket (the port is never released in between) and
    /// returns it as a blocking std listener, e.g. for [`crate::EchoServer::on`]. Must be
    /// called inside a Tokio runtime.
    pub fn listen(self) -> TcpListener {
        let listener = self.socket.listen(1024).expect("listen on the held port");
        let std = listener.into_std().expect("into std listener");
        std.set_nonblocking(false).expect("set blocking");
        std
    }
}

impl Default for HeldPort {
    fn default() -> Self {
        Self::new()
    }
}
