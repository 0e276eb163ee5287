//! The gateway's own answers (404, 403, 429, redirects, preflights) and the connection
//! facts filters ask about (TLS, client address).

use bytes::Bytes;
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Result;

use super::grpc;

/// Writes a short response with extra headers, keeping the connection open. An error
/// status for a gRPC request becomes a trailers-only gRPC answer (as Envoy's local replies).
pub(crate) async fn respond(
    session: &mut Session,
    status: u16,
    headers: Vec<(&'static str, HeaderValue)>,
    body: String,
) -> Result<()> {
    if status >= 400 && grpc::GrpcCall::of(session.req_header()).is_some() {
        return grpc::respond(session, grpc::status_for_http(status), &body).await;
    }
    let mut resp = ResponseHeader::build(status, Some(4 + headers.len()))?;
    for (name, value) in headers {
        resp.insert_header(name, value)?;
    }
    if !body.is_empty() {
        resp.insert_header("content-type", "text/plain; charset=utf-8")?;
    }
    resp.insert_header("content-length", body.len().to_string())?;
    let head_only = body.is_empty();
    session
        .write_response_header(Box::new(resp), head_only)
        .await?;
    if !head_only {
        session
            .write_response_body(Some(Bytes::from(body)), true)
            .await?;
    }
    Ok(())
}

/// True when the client connection is TLS.
pub(crate) fn is_tls(session: &Session) -> bool {
    session
        .digest()
        .and_then(|d| d.ssl_digest.as_ref())
        .is_some()
}

/// The client's IP address (none on a Unix socket).
pub(crate) fn client_ip(session: &Session) -> Option<std::net::IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}

/// Writes a filter's reply (status, its headers, body with `content-length`) as the whole
/// response.
pub(crate) async fn write_reply(
    session: &mut Session,
    reply: crate::filter::PendingReply,
) -> Result<()> {
    let mut resp = ResponseHeader::build(reply.status, Some(reply.headers.len() + 1))?;
    for (name, value) in &reply.headers {
        if name.starts_with(':') || name == "content-length" || name == "transfer-encoding" {
            continue;
        }
        resp.append_header(name.clone(), value.as_slice())?;
    }
    resp.insert_header("content-length", reply.body.len().to_string())?;
    let head_only = reply.body.is_empty();
    session
        .write_response_header(Box::new(resp), head_only)
        .await?;
    if !head_only {
        session.write_response_body(Some(reply.body), true).await?;
    }
    Ok(())
}

/// Sends a filter's [`crate::filter::PendingReply`] from `fail_to_proxy`; the connection is
/// not reused (the request body may not have been read to its end).
pub(crate) async fn send_pending(
    session: &mut Session,
    reply: crate::filter::PendingReply,
) -> pingora::proxy::FailToProxy {
    let status = reply.status;
    if let Err(e) = write_reply(session, reply).await {
        tracing::debug!("could not send a filter's reply: {e}");
    }
    pingora::proxy::FailToProxy {
        error_code: status,
        can_reuse_downstream: false,
    }
}
