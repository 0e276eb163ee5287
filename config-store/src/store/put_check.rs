//! [`check_put`]: the one check every store runs before writing a resource, so a write
//! through the directory, Nacos or the admin API is refused for the same reasons.

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::parse::{parse_source, SourceContext};
use crate::resource::Resource;
use crate::store::{check_name, StoreError};

/// Checks that `yaml` is exactly one document of `kind` named `name` (or unnamed), that it
/// parses and that it validates; returns the resource. `label` names the destination in
/// diagnostics (`ingresses/a.yaml`, dataId `ingresses.a`).
pub fn check_put(
    kind: ResourceKind,
    name: &str,
    yaml: &str,
    label: &str,
) -> Result<Resource, StoreError> {
    check_name(name)?;
    let invalid = |diagnostics: Vec<Diagnostic>| StoreError::Invalid {
        kind,
        name: name.to_string(),
        diagnostics,
    };
    let problem = |field: Option<&str>, message: String| {
        let d = Diagnostic::source_error(label, message).with_resource(kind, name);
        match field {
            Some(f) => d.with_field(f),
            None => d,
        }
    };
    let mut documents = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(yaml) {
        match yaml_serde::Value::deserialize(doc) {
            Ok(v) if v.is_null() => {}
            Ok(v) => documents.push(v),
            Err(e) => {
                let message = if kind == ResourceKind::Secret {
                    "invalid YAML (details withheld: Secret content)".to_string()
                } else {
                    format!("invalid YAML: {e}")
                };
                return Err(invalid(vec![problem(None, message)]));
            }
        }
    }
    let doc = match documents.as_slice() {
        [doc] => doc,
        [] => {
            return Err(invalid(vec![problem(
                None,
                "the body holds no document".into(),
            )]))
        }
        more => {
            return Err(invalid(vec![problem(
                None,
                format!(
                    "the body holds {} documents; write one resource at a time",
                    more.len()
                ),
            )]))
        }
    };
    let mut problems = Vec::new();
    match doc.get("kind").map(|k| k.as_str()) {
        Some(Some(k)) if k == kind.kind_name() => {}
        Some(Some(k)) => problems.push(problem(
            Some("kind"),
            format!("kind {k:?} does not match the address ({kind})"),
        )),
        Some(None) => problems.push(problem(Some("kind"), "kind must be a string".into())),
        None if kind == ResourceKind::Ingress => {} // Higress's flat Ingress form
        None => problems.push(problem(Some("kind"), "missing field `kind`".into())),
    }
    match doc
        .get("metadata")
        .and_then(|m| m.get("name"))
        .map(|n| n.as_str())
    {
        None => {}
        Some(Some(n)) if n == name => {}
        Some(Some(n)) => problems.push(problem(
            Some("metadata.name"),
            format!("name {n:?} does not match the address ({name:?})"),
        )),
        Some(None) => problems.push(problem(
            Some("metadata.name"),
            "metadata.name must be a string".into(),
        )),
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let ctx = SourceContext {
        label,
        dir_kind: Some(kind),
        default_name: Some(name),
    };
    let parsed = parse_source(ctx, yaml).map_err(|d| invalid(vec![d]))?;
    problems.extend(parsed.diagnostics.into_iter().filter(Diagnostic::is_error));
    let Some(resource) = parsed.resources.into_iter().next() else {
        problems.push(problem(None, "the document yields no resource".into()));
        return Err(invalid(problems));
    };
    problems.extend(
        crate::validate::validate(label, &resource)
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error),
    );
    if problems.is_empty() {
        Ok(resource)
    } else {
        Err(invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = "ingresses/r.yaml";

    fn messages(err: StoreError) -> Vec<String> {
        match err {
            StoreError::Invalid { diagnostics, .. } => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            other => vec![format!("not Invalid: {other}")],
        }
    }

    #[test]
    fn accepts_one_matching_document() {
        let ok = check_put(
            ResourceKind::Ingress,
            "r",
            "kind: Ingress\nmetadata: {name: r}\nspec: {rules: [{host: a.com}]}\n",
            LABEL,
        )
        .unwrap();
        assert_eq!(ok.name(), "r");
        // Unnamed documents take the address's name; flat Ingresses need no kind.
        assert!(check_put(
            ResourceKind::Ingress,
            "r",
            "rules: [{host: a.com}]\n",
            LABEL
        )
        .is_ok());
    }

    #[test]
    fn refuses_wrong_kind_name_and_several_documents() {
        let wrong = check_put(
            ResourceKind::Ingress,
            "r",
            "kind: ConfigMap\nmetadata: {name: other}\n",
            LABEL,
        )
        .unwrap_err();
        assert_eq!(
            messages(wrong),
            vec![
                "error: ingresses/r.yaml: Ingress r: kind: kind \"ConfigMap\" does not match the address (Ingress)",
                "error: ingresses/r.yaml: Ingress r: metadata.name: name \"other\" does not match the address (\"r\")",
            ]
        );
        let two = check_put(
            ResourceKind::Ingress,
            "r",
            "kind: Ingress\n---\nkind: Ingress\n",
            LABEL,
        )
        .unwrap_err();
        assert!(messages(two)[0].contains("holds 2 documents"));
        let none = check_put(ResourceKind::Ingress, "r", "# nothing\n", LABEL).unwrap_err();
        assert!(messages(none)[0].contains("no document"));
        assert!(matches!(
            check_put(ResourceKind::Ingress, "../r", "kind: Ingress\n", LABEL),
            Err(StoreError::InvalidName(_))
        ));
    }

    #[test]
    fn refuses_invalid_content_with_every_error() {
        let err = check_put(
            ResourceKind::Ingress,
            "r",
            "kind: Ingress\nspec:\n  rules:\n  - host: 'bad host'\n  - host: 'also bad'\n",
            LABEL,
        )
        .unwrap_err();
        let m = messages(err);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].contains("spec.rules[0].host"), "{m:?}");
        assert!(m[1].contains("spec.rules[1].host"), "{m:?}");
    }

    #[test]
    fn secret_yaml_errors_do_not_echo_content() {
        let err = check_put(
            ResourceKind::Secret,
            "s",
            "kind: Secret\ndata: {a: 'hunter2\n",
            "secrets/s.yaml",
        )
        .unwrap_err();
        let m = messages(err).join("\n");
        assert!(!m.contains("hunter2"), "{m}");
    }
}
