//! Stored resources as JSON trees ([`Doc`]), so the API edits the YAML a user or Higress
//! wrote without dropping fields Gantry does not model: read → change a few keys → write.

use config_store::{ConfigStore, ResourceKind, StoreError, StoredDocument, SYSTEM_NAMESPACE};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};

/// One stored resource, parsed.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Its name.
    pub name: String,
    /// The document as a JSON tree (flat Ingresses normalised to `metadata` + `spec`).
    pub value: Value,
    /// The version (MD5 of the stored content holding it).
    pub version: String,
    /// Where it is stored (`ingresses/a.yaml`).
    pub source: String,
    /// The YAML as stored, to restore it if a write is rejected.
    pub yaml: String,
}

// === impl Doc ===

impl Doc {
    /// Parses a stored document; `None` (logged) when it is not plain YAML.
    pub fn parse(stored: StoredDocument) -> Option<Self> {
        let value = match yaml_serde::from_str::<Value>(&stored.yaml) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                tracing::warn!(source = %stored.source, "admin API skips a document it cannot read as a YAML mapping");
                return None;
            }
        };
        let value = if stored.kind == ResourceKind::Ingress {
            normalize_flat_ingress(value)
        } else {
            value
        };
        Some(Self {
            name: stored.name,
            value,
            version: stored.version,
            source: stored.source,
            yaml: stored.yaml,
        })
    }

    /// A string at a `/`-separated pointer (`/metadata/labels/x`).
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Value::as_str)
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> Map<String, Value> {
        object_at(&self.value, "/metadata/labels")
    }

    /// `metadata.annotations`.
    pub fn annotations(&self) -> Map<String, Value> {
        object_at(&self.value, "/metadata/annotations")
    }
}

/// The object at `pointer`, or an empty one.
pub fn object_at(value: &Value, pointer: &str) -> Map<String, Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// A new resource skeleton: `apiVersion`, `kind`, `metadata.{name,namespace}`.
pub fn skeleton(kind: ResourceKind, name: &str) -> Value {
    json!({
        "apiVersion": kind.api_version(),
        "kind": kind.kind_name(),
        "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE},
    })
}

/// The top-level object of `value` (made one if it is not).
pub fn root(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// The object at `key` of `map`, created (or replacing a non-object) as needed.
pub fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    root(
        map.entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new())),
    )
}

/// YAML text of `value`.
pub fn to_yaml(value: &Value) -> ApiResult<String> {
    yaml_serde::to_string(value).map_err(|e| ApiError::internal(format!("YAML encoding: {e}")))
}

/// The resource, `None` when it does not exist or cannot be read as YAML.
pub async fn get(
    store: &dyn ConfigStore,
    kind: ResourceKind,
    name: &str,
) -> ApiResult<Option<Doc>> {
    match store.get(kind, name).await {
        Ok(stored) => Ok(Doc::parse(stored)),
        Err(StoreError::NotFound { .. } | StoreError::InvalidName(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every readable resource of `kind`, by name.
pub async fn list(store: &dyn ConfigStore, kind: ResourceKind) -> ApiResult<Vec<Doc>> {
    Ok(store
        .list(kind)
        .await?
        .into_iter()
        .filter_map(Doc::parse)
        .collect())
}

/// Higress's flat Ingress (no `kind`; labels, annotations and spec fields at the top) as a
/// regular one.
fn normalize_flat_ingress(value: Value) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    if map.contains_key("kind") || map.contains_key("spec") {
        return Value::Object(map);
    }
    let mut metadata = match map.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for key in ["labels", "annotations"] {
        if let Some(v) = map.remove(key) {
            metadata.insert(key.to_string(), v);
        }
    }
    let mut out = Map::new();
    out.insert(
        "apiVersion".into(),
        json!(ResourceKind::Ingress.api_version()),
    );
    out.insert("kind".into(), json!("Ingress"));
    out.insert("metadata".into(), Value::Object(metadata));
    out.insert("spec".into(), Value::Object(map));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_ingress_is_normalised() {
        let v =
            yaml_serde::from_str::<Value>("annotations: {a: b}\nrules: [{host: x.com}]\n").unwrap();
        let n = normalize_flat_ingress(v);
        assert_eq!(n["kind"], "Ingress");
        assert_eq!(n["metadata"]["annotations"]["a"], "b");
        assert_eq!(n["spec"]["rules"][0]["host"], "x.com");
    }

    #[test]
    fn child_creates_objects() {
        let mut v = json!({"metadata": {"name": "a", "labels": 3}});
        child(child(root(&mut v), "metadata"), "labels").insert("k".into(), json!("v"));
        assert_eq!(v["metadata"]["labels"]["k"], "v");
        assert_eq!(v["metadata"]["name"], "a");
    }
}
