//! Polling with a deadline instead of fixed sleeps: retry a check with a short
//! backoff until it passes or the deadline runs out.

use std::future::Future;
use std::time::{Duration, Instant};

/// The generous default deadline for things that should happen "soon" (process
/// start, first route served). Timing requirements use their own, tighter bound.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// First pause between two attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(2);
/// Longest pause between two attempts, which bounds the measurement error of
/// [`try_eventually`].
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// Runs `check` until it returns `Ok`, and returns its value.
///
/// Panics when `deadline` passes, with the last error `check` gave.
pub async fn eventually<T, F, Fut>(deadline: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    match try_eventually(deadline, check).await {
        Ok((value, _)) => value,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `check` until it returns `Ok`; returns its value and how long it took
/// from the call until that `Ok` came back.
///
/// Gives `Err` when `deadline` passes, naming the number of attempts and the
/// last error. `check` is always run at least once, even past the deadline.
pub async fn try_eventually<T, F, Fut>(
    deadline: Duration,
    mut check: F,
) -> Result<(T, Duration), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let last = match check().await {
            Ok(value) => return Ok((value, start.elapsed())),
            Err(e) => e,
        };
        if start.elapsed() >= deadline {
            return Err(format!(
                "not true after {:?} ({attempts} attempts); last error: {last}",
                start.elapsed()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
