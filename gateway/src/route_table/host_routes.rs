//! The routes of one host, in priority order, with an index on paths so lookup cost does not
//! grow with the number of routes: Exact paths by hash, Prefix paths by hashing each
//! element-wise prefix of the request path, regex routes scanned. The first route in
//! priority order whose path and conditions match wins, exactly as a linear scan would pick.

use std::borrow::Cow;
use std::collections::HashMap;

use pingora::http::RequestHeader;

use super::{PathMatch, Route, RouteId};

/// Hosts with at most this many routes are scanned in order; the index pays off above it.
const SCAN_LIMIT: usize = 8;

/// Routes of one host, in priority order.
#[derive(Debug, Default, Clone)]
pub struct HostRoutes {
    ids: Vec<RouteId>,
    index: Option<PathIndex>,
}

/// Positions (into `HostRoutes::ids`, ascending) of the routes each path key can match.
#[derive(Debug, Default, Clone)]
struct PathIndex {
    exact: HashMap<Box<str>, Vec<u32>>,
    prefix: HashMap<Box<str>, Vec<u32>>,
    /// As above for `ignore-path-case` routes, keyed by the lower-cased path.
    exact_ci: HashMap<Box<str>, Vec<u32>>,
    prefix_ci: HashMap<Box<str>, Vec<u32>>,
    /// Regex routes: tried in order.
    scan: Vec<u32>,
}

// === impl HostRoutes ===

impl HostRoutes {
    /// Builds from route ids already in priority order; `routes` is the table they index.
    pub fn new(ids: Vec<RouteId>, routes: &[Route]) -> Self {
        let index = (ids.len() > SCAN_LIMIT).then(|| PathIndex::build(&ids, routes));
        Self { ids, index }
    }

    /// Route ids in priority order.
    pub fn ids(&self) -> &[RouteId] {
        &self.ids
    }

    /// The first route (in priority order) matching `req` on `host`.
    pub fn find(&self, routes: &[Route], req: &RequestHeader, host: &str) -> Option<RouteId> {
        let Some(index) = &self.index else {
            return self
                .ids
                .iter()
                .copied()
                .find(|id| routes[*id as usize].matches(req, host));
        };
        let matches = |pos: u32| {
            let id = self.ids[pos as usize];
            routes[id as usize].matches(req, host).then_some(id)
        };
        let path = req.uri.path();
        // The best (lowest) position found so far; each candidate list is ascending, so a
        // list is abandoned as soon as its positions pass the best.
        let mut best: Option<(u32, RouteId)> = None;
        let mut consider = |positions: &[u32]| {
            for &pos in positions {
                if best.is_some_and(|(b, _)| pos >= b) {
                    return;
                }
                if let Some(id) = matches(pos) {
                    best = Some((pos, id));
                    return;
                }
            }
        };
        index.candidates(path, &mut consider);
        best.map(|(_, id)| id)
    }
}

// === impl PathIndex ===

impl PathIndex {
    fn build(ids: &[RouteId], routes: &[Route]) -> Self {
        let mut index = PathIndex::default();
        for (pos, id) in ids.iter().enumerate() {
            let pos = pos as u32;
            let route = &routes[*id as usize];
            let ci = route.ignore_case;
            let key = |p: &str| -> Box<str> {
                if ci {
                    p.to_ascii_lowercase().into()
                } else {
                    p.into()
                }
            };
            match &route.path {
                PathMatch::Exact(p) | PathMatch::Internal(p) => {
                    let map = if ci {
                        &mut index.exact_ci
                    } else {
                        &mut index.exact
                    };
                    map.entry(key(p)).or_default().push(pos);
                }
                PathMatch::Prefix(p) => {
                    let map = if ci {
                        &mut index.prefix_ci
                    } else {
                        &mut index.prefix
                    };
                    map.entry(key(p)).or_default().push(pos);
                }
                PathMatch::Regex { .. } => index.scan.push(pos),
            }
        }
        index
    }

    /// Calls `each` with every candidate list for `path`.
    fn candidates(&self, path: &str, each: &mut impl FnMut(&[u32])) {
        Self::lookup(&self.exact, &self.prefix, path, each);
        if !self.exact_ci.is_empty() || !self.prefix_ci.is_empty() {
            let lower: Cow<'_, str> = if path.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(path.to_ascii_lowercase())
            } else {
                Cow::Borrowed(path)
            };
            Self::lookup(&self.exact_ci, &self.prefix_ci, &lower, each);
        }
        each(&self.scan);
    }

    /// Exact entries for `path`, then Prefix entries for each element-wise prefix of it:
    /// `""` (the root), then `path` cut before each `/` after the first byte, then `path`.
    fn lookup(
        exact: &HashMap<Box<str>, Vec<u32>>,
        prefix: &HashMap<Box<str>, Vec<u32>>,
        path: &str,
        each: &mut impl FnMut(&[u32]),
    ) {
        if let Some(list) = exact.get(path) {
            each(list);
        }
        if prefix.is_empty() {
            return;
        }
        // The root prefix matches every path, even one without a `/` (`OPTIONS *`).
        if let Some(list) = prefix.get("") {
            each(list);
        }
        for (i, b) in path.bytes().enumerate().skip(1) {
            if b == b'/' {
                // `/` is ASCII, so `i` is a char boundary.
                if let Some(list) = prefix.get(&path[..i]) {
                    each(list);
                }
            }
        }
        if !path.is_empty() {
            if let Some(list) = prefix.get(path) {
                each(list);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::policy::RoutePolicy;
    use crate::route_table::conditions::Conditions;
    use crate::route_table::RouteAction;
    use crate::upstream::UpstreamGroup;

    const SEGMENTS: [&str; 5] = ["a", "b", "A", "cd", ""];

    fn random_path(rng: &mut fastrand::Rng) -> String {
        let mut path = String::new();
        for _ in 0..rng.usize(0..4) {
            path.push('/');
            path.push_str(SEGMENTS[rng.usize(..SEGMENTS.len())]);
        }
        if path.is_empty() || rng.u8(..10) == 0 {
            path.push('/');
        }
        path
    }

    fn random_route(rng: &mut fastrand::Rng, n: usize) -> Route {
        let p = random_path(rng);
        let ignore_case = rng.bool();
        let path = match rng.u8(..4) {
            0 => PathMatch::Exact(p),
            1 => PathMatch::Internal(p),
            2 => PathMatch::regex(&format!("{p}[a-z]*"), rng.bool(), ignore_case)
                .expect("test regex"),
            _ => PathMatch::prefix(&p),
        };
        let conditions = (rng.u8(..4) == 0).then(|| Conditions {
            methods: vec![http::Method::POST],
            ..Conditions::default()
        });
        Route {
            host: "h".into(),
            path,
            ignore_case,
            conditions,
            ingress: format!("r{n}"),
            action: RouteAction::Forward(Arc::new(UpstreamGroup::new(Vec::new()))),
            policy: Arc::new(RoutePolicy::default()),
        }
    }

    /// The index picks exactly what a scan in priority order picks, for random tables
    /// (any order, every path kind, case-insensitive routes, method conditions) and paths.
    #[test]
    fn index_agrees_with_a_scan_in_order() {
        let mut rng = fastrand::Rng::with_seed(7);
        for table in 0..200 {
            let count = rng.usize(1..60);
            let routes: Vec<Route> = (0..count).map(|n| random_route(&mut rng, n)).collect();
            let mut ids: Vec<RouteId> = (0..count as RouteId).collect();
            rng.shuffle(&mut ids);
            let host = HostRoutes::new(ids.clone(), &routes);
            assert_eq!(host.index.is_some(), count > SCAN_LIMIT);
            for _ in 0..200 {
                let mut path = random_path(&mut rng);
                if rng.u8(..20) == 0 {
                    path = "*".into();
                }
                let method = if rng.bool() { "GET" } else { "POST" };
                let Ok(req) = RequestHeader::build(method, path.as_bytes(), None) else {
                    continue;
                };
                let scan = ids
                    .iter()
                    .copied()
                    .find(|id| routes[*id as usize].matches(&req, "h"));
                assert_eq!(
                    host.find(&routes, &req, "h"),
                    scan,
                    "table {table}, {method} {path}: {:?}",
                    scan.map(|id| routes[id as usize].path.display_path())
                );
            }
        }
    }
}
