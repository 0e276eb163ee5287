//! [`Snapshot`]: the immutable, validated set of resources a store publishes, and
//! [`assemble`], the last-good merge every store uses to build one.
//!
//! Rules of [`assemble`]: a source (file) that fails to parse keeps every resource it had;
//! a resource that fails validation keeps its previous valid version; a source that parses
//! with errors keeps the previous resources it no longer yields. Everything else applies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::annotations::IngressAnnotations;
use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::parse::{parse_source, ParsedSource, SourceContext};
use crate::resource::service::SERVICE_NAME_LABEL;
use crate::resource::{
    ConfigMap, EndpointSlice, Endpoints, Ingress, McpBridge, Resource, Secret, Service,
};
use crate::validate::validate;

/// Identifies a resource: kind and name (the namespace is always `higress-system`).
pub type ObjectKey = (ResourceKind, String);

/// One resource in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Where it was read from: the store's source label (`ingresses/a.yaml`, dataId
    /// `ingresses.a`).
    pub source: String,
    /// The stored content of that source, as read (for a multi-document file, the whole file).
    pub content: Arc<str>,
    /// The version of that content (MD5 hex, see [`crate::store::version_of`]).
    pub version: Arc<str>,
    /// The resource.
    pub resource: Resource,
    /// For Ingresses: the parsed annotations.
    pub annotations: Option<Arc<IngressAnnotations>>,
    /// True when this is a kept last-good version because the current one is broken.
    pub stale: bool,
}

/// An Ingress with its parsed annotations.
#[derive(Debug, Clone, Copy)]
pub struct IngressEntry<'a> {
    /// Where it was read from.
    pub source: &'a str,
    /// The Ingress.
    pub ingress: &'a Ingress,
    /// Its annotations, parsed and valid.
    pub annotations: &'a IngressAnnotations,
}

/// An immutable, validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    revision: u64,
    objects: BTreeMap<ObjectKey, Arc<Object>>,
    diagnostics: Vec<Diagnostic>,
}

/// The outcome of reading one source, input to [`assemble`].
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    /// The source label (path relative to the root, or dataId).
    pub label: String,
    /// The content read (empty when it could not be read).
    pub content: Arc<str>,
    /// The version of `content` (MD5 hex).
    pub version: Arc<str>,
    /// What parsing gave.
    pub parsed: Result<ParsedSource, Diagnostic>,
}

// === impl SourceOutcome ===

impl SourceOutcome {
    /// The outcome of parsing `content` read from `label`.
    pub fn parse(label: String, content: Arc<str>, ctx: SourceContext<'_>) -> Self {
        let parsed = parse_source(ctx, &content);
        Self::new(label, content, parsed)
    }

    /// An outcome whose parse result is already known (e.g. a read error).
    pub fn new(label: String, content: Arc<str>, parsed: Result<ParsedSource, Diagnostic>) -> Self {
        let version = crate::store::version_of(content.as_bytes()).into();
        Self {
            label,
            content,
            version,
            parsed,
        }
    }

    /// Sets the version the store reports, when the stored bytes differ from `content`
    /// (an encrypted Nacos Secret: its version is the MD5 of the stored, encrypted text).
    pub fn with_version(mut self, version: Arc<str>) -> Self {
        self.version = version;
        self
    }
}

// === impl Snapshot ===

impl Snapshot {
    /// Increases by one with every published snapshot of a store.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every problem currently in the configuration.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Diagnostics not present in `prev` (to log each problem once).
    pub fn new_diagnostics_since<'a>(&'a self, prev: &Snapshot) -> Vec<&'a Diagnostic> {
        let old: BTreeSet<&Diagnostic> = prev.diagnostics.iter().collect();
        self.diagnostics
            .iter()
            .filter(|d| !old.contains(d))
            .collect()
    }

    /// Every object, ordered by kind then name.
    pub fn objects(&self) -> impl Iterator<Item = (&ObjectKey, &Arc<Object>)> {
        self.objects.iter()
    }

    /// Objects kept at a last good version because their current source is broken.
    pub fn stale_objects(&self) -> impl Iterator<Item = &Arc<Object>> {
        self.objects.values().filter(|o| o.stale)
    }

    /// A snapshot of already validated objects (a saved snapshot read back).
    pub(crate) fn from_objects(revision: u64, objects: Vec<Object>) -> Self {
        Self {
            revision,
            objects: objects
                .into_iter()
                .map(|o| {
                    (
                        (o.resource.kind(), o.resource.name().to_string()),
                        Arc::new(o),
                    )
                })
                .collect(),
            diagnostics: Vec::new(),
        }
    }

    /// One object.
    pub fn get(&self, kind: ResourceKind, name: &str) -> Option<&Arc<Object>> {
        self.objects.get(&(kind, name.to_string()))
    }

    /// Every Ingress with its annotations, ordered by name.
    pub fn ingresses(&self) -> impl Iterator<Item = IngressEntry<'_>> {
        self.of_kind(ResourceKind::Ingress)
            .filter_map(|o| match (&o.resource, &o.annotations) {
                (Resource::Ingress(ingress), Some(annotations)) => Some(IngressEntry {
                    source: &o.source,
                    ingress,
                    annotations,
                }),
                _ => None,
            })
    }

    /// A ConfigMap by name.
    pub fn config_map(&self, name: &str) -> Option<&ConfigMap> {
        match &self.get(ResourceKind::ConfigMap, name)?.resource {
            Resource::ConfigMap(cm) => Some(cm),
            _ => None,
        }
    }

    /// The global options from ConfigMap `higress-config` (defaults when absent).
    pub fn higress_config(&self) -> crate::resource::HigressConfig {
        use crate::resource::higress_config::{HIGRESS_CONFIG_KEY, HIGRESS_CONFIG_NAME};
        self.config_map(HIGRESS_CONFIG_NAME)
            .and_then(|cm| cm.data.get(HIGRESS_CONFIG_KEY))
            .and_then(|text| crate::resource::HigressConfig::parse(text).ok())
            .unwrap_or_default()
    }

    /// Every ConfigMap.
    pub fn config_maps(&self) -> impl Iterator<Item = &ConfigMap> {
        self.of_kind(ResourceKind::ConfigMap)
            .filter_map(|o| match &o.resource {
                Resource::ConfigMap(cm) => Some(cm),
                _ => None,
            })
    }

    /// Every ConfigMap with the source label it was read from.
    pub fn config_maps_with_source(&self) -> impl Iterator<Item = (&ConfigMap, &str)> {
        self.of_kind(ResourceKind::ConfigMap)
            .filter_map(|o| match &o.resource {
                Resource::ConfigMap(cm) => Some((cm, o.source.as_str())),
                _ => None,
            })
    }

    /// A Secret by name.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        match &self.get(ResourceKind::Secret, name)?.resource {
            Resource::Secret(s) => Some(s),
            _ => None,
        }
    }

    /// The McpBridge Higress reconciles: the one named `default`.
    pub fn mcp_bridge(&self) -> Option<&McpBridge> {
        match &self.get(ResourceKind::McpBridge, "default")?.resource {
            Resource::McpBridge(b) => Some(b),
            _ => None,
        }
    }

    /// A Service by name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        match &self.get(ResourceKind::Service, name)?.resource {
            Resource::Service(s) => Some(s),
            _ => None,
        }
    }

    /// The Endpoints object of a Service.
    pub fn endpoints(&self, name: &str) -> Option<&Endpoints> {
        match &self.get(ResourceKind::Endpoints, name)?.resource {
            Resource::Endpoints(e) => Some(e),
            _ => None,
        }
    }

    /// The EndpointSlices labelled with a Service's name.
    pub fn endpoint_slices_for<'a>(
        &'a self,
        service: &'a str,
    ) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
        self.of_kind(ResourceKind::EndpointSlice)
            .filter_map(move |o| match &o.resource {
                Resource::EndpointSlice(s)
                    if s.metadata
                        .labels
                        .get(SERVICE_NAME_LABEL)
                        .map(String::as_str)
                        == Some(service) =>
                {
                    Some(s)
                }
                _ => None,
            })
    }

    fn of_kind(&self, kind: ResourceKind) -> impl Iterator<Item = &Object> {
        self.objects
            .range((kind, String::new())..)
            .take_while(move |((k, _), _)| *k == kind)
            .map(|(_, o)| o.as_ref())
    }
}

/// Builds the next snapshot from every source's outcome, keeping last good versions from
/// `prev` as described in the module docs.
pub fn assemble(prev: &Snapshot, mut sources: Vec<SourceOutcome>) -> Snapshot {
    sources.sort_by(|a, b| a.label.cmp(&b.label));
    let mut objects: BTreeMap<ObjectKey, Arc<Object>> = BTreeMap::new();
    let mut diagnostics = Vec::new();
    let keep_stale = |o: &Arc<Object>| {
        let mut o = o.as_ref().clone();
        o.stale = true;
        Arc::new(o)
    };

    for source in sources {
        let label = source.label;
        let (content, version) = (source.content, source.version);
        let (parsed, source_broken) = match source.parsed {
            Ok(parsed) => {
                let broken = parsed.diagnostics.iter().any(Diagnostic::is_error);
                diagnostics.extend(parsed.diagnostics.iter().cloned());
                (parsed.resources, broken)
            }
            Err(d) => {
                diagnostics.push(d);
                (Vec::new(), true)
            }
        };
        let mut seen = BTreeSet::new();
        for resource in parsed {
            let key = (resource.kind(), resource.name().to_string());
            if let Some(other) = objects.get(&key) {
                diagnostics.push(
                    Diagnostic::source_error(
                        &label,
                        format!(
                            "duplicate: already defined in {}; this copy is ignored",
                            other.source
                        ),
                    )
                    .with_resource(key.0, key.1.clone()),
                );
                continue;
            }
            let validation = validate(&label, &resource);
            let valid = validation.is_valid();
            diagnostics.extend(validation.diagnostics);
            if valid {
                let object = Object {
                    source: label.clone(),
                    content: content.clone(),
                    version: version.clone(),
                    resource,
                    annotations: validation.annotations.map(Arc::new),
                    stale: false,
                };
                objects.insert(key.clone(), Arc::new(object));
            } else if let Some(old) = prev.objects.get(&key) {
                objects.insert(key.clone(), keep_stale(old));
            }
            seen.insert(key);
        }
        if source_broken {
            for (key, old) in prev.objects.iter().filter(|(_, o)| o.source == label) {
                if !seen.contains(key) && !objects.contains_key(key) {
                    objects.insert(key.clone(), keep_stale(old));
                }
            }
        }
    }
    // Cross-resource checks on what passed its own: a dangling reference rejects the
    // referring resource, which keeps its last good version.
    for d in crate::validate::references::check(&objects) {
        if let Some(key) = d.resource.clone().filter(|_| d.is_error()) {
            match prev.objects.get(&key) {
                Some(old) => objects.insert(key, keep_stale(old)),
                None => objects.remove(&key),
            };
        }
        diagnostics.push(d);
    }
    diagnostics.sort();
    diagnostics.dedup();
    Snapshot {
        revision: prev.revision + 1,
        objects,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(label: &str, text: &str) -> SourceOutcome {
        crate::test_files::sources(&[(label, text)]).remove(0)
    }

    const GOOD: &str = "kind: Ingress\nspec:\n  rules:\n  - host: a.com\n";
    const GOOD2: &str = "kind: Ingress\nspec:\n  rules:\n  - host: b.com\n";
    const BAD_FIELD: &str = "kind: Ingress\nspec:\n  rules:\n  - host: 'bad host'\n";
    const BAD_YAML: &str = "kind: [\n";

    fn host(s: &Snapshot) -> Option<String> {
        s.ingresses()
            .next()
            .and_then(|e| e.ingress.spec.rules[0].host.clone())
    }

    #[test]
    fn broken_file_keeps_last_good() {
        let s1 = assemble(&Snapshot::default(), vec![one("ingresses/r.yaml", GOOD)]);
        assert_eq!(host(&s1).as_deref(), Some("a.com"));
        assert!(s1.diagnostics().is_empty());

        let s2 = assemble(&s1, vec![one("ingresses/r.yaml", BAD_YAML)]);
        assert_eq!(host(&s2).as_deref(), Some("a.com"));
        assert!(s2.get(ResourceKind::Ingress, "r").unwrap().stale);
        assert_eq!(s2.errors().count(), 1);

        let s3 = assemble(&s2, vec![one("ingresses/r.yaml", BAD_FIELD)]);
        assert_eq!(host(&s3).as_deref(), Some("a.com"));
        let err = s3.errors().next().unwrap();
        assert_eq!(err.field.as_deref(), Some("spec.rules[0].host"));

        let s4 = assemble(&s3, vec![one("ingresses/r.yaml", GOOD2)]);
        assert_eq!(host(&s4).as_deref(), Some("b.com"));
        assert!(s4.diagnostics().is_empty());
        assert_eq!(s4.revision(), 4);
    }

    #[test]
    fn invalid_new_resource_is_absent_and_removed_source_drops() {
        let s1 = assemble(
            &Snapshot::default(),
            vec![one("ingresses/r.yaml", BAD_FIELD)],
        );
        assert_eq!(s1.ingresses().count(), 0);
        assert_eq!(s1.errors().count(), 1);
        let s2 = assemble(&s1, vec![one("ingresses/r.yaml", GOOD)]);
        assert_eq!(s2.ingresses().count(), 1);
        let s3 = assemble(&s2, vec![]);
        assert_eq!(s3.ingresses().count(), 0);
    }

    #[test]
    fn duplicates_across_files_keep_the_first() {
        let multi = "kind: Ingress\nmetadata: {name: r}\nspec: {rules: [{host: c.com}]}\n---\nkind: Ingress\nmetadata: {name: z}\n";
        let s = assemble(
            &Snapshot::default(),
            vec![
                one("ingresses/r.yaml", GOOD),
                one("ingresses/x.yaml", multi),
            ],
        );
        assert_eq!(host(&s).as_deref(), Some("a.com"));
        assert_eq!(s.ingresses().count(), 2);
        assert!(s.errors().next().unwrap().message.contains("duplicate"));
    }
}
