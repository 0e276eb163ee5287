//! [`WasmFilter`]: a loaded plugin as a route filter. Request headers: the request is bound
//! to a VM, an HTTP context is created and `proxy_on_request_headers` runs over Envoy-style
//! headers (`:method`, `:path`, `:authority`, `:scheme` first); changes are written back,
//! a local reply is sent. Response headers: `proxy_on_response_headers` (`:status` first).
//! Bodies: Envoy's buffering (`request_body_filter`, `response_body_filter`).
//! Logging: `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`. A failing call follows
//! `failStrategy`: `FAIL_OPEN` skips the plugin for the request, `FAIL_CLOSE` answers 503.
//! HTTP calls a plugin dispatches from the request-header, request-body or response-header
//! callback are run before the request goes on ([`WasmFilter::settle`]): the plugin's
//! `Pause` then waits for their answers, as in Envoy.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::Session;
use pingora::{Error, ErrorType, Result};

use super::calls;
use super::host_state::{HeaderMap, LocalResponse, RequestFacts, StreamState};
use super::http_call::Clusters;
use super::runtime::{Binding, PluginRuntime};
use super::vm::{Callback, Outcome, VmError};
use crate::filter::{FilterState, Flow, HttpFilter, PendingReply};
use crate::proxy::respond::is_tls;
use crate::proxy::RequestCtx;

/// What a route tells its plugins about itself (`route_name`, `cluster_name`).
#[derive(Debug, Clone, Default)]
pub struct RouteFacts {
    /// The Ingress name as Higress names its route.
    pub route_name: Arc<str>,
    /// `outbound|<port>||<host>` of the route's first backend.
    pub cluster_name: Arc<str>,
    /// The clusters `proxy_http_call` may name.
    pub clusters: Arc<Clusters>,
}

/// Rounds of calls one callback may chain (a call's answer dispatching another, …).
const MAX_CALL_ROUNDS: usize = 16;

/// A plugin on one route.
#[derive(Debug)]
pub struct WasmFilter {
    label: String,
    runtime: Arc<PluginRuntime>,
    route: RouteFacts,
}

/// A plugin that failed to load on a route whose `failStrategy` is `FAIL_CLOSE`: every
/// request gets 503.
#[derive(Debug)]
pub struct UnavailablePlugin {
    label: String,
}

/// A request's state in one plugin.
struct WasmStream {
    binding: Binding,
    stream: StreamState,
    /// A reply body that replaces the upstream's (a local reply in the response phase).
    replace_body: Option<Vec<u8>>,
    /// The plugin failed open for this request: no further calls.
    skipped: bool,
    /// The request has a body the plugin sees.
    request_body: bool,
    /// The plugin dropped `content-length` from a request with a body: send it chunked.
    chunked_upstream: bool,
}

// === impl WasmFilter ===

impl WasmFilter {
    /// `runtime` on a route described by `route`.
    pub fn new(runtime: Arc<PluginRuntime>, route: RouteFacts) -> Self {
        Self {
            label: format!("wasm:{}", runtime.spec.name),
            runtime,
            route,
        }
    }

    fn fail_open(&self) -> bool {
        self.runtime.spec.fail_open
    }

    fn facts(&self, session: &Session) -> RequestFacts {
        let inet = |a: Option<&pingora::protocols::l4::socket::SocketAddr>| {
            a.and_then(|a| a.as_inet()).copied()
        };
        RequestFacts {
            route_name: self.route.route_name.clone(),
            cluster_name: self.route.cluster_name.clone(),
            source: inet(session.client_addr()),
            destination: inet(session.server_addr()),
            scheme: if is_tls(session) { "https" } else { "http" },
            protocol: match session.req_header().version {
                http::Version::HTTP_2 => "HTTP/2",
                http::Version::HTTP_10 => "HTTP/1.0",
                _ => "HTTP/1.1",
            },
            time_nanos: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            response_code: None,
            clusters: Some(self.route.clusters.clone()),
        }
    }

    /// Runs the HTTP and Redis calls `outcome` dispatched, gives each answer to
    /// `proxy_on_http_call_response` / `proxy_on_redis_call_response`, and goes on with the
    /// calls those dispatch, until none is left or the plugin answered the request itself
    /// (its reply is in the outcome).
    async fn settle(
        &self,
        binding: &Binding,
        stream: &mut StreamState,
        mut outcome: Outcome,
    ) -> std::result::Result<Outcome, VmError> {
        let mut rounds = 0;
        while (!outcome.calls.is_empty() || !outcome.redis_calls.is_empty())
            && outcome.local_response.is_none()
        {
            rounds += 1;
            if rounds > MAX_CALL_ROUNDS {
                tracing::warn!(plugin = %self.runtime.spec.name, "more than {MAX_CALL_ROUNDS} rounds of calls in one callback; the rest are dropped");
                break;
            }
            let calls = std::mem::take(&mut outcome.calls);
            let redis_calls = std::mem::take(&mut outcome.redis_calls);
            let answers = calls::run_all(&self.route.clusters, calls, redis_calls).await;
            for answer in answers {
                let callback = answer.deliver(stream);
                let r = self.runtime.run(binding, callback, stream);
                stream.call_response = None;
                stream.redis_response = None;
                let r = r?;
                outcome.calls.extend(r.calls);
                outcome.redis_calls.extend(r.redis_calls);
                outcome.resumed |= r.resumed;
                if r.local_response.is_some() {
                    outcome.local_response = r.local_response;
                    break;
                }
            }
        }
        Ok(outcome)
    }

    /// A failed call: fail open (skip) or closed (503).
    fn failure(&self, e: &VmError) -> Result<()> {
        if self.fail_open() {
            tracing::debug!(plugin = %self.runtime.spec.name, "{e}; failing open");
            return Ok(());
        }
        Err(Error::explain(
            ErrorType::HTTPStatus(503),
            format!("plugin {} failed: {e}", self.runtime.spec.name),
        ))
    }
}

fn request_map(req: &RequestHeader, scheme: &str) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(req.headers.len() + 4);
    let authority = req
        .uri
        .authority()
        .map(|a| a.as_str().as_bytes().to_vec())
        .or_else(|| {
            req.headers
                .get(http::header::HOST)
                .map(|h| h.as_bytes().to_vec())
        })
        .unwrap_or_default();
    let path = req
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .as_bytes()
        .to_vec();
    map.push((":authority".into(), authority));
    map.push((":path".into(), path));
    map.push((":method".into(), req.method.as_str().as_bytes().to_vec()));
    map.push((":scheme".into(), scheme.as_bytes().to_vec()));
    for (name, value) in req.headers.iter() {
        if name == http::header::HOST {
            continue;
        }
        map.push((name.as_str().to_owned(), value.as_bytes().to_vec()));
    }
    map
}

/// Framing headers of the downstream request: Pingora reads the body by them, so they stay
/// on the session's request as received; a plugin's change to them applies upstream only.
fn is_framing(name: &str) -> bool {
    name == "content-length" || name == "transfer-encoding"
}

fn write_request(map: &HeaderMap, req: &mut RequestHeader) -> Result<()> {
    let bad = |what: &str| Error::explain(ErrorType::InternalError, format!("plugin set {what}"));
    let names: Vec<http::HeaderName> = req
        .headers
        .keys()
        .filter(|n| !is_framing(n.as_str()))
        .cloned()
        .collect();
    for name in names {
        req.remove_header(&name);
    }
    for (name, value) in map {
        match name.as_str() {
            ":path" => {
                let uri =
                    http::Uri::try_from(value.as_slice()).map_err(|_| bad("an invalid :path"))?;
                req.set_uri(uri);
            }
            ":method" => {
                let m = http::Method::from_bytes(value).map_err(|_| bad("an invalid :method"))?;
                req.set_method(m);
            }
            ":authority" => {
                req.insert_header(http::header::HOST, value.as_slice())?;
            }
            n if n.starts_with(':') || is_framing(n) => {}
            n => {
                req.append_header(n.to_owned(), value.as_slice())?;
            }
        }
    }
    Ok(())
}

fn response_map(resp: &ResponseHeader) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(resp.headers.len() + 1);
    map.push((":status".into(), resp.status.as_str().as_bytes().to_vec()));
    for (name, value) in resp.headers.iter() {
        map.push((name.as_str().to_owned(), value.as_bytes().to_vec()));
    }
    map
}

fn write_response(map: &HeaderMap, resp: &mut ResponseHeader) -> Result<()> {
    let names: Vec<http::HeaderName> = resp.headers.keys().cloned().collect();
    for name in names {
        resp.remove_header(&name);
    }
    for (name, value) in map {
        match name.as_str() {
            ":status" => {
                let code = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u16>().ok())
                    .ok_or_else(|| {
                        Error::explain(ErrorType::InternalError, "plugin set an invalid :status")
                    })?;
                resp.set_status(code)?;
            }
            n if n.starts_with(':') => {}
            n => {
                resp.append_header(n.to_owned(), value.as_slice())?;
            }
        }
    }
    Ok(())
}

/// Runs the calls a plugin made while its request ended (`proxy_on_log`, `proxy_on_done`:
/// a rate limit recording the tokens a response used) on their own task. The HTTP context
/// is gone by then, so their answers are not delivered (Envoy drops them too).
fn run_detached(clusters: Arc<Clusters>, outcome: Outcome) {
    if outcome.calls.is_empty() && outcome.redis_calls.is_empty() {
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    handle.spawn(async move {
        calls::run_all(&clusters, outcome.calls, outcome.redis_calls).await;
    });
}

async fn send_local(session: &mut Session, reply: LocalResponse) -> Result<()> {
    let reply = PendingReply {
        status: reply.status,
        headers: reply.headers,
        body: Bytes::from(reply.body),
    };
    crate::proxy::respond::write_reply(session, reply).await
}

fn has_body(req: &RequestHeader) -> bool {
    req.headers.contains_key(http::header::TRANSFER_ENCODING)
        || req
            .headers
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

#[async_trait]
impl HttpFilter for WasmFilter {
    fn name(&self) -> &str {
        &self.label
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<Flow> {
        let binding = match self.runtime.bind() {
            Ok(b) => b,
            Err(e) => {
                self.failure(&e)?;
                return Ok(Flow::Continue);
            }
        };
        let facts = self.facts(session);
        let mut stream = StreamState {
            request_headers: request_map(session.req_header(), facts.scheme),
            facts,
            ..StreamState::default()
        };
        let n = stream.request_headers.len() as i32;
        let eos = !has_body(session.req_header());
        let outcome =
            match self
                .runtime
                .run(&binding, Callback::RequestHeaders(n, eos), &mut stream)
            {
                Ok(o) => self.settle(&binding, &mut stream, o).await,
                Err(e) => Err(e),
            };
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                self.failure(&e)?;
                return Ok(Flow::Continue);
            }
        };
        let mut chunked_upstream = false;
        if stream.request_headers_dirty {
            let had_length = session
                .req_header()
                .headers
                .contains_key(http::header::CONTENT_LENGTH);
            write_request(&stream.request_headers, session.req_header_mut())?;
            stream.request_headers_dirty = false;
            let keeps_length = stream
                .request_headers
                .iter()
                .any(|(k, _)| k == "content-length");
            chunked_upstream = !eos && had_length && !keeps_length;
        }
        let reply = outcome.local_response;
        *state = Some(Box::new(WasmStream {
            binding,
            stream,
            replace_body: None,
            skipped: false,
            request_body: !eos,
            chunked_upstream,
        }));
        if let Some(reply) = reply {
            send_local(session, reply).await?;
            return Ok(Flow::Responded);
        }
        Ok(Flow::Continue)
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        let chunked = state
            .as_ref()
            .and_then(|s| s.downcast_ref::<WasmStream>())
            .is_some_and(|ws| ws.chunked_upstream);
        if chunked {
            upstream_request.remove_header(&http::header::CONTENT_LENGTH);
            upstream_request.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
        }
        Ok(())
    }

    /// Envoy's buffering: each chunk is added to the request body buffer and
    /// `proxy_on_request_body` sees the whole buffer; `Pause` (stop and buffer) holds it
    /// back, `Continue` or the end of the body sends the buffer (as the plugin left it).
    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        let Some(ws) = state.as_mut().and_then(|s| s.downcast_mut::<WasmStream>()) else {
            return Ok(());
        };
        if ws.skipped || !ws.request_body {
            return Ok(());
        }
        if let Some(chunk) = body.as_ref() {
            ws.stream.request_body.extend_from_slice(chunk);
        }
        let len = ws.stream.request_body.len() as i32;
        let outcome = match self.runtime.run(
            &ws.binding,
            Callback::RequestBody(len, end_of_stream),
            &mut ws.stream,
        ) {
            Ok(o) => self.settle(&ws.binding, &mut ws.stream, o).await,
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                ws.skipped = true;
                *body = Some(Bytes::from(std::mem::take(&mut ws.stream.request_body)));
                return self.failure(&e);
            }
        };
        if let Some(reply) = outcome.local_response {
            ws.skipped = true;
            let status = reply.status;
            ctx.pending_reply = Some(PendingReply {
                status,
                headers: reply.headers,
                body: Bytes::from(reply.body),
            });
            return Err(Error::explain(
                ErrorType::HTTPStatus(status),
                format!(
                    "plugin {} answered the request body",
                    self.runtime.spec.name
                ),
            ));
        }
        if outcome.action == 1 && !end_of_stream {
            *body = Some(Bytes::new());
        } else {
            *body = Some(Bytes::from(std::mem::take(&mut ws.stream.request_body)));
            ws.request_body = !end_of_stream;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        let Some(ws) = state.as_mut().and_then(|s| s.downcast_mut::<WasmStream>()) else {
            return Ok(());
        };
        if ws.skipped {
            return Ok(());
        }
        ws.stream.facts.response_code = Some(resp.status.as_u16());
        ws.stream.response_headers = response_map(resp);
        let n = ws.stream.response_headers.len() as i32;
        let outcome = match self.runtime.run(
            &ws.binding,
            Callback::ResponseHeaders(n, false),
            &mut ws.stream,
        ) {
            Ok(o) => self.settle(&ws.binding, &mut ws.stream, o).await,
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                ws.skipped = true;
                return self.failure(&e);
            }
        };
        if ws.stream.response_headers_dirty {
            write_response(&ws.stream.response_headers, resp)?;
            ws.stream.response_headers_dirty = false;
        }
        if let Some(reply) = outcome.local_response {
            resp.set_status(reply.status)?;
            for (name, value) in &reply.headers {
                if !name.starts_with(':') {
                    resp.insert_header(name.clone(), value.as_slice())?;
                }
            }
            resp.remove_header(&http::header::TRANSFER_ENCODING);
            resp.insert_header("content-length", reply.body.len().to_string())?;
            ws.replace_body = Some(reply.body);
        }
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        let Some(ws) = state.as_mut().and_then(|s| s.downcast_mut::<WasmStream>()) else {
            return Ok(());
        };
        if let Some(replacement) = &mut ws.replace_body {
            *body = end_of_stream.then(|| Bytes::from(std::mem::take(replacement)));
            return Ok(());
        }
        if ws.skipped {
            return Ok(());
        }
        if let Some(chunk) = body.as_ref() {
            ws.stream.response_body.extend_from_slice(chunk);
        }
        let len = ws.stream.response_body.len() as i32;
        let outcome = self.runtime.run(
            &ws.binding,
            Callback::ResponseBody(len, end_of_stream),
            &mut ws.stream,
        );
        match outcome {
            Ok(o) if o.action == 1 && !end_of_stream => *body = None,
            Ok(_) => {
                *body = Some(Bytes::from(std::mem::take(&mut ws.stream.response_body)));
            }
            Err(e) => {
                ws.skipped = true;
                *body = Some(Bytes::from(std::mem::take(&mut ws.stream.response_body)));
                return self.failure(&e);
            }
        }
        Ok(())
    }

    async fn logging(
        &self,
        _session: &mut Session,
        _e: Option<&Error>,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) {
        let Some(ws) = state.as_mut().and_then(|s| s.downcast_mut::<WasmStream>()) else {
            return;
        };
        // Errors are logged by the runtime; the request is over either way.
        if let Ok(o) = self
            .runtime
            .run(&ws.binding, Callback::Finish, &mut ws.stream)
        {
            run_detached(self.route.clusters.clone(), o);
        }
    }
}

// === impl UnavailablePlugin ===

impl UnavailablePlugin {
    /// The stand-in for plugin `name`.
    pub fn new(name: &str) -> Self {
        Self {
            label: format!("wasm:{name} (unavailable)"),
        }
    }
}

#[async_trait]
impl HttpFilter for UnavailablePlugin {
    fn name(&self) -> &str {
        &self.label
    }

    async fn request_filter(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<Flow> {
        Err(Error::explain(
            ErrorType::HTTPStatus(503),
            format!("{} did not load (failStrategy FAIL_CLOSE)", self.label),
        ))
    }
}
