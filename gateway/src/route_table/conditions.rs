//! Extra match conditions of a route besides host and path: methods, headers (including
//! pseudo-headers `:authority`, `:path`, `:method`, `:scheme`) and query parameters. All
//! must hold. Canary header and cookie routes use the same conditions.

use config_store::annotations::{RouteMatch, StringMatch};
use pingora::http::RequestHeader;
use regex::Regex;

/// How one value is matched.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal.
    Exact(String),
    /// Starts with.
    Prefix(String),
    /// Whole-value regex.
    Regex(Regex),
}

/// Conditions of a route.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// Allowed methods; empty = any.
    pub methods: Vec<http::Method>,
    /// Header name (lower case) and matcher.
    pub headers: Vec<(String, Matcher)>,
    /// Query parameter and matcher.
    pub queries: Vec<(String, Matcher)>,
}

// === impl Matcher ===

impl Matcher {
    /// Compiles a string match (regexes were validated when parsed).
    pub fn compile(m: &StringMatch) -> Result<Self, regex::Error> {
        Ok(match m {
            StringMatch::Exact(s) => Matcher::Exact(s.clone()),
            StringMatch::Prefix(s) => Matcher::Prefix(s.clone()),
            StringMatch::Regex(r) => Matcher::Regex(Regex::new(&format!("^(?:{r})$"))?),
        })
    }

    /// True when `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => value == s,
            Matcher::Prefix(s) => value.starts_with(s.as_str()),
            Matcher::Regex(r) => r.is_match(value),
        }
    }
}

// === impl Conditions ===

impl Conditions {
    /// Compiles the `match-*` annotations.
    pub fn compile(m: &RouteMatch) -> Result<Self, regex::Error> {
        let pairs = |list: &[(String, StringMatch)]| {
            list.iter()
                .map(|(n, m)| Matcher::compile(m).map(|m| (n.clone(), m)))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            methods: m.methods.iter().filter_map(|s| s.parse().ok()).collect(),
            headers: pairs(&m.headers)?,
            queries: pairs(&m.queries)?,
        })
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty() && self.headers.is_empty() && self.queries.is_empty()
    }

    /// True when the request meets every condition.
    pub fn matches(&self, req: &RequestHeader, host: &str) -> bool {
        if !self.methods.is_empty() && !self.methods.contains(&req.method) {
            return false;
        }
        let header_ok = self.headers.iter().all(|(name, m)| {
            let value = match name.as_str() {
                ":authority" => Some(host),
                ":path" => req.uri.path_and_query().map(|p| p.as_str()),
                ":method" => Some(req.method.as_str()),
                ":scheme" => Some(req.uri.scheme_str().unwrap_or("http")),
                other => req.headers.get(other).and_then(|v| v.to_str().ok()),
            };
            value.is_some_and(|v| m.matches(v))
        });
        header_ok
            && self.queries.iter().all(|(name, m)| {
                query_param(req.uri.query().unwrap_or(""), name).is_some_and(|v| m.matches(v))
            })
    }
}

/// The first value of `name` in a raw query string.
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}
