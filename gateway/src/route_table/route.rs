//! One compiled route and what it does.

use std::sync::Arc;

use serde::Serialize;

use super::{PathMatch, RouteInfo};
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
    /// The Ingress it came from (`name`).
    pub ingress: String,
    /// What to do with a matching request.
    pub action: RouteAction,
}

/// What a route does.
#[derive(Debug)]
pub enum RouteAction {
    /// Proxy to an upstream group.
    Forward(Arc<UpstreamGroup>),
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
}

// === impl Route ===

impl Route {
    /// A serialisable view.
    pub fn info(&self) -> RouteInfo {
        RouteInfo {
            host: self.host.clone(),
            match_type: self.path.kind(),
            path: self.path.display_path(),
            ignore_case: self.ignore_case,
            ingress: self.ingress.clone(),
            action: match &self.action {
                RouteAction::Forward(group) => ActionInfo::Forward {
                    destinations: group.describe(),
                },
            },
        }
    }
}
