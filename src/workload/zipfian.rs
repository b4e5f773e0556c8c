//! Zipfian ranks by the method of Gray et al., "Quickly generating billion-record synthetic
//! databases" (SIGMOD 1994), as YCSB's `ZipfianGenerator` uses: O(1) per draw once the zeta
//! constant of the item count is known, and the constant is extended, not recomputed, as the
//! item count grows with inserts.

/// Draws ranks in `0..items` where rank `k` has probability proportional to `1 / (k+1)^theta`.
#[derive(Debug, Clone)]
pub(crate) struct Zipfian {
    theta: f64,
    alpha: f64,
    zeta2: f64,
    items: u64,
    zetan: f64,
    eta: f64,
}

impl Zipfian {
    /// `theta` must be positive and not 1 (the workload validation guarantees it).
    pub(crate) fn new(items: u64, theta: f64) -> Self {
        let mut z = Self {
            theta,
            alpha: 1.0 / (1.0 - theta),
            zeta2: 1.0 + 0.5f64.powf(theta),
            items: 0,
            zetan: 0.0,
            eta: 0.0,
        };
        z.grow_to(items);
        z
    }

    /// Extends the distribution to `items` (never shrinks: inserted keys stay).
    fn grow_to(&mut self, items: u64) {
        if items <= self.items {
            return;
        }
        for i in self.items..items {
            self.zetan += 1.0 / ((i + 1) as f64).powf(self.theta);
        }
        self.items = items;
        self.eta =
            (1.0 - (2.0 / items as f64).powf(1.0 - self.theta)) / (1.0 - self.zeta2 / self.zetan);
    }

    /// A rank in `0..items` from a uniform `u` in `[0, 1)`. `items` must be at least 1.
    pub(crate) fn rank(&mut self, items: u64, u: f64) -> u64 {
        self.grow_to(items);
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < self.zeta2 {
            return 1.min(self.items - 1);
        }
        let rank = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        rank.min(self.items - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rank frequencies follow 1/k^theta within a few percent for the head of the distribution.
    #[test]
    fn rank_frequencies_follow_the_definition() {
        let (items, theta, draws) = (1000u64, 0.99, 400_000);
        let mut z = Zipfian::new(items, theta);
        let mut counts = vec![0u64; items as usize];
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..draws {
            // SplitMix64: a test-local uniform source independent of the crate's RNG.
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = state;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^= x >> 31;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            counts[z.rank(items, u) as usize] += 1;
        }
        let zeta = |k: u64| -> f64 { (1..=k).map(|i| 1.0 / (i as f64).powf(theta)).sum() };
        // Ranks 0 and 1 are drawn exactly; beyond them Gray's method approximates the inverse
        // CDF, so the check is on the cumulative share of the top k ranks.
        for k in [1u64, 2, 10, 100, 500] {
            let expected = zeta(k) / zeta(items);
            let got = counts[..k as usize].iter().sum::<u64>() as f64 / draws as f64;
            assert!(
                (got - expected).abs() / expected < 0.05,
                "top {k}: {got:.4}, expected {expected:.4}"
            );
        }
        // The head is heavy: the top 10% of ranks take most draws.
        let head: u64 = counts[..100].iter().sum();
        assert!(
            head as f64 / draws as f64 > 0.6,
            "top 100 ranks took {head} of {draws}"
        );
    }
}
