//! Checks on the raw request before routing (400 answers).

use pingora::http::RequestHeader;

/// The raw request target must be origin-form (`/…`), absolute-form (`http(s)://…`) or
/// `*` (OPTIONS), without control characters or spaces (Pingora's parser is lenient and
/// would percent-encode them).
pub(super) fn valid_target(req: &RequestHeader) -> bool {
    let raw = req.raw_path();
    let form_ok = raw.starts_with(b"/")
        || raw.starts_with(b"http://")
        || raw.starts_with(b"https://")
        || (raw == b"*" && req.method == http::Method::OPTIONS)
        || (req.method == http::Method::CONNECT && !raw.is_empty());
    form_ok && !raw.iter().any(|b| *b <= b' ' || *b == 0x7f)
}

/// An HTTP/1.1 request without `Host` (RFC 9112 §3.2: answer 400); HTTP/1.0 may omit it.
pub(super) fn missing_host(req: &RequestHeader) -> bool {
    req.version == http::Version::HTTP_11 && !req.headers.contains_key(http::header::HOST)
}
