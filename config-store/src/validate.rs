//! Per-resource validation. Every problem is collected, each naming its field; a resource
//! with any error is rejected (its last good version stays in force, see [`crate::snapshot`]).

pub mod references;
pub mod wasm_plugin;

use std::net::SocketAddr;

use crate::annotations::{AnnotationReader, IngressAnnotations};
use crate::diagnostic::Diagnostic;
use crate::resource::higress_config::{HIGRESS_CONFIG_KEY, HIGRESS_CONFIG_NAME};
use crate::resource::ingress::{IngressBackend, PathType};
use crate::resource::mcpbridge::RegistryType;
use crate::resource::{ConfigMap, HigressConfig, Ingress, McpBridge, Resource, Secret, WasmPlugin};

/// The outcome of validating one resource.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Errors and warnings, in field order.
    pub diagnostics: Vec<Diagnostic>,
    /// For a valid Ingress: its parsed annotations.
    pub annotations: Option<IngressAnnotations>,
}

// === impl Validation ===

impl Validation {
    /// True when no diagnostic is an error.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The prefix of the console's per-domain ConfigMaps.
pub const DOMAIN_CONFIGMAP_PREFIX: &str = "domain-";

/// Validates one resource read from `source`.
pub fn validate(source: &str, resource: &Resource) -> Validation {
    let mut v = Checker {
        source,
        resource,
        out: Validation::default(),
    };
    match resource {
        Resource::Ingress(ing) => v.ingress(ing),
        Resource::McpBridge(b) => v.mcp_bridge(b),
        Resource::ConfigMap(cm) => v.config_map(cm),
        Resource::Secret(s) => v.secret(s),
        Resource::WasmPlugin(p) => v.wasm_plugin(p),
        Resource::Service(_) | Resource::Endpoints(_) | Resource::EndpointSlice(_) => {}
    }
    v.out
}

struct Checker<'a> {
    source: &'a str,
    resource: &'a Resource,
    out: Validation,
}

impl Checker<'_> {
    fn diag(&self, field: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::source_error(self.source, message)
            .with_resource(self.resource.kind(), self.resource.name())
            .with_field(field)
    }

    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let d = self.diag(field, message);
        self.out.diagnostics.push(d);
    }

    fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let d = self.diag(field, message).warning();
        self.out.diagnostics.push(d);
    }

    fn ingress(&mut self, ing: &Ingress) {
        let annotations =
            match IngressAnnotations::parse(&AnnotationReader::new(&ing.metadata.annotations)) {
                Ok(a) => Some(a),
                Err(errors) => {
                    for e in errors {
                        self.error(format!("metadata.annotations[{:?}]", e.key), e.message);
                    }
                    None
                }
            };
        // From the raw key, so a bad value elsewhere does not add a second, wrong error.
        let has_destination = AnnotationReader::new(&ing.metadata.annotations)
            .get_higress("destination")
            .is_some();

        for (r, rule) in ing.spec.rules.iter().enumerate() {
            if let Some(host) = &rule.host {
                if let Err(msg) = check_host(host) {
                    self.error(format!("spec.rules[{r}].host"), msg);
                }
            }
            let Some(http) = &rule.http else { continue };
            for (p, path) in http.paths.iter().enumerate() {
                let field = format!("spec.rules[{r}].http.paths[{p}]");
                if let Some(value) = path.path.as_deref().filter(|s| !s.is_empty()) {
                    let literal =
                        matches!(path.path_type, Some(PathType::Exact | PathType::Prefix));
                    if literal && !value.starts_with('/') {
                        self.error(
                            format!("{field}.path"),
                            format!("path {value:?} must start with \"/\""),
                        );
                    }
                }
                let raw = path
                    .path
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/");
                let rewrite = annotations.as_ref().and_then(|a| a.rewrite.as_ref());
                if rewrite.is_some_and(|rw| rw.needs_regex(raw)) {
                    // Compiled as the gateway does: anchored at the start.
                    if let Err(e) = regex::Regex::new(&format!("^(?:{raw})")) {
                        let e = e.to_string();
                        let reason = e.lines().last().unwrap_or("invalid").trim();
                        self.error(
                            format!("{field}.path"),
                            format!("path {raw:?} is not a valid regex: {reason}"),
                        );
                    }
                }
                self.backend(&format!("{field}.backend"), &path.backend, has_destination);
            }
        }
        if let Some(backend) = &ing.spec.default_backend {
            self.backend("spec.defaultBackend", backend, has_destination);
        }
        for (t, tls) in ing.spec.tls.iter().enumerate() {
            for (h, host) in tls.hosts.iter().enumerate() {
                if let Err(msg) = check_host(host) {
                    self.error(format!("spec.tls[{t}].hosts[{h}]"), msg);
                }
            }
        }
        if let Some(dest) = annotations.as_ref().and_then(|a| a.destination.as_ref()) {
            self.destination_weights(dest);
        }
        if self.out.is_valid() {
            self.out.annotations = annotations;
        }
    }

    /// Warns when destination weights do not sum to 100, stating the split Gantry applies
    /// (weights in proportion to their sum).
    fn destination_weights(&mut self, dest: &crate::annotations::Destination) {
        let sum: u32 = dest.entries.iter().map(|e| e.weight).sum();
        if sum == 100 || dest.entries.is_empty() {
            return;
        }
        let field = "metadata.annotations[\"higress.io/destination\"]";
        let message = if sum == 0 {
            "every weight is 0: requests get 503".to_string()
        } else if dest.entries.len() == 1 {
            format!(
                "weight {}% is not 100%; {} is the only destination and gets every request",
                sum, dest.entries[0].host
            )
        } else {
            let split: Vec<String> = dest
                .entries
                .iter()
                .map(|e| {
                    let share = f64::from(e.weight) * 100.0 / f64::from(sum);
                    format!("{} {share:.1}%", e.host)
                })
                .collect();
            format!(
                "weights sum to {sum}%, not 100%; traffic splits in proportion: {}",
                split.join(", ")
            )
        };
        self.warn(field, message);
    }

    /// WasmPlugin fields the plugin host acts on (`validate/wasm_plugin.rs`); whether the
    /// module loads is checked when the gateway compiles the snapshot.
    fn wasm_plugin(&mut self, plugin: &WasmPlugin) {
        for (field, message) in wasm_plugin::check(plugin) {
            self.error(field, message);
        }
    }

    fn backend(&mut self, field: &str, backend: &IngressBackend, has_destination: bool) {
        match (&backend.service, &backend.resource) {
            (Some(_), Some(_)) => {
                self.error(field, "set either service or resource, not both");
            }
            (None, None) => self.error(field, "a backend needs a service or a resource"),
            (Some(svc), None) => {
                if svc.name.is_empty() {
                    self.error(format!("{field}.service.name"), "service name is empty");
                }
                match (&svc.port.number, &svc.port.name) {
                    (Some(_), Some(_)) => self.error(
                        format!("{field}.service.port"),
                        "set either port number or port name, not both",
                    ),
                    (None, None) => self.error(
                        format!("{field}.service.port"),
                        "a service backend needs a port number or name",
                    ),
                    (Some(0), None) => self.error(
                        format!("{field}.service.port.number"),
                        "port 0 is not valid",
                    ),
                    _ => {}
                }
            }
            (None, Some(res)) => {
                let group_ok = res.api_group.as_deref() == Some("networking.higress.io");
                if !group_ok || res.kind != "McpBridge" || res.name != "default" {
                    self.error(
                        format!("{field}.resource"),
                        "only apiGroup networking.higress.io, kind McpBridge, name default is supported",
                    );
                } else if !has_destination {
                    self.error(
                        format!("{field}.resource"),
                        "a McpBridge backend needs the higress.io/destination annotation",
                    );
                }
            }
        }
    }

    fn mcp_bridge(&mut self, bridge: &McpBridge) {
        if bridge.metadata.name != "default" {
            self.warn(
                "metadata.name",
                "only the McpBridge named \"default\" is used (as in Higress)",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, reg) in bridge.spec.registries.iter().enumerate() {
            let field = format!("spec.registries[{i}]");
            let Some(kind) = reg.registry_type else {
                self.error(format!("{field}.type"), "registry type is required");
                continue;
            };
            if reg.name.is_empty() {
                self.error(format!("{field}.name"), "registry name is required");
            } else if !seen.insert((kind, reg.name.clone())) {
                self.error(
                    format!("{field}.name"),
                    format!("duplicate {} registry {:?}", kind.host_suffix(), reg.name),
                );
            }
            if let Some(port) = reg.port {
                if port == 0 || port > 65535 {
                    self.error(
                        format!("{field}.port"),
                        format!("port {port} is not from 1 to 65535"),
                    );
                }
            }
            if let Some(protocol) = &reg.protocol {
                if !KNOWN_PROTOCOLS.contains(&protocol.to_ascii_lowercase().as_str()) {
                    self.error(
                        format!("{field}.protocol"),
                        format!(
                            "unknown protocol {protocol:?} (expected one of {})",
                            KNOWN_PROTOCOLS.join(", ")
                        ),
                    );
                }
            }
            match kind {
                RegistryType::Dns => {
                    if reg.domain.split(',').all(|d| d.trim().is_empty()) {
                        self.error(
                            format!("{field}.domain"),
                            "a dns registry needs at least one domain name",
                        );
                    }
                    if reg.port.is_none() {
                        self.error(format!("{field}.port"), "a dns registry needs a port");
                    }
                }
                RegistryType::Static => {
                    let entries: Vec<&str> = reg
                        .domain
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect();
                    if entries.is_empty() {
                        self.error(
                            format!("{field}.domain"),
                            "a static registry needs ip:port addresses",
                        );
                    }
                    for entry in entries {
                        if entry.parse::<SocketAddr>().is_err() {
                            self.error(
                                format!("{field}.domain"),
                                format!("{entry:?} is not an ip:port address ([v6]:port for IPv6)"),
                            );
                        }
                    }
                }
                _ => {
                    if reg.domain.is_empty() && reg.nacos_address_server.is_none() {
                        self.error(
                            format!("{field}.domain"),
                            "the registry server address is required",
                        );
                    }
                }
            }
        }
    }

    fn config_map(&mut self, cm: &ConfigMap) {
        if cm.metadata.name == HIGRESS_CONFIG_NAME {
            let text = cm.data.get(HIGRESS_CONFIG_KEY).map_or("", String::as_str);
            if let Err(problems) = HigressConfig::parse(text) {
                for (field, msg) in problems {
                    self.error(format!("data.{HIGRESS_CONFIG_KEY}: {field}"), msg);
                }
            }
        }
        if cm.metadata.name.starts_with(DOMAIN_CONFIGMAP_PREFIX) {
            match cm.data.get("domain") {
                None => self.error("data.domain", "a domain ConfigMap needs data.domain"),
                Some(d) => {
                    if let Err(msg) = check_host(d) {
                        self.error("data.domain", msg);
                    }
                }
            }
            if let Some(mode) = cm.data.get("enableHttps") {
                if !matches!(mode.as_str(), "off" | "on" | "force") {
                    self.error(
                        "data.enableHttps",
                        format!("expected off, on or force, got {mode:?}"),
                    );
                }
            }
        }
    }

    fn secret(&mut self, secret: &Secret) {
        use crate::tls::{parse_chain, parse_key, CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY};
        let is_tls = secret.secret_type.as_deref() == Some("kubernetes.io/tls");
        for (key, required) in [
            (TLS_CERT_KEY, is_tls),
            (TLS_KEY_KEY, is_tls),
            (CA_CERT_KEY, false),
        ] {
            let field = format!("data[{key:?}]");
            match secret.value(key).filter(|p| !p.is_empty()) {
                Some(pem) => {
                    let parsed = if key == TLS_KEY_KEY {
                        parse_key(pem).map(|_| ())
                    } else {
                        parse_chain(pem).map(|_| ())
                    };
                    if let Err(msg) = parsed {
                        self.error(field, msg);
                    }
                }
                None if required => self.error(field, format!("a TLS secret needs {key}")),
                None => {}
            }
        }
    }
}

/// Protocols a McpBridge registry may declare.
const KNOWN_PROTOCOLS: &[&str] = &[
    "http", "https", "http2", "grpc", "grpcs", "tcp", "dubbo", "triple", "tri",
];

/// Checks a host name as Ingress and Higress accept it: DNS labels, optionally `*.` first.
fn check_host(host: &str) -> Result<(), String> {
    let rest = host.strip_prefix("*.").unwrap_or(host);
    if host == "*" {
        return Ok(());
    }
    let ok = !rest.is_empty()
        && rest.len() <= 253
        && rest.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{host:?} is not a host name (DNS labels, optionally starting with \"*.\"; no port)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_source, SourceContext};
    use crate::ResourceKind;

    fn check(kind: ResourceKind, text: &str) -> Vec<String> {
        let ctx = SourceContext {
            label: "f.yaml",
            dir_kind: Some(kind),
            default_name: Some("r"),
        };
        let parsed = parse_source(ctx, text).unwrap();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        validate("f.yaml", &parsed.resources[0])
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn bad_ingress_reports_every_error() {
        let errors = check(
            ResourceKind::Ingress,
            r#"
kind: Ingress
metadata:
  annotations:
    higress.io/destination: "150% a.dns"
    higress.io/ignore-path-case: "maybe"
spec:
  rules:
  - host: "foo.com:80"
    http:
      paths:
      - path: nope
        pathType: Prefix
        backend: {}
      - path: /x
        pathType: Exact
        backend:
          resource: {apiGroup: networking.higress.io, kind: McpBridge, name: other}
"#,
        );
        assert_eq!(
            errors,
            vec![
                r#"error: f.yaml: Ingress r: metadata.annotations["higress.io/destination"]: line 1: weight "150%" is not a percentage from 0% to 100% (in "150% a.dns")"#,
                r#"error: f.yaml: Ingress r: metadata.annotations["higress.io/ignore-path-case"]: expected true or false, got "maybe""#,
                r#"error: f.yaml: Ingress r: spec.rules[0].host: "foo.com:80" is not a host name (DNS labels, optionally starting with "*."; no port)"#,
                r#"error: f.yaml: Ingress r: spec.rules[0].http.paths[0].path: path "nope" must start with "/""#,
                r#"error: f.yaml: Ingress r: spec.rules[0].http.paths[0].backend: a backend needs a service or a resource"#,
                r#"error: f.yaml: Ingress r: spec.rules[0].http.paths[1].backend.resource: only apiGroup networking.higress.io, kind McpBridge, name default is supported"#,
            ]
        );
    }

    #[test]
    fn mcp_bridge_registries() {
        let errors = check(
            ResourceKind::McpBridge,
            r#"
kind: McpBridge
spec:
  registries:
  - {type: dns, name: a, domain: ""}
  - {type: static, name: b, domain: "1.2.3.4:80, nope", port: 80}
  - {type: dns, name: a, domain: x.com, port: 70000, protocol: ftp}
  - {name: c}
"#,
        );
        assert_eq!(
            errors,
            vec![
                "warning: f.yaml: McpBridge r: metadata.name: only the McpBridge named \"default\" is used (as in Higress)",
                "error: f.yaml: McpBridge r: spec.registries[0].domain: a dns registry needs at least one domain name",
                "error: f.yaml: McpBridge r: spec.registries[0].port: a dns registry needs a port",
                "error: f.yaml: McpBridge r: spec.registries[1].domain: \"nope\" is not an ip:port address ([v6]:port for IPv6)",
                "error: f.yaml: McpBridge r: spec.registries[2].name: duplicate dns registry \"a\"",
                "error: f.yaml: McpBridge r: spec.registries[2].port: port 70000 is not from 1 to 65535",
                "error: f.yaml: McpBridge r: spec.registries[2].protocol: unknown protocol \"ftp\" (expected one of http, https, http2, grpc, grpcs, tcp, dubbo, triple, tri)",
                "error: f.yaml: McpBridge r: spec.registries[3].type: registry type is required",
            ]
        );
    }

    #[test]
    fn wasm_plugins_from_http_and_oci_urls_are_accepted() {
        for url in [
            "oci://higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins/key-auth:1.0.0",
            "higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins/key-auth:1.0.0",
            "http://plugin-server:8080/plugins/key-auth/1.0.0/plugin.wasm",
        ] {
            let errors = check(
                ResourceKind::WasmPlugin,
                &format!("kind: WasmPlugin\nspec:\n  url: {url}\n  imagePullPolicy: Always\n  defaultConfig: {{consumers: []}}\n"),
            );
            assert_eq!(errors, Vec::<String>::new(), "{url}");
        }
    }

    #[test]
    fn wasm_plugins_with_unusable_fields_are_errors() {
        let ok = check(
            ResourceKind::WasmPlugin,
            r#"
kind: WasmPlugin
spec:
  url: file:///plugins/key-auth.wasm
  phase: AUTHN
  defaultConfig: {consumers: []}
  matchRules:
  - ingress: [higress-system/route-a]
    config: {allow: [consumer1]}
"#,
        );
        assert_eq!(ok, Vec::<String>::new());
        let errors = check(
            ResourceKind::WasmPlugin,
            r#"
kind: WasmPlugin
spec:
  url: ftp://x/plugin.wasm
  sha256: abc
  imagePullPolicy: Never
  phase: EARLY
  failStrategy: MAYBE
  defaultConfig: [1]
  matchRules:
  - domain: [api.example.com]
    configDisable: yes
    config: 3
  - colour: blue
"#,
        );
        assert_eq!(
            errors,
            vec![
                r#"error: f.yaml: WasmPlugin r: spec.url: unknown scheme in "ftp://x/plugin.wasm" (expected file://, http(s):// or oci://)"#,
                r#"error: f.yaml: WasmPlugin r: spec.imagePullPolicy: unknown pull policy "Never" (expected one of UNSPECIFIED_POLICY, IfNotPresent, Always)"#,
                "error: f.yaml: WasmPlugin r: spec.sha256: must be 64 hex digits",
                r#"error: f.yaml: WasmPlugin r: spec.phase: unknown phase "EARLY" (expected one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS)"#,
                r#"error: f.yaml: WasmPlugin r: spec.failStrategy: unknown fail strategy "MAYBE" (expected FAIL_CLOSE or FAIL_OPEN)"#,
                "error: f.yaml: WasmPlugin r: spec.defaultConfig: must be an object, not a list",
                "error: f.yaml: WasmPlugin r: spec.matchRules[0].config: must be an object, not a number",
                "error: f.yaml: WasmPlugin r: spec.matchRules[0].configDisable: must be true or false",
                "error: f.yaml: WasmPlugin r: spec.matchRules[1].colour: unknown field (expected ingress, domain, service, config, configDisable)",
                "error: f.yaml: WasmPlugin r: spec.matchRules[1]: names no ingress, domain or service, so it would apply nowhere",
            ]
        );
    }

    #[test]
    fn weights_not_summing_to_100_warn_with_the_real_split() {
        let ingress = |dest: &str| {
            format!(
                "kind: Ingress\nmetadata:\n  annotations:\n    higress.io/destination: |\n{}\nspec: {{}}\n",
                dest.lines().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n")
            )
        };
        assert_eq!(
            check(
                ResourceKind::Ingress,
                &ingress("60% a.dns\n30% b.dns\n60% c.dns")
            ),
            vec![
                r#"warning: f.yaml: Ingress r: metadata.annotations["higress.io/destination"]: weights sum to 150%, not 100%; traffic splits in proportion: a.dns 40.0%, b.dns 20.0%, c.dns 40.0%"#
            ]
        );
        assert!(check(ResourceKind::Ingress, &ingress("60% a.dns\n40% b.dns")).is_empty());
        assert_eq!(
            check(ResourceKind::Ingress, &ingress("30% a.dns")),
            vec![
                r#"warning: f.yaml: Ingress r: metadata.annotations["higress.io/destination"]: weight 30% is not 100%; a.dns is the only destination and gets every request"#
            ]
        );
    }

    #[test]
    fn invalid_regex_paths_are_errors() {
        let errors = check(
            ResourceKind::Ingress,
            "kind: Ingress\nmetadata:\n  annotations: {higress.io/use-regex: 'true', higress.io/destination: a.dns}\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: '/a(', pathType: ImplementationSpecific, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}\n",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(r#"error: f.yaml: Ingress r: spec.rules[0].http.paths[0].path: path "/a(" is not a valid regex"#),
            "{errors:?}"
        );
    }

    #[test]
    fn quickstart_ingress_is_valid() {
        let errors = check(
            ResourceKind::Ingress,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  annotations:
    higress.io/destination: httpbin.dns
    higress.io/ignore-path-case: "false"
  name: route-foo-bar
  namespace: higress-system
spec:
  ingressClassName: higress
  rules:
  - host: foo.bar.com
    http:
      paths:
      - backend:
          resource:
            apiGroup: networking.higress.io
            kind: McpBridge
            name: default
        path: /
        pathType: Prefix
"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
    }
}
