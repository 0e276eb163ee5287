//! Path and Host rewriting as Higress configures Envoy: `rewrite-path` replaces the matched
//! prefix (or the exact path); `rewrite-target` is a regex replace-all over the path whose
//! pattern depends on the route's path type; `upstream-vhost` sets the Host.

use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora::proxy::Session;
use pingora::{Error, ErrorType, Result};
use regex::Regex;

use crate::filter::{FilterState, HttpFilter};
use crate::proxy::RequestCtx;

/// How the path changes.
#[derive(Debug)]
pub enum PathRewrite {
    /// Replace the leading `prefix` with `with` (Envoy `prefix_rewrite`).
    Prefix {
        /// The matched prefix (as configured, with trailing `/` when it had one).
        prefix: String,
        /// Replacement.
        with: String,
    },
    /// Higress's `rewrite-path` on a non-root prefix route: `prefix` (no trailing `/`) and
    /// what follows it (`""` or `/…`) become `with` plus the rest, without doubling `/`.
    Segment {
        /// The matched prefix, without trailing `/`.
        prefix: String,
        /// Replacement.
        with: String,
    },
    /// Replace every match of `pattern` with `with` (`${1}` captures; Envoy `regex_rewrite`).
    Regex {
        /// Pattern.
        pattern: Regex,
        /// Substitution.
        with: String,
    },
}

/// A compiled rewrite.
#[derive(Debug, Default)]
pub struct RewritePolicy {
    /// Path change.
    pub path: Option<PathRewrite>,
    /// Host sent upstream.
    pub host: Option<String>,
}

// === impl HttpFilter for RewritePolicy ===

#[async_trait]
impl HttpFilter for RewritePolicy {
    fn name(&self) -> &str {
        "rewrite"
    }

    /// Skipped when a `custom-http-errors` fallback sends the request to `/`.
    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        if ctx.is_status_fallback() {
            return Ok(());
        }
        if let Some(path_rw) = &self.path {
            if let Some(new_path) = path_rw.apply(upstream_request.uri.path()) {
                let uri = match upstream_request.uri.query() {
                    Some(q) => format!("{new_path}?{q}"),
                    None => new_path,
                };
                let uri = uri.parse::<http::Uri>().map_err(|_| {
                    Error::explain(
                        ErrorType::InternalError,
                        "rewritten path is not a valid URI",
                    )
                })?;
                upstream_request.set_uri(uri);
            }
        }
        if let Some(host) = &self.host {
            upstream_request.insert_header(http::header::HOST, host.as_str())?;
        }
        Ok(())
    }
}

// === impl PathRewrite ===

impl PathRewrite {
    /// Rewrites `path` (no query); `None` when it does not apply.
    pub fn apply(&self, path: &str) -> Option<String> {
        match self {
            PathRewrite::Prefix { prefix, with } => {
                let rest = strip_prefix_ignore_case(path, prefix)?;
                let mut out = String::with_capacity(with.len() + rest.len());
                out.push_str(with);
                out.push_str(rest);
                Some(out)
            }
            PathRewrite::Segment { prefix, with } => {
                let rest = strip_prefix_ignore_case(path, prefix)?;
                let rest = match (with.ends_with('/'), rest.strip_prefix('/')) {
                    (true, Some(r)) => r,
                    _ => rest,
                };
                Some(format!("{with}{rest}"))
            }
            PathRewrite::Regex { pattern, with } => {
                if !pattern.is_match(path) {
                    return None;
                }
                Some(pattern.replace_all(path, with.as_str()).into_owned())
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if path.len() >= prefix.len()
        && path.is_char_boundary(prefix.len())
        && path[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&path[prefix.len()..])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_regex() {
        let p = PathRewrite::Prefix {
            prefix: "/foo".into(),
            with: "/bar".into(),
        };
        assert_eq!(p.apply("/foo/x").as_deref(), Some("/bar/x"));
        let r = PathRewrite::Regex {
            pattern: Regex::new("/svc/(.*)").unwrap(),
            with: "/${1}".into(),
        };
        assert_eq!(r.apply("/svc/foo").as_deref(), Some("/foo"));
        let s = PathRewrite::Segment {
            prefix: "/foo".into(),
            with: "/bar".into(),
        };
        assert_eq!(s.apply("/foo").as_deref(), Some("/bar"));
        assert_eq!(s.apply("/foo/x").as_deref(), Some("/bar/x"));
        let s = PathRewrite::Segment {
            prefix: "/foo".into(),
            with: "/bar/".into(),
        };
        assert_eq!(s.apply("/foo/x").as_deref(), Some("/bar/x"));
        assert_eq!(s.apply("/foo").as_deref(), Some("/bar/"));
        let g = PathRewrite::Regex {
            pattern: Regex::new("/foo").unwrap(),
            with: "/bar".into(),
        };
        assert_eq!(g.apply("/foo/foo").as_deref(), Some("/bar/bar"));
    }
}
