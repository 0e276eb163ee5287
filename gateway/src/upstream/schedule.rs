//! Smooth weighted round robin (nginx's), unrolled into a schedule of slot indices so a pick
//! is one atomic increment: used across a route's destinations and across a target's
//! weighted endpoints (Nacos instance weights).

/// The most slots a schedule holds; larger weight sums are scaled down to about this.
pub const MAX_SLOTS: u64 = 10_000;

/// Indices into `weights` in smooth weighted round-robin order, `sum(weights) / gcd` slots
/// (30/70 gives B A B B A B B B A B, not 30 As then 70 Bs). Zero weights get no slot unless
/// every weight is zero; sums above [`MAX_SLOTS`] are scaled down, keeping every non-zero
/// weight at least one slot. Never empty.
pub fn smooth_schedule(weights: &[u32]) -> Vec<u16> {
    let g = weights.iter().copied().fold(0, gcd).max(1);
    let mut reduced: Vec<u64> = weights.iter().map(|w| u64::from(w / g)).collect();
    let sum: u64 = reduced.iter().sum();
    if sum > MAX_SLOTS {
        for w in reduced.iter_mut().filter(|w| **w > 0) {
            *w = (*w * MAX_SLOTS / sum).max(1);
        }
    }
    let weights: Vec<i64> = reduced.iter().map(|w| *w as i64).collect();
    let total: i64 = weights.iter().sum();
    let mut current = vec![0i64; weights.len()];
    let mut schedule = Vec::with_capacity(total.max(1) as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(&weights) {
            *c += w;
        }
        let (best, _) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
            .unwrap_or((0, &0));
        current[best] -= total;
        schedule.push(best as u16);
    }
    if schedule.is_empty() {
        schedule.push(0);
    }
    schedule
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_exact_and_interleaved() {
        let s = smooth_schedule(&[30, 70]);
        assert_eq!(s.len(), 10);
        assert_eq!(s.iter().filter(|i| **i == 0).count(), 3);
        assert_eq!(s, vec![1, 0, 1, 1, 0, 1, 1, 1, 0, 1]);
        assert_eq!(smooth_schedule(&[50, 50]), vec![0, 1]);
        assert_eq!(smooth_schedule(&[100]), vec![0]);
        assert_eq!(smooth_schedule(&[0, 5]), vec![1]);
        assert_eq!(smooth_schedule(&[]), vec![0]);
    }

    #[test]
    fn large_sums_are_scaled_and_keep_small_weights() {
        let s = smooth_schedule(&[1_000_000, 1, 999_999]);
        assert!(s.len() as u64 <= MAX_SLOTS + 3, "{} slots", s.len());
        assert!(s.contains(&1), "a tiny weight keeps one slot");
        let a = s.iter().filter(|i| **i == 0).count() as f64;
        let c = s.iter().filter(|i| **i == 2).count() as f64;
        assert!((a / c - 1.0).abs() < 0.01, "{a} vs {c}");
    }
}
