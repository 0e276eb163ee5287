//! [`RequestCtx`]: what one request carries between phases (its table, route, chosen
//! endpoint, retry state and the per-filter state slots of its route's chain).

use std::sync::Arc;

use crate::filter::FilterState;
use crate::policy::RoutePolicy;
use crate::route_table::{Route, RouteId, RouteTable};
use crate::upstream::{Lease, Target};

use super::grpc;

/// Why a request goes to the fallback backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// The primary has no reachable endpoint: same request.
    Unavailable,
    /// The primary answered a `custom-http-errors` status: the fallback sees `/`.
    Status,
}

/// Per-request state.
#[derive(Default)]
pub struct RequestCtx {
    pub(crate) table: Option<Arc<RouteTable>>,
    pub(crate) route: Option<RouteId>,
    pub(crate) host: String,
    pub(crate) lease: Option<Lease>,
    pub(crate) target: Option<Arc<Target>>,
    pub(crate) attempts: u32,
    pub(crate) fallback: Option<Fallback>,
    /// Our own decision to retry (a status retry); survives `error_while_proxy`.
    pub(crate) retry_decided: bool,
    pub(crate) set_cookie: Option<String>,
    /// Set for gRPC requests.
    pub(crate) grpc: Option<grpc::GrpcCall>,
    /// One slot per filter of the route's chain, same order.
    pub(crate) filter_states: Vec<FilterState>,
    /// Timestamps for metrics and the access log (`observe`).
    pub(crate) obs: crate::observe::RequestObs,
    /// A reply a filter chose where it could not send it (`fail_to_proxy` sends it).
    pub(crate) pending_reply: Option<crate::filter::PendingReply>,
}

// === impl RequestCtx ===

impl RequestCtx {
    /// The matched route (none before routing or for unrouted requests).
    pub(crate) fn route(&self) -> Option<&Route> {
        Some(self.table.as_ref()?.route(self.route?))
    }

    /// The matched route's policy.
    pub(crate) fn policy(&self) -> Option<&Arc<RoutePolicy>> {
        self.route().map(|r| &r.policy)
    }

    /// The request's normalised host.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// True for the first upstream attempt to the primary backend.
    pub(crate) fn is_first_attempt(&self) -> bool {
        self.attempts == 1 && self.fallback.is_none()
    }

    /// True when a `custom-http-errors` status sent the request to the fallback's `/`.
    pub(crate) fn is_status_fallback(&self) -> bool {
        self.fallback == Some(Fallback::Status)
    }
}
