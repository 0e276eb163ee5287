//! Request headers added on the way upstream, as Higress (Envoy) sends them: Host kept,
//! `X-Forwarded-For` appended, `X-Forwarded-Proto`, `X-Request-Id` when missing, `X-Real-IP`.

use std::io::Write as _;
use std::net::IpAddr;

use http::HeaderValue;
use pingora::prelude::*;

use super::respond::is_tls;

/// Longest text form of an IP address (IPv6 with an embedded IPv4 part).
const MAX_IP_TEXT: usize = 45;

/// Adds the forwarding headers to the upstream request. Values are built on the stack and
/// copied once (each header costs one allocation for its value, static ones none).
pub fn add_forwarding_headers(
    session: &Session,
    req: &mut RequestHeader,
    x_real_ip: bool,
) -> Result<()> {
    if let Some(ip) = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
    {
        let mut buf = [0u8; MAX_IP_TEXT];
        let ip_text = ip_text(ip, &mut buf);
        let xff = match req
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .filter(|prev| !prev.trim().is_empty())
        {
            Some(prev) => HeaderValue::from_bytes(&[prev.as_bytes(), b", ", ip_text].concat()),
            None => HeaderValue::from_bytes(ip_text),
        };
        req.insert_header(
            "x-forwarded-for",
            xff.or_err(InvalidHTTPHeader, "X-Forwarded-For")?,
        )?;
        if x_real_ip {
            let real = HeaderValue::from_bytes(ip_text).or_err(InvalidHTTPHeader, "X-Real-IP")?;
            req.insert_header("x-real-ip", real)?;
        }
    }
    let proto = if is_tls(session) {
        HeaderValue::from_static("https")
    } else {
        HeaderValue::from_static("http")
    };
    req.insert_header("x-forwarded-proto", proto)?;
    if !req.headers.contains_key("x-request-id") {
        req.insert_header("x-request-id", request_id())?;
    }
    Ok(())
}

/// `ip` as text in `buf`.
fn ip_text(ip: IpAddr, buf: &mut [u8; MAX_IP_TEXT]) -> &[u8] {
    let mut rest = &mut buf[..];
    // An IP's text always fits MAX_IP_TEXT bytes, so the write cannot fail.
    let _ = write!(rest, "{ip}");
    let written = MAX_IP_TEXT - rest.len();
    &buf[..written]
}

/// A random UUID-v4-shaped request id (fast PRNG; ids need uniqueness, not secrecy).
fn request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = [0u8; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out[at] = b'-';
            at += 1;
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0x0f)];
        at += 2;
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(&out))
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    #[test]
    fn ip_text_fits_the_longest_address() {
        let mut buf = [0u8; super::MAX_IP_TEXT];
        let long: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        assert_eq!(
            super::ip_text(long, &mut buf),
            b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        let mapped: IpAddr = "::ffff:255.255.255.255".parse().unwrap();
        assert_eq!(super::ip_text(mapped, &mut buf), b"::ffff:255.255.255.255");
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(super::ip_text(v4, &mut buf), b"127.0.0.1");
    }

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let (a, b) = (super::request_id(), super::request_id());
        assert_ne!(a, b);
        let a = a.to_str().unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
