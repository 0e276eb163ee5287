//! Fallback: `default-backend` (`[ns/]name` of a Service, its first port) serves the route
//! when its upstream is unavailable, and, with `custom-http-errors` (comma-separated
//! statuses), when the upstream answers one of those (the fallback sees path `/`).

use super::value::object_name;
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Fallback settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// Service name.
    pub service: String,
    /// Upstream statuses that switch to the fallback.
    pub on_status: Vec<u16>,
}

impl AnnotationGroup for Fallback {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let errors = reader.get("custom-http-errors");
        let Some(backend) = reader.get("default-backend") else {
            return match errors {
                Some(e) => Err(e.error("custom-http-errors needs default-backend")),
                None => Ok(None),
            };
        };
        let service = object_name(&backend)?;
        let on_status = errors
            .map(|e| {
                e.list()
                    .iter()
                    .map(|s| {
                        s.parse::<u16>()
                            .ok()
                            .filter(|c| (100..=599).contains(c))
                            .ok_or_else(|| e.error(format!("{s:?} is not an HTTP status")))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Some(Fallback { service, on_status }))
    }
}
