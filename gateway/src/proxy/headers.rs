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
        req.insert_header("x-request-id", uuid::Uuid::new_v4().to_string())?;
    }
    Ok(())
}
