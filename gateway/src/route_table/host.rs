//! Host normalisation shared by compile and lookup.

use std::borrow::Cow;

/// Lower-cases a host and strips a port and a trailing dot. Borrows when nothing changes.
pub fn normalize_host(raw: &str) -> Cow<'_, str> {
    let host = strip_port(raw);
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// Drops a `:port` suffix (keeps bracketed IPv6 inner address).
pub fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize_host("Foo.Bar.com:8080"), "foo.bar.com");
        assert_eq!(normalize_host("foo.bar.com."), "foo.bar.com");
        assert!(matches!(normalize_host("foo.com"), Cow::Borrowed(_)));
        assert_eq!(normalize_host("[::1]:80"), "::1");
        assert_eq!(normalize_host("127.0.0.1:80"), "127.0.0.1");
    }
}
