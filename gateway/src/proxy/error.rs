//! Request-path errors → HTTP statuses, in one place. Upstream connect failures are 503 and
//! upstream timeouts 504 (as Envoy answers), bad upstream responses 502, client errors 400.

use bytes::Bytes;
use pingora::prelude::*;
use pingora::proxy::FailToProxy;
use pingora::{ErrorSource, ErrorType};

use super::grpc::{self, GrpcCall};

/// The route's destinations are all empty (every weight 0 or nothing configured).
pub fn no_upstream(ingress: &str) -> Box<Error> {
    Error::explain(
        ErrorType::HTTPStatus(503),
        format!("no upstream configured for the route of Ingress {ingress}"),
    )
}

/// The picked destination has no endpoint (unresolved DNS, no ready Service endpoint).
pub fn no_endpoint(destination: &str) -> Box<Error> {
    Error::explain(
        ErrorType::HTTPStatus(503),
        format!("no healthy upstream endpoint for {destination}"),
    )
}

/// Status and body for an error.
pub fn classify(e: &Error) -> (u16, &'static str) {
    use ErrorType::*;
    match e.etype() {
        HTTPStatus(503) => (503, "no healthy upstream"),
        HTTPStatus(code) => (*code, "request failed"),
        ConnectTimedout | ConnectRefused | ConnectNoRoute | ConnectError | BindError
        | TLSHandshakeFailure | TLSHandshakeTimedout | InvalidCert | SocketError => {
            (503, "upstream connect error")
        }
        ReadTimedout | WriteTimedout => match e.esource() {
            ErrorSource::Downstream => (408, "request timeout"),
            _ => (504, "upstream request timeout"),
        },
        _ => match e.esource() {
            ErrorSource::Upstream => match e.etype() {
                ConnectionClosed | ReadError | WriteError => (
                    503,
                    "upstream connect error or disconnect/reset before headers",
                ),
                _ => (502, "invalid upstream response"),
            },
            ErrorSource::Downstream => match e.etype() {
                WriteError | ReadError | ConnectionClosed => (0, ""),
                _ => (400, "bad request"),
            },
            ErrorSource::Internal | ErrorSource::Unset => (500, "internal error"),
        },
    }
}

/// The client-facing text for `e`: the summary, plus our own explanation if there is one
/// (upstream details stay in the logs).
fn message(e: &Error, summary: &str) -> String {
    let detail = match e.etype() {
        ErrorType::HTTPStatus(_) => e.context.as_ref().map(|c| c.as_str()).unwrap_or(""),
        _ => "",
    };
    if detail.is_empty() {
        format!("{summary}\n")
    } else {
        format!("{summary}: {detail}\n")
    }
}

/// Sends the error for `e` to a gRPC client as a trailers-only answer: DEADLINE_EXCEEDED when
/// its `grpc-timeout` ran out, else the status Envoy maps the HTTP status to.
pub async fn respond_grpc_error(session: &mut Session, e: &Error, call: GrpcCall) -> FailToProxy {
    let (code, summary) = classify(e);
    if code > 0 {
        let deadline_passed = call.remaining().is_some_and(|left| left.is_zero());
        let status = if code == 504 && deadline_passed {
            grpc::DEADLINE_EXCEEDED
        } else {
            grpc::status_for_http(code)
        };
        if let Err(write_err) = grpc::respond(session, status, &message(e, summary)).await {
            tracing::debug!("could not send error response: {write_err}");
        }
    }
    FailToProxy {
        error_code: code,
        can_reuse_downstream: false,
    }
}

/// Sends the error response for `e` (if the client is still there).
pub async fn respond_error(session: &mut Session, e: &Error) -> FailToProxy {
    let (code, summary) = classify(e);
    if code > 0 {
        let body = message(e, summary);
        if let Err(write_err) = session
            .respond_error_with_body(code, Bytes::from(body))
            .await
        {
            tracing::debug!("could not send error response: {write_err}");
        }
    }
    FailToProxy {
        error_code: code,
        can_reuse_downstream: false,
    }
}
