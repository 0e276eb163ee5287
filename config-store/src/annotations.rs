//! Ingress annotations, parsed once into one typed struct per feature.
//!
//! Keys are read as Higress reads them: `nginx.ingress.kubernetes.io/<key>` first, then
//! `higress.io/<key>`; some keys exist only under `higress.io/`. To add a feature, write one
//! file with a type implementing [`AnnotationGroup`] and add one line to
//! [`annotation_groups!`] below.

pub mod canary;
pub mod cors;
pub mod destination;
pub mod downstream_tls;
pub mod fallback;
pub mod header_control;
pub mod ip_access;
pub mod load_balance;
pub mod mirror;
pub mod path_case;
pub mod rate_limit;
pub mod reader;
pub mod redirect;
pub mod retry;
pub mod rewrite;
pub mod route_match;
pub mod timeout;
pub mod unsupported;
pub mod upstream_tls;
pub mod value;

pub use canary::Canary;
pub use cors::Cors;
pub use destination::{Destination, DestinationEntry};
pub use downstream_tls::DownstreamTls;
pub use fallback::Fallback;
pub use header_control::{HeaderControl, HeaderOps};
pub use ip_access::SourceRange;
pub use load_balance::{HashKey, LoadBalance};
pub use mirror::{Mirror, MirrorTarget};
pub use path_case::IgnorePathCase;
pub use rate_limit::RateLimit;
pub use reader::{AnnotationError, AnnotationReader};
pub use redirect::{AppRoot, Redirect};
pub use retry::Retry;
pub use rewrite::Rewrite;
pub use route_match::RouteMatch;
pub use timeout::Timeout;
pub use unsupported::Unsupported;
pub use upstream_tls::{BackendProtocol, UpstreamTls};
pub use value::StringMatch;

/// One feature's annotations. `parse` returns `Ok(None)` when none of its keys are set.
pub trait AnnotationGroup: Sized {
    /// Parses this feature's keys; an invalid value is an error, never a guess.
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError>;
}

macro_rules! annotation_groups {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// Every annotation feature of one Ingress, parsed and validated.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct IngressAnnotations {
            $($(#[$doc])* pub $field: Option<$ty>,)*
        }

        impl IngressAnnotations {
            /// Parses every feature, collecting every error rather than stopping at the first.
            pub fn parse(reader: &AnnotationReader<'_>) -> Result<Self, Vec<AnnotationError>> {
                let mut errors = Vec::new();
                let parsed = Self {
                    $($field: match <$ty as AnnotationGroup>::parse(reader) {
                        Ok(value) => value,
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    },)*
                };
                if errors.is_empty() {
                    Ok(parsed)
                } else {
                    Err(errors)
                }
            }
        }
    };
}

annotation_groups! {
    /// `canary*`: this Ingress is a canary of a base route.
    canary: Canary,
    /// `enable-cors`, `cors-*`.
    cors: Cors,
    /// `auth-tls-secret`, `ssl-cipher`, `tls-*-protocol-version` (host scope).
    downstream_tls: DownstreamTls,
    /// `*-redirect`.
    redirect: Redirect,
    /// `app-root` (host scope).
    app_root: AppRoot,
    /// `rewrite-target`, `rewrite-path`, `upstream-vhost`, `use-regex`, `full-path-regex`.
    rewrite: Rewrite,
    /// `backend-protocol`, `proxy-ssl-*` (service scope).
    upstream_tls: UpstreamTls,
    /// `whitelist-source-range`.
    source_range: SourceRange,
    /// `higress.io/timeout`.
    timeout: Timeout,
    /// `proxy-next-upstream*`.
    retry: Retry,
    /// `load-balance`, `upstream-hash-by`, cookie affinity (service scope).
    load_balance: LoadBalance,
    /// `route-limit-*`.
    rate_limit: RateLimit,
    /// `default-backend`, `custom-http-errors`.
    fallback: Fallback,
    /// `mirror-*`.
    mirror: Mirror,
    /// `higress.io/destination`: McpBridge (or FQDN) destinations with weights.
    destination: Destination,
    /// `ignore-path-case`: case-insensitive path matching.
    ignore_path_case: IgnorePathCase,
    /// `match-method`, `*-match-header|query|pseudo-header-*`.
    route_match: RouteMatch,
    /// `request-|response-header-control-*`.
    header_control: HeaderControl,
    /// Keys that have no effect (one notice each).
    unsupported: Unsupported,
}

#[cfg(test)]
mod tests;
