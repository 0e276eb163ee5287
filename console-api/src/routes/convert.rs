//! Route ↔ Ingress, as the Higress console converts them: one rule per domain with one path
//! and the McpBridge backend; `higress.io/destination` for services; `higress.io/domain_*`
//! labels; the feature annotations (switched-off features keep their values under
//! `disabled.higress.io/`). Writing starts from the stored Ingress, so fields and
//! annotations the form does not own are kept.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::annotations::{custom_key_error, is_managed, DISABLED, HIGRESS};
use super::model::{
    Cors, Header, HeaderControl, HeaderStage, KeyedPredicate, Predicate, ProxyNextUpstream,
    Rewrite, Route, UpstreamService,
};
use crate::auth::account::DEFINER_LABEL;
use crate::doc::{self, child, root, Doc};
use crate::error::{ApiError, ApiResult};
use crate::version::Version;

/// The label prefix naming a route's domains.
pub const DOMAIN_LABEL_PREFIX: &str = "higress.io/domain_";
/// The domain standing for "every domain".
pub const DEFAULT_DOMAIN: &str = "higress-default-domain";

/// A domain's HTTPS settings (from its ConfigMap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainTls {
    /// `off`, `on` or `force`.
    pub enable_https: String,
    /// The certificate Secret.
    pub cert: Option<String>,
}

/// `*.a.com` → `wildcard.a.com`, as Higress names labels and ConfigMaps.
pub fn normalize_domain(domain: &str) -> String {
    match domain.strip_prefix('*') {
        Some(rest) => format!("wildcard{rest}"),
        None => domain.to_string(),
    }
}

fn ann(annotations: &Map<String, Value>, key: &str, enabled: bool) -> Option<String> {
    let prefix = if enabled { HIGRESS } else { DISABLED };
    annotations
        .get(&format!("{prefix}{key}"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

fn switch(annotations: &Map<String, Value>, key: &str) -> (Option<String>, bool) {
    let raw = ann(annotations, key, true);
    let enabled = raw
        .as_deref()
        .is_none_or(|v| v.eq_ignore_ascii_case("true"));
    (raw, enabled)
}

fn split_list(s: Option<String>) -> Option<Vec<String>> {
    s.map(|v| {
        v.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Whether the Ingress fits the console's form (same path on every rule, one path each,
/// Exact or Prefix, no Service backend, no default backend).
fn representable(spec: &Value) -> bool {
    if spec.get("defaultBackend").is_some() {
        return false;
    }
    let Some(rules) = spec.get("rules").and_then(Value::as_array) else {
        return false;
    };
    if rules.is_empty() {
        return false;
    }
    let mut first: Option<(&Value, &Value)> = None;
    for rule in rules {
        let Some(paths) = rule.pointer("/http/paths").and_then(Value::as_array) else {
            return false;
        };
        let [path] = paths.as_slice() else {
            return false;
        };
        let ty = path.get("pathType").unwrap_or(&Value::Null);
        if !matches!(ty.as_str(), Some("Exact" | "Prefix")) {
            return false;
        }
        if path.pointer("/backend/service").is_some() {
            return false;
        }
        let this = (path.get("path").unwrap_or(&Value::Null), ty);
        match first {
            None => first = Some(this),
            Some(f) if f == this => {}
            Some(_) => return false,
        }
    }
    true
}

/// Reads a route from its stored Ingress.
pub fn from_ingress(d: &Doc) -> Route {
    let annotations = d.annotations();
    let labels = d.labels();
    let spec = d.value.get("spec").cloned().unwrap_or(Value::Null);
    let mut route = Route {
        name: Some(d.name.clone()),
        version: Version::of(&d.version),
        readonly: Some(!representable(&spec)),
        ..Route::default()
    };
    let rules = spec
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut domains = Vec::new();
    for rule in &rules {
        if let Some(h) = rule
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
        {
            domains.push(h.to_string());
        }
    }
    route.domains = Some(domains);
    if let Some(path) = rules.iter().find_map(|r| r.pointer("/http/paths/0")) {
        let regex = ann(&annotations, "use-regex", true).as_deref() == Some("true");
        let match_type = match path.get("pathType").and_then(Value::as_str) {
            Some("Exact") => Some("EQUAL"),
            Some("Prefix") if regex => Some("REGULAR"),
            Some("Prefix") => Some("PRE"),
            _ => None,
        };
        route.path = Some(Predicate {
            match_type: match_type.map(str::to_string),
            match_value: Some(
                path.get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_string(),
            ),
            case_sensitive: ann(&annotations, "ignore-path-case", true)
                .map(|v| !v.eq_ignore_ascii_case("true")),
        });
    }
    if let Some(dest) = ann(&annotations, "destination", true) {
        route.services = Some(lines(&dest).filter_map(parse_destination).collect());
    }
    route.methods = ann(&annotations, "match-method", true)
        .map(|m| m.split_whitespace().map(str::to_string).collect());
    let (headers, params) = predicates(&annotations);
    route.headers = Some(headers);
    route.url_params = Some(params);

    let (raw, enabled) = switch(&annotations, "enable-rewrite");
    let path = ann(&annotations, "rewrite-path", enabled)
        .or_else(|| ann(&annotations, "rewrite-target", enabled));
    let host = ann(&annotations, "upstream-vhost", enabled);
    if raw.is_some() || path.is_some() || host.is_some() {
        route.rewrite = Some(Rewrite {
            enabled: Some(enabled),
            path,
            host,
        });
    }
    let (raw, enabled) = switch(&annotations, "enable-proxy-next-upstream");
    let tries = ann(&annotations, "proxy-next-upstream-tries", enabled);
    let timeout = ann(&annotations, "proxy-next-upstream-timeout", enabled);
    let conditions = ann(&annotations, "proxy-next-upstream", enabled);
    if raw.is_some() || tries.is_some() || timeout.is_some() || conditions.is_some() {
        route.proxy_next_upstream = Some(ProxyNextUpstream {
            enabled: Some(enabled),
            attempts: tries.and_then(|t| t.parse().ok()),
            timeout: timeout.and_then(|t| t.parse().ok()),
            conditions: split_list(conditions),
        });
    }
    let (raw, enabled) = switch(&annotations, "enable-header-control");
    let request = stage(&annotations, "request", enabled);
    let response = stage(&annotations, "response", enabled);
    if raw.is_some() || request.is_some() || response.is_some() {
        route.header_control = Some(HeaderControl {
            enabled: Some(enabled),
            request,
            response,
        });
    }
    let cors_on = ann(&annotations, "enable-cors", true);
    let cors_enabled = cors_on.as_deref().map(|v| v.eq_ignore_ascii_case("true"));
    let e = cors_enabled.unwrap_or(true);
    let cors = Cors {
        enabled: cors_enabled,
        allow_origins: split_list(ann(&annotations, "cors-allow-origin", e)),
        allow_methods: split_list(ann(&annotations, "cors-allow-methods", e)),
        allow_headers: split_list(ann(&annotations, "cors-allow-headers", e)),
        expose_headers: split_list(ann(&annotations, "cors-expose-headers", e)),
        max_age: ann(&annotations, "cors-max-age", e).and_then(|v| v.parse().ok()),
        allow_credentials: ann(&annotations, "cors-allow-credentials", e)
            .map(|v| v.eq_ignore_ascii_case("true")),
    };
    if cors != Cors::default() {
        route.cors = Some(cors);
    }
    route.custom_configs = Some(
        annotations
            .iter()
            .filter(|(k, _)| !is_managed(k))
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
    );
    route.custom_labels = Some(
        labels
            .iter()
            .filter(|(k, _)| !k.starts_with(DOMAIN_LABEL_PREFIX) && k.as_str() != DEFINER_LABEL)
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
    );
    route
}

/// `"[w%] host[:port] [subset]"` → a service.
pub fn parse_destination(line: &str) -> Option<UpstreamService> {
    let mut fields = line.split_whitespace().peekable();
    let mut weight = 100;
    if let Some(w) = fields.peek().and_then(|f| f.strip_suffix('%')) {
        weight = w.parse().ok()?;
        fields.next();
    }
    let address = fields.next()?;
    let (name, port) = match address.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(port) if port > 0 => (h.to_string(), Some(port)),
            _ => (address.to_string(), None),
        },
        None => (address.to_string(), None),
    };
    Some(UpstreamService {
        name: Some(name),
        port,
        version: fields.next().map(str::to_string),
        weight: Some(weight),
    })
}

fn predicates(annotations: &Map<String, Value>) -> (Vec<KeyedPredicate>, Vec<KeyedPredicate>) {
    let mut headers = Vec::new();
    let mut params = Vec::new();
    for (k, v) in annotations {
        let Some(rest) = k.strip_prefix(HIGRESS) else {
            continue;
        };
        let Some(value) = v.as_str() else { continue };
        for (prefix, ty) in [
            ("exact-match-", "EQUAL"),
            ("prefix-match-", "PRE"),
            ("regex-match-", "REGULAR"),
        ] {
            let Some(what) = rest.strip_prefix(prefix) else {
                continue;
            };
            let p = |key: String| KeyedPredicate {
                key: Some(key),
                match_type: Some(ty.to_string()),
                match_value: Some(value.to_string()),
                case_sensitive: None,
            };
            if let Some(key) = what.strip_prefix("pseudo-header-") {
                headers.push(p(format!(":{key}")));
            } else if let Some(key) = what.strip_prefix("header-") {
                headers.push(p(key.to_string()));
            } else if let Some(key) = what.strip_prefix("query-") {
                params.push(p(key.to_string()));
            }
        }
    }
    (headers, params)
}

fn stage(annotations: &Map<String, Value>, dir: &str, enabled: bool) -> Option<HeaderStage> {
    let pairs = |key: &str| {
        ann(annotations, &format!("{dir}-header-control-{key}"), enabled).map(|v| {
            lines(&v)
                .map(|l| {
                    let (k, val) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
                    Header {
                        key: Some(k.to_string()),
                        value: Some(val.trim().to_string()),
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    let add = pairs("add");
    let set = pairs("update");
    let remove = split_list(ann(
        annotations,
        &format!("{dir}-header-control-remove"),
        enabled,
    ));
    (add.is_some() || set.is_some() || remove.is_some()).then_some(HeaderStage { add, set, remove })
}

/// Builds the Ingress for `route` named `name`, starting from `existing` (kept fields),
/// with TLS from each domain's settings (`tls_of`).
pub fn to_ingress(
    route: &Route,
    name: &str,
    existing: Option<&Value>,
    tls_of: &dyn Fn(&str) -> Option<DomainTls>,
) -> ApiResult<Value> {
    let mut value = existing
        .cloned()
        .unwrap_or_else(|| doc::skeleton(config_store::ResourceKind::Ingress, name));
    let domains = route.domains.clone().unwrap_or_default();
    let path = route.path.clone().unwrap_or_default();
    let match_type = path.match_type.as_deref().unwrap_or("PRE");

    let top = root(&mut value);
    top.insert("apiVersion".into(), json!("networking.k8s.io/v1"));
    top.insert("kind".into(), json!("Ingress"));
    let meta = child(top, "metadata");
    meta.insert("name".into(), json!(name));

    // Labels: domain labels and the definer, then custom ones.
    let labels = child(meta, "labels");
    let custom_labels = route.custom_labels.clone();
    labels.retain(|k, _| {
        !k.starts_with(DOMAIN_LABEL_PREFIX) && (custom_labels.is_none() || k == DEFINER_LABEL)
    });
    labels.insert(DEFINER_LABEL.into(), json!("higress"));
    if domains.is_empty() {
        labels.insert(
            format!("{DOMAIN_LABEL_PREFIX}{DEFAULT_DOMAIN}"),
            json!("true"),
        );
    }
    for d in &domains {
        labels.insert(
            format!("{DOMAIN_LABEL_PREFIX}{}", normalize_domain(d)),
            json!("true"),
        );
    }
    for (k, v) in custom_labels.unwrap_or_default() {
        if k.starts_with(DOMAIN_LABEL_PREFIX) || k == DEFINER_LABEL {
            return Err(ApiError::field(
                &format!("customLabels[{k:?}]"),
                "is set by the route's own fields",
            ));
        }
        labels.insert(k, json!(v));
    }

    // Annotations: drop every managed key, then write the form's; custom ones replace the
    // other keys when given.
    let annotations = child(meta, "annotations");
    let custom = route.custom_configs.clone();
    annotations.retain(|k, _| !is_managed(k) && custom.is_none());
    let mut set = |key: &str, value: String, enabled: bool| {
        let prefix = if enabled { HIGRESS } else { DISABLED };
        annotations.insert(format!("{prefix}{key}"), json!(value));
    };
    let services = route.services.clone().unwrap_or_default();
    set("destination", destination(&services), true);
    if match_type == "REGULAR" {
        set("use-regex", "true".into(), true);
    }
    if let Some(cs) = path.case_sensitive {
        set("ignore-path-case", (!cs).to_string(), true);
    }
    if let Some(m) = route.methods.as_ref().filter(|m| !m.is_empty()) {
        set("match-method", m.join(" "), true);
    }
    for (list, what) in [(&route.headers, "header"), (&route.url_params, "query")] {
        for p in list.as_deref().unwrap_or_default() {
            let ty = match p.match_type.as_deref() {
                Some("EQUAL") => "exact",
                Some("PRE") => "prefix",
                _ => "regex",
            };
            let key = p.key.clone().unwrap_or_default();
            let key = match (what, key.strip_prefix(':')) {
                ("header", Some(pseudo)) => format!("{ty}-match-pseudo-header-{pseudo}"),
                _ => format!("{ty}-match-{what}-{key}"),
            };
            set(&key, p.match_value.clone().unwrap_or_default(), true);
        }
    }
    if let Some(rw) = &route.rewrite {
        let on = rw.enabled.unwrap_or(false);
        set("enable-rewrite", on.to_string(), true);
        if let Some(p) = rw.path.clone().filter(|p| !p.is_empty()) {
            let key = if match_type == "REGULAR" {
                "rewrite-target"
            } else {
                "rewrite-path"
            };
            set(key, p, on);
        }
        if let Some(h) = rw.host.clone().filter(|h| !h.is_empty()) {
            set("upstream-vhost", h, on);
        }
    }
    if let Some(pnu) = &route.proxy_next_upstream {
        let on = pnu.enabled.unwrap_or(false);
        set("enable-proxy-next-upstream", on.to_string(), true);
        if let Some(a) = pnu.attempts {
            set("proxy-next-upstream-tries", a.to_string(), on);
        }
        if let Some(t) = pnu.timeout {
            set("proxy-next-upstream-timeout", t.to_string(), on);
        }
        if let Some(c) = pnu.conditions.as_ref().filter(|c| !c.is_empty()) {
            set("proxy-next-upstream", c.join(","), on);
        }
    }
    if let Some(hc) = &route.header_control {
        let on = hc.enabled.unwrap_or(false);
        set("enable-header-control", on.to_string(), true);
        for (dir, st) in [("request", &hc.request), ("response", &hc.response)] {
            let Some(st) = st else { continue };
            let join = |hs: &Option<Vec<Header>>| {
                hs.as_ref().filter(|h| !h.is_empty()).map(|h| {
                    h.iter()
                        .map(|x| {
                            format!(
                                "{} {}",
                                x.key.as_deref().unwrap_or_default(),
                                x.value.as_deref().unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            };
            if let Some(v) = join(&st.add) {
                set(&format!("{dir}-header-control-add"), v, on);
            }
            if let Some(v) = join(&st.set) {
                set(&format!("{dir}-header-control-update"), v, on);
            }
            if let Some(r) = st.remove.as_ref().filter(|r| !r.is_empty()) {
                set(&format!("{dir}-header-control-remove"), r.join(","), on);
            }
        }
    }
    if let Some(c) = &route.cors {
        if let Some(on) = c.enabled {
            set("enable-cors", on.to_string(), true);
        }
        let on = c.enabled.unwrap_or(true);
        for (key, list) in [
            ("cors-allow-origin", &c.allow_origins),
            ("cors-allow-methods", &c.allow_methods),
            ("cors-allow-headers", &c.allow_headers),
            ("cors-expose-headers", &c.expose_headers),
        ] {
            if let Some(l) = list.as_ref().filter(|l| !l.is_empty()) {
                set(key, l.join(","), on);
            }
        }
        if let Some(m) = c.max_age {
            set("cors-max-age", m.to_string(), on);
        }
        if let Some(a) = c.allow_credentials {
            set("cors-allow-credentials", a.to_string(), on);
        }
    }
    let tls = tls_entries(&domains, tls_of)?;
    if tls.force {
        set("ssl-redirect", "true".into(), true);
    }
    for (k, v) in custom.unwrap_or_default() {
        if let Some(why) = custom_key_error(&k) {
            return Err(ApiError::field(&format!("customConfigs[{k:?}]"), why));
        }
        annotations.insert(k, json!(v));
    }

    // Spec: one rule per domain (or one without a host), each with the one path.
    let spec = child(top, "spec");
    if spec
        .get("ingressClassName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        spec.insert("ingressClassName".into(), json!("higress"));
    }
    spec.remove("defaultBackend");
    let path_type = if match_type == "EQUAL" {
        "Exact"
    } else {
        "Prefix"
    };
    let http = json!({"paths": [{
        "path": path.match_value.clone().unwrap_or_else(|| "/".into()),
        "pathType": path_type,
        "backend": {"resource": {"apiGroup": "networking.higress.io", "kind": "McpBridge", "name": "default"}},
    }]});
    let rules: Vec<Value> = if domains.is_empty() {
        vec![json!({"http": http})]
    } else {
        domains
            .iter()
            .map(|d| json!({"host": d, "http": http}))
            .collect()
    };
    spec.insert("rules".into(), Value::Array(rules));
    if tls.entries.is_empty() {
        spec.remove("tls");
    } else {
        spec.insert("tls".into(), Value::Array(tls.entries));
    }
    Ok(value)
}

/// `higress.io/destination` for `services`.
pub fn destination(services: &[UpstreamService]) -> String {
    let addr = |s: &UpstreamService| match s.port {
        Some(p) => format!("{}:{p}", s.name.as_deref().unwrap_or_default()),
        None => s.name.clone().unwrap_or_default(),
    };
    if let [one] = services {
        return addr(one);
    }
    services
        .iter()
        .map(|s| {
            let mut line = format!("{}% {}", s.weight.unwrap_or(100), addr(s));
            if let Some(v) = s.version.as_deref().filter(|v| !v.is_empty()) {
                line.push(' ');
                line.push_str(v);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Tls {
    entries: Vec<Value>,
    force: bool,
}

/// `spec.tls` from the domains' HTTPS settings; mixed settings are refused, as Higress does.
fn tls_entries(domains: &[String], tls_of: &dyn Fn(&str) -> Option<DomainTls>) -> ApiResult<Tls> {
    let list: Vec<String> = if domains.is_empty() {
        vec![DEFAULT_DOMAIN.to_string()]
    } else {
        domains.to_vec()
    };
    let mut modes = BTreeMap::new();
    let mut entries = Vec::new();
    for d in &list {
        let t = tls_of(d).unwrap_or(DomainTls {
            enable_https: "off".into(),
            cert: None,
        });
        let on = t.enable_https != "off" && t.cert.as_deref().is_some_and(|c| !c.is_empty());
        modes.insert(
            if on {
                t.enable_https.clone()
            } else {
                "off".into()
            },
            d.clone(),
        );
        if on {
            let mut entry = Map::new();
            if d != DEFAULT_DOMAIN {
                entry.insert("hosts".into(), json!([d]));
            }
            entry.insert("secretName".into(), json!(t.cert));
            entries.push(Value::Object(entry));
        }
    }
    if modes.len() > 1 {
        return Err(ApiError::field(
            "domains",
            "the domains have different HTTPS settings (enableHttps/certificate); a route's domains must agree",
        ));
    }
    Ok(Tls {
        force: modes.contains_key("force"),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_round_trips() {
        let one = parse_destination("a.dns:8080").unwrap();
        assert_eq!(destination(std::slice::from_ref(&one)), "a.dns:8080");
        let two = vec![
            parse_destination("30% a.dns:80 v1").unwrap(),
            parse_destination("70% b.static").unwrap(),
        ];
        assert_eq!(destination(&two), "30% a.dns:80 v1\n70% b.static");
        assert_eq!(two[0].version.as_deref(), Some("v1"));
        assert_eq!(two[1].weight, Some(70));
    }
}
