//! Request headers added on the way upstream, as Higress (Envoy) sends them: Host kept,
//! `X-Forwarded-For` appended, `X-Forwarded-Proto`, `X-Request-Id` when missing, `X-Real-IP`.

use pingora::prelude::*;

/// Adds the forwarding headers to the upstream request.
pub fn add_forwarding_headers(
    session: &Session,
    req: &mut RequestHeader,
    x_real_ip: bool,
) -> Result<()> {
    let client_ip = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip().to_string());
    if let Some(ip) = &client_ip {
        let xff = match req
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            Some(prev) if !prev.trim().is_empty() => format!("{prev}, {ip}"),
            _ => ip.clone(),
        };
        req.insert_header("x-forwarded-for", xff)?;
        if x_real_ip {
            req.insert_header("x-real-ip", ip.as_str())?;
        }
    }
    let proto = if session
        .digest()
        .and_then(|d| d.ssl_digest.as_ref())
        .is_some()
    {
        "https"
    } else {
        "http"
    };
    req.insert_header("x-forwarded-proto", proto)?;
    if !req.headers.contains_key("x-request-id") {
        req.insert_header("x-request-id", request_id())?;
    }
    Ok(())
}

/// A random UUID-v4-shaped request id (fast PRNG; ids need uniqueness, not secrecy).
fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_look_like_uuid_v4() {
        let a = super::request_id();
        let b = super::request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
