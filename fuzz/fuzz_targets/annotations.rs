//! Arbitrary bytes as Ingress annotations → `IngressAnnotations::parse`. Never panics.
//!
//! Input: lines of `key=value`; a line starting with a space continues the previous value on a
//! new line (multi-line values such as `destination`). Parsed twice: once with the keys as
//! given, once with each unknown key forced onto `higress.io/<known key>` (or the nginx prefix,
//! picked by the key's first byte) so every annotation parser is reached without the fuzzer
//! having to guess key names.
#![no_main]

use std::collections::BTreeMap;

use config_store::annotations::{AnnotationReader, IngressAnnotations};
use libfuzzer_sys::fuzz_target;

/// The keys of `config-store/src/annotations/unsupported.rs` `KNOWN` (kept in sync by hand;
/// `fuzz/run.sh` warns when that list has a key missing here).
const KNOWN: &[&str] = &[
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
    "enable-rewrite",
    "enable-header-control",
    "resource-description",
    "comment",
    "auth-consumer-departments",
    "auth-consumer-levels",
    // Header/query match keys take a suffix (the header or parameter name).
    "exact-match-header-x-user",
    "prefix-match-header-x-user",
    "regex-match-header-x-user",
    "exact-match-query-q",
    "prefix-match-query-q",
    "regex-match-query-q",
];

const PREFIXES: &[&str] = &["higress.io/", "nginx.ingress.kubernetes.io/"];

fn pairs(text: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in text.split('\n') {
        if let (Some(rest), Some((_, value))) = (line.strip_prefix(' '), out.last_mut()) {
            value.push('\n');
            value.push_str(rest);
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        out.push((k, v.to_string()));
    }
    out
}

fn run(map: &BTreeMap<String, String>) {
    let _ = IngressAnnotations::parse(&AnnotationReader::new(map));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // 1. Keys as given.
    let pairs = pairs(&text);
    let raw: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    run(&raw);

    // 2. Keys forced onto a known annotation; the key's first byte picks which (and the
    //    prefix), so one input sets several features at once.
    let forced: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| {
            // An already known key (as in the seeds) stays as it is.
            let known = PREFIXES
                .iter()
                .any(|p| k.strip_prefix(p).is_some_and(|rest| KNOWN.contains(&rest)));
            if known {
                return (k.to_string(), v.clone());
            }
            let b = k.bytes().next().unwrap_or(0) as usize;
            let key = KNOWN[b % KNOWN.len()];
            let prefix = PREFIXES[(b / KNOWN.len()) % PREFIXES.len()];
            (format!("{prefix}{key}"), v.clone())
        })
        .collect();
    run(&forced);
});
