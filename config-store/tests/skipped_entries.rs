//! Nothing Gantry skips is silent: `.yml` files, unknown directories, kinds and apiVersions,
//! and Higress directories whose resources Gantry does not apply are warnings in the
//! snapshot (so `gantry validate` and `/gantry/status` show them). Higress standalone's own
//! default config loads with no error.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use config_store::{DirStore, Severity};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const INGRESS: &str =
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nspec:\n  rules:\n  - host: a.com\n";

#[test]
fn skipped_entries_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "ingresses/r.yaml", INGRESS);
    write(root, "ingresses/old.yml", INGRESS);
    write(root, "ingresses/team-a/x.yaml", INGRESS);
    write(root, "ingresses/notes.txt", "not config");
    write(root, "ingresses/r.yaml.tmp", "half a write");
    write(
        root,
        "ingresses/beta.yaml",
        "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nspec:\n  backend:\n    serviceName: a\n    servicePort: 80\n",
    );
    write(
        root,
        "configmaps/odd.yaml",
        "apiVersion: foo/v9\nkind: ConfigMap\ndata:\n  a: b\n",
    );
    write(
        root,
        "configmaps/widget.yaml",
        "apiVersion: v1\nkind: Widget\n",
    );
    write(root, "ingress/typo.yaml", INGRESS);
    write(root, "stuff/x.yaml", "a: b\n");
    write(root, "route.yaml", INGRESS);
    write(root, "gateways/gw.yaml", "kind: Gateway\n");
    write(root, "envoyfilters/a.yaml", "kind: EnvoyFilter\n");
    write(root, "envoyfilters/b.yaml", "kind: EnvoyFilter\n");
    std::fs::create_dir_all(root.join("httproutes")).unwrap();
    write(root, "pods/p.yaml", "kind: Pod\n");
    write(root, ".git/config", "[core]\n");

    let s = DirStore::load(root).unwrap();
    let all: Vec<String> = s.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        all,
        [
            "warning: configmaps/odd.yaml: apiVersion: \"foo/v9\" is not one Higress reads for ConfigMap (it reads v1); document skipped",
            "warning: configmaps/widget.yaml: kind \"Widget\" is not served by Gantry; document skipped",
            "warning: envoyfilters: 2 EnvoyFilter file(s) not applied: Gantry does not serve this kind, so what it changes in Higress does not happen here",
            "warning: gateways: 1 Gateway API Gateway file(s) not applied: Gantry does not serve this kind, so what it changes in Higress does not happen here",
            "warning: ingress: unknown directory, skipped: Gantry reads only the Higress standalone directories (did you mean ingresses/?)",
            "warning: ingresses/beta.yaml: apiVersion: \"networking.k8s.io/v1beta1\" is not one Higress reads for Ingress (it reads networking.k8s.io/v1); document skipped",
            "warning: ingresses/old.yml: skipped: only .yaml files are read (as in Higress); rename it to old.yaml",
            "warning: ingresses/team-a: subdirectory not read: Gantry reads only ingresses/*.yaml (Higress standalone also reads subdirectories); move its files up",
            "warning: route.yaml: not read: files directly in the config root are ignored; move it into the directory of its kind (e.g. ingresses/)",
            "warning: stuff: unknown directory, skipped: Gantry reads only the Higress standalone directories",
        ]
    );
    assert_eq!(s.ingresses().count(), 1);
    assert!(s.config_map("odd").is_none());
}

#[test]
fn higress_standalone_default_config_loads_clean() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/higress-standalone-default");
    let s = DirStore::load(&root).unwrap();
    let errors: Vec<String> = s.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let envoy: Vec<_> = s
        .diagnostics()
        .iter()
        .filter(|d| d.source == "envoyfilters")
        .collect();
    assert_eq!(envoy.len(), 1, "{:?}", s.diagnostics());
    assert_eq!(envoy[0].severity, Severity::Warning);
    assert!(envoy[0].message.contains("not applied"), "{}", envoy[0]);
    // `index.redirect-target: ~` reads as an empty string, as in Kubernetes.
    let console = s.config_map("higress-console").unwrap();
    assert_eq!(
        console
            .data
            .get("index.redirect-target")
            .map(String::as_str),
        Some("")
    );
    assert_eq!(
        console.data.get("mode").map(String::as_str),
        Some("standalone")
    );
    assert_eq!(s.ingresses().count(), 1);
    assert!(s.secret("higress-console").is_some());
}
