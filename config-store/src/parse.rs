//! YAML documents → raw [`Resource`]s, with errors naming the source, resource and field.
//!
//! A source is one file (or one Nacos config). It may hold several `---` documents. As in
//! Higress standalone, a single-document file's resource is named after the file; every
//! resource is placed in the `higress-system` namespace. Every source is first checked
//! against the input [`Limits`] (size, nesting, alias expansion). Messages about a source
//! that may hold a Secret never quote its content (see [`redact`]).

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::limits::{self, LimitError, Limits};
use crate::resource::ingress::FlatIngress;
use crate::resource::secret::BASE64_ERROR_PREFIX;
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

/// Parses every document of one source within the default [`Limits`].
///
/// A YAML syntax error or a crossed limit fails the whole source (`Err`); a document with a
/// bad field fails only that document (an error in [`ParsedSource::diagnostics`]).
pub fn parse_source(ctx: SourceContext<'_>, text: &str) -> Result<ParsedSource, Diagnostic> {
    parse_source_with(ctx, text, &Limits::default())
}

/// [`parse_source`] within `limits`.
pub fn parse_source_with(
    ctx: SourceContext<'_>,
    text: &str,
    limits: &Limits,
) -> Result<ParsedSource, Diagnostic> {
    let sensitive = may_hold_secret(ctx, text);
    if let Err(e) = limits::check_yaml(text, limits) {
        return Err(Diagnostic::source_error(
            ctx.label,
            limit_message(&e, sensitive),
        ));
    }
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = yaml_serde::Value::deserialize(doc)
            .map_err(|e| Diagnostic::source_error(ctx.label, yaml_message(&e, sensitive)))?;
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

/// True when a source may hold a Secret: it sits in `secrets/` or mentions the kind.
fn may_hold_secret(ctx: SourceContext<'_>, text: &str) -> bool {
    ctx.dir_kind == Some(ResourceKind::Secret) || text.contains("Secret")
}

/// The message for a source that crossed a limit; syntax details are hidden when it may
/// hold a Secret.
fn limit_message(e: &LimitError, sensitive: bool) -> String {
    match e {
        LimitError::Syntax { line, column, .. } if sensitive => hidden_syntax(*line, *column),
        other => other.to_string(),
    }
}

/// The message for a YAML error from `yaml_serde`.
fn yaml_message(e: &yaml_serde::Error, sensitive: bool) -> String {
    let at = e.location().map(|l| (l.line(), l.column()));
    if e.to_string().starts_with("recursion limit exceeded") {
        let (line, column) = at.unwrap_or_default();
        return LimitError::TooDeep {
            max: limits::DEFAULT_MAX_DEPTH,
            line,
            column,
        }
        .to_string();
    }
    match (sensitive, at) {
        (false, _) => format!("invalid YAML: {e}"),
        (true, Some((line, column))) => hidden_syntax(line, column),
        (true, None) => "invalid YAML (details hidden: the file may hold a Secret)".into(),
    }
}

fn hidden_syntax(line: usize, column: usize) -> String {
    format!(
        "invalid YAML at line {line} column {column} (details hidden: the file may hold a Secret)"
    )
}

/// Reduces a deserialisation message about a Secret to its category and what was expected
/// (both from Gantry's types), dropping what was found, which may be the Secret's value.
pub fn redact(message: &str) -> String {
    const HIDDEN: &str = "(value not shown: this is a Secret)";
    for category in ["invalid type", "invalid value"] {
        if message.starts_with(&format!("{category}: ")) {
            return match message.rsplit_once(", expected ") {
                Some((_, expected)) => format!("{category}: expected {expected} {HIDDEN}"),
                None => format!("{category} {HIDDEN}"),
            };
        }
    }
    let safe = ["missing field `", "invalid length ", BASE64_ERROR_PREFIX];
    if safe.iter().any(|p| message.starts_with(p)) {
        return message.to_string();
    }
    format!("invalid {HIDDEN}")
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
            Some(kind) => {
                check_api_version(ctx, kind, value.get("apiVersion"))?;
                kind
            }
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

/// A document whose `apiVersion` Higress does not read for its kind is skipped with a
/// warning (Higress's api-server fails to decode it). A missing `apiVersion` is accepted.
fn check_api_version(
    ctx: SourceContext<'_>,
    kind: ResourceKind,
    api_version: Option<&yaml_serde::Value>,
) -> Result<(), Diagnostic> {
    let expected = kind.api_version();
    let found = match api_version {
        None => return Ok(()),
        Some(v) => match v.as_str() {
            Some(s) if s == expected => return Ok(()),
            Some(s) => format!("{s:?}"),
            None => "a value that is not a string".to_string(),
        },
    };
    Err(Diagnostic::source_error(
        ctx.label,
        format!(
            "{found} is not one Higress reads for {kind} (it reads {expected}); document skipped"
        ),
    )
    .with_field("apiVersion")
    .warning())
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
        let mut message = e.into_inner().to_string();
        if kind == ResourceKind::Secret || ctx.dir_kind == Some(ResourceKind::Secret) {
            message = redact(&message);
        }
        let mut d = Diagnostic::source_error(ctx.label, message).with_resource(kind, name);
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
    fn null_string_values_read_as_empty() {
        let text = "kind: ConfigMap\ndata:\n  a: ~\n  b: x\nmetadata:\n  labels: {l: null}\n";
        let parsed = parse_source(ctx(ResourceKind::ConfigMap, "cm"), text).unwrap();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let Resource::ConfigMap(cm) = &parsed.resources[0] else {
            panic!("not a config map")
        };
        assert_eq!(cm.data.get("a").map(String::as_str), Some(""));
        assert_eq!(cm.metadata.labels.get("l").map(String::as_str), Some(""));
        // A number is still an error, as in Kubernetes.
        let bad = parse_source(
            ctx(ResourceKind::ConfigMap, "cm"),
            "kind: ConfigMap\ndata:\n  a: 1\n",
        )
        .unwrap();
        assert_eq!(bad.diagnostics[0].field.as_deref(), Some("data.a"));
    }

    #[test]
    fn api_versions_higress_does_not_read_are_skipped_with_a_warning() {
        let text = "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ok}\n---\nkind: Ingress\nmetadata: {name: bare}\n";
        let parsed = parse_source(ctx(ResourceKind::Ingress, "r"), text).unwrap();
        let names: Vec<&str> = parsed.resources.iter().map(Resource::name).collect();
        assert_eq!(names, ["ok", "bare"]);
        let d = &parsed.diagnostics[0];
        assert!(!d.is_error());
        assert_eq!(d.field.as_deref(), Some("apiVersion"));
        assert!(d.message.contains("networking.k8s.io/v1beta1"), "{d}");
    }

    #[test]
    fn limits_apply_before_parsing() {
        let wide = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["x"; 10_000].join(","),
            vec!["*a"; 10_000].join(",")
        );
        let e = parse_source(ctx(ResourceKind::ConfigMap, "cm"), &wide).unwrap_err();
        assert_eq!(e.source, "ingresses/x.yaml");
        assert!(
            e.message
                .contains("aliases expand to more than 1000000 nodes"),
            "{e}"
        );
        let deep = format!("a: {}", "{a: ".repeat(50_000));
        let e = parse_source(ctx(ResourceKind::ConfigMap, "cm"), &deep).unwrap_err();
        assert!(e.message.contains("nests deeper than 128 levels"), "{e}");
        let block: String = (0..200).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        let e = parse_source(ctx(ResourceKind::ConfigMap, "cm"), &block).unwrap_err();
        assert!(e.message.contains("nests deeper than 128 levels"), "{e}");
        let small = Limits::with_max_file_size(8);
        let e = parse_source_with(
            ctx(ResourceKind::ConfigMap, "cm"),
            "kind: ConfigMap\n",
            &small,
        )
        .unwrap_err();
        assert!(e.message.contains("over the 8 bytes limit"), "{e}");
    }

    #[test]
    fn redact_keeps_the_category_and_drops_the_value() {
        assert_eq!(
            redact("invalid type: string \"hunter2, expected x\", expected a map"),
            "invalid type: expected a map (value not shown: this is a Secret)"
        );
        assert_eq!(
            redact("unknown variant `hunter2`, expected one of `a`"),
            "invalid (value not shown: this is a Secret)"
        );
        assert_eq!(redact("missing field `kind`"), "missing field `kind`");
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
