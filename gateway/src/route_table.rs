//! The compiled, immutable route table: a host index, then routes in Higress priority order.
//!
//! Lookup: exact host → matching wildcard hosts (longest suffix first) → host-less rules; the
//! first route whose path matches wins, and a host with no matching route falls through to
//! the next candidate (Higress's exact-domain → wildcard fallback).

pub mod conditions;
pub mod host;
pub mod host_routes;
pub mod path;
pub mod route;

use std::collections::HashMap;

use pingora::http::RequestHeader;

use crate::global_options::GlobalOptions;
use crate::tls::certs::HttpsOnly;
use crate::tls::host_policy::HostTlsPolicies;
use serde::Serialize;

pub use host::normalize_host;
pub use host_routes::HostRoutes;
pub use path::PathMatch;
pub use route::{Route, RouteAction};

/// Index of a route in [`RouteTable::routes`].
pub type RouteId = u32;

/// An immutable compiled route table.
#[derive(Debug, Default)]
pub struct RouteTable {
    revision: u64,
    global: GlobalOptions,
    https_only: HttpsOnly,
    tls_policies: HostTlsPolicies,
    routes: Vec<Route>,
    exact: HashMap<Box<str>, HostRoutes>,
    /// `(suffix with leading '.', routes)`, longest suffix first.
    wildcard: Vec<(Box<str>, HostRoutes)>,
    /// Rules without a host (`*`).
    any: HostRoutes,
}

/// A serialisable view of one route, for `gantry routes` and the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct RouteInfo {
    /// Host as configured (`*` for any).
    pub host: String,
    /// Match kind: `exact`, `prefix`, `regex`, `internal`.
    pub match_type: &'static str,
    /// Path as matched.
    pub path: String,
    /// Case-insensitive path match.
    pub ignore_case: bool,
    /// Extra conditions (methods, headers, query), human-readable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// The Ingress it came from.
    pub ingress: String,
    /// What the route does.
    pub action: route::ActionInfo,
}

// === impl RouteTable ===

impl RouteTable {
    /// Assembles a table from routes and per-host route lists (see [`crate::compile`]).
    pub fn new(
        revision: u64,
        global: GlobalOptions,
        routes: Vec<Route>,
        hosts: Vec<(String, Vec<RouteId>)>,
    ) -> Self {
        let mut table = RouteTable {
            revision,
            global,
            routes,
            ..RouteTable::default()
        };
        for (host, ids) in hosts {
            let routes = HostRoutes::new(ids, &table.routes);
            if host == "*" {
                table.any = routes;
            } else if let Some(suffix) = host.strip_prefix('*') {
                table.wildcard.push((suffix.into(), routes));
            } else {
                table.exact.insert(host.into(), routes);
            }
        }
        table
            .wildcard
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        table
    }

    /// Sets the hosts whose plain-HTTP requests are redirected to HTTPS.
    pub fn set_https_only(&mut self, hosts: HttpsOnly) {
        self.https_only = hosts;
    }

    /// Sets the per-host downstream TLS rules.
    pub fn set_tls_policies(&mut self, policies: HostTlsPolicies) {
        self.tls_policies = policies;
    }

    /// The per-host downstream TLS rules.
    pub fn tls_policies(&self) -> &HostTlsPolicies {
        &self.tls_policies
    }

    /// True when plain-HTTP requests for `host` (normalised) get a 308 to HTTPS.
    pub fn https_only(&self, host: &str) -> bool {
        self.https_only.contains(host)
    }

    /// The global options in force with this table.
    pub fn global(&self) -> &GlobalOptions {
        &self.global
    }

    /// The snapshot revision this table was compiled from.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when there is no route.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Finds the route for a normalised host (see [`normalize_host`]) and a `GET` of `path`
    /// with no headers (for tools and tests).
    pub fn find(&self, host: &str, path: &str) -> Option<&Route> {
        let req = RequestHeader::build("GET", path.as_bytes(), None).ok()?;
        self.find_id(host, &req).map(|id| self.route(id))
    }

    /// The route with this id (from [`Self::find_id`]).
    pub fn route(&self, id: RouteId) -> &Route {
        &self.routes[id as usize]
    }

    /// The route for a request whose normalised host is `host`: exact host, then wildcard
    /// hosts (longest suffix first), then host-less rules.
    pub fn find_id(&self, host: &str, req: &RequestHeader) -> Option<RouteId> {
        if let Some(r) = self
            .exact
            .get(host)
            .and_then(|h| h.find(&self.routes, req, host))
        {
            return Some(r);
        }
        for (suffix, routes) in &self.wildcard {
            if host.len() > suffix.len() && host.ends_with(&**suffix) {
                if let Some(r) = routes.find(&self.routes, req, host) {
                    return Some(r);
                }
            }
        }
        self.any.find(&self.routes, req, host)
    }

    /// Every route, grouped by host (exact hosts sorted, then wildcards, then `*`), each
    /// group in match order.
    pub fn describe(&self) -> Vec<RouteInfo> {
        let mut exact: Vec<_> = self.exact.iter().collect();
        exact.sort_by(|a, b| a.0.cmp(b.0));
        exact
            .into_iter()
            .map(|(_, r)| r)
            .chain(self.wildcard.iter().map(|(_, r)| r))
            .chain(std::iter::once(&self.any))
            .flat_map(|h| h.ids().iter())
            .map(|id| self.routes[*id as usize].info())
            .collect()
    }
}
