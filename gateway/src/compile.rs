//! Snapshot → [`RouteTable`], done once per snapshot: hosts normalised, paths and conditions
//! compiled, routes ordered as Higress orders them, canaries merged into their base routes,
//! policies built, destinations resolved to shared upstream targets.
//!
//! Order within a host (Higress `SortHTTPRoutes`): `defaultBackend` routes last, the bare `/`
//! prefix without conditions second to last, then Exact, Prefix, regex, internal; longer
//! path first; routes with a method match first (fewer methods first); more header
//! conditions first; more query conditions first; then Ingress creation order (creation
//! time, then name). A route whose host, type, path and conditions repeat an earlier one is
//! ignored with a warning.

mod backend;
mod canary;
mod nacos;
mod plugins;
mod policy;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use config_store::annotations::Canary;
use config_store::resource::higress_config::HIGRESS_CONFIG_NAME;
use config_store::resource::ingress::PathType;
use config_store::snapshot::IngressEntry;
use config_store::{Diagnostic, ResourceKind, Snapshot};

use crate::discovery::Discovery;
use crate::global_options::GlobalOptions;
use crate::policy::redirect::RedirectTo;
use crate::policy::RoutePolicy;
use crate::route_table::conditions::Conditions;
use crate::route_table::{normalize_host, PathMatch, Route, RouteAction, RouteId, RouteTable};
use crate::tls::host_policy::{HostTlsPolicies, HostTlsPolicy};
use crate::upstream::{Destination, Target, UpstreamGroup};

/// Compile settings.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Serve Ingresses of this class (and those with none); `None` serves every class.
    /// Default `higress`.
    pub ingress_class: Option<String>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            ingress_class: Some("higress".into()),
        }
    }
}

/// The result of a compile.
#[derive(Debug)]
pub struct Compiled {
    /// The table.
    pub table: RouteTable,
    /// Targets created by this compile; DNS ones must be resolved before the table goes live.
    pub new_targets: Vec<Arc<Target>>,
    /// Warnings about references that could not be resolved, duplicates, skipped Ingresses.
    pub diagnostics: Vec<Diagnostic>,
    /// Downstream certificates by SNI.
    pub certs: crate::tls::CertStore,
}

/// The legacy class annotation, read before `spec.ingressClassName` (as Higress does).
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// Compiles a snapshot.
pub fn compile(snapshot: &Snapshot, discovery: &Discovery, options: &CompileOptions) -> Compiled {
    let mut c = Compiler {
        snapshot,
        discovery,
        routes: Vec::new(),
        seen: HashMap::new(),
        app_roots: BTreeMap::new(),
        new_targets: Vec::new(),
        diagnostics: Vec::new(),
        plugins: Vec::new(),
        plugin_clusters: None,
    };
    let (plugins, plugin_diags) = plugins::load(snapshot, discovery.plugins());
    c.plugins = plugins;
    c.diagnostics.extend(plugin_diags);
    let mut ingresses: Vec<IngressEntry<'_>> = snapshot
        .ingresses()
        .filter(|e| c.class_matches(e, options))
        .collect();
    ingresses.sort_by(|a, b| {
        let ts = |e: &IngressEntry<'_>| {
            e.ingress
                .metadata
                .creation_timestamp
                .clone()
                .unwrap_or_default()
        };
        ts(a)
            .cmp(&ts(b))
            .then_with(|| a.ingress.metadata.name.cmp(&b.ingress.metadata.name))
    });
    let (canaries, bases): (Vec<_>, Vec<_>) = ingresses
        .iter()
        .enumerate()
        .partition(|(_, e)| e.annotations.canary.is_some());
    for (order, entry) in bases {
        c.ingress(order, entry);
    }
    for (order, entry) in canaries {
        c.canary(order, entry);
    }
    c.add_app_roots();
    let (certs, https_only, cert_diags) = crate::tls::certs::build(snapshot, &ingresses);
    c.diagnostics.extend(cert_diags);
    let tls_policies = c.host_tls_policies(&ingresses);
    let config = snapshot.higress_config();
    let ignored = GlobalOptions::ignored_settings(&config);
    if !ignored.is_empty() {
        let source = snapshot
            .get(ResourceKind::ConfigMap, HIGRESS_CONFIG_NAME)
            .map_or(HIGRESS_CONFIG_NAME, |o| o.source.as_str());
        c.diagnostics.push(
            Diagnostic::source_error(
                source,
                format!("kept but not acted on yet: {}", ignored.join(", ")),
            )
            .with_resource(ResourceKind::ConfigMap, "higress-config")
            .with_field("data.higress")
            .warning(),
        );
    }
    let mut compiled = c.finish(snapshot.revision(), GlobalOptions::from_config(&config));
    compiled.table.set_https_only(https_only);
    compiled.table.set_tls_policies(tls_policies);
    compiled.certs = certs;
    compiled
}

/// A route before its group is built (canaries may still change its destinations).
struct Pending {
    host: String,
    path: PathMatch,
    ignore_case: bool,
    conditions: Option<Conditions>,
    ingress: String,
    action: PendingAction,
    policy: Arc<RoutePolicy>,
    is_default: bool,
    order: usize,
    /// For a header or cookie canary: the index of its base route, which it sorts
    /// immediately before (Higress inserts it there and its stable sort keeps it).
    variant_of: Option<usize>,
}

enum PendingAction {
    Forward(Vec<Destination>),
    Redirect(RedirectTo),
}

/// host, path type, path, conditions — Higress's rule key.
type RouteKey = (String, &'static str, String, String);

type SortKey = (
    bool,
    bool,
    u8,
    std::cmp::Reverse<usize>,
    bool,
    usize,
    std::cmp::Reverse<usize>,
    std::cmp::Reverse<usize>,
    usize,
);

impl Pending {
    fn sort_key(&self) -> SortKey {
        let (methods, headers, queries) = self.conditions.as_ref().map_or((0, 0, 0), |c| {
            (c.methods.len(), c.headers.len(), c.queries.len())
        });
        let catch_all = self.path.is_catch_all() && self.conditions.is_none();
        (
            self.is_default,
            catch_all,
            self.path.rank(),
            std::cmp::Reverse(self.path.path_len()),
            methods == 0,
            methods,
            std::cmp::Reverse(headers),
            std::cmp::Reverse(queries),
            self.order,
        )
    }
}

struct Compiler<'a> {
    snapshot: &'a Snapshot,
    discovery: &'a Discovery,
    routes: Vec<Pending>,
    /// Route key → index in `routes` of the route that defined it first.
    seen: HashMap<RouteKey, usize>,
    /// host → (app root, policy) of the last Ingress (in creation order) that set one.
    app_roots: BTreeMap<String, (String, String)>,
    new_targets: Vec<Arc<Target>>,
    diagnostics: Vec<Diagnostic>,
    /// The snapshot's Wasm plugins, in execution order.
    plugins: Vec<crate::plugins::LoadedPlugin>,
    /// The clusters plugins may call (built on first use).
    plugin_clusters: Option<Arc<crate::plugins::http_call::Clusters>>,
}

impl Compiler<'_> {
    fn warn(
        &mut self,
        entry: &IngressEntry<'_>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(
            Diagnostic::source_error(entry.source, message)
                .with_resource(ResourceKind::Ingress, entry.ingress.metadata.name.clone())
                .with_field(field)
                .warning(),
        );
    }

    fn class_matches(&mut self, entry: &IngressEntry<'_>, options: &CompileOptions) -> bool {
        let Some(wanted) = &options.ingress_class else {
            return true;
        };
        let class = entry
            .ingress
            .metadata
            .annotations
            .get(CLASS_ANNOTATION)
            .or(entry.ingress.spec.ingress_class_name.as_ref());
        match class {
            Some(class) if class != wanted => {
                self.warn(
                    entry,
                    "spec.ingressClassName",
                    format!("ingress class {class:?} is not served (serving {wanted:?}; see --ingress-class)"),
                );
                false
            }
            _ => true,
        }
    }

    /// The paths of an Ingress as `(field, host, path match, backend field, backend)`.
    fn paths<'e>(
        &mut self,
        entry: &IngressEntry<'e>,
    ) -> Vec<(
        String,
        String,
        PathMatch,
        &'e config_store::resource::ingress::IngressBackend,
    )> {
        let ingress = entry.ingress;
        let rewrite = entry.annotations.rewrite.as_ref();
        let mut out = Vec::new();
        for (r, rule) in ingress.spec.rules.iter().enumerate() {
            let host = host_of(rule.host.as_deref());
            let Some(http) = &rule.http else { continue };
            for (p, path) in http.paths.iter().enumerate() {
                let field = format!("spec.rules[{r}].http.paths[{p}]");
                let raw = path
                    .path
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/");
                let matcher = if rewrite.is_some_and(|rw| rw.needs_regex(raw)) {
                    let full = rewrite.is_some_and(|rw| rw.full_path_regex);
                    // `ignore-path-case` covers exact and prefix matches only (Istio's
                    // `ignoreUriCase`); regex paths stay case-sensitive.
                    match PathMatch::regex(raw, full, false) {
                        Ok(m) => m,
                        Err(e) => {
                            self.warn(
                                entry,
                                format!("{field}.path"),
                                format!("path {raw:?} is not a valid regex ({e}); path skipped"),
                            );
                            continue;
                        }
                    }
                } else {
                    match path.path_type {
                        Some(PathType::Exact) => PathMatch::Exact(raw.to_string()),
                        Some(PathType::Prefix | PathType::ImplementationSpecific) => {
                            PathMatch::prefix(raw)
                        }
                        // No pathType: Prefix, with a trailing `.*` or `/*` wildcard dropped.
                        None => PathMatch::prefix(
                            raw.strip_suffix(".*")
                                .or_else(|| raw.strip_suffix("/*"))
                                .unwrap_or(raw),
                        ),
                    }
                };
                out.push((field, host.clone(), matcher, &path.backend));
            }
        }
        out
    }

    fn ingress(&mut self, order: usize, entry: &IngressEntry<'_>) {
        let name = entry.ingress.metadata.name.clone();
        let ignore_case = entry.annotations.ignore_path_case.is_some();
        let (conditions, cond_key) = self.conditions(entry);
        let mut hosts_with_root = Vec::new();
        for (field, host, matcher, backend) in self.paths(entry) {
            let key: RouteKey = (
                host.clone(),
                matcher.kind(),
                matcher.display_path(),
                cond_key.clone(),
            );
            if let Some(first) = self.seen.get(&key) {
                let msg = format!(
                    "duplicate route {} {} {} ignored: Ingress {} defines it first",
                    host,
                    matcher.kind(),
                    matcher.display_path(),
                    self.routes[*first].ingress
                );
                self.warn(entry, field, msg);
                continue;
            }
            if matcher.is_catch_all() {
                hosts_with_root.push(host.clone());
            }
            let policy = Arc::new(self.policy(entry, &host, &matcher));
            let action = match policy::redirect_action(entry) {
                Some(to) => PendingAction::Redirect(to),
                None => PendingAction::Forward(self.destinations(
                    entry,
                    &format!("{field}.backend"),
                    backend,
                )),
            };
            if let Some(root) = &entry.annotations.app_root {
                self.app_roots
                    .insert(host.clone(), (root.0.clone(), name.clone()));
            }
            self.seen.insert(key.clone(), self.routes.len());
            self.routes.push(Pending {
                host,
                path: matcher,
                ignore_case,
                conditions: conditions.clone(),
                ingress: name.clone(),
                action,
                policy,
                is_default: false,
                order,
                variant_of: None,
            });
        }
        if let Some(backend) = &entry.ingress.spec.default_backend {
            self.default_backend(order, entry, backend, hosts_with_root);
        }
    }

    fn default_backend(
        &mut self,
        order: usize,
        entry: &IngressEntry<'_>,
        backend: &config_store::resource::ingress::IngressBackend,
        hosts_with_root: Vec<String>,
    ) {
        let destinations = self.destinations(entry, "spec.defaultBackend", backend);
        let mut hosts: Vec<String> = entry
            .ingress
            .spec
            .rules
            .iter()
            .map(|r| host_of(r.host.as_deref()))
            .filter(|h| !hosts_with_root.contains(h))
            .collect();
        if !self.routes.iter().any(|p| p.is_default && p.host == "*") {
            hosts.push("*".into());
        }
        hosts.sort();
        hosts.dedup();
        let policy = Arc::new(self.policy(entry, "defaultBackend", &PathMatch::prefix("/")));
        for host in hosts {
            self.routes.push(Pending {
                host,
                path: PathMatch::prefix("/"),
                ignore_case: false,
                conditions: None,
                ingress: entry.ingress.metadata.name.clone(),
                action: PendingAction::Forward(destinations.clone()),
                policy: policy.clone(),
                is_default: true,
                order,
                variant_of: None,
            });
        }
    }

    fn conditions(&mut self, entry: &IngressEntry<'_>) -> (Option<Conditions>, String) {
        let Some(m) = &entry.annotations.route_match else {
            return (None, String::new());
        };
        let key = format!("{m:?}");
        match Conditions::compile(m) {
            Ok(c) => (Some(c), key),
            Err(e) => {
                self.warn(
                    entry,
                    "metadata.annotations",
                    format!("match condition regex failed to compile: {e}"),
                );
                (None, key)
            }
        }
    }

    /// Host-scope TLS rules: the first Ingress (creation order) with them wins per host.
    fn host_tls_policies(&mut self, ingresses: &[IngressEntry<'_>]) -> HostTlsPolicies {
        let mut policies = HostTlsPolicies::default();
        for entry in ingresses {
            let Some(tls) = &entry.annotations.downstream_tls else {
                continue;
            };
            let policy = match HostTlsPolicy::compile(tls, self.snapshot) {
                Ok(p) => p,
                Err(msg) => {
                    self.warn(
                        entry,
                        "metadata.annotations",
                        format!("{msg}; TLS rules for its hosts ignored"),
                    );
                    continue;
                }
            };
            let hosts = entry
                .ingress
                .spec
                .rules
                .iter()
                .map(|r| host_of(r.host.as_deref()))
                .chain(
                    entry
                        .ingress
                        .spec
                        .tls
                        .iter()
                        .flat_map(|t| t.hosts.iter().map(|h| host_of(Some(h)))),
                );
            for host in hosts {
                policies.insert(&host, policy.clone());
            }
        }
        policies
    }

    /// Routes app-root redirects: `Exact /` on each host that asked for one.
    fn add_app_roots(&mut self) {
        let roots = std::mem::take(&mut self.app_roots);
        for (host, (root, ingress)) in roots {
            self.routes.push(Pending {
                host,
                path: PathMatch::Internal("/".into()),
                ignore_case: false,
                conditions: None,
                ingress,
                action: PendingAction::Redirect(RedirectTo::Path(root)),
                policy: Arc::new(RoutePolicy::default()),
                is_default: false,
                order: usize::MAX,
                variant_of: None,
            });
        }
    }

    fn finish(self, revision: u64, global: GlobalOptions) -> Compiled {
        let Compiler {
            routes,
            new_targets,
            diagnostics,
            ..
        } = self;
        let mut by_host: BTreeMap<String, Vec<(RouteId, canary::Position<SortKey>)>> =
            BTreeMap::new();
        for (id, p) in routes.iter().enumerate() {
            let position = canary::position(id, p.variant_of, |i| routes[i].sort_key());
            by_host
                .entry(p.host.clone())
                .or_default()
                .push((id as RouteId, position));
        }
        let hosts = by_host
            .into_iter()
            .map(|(host, mut list)| {
                list.sort_by_key(|(_, key)| *key);
                (host, list.into_iter().map(|(id, _)| id).collect())
            })
            .collect();
        let routes = routes
            .into_iter()
            .map(|p| Route {
                host: p.host,
                path: p.path,
                ignore_case: p.ignore_case,
                conditions: p.conditions,
                ingress: p.ingress,
                action: match p.action {
                    PendingAction::Forward(d) => {
                        RouteAction::Forward(Arc::new(UpstreamGroup::new(d)))
                    }
                    PendingAction::Redirect(to) => RouteAction::Redirect(to),
                },
                policy: p.policy,
            })
            .collect();
        Compiled {
            table: RouteTable::new(revision, global, routes, hosts),
            new_targets,
            diagnostics,
            certs: crate::tls::CertStore::default(),
        }
    }

    fn canary(&mut self, order: usize, entry: &IngressEntry<'_>) {
        let Some(canary) = entry.annotations.canary.clone() else {
            return;
        };
        let (_, cond_key) = self.conditions(entry);
        for (field, host, matcher, backend) in self.paths(entry) {
            let key: RouteKey = (
                host.clone(),
                matcher.kind(),
                matcher.display_path(),
                cond_key.clone(),
            );
            let Some(&base) = self.seen.get(&key) else {
                self.warn(
                    entry,
                    field,
                    format!(
                        "canary has no base route {host} {} {}; path ignored",
                        matcher.kind(),
                        matcher.display_path()
                    ),
                );
                continue;
            };
            let destinations = self.destinations(entry, &format!("{field}.backend"), backend);
            match &canary {
                Canary::Weight { weight, total } => {
                    if let PendingAction::Forward(base_dests) = &mut self.routes[base].action {
                        canary::merge_weighted(base_dests, destinations, *weight, *total);
                    }
                }
                Canary::Header { .. } | Canary::Cookie { .. } => {
                    let b = &self.routes[base];
                    let route = Pending {
                        host: b.host.clone(),
                        path: b.path.clone(),
                        ignore_case: b.ignore_case,
                        conditions: Some(canary::condition(&canary, b.conditions.as_ref())),
                        ingress: entry.ingress.metadata.name.clone(),
                        action: PendingAction::Forward(destinations),
                        policy: b.policy.clone(),
                        is_default: false,
                        order,
                        variant_of: Some(base),
                    };
                    self.routes.push(route);
                }
            }
        }
    }
}

fn host_of(host: Option<&str>) -> String {
    host.map(|h| normalize_host(h).into_owned())
        .unwrap_or_else(|| "*".into())
}

#[cfg(test)]
mod tests;
