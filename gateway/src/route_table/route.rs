//! One compiled route and what it does.

use std::sync::Arc;

use serde::Serialize;

use super::conditions::Conditions;
use super::{PathMatch, RouteInfo};
use crate::policy::redirect::RedirectTo;
use crate::policy::RoutePolicy;
use crate::upstream::UpstreamGroup;

/// A compiled route.
#[derive(Debug)]
pub struct Route {
    /// Host as configured (`*` for any).
    pub host: String,
    /// Path match.
    pub path: PathMatch,
    /// Case-insensitive path match (`ignore-path-case`).
    pub ignore_case: bool,
    /// Method/header/query conditions (`match-*`, canary header or cookie).
    pub conditions: Option<Conditions>,
    /// The Ingress it came from (`name`; a canary route names the canary Ingress).
    pub ingress: String,
    /// What to do with a matching request.
    pub action: RouteAction,
    /// Policies applied around the action.
    pub policy: Arc<RoutePolicy>,
}

/// What a route does.
#[derive(Debug)]
pub enum RouteAction {
    /// Proxy to an upstream group.
    Forward(Arc<UpstreamGroup>),
    /// Answer with a redirect.
    Redirect(RedirectTo),
}

/// Serialisable description of an action.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ActionInfo {
    /// Proxy to weighted destinations.
    Forward {
        /// Destinations with weights and current endpoints.
        destinations: Vec<crate::upstream::DestinationInfo>,
    },
    /// Redirect.
    Redirect {
        /// Status code.
        code: u16,
        /// Target, as configured.
        to: String,
    },
}

// === impl Route ===

impl Route {
    /// True when the request's path and conditions match (host already chosen).
    pub fn matches(&self, req: &pingora::http::RequestHeader, host: &str) -> bool {
        self.path.matches(req.uri.path(), self.ignore_case)
            && self
                .conditions
                .as_ref()
                .is_none_or(|c| c.matches(req, host))
    }

    /// A serialisable view.
    pub fn info(&self) -> RouteInfo {
        let mut conditions = Vec::new();
        if let Some(c) = &self.conditions {
            if !c.methods.is_empty() {
                let m: Vec<&str> = c.methods.iter().map(|m| m.as_str()).collect();
                conditions.push(format!("method {}", m.join("|")));
            }
            conditions.extend(c.headers.iter().map(|(n, m)| format!("header {n} {m:?}")));
            conditions.extend(c.queries.iter().map(|(n, m)| format!("query {n} {m:?}")));
        }
        RouteInfo {
            host: self.host.clone(),
            match_type: self.path.kind(),
            path: self.path.display_path(),
            ignore_case: self.ignore_case,
            conditions,
            ingress: self.ingress.clone(),
            action: match &self.action {
                RouteAction::Forward(group) => ActionInfo::Forward {
                    destinations: group.describe(),
                },
                RouteAction::Redirect(to) => ActionInfo::Redirect {
                    code: to.code(),
                    to: match to {
                        RedirectTo::Url { origin, path, .. } => {
                            format!("{origin}{}", path.as_deref().unwrap_or(""))
                        }
                        RedirectTo::Path(p) => p.clone(),
                        RedirectTo::Https => "https".into(),
                    },
                },
            },
        }
    }
}
