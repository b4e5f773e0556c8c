//! The seeded random source of each worker thread.

use rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A fast, seedable generator: the same seed gives the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    /// The generator of worker `stream` for run seed `seed`: streams never overlap in practice.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..stream {
            rng.jump();
        }
        Self(rng)
    }

    /// A uniform 64-bit number.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform number in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift: unbiased enough for benchmarking (bias < n / 2^64).
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}
