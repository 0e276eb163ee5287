//! Annotation keys Higress reads but ignores (e.g. `auth-type` since 2.0), and keys under
//! the Higress/nginx prefixes that neither Higress nor Gantry knows. Each gets one notice.

use super::reader::{HIGRESS_PREFIX, NGINX_PREFIX};
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Keys present on the Ingress that have no effect, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub Vec<(String, &'static str)>);

/// Keys Higress parses only to say they are gone.
const RETIRED: &[&str] = &["auth-type", "auth-secret", "auth-secret-type", "auth-realm"];

/// Keys Higress reads under either prefix (`match-*` keys are checked by shape).
pub const KNOWN: &[&str] = &[
    "canary",
    "canary-by-header",
    "canary-by-header-value",
    "canary-by-header-pattern",
    "canary-by-cookie",
    "canary-weight",
    "canary-weight-total",
    "enable-cors",
    "cors-allow-origin",
    "cors-allow-methods",
    "cors-allow-headers",
    "cors-expose-headers",
    "cors-allow-credentials",
    "cors-max-age",
    "auth-tls-secret",
    "ssl-cipher",
    "tls-min-protocol-version",
    "tls-max-protocol-version",
    "ssl-redirect",
    "force-ssl-redirect",
    "permanent-redirect",
    "permanent-redirect-code",
    "temporal-redirect",
    "app-root",
    "rewrite-target",
    "use-regex",
    "full-path-regex",
    "upstream-vhost",
    "rewrite-path",
    "backend-protocol",
    "proxy-ssl-secret",
    "proxy-ssl-verify",
    "proxy-ssl-name",
    "proxy-ssl-server-name",
    "whitelist-source-range",
    "timeout",
    "proxy-next-upstream",
    "proxy-next-upstream-tries",
    "proxy-next-upstream-timeout",
    "enable-proxy-next-upstream",
    "load-balance",
    "upstream-hash-by",
    "affinity",
    "affinity-mode",
    "affinity-canary-behavior",
    "session-cookie-name",
    "session-cookie-path",
    "session-cookie-max-age",
    "session-cookie-expires",
    "route-limit-rpm",
    "route-limit-rps",
    "route-limit-burst-multiplier",
    "default-backend",
    "custom-http-errors",
    "mirror-target-service",
    "mirror-target-fqdn",
    "mirror-target-fqdn-port",
    "mirror-percentage",
    "destination",
    "ignore-path-case",
    "match-method",
    "request-header-control-add",
    "request-header-control-update",
    "request-header-control-remove",
    "response-header-control-add",
    "response-header-control-update",
    "response-header-control-remove",
    "rpc-destination-name",
    "mcp-server",
    "mcp-server-match-rule-domains",
    "mcp-server-match-rule-type",
    "mcp-server-match-rule-value",
    "mcp-server-upstream-type",
    "mcp-server-enable-path-rewrite",
    "mcp-server-path-rewrite-prefix",
    "mcp-sse-stateful-param-name",
    "config-snippet",
    // Written by the Higress console for its own forms; the controller does not read them.
    "enable-proxy-next-upstream",
    "enable-rewrite",
    "enable-header-control",
    "resource-description",
    "comment",
    "auth-consumer-departments",
    "auth-consumer-levels",
];

impl AnnotationGroup for Unsupported {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let mut found = Vec::new();
        for prefix in [NGINX_PREFIX, HIGRESS_PREFIX] {
            for (key, v) in reader.under(prefix) {
                if RETIRED.contains(&key) {
                    found.push((v.key.to_string(), "no longer supported by Higress since 2.0; use a Wasm plugin (e.g. basic-auth)"));
                } else if key == "rpc-destination-name" || key.starts_with("mcp-server") {
                    found.push((v.key.to_string(), "not supported by Gantry yet; ignored"));
                } else if !KNOWN.contains(&key) && !is_match_key(key) {
                    found.push((
                        v.key.to_string(),
                        "not an annotation Higress reads; ignored",
                    ));
                }
            }
        }
        Ok((!found.is_empty()).then_some(Unsupported(found)))
    }
}

fn is_match_key(key: &str) -> bool {
    ["exact-match-", "prefix-match-", "regex-match-"]
        .iter()
        .any(|p| key.starts_with(p))
}
