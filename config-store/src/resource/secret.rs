//! core `v1` Secret, with `data` decoded from base64 at parse time. Its values never appear
//! in a message: `Debug` hides them and decode errors name only the key.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ObjectMeta;

/// How every base64 error about a Secret's data starts (messages that keep their details
/// because they quote no value).
pub const BASE64_ERROR_PREFIX: &str = "not valid base64: data[";

/// A Secret. `data` holds decoded bytes; `stringData` entries are merged into it on read.
/// A null value reads as empty, as in Kubernetes.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(
        default,
        deserialize_with = "super::meta::string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub string_data: BTreeMap<String, String>,
}

impl fmt::Debug for Secret {
    /// Keys only: the values stay out of every log line and panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("metadata", &self.metadata)
            .field("secret_type", &self.secret_type)
            .field("data", &self.data.keys().collect::<Vec<_>>())
            .field("string_data", &self.string_data.keys().collect::<Vec<_>>())
            .finish()
    }
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
            .map_err(|e| {
                serde::de::Error::custom(format!("{BASE64_ERROR_PREFIX}{key:?}] {}", reason(&e)))
            })?;
        out.insert(key, bytes);
    }
    Ok(out)
}

/// What is wrong with a base64 value, without the offending byte.
fn reason(e: &base64::DecodeError) -> String {
    use base64::DecodeError as E;
    match e {
        E::InvalidByte(offset, _) => format!("has an invalid character at offset {offset}"),
        E::InvalidLength(len) => format!("has an invalid length ({len} symbols)"),
        E::InvalidLastSymbol(offset, _) => format!("has an invalid last symbol at offset {offset}"),
        E::InvalidPadding => "has invalid padding".to_string(),
    }
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
