//! The Ingress annotations the Higress console manages for a route's form fields, so
//! everything else is the route's `customConfigs`.

/// Managed keys under `higress.io/` (and `disabled.higress.io/` for switched-off features).
const MANAGED: &[&str] = &[
    "destination",
    "use-regex",
    "ignore-path-case",
    "ssl-redirect",
    "enable-rewrite",
    "rewrite-path",
    "rewrite-target",
    "upstream-vhost",
    "enable-proxy-next-upstream",
    "proxy-next-upstream-tries",
    "proxy-next-upstream-timeout",
    "proxy-next-upstream",
    "enable-header-control",
    "request-header-control-add",
    "request-header-control-update",
    "request-header-control-remove",
    "response-header-control-add",
    "response-header-control-update",
    "response-header-control-remove",
    "enable-cors",
    "cors-max-age",
    "cors-allow-credentials",
    "cors-allow-origin",
    "cors-allow-methods",
    "cors-allow-headers",
    "cors-expose-headers",
    "match-method",
];

/// The Higress annotation prefix.
pub const HIGRESS: &str = "higress.io/";
/// The prefix of a switched-off feature's kept values.
pub const DISABLED: &str = "disabled.higress.io/";
/// The nginx-ingress prefix.
pub const NGINX: &str = "nginx.ingress.kubernetes.io/";

/// True for a key the console's form fields own.
pub fn is_managed(key: &str) -> bool {
    let Some(rest) = key
        .strip_prefix(HIGRESS)
        .or_else(|| key.strip_prefix(DISABLED))
    else {
        return false;
    };
    MANAGED.contains(&rest) || is_match_key(rest)
}

/// True for `exact|prefix|regex-match-(header|pseudo-header|query)-<key>`.
pub fn is_match_key(rest: &str) -> bool {
    ["exact-match-", "prefix-match-", "regex-match-"]
        .iter()
        .any(|p| rest.starts_with(p))
}

/// Why a `customConfigs` key may not be set there, if it may not.
pub fn custom_key_error(key: &str) -> Option<String> {
    let higress_twin = key
        .strip_prefix(NGINX)
        .map(|rest| format!("{HIGRESS}{rest}"));
    if is_managed(key) || higress_twin.as_deref().is_some_and(is_managed) {
        return Some(format!(
            "annotation {key:?} is set by the route's own fields; use them instead"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_keys() {
        assert!(is_managed("higress.io/destination"));
        assert!(is_managed("disabled.higress.io/rewrite-path"));
        assert!(is_managed("higress.io/exact-match-header-x-a"));
        assert!(!is_managed("higress.io/timeout"));
        assert!(custom_key_error("nginx.ingress.kubernetes.io/enable-cors").is_some());
        assert!(custom_key_error("nginx.ingress.kubernetes.io/timeout").is_none());
    }
}
