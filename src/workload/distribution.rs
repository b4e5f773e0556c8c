//! The length distributions a workload draws from: how long a field is
//! (`fieldlengthdistribution`) and how long a scan is (`scanlengthdistribution`).

use serde::Serialize;

use super::rng::Rng;
use super::zipfian::Zipfian;

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
    /// The shortest value this distribution can draw.
    pub fn min(&self) -> usize {
        match self {
            FieldLength::Constant { bytes } => *bytes,
            FieldLength::Uniform { min, .. } | FieldLength::Zipfian { min, .. } => *min,
            FieldLength::Histogram { buckets } => buckets
                .iter()
                .filter(|b| b.1 > 0.0)
                .map(|b| b.0)
                .min()
                .unwrap_or(0),
        }
    }

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
pub(crate) struct LengthChooser {
    lengths: FieldLength,
    zipfian: Option<Zipfian>,
    total_weight: f64,
}

impl LengthChooser {
    /// A chooser for `lengths`.
    pub(crate) fn new(lengths: &FieldLength) -> Self {
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
    pub(crate) fn choose(&mut self, rng: &mut Rng) -> usize {
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
    pub(crate) fn chooser(&self) -> LengthChooser {
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
}
