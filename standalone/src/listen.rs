//! Listener pre-flight: bind each port once so a busy or privileged port fails with a
//! message that names the flag to change, before Pingora takes the socket.

use anyhow::bail;

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

/// `host:port` for a listener address, bracketing IPv6.
pub fn addr(bind: &str, port: u16) -> String {
    if bind.contains(':') {
        format!("[{bind}]:{port}")
    } else {
        format!("{bind}:{port}")
    }
}
