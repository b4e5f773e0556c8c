//! The distributions a workload draws from: which key an operation touches
//! (YCSB's `requestdistribution`), how long a value is (`fieldlengthdistribution`) and how
//! long a scan is (`scanlengthdistribution`).

use serde::Serialize;

use super::keys::fnv64;
use super::rng::Rng;
use super::zipfian::Zipfian;

/// Which existing key an operation picks, among the `n` readable ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RequestDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key rank `k` with probability ∝ 1/k^constant; scrambled spreads the popular keys over
    /// the key space (YCSB's default) instead of the first ones.
    Zipfian {
        /// The skew (YCSB: 0.99).
        constant: f64,
        /// Hash ranks over the key space.
        scrambled: bool,
    },
    /// The most recently inserted keys are the most popular, zipfian by recency.
    Latest {
        /// The skew.
        constant: f64,
    },
    /// A hot set of keys takes a fixed share of operations; both sets are uniform inside.
    Hotspot {
        /// The share of keys that are hot.
        data_fraction: f64,
        /// The share of operations that go to hot keys.
        operation_fraction: f64,
    },
    /// Keys in order, wrapping around.
    Sequential,
    /// Recent keys favoured exponentially: `percentile`% of operations fall on the newest
    /// `frac` of the records.
    Exponential {
        /// YCSB's `exponential.percentile` (95).
        percentile: f64,
        /// YCSB's `exponential.frac` (0.8571428571).
        frac: f64,
    },
}

/// Draws of a key not inserted yet before a chooser falls back to a uniform key.
const MAX_REDRAWS: u32 = 64;

/// Draws key numbers for one worker.
#[derive(Debug, Clone)]
pub struct KeyChooser {
    distribution: RequestDistribution,
    zipfian: Option<Zipfian>,
    /// The fixed key count a scrambled zipfian hashes over, so that inserts do not move the
    /// popular keys (YCSB hashes over a fixed count too).
    scramble_space: u64,
    next_sequential: u64,
    /// Exponential rate, fixed by the record count at the start, as YCSB does.
    gamma: f64,
}

impl KeyChooser {
    /// A chooser for a key space that starts with `records` keys and is expected to grow to
    /// `expected` keys by inserts (`expected` only matters to a scrambled zipfian).
    pub fn new(distribution: &RequestDistribution, records: u64, expected: u64) -> Self {
        let scramble_space = expected.max(records).max(1);
        let zipfian = match distribution {
            RequestDistribution::Zipfian {
                constant,
                scrambled: true,
            } => Some(Zipfian::new(scramble_space, *constant)),
            RequestDistribution::Zipfian { constant, .. }
            | RequestDistribution::Latest { constant } => {
                Some(Zipfian::new(records.max(1), *constant))
            }
            _ => None,
        };
        let gamma = match distribution {
            RequestDistribution::Exponential { percentile, frac } => {
                -(1.0 - percentile / 100.0).ln() / (records.max(1) as f64 * frac)
            }
            _ => 0.0,
        };
        Self {
            distribution: distribution.clone(),
            zipfian,
            scramble_space,
            next_sequential: 0,
            gamma,
        }
    }

    /// A key number in `0..readable`; `readable` must be positive.
    pub fn choose(&mut self, rng: &mut Rng, readable: u64) -> u64 {
        match &self.distribution {
            RequestDistribution::Uniform => rng.below(readable),
            RequestDistribution::Zipfian {
                scrambled: false, ..
            } => Self::zipf(&mut self.zipfian, rng, readable),
            RequestDistribution::Zipfian {
                scrambled: true, ..
            } => {
                // Ranks hash over the fixed space; a key not inserted yet is drawn again.
                // Re-draws are bounded: the space is at most the expected final key count, so
                // most draws land below `readable` long before the bound.
                let space = self.scramble_space;
                for _ in 0..MAX_REDRAWS {
                    let key = fnv64(Self::zipf(&mut self.zipfian, rng, space)) % space;
                    if key < readable {
                        return key;
                    }
                }
                rng.below(readable)
            }
            RequestDistribution::Latest { .. } => {
                readable - 1 - Self::zipf(&mut self.zipfian, rng, readable)
            }
            RequestDistribution::Hotspot {
                data_fraction,
                operation_fraction,
            } => {
                let hot = ((readable as f64 * data_fraction) as u64).clamp(1, readable);
                if rng.unit() < *operation_fraction || hot == readable {
                    rng.below(hot)
                } else {
                    hot + rng.below(readable - hot)
                }
            }
            RequestDistribution::Sequential => {
                let n = self.next_sequential % readable;
                self.next_sequential = n + 1;
                n
            }
            RequestDistribution::Exponential { .. } => loop {
                // -ln(U)/gamma is exponential; 1 - unit() is in (0, 1], so ln is finite.
                let back = (-(1.0 - rng.unit()).ln() / self.gamma) as u64;
                if back < readable {
                    return readable - 1 - back;
                }
            },
        }
    }

    fn zipf(zipfian: &mut Option<Zipfian>, rng: &mut Rng, readable: u64) -> u64 {
        let u = rng.unit();
        zipfian.as_mut().map_or(0, |z| z.rank(readable, u))
    }
}

/// How long each value is (YCSB's `fieldlengthdistribution`, in bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FieldLength {
    /// Every value `bytes` long.
    Constant {
        /// The length.
        bytes: usize,
    },
    /// Uniform in `min..=max`.
    Uniform {
        /// The shortest.
        min: usize,
        /// The longest.
        max: usize,
    },
    /// Zipfian in `min..=max`, short values most frequent.
    Zipfian {
        /// The shortest.
        min: usize,
        /// The longest.
        max: usize,
    },
    /// Lengths drawn with the given weights.
    Histogram {
        /// `(bytes, weight)` pairs.
        buckets: Vec<(usize, f64)>,
    },
}

impl FieldLength {
    /// The longest value this distribution can draw.
    pub fn max(&self) -> usize {
        match self {
            FieldLength::Constant { bytes } => *bytes,
            FieldLength::Uniform { max, .. } | FieldLength::Zipfian { max, .. } => *max,
            FieldLength::Histogram { buckets } => buckets.iter().map(|b| b.0).max().unwrap_or(0),
        }
    }
}

/// Draws value lengths for one worker.
#[derive(Debug, Clone)]
pub struct LengthChooser {
    lengths: FieldLength,
    zipfian: Option<Zipfian>,
    total_weight: f64,
}

impl LengthChooser {
    /// A chooser for `lengths`.
    pub fn new(lengths: &FieldLength) -> Self {
        let zipfian = match lengths {
            FieldLength::Zipfian { min, max } => Some(Zipfian::new((max - min + 1) as u64, 0.99)),
            _ => None,
        };
        let total_weight = match lengths {
            FieldLength::Histogram { buckets } => buckets.iter().map(|b| b.1).sum(),
            _ => 0.0,
        };
        Self {
            lengths: lengths.clone(),
            zipfian,
            total_weight,
        }
    }

    /// A length in bytes.
    pub fn choose(&mut self, rng: &mut Rng) -> usize {
        match &self.lengths {
            FieldLength::Constant { bytes } => *bytes,
            FieldLength::Uniform { min, max } => min + rng.below((max - min + 1) as u64) as usize,
            FieldLength::Zipfian { min, max } => {
                let u = rng.unit();
                let span = (max - min + 1) as u64;
                min + self.zipfian.as_mut().map_or(0, |z| z.rank(span, u)) as usize
            }
            FieldLength::Histogram { buckets } => {
                let mut left = rng.unit() * self.total_weight;
                for &(bytes, weight) in buckets {
                    if left < weight {
                        return bytes;
                    }
                    left -= weight;
                }
                buckets.last().map_or(0, |b| b.0)
            }
        }
    }
}

/// How many documents a scan asks for (YCSB's `minscanlength`, `maxscanlength`,
/// `scanlengthdistribution`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanLength {
    /// The shortest scan.
    pub min: usize,
    /// The longest scan.
    pub max: usize,
    /// `uniform` or `zipfian` (short scans most frequent).
    pub zipfian: bool,
}

impl ScanLength {
    /// A chooser drawing scan lengths.
    pub fn chooser(&self) -> LengthChooser {
        LengthChooser::new(&if self.zipfian {
            FieldLength::Zipfian {
                min: self.min,
                max: self.max,
            }
        } else {
            FieldLength::Uniform {
                min: self.min,
                max: self.max,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAWS: usize = 200_000;

    fn histogram(distribution: RequestDistribution, keys: u64) -> Vec<usize> {
        let mut chooser = KeyChooser::new(&distribution, keys, keys);
        let mut rng = Rng::new(7, 0);
        let mut counts = vec![0; keys as usize];
        for _ in 0..DRAWS {
            counts[chooser.choose(&mut rng, keys) as usize] += 1;
        }
        counts
    }

    fn share(counts: &[usize]) -> f64 {
        counts.iter().sum::<usize>() as f64 / DRAWS as f64
    }

    #[test]
    fn uniform_spreads_evenly() {
        let counts = histogram(RequestDistribution::Uniform, 100);
        let expected = DRAWS as f64 / 100.0;
        for (key, &c) in counts.iter().enumerate() {
            // 2000 expected per key, sd ≈ 45: 10% is over four standard deviations.
            assert!(
                (c as f64 - expected).abs() < 0.1 * expected,
                "key {key}: {c}"
            );
        }
    }

    #[test]
    fn hotspot_sends_its_share_to_the_hot_set() {
        let counts = histogram(
            RequestDistribution::Hotspot {
                data_fraction: 0.2,
                operation_fraction: 0.8,
            },
            1000,
        );
        let hot = share(&counts[..200]);
        assert!((hot - 0.8).abs() < 0.01, "hot share {hot}");
    }

    #[test]
    fn unscrambled_zipfian_favours_low_ranks_and_scrambled_spreads_them() {
        let plain = histogram(
            RequestDistribution::Zipfian {
                constant: 0.99,
                scrambled: false,
            },
            1000,
        );
        let top = (0..1000).max_by_key(|&k| plain[k]).expect("keys");
        assert_eq!(top, 0, "rank 0 is the most popular");
        assert!(plain[0] > 5 * plain[10], "{} vs {}", plain[0], plain[10]);
        let scrambled = histogram(
            RequestDistribution::Zipfian {
                constant: 0.99,
                scrambled: true,
            },
            1000,
        );
        let mut sorted = scrambled.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        // Same skew (the most popular key has as many draws as rank 0), different place.
        assert!((sorted[0] as f64 / plain[0] as f64 - 1.0).abs() < 0.1);
        assert_ne!((0..1000).max_by_key(|&k| scrambled[k]), Some(0));
    }

    #[test]
    fn scrambled_hot_keys_stay_put_while_inserts_grow_the_key_space() {
        let zipf = RequestDistribution::Zipfian {
            constant: 0.99,
            scrambled: true,
        };
        let mut chooser = KeyChooser::new(&zipf, 1000, 2000);
        let mut rng = Rng::new(5, 0);
        let hottest = |chooser: &mut KeyChooser, rng: &mut Rng, readable: u64| {
            let mut counts = vec![0u32; readable as usize];
            for _ in 0..50_000 {
                counts[chooser.choose(rng, readable) as usize] += 1;
            }
            (0..readable)
                .max_by_key(|&k| counts[k as usize])
                .expect("keys")
        };
        let before = hottest(&mut chooser, &mut rng, 1000);
        let after = hottest(&mut chooser, &mut rng, 1500);
        assert_eq!(before, after, "inserts must not move the hottest key");
    }

    #[test]
    fn latest_favours_the_newest_keys() {
        let counts = histogram(RequestDistribution::Latest { constant: 0.99 }, 1000);
        assert!(
            counts[999] > counts[0] * 20,
            "{} vs {}",
            counts[999],
            counts[0]
        );
        assert!(share(&counts[900..]) > 0.6);
    }

    #[test]
    fn exponential_puts_its_percentile_in_the_newest_fraction() {
        let counts = histogram(
            RequestDistribution::Exponential {
                percentile: 95.0,
                frac: 0.8571428571,
            },
            1000,
        );
        // An exponential puts 95% of its mass within the newest 857 keys (by construction of
        // gamma); draws beyond the key space are re-drawn, so the share is 0.95 / P(X < 1000).
        let newest = share(&counts[1000 - 857..]);
        let expected = 0.95 / (1.0 - 0.05f64.powf(1000.0 / 857.142_857_1));
        assert!(
            (newest - expected).abs() < 0.005,
            "newest share {newest}, expected {expected}"
        );
    }

    #[test]
    fn sequential_walks_the_keys_in_order() {
        let mut chooser = KeyChooser::new(&RequestDistribution::Sequential, 3, 3);
        let mut rng = Rng::new(1, 0);
        let keys: Vec<u64> = (0..7).map(|_| chooser.choose(&mut rng, 3)).collect();
        assert_eq!(keys, [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn field_lengths_stay_in_range_and_follow_weights() {
        let mut rng = Rng::new(3, 0);
        let mut uniform = LengthChooser::new(&FieldLength::Uniform { min: 10, max: 20 });
        let mut zipf = LengthChooser::new(&FieldLength::Zipfian { min: 10, max: 1000 });
        let mut hist = LengthChooser::new(&FieldLength::Histogram {
            buckets: vec![(64, 3.0), (4096, 1.0)],
        });
        let mut big = 0;
        let mut short_zipf = 0;
        for _ in 0..DRAWS {
            assert!((10..=20).contains(&uniform.choose(&mut rng)));
            let z = zipf.choose(&mut rng);
            assert!((10..=1000).contains(&z));
            short_zipf += usize::from(z < 20);
            let h = hist.choose(&mut rng);
            assert!(h == 64 || h == 4096);
            big += usize::from(h == 4096);
        }
        let big_share = big as f64 / DRAWS as f64;
        assert!(
            (big_share - 0.25).abs() < 0.01,
            "4096-byte share {big_share}"
        );
        assert!(
            short_zipf as f64 / DRAWS as f64 > 0.3,
            "zipfian lengths favour short values"
        );
    }

    #[test]
    fn the_same_seed_draws_the_same_keys() {
        let draw = |seed| {
            let mut chooser = KeyChooser::new(
                &RequestDistribution::Zipfian {
                    constant: 0.99,
                    scrambled: true,
                },
                500,
                500,
            );
            let mut rng = Rng::new(seed, 2);
            (0..100)
                .map(|_| chooser.choose(&mut rng, 500))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(11), draw(11));
        assert_ne!(draw(11), draw(12));
    }
}
