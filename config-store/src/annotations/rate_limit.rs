//! Local rate limit (`higress.io/` only): `route-limit-rpm` (wins) or `route-limit-rps`, with
//! `route-limit-burst-multiplier` (default 5). A token bucket per route per gateway; 429.

use std::time::Duration;

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Token bucket settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per interval.
    pub tokens_per_fill: u32,
    /// Refill interval (1 s for rps, 60 s for rpm).
    pub fill_interval: Duration,
    /// Bucket size = tokens × burst multiplier.
    pub max_tokens: u32,
}

impl AnnotationGroup for RateLimit {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let (value, interval) = match (
            reader.get_higress("route-limit-rpm"),
            reader.get_higress("route-limit-rps"),
        ) {
            (Some(v), _) => (v, Duration::from_secs(60)),
            (None, Some(v)) => (v, Duration::from_secs(1)),
            (None, None) => return Ok(None),
        };
        let tokens = value.parse_u32()?;
        if tokens == 0 {
            return Err(value.error("must be greater than 0"));
        }
        let multiplier = match reader.get_higress("route-limit-burst-multiplier") {
            Some(m) => m.parse_u32()?.max(1),
            None => 5,
        };
        Ok(Some(RateLimit {
            tokens_per_fill: tokens,
            fill_interval: interval,
            max_tokens: tokens.saturating_mul(multiplier),
        }))
    }
}
