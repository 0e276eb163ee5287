//! YAML documents → raw [`Resource`]s, with errors naming the source, resource and field.
//!
//! A source is one file (or one Nacos config). It may hold several `---` documents. As in
//! Higress standalone, a single-document file's resource is named after the file; every
//! resource is placed in the `higress-system` namespace.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::resource::ingress::FlatIngress;
use crate::resource::Resource;
use crate::SYSTEM_NAMESPACE;

/// What one source yielded: the resources that parsed and the problems found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedSource {
    /// Resources that parsed.
    pub resources: Vec<Resource>,
    /// Errors for documents that did not parse, and warnings for skipped ones.
    pub diagnostics: Vec<Diagnostic>,
}

/// Where a source sits, which decides defaults for its documents.
#[derive(Debug, Clone, Copy)]
pub struct SourceContext<'a> {
    /// Label used in diagnostics (path relative to the root, or dataId).
    pub label: &'a str,
    /// The kind implied by the directory (used for kind-less flat Ingresses).
    pub dir_kind: Option<ResourceKind>,
    /// The name implied by the file name (forced on single-document sources).
    pub default_name: Option<&'a str>,
}

/// Parses every document of one source.
///
/// A YAML syntax error fails the whole source (`Err`); a document with a bad field fails only
/// that document (an error in [`ParsedSource::diagnostics`]).
pub fn parse_source(ctx: SourceContext<'_>, text: &str) -> Result<ParsedSource, Diagnostic> {
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = yaml_serde::Value::deserialize(doc)
            .map_err(|e| Diagnostic::source_error(ctx.label, format!("invalid YAML: {e}")))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    let single = docs.len() == 1;
    let mut out = ParsedSource::default();
    for (index, value) in docs.into_iter().enumerate() {
        let name_override = if single { ctx.default_name } else { None };
        match parse_document(ctx, value, name_override) {
            Ok(Some(resource)) => out.resources.push(resource),
            Ok(None) => {}
            Err(d) => {
                let mut d = d;
                if !single {
                    d.message = format!("document {}: {}", index + 1, d.message);
                }
                out.diagnostics.push(d);
            }
        }
    }
    Ok(out)
}

/// Parses one document. `Ok(None)` means skipped (an unknown kind, reported as a warning).
fn parse_document(
    ctx: SourceContext<'_>,
    value: yaml_serde::Value,
    name_override: Option<&str>,
) -> Result<Option<Resource>, Diagnostic> {
    let kind_field = value
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string);
    let doc_name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let name = name_override
        .map(str::to_string)
        .or(doc_name)
        .unwrap_or_default();

    let kind = match kind_field.as_deref() {
        Some(k) => match ResourceKind::from_kind_name(k) {
            Some(kind) => kind,
            None => {
                return Err(Diagnostic::source_error(
                    ctx.label,
                    format!("kind {k:?} is not served by Gantry; document skipped"),
                )
                .warning());
            }
        },
        None if ctx.dir_kind == Some(ResourceKind::Ingress) => {
            // Higress's flat Ingress format: no apiVersion/kind, spec fields at the top.
            let flat: FlatIngress = typed(ctx, ResourceKind::Ingress, &name, value)?;
            let mut resource = Resource::Ingress(Box::new(flat.into_ingress(&name)));
            finish(ctx, &mut resource, &name)?;
            return Ok(Some(resource));
        }
        None => {
            return Err(
                Diagnostic::source_error(ctx.label, "missing field `kind`").with_field("kind")
            );
        }
    };

    let mut resource = match kind {
        ResourceKind::Ingress => Resource::Ingress(Box::new(typed(ctx, kind, &name, value)?)),
        ResourceKind::ConfigMap => Resource::ConfigMap(typed(ctx, kind, &name, value)?),
        ResourceKind::McpBridge => Resource::McpBridge(typed(ctx, kind, &name, value)?),
        ResourceKind::Secret => Resource::Secret(typed(ctx, kind, &name, value)?),
        ResourceKind::WasmPlugin => Resource::WasmPlugin(Box::new(typed(ctx, kind, &name, value)?)),
        ResourceKind::Service => Resource::Service(typed(ctx, kind, &name, value)?),
        ResourceKind::Endpoints => Resource::Endpoints(typed(ctx, kind, &name, value)?),
        ResourceKind::EndpointSlice => Resource::EndpointSlice(typed(ctx, kind, &name, value)?),
    };
    finish(ctx, &mut resource, &name)?;
    Ok(Some(resource))
}

/// Forces the file-derived name and the system namespace, as the standalone api-server does.
fn finish(ctx: SourceContext<'_>, resource: &mut Resource, name: &str) -> Result<(), Diagnostic> {
    if name.is_empty() {
        return Err(Diagnostic::source_error(
            ctx.label,
            "metadata.name is required when a file holds several documents",
        )
        .with_field("metadata.name"));
    }
    let meta = resource.meta_mut();
    meta.name = name.to_string();
    meta.namespace = Some(SYSTEM_NAMESPACE.to_string());
    Ok(())
}

fn typed<T: DeserializeOwned>(
    ctx: SourceContext<'_>,
    kind: ResourceKind,
    name: &str,
    value: yaml_serde::Value,
) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let mut d = Diagnostic::source_error(ctx.label, e.into_inner().to_string())
            .with_resource(kind, name);
        if field != "." {
            d = d.with_field(field);
        }
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(dir: ResourceKind, name: &'a str) -> SourceContext<'a> {
        SourceContext {
            label: "ingresses/x.yaml",
            dir_kind: Some(dir),
            default_name: Some(name),
        }
    }

    #[test]
    fn single_document_takes_the_file_name_and_system_namespace() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: x\ndata:\n  a: b\n";
        let parsed = parse_source(ctx(ResourceKind::ConfigMap, "cm"), text).unwrap();
        assert!(parsed.diagnostics.is_empty());
        let r = &parsed.resources[0];
        assert_eq!(r.name(), "cm");
        assert_eq!(r.meta().namespace.as_deref(), Some("higress-system"));
    }

    #[test]
    fn several_documents_keep_their_names_and_report_bad_ones() {
        let text = "kind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\ndata: [1]\n---\nkind: Widget\n";
        let parsed = parse_source(ctx(ResourceKind::ConfigMap, "f"), text).unwrap();
        assert_eq!(parsed.resources.len(), 1);
        assert_eq!(parsed.resources[0].name(), "a");
        assert_eq!(parsed.diagnostics.len(), 2);
        let bad = &parsed.diagnostics[0];
        assert!(bad.is_error());
        assert_eq!(bad.field.as_deref(), Some("data"));
        assert_eq!(bad.resource, Some((ResourceKind::ConfigMap, "b".into())));
        assert!(bad.message.starts_with("document 2:"), "{}", bad.message);
        assert!(!parsed.diagnostics[1].is_error());
        assert!(parsed.diagnostics[1].message.contains("Widget"));
    }

    #[test]
    fn field_errors_name_the_path() {
        let text =
            "kind: Ingress\nspec:\n  rules:\n  - http:\n      paths:\n      - pathType: Sideways\n";
        let parsed = parse_source(ctx(ResourceKind::Ingress, "r"), text).unwrap();
        let d = &parsed.diagnostics[0];
        assert_eq!(
            d.field.as_deref(),
            Some("spec.rules[0].http.paths[0].pathType")
        );
        assert!(d.to_string().contains("Ingress r"), "{d}");
    }

    #[test]
    fn yaml_syntax_error_fails_the_source() {
        let err = parse_source(ctx(ResourceKind::Ingress, "r"), "kind: [unclosed\n").unwrap_err();
        assert!(err.message.contains("invalid YAML"), "{err}");
    }

    #[test]
    fn flat_ingress_without_kind() {
        let text = "annotations:\n  higress.io/destination: a.dns\nrules:\n- host: a.com\n";
        let parsed = parse_source(ctx(ResourceKind::Ingress, "flat"), text).unwrap();
        let Resource::Ingress(ing) = &parsed.resources[0] else {
            panic!("not an ingress")
        };
        assert_eq!(ing.metadata.name, "flat");
        assert_eq!(ing.spec.rules[0].host.as_deref(), Some("a.com"));
    }

    #[test]
    fn secret_data_is_decoded() {
        let text = "kind: Secret\ndata:\n  k: aGVsbG8=\n";
        let parsed = parse_source(ctx(ResourceKind::Secret, "s"), text).unwrap();
        let Resource::Secret(s) = &parsed.resources[0] else {
            panic!("not a secret")
        };
        assert_eq!(s.value("k"), Some(&b"hello"[..]));
        let bad = parse_source(
            ctx(ResourceKind::Secret, "s"),
            "kind: Secret\ndata:\n  k: '!!'\n",
        )
        .unwrap();
        assert!(bad.diagnostics[0].message.contains("base64"));
    }
}
