//! The Pingora proxy. Phases, in order:
//! - `request_filter`: find the route (404), then walk the route's filter chain
//!   (`filter.rs`: IP access 403, rate limit 429, CORS preflight, Wasm plugins), then https
//!   and URL redirects; prepare retries.
//! - `upstream_peer`: pick destination (fallback when unavailable) and endpoint (503), set
//!   protocol, TLS and timeouts.
//! - `upstream_request_filter`: forwarding headers, then the chain (rewrite, header control,
//!   mirror copy).
//! - `request_body_filter`: the chain, in order.
//! - `upstream_response_filter`: retry or fall back on configured statuses.
//! - `response_filter`: gzip choice, affinity cookie, then the chain in reverse (header
//!   control, Wasm plugins, CORS).
//! - `response_body_filter`, `logging`: the chain (reverse, then in order).
//! - `fail_to_proxy`: errors become statuses with a clear body (`proxy/error.rs`).
//!
//! gRPC calls (`proxy/grpc.rs`) get their `grpc-timeout` as the upstream timeout, and the
//! gateway's own answers to them are trailers-only gRPC responses.
//!
//! Each request loads one `Arc<RouteTable>` and keeps it, so a reload never changes the
//! table under a request.

mod ctx;
pub mod error;
pub mod grpc;
pub mod headers;
mod peer;
mod request_checks;
pub(crate) mod respond;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use config_store::annotations::LoadBalance;
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::modules::http::compression::ResponseCompression;
use pingora::prelude::*;
use pingora::protocols::http::compression::Algorithm;
use pingora::proxy::{FailToProxy, RequestHeaderTimeouts};
use pingora::ErrorType;

use ctx::Fallback;
pub use ctx::RequestCtx;
use peer::{peer, pick_hint};
use request_checks::{missing_host, valid_target};
use respond::{is_tls, respond};

use crate::filter::Flow;
use crate::policy::redirect::RedirectTo;
use crate::route_table::{normalize_host, RouteAction, RouteTable};
use crate::tls::handshake::TlsInfo;
use crate::upstream::PickHint;

/// Connection attempts per request when an endpoint refuses and no retry policy is set
/// (Istio's default policy retries connect failures).
const DEFAULT_CONNECT_TRIES: u32 = 3;

/// Serves requests from a swappable route table.
pub struct GatewayProxy {
    table: Arc<ArcSwap<RouteTable>>,
    observe: Arc<crate::observe::Observe>,
}

// === impl GatewayProxy ===

impl GatewayProxy {
    /// A proxy over `table`.
    pub fn new(table: Arc<ArcSwap<RouteTable>>) -> Self {
        Self::with_observe(table, Arc::default())
    }

    /// A proxy over `table` that reports to `observe` (metrics, access log).
    pub fn with_observe(
        table: Arc<ArcSwap<RouteTable>>,
        observe: Arc<crate::observe::Observe>,
    ) -> Self {
        Self { table, observe }
    }
}

/// The request's host as sent: the URI's authority, else the `Host` header.
fn raw_host(req: &RequestHeader) -> &str {
    req.uri
        .host()
        .or_else(|| {
            req.headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .unwrap_or("")
}

/// A status error that we decided to retry.
fn retry_error(status: u16, why: &'static str) -> Box<Error> {
    let mut e = Error::explain(ErrorType::HTTPStatus(status), why);
    e.set_retry(true);
    e
}

impl ProxyHttp for GatewayProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> Self::CTX {
        RequestCtx::default()
    }

    async fn early_request_filter(&self, session: &mut Session, ctx: &mut Self::CTX) -> Result<()> {
        let table = self.table.load_full();
        let accepts_gzip = || {
            crate::policy::accept_encoding::accepts_gzip(
                session
                    .req_header()
                    .headers
                    .get_all(http::header::ACCEPT_ENCODING),
            )
        };
        if let Some(gzip) = table.global().gzip.as_ref().filter(|_| accepts_gzip()) {
            // Enabled before the compression module reads Accept-Encoding (only for clients
            // that accept gzip); switched off again in `response_filter` for responses
            // `higress-config` does not compress.
            if let Some(c) = session
                .downstream_modules_ctx
                .get_mut::<ResponseCompression>()
            {
                c.adjust_algorithm_level(Algorithm::Gzip, gzip.level);
            }
        }
        ctx.table = Some(table);
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Self::CTX) -> Result<bool> {
        // Requests pipelined behind this one on an HTTP/1.1 connection are answered in order
        // (RFC 9112 §9.3.2) instead of closing the connection after the first.
        session.as_downstream_mut().set_pipelining_enabled(true);
        ctx.grpc = grpc::GrpcCall::of(session.req_header());
        if !valid_target(session.req_header()) {
            respond(session, 400, Vec::new(), "invalid request target\n".into()).await?;
            return Ok(true);
        }
        if missing_host(session.req_header()) {
            respond(session, 400, Vec::new(), "missing Host header\n".into()).await?;
            return Ok(true);
        }
        let table = match ctx.table.clone() {
            Some(t) => t,
            None => self.table.load_full(),
        };
        let global = table.global();
        // Only on a connection that stays open: HTTP/1.0 without `Connection: keep-alive` or
        // a `Connection: close` request closes after the answer.
        if let Some(idle) = global
            .idle_timeout
            .filter(|_| session.get_keepalive().is_some())
        {
            session.set_keepalive(Some(idle));
        }
        let header_bytes: usize = session
            .req_header()
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum();
        if header_bytes > global.max_request_header_bytes {
            respond(
                session,
                431,
                Vec::new(),
                "request header fields too large\n".into(),
            )
            .await?;
            return Ok(true);
        }
        let req = session.req_header();
        let host = normalize_host(raw_host(req)).into_owned();
        let span = tracing::debug_span!("request", host = %host, path = %req.uri.path());
        let _enter = span.enter();
        let Some(id) = table.find_id(&host, req) else {
            let body = format!(
                "no route matches host {host:?} and path {:?}\n",
                req.uri.path()
            );
            drop(_enter);
            respond(session, 404, Vec::new(), body).await?;
            return Ok(true);
        };
        if is_tls(session) {
            if let Some(rules) = table.tls_policies().get(&host) {
                let info = session
                    .digest()
                    .and_then(|d| d.ssl_digest.as_ref())
                    .and_then(|d| d.extension.get::<TlsInfo>());
                if let Err((status, reason)) = rules.check(info) {
                    drop(_enter);
                    respond(session, status, Vec::new(), format!("{reason}\n")).await?;
                    return Ok(true);
                }
            }
        }
        let route = table.route(id);
        tracing::debug!(ingress = %route.ingress, "route matched");
        drop(_enter);
        let policy = route.policy.clone();
        let redirect = match &route.action {
            RouteAction::Redirect(to) => Some(to.clone()),
            RouteAction::Forward(_)
                if (policy.https_redirect || table.https_only(&host)) && !is_tls(session) =>
            {
                Some(RedirectTo::Https)
            }
            RouteAction::Forward(_) => None,
        };
        ctx.host = host;
        ctx.route = Some(id);
        ctx.table = Some(table);
        ctx.filter_states = (0..policy.filters.len()).map(|_| None).collect();
        let mut states = std::mem::take(&mut ctx.filter_states);
        let mut flow = Ok(Flow::Continue);
        for (filter, state) in policy.filters.filters().iter().zip(states.iter_mut()) {
            flow = filter.request_filter(session, ctx, state).await;
            if !matches!(flow, Ok(Flow::Continue)) {
                break;
            }
        }
        ctx.filter_states = states;
        if flow? == Flow::Responded {
            return Ok(true);
        }
        if let Some(to) = redirect {
            let req = session.req_header();
            let scheme = if is_tls(session) { "https" } else { "http" };
            let location = to.location(scheme, raw_host(req), req.uri.path(), req.uri.query());
            let location = HeaderValue::from_str(&location)
                .map_err(|_| Error::explain(InternalError, "bad redirect location"))?;
            respond(
                session,
                to.code(),
                vec![("location", location)],
                String::new(),
            )
            .await?;
            return Ok(true);
        }
        if policy.retry.is_some() || !policy.fallback_statuses.is_empty() {
            session.as_downstream_mut().enable_retry_buffering();
        }
        Ok(false)
    }

    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> Result<Box<HttpPeer>> {
        let Some(route) = ctx.route() else {
            return Err(Error::explain(InternalError, "no route selected"));
        };
        let policy = route.policy.clone();
        let RouteAction::Forward(primary) = &route.action else {
            return Err(Error::explain(
                InternalError,
                "redirect route reached the upstream phase",
            ));
        };
        let group = match (&ctx.fallback, &policy.fallback) {
            (Some(_), Some(fallback)) => fallback.clone(),
            _ => primary.clone(),
        };
        let ingress = route.ingress.clone();
        let picked = group.pick().map(|d| (d.target.clone(), d.label.clone()));
        let Some((target, label)) = picked else {
            return Err(error::no_upstream(&ingress));
        };
        let hint = pick_hint(session, &ctx.host, &target.options().balance);
        let lease = match target.pick(hint) {
            Some(lease) => lease,
            None => {
                // Unavailable primary: serve from the fallback backend, if any.
                if ctx.fallback.is_none() {
                    if let Some(fallback) = policy.fallback.as_ref().and_then(|g| g.pick()) {
                        if let Some(lease) = fallback.target.pick(PickHint::default()) {
                            ctx.fallback = Some(Fallback::Unavailable);
                            return Ok(peer(ctx, fallback.target.clone(), lease, &policy));
                        }
                    }
                }
                return Err(error::no_endpoint(&label));
            }
        };
        if let LoadBalance::Cookie { name, path, ttl } = &target.options().balance {
            if hint.cookie != Some(lease.id()) {
                let max_age = ttl
                    .map(|t| format!("; Max-Age={}", t.as_secs()))
                    .unwrap_or_default();
                ctx.set_cookie = Some(format!(
                    "{name}={:016x}; Path={path}; HttpOnly{max_age}",
                    lease.id()
                ));
            }
        }
        Ok(peer(ctx, target, lease, &policy))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Self::CTX,
        mut e: Box<Error>,
    ) -> Box<Error> {
        if let Some(lease) = &ctx.lease {
            lease.report_failure();
        }
        let policy = ctx.policy().cloned();
        let (max, errors_retried) = match policy.as_ref().and_then(|p| p.retry.as_ref()) {
            Some(r) => (r.attempts.max(1), r.retries_errors()),
            None => (DEFAULT_CONNECT_TRIES, true),
        };
        let others = ctx.target.as_ref().is_some_and(|t| t.endpoint_count() > 1);
        if errors_retried
            && ctx.attempts < max
            && (others || policy.as_ref().is_some_and(|p| p.retry.is_some()))
        {
            e.set_retry(true);
        } else if ctx.fallback.is_none() && policy.as_ref().is_some_and(|p| p.fallback.is_some()) {
            ctx.fallback = Some(Fallback::Unavailable);
            e.set_retry(true);
        }
        e
    }

    async fn connected_to_upstream(
        &self,
        _session: &mut Session,
        _reused: bool,
        _peer: &HttpPeer,
        #[cfg(unix)] _fd: std::os::unix::io::RawFd,
        #[cfg(windows)] _sock: std::os::windows::io::RawSocket,
        _digest: Option<&pingora::protocols::Digest>,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        if let Some(lease) = &ctx.lease {
            lease.report_success();
        }
        Ok(())
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut Self::CTX,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        let truncated = session.as_ref().retry_buffer_truncated();
        if ctx.retry_decided {
            ctx.retry_decided = false;
            e.set_retry(!truncated);
            return e;
        }
        let method = session.req_header().method.clone();
        let retry = ctx.policy().and_then(|p| p.retry.clone());
        // The attempt limit holds for failures on pooled connections too.
        let limit = retry
            .as_ref()
            .map_or(DEFAULT_CONNECT_TRIES, |r| r.attempts.max(1));
        if ctx.attempts >= limit || truncated {
            e.set_retry(false);
            return e;
        }
        match retry {
            Some(r) if r.retries_errors() && r.allows_method(&method) => e.set_retry(true),
            Some(_) => e.set_retry(false),
            None if !method.is_idempotent() => e.set_retry(false),
            None => e.retry.decide_reuse(client_reused),
        }
        e
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        let x_real_ip = ctx.table.as_ref().is_some_and(|t| t.global().add_x_real_ip);
        headers::add_forwarding_headers(session, upstream_request, x_real_ip)?;
        ctx.obs.upstream_request(&self.observe, upstream_request);
        let Some(policy) = ctx.policy().cloned() else {
            return Ok(());
        };
        if ctx.is_status_fallback() {
            upstream_request.set_uri(http::Uri::from_static("/"));
        }
        let mut states = std::mem::take(&mut ctx.filter_states);
        let mut result = Ok(());
        for (filter, state) in policy.filters.filters().iter().zip(states.iter_mut()) {
            result = filter
                .upstream_request_filter(session, upstream_request, ctx, state)
                .await;
            if result.is_err() {
                break;
            }
        }
        ctx.filter_states = states;
        result
    }

    async fn request_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        let Some(policy) = ctx.policy().cloned() else {
            return Ok(());
        };
        let mut states = std::mem::take(&mut ctx.filter_states);
        let mut result = Ok(());
        for (filter, state) in policy.filters.filters().iter().zip(states.iter_mut()) {
            result = filter
                .request_body_filter(session, body, end_of_stream, ctx, state)
                .await;
            if result.is_err() {
                break;
            }
        }
        ctx.filter_states = states;
        result
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        let Some(policy) = ctx.policy().cloned() else {
            return Ok(());
        };
        let status = resp.status.as_u16();
        if ctx.fallback.is_none()
            && policy.fallback.is_some()
            && policy.fallback_statuses.contains(&status)
        {
            ctx.fallback = Some(Fallback::Status);
            ctx.retry_decided = true;
            return Err(retry_error(status, "falling back to default-backend"));
        }
        if let Some(r) = &policy.retry {
            let method = &session.req_header().method;
            if r.retries_status(status) && ctx.attempts < r.attempts && r.allows_method(method) {
                ctx.retry_decided = true;
                return Err(retry_error(status, "retrying on upstream status"));
            }
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        if let Some(gzip) = ctx.table.as_ref().and_then(|t| t.global().gzip.as_ref()) {
            let enabled = session
                .downstream_modules_ctx
                .get::<ResponseCompression>()
                .is_some_and(|c| c.is_enabled());
            if enabled && !gzip.applies_to(resp) {
                if let Some(c) = session
                    .downstream_modules_ctx
                    .get_mut::<ResponseCompression>()
                {
                    if c.is_header_phase() {
                        c.adjust_algorithm_level(Algorithm::Gzip, 0);
                    }
                }
            }
        }
        if let Some(cookie) = ctx.set_cookie.take() {
            resp.append_header(http::header::SET_COOKIE, cookie)?;
        }
        let Some(policy) = ctx.policy().cloned() else {
            return Ok(());
        };
        let mut states = std::mem::take(&mut ctx.filter_states);
        let mut result = Ok(());
        for (filter, state) in policy.filters.filters().iter().zip(states.iter_mut()).rev() {
            result = filter.response_filter(session, resp, ctx, state).await;
            if result.is_err() {
                break;
            }
        }
        ctx.filter_states = states;
        result
    }

    fn response_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Self::CTX,
    ) -> Result<Option<Duration>> {
        let Some(policy) = ctx.policy().cloned() else {
            return Ok(None);
        };
        let mut states = std::mem::take(&mut ctx.filter_states);
        let mut result = Ok(());
        for (filter, state) in policy.filters.filters().iter().zip(states.iter_mut()).rev() {
            result = filter.response_body_filter(session, body, end_of_stream, ctx, state);
            if result.is_err() {
                break;
            }
        }
        ctx.filter_states = states;
        result.map(|()| None)
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Self::CTX) {
        if let Some(policy) = ctx.policy().cloned() {
            let mut states = std::mem::take(&mut ctx.filter_states);
            for (filter, state) in policy.filters.filters().iter().zip(states.iter_mut()) {
                filter.logging(session, e, ctx, state).await;
            }
            ctx.filter_states = states;
        }
        let done = crate::observe::Finished {
            route: ctx.route(),
            target: ctx.target.as_ref(),
            upstream: ctx.lease.as_ref().map(crate::upstream::Lease::addr),
            obs: &ctx.obs,
            error: e,
        };
        self.observe.logging(session, &done);
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut Self::CTX,
    ) -> FailToProxy {
        if let Some(reply) = ctx.pending_reply.take() {
            return respond::send_pending(session, reply).await;
        }
        match ctx.grpc {
            Some(call) => error::respond_grpc_error(session, e, call).await,
            None => error::respond_error(session, e).await,
        }
    }

    /// HTTP/1.x header read limits from the current table: the first byte within
    /// `downstream.idleTimeout`, the whole header within `downstream.requestHeadersTimeout`.
    fn request_header_timeouts(&self) -> RequestHeaderTimeouts {
        let table = self.table.load();
        let global = table.global();
        RequestHeaderTimeouts {
            idle: global.idle_timeout.map(Duration::from_secs),
            total: global.request_headers_timeout,
        }
    }

    /// A client that goes away mid-request (reset stream, closed connection) is routine, not
    /// a gateway error: logged at debug instead of Pingora's error line.
    fn suppress_error_log(&self, _session: &Session, _ctx: &Self::CTX, e: &Error) -> bool {
        let client_gone = *e.esource() == pingora::ErrorSource::Downstream;
        if client_gone {
            tracing::debug!("client went away: {e}");
        }
        client_gone
    }
}
