//! Listener pre-flight: bind each port once so a busy or privileged port fails with a
//! message that names the flag to change, before Pingora takes the socket. Also binds the
//! admin API's listener.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::bail;
use tokio::net::TcpSocket;

/// Checks that `bind:port` can be listened on. `flag` names the option that sets it.
pub fn check(bind: &str, port: u16, flag: &str) -> anyhow::Result<()> {
    if port == 0 {
        return Ok(());
    }
    match std::net::TcpListener::bind((bind, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "cannot listen on {bind}:{port}: permission denied. Ports below 1024 need root or \
             CAP_NET_BIND_SERVICE (sudo setcap cap_net_bind_service=+ep $(which gantry)); \
             or pick another port with {flag} (e.g. {flag} 8080)"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "cannot listen on {bind}:{port}: the port is already in use; stop the other \
             process or pick another port with {flag}"
        ),
        Err(e) => bail!("cannot listen on {bind}:{port} ({flag}): {e}"),
    }
}

/// The admin API's listener on `addr` (`host:port`), with `SO_REUSEPORT` so that the process
/// taking over on `--upgrade` can bind it while the old one still serves (only processes of
/// the same user may share the port). Must be called inside a Tokio runtime.
pub fn admin_listener(addr: &str, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let addr: SocketAddr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "no address"))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// `host:port` for a listener address, bracketing IPv6.
pub fn addr(bind: &str, port: u16) -> String {
    if bind.contains(':') {
        format!("[{bind}]:{port}")
    } else {
        format!("{bind}:{port}")
    }
}
