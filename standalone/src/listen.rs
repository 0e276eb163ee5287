//! Listener pre-flight: two listeners asking for one port are refused naming both flags,
//! and each port is bound once so a busy or privileged port fails with a message that names
//! the flag to change, before Pingora takes the socket. Also binds the admin API's, metrics
//! and health listeners, and waits until the gateway's listener accepts.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::bail;
use tokio::net::TcpSocket;

/// One listener the flags ask for.
#[derive(Debug, Clone)]
pub struct PortUse {
    /// Address to bind.
    pub bind: String,
    /// Port (0 = off).
    pub port: u16,
    /// The flag that sets it (`--http-port`).
    pub flag: &'static str,
}

/// Refuses two enabled listeners on one port whose addresses overlap (equal, or one is the
/// wildcard), naming both flags; every clash is reported at once.
pub fn check_distinct(ports: &[PortUse]) -> anyhow::Result<()> {
    let wildcard = |b: &str| matches!(b, "0.0.0.0" | "::" | "[::]" | "");
    let mut clashes = Vec::new();
    for (i, a) in ports.iter().enumerate().filter(|(_, p)| p.port != 0) {
        for b in ports[i + 1..].iter().filter(|b| b.port == a.port) {
            if a.bind == b.bind || wildcard(&a.bind) || wildcard(&b.bind) {
                clashes.push(format!(
                    "{} {} and {} {} ask for the same port; give one of them another value",
                    a.flag, a.port, b.flag, b.port
                ));
            }
        }
    }
    if clashes.is_empty() {
        Ok(())
    } else {
        bail!("{}", clashes.join("\n"))
    }
}

/// A port to suggest instead of a privileged one: 80 → 10080, 443 → 10443.
fn unprivileged(port: u16) -> u16 {
    port.saturating_add(10_000)
}

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
             or pick an unprivileged port with {flag} (e.g. {flag} {})",
            unprivileged(port)
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

/// Returns once `addr` (`host:port`, a wildcard host probed on loopback) accepts a TCP
/// connection, polling every 50 ms.
pub async fn wait_accepting(addr: &str) {
    let probe = addr
        .replacen("0.0.0.0:", "127.0.0.1:", 1)
        .replacen("[::]:", "[::1]:", 1);
    loop {
        if tokio::net::TcpStream::connect(&probe).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bind: &str, port: u16, flag: &'static str) -> PortUse {
        PortUse {
            bind: bind.into(),
            port,
            flag,
        }
    }

    #[test]
    fn clashing_ports_name_both_flags() {
        let err = check_distinct(&[
            at("0.0.0.0", 8080, "--http-port"),
            at("0.0.0.0", 0, "--https-port"),
            at("127.0.0.1", 8080, "--console-port"),
            at("0.0.0.0", 0, "--metrics-port"),
        ])
        .expect_err("clash");
        assert_eq!(
            err.to_string(),
            "--http-port 8080 and --console-port 8080 ask for the same port; give one of them another value"
        );
        assert!(check_distinct(&[
            at("127.0.0.1", 9000, "--http-port"),
            at("127.0.0.2", 9000, "--console-port"),
            at("0.0.0.0", 0, "--https-port"),
            at("0.0.0.0", 0, "--metrics-port"),
        ])
        .is_ok());
        assert_eq!(unprivileged(80), 10080);
    }
}
