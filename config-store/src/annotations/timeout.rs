//! `higress.io/timeout`: whole-request timeout in seconds (0 or absent: none).

use std::time::Duration;

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Route timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl AnnotationGroup for Timeout {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let Some(v) = reader.get_higress("timeout") else {
            return Ok(None);
        };
        let d = v.parse_seconds()?;
        Ok((!d.is_zero()).then_some(Timeout(d)))
    }
}
