//! Dangling references reject the referring resource, keeping its last good version.

#![allow(clippy::unwrap_used)]

use crate::snapshot::assemble;
use crate::{ResourceKind, Snapshot};

use crate::test_files::sources;

const BRIDGE: &str = "kind: McpBridge\nspec:\n  registries:\n  - {type: dns, name: web, domain: example.com, port: 80}\n  - {type: nacos2, name: reg, domain: 127.0.0.1, port: 8848}\n";
const SERVICE: &str = "kind: Service\nspec:\n  ports: [{name: http, port: 80}]\n";
const SECRET: &str = "kind: Secret\ntype: Opaque\ndata: {}\n";

const DANGLING: &str = r#"
kind: Ingress
metadata:
  annotations:
    higress.io/destination: |
      50% web.dns
      30% nope.dns
      20% svc.DEFAULT-GROUP.public.nacos
    higress.io/backend-protocol: HTTPS
    higress.io/proxy-ssl-secret: missing-client-cert
    higress.io/default-backend: missing-svc
spec:
  tls:
  - {hosts: [a.com], secretName: missing-cert}
  rules:
  - host: a.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}
"#;

#[test]
fn every_dangling_reference_is_an_error_naming_its_field() {
    let s = assemble(
        &Snapshot::default(),
        sources(&[
            ("mcpbridges/default.yaml", BRIDGE),
            ("ingresses/r.yaml", DANGLING),
        ]),
    );
    let errors: Vec<String> = s.errors().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            r#"error: ingresses/r.yaml: Ingress r: metadata.annotations["higress.io/default-backend"]: Service "missing-svc" does not exist"#,
            r#"error: ingresses/r.yaml: Ingress r: metadata.annotations["higress.io/destination"]: destination "nope.dns": McpBridge default has no dns registry named "nope""#,
            r#"error: ingresses/r.yaml: Ingress r: metadata.annotations["higress.io/destination"]: destination "svc.DEFAULT-GROUP.public.nacos": no nacos registry in namespace "public" lists group "DEFAULT-GROUP" in nacosGroups"#,
            r#"error: ingresses/r.yaml: Ingress r: metadata.annotations["higress.io/proxy-ssl-secret"]: Secret "missing-client-cert" does not exist"#,
            r#"error: ingresses/r.yaml: Ingress r: spec.tls[0].secretName: Secret "missing-cert" does not exist"#,
        ]
    );
    assert!(s.get(ResourceKind::Ingress, "r").is_none());
}

#[test]
fn nacos_hosts_need_a_registry_watching_their_namespace_and_group() {
    let bridge = "kind: McpBridge\nspec:\n  registries:\n  - {type: nacos2, name: reg, domain: 127.0.0.1, port: 8848, nacosGroups: [DEFAULT_GROUP], authSecretName: nacos-login}\n";
    let ing = "kind: Ingress\nmetadata:\n  annotations:\n    higress.io/destination: |\n      50% Echo.DEFAULT-GROUP.public.nacos\n      50% echo.DEFAULT-GROUP.dev.nacos\nspec:\n  rules: [{host: a.com, http: {paths: [{path: /, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}]}}]\n";
    let s = assemble(
        &Snapshot::default(),
        sources(&[
            ("mcpbridges/default.yaml", bridge),
            ("ingresses/r.yaml", ing),
        ]),
    );
    let errors: Vec<String> = s.errors().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            r#"error: ingresses/r.yaml: Ingress r: metadata.annotations["higress.io/destination"]: destination "echo.DEFAULT-GROUP.dev.nacos": no nacos registry watches namespace "dev""#,
            r#"error: mcpbridges/default.yaml: McpBridge default: spec.registries[0].authSecretName: Secret "nacos-login" does not exist"#,
        ]
    );
}

#[test]
fn service_backends_need_the_service_and_port() {
    let ing = "kind: Ingress\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: /a, pathType: Prefix, backend: {service: {name: web, port: {number: 81}}}}\n      - {path: /b, pathType: Prefix, backend: {service: {name: gone, port: {name: http}}}}\n      - {path: /c, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}\n";
    let s = assemble(
        &Snapshot::default(),
        sources(&[("services/web.yaml", SERVICE), ("ingresses/r.yaml", ing)]),
    );
    let errors: Vec<String> = s.errors().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            r#"error: ingresses/r.yaml: Ingress r: spec.rules[0].http.paths[0].backend.service: Service "web" has no port 81"#,
            r#"error: ingresses/r.yaml: Ingress r: spec.rules[0].http.paths[1].backend.service: Service "gone" does not exist"#,
        ]
    );
}

#[test]
fn a_reference_that_breaks_later_keeps_the_last_good_version() {
    let ing = "kind: Ingress\nmetadata:\n  annotations: {higress.io/destination: web.dns}\nspec:\n  tls: [{hosts: [a.com], secretName: cert}]\n  rules: [{host: a.com, http: {paths: [{path: /, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}]}}]\n";
    let good = assemble(
        &Snapshot::default(),
        sources(&[
            ("mcpbridges/default.yaml", BRIDGE),
            ("secrets/cert.yaml", SECRET),
            ("ingresses/r.yaml", ing),
        ]),
    );
    assert_eq!(good.errors().count(), 0, "{:?}", good.diagnostics());
    // The Secret is deleted: the Ingress is rejected and its last good version kept.
    let next = assemble(
        &good,
        sources(&[
            ("mcpbridges/default.yaml", BRIDGE),
            ("ingresses/r.yaml", ing),
        ]),
    );
    assert_eq!(next.errors().count(), 1);
    assert!(next.get(ResourceKind::Ingress, "r").unwrap().stale);
    // It comes back: the Ingress applies again.
    let back = assemble(
        &next,
        sources(&[
            ("mcpbridges/default.yaml", BRIDGE),
            ("secrets/cert.yaml", SECRET),
            ("ingresses/r.yaml", ing),
        ]),
    );
    assert_eq!(back.errors().count(), 0);
    assert!(!back.get(ResourceKind::Ingress, "r").unwrap().stale);
}

#[test]
fn domain_config_map_certificates_must_exist() {
    let cm = "kind: ConfigMap\ndata: {domain: a.com, enableHttps: 'on', cert: nope}\n";
    let off = "kind: ConfigMap\ndata: {domain: b.com, enableHttps: 'off', cert: nope}\n";
    let s = assemble(
        &Snapshot::default(),
        sources(&[
            ("configmaps/domain-a.com.yaml", cm),
            ("configmaps/domain-b.com.yaml", off),
        ]),
    );
    let errors: Vec<String> = s.errors().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            r#"error: configmaps/domain-a.com.yaml: ConfigMap domain-a.com: data.cert: Secret "nope" does not exist"#
        ]
    );
}
