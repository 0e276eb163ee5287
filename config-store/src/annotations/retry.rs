//! Retries: `proxy-next-upstream-tries` (default 3), `proxy-next-upstream-timeout` (per try,
//! seconds), `proxy-next-upstream` (nginx conditions: `error`, `timeout`, `invalid_header`
//! → 5xx; `http_NNN` → that status; `non_idempotent`; `off`).

use std::time::Duration;

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Total attempts, including the first (0 or 1: no retry).
    pub attempts: u32,
    /// Timeout of each attempt.
    pub per_try_timeout: Option<Duration>,
    /// Retry on connect errors, resets and 5xx responses.
    pub on_5xx: bool,
    /// Retry these response statuses.
    pub statuses: Vec<u16>,
    /// Retry non-idempotent methods too.
    pub non_idempotent: bool,
}

impl AnnotationGroup for Retry {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let tries = reader.get("proxy-next-upstream-tries");
        let timeout = reader.get("proxy-next-upstream-timeout");
        let cond = reader.get("proxy-next-upstream");
        if tries.is_none() && timeout.is_none() && cond.is_none() {
            return Ok(None);
        }
        let mut retry = Retry {
            attempts: tries.map(|t| t.parse_u32()).transpose()?.unwrap_or(3),
            per_try_timeout: timeout
                .map(|t| t.parse_seconds())
                .transpose()?
                .filter(|d| !d.is_zero()),
            on_5xx: true,
            statuses: Vec::new(),
            non_idempotent: false,
        };
        if let Some(c) = cond {
            retry.on_5xx = false;
            for token in c
                .value
                .split([',', ' '])
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                match token {
                    "off" => retry.attempts = 0,
                    "error" | "timeout" | "invalid_header" => retry.on_5xx = true,
                    "non_idempotent" => retry.non_idempotent = true,
                    t if t.starts_with("http_") => {
                        let code = t[5..]
                            .parse::<u16>()
                            .ok()
                            .filter(|c| (100..=599).contains(c))
                            .ok_or_else(|| c.error(format!("{t:?} is not http_<status>")))?;
                        retry.statuses.push(code);
                    }
                    other => {
                        return Err(c.error(format!(
                            "unknown condition {other:?} (expected error, timeout, invalid_header, http_NNN, non_idempotent or off)"
                        )))
                    }
                }
            }
        }
        Ok(Some(retry))
    }
}
