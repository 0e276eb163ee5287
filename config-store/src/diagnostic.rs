//! Diagnostics: one problem in the configuration, naming where it is (file, resource, field).

use std::fmt;

use serde::Serialize;

use crate::kind::ResourceKind;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The resource (or file) was rejected; its last good version stays in force.
    Error,
    /// The resource applies, but something in it is ignored or suspicious.
    Warning,
}

/// One problem found while reading or validating configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the resource came from: a path relative to the store root, or a Nacos dataId.
    pub source: String,
    /// The resource, when known: its kind and name.
    pub resource: Option<(ResourceKind, String)>,
    /// The field path inside the resource (`spec.rules[0].host`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

// === impl Diagnostic ===

impl Diagnostic {
    /// An error about a whole source (unreadable file, YAML syntax).
    pub fn source_error(source: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            source: source.into(),
            resource: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets the resource this diagnostic is about.
    pub fn with_resource(mut self, kind: ResourceKind, name: impl Into<String>) -> Self {
        self.resource = Some((kind, name.into()));
        self
    }

    /// Sets the field path.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Downgrades to a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.source)?;
        if let Some((kind, name)) = &self.resource {
            write!(f, ": {kind} {name}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        // One line per diagnostic, even when a cause (e.g. a regex error) spans several.
        let mut parts = self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty());
        write!(f, ": {}", parts.next().unwrap_or(""))?;
        for part in parts {
            write!(f, " {part}")?;
        }
        Ok(())
    }
}
