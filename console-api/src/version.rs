//! [`Version`]: the `version` field of console objects, the MD5 of the stored content that
//! holds the resource. Sent back on update for optimistic locking: a stale one is 409; empty,
//! `null`, or `0` (the UI sends the number 0 on some creates) means unconditional.

use config_store::Precondition;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A client-sent `version`: `None` means "write whatever is there".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version(pub Option<String>);

// === impl Version ===

impl Version {
    /// The precondition for replacing a resource whose current version is `current`:
    /// `Version(current)` either way, after checking the client's version matches.
    pub fn check(&self, current: &str) -> Result<Precondition, String> {
        match &self.0 {
            Some(v) if v != current => Err(format!(
                "version {v} is stale (current version: {current}); reload and retry"
            )),
            _ => Ok(Precondition::Version(current.to_string())),
        }
    }
}

impl Version {
    /// The version of a stored document.
    pub fn of(version: &str) -> Self {
        Self(Some(version.to_string()))
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(de)?;
        let text = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a string or number, got {other}"
                )))
            }
        };
        Ok(Version(text.filter(|t| !t.is_empty() && t != "0")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_empty_and_null_are_unconditional() {
        for raw in ["0", "\"0\"", "\"\"", "null"] {
            let v: Version = serde_json::from_str(raw).unwrap();
            assert_eq!(v, Version(None), "{raw}");
        }
        let v: Version = serde_json::from_str("\"abc\"").unwrap();
        assert!(v.check("abc").is_ok());
        assert!(v.check("def").unwrap_err().contains("stale"));
        assert!(serde_json::from_str::<Version>("[1]").is_err());
    }
}
