//! [`AttemptLimiter`]: login attempts per client IP in a fixed window, so passwords cannot
//! be guessed at speed. The client IP is the TCP peer (forwarded headers are not trusted).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `max` attempts per IP per `window`.
#[derive(Debug)]
pub struct AttemptLimiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>,
}

// === impl AttemptLimiter ===

impl AttemptLimiter {
    /// A limiter allowing `max` attempts per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `ip`; `Err(wait)` when over the limit, with the time until
    /// the window ends.
    pub fn attempt(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut seen = match self.seen.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if seen.len() > 10_000 {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_ip_separately() {
        let l = AttemptLimiter::new(2, Duration::from_secs(60));
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        assert!(l.attempt(a).is_ok());
        assert!(l.attempt(a).is_ok());
        assert!(l.attempt(a).is_err());
        assert!(l.attempt(b).is_ok());
        let quick = AttemptLimiter::new(1, Duration::ZERO);
        assert!(quick.attempt(a).is_ok());
        assert!(quick.attempt(a).is_ok(), "a new window starts");
    }
}
