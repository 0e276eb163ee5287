//! Retry policy from `proxy-next-upstream*`: which failures and statuses are retried, how
//! many attempts in all, and the per-attempt timeout.

use std::time::Duration;

use config_store::annotations::Retry;

/// A compiled retry policy.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub attempts: u32,
    /// Per-attempt timeout.
    pub per_try_timeout: Option<Duration>,
    on_5xx: bool,
    statuses: Vec<u16>,
    non_idempotent: bool,
}

// === impl RetryPolicy ===

impl RetryPolicy {
    /// From the annotation.
    pub fn new(r: &Retry) -> Self {
        Self {
            attempts: r.attempts,
            per_try_timeout: r.per_try_timeout,
            on_5xx: r.on_5xx,
            statuses: r.statuses.clone(),
            non_idempotent: r.non_idempotent,
        }
    }

    /// True when a response with `status` should be retried.
    pub fn retries_status(&self, status: u16) -> bool {
        (self.on_5xx && (500..600).contains(&status)) || self.statuses.contains(&status)
    }

    /// True when connect errors and resets are retried.
    pub fn retries_errors(&self) -> bool {
        self.on_5xx
    }

    /// True when this method may be retried.
    pub fn allows_method(&self, method: &http::Method) -> bool {
        self.non_idempotent || method.is_idempotent()
    }
}
