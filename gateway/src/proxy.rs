//! The Pingora proxy. Phases, in order:
//! - `request_filter`: find the route (404), then IP access (403), rate limit (429), CORS
//!   preflight, https and URL redirects; prepare retries and mirroring.
//! - `upstream_peer`: pick destination (fallback when unavailable) and endpoint (503), set
//!   protocol, TLS and timeouts.
//! - `upstream_request_filter`: forwarding headers, rewrite, header control, mirror copy.
//! - `upstream_response_filter`: retry or fall back on configured statuses.
//! - `response_filter`: CORS, affinity cookie, response header control.
//! - `fail_to_proxy`: errors become statuses with a clear body (`proxy/error.rs`).
//!
//! gRPC calls (`proxy/grpc.rs`) get their `grpc-timeout` as the upstream timeout, and the
//! gateway's own answers to them are trailers-only gRPC responses.
//!
//! Each request loads one `Arc<RouteTable>` and keeps it, so a reload never changes the
//! table under a request.

pub mod error;
pub mod grpc;
pub mod headers;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use config_store::annotations::{HashKey, LoadBalance};
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::modules::http::compression::ResponseCompression;
use pingora::prelude::*;
use pingora::protocols::http::compression::Algorithm;
use pingora::protocols::ALPN;
use pingora::proxy::{FailToProxy, RequestHeaderTimeouts};
use pingora::ErrorType;

use crate::policy::header_ops;
use crate::policy::mirror::{is_hop_by_hop, MirrorRequest, MIRROR_BODY_LIMIT};
use crate::policy::redirect::RedirectTo;
use crate::policy::RoutePolicy;
use crate::route_table::conditions::query_param;
use crate::route_table::{normalize_host, Route, RouteAction, RouteId, RouteTable};
use crate::tls::handshake::TlsInfo;
use crate::upstream::target::hash_of;
use crate::upstream::{Lease, PickHint, Target};

/// Time allowed to open a connection to an upstream endpoint (Istio's default
/// `connectTimeout`, which Higress keeps).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent streams Gantry opens on one HTTP/2 (gRPC) upstream connection, capped by the
/// server's `SETTINGS_MAX_CONCURRENT_STREAMS` (Pingora's default of 1 opened a connection
/// per in-flight request).
const H2_UPSTREAM_STREAMS: usize = 128;
/// Connection attempts per request when an endpoint refuses and no retry policy is set
/// (Istio's default policy retries connect failures).
const DEFAULT_CONNECT_TRIES: u32 = 3;

/// Serves requests from a swappable route table.
pub struct GatewayProxy {
    table: Arc<ArcSwap<RouteTable>>,
    observe: Arc<crate::observe::Observe>,
}

/// Why a request goes to the fallback backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// The primary has no reachable endpoint: same request.
    Unavailable,
    /// The primary answered a `custom-http-errors` status: the fallback sees `/`.
    Status,
}

/// Per-request state.
#[derive(Default)]
pub struct RequestCtx {
    table: Option<Arc<RouteTable>>,
    route: Option<RouteId>,
    host: String,
    lease: Option<Lease>,
    target: Option<Arc<Target>>,
    attempts: u32,
    fallback: Option<Fallback>,
    /// Our own decision to retry (a status retry); survives `error_while_proxy`.
    retry_decided: bool,
    cors_origin: Option<HeaderValue>,
    set_cookie: Option<String>,
    mirror: Option<MirrorRequest>,
    /// Set for gRPC requests.
    grpc: Option<grpc::GrpcCall>,
    /// Timestamps for metrics and the access log (`observe`).
    obs: crate::observe::RequestObs,
}

// === impl RequestCtx ===

impl RequestCtx {
    fn route(&self) -> Option<&Route> {
        Some(self.table.as_ref()?.route(self.route?))
    }

    fn policy(&self) -> Option<&Arc<RoutePolicy>> {
        self.route().map(|r| &r.policy)
    }
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

fn is_tls(session: &Session) -> bool {
    session
        .digest()
        .and_then(|d| d.ssl_digest.as_ref())
        .is_some()
}

fn client_ip(session: &Session) -> Option<std::net::IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}

/// A status error that we decided to retry.
fn retry_error(status: u16, why: &'static str) -> Box<Error> {
    let mut e = Error::explain(ErrorType::HTTPStatus(status), why);
    e.set_retry(true);
    e
}

#[async_trait]
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
        let raw_host = req
            .uri
            .host()
            .or_else(|| {
                req.headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            })
            .unwrap_or("");
        let host = normalize_host(raw_host).into_owned();
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
        let policy = route.policy.clone();

        if let Some(access) = &policy.access {
            if !client_ip(session).is_some_and(|ip| access.allows(ip)) {
                drop(_enter);
                respond(session, 403, Vec::new(), "RBAC: access denied\n".into()).await?;
                return Ok(true);
            }
        }
        if let Some(bucket) = &policy.rate_limit {
            if !bucket.try_acquire() {
                drop(_enter);
                respond(session, 429, Vec::new(), "local_rate_limited\n".into()).await?;
                return Ok(true);
            }
        }
        if let Some(cors) = &policy.cors {
            let req = session.req_header();
            if let Some(origin) = req
                .headers
                .get(http::header::ORIGIN)
                .filter(|o| o.to_str().is_ok_and(|o| cors.allows(o)))
            {
                let preflight = req.method == http::Method::OPTIONS
                    && req
                        .headers
                        .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
                if preflight {
                    let headers = cors.preflight_headers(origin);
                    drop(_enter);
                    respond(session, 200, headers, String::new()).await?;
                    return Ok(true);
                }
                ctx.cors_origin = Some(origin.clone());
            }
        }
        let redirect = match &route.action {
            RouteAction::Redirect(to) => Some(to),
            RouteAction::Forward(_)
                if (policy.https_redirect || table.https_only(&host)) && !is_tls(session) =>
            {
                Some(&RedirectTo::Https)
            }
            RouteAction::Forward(_) => None,
        };
        if let Some(to) = redirect {
            let req = session.req_header();
            let scheme = if is_tls(session) { "https" } else { "http" };
            let location = to.location(scheme, raw_host, req.uri.path(), req.uri.query());
            let location = HeaderValue::from_str(&location)
                .map_err(|_| Error::explain(InternalError, "bad redirect location"))?;
            let code = to.code();
            drop(_enter);
            respond(session, code, vec![("location", location)], String::new()).await?;
            return Ok(true);
        }
        if policy.retry.is_some() || !policy.fallback_statuses.is_empty() {
            session.as_downstream_mut().enable_retry_buffering();
        }
        ctx.host = host;
        ctx.route = Some(id);
        ctx.table = Some(table);
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
                            return Ok(self.peer(ctx, fallback.target.clone(), lease, &policy));
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
        Ok(self.peer(ctx, target, lease, &policy))
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
        if ctx.fallback == Some(Fallback::Status) {
            upstream_request.set_uri(http::Uri::from_static("/"));
        } else if let Some(rw) = &policy.rewrite {
            if let Some(path_rw) = &rw.path {
                if let Some(new_path) = path_rw.apply(upstream_request.uri.path()) {
                    let uri = match upstream_request.uri.query() {
                        Some(q) => format!("{new_path}?{q}"),
                        None => new_path,
                    };
                    let uri = uri.parse::<http::Uri>().map_err(|_| {
                        Error::explain(InternalError, "rewritten path is not a valid URI")
                    })?;
                    upstream_request.set_uri(uri);
                }
            }
            if let Some(host) = &rw.host {
                upstream_request.insert_header(http::header::HOST, host.as_str())?;
            }
        }
        if let Some(hc) = &policy.headers {
            header_ops::apply_request(&hc.request, upstream_request)?;
        }
        if ctx.attempts == 1 && ctx.fallback.is_none() {
            if let Some(m) = policy.mirror.as_ref().filter(|m| m.sample()) {
                let copy = MirrorRequest {
                    method: upstream_request.method.to_string(),
                    uri: upstream_request
                        .uri
                        .path_and_query()
                        .map_or("/".into(), |p| p.to_string()),
                    headers: upstream_request
                        .headers
                        .iter()
                        .filter(|(n, _)| !is_hop_by_hop(n.as_str()))
                        .map(|(n, v)| {
                            (n.as_str().to_string(), Bytes::copy_from_slice(v.as_bytes()))
                        })
                        .collect(),
                    host: ctx.host.clone(),
                    body: Bytes::new(),
                };
                let has_body = upstream_request
                    .headers
                    .contains_key(http::header::TRANSFER_ENCODING)
                    || upstream_request
                        .headers
                        .get(http::header::CONTENT_LENGTH)
                        .is_some_and(|v| v.as_bytes() != b"0");
                if has_body {
                    ctx.mirror = Some(copy);
                } else {
                    m.send(copy);
                }
            }
        }
        Ok(())
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        if let Some(copy) = ctx.mirror.as_mut() {
            if let Some(chunk) = body {
                if copy.body.len() + chunk.len() > MIRROR_BODY_LIMIT {
                    tracing::debug!("request body too large to mirror; copy dropped");
                    ctx.mirror = None;
                    return Ok(());
                }
                let mut buf = BytesMut::from(&copy.body[..]);
                buf.extend_from_slice(chunk);
                copy.body = buf.freeze();
            }
            if end_of_stream {
                if let (Some(copy), Some(m)) = (
                    ctx.mirror.take(),
                    ctx.policy().and_then(|p| p.mirror.as_ref()),
                ) {
                    m.send(copy);
                }
            }
        }
        Ok(())
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
        if let (Some(origin), Some(cors)) =
            (&ctx.cors_origin, ctx.policy().and_then(|p| p.cors.as_ref()))
        {
            for (name, value) in cors.response_headers(origin) {
                resp.insert_header(name, value)?;
            }
        }
        if let Some(cookie) = ctx.set_cookie.take() {
            resp.append_header(http::header::SET_COOKIE, cookie)?;
        }
        if let Some(hc) = ctx.policy().and_then(|p| p.headers.as_ref()) {
            header_ops::apply_response(&hc.response, resp)?;
        }
        Ok(())
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut Self::CTX,
    ) -> FailToProxy {
        match ctx.grpc {
            Some(call) => error::respond_grpc_error(session, e, call).await,
            None => error::respond_error(session, e).await,
        }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Self::CTX) {
        let done = crate::observe::Finished {
            route: ctx.route(),
            target: ctx.target.as_ref(),
            upstream: ctx.lease.as_ref().map(Lease::addr),
            obs: &ctx.obs,
            error: e,
        };
        self.observe.logging(session, &done);
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

impl GatewayProxy {
    fn peer(
        &self,
        ctx: &mut RequestCtx,
        target: Arc<Target>,
        lease: Lease,
        policy: &RoutePolicy,
    ) -> Box<HttpPeer> {
        let options = target.options();
        let (tls, sni) = match &options.tls {
            Some(t) => (true, t.sni.clone()),
            None => (false, String::new()),
        };
        let mut peer = HttpPeer::new(lease.addr(), tls, sni);
        if let Some(t) = &options.tls {
            peer.options.verify_cert = t.verify;
            peer.options.verify_hostname = t.verify && !t.sni.is_empty();
            if let Some(id) = &t.identity {
                peer.client_cert_key = id.cert_key.clone();
                peer.options.ca = id.ca.clone();
            }
        }
        if options.h2 {
            peer.options.max_h2_streams = H2_UPSTREAM_STREAMS;
            if tls {
                peer.options.alpn = ALPN::H2;
            } else {
                peer.options.set_http_version(2, 2);
            }
        }
        let global = ctx.table.as_ref().map(|t| t.global());
        let route_timeout = global.and_then(|g| g.route_timeout).or(policy.timeout);
        let read_timeout = policy
            .retry
            .as_ref()
            .and_then(|r| r.per_try_timeout)
            .or(route_timeout);
        // A gRPC client's `grpc-timeout` bounds the wait too (Istio routes honour it).
        let read_timeout = match ctx.grpc.and_then(|g| g.remaining()) {
            Some(left) => {
                let left = left.max(Duration::from_millis(1));
                Some(read_timeout.map_or(left, |t| t.min(left)))
            }
            None => read_timeout,
        };
        peer.options.idle_timeout = global.and_then(|g| g.upstream_idle_timeout);
        peer.options.connection_timeout =
            Some(read_timeout.map_or(CONNECT_TIMEOUT, |t| t.min(CONNECT_TIMEOUT)));
        // An upstream may stay silent for the stream idle timeout at most (Envoy's
        // `stream_idle_timeout`, which applies next to any route timeout), not forever.
        let stream_idle = global.and_then(|g| g.stream_idle_timeout);
        peer.options.read_timeout = match (read_timeout, stream_idle) {
            (Some(route), Some(idle)) => Some(route.min(idle)),
            (route, idle) => route.or(idle),
        };
        peer.options.write_timeout = stream_idle;
        ctx.attempts += 1;
        ctx.target = Some(target);
        ctx.lease = Some(lease);
        Box::new(peer)
    }
}

/// The raw request target must be origin-form (`/…`), absolute-form (`http(s)://…`) or
/// `*` (OPTIONS), without control characters or spaces (Pingora's parser is lenient and
/// would percent-encode them).
fn valid_target(req: &RequestHeader) -> bool {
    let raw = req.raw_path();
    let form_ok = raw.starts_with(b"/")
        || raw.starts_with(b"http://")
        || raw.starts_with(b"https://")
        || (raw == b"*" && req.method == http::Method::OPTIONS)
        || (req.method == http::Method::CONNECT && !raw.is_empty());
    form_ok && !raw.iter().any(|b| *b <= b' ' || *b == 0x7f)
}

/// An HTTP/1.1 request without `Host` (RFC 9112 §3.2: answer 400); HTTP/1.0 may omit it.
fn missing_host(req: &RequestHeader) -> bool {
    req.version == http::Version::HTTP_11 && !req.headers.contains_key(http::header::HOST)
}

/// Request attributes for hash and cookie balancing.
fn pick_hint(session: &Session, host: &str, balance: &LoadBalance) -> PickHint {
    let req = session.req_header();
    match balance {
        LoadBalance::Hash(key) => {
            let value: Option<u64> = match key {
                HashKey::RequestUri => req.uri.path_and_query().map(|p| hash_of(p.as_str())),
                HashKey::Host => Some(hash_of(host)),
                HashKey::RemoteAddr => client_ip(session).map(|ip| hash_of(&ip)),
                HashKey::Header(name) => req
                    .headers
                    .get(name.as_str())
                    .map(|v| hash_of(v.as_bytes())),
                HashKey::Query(name) => {
                    query_param(req.uri.query().unwrap_or(""), name).map(hash_of)
                }
            };
            PickHint {
                hash: value,
                cookie: None,
            }
        }
        LoadBalance::Cookie { name, .. } => {
            let cookie = req
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| u64::from_str_radix(v, 16).ok());
            PickHint { hash: None, cookie }
        }
        _ => PickHint::default(),
    }
}
