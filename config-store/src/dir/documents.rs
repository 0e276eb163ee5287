//! Splits a multi-document YAML file into its documents' text, so one resource inside it can
//! be replaced or deleted by name without touching the others.
//!
//! A document starts at a `---` line (column 0, followed by a space or the line end). A split
//! is only used when each piece parses to at most one document and the pieces together hold as
//! many documents as the whole file; otherwise the file cannot be edited safely.

use serde::Deserialize;

use crate::kind::ResourceKind;

/// One document's text inside a file, with what it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The text, including its leading `---` line if it had one.
    pub text: String,
    /// `kind:` (None when absent).
    pub kind: Option<String>,
    /// `metadata.name` (None when absent).
    pub name: Option<String>,
}

// === impl Document ===

impl Document {
    /// True when this document declares `kind` / `name` (a kind-less document counts as
    /// `dir_kind`, as Higress's flat Ingress files do).
    pub fn is(&self, kind: ResourceKind, name: &str, dir_kind: ResourceKind) -> bool {
        let kind_ok = match &self.kind {
            Some(k) => k == kind.kind_name(),
            None => kind == dir_kind,
        };
        kind_ok && self.name.as_deref() == Some(name)
    }

    /// The text without its leading `---` line.
    pub fn body(&self) -> &str {
        match self.text.strip_prefix("---") {
            Some(rest) if rest.starts_with(['\n', '\r', ' ', '\t']) || rest.is_empty() => {
                rest.split_once('\n').map_or("", |(_, body)| body)
            }
            _ => &self.text,
        }
    }
}

/// The non-empty documents of `text`, or `None` when they cannot be told apart safely.
pub fn split(text: &str) -> Option<Vec<Document>> {
    let mut pieces: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && is_separator(line) {
            pieces.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    pieces.push(&text[start..]);
    let total = count_documents(text)?;
    let mut docs = Vec::new();
    for piece in pieces {
        let values = values(piece)?;
        match values.as_slice() {
            [] => {
                // Comments or blank lines between separators: keep them with the next
                // document's text would shift it; attach to the previous one instead.
                if let Some(last) = docs.last_mut() {
                    let last: &mut Document = last;
                    last.text.push_str(piece);
                }
            }
            [value] => docs.push(Document {
                text: piece.to_string(),
                kind: value
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .map(str::to_string),
                name: value
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(|n| n.as_str())
                    .map(str::to_string),
            }),
            _ => return None,
        }
    }
    (docs.len() == total).then_some(docs)
}

/// Joins documents back into one file's text, each after a `---` line but the first.
pub fn join(docs: &[String]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        let body = doc.strip_prefix("---\n").unwrap_or(doc);
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(body);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn is_separator(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']))
}

fn values(text: &str) -> Option<Vec<yaml_serde::Value>> {
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = yaml_serde::Value::deserialize(doc).ok()?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Some(out)
}

fn count_documents(text: &str) -> Option<usize> {
    values(text).map(|v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# routes\nkind: Ingress\nmetadata: {name: a}\n---\nkind: Ingress\nmetadata:\n  name: b\n---\n# trailing comment\n";

    #[test]
    fn splits_and_names_documents() {
        let docs = split(FILE).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].name.as_deref(), Some("a"));
        assert_eq!(docs[1].name.as_deref(), Some("b"));
        assert!(docs[1].is(ResourceKind::Ingress, "b", ResourceKind::Ingress));
        assert!(!docs[1].is(ResourceKind::ConfigMap, "b", ResourceKind::Ingress));
        assert_eq!(
            docs[1].body(),
            "kind: Ingress\nmetadata:\n  name: b\n---\n# trailing comment\n"
        );
    }

    #[test]
    fn block_scalars_with_dashes_are_not_split() {
        let text =
            "kind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: |\n    ---\n    not a separator\n";
        let docs = split(text).unwrap();
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn unsafe_splits_are_refused() {
        // A top-level plain scalar spanning a separator-looking line.
        assert!(split("kind: [\n").is_none());
    }

    #[test]
    fn join_round_trips() {
        let docs: Vec<String> = split(FILE).unwrap().into_iter().map(|d| d.text).collect();
        let joined = join(&docs);
        assert_eq!(split(&joined).unwrap().len(), 2);
        assert_eq!(
            join(&["kind: A\n".into(), "kind: B".into()]),
            "kind: A\n---\nkind: B\n"
        );
    }
}
