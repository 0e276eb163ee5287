//! Envoy's response flags and details for a finished request, from the error that ended it
//! (if any), whether a route matched and the status sent.

use pingora::{Error, ErrorSource, ErrorType};

/// `(RESPONSE_FLAGS, RESPONSE_CODE_DETAILS)` for a request.
pub fn of(
    error: Option<&Error>,
    routed: bool,
    picked_upstream: bool,
    status: u16,
) -> (&'static str, &'static str) {
    if let Some(e) = error {
        use ErrorType::*;
        return match (e.etype(), e.esource()) {
            (HTTPStatus(503), _) if !picked_upstream => ("UH", "no_healthy_upstream"),
            (
                ConnectTimedout | ConnectRefused | ConnectNoRoute | ConnectError
                | TLSHandshakeFailure | TLSHandshakeTimedout | InvalidCert,
                _,
            ) => (
                "UF",
                "upstream_reset_before_response_started{connection_failure}",
            ),
            (ReadTimedout | WriteTimedout, ErrorSource::Upstream | ErrorSource::Unset) => {
                ("UT", "upstream_response_timeout")
            }
            (_, ErrorSource::Downstream) => ("DC", "downstream_remote_disconnect"),
            (_, ErrorSource::Upstream) => ("UC", "upstream_reset_before_response_started"),
            _ => ("-", "internal_error"),
        };
    }
    match status {
        404 if !routed => ("NR", "route_not_found"),
        429 if !picked_upstream => ("RL", "local_rate_limited"),
        _ if picked_upstream => ("-", "via_upstream"),
        _ => ("-", "direct_response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        assert_eq!(of(None, false, false, 404).0, "NR");
        assert_eq!(of(None, true, true, 200), ("-", "via_upstream"));
        assert_eq!(of(None, true, false, 429).0, "RL");
        let e = Error::new(ErrorType::ConnectRefused);
        assert_eq!(of(Some(&e), true, true, 503).0, "UF");
        let e = Error::explain(ErrorType::HTTPStatus(503), "none");
        assert_eq!(of(Some(&e), true, false, 503).0, "UH");
        let e = Error::new_up(ErrorType::ReadTimedout);
        assert_eq!(of(Some(&e), true, true, 504).0, "UT");
    }
}
