//! [`PluginSpec`]: a `WasmPlugin` as the host needs it — phase and priority (Higress's
//! order), fail strategy, which routes it covers, and the plugin configuration JSON built
//! the way Higress hands it to plugins: `defaultConfig` at the top level (unless
//! `defaultConfigDisable`) and one `_rules_` entry per match rule, its `config` merged with
//! `_match_route_` / `_match_domain_` / `_match_service_`. Higress's SDKs match those rules
//! per request against `route_name`, the host and `cluster_name`.

use config_store::resource::WasmPlugin;
use serde_json::{Map, Value};

/// Higress plugin phases, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Authentication (before Istio authn).
    Authn,
    /// Authorisation (before RBAC).
    Authz,
    /// Statistics (before the stats filter).
    Stats,
    /// `UNSPECIFIED_PHASE` (default): at the end of the chain, before the router.
    Unspecified,
}

/// Which routes a plugin covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Every route (an enabled global config).
    pub global: bool,
    /// What enabled match rules name.
    pub enabled: Targets,
    /// What rules with `configDisable: true` name: the plugin does not run there.
    pub disabled: Targets,
}

/// Routes, hosts and services named by match rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// Route names (`matchRules[].ingress`, `higress-system/` dropped).
    pub routes: Vec<String>,
    /// Hosts (`matchRules[].domain`, `*.` wildcards).
    pub domains: Vec<String>,
    /// Services (`matchRules[].service`, `host` or `host:port`).
    pub services: Vec<String>,
}

/// A WasmPlugin, ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// The WasmPlugin's name.
    pub name: String,
    /// Root id (`pluginName`, default the name).
    pub root_id: String,
    /// Module URL.
    pub url: String,
    /// Expected SHA-256.
    pub sha256: Option<String>,
    /// `imagePullSecret`: the Secret with the registry's credentials.
    pub pull_secret: Option<String>,
    /// Phase.
    pub phase: Phase,
    /// Priority: higher runs first within a phase.
    pub priority: i32,
    /// `FAIL_OPEN`: a failing plugin is skipped; default `FAIL_CLOSE`: its requests fail.
    pub fail_open: bool,
    /// The configuration handed to `proxy_on_configure`.
    pub configuration: String,
    /// Routes it covers.
    pub scope: Scope,
}

/// The route name Higress gives an Ingress: bare in `higress-system`, else `ns/name`.
pub fn route_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        None | Some("") | Some("higress-system") => name.to_owned(),
        Some(ns) => format!("{ns}/{name}"),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// === impl Targets ===

impl Targets {
    /// True when a rule names the route (by route name, host or one of its services).
    fn names(&self, route: &str, host: &str, services: &[String]) -> bool {
        self.routes.iter().any(|r| r == route)
            || self.domains.iter().any(|d| domain_matches(d, host))
            || self.services.iter().any(|s| {
                services.iter().any(|svc| {
                    let (sh, sp) = split_port(s);
                    let (vh, vp) = split_port(svc);
                    sh.eq_ignore_ascii_case(vh) && (sp.is_none() || sp == vp)
                })
            })
    }
}

// === impl Scope ===

impl Scope {
    /// True when the plugin runs on the route `route` (Higress route name) for `host`,
    /// whose backends are `services` (`host` or `host:port`).
    pub fn covers(&self, route: &str, host: &str, services: &[String]) -> bool {
        if self.disabled.names(route, host, services) {
            return false;
        }
        self.global || self.enabled.names(route, host, services)
    }
}

fn split_port(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (s, None),
    }
}

fn domain_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

// === impl PluginSpec ===

impl PluginSpec {
    /// The spec of `plugin` (validated earlier: unknown values take their defaults).
    pub fn from_resource(plugin: &WasmPlugin) -> Self {
        let s = &plugin.spec;
        let phase = match s.phase.as_deref() {
            Some("AUTHN") => Phase::Authn,
            Some("AUTHZ") => Phase::Authz,
            Some("STATS") => Phase::Stats,
            _ => Phase::Unspecified,
        };
        let mut scope = Scope::default();
        let configuration = match &s.plugin_config {
            Some(raw) => {
                scope.global = true;
                raw.to_string()
            }
            None => {
                let enabled = s.default_config_disable != Some(true);
                let mut top = match (&s.default_config, enabled) {
                    (Some(Value::Object(m)), true) => m.clone(),
                    _ => Map::new(),
                };
                scope.global = enabled && (s.default_config.is_some() || s.match_rules.is_empty());
                let mut rules = Vec::new();
                for rule in &s.match_rules {
                    let routes: Vec<String> = strings(rule.get("ingress"))
                        .into_iter()
                        .map(|r| match r.split_once('/') {
                            Some((ns, name)) => route_name(Some(ns), name),
                            None => r,
                        })
                        .collect();
                    let domains = strings(rule.get("domain"));
                    let services = strings(rule.get("service"));
                    let disabled = rule.get("configDisable").and_then(Value::as_bool) == Some(true);
                    let target = if disabled {
                        &mut scope.disabled
                    } else {
                        let mut obj = match rule.get("config") {
                            Some(Value::Object(m)) => m.clone(),
                            _ => Map::new(),
                        };
                        for (key, list) in [
                            ("_match_route_", &routes),
                            ("_match_domain_", &domains),
                            ("_match_service_", &services),
                        ] {
                            if !list.is_empty() {
                                obj.insert(key.into(), Value::from(list.clone()));
                            }
                        }
                        rules.push(Value::Object(obj));
                        &mut scope.enabled
                    };
                    target.routes.extend(routes);
                    target.domains.extend(domains);
                    target.services.extend(services);
                }
                if !rules.is_empty() {
                    top.insert("_rules_".into(), Value::Array(rules));
                }
                Value::Object(top).to_string()
            }
        };
        Self {
            name: plugin.metadata.name.clone(),
            root_id: s
                .plugin_name
                .clone()
                .unwrap_or_else(|| plugin.metadata.name.clone()),
            url: s.url.clone(),
            sha256: s.sha256.clone(),
            pull_secret: s.image_pull_secret.clone().filter(|n| !n.is_empty()),
            phase,
            priority: s.priority.unwrap_or(0),
            fail_open: s.fail_strategy.as_deref() == Some("FAIL_OPEN"),
            configuration,
            scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(yaml: &str) -> WasmPlugin {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn configuration_has_default_config_and_rules_as_higress_builds_it() {
        let p = plugin(
            r#"
metadata: {name: key-auth}
spec:
  url: file:///p.wasm
  phase: AUTHN
  priority: 7
  failStrategy: FAIL_OPEN
  defaultConfig: {global: true}
  matchRules:
  - ingress: [higress-system/a, other/b]
    config: {x: 1}
  - domain: ["*.example.com"]
    config: {y: 2}
  - service: [echo.static]
    configDisable: true
"#,
        );
        let spec = PluginSpec::from_resource(&p);
        assert_eq!(
            (spec.phase, spec.priority, spec.fail_open),
            (Phase::Authn, 7, true)
        );
        let config: Value = serde_json::from_str(&spec.configuration).unwrap();
        assert_eq!(
            config,
            serde_json::json!({
                "global": true,
                "_rules_": [
                    {"x": 1, "_match_route_": ["a", "other/b"]},
                    {"y": 2, "_match_domain_": ["*.example.com"]},
                ]
            })
        );
        let s = &spec.scope;
        assert!(s.covers("anything", "h.com", &[]), "global config");
        assert!(
            !s.covers("a", "h.com", &["echo.static:80".into()]),
            "configDisable on its service"
        );
    }

    #[test]
    fn rules_only_cover_what_they_name() {
        let p = plugin(
            r#"
metadata: {name: t}
spec:
  url: file:///p.wasm
  defaultConfigDisable: true
  defaultConfig: {ignored: true}
  matchRules:
  - ingress: [a]
    config: {}
  - domain: ["*.example.com"]
    config: {}
"#,
        );
        let spec = PluginSpec::from_resource(&p);
        assert_eq!(spec.phase, Phase::Unspecified);
        assert!(!spec.configuration.contains("ignored"));
        let s = &spec.scope;
        assert!(s.covers("a", "x.com", &[]));
        assert!(s.covers("b", "api.example.com", &[]));
        assert!(!s.covers("b", "example.com", &[]));
        assert!(!s.covers("b", "x.com", &[]));
    }
}
