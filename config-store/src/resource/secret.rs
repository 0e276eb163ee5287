//! core `v1` Secret, with `data` decoded from base64 at parse time.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ObjectMeta;

/// A Secret. `data` holds decoded bytes; `stringData` entries are merged into it on read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Secret type, e.g. `kubernetes.io/tls` or `Opaque`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// Decoded values by key.
    #[serde(
        default,
        deserialize_with = "deserialize_base64_map",
        serialize_with = "serialize_base64_map"
    )]
    pub data: BTreeMap<String, Vec<u8>>,
    /// Plain-text values by key (write-only in Kubernetes; merged into `data`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
}

// === impl Secret ===

impl Secret {
    /// The value of `key`, from `stringData` first, then `data`.
    pub fn value(&self, key: &str) -> Option<&[u8]> {
        self.string_data
            .get(key)
            .map(|s| s.as_bytes())
            .or_else(|| self.data.get(key).map(Vec::as_slice))
    }
}

fn deserialize_base64_map<'de, D>(de: D) -> Result<BTreeMap<String, Vec<u8>>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Option<String>>> = Option::deserialize(de)?;
    let mut out = BTreeMap::new();
    for (key, value) in raw.unwrap_or_default() {
        let value = value.unwrap_or_default();
        // Kubernetes tolerates line breaks inside base64 data.
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("data.{key}: invalid base64: {e}")))?;
        out.insert(key, bytes);
    }
    Ok(out)
}

fn serialize_base64_map<S>(map: &BTreeMap<String, Vec<u8>>, ser: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
{
    let encoded: BTreeMap<&str, String> = map
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                base64::engine::general_purpose::STANDARD.encode(v),
            )
        })
        .collect();
    encoded.serialize(ser)
}
