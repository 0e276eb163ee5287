//! `ignore-path-case`: exact and prefix path matches ignore ASCII case.

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Set when `ignore-path-case` is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnorePathCase;

impl AnnotationGroup for IgnorePathCase {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        Ok(reader
            .bool("ignore-path-case")?
            .filter(|on| *on)
            .map(|_| IgnorePathCase))
    }
}
