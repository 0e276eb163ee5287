//! Value types shared by several annotation features.

use std::time::Duration;

use super::reader::Value;
use super::AnnotationError;

/// How a string (header, query value) is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringMatch {
    /// Equal.
    Exact(String),
    /// Starts with.
    Prefix(String),
    /// RE2-style regex, matched against the whole value (validated when parsed).
    Regex(String),
}

// === impl Value (typed readers) ===

impl Value<'_> {
    /// A non-negative integer.
    pub fn parse_u32(&self) -> Result<u32, AnnotationError> {
        self.value
            .parse()
            .map_err(|_| self.error(format!("expected a whole number, got {:?}", self.value)))
    }

    /// Whole seconds, as Higress's integer annotations give them.
    pub fn parse_seconds(&self) -> Result<Duration, AnnotationError> {
        self.parse_u32().map(|s| Duration::from_secs(u64::from(s)))
    }

    /// `on`/`off` (nginx style) or a Go boolean.
    pub fn parse_on_off(&self) -> Result<bool, AnnotationError> {
        match self.value.to_ascii_lowercase().as_str() {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => self.parse_bool(),
        }
    }

    /// Comma-separated list, items trimmed, empty items dropped.
    pub fn list(&self) -> Vec<String> {
        self.value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Validates a regex as the gateway will compile it (full match).
pub fn check_regex(value: &Value<'_>, pattern: &str) -> Result<(), AnnotationError> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map(|_| ())
        .map_err(|e| value.error(format!("invalid regex {pattern:?}: {e}")))
}

/// Parses `[namespace/]name`, dropping the namespace (standalone has one).
pub fn object_name(value: &Value<'_>) -> Result<String, AnnotationError> {
    let name = value.value.rsplit('/').next().unwrap_or("").trim();
    if name.is_empty() {
        return Err(value.error("expected [namespace/]name"));
    }
    Ok(name.to_string())
}
