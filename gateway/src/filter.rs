//! The per-route filter chain: an ordered list of [`HttpFilter`]s that the proxy's phase
//! methods walk. Built-in policies (`policy/*`) and Wasm plugins (`plugins/*`) are filters
//! alike; each implements only the phases it needs (Pingora's phase names, no-op defaults).
//!
//! Request phases walk the chain in order, response phases in reverse (as Envoy's encoder
//! filters do). Order of a route's chain (Higress's HTTP filter order): IP access, rate
//! limit, CORS, Wasm plugins (AUTHN, AUTHZ, STATS, then UNSPECIFIED_PHASE, higher priority
//! first), redirect; then on the upstream request: rewrite, header control, mirror.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::Session;
use pingora::{Error, Result};

use crate::proxy::RequestCtx;

/// Per-request state one filter keeps between phases (its slot in the request's context).
pub type FilterState = Option<Box<dyn Any + Send + Sync>>;

/// What a request-phase filter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next filter.
    Continue,
    /// The filter answered the request itself: stop the chain, skip the upstream.
    Responded,
}

/// A reply a filter decided on in a phase that cannot write one (a request-body chunk
/// arrives while the request is already on its way upstream): the filter stores it in the
/// request's context and fails the phase with its status; the proxy's `fail_to_proxy` then
/// sends this instead of an error page.
#[derive(Debug, Clone)]
pub struct PendingReply {
    /// Status.
    pub status: u16,
    /// Headers (lower-case names; pseudo-headers and `content-length` are ignored).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Bytes,
}

/// One step of a route's request handling. Every phase defaults to a no-op.
#[async_trait]
pub trait HttpFilter: Send + Sync + std::fmt::Debug {
    /// Name for logs and route descriptions (`cors`, `wasm:transformer`).
    fn name(&self) -> &str;

    /// Request headers, after the route is chosen (Pingora `request_filter`).
    async fn request_filter(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<Flow> {
        Ok(Flow::Continue)
    }

    /// A chunk of the request body (Pingora `request_body_filter`).
    async fn request_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        Ok(())
    }

    /// The request about to go upstream (Pingora `upstream_request_filter`), once per
    /// attempt.
    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        _upstream_request: &mut RequestHeader,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        Ok(())
    }

    /// Response headers on their way downstream (Pingora `response_filter`).
    async fn response_filter(
        &self,
        _session: &mut Session,
        _resp: &mut ResponseHeader,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        Ok(())
    }

    /// A chunk of the response body (Pingora `response_body_filter`).
    fn response_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        Ok(())
    }

    /// The request is done, answered or failed (Pingora `logging`).
    async fn logging(
        &self,
        _session: &mut Session,
        _e: Option<&Error>,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) {
    }
}

/// A route's filters, in request order.
#[derive(Debug, Default, Clone)]
pub struct FilterChain {
    filters: Vec<Arc<dyn HttpFilter>>,
}

// === impl FilterChain ===

impl FilterChain {
    /// A chain of `filters`, in request order.
    pub fn new(filters: Vec<Arc<dyn HttpFilter>>) -> Self {
        Self { filters }
    }

    /// The filters, in request order.
    pub fn filters(&self) -> &[Arc<dyn HttpFilter>] {
        &self.filters
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// True when the route has no filter.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The filters' names, in request order.
    pub fn names(&self) -> Vec<String> {
        self.filters.iter().map(|f| f.name().to_owned()).collect()
    }
}
