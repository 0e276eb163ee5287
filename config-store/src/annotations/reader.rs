//! Reads annotation values with Higress's key lookup and value normalisation.

use std::collections::BTreeMap;
use std::fmt;

/// `nginx.ingress.kubernetes.io/`: read first for keys both prefixes accept.
pub const NGINX_PREFIX: &str = "nginx.ingress.kubernetes.io/";
/// `higress.io/`: Higress's own prefix.
pub const HIGRESS_PREFIX: &str = "higress.io/";

/// A bad annotation value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {key}: {message}")]
pub struct AnnotationError {
    /// The full key, with prefix.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A view over an Ingress's annotations.
#[derive(Debug, Clone, Copy)]
pub struct AnnotationReader<'a> {
    map: &'a BTreeMap<String, String>,
}

/// A present annotation: its full key and normalised value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<'a> {
    /// The full key, with prefix.
    pub key: &'a str,
    /// The value, each line trimmed, lines re-joined with `\n`. Never empty.
    pub value: String,
}

// === impl AnnotationReader ===

impl<'a> AnnotationReader<'a> {
    /// Wraps an annotation map.
    pub fn new(map: &'a BTreeMap<String, String>) -> Self {
        Self { map }
    }

    /// `<key>` under the nginx prefix, else under the Higress prefix.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.lookup(NGINX_PREFIX, key)
            .or_else(|| self.lookup(HIGRESS_PREFIX, key))
    }

    /// `<key>` under the Higress prefix only.
    pub fn get_higress(&self, key: &str) -> Option<Value<'a>> {
        self.lookup(HIGRESS_PREFIX, key)
    }

    /// A boolean read with [`Self::get`], in Go's `strconv.ParseBool` syntax.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, AnnotationError> {
        self.get(key).map(|v| v.parse_bool()).transpose()
    }

    /// A boolean read with [`Self::get_higress`].
    pub fn bool_higress(&self, key: &str) -> Result<Option<bool>, AnnotationError> {
        self.get_higress(key).map(|v| v.parse_bool()).transpose()
    }

    /// Every annotation under `prefix`: `(key without prefix, value)`, values normalised,
    /// empty ones skipped.
    pub fn under(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, Value<'a>)> + 'a {
        self.map.iter().filter_map(move |(k, raw)| {
            let short = k.strip_prefix(prefix)?;
            let value = normalize(raw);
            (!value.is_empty()).then_some((short, Value { key: k, value }))
        })
    }

    fn lookup(&self, prefix: &str, key: &str) -> Option<Value<'a>> {
        let (full, raw) = self
            .map
            .iter()
            .find(|(k, _)| k.strip_prefix(prefix) == Some(key))?;
        let value = normalize(raw);
        (!value.is_empty()).then_some(Value { key: full, value })
    }
}

/// Trims each line and drops blank ones, as Higress does before parsing a value.
fn normalize(raw: &str) -> String {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

// === impl Value ===

impl Value<'_> {
    /// An error about this annotation.
    pub fn error(&self, message: impl fmt::Display) -> AnnotationError {
        AnnotationError {
            key: self.key.to_string(),
            message: message.to_string(),
        }
    }

    /// Parses the value as a Go-style boolean (`1`, `t`, `true`, `0`, `f`, `false`, any case
    /// of `TRUE`/`True`).
    pub fn parse_bool(&self) -> Result<bool, AnnotationError> {
        match self.value.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            other => Err(self.error(format!("expected true or false, got {other:?}"))),
        }
    }
}
