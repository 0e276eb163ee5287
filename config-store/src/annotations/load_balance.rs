//! Load balancing (service scope): cookie affinity (`affinity`, `session-cookie-*`) wins over
//! `upstream-hash-by`, which wins over `load-balance` (round_robin, least_conn, random).

use std::time::Duration;

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// What a consistent hash is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashKey {
    /// `$request_uri`: path and query.
    RequestUri,
    /// `$host`.
    Host,
    /// `$remote_addr`: client IP.
    RemoteAddr,
    /// `$http_<name>`: a request header.
    Header(String),
    /// `$arg_<name>`: a query parameter.
    Query(String),
}

/// Endpoint selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadBalance {
    /// Round robin (default).
    RoundRobin,
    /// Fewest active requests.
    LeastConn,
    /// Uniformly random.
    Random,
    /// Consistent hash of a request attribute.
    Hash(HashKey),
    /// Sticky sessions by cookie.
    Cookie {
        /// Cookie name (default `INGRESSCOOKIE`).
        name: String,
        /// Cookie path (default `/`).
        path: String,
        /// Max-Age; `None` = session cookie.
        ttl: Option<Duration>,
    },
}

impl AnnotationGroup for LoadBalance {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let affinity = reader.get("affinity");
        let cookie_name = reader.get("session-cookie-name");
        let cookie_path = reader.get("session-cookie-path");
        if affinity.is_some() || cookie_name.is_some() || cookie_path.is_some() {
            let ttl = match (
                reader.get("session-cookie-max-age"),
                reader.get("session-cookie-expires"),
            ) {
                (Some(v), _) | (None, Some(v)) => Some(v.parse_seconds()?).filter(|d| !d.is_zero()),
                (None, None) => None,
            };
            return Ok(Some(LoadBalance::Cookie {
                name: cookie_name.map_or("INGRESSCOOKIE".into(), |v| v.value),
                path: cookie_path.map_or("/".into(), |v| v.value),
                ttl,
            }));
        }
        if let Some(v) = reader.get("upstream-hash-by") {
            let key = match v.value.as_str() {
                "$request_uri" => HashKey::RequestUri,
                "$host" => HashKey::Host,
                "$remote_addr" => HashKey::RemoteAddr,
                s if s.starts_with("$http_") && s.len() > 6 => HashKey::Header(s[6..].replace('_', "-").to_ascii_lowercase()),
                s if s.starts_with("$arg_") && s.len() > 5 => HashKey::Query(s[5..].to_string()),
                other => {
                    return Err(v.error(format!(
                        "{other:?} is not supported (use $request_uri, $host, $remote_addr, $http_<name> or $arg_<name>)"
                    )))
                }
            };
            return Ok(Some(LoadBalance::Hash(key)));
        }
        let Some(v) = reader.get("load-balance") else {
            return Ok(None);
        };
        let lb = match v.value.to_ascii_lowercase().as_str() {
            "round_robin" => LoadBalance::RoundRobin,
            "least_conn" | "least_request" => LoadBalance::LeastConn,
            "random" => LoadBalance::Random,
            other => {
                return Err(v.error(format!(
                    "unknown policy {other:?} (expected round_robin, least_conn or random)"
                )))
            }
        };
        Ok(Some(lb))
    }
}
