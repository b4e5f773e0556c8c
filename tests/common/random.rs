//! Random inputs for the property tests: byte strings the operation model decodes, as the fuzz
//! targets receive them.
//!
//! The inputs are drawn from a fixed seed, so `cargo test` checks the same cases on every
//! machine and a failure reproduces; `STOREBENCH_TEST_SEED=<n>` explores other cases. A failing
//! input is printed whole: save it under `fuzz/regressions/<target>/` and every later test run
//! replays it; `cargo fuzz tmin` shrinks it.

use storebench::workload::Rng;

/// Runs `property` on `cases` byte strings of uniformly random length below `max_len`, and
/// panics with the first input it rejects.
pub fn for_random_bytes(
    cases: u64,
    max_len: usize,
    mut property: impl FnMut(&[u8]) -> Result<(), String>,
) {
    let seed: u64 = std::env::var("STOREBENCH_TEST_SEED")
        .ok()
        .map(|s| s.parse().expect("STOREBENCH_TEST_SEED is a number"))
        .unwrap_or(0x5eed);
    for case in 0..cases {
        // `Rng` seeds through SplitMix64: neighbouring seeds give unrelated streams.
        let mut rng = Rng::new(seed.wrapping_add(case), 0);
        let len = rng.below(max_len as u64) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if let Err(failure) = property(&data) {
            panic!(
                "case {case} of seed {seed} fails: {failure}\n\
                 input ({len} bytes; save it under fuzz/regressions/ to replay it): {data:?}"
            );
        }
    }
}
