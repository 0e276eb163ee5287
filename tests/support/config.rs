//! A temporary Higress standalone config directory and builders for the YAML
//! files users write: `mcpbridges/default.yaml`, `configmaps/domain-*.yaml` and
//! `ingresses/*.yaml`.
//!
//! Layout: `<dir>/{ingresses,configmaps,mcpbridges,secrets,services,endpoints}/`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};

use tempfile::TempDir;

/// The sub-directories of a Higress standalone config directory.
pub const SUBDIRS: [&str; 6] = [
    "ingresses",
    "configmaps",
    "mcpbridges",
    "secrets",
    "services",
    "endpoints",
];

/// A temporary config directory, removed on drop.
pub struct ConfigDir {
    dir: TempDir,
}

// === impl ConfigDir ===

impl ConfigDir {
    /// An empty config directory with every standard sub-directory created.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gantry-config-")
            .tempdir()
            .expect("create temp config dir");
        for sub in SUBDIRS {
            fs::create_dir_all(dir.path().join(sub)).expect("create config sub-dir");
        }
        Self { dir }
    }

    /// The quick-start config: one `dns` registry `httpbin` at `domain:port`, the
    /// `domain-foo.bar.com` ConfigMap, and the `route-foo-bar` Ingress sending
    /// every path of `foo.bar.com` to `httpbin.dns`.
    pub fn quickstart(domain: &str, port: u16) -> Self {
        let config = Self::new();
        config.write_mcpbridge(&[Registry::dns("httpbin", domain, port)]);
        config.write(
            "configmaps/domain-foo.bar.com.yaml",
            &domain_configmap("foo.bar.com"),
        );
        config.write_ingress(&Ingress::quickstart());
        config
    }

    /// The directory's absolute path.
    pub fn path(&self) -> &FsPath {
        self.dir.path()
    }

    /// The absolute path of `rel` inside the directory.
    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `rel` atomically: the contents go to a hidden temp file in the same
    /// directory, which is then renamed over `rel`.
    pub fn write(&self, rel: &str, contents: &str) {
        let target = self.file(rel);
        let parent = target.parent().expect("config file has a parent");
        fs::create_dir_all(parent).expect("create parent dir");
        let file_name = target.file_name().expect("file name").to_string_lossy();
        let tmp = parent.join(format!(".{file_name}.gantry-tmp"));
        fs::write(&tmp, contents).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        fs::rename(&tmp, &target).unwrap_or_else(|e| panic!("rename to {}: {e}", target.display()));
    }

    /// Writes `rel` in place, like most editors: truncate, then write the new
    /// contents in two parts, so a reader may see a partial file.
    pub fn write_in_place(&self, rel: &str, contents: &str) {
        let target = self.file(rel);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&target)
            .unwrap_or_else(|e| panic!("open {}: {e}", target.display()));
        let (head, tail) = contents.split_at(contents.len() / 2);
        file.write_all(head.as_bytes()).expect("write first half");
        file.flush().expect("flush");
        file.write_all(tail.as_bytes()).expect("write second half");
        file.flush().expect("flush");
    }

    /// Deletes `rel`.
    pub fn remove(&self, rel: &str) {
        let target = self.file(rel);
        fs::remove_file(&target).unwrap_or_else(|e| panic!("remove {}: {e}", target.display()));
    }

    /// Reads `rel`.
    pub fn read(&self, rel: &str) -> String {
        let target = self.file(rel);
        fs::read_to_string(&target).unwrap_or_else(|e| panic!("read {}: {e}", target.display()))
    }

    /// Writes `mcpbridges/default.yaml` with `registries`, atomically.
    pub fn write_mcpbridge(&self, registries: &[Registry]) {
        self.write("mcpbridges/default.yaml", &mcpbridge(registries));
    }

    /// Writes `configmaps/higress-config.yaml` whose `higress` key holds `options`
    /// (global options YAML, e.g. `"addXRealIpHeader: true"`), atomically.
    pub fn write_higress_config(&self, options: &str) {
        self.write("configmaps/higress-config.yaml", &higress_config(options));
    }

    /// Writes `ingresses/<name>.yaml` for `ingress`, atomically.
    pub fn write_ingress(&self, ingress: &Ingress) {
        self.write(&ingress.file(), &ingress.yaml());
    }
}

impl Default for ConfigDir {
    fn default() -> Self {
        Self::new()
    }
}

/// One McpBridge registry.
#[derive(Debug, Clone)]
pub struct Registry {
    /// `spec.registries[].name`.
    pub name: String,
    /// `spec.registries[].type`: `dns` or `static`.
    pub kind: String,
    /// `spec.registries[].domain`.
    pub domain: String,
    /// `spec.registries[].port`.
    pub port: u16,
}

// === impl Registry ===

impl Registry {
    /// A `dns` registry; routes refer to it as `<name>.dns`.
    pub fn dns(name: &str, domain: &str, port: u16) -> Self {
        Self {
            name: name.to_owned(),
            kind: "dns".to_owned(),
            domain: domain.to_owned(),
            port,
        }
    }

    /// A `static` registry for `addr` (`domain: "ip:port"`, `port: 80`); routes
    /// refer to it as `<name>.static`.
    pub fn fixed(name: &str, addr: SocketAddr) -> Self {
        Self {
            name: name.to_owned(),
            kind: "static".to_owned(),
            domain: addr.to_string(),
            port: 80,
        }
    }

    /// A `static` registry with several endpoints (`domain: "ip:port,ip:port,…"`).
    pub fn pool(name: &str, addrs: &[SocketAddr]) -> Self {
        Self {
            name: name.to_owned(),
            kind: "static".to_owned(),
            domain: addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            port: 80,
        }
    }

    /// The destination host routes use: `<name>.<type>`.
    pub fn destination(&self) -> String {
        format!("{}.{}", self.name, self.kind)
    }
}

/// The YAML of `mcpbridges/default.yaml` holding `registries`.
pub fn mcpbridge(registries: &[Registry]) -> String {
    let mut out = String::from(
        "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata:\n  name: default\n  namespace: higress-system\nspec:\n  registries:\n",
    );
    for r in registries {
        let _ = write!(
            out,
            "  - domain: \"{}\"\n    name: {}\n    port: {}\n    type: {}\n",
            r.domain, r.name, r.port, r.kind
        );
    }
    out
}

/// The YAML of the `domain-<domain>` ConfigMap with HTTPS off.
pub fn domain_configmap(domain: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: domain-{domain}\n  namespace: higress-system\ndata:\n  domain: {domain}\n  enableHttps: \"off\"\n"
    )
}

/// The YAML of the `higress-config` ConfigMap whose `higress` key holds `options`.
pub fn higress_config(options: &str) -> String {
    let mut out = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: higress-config\n  namespace: higress-system\ndata:\n  higress: |-\n",
    );
    for line in options.lines() {
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// A Kubernetes `pathType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathType {
    /// `Exact`.
    Exact,
    /// `Prefix`: segment-wise prefix.
    Prefix,
    /// `ImplementationSpecific`: Higress treats it as `Prefix`.
    ImplementationSpecific,
}

impl PathType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "Exact",
            Self::Prefix => "Prefix",
            Self::ImplementationSpecific => "ImplementationSpecific",
        }
    }
}

/// One `spec.rules[].http.paths[]` entry.
#[derive(Debug, Clone)]
pub struct Path {
    /// `path`.
    pub path: String,
    /// `pathType`.
    pub path_type: PathType,
}

// === impl Path ===

impl Path {
    /// An `Exact` path.
    pub fn exact(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            path_type: PathType::Exact,
        }
    }

    /// A `Prefix` path.
    pub fn prefix(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            path_type: PathType::Prefix,
        }
    }

    /// An `ImplementationSpecific` path.
    pub fn implementation_specific(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            path_type: PathType::ImplementationSpecific,
        }
    }
}

/// A builder for one Ingress in namespace `higress-system` whose backends are the
/// `default` McpBridge, the Higress standalone way.
#[derive(Debug, Clone)]
pub struct Ingress {
    name: String,
    class: Option<String>,
    annotations: Vec<(String, String)>,
    rules: Vec<(Option<String>, Vec<Path>)>,
}

// === impl Ingress ===

impl Ingress {
    /// An Ingress named `name` with class `higress`, no annotations and no rules.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            class: Some("higress".to_owned()),
            annotations: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// The quick-start Ingress `route-foo-bar`: `foo.bar.com`, Prefix `/`, to
    /// `httpbin.dns`.
    pub fn quickstart() -> Self {
        Self::new("route-foo-bar")
            .destination("httpbin.dns")
            .annotation("higress.io/ignore-path-case", "false")
            .rule(Some("foo.bar.com"), vec![Path::prefix("/")])
    }

    /// An Ingress sending every path (`Prefix /`) of `host` to `destination`.
    pub fn host_route(name: &str, host: &str, destination: &str) -> Self {
        Self::route(name, Some(host), Path::prefix("/"), destination)
    }

    /// A one-rule Ingress: `host` (or any host) and `path` to `destination`.
    pub fn route(name: &str, host: Option<&str>, path: Path, destination: &str) -> Self {
        Self::new(name)
            .destination(destination)
            .rule(host, vec![path])
    }

    /// Sets `spec.ingressClassName`; `None` leaves it out.
    pub fn class(mut self, class: Option<&str>) -> Self {
        self.class = class.map(str::to_owned);
        self
    }

    /// Sets the `higress.io/destination` annotation, e.g. `"v1.static"` or
    /// `"30% v1.static\n70% v2.static"`.
    pub fn destination(self, destination: &str) -> Self {
        self.annotation("higress.io/destination", destination)
    }

    /// Adds (or replaces) an annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.retain(|(k, _)| k != key);
        self.annotations.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds a rule for `host` (`None`: any host) with `paths`.
    pub fn rule(mut self, host: Option<&str>, paths: Vec<Path>) -> Self {
        self.rules.push((host.map(str::to_owned), paths));
        self
    }

    /// The Ingress's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the Ingress lives in: `ingresses/<name>.yaml`.
    pub fn file(&self) -> String {
        format!("ingresses/{}.yaml", self.name)
    }

    /// The Ingress as YAML.
    pub fn yaml(&self) -> String {
        let mut out = String::from("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n");
        if !self.annotations.is_empty() {
            out.push_str("  annotations:\n");
            for (k, v) in &self.annotations {
                // JSON strings are valid YAML double-quoted scalars.
                let _ = writeln!(out, "    {k}: {}", serde_json::Value::String(v.clone()));
            }
        }
        let _ = write!(
            out,
            "  name: {}\n  namespace: higress-system\nspec:\n",
            self.name
        );
        if let Some(class) = &self.class {
            let _ = writeln!(out, "  ingressClassName: {class}");
        }
        out.push_str("  rules:\n");
        for (host, paths) in &self.rules {
            match host {
                Some(host) => {
                    let _ = write!(out, "  - host: \"{host}\"\n    http:\n");
                }
                None => out.push_str("  - http:\n"),
            }
            out.push_str("      paths:\n");
            for p in paths {
                let _ = write!(
                    out,
                    "      - backend:\n          resource:\n            apiGroup: networking.higress.io\n            kind: McpBridge\n            name: default\n        path: {}\n        pathType: {}\n",
                    p.path,
                    p.path_type.as_str()
                );
            }
        }
        out
    }
}
