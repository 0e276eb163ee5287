//! Route policies: what a route does to a request besides choosing its upstream, compiled
//! once per snapshot from the Ingress annotations. Phases follow Higress's route handler
//! order: CORS, redirect, rewrite, IP access, timeout, retry, rate limit, fallback, mirror,
//! header control.
//!
//! To add a policy: a file here with its compiled form, a field in [`RoutePolicy`], and a
//! call in the phase of `proxy.rs` that needs it.

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

use config_store::annotations::HeaderControl;

use crate::upstream::UpstreamGroup;

/// Everything a route does besides picking its upstream. Shared by the routes of one
/// Ingress path; per-route state (rate-limit buckets) lives in its own `Arc`.
#[derive(Debug, Default)]
pub struct RoutePolicy {
    /// CORS: preflight answers and response headers.
    pub cors: Option<cors::CorsPolicy>,
    /// `ssl-redirect`: plain-HTTP requests get a 308 to https.
    pub https_redirect: bool,
    /// Path and Host rewriting.
    pub rewrite: Option<rewrite::RewritePolicy>,
    /// `whitelist-source-range`.
    pub access: Option<access::SourceRangePolicy>,
    /// `higress.io/timeout`.
    pub timeout: Option<Duration>,
    /// `proxy-next-upstream*`.
    pub retry: Option<retry::RetryPolicy>,
    /// `route-limit-*`.
    pub rate_limit: Option<Arc<rate_limit::TokenBucket>>,
    /// `default-backend`: where requests go when the upstream is unavailable (or answers one
    /// of `fallback_statuses`).
    pub fallback: Option<Arc<UpstreamGroup>>,
    /// `custom-http-errors`.
    pub fallback_statuses: Vec<u16>,
    /// `mirror-*`.
    pub mirror: Option<mirror::MirrorPolicy>,
    /// Request/response header edits.
    pub headers: Option<HeaderControl>,
}
