//! Annotations → the route's [`RoutePolicy`] (and redirect action).

use std::sync::Arc;

use config_store::annotations::{MirrorTarget, Redirect};
use config_store::resource::ingress::ServiceBackendPort;
use config_store::snapshot::IngressEntry;
use regex::Regex;

use super::Compiler;
use crate::filter::{FilterChain, HttpFilter};
use crate::policy::access::SourceRangePolicy;
use crate::policy::cors::CorsPolicy;
use crate::policy::header_ops::HeaderControlFilter;
use crate::policy::mirror::MirrorPolicy;
use crate::policy::rate_limit::BucketKey;
use crate::policy::redirect::RedirectTo;
use crate::policy::retry::RetryPolicy;
use crate::policy::rewrite::{PathRewrite, RewritePolicy};
use crate::policy::RoutePolicy;
use crate::route_table::PathMatch;
use crate::upstream::{TargetOptions, UpstreamGroup};

/// A URL redirect replaces forwarding (`ssl-redirect` does not: it is a policy).
pub(super) fn redirect_action(entry: &IngressEntry<'_>) -> Option<RedirectTo> {
    match &entry.annotations.redirect {
        Some(Redirect::Url { url, code }) => Some(RedirectTo::url(url, *code)),
        _ => None,
    }
}

impl Compiler<'_> {
    /// Compiles the Ingress's route policies for one route path on `host`. A rate limit
    /// reuses the bucket earlier tables had for the same Ingress, host, path and limit.
    pub(super) fn policy(
        &mut self,
        entry: &IngressEntry<'_>,
        host: &str,
        path: &PathMatch,
    ) -> RoutePolicy {
        let a = entry.annotations;
        let route_path = format!("{} {}", path.kind(), path.display_path());
        let mut filters: Vec<Arc<dyn HttpFilter>> = Vec::new();
        let mut p = RoutePolicy {
            https_redirect: matches!(a.redirect, Some(Redirect::Https)),
            timeout: a.timeout.map(|t| t.0),
            retry: a.retry.as_ref().map(RetryPolicy::new),
            rate_limit: a.rate_limit.as_ref().map(|r| {
                let key = BucketKey::new(&entry.ingress.metadata.name, host, &route_path, r);
                self.discovery.rate_limits().bucket(key, r)
            }),
            ..RoutePolicy::default()
        };
        if let Some(s) = &a.source_range {
            filters.push(Arc::new(SourceRangePolicy::new(s.0.clone())));
        }
        if let Some(bucket) = &p.rate_limit {
            filters.push(bucket.clone());
        }
        if let Some(c) = &a.cors {
            match CorsPolicy::compile(c) {
                Some(cors) => filters.push(Arc::new(cors)),
                None => self.warn(
                    entry,
                    "metadata.annotations",
                    "CORS values are not valid header values; CORS off",
                ),
            }
        }
        filters.extend(self.plugin_filters(entry, host));
        if let Some(rw) = &a.rewrite {
            filters.push(Arc::new(RewritePolicy {
                path: path_rewrite(rw.path.as_deref(), rw.target.as_deref(), path),
                host: rw.upstream_vhost.clone(),
            }));
        }
        if let Some(hc) = &a.header_control {
            filters.push(Arc::new(HeaderControlFilter(hc.clone())));
        }
        if let Some(f) = &a.fallback {
            let port = ServiceBackendPort::default();
            match self.service_spec(&f.service, &port) {
                Ok(spec) => {
                    let dest =
                        self.destination(100, f.service.clone(), spec, TargetOptions::default());
                    p.fallback = Some(Arc::new(UpstreamGroup::new(vec![dest])));
                    p.fallback_statuses = f.on_status.clone();
                }
                Err(msg) => self.warn(
                    entry,
                    "metadata.annotations[\"default-backend\"]",
                    format!("{msg}; fallback ignored"),
                ),
            }
        }
        if let Some(m) = &a.mirror {
            let spec = match &m.target {
                MirrorTarget::Service { name, port } => self.service_spec(
                    name,
                    &ServiceBackendPort {
                        number: *port,
                        name: None,
                    },
                ),
                MirrorTarget::Fqdn { host, port } => self.host_spec(host, Some(*port)),
            };
            match spec {
                Ok(spec) => {
                    let dest =
                        self.destination(100, "mirror".into(), spec, TargetOptions::default());
                    filters.push(Arc::new(MirrorPolicy::new(dest.target, m.percentage)));
                }
                Err(msg) => self.warn(
                    entry,
                    "metadata.annotations",
                    format!("mirror target: {msg}; mirroring off"),
                ),
            }
        }
        p.filters = FilterChain::new(filters);
        p
    }
}

/// Higress's rewrite rules, by route path type (`rewrite-path` wins over `rewrite-target`).
fn path_rewrite(
    rewrite_path: Option<&str>,
    target: Option<&str>,
    path: &PathMatch,
) -> Option<PathRewrite> {
    if let Some(with) = rewrite_path {
        let with = with.to_string();
        return Some(match path {
            PathMatch::Exact(p) | PathMatch::Internal(p) => PathRewrite::Prefix {
                prefix: p.clone(),
                with,
            },
            PathMatch::Prefix(p) if p.is_empty() => PathRewrite::Prefix {
                prefix: "/".into(),
                with,
            },
            PathMatch::Prefix(p) => PathRewrite::Segment {
                prefix: p.clone(),
                with,
            },
            PathMatch::Regex { source, .. } => PathRewrite::Regex {
                pattern: Regex::new(&format!("^(?:{source})")).ok()?,
                with,
            },
        });
    }
    let with = target?.to_string();
    let pattern = match path {
        PathMatch::Exact(p) | PathMatch::Internal(p) => regex::escape(p),
        PathMatch::Prefix(p) if p.is_empty() => "^/".into(),
        // Higress uses the route's first match, the exact prefix path, unanchored.
        PathMatch::Prefix(p) => regex::escape(p),
        PathMatch::Regex { source, matcher } => {
            if matcher.as_str().ends_with(")$") {
                format!("{source}$")
            } else {
                format!("{source}.*")
            }
        }
    };
    Some(PathRewrite::Regex {
        pattern: Regex::new(&pattern).ok()?,
        with,
    })
}
