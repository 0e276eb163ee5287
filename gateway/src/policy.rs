//! Route policies: what a route does to a request besides choosing its upstream, compiled
//! once per snapshot from the Ingress annotations. Phases follow Higress's route handler
//! order: CORS, redirect, rewrite, IP access, timeout, retry, rate limit, fallback, mirror,
//! header control.
//!
//! Policies that act on the request are [`HttpFilter`](crate::filter::HttpFilter)s in the
//! route's [`FilterChain`]; the rest (timeouts, retries, fallback) steer the proxy itself.
//! To add a filter policy: a file here implementing `HttpFilter`, and one line in
//! `compile/policy.rs` that puts it in the chain.

pub mod accept_encoding;
pub mod access;
pub mod cors;
pub mod header_ops;
pub mod mirror;
pub mod rate_limit;
pub mod redirect;
pub mod retry;
pub mod rewrite;

use std::sync::Arc;
use std::time::Duration;

use crate::filter::FilterChain;

use crate::upstream::UpstreamGroup;

/// Everything a route does besides picking its upstream. Shared by the routes of one
/// Ingress path; per-route state (rate-limit buckets) lives in its own `Arc`.
#[derive(Debug, Default)]
pub struct RoutePolicy {
    /// The route's filters (IP access, rate limit, CORS, Wasm plugins, rewrite, header
    /// control, mirror), in request order.
    pub filters: FilterChain,
    /// `ssl-redirect`: plain-HTTP requests get a 308 to https.
    pub https_redirect: bool,
    /// `higress.io/timeout`.
    pub timeout: Option<Duration>,
    /// `proxy-next-upstream*`.
    pub retry: Option<retry::RetryPolicy>,
    /// `route-limit-*` (also in `filters`; kept to show which bucket the route uses).
    pub rate_limit: Option<Arc<rate_limit::TokenBucket>>,
    /// `default-backend`: where requests go when the upstream is unavailable (or answers one
    /// of `fallback_statuses`).
    pub fallback: Option<Arc<UpstreamGroup>>,
    /// `custom-http-errors`.
    pub fallback_statuses: Vec<u16>,
}
