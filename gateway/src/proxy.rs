//! The Pingora proxy: `request_filter` finds the route (404 when none), `upstream_peer`
//! picks the endpoint (503 when none), `upstream_request_filter` adds forwarding headers,
//! `fail_to_proxy` turns errors into statuses with a clear body.
//!
//! Each request loads one `Arc<RouteTable>` and keeps it, so a reload never changes the
//! table under a request.

pub mod error;
pub mod headers;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::FailToProxy;

use crate::route_table::{normalize_host, RouteAction, RouteId, RouteTable};
use crate::upstream::Target;

/// Time allowed to open a connection to an upstream endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connection attempts per request when an endpoint refuses (Istio's default retry policy
/// retries connect failures).
const MAX_CONNECT_TRIES: u8 = 3;

/// Serves requests from a swappable route table.
pub struct GatewayProxy {
    table: Arc<ArcSwap<RouteTable>>,
}

/// Per-request state.
#[derive(Default)]
pub struct RequestCtx {
    table: Option<Arc<RouteTable>>,
    route: Option<RouteId>,
    target: Option<Arc<Target>>,
    connect_tries: u8,
}

// === impl GatewayProxy ===

impl GatewayProxy {
    /// A proxy over `table`.
    pub fn new(table: Arc<ArcSwap<RouteTable>>) -> Self {
        Self { table }
    }
}

/// Writes a short plain-text response, keeping the connection open.
pub(crate) async fn respond(session: &mut Session, status: u16, body: String) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(3))?;
    resp.insert_header("content-type", "text/plain; charset=utf-8")?;
    resp.insert_header("content-length", body.len().to_string())?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(body)), true)
        .await
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> Self::CTX {
        RequestCtx::default()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Self::CTX) -> Result<bool> {
        let table = self.table.load_full();
        let req = session.req_header();
        let raw_host = req
            .uri
            .host()
            .or_else(|| {
                req.headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            })
            .unwrap_or("");
        let host = normalize_host(raw_host);
        let path = req.uri.path();
        let span = tracing::debug_span!("request", host = %host, path = %path);
        let _enter = span.enter();
        match table.find_id(&host, path) {
            Some(id) => {
                tracing::debug!(ingress = %table.route(id).ingress, "route matched");
                ctx.route = Some(id);
                ctx.table = Some(table);
                Ok(false)
            }
            None => {
                let body = format!("no route matches host {host:?} and path {path:?}\n");
                drop(_enter);
                respond(session, 404, body).await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> Result<Box<HttpPeer>> {
        let (Some(table), Some(id)) = (&ctx.table, ctx.route) else {
            return Err(Error::explain(InternalError, "no route selected"));
        };
        let route = table.route(id);
        let RouteAction::Forward(group) = &route.action;
        let Some(dest) = group.pick() else {
            return Err(error::no_upstream(&route.ingress));
        };
        let Some(endpoint) = dest.target.pick() else {
            return Err(error::no_endpoint(&dest.label));
        };
        ctx.target = Some(dest.target.clone());
        let (tls, sni) = match dest.target.tls() {
            Some(t) => (true, t.sni.clone()),
            None => (false, String::new()),
        };
        let mut peer = HttpPeer::new(endpoint.addr, tls, sni);
        peer.options.connection_timeout = Some(CONNECT_TIMEOUT);
        Ok(Box::new(peer))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Self::CTX,
        mut e: Box<Error>,
    ) -> Box<Error> {
        ctx.connect_tries += 1;
        let others = ctx.target.as_ref().is_some_and(|t| t.endpoints().len() > 1);
        if ctx.connect_tries < MAX_CONNECT_TRIES && others {
            e.set_retry(true);
        }
        e
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut Self::CTX,
    ) -> Result<()> {
        headers::add_forwarding_headers(session, upstream_request)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        _ctx: &mut Self::CTX,
    ) -> FailToProxy {
        error::respond_error(session, e).await
    }
}
