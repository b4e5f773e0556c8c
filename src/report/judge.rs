//! The rule `compare` judges a metric by: each metric against its own run-to-run noise.
//!
//! With repeated runs on both sides (`storebench run --repeat N`, or runs made in turns), a
//! metric regressed when **every** new run is worse than **every** base run, and the medians
//! differ by more than the threshold **and** by more than the metric's own noise: the larger
//! of the two sides' spreads (range over median). If the runs of both sides came from one
//! distribution, all `n` new runs falling below all `m` base runs has probability
//! `1 / C(m + n, n)` (the extreme of a one-sided Mann–Whitney U test): 1/252 ≈ 0.4% at five
//! runs a side, the minimum this rule accepts. A comparison judges many metrics, so that
//! chance adds up; the change beyond the spread is the second condition, and on 20 pairs of
//! identical runs here it took the false alarms from 2 to none (reports/README.md). With
//! fewer runs a side the verdict is *insufficient data* — not a pass: `compare` exits 4 — unless
//! the change is *gross*: throughput or p50 apart by more than a factor of [`GROSS_FACTOR`], with
//! every new run worse (better) than every base run. No noise seen here comes near that (sets
//! of runs made one after the other differed by up to 40% on a shared machine,
//! reports/README.md), so a 3x drop is flagged on one run a side, and the verdict says it
//! rests on few runs. Tail percentiles get no such verdict: one run's p99 can double on a
//! neighbour's burst. A percentile whose runs hold fewer than ten samples above it (p99.9 of
//! 5,000 operations) is *too few samples*, never judged.

use serde::Serialize;

/// Runs a side needs before a verdict: `1 / C(10, 5)` ≈ 0.4% chance of a false alarm per
/// metric.
pub const MIN_RUNS: usize = 5;

/// The factor throughput or p50 must change by to be judged on fewer than [`MIN_RUNS`] runs a
/// side: more than twice the largest spread seen between sets of runs on a shared machine.
pub const GROSS_FACTOR: f64 = 2.0;

/// Samples above a percentile a run needs for that percentile to be estimated at all.
pub const MIN_SAMPLES_ABOVE: f64 = 10.0;

/// What a change amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every new run better than every base run, the medians apart by more than the threshold
    /// and the spread of the runs.
    Improved,
    /// Every new run worse than every base run, the medians apart by more than the threshold
    /// and the spread of the runs.
    Regressed,
    /// The runs overlap, or the medians differ by less than the threshold or the spread.
    WithinNoise,
    /// Fewer than [`MIN_RUNS`] runs on a side, but throughput or p50 worse by more than a
    /// factor of [`GROSS_FACTOR`] in every new run: beyond any plausible noise, judged on
    /// few runs.
    GrossRegression,
    /// As [`GrossRegression`](Self::GrossRegression), better.
    GrossImprovement,
    /// Fewer than [`MIN_RUNS`] runs on a side and no gross change: no verdict, which
    /// `compare` does not let pass for a success (exit 4).
    InsufficientData,
    /// A percentile of too few samples to estimate: no verdict.
    TooFewSamples,
}

impl Verdict {
    /// The verdict as `compare` prints it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::GrossRegression => "regressed (few runs, but beyond any noise)",
            Verdict::GrossImprovement => "improved (few runs, but beyond any noise)",
            Verdict::WithinNoise => "within noise",
            Verdict::InsufficientData => "insufficient data",
            Verdict::TooFewSamples => "too few samples",
        }
    }

    /// Whether this verdict fails a gate.
    pub fn gates(self) -> bool {
        matches!(self, Verdict::Regressed | Verdict::GrossRegression)
    }
}

/// One metric's runs on both sides.
#[derive(Debug, Clone)]
pub(crate) struct Runs<'a> {
    pub base: &'a [f64],
    pub new: &'a [f64],
    pub bigger_is_better: bool,
    /// For a percentile `q`: the fewest samples a run of either side had (operations per run).
    pub percentile: Option<(f64, u64)>,
}

/// The judgement of one metric.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    /// The medians of the base's and the new's runs.
    pub base: f64,
    pub new: f64,
    /// The change of the medians, in percent of the base's.
    pub change_pct: f64,
    /// The larger of the two sides' spreads (range over median), in percent: the noise shown.
    pub noise_pct: f64,
    /// The chance of runs this separated if nothing changed; `None` when the runs overlap.
    pub p_value: Option<f64>,
    pub verdict: Verdict,
}

pub(crate) fn judge(runs: &Runs<'_>, threshold_pct: f64) -> Judgement {
    let (base, new) = (median(runs.base), median(runs.new));
    let change_pct = if base > 0.0 {
        (new - base) / base * 100.0
    } else if new > 0.0 {
        100.0
    } else {
        0.0
    };
    let noise_pct = spread_pct(runs.base).max(spread_pct(runs.new));
    let better = |a: f64, b: f64| if runs.bigger_is_better { a > b } else { a < b };
    let all = |side: &[f64], other: &[f64], f: &dyn Fn(f64, f64) -> bool| {
        side.iter().all(|&x| other.iter().all(|&y| f(x, y)))
    };
    let improved = all(runs.new, runs.base, &better);
    let regressed = all(runs.base, runs.new, &better);
    let p_value = (improved || regressed)
        .then(|| 1.0 / binomial(runs.base.len() + runs.new.len(), runs.new.len()));
    let beyond = change_pct.abs() > threshold_pct && change_pct.abs() > noise_pct;
    let too_few_samples = runs
        .percentile
        .is_some_and(|(q, samples)| samples as f64 * (1.0 - q) < MIN_SAMPLES_ABOVE);
    // Throughput and the median only: a tail percentile of one run is too jumpy.
    let steady_metric = runs.percentile.is_none_or(|(q, _)| q <= 0.5);
    let gross = base > 0.0 && new > 0.0 && (new / base).max(base / new) > GROSS_FACTOR;
    let verdict = if runs.base.len() < MIN_RUNS || runs.new.len() < MIN_RUNS {
        match (
            steady_metric && gross && !too_few_samples,
            regressed,
            improved,
        ) {
            (true, true, _) => Verdict::GrossRegression,
            (true, _, true) => Verdict::GrossImprovement,
            _ => Verdict::InsufficientData,
        }
    } else if too_few_samples {
        Verdict::TooFewSamples
    } else if regressed && beyond {
        Verdict::Regressed
    } else if improved && beyond {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    };
    Judgement {
        base,
        new,
        change_pct,
        noise_pct,
        p_value,
        verdict,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The range of `values` relative to their median, in percent: the noise `compare` weighs a
/// change against, and the spread a page shows.
pub(crate) fn spread_pct(values: &[f64]) -> f64 {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let median = median(values);
    if values.is_empty() || median <= 0.0 {
        0.0
    } else {
        (max - min) / median * 100.0
    }
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throughput(base: &[f64], new: &[f64]) -> Judgement {
        let runs = Runs {
            base,
            new,
            bigger_is_better: true,
            percentile: None,
        };
        judge(&runs, 5.0)
    }

    #[test]
    fn separated_runs_beyond_the_threshold_regress() {
        let j = throughput(
            &[100.0, 101.0, 99.0, 102.0, 100.5],
            &[90.0, 91.0, 89.0, 92.0, 90.5],
        );
        assert_eq!(j.verdict, Verdict::Regressed);
        assert!((j.p_value.unwrap_or(1.0) - 1.0 / 252.0).abs() < 1e-12);
        let j = throughput(
            &[90.0, 91.0, 89.0, 92.0, 90.5],
            &[100.0, 101.0, 99.0, 102.0, 100.5],
        );
        assert_eq!(j.verdict, Verdict::Improved);
    }

    #[test]
    fn overlapping_runs_or_a_small_change_are_noise() {
        // One new run as good as a base run: the sides overlap.
        let j = throughput(
            &[100.0, 101.0, 99.0, 102.0, 100.5],
            &[90.0, 91.0, 99.5, 92.0, 90.5],
        );
        assert_eq!(j.verdict, Verdict::WithinNoise);
        assert_eq!(j.p_value, None);
        // Separated, but by 2%: under the threshold.
        let j = throughput(
            &[100.0, 100.1, 99.9, 100.2, 100.0],
            &[98.0, 98.1, 97.9, 98.2, 98.0],
        );
        assert_eq!(j.verdict, Verdict::WithinNoise);
        // Separated by 13%, beyond the threshold, but within the 20% the base's runs spread.
        let j = throughput(
            &[100.0, 90.0, 110.0, 105.0, 95.0],
            &[89.0, 85.0, 86.0, 87.0, 88.0],
        );
        assert!(j.p_value.is_some() && j.change_pct.abs() > 5.0);
        assert_eq!(j.verdict, Verdict::WithinNoise);
    }

    #[test]
    fn a_gross_change_is_judged_on_one_run_a_side_and_a_tail_is_not() {
        assert_eq!(
            throughput(&[300.0], &[100.0]).verdict,
            Verdict::GrossRegression
        );
        assert_eq!(
            throughput(&[100.0], &[300.0]).verdict,
            Verdict::GrossImprovement
        );
        assert!(Verdict::GrossRegression.gates());
        // 40% is as far as sets of runs drifted apart here: not judged on one run.
        assert_eq!(
            throughput(&[100.0], &[60.0]).verdict,
            Verdict::InsufficientData
        );
        // Overlapping runs are never gross, however far the medians.
        assert_eq!(
            throughput(&[300.0, 90.0], &[100.0, 95.0]).verdict,
            Verdict::InsufficientData
        );
        let tail = |q: f64| Runs {
            base: &[1000.0],
            new: &[5000.0],
            bigger_is_better: false,
            percentile: Some((q, 100_000)),
        };
        assert_eq!(judge(&tail(0.5), 5.0).verdict, Verdict::GrossRegression);
        assert_eq!(judge(&tail(0.99), 5.0).verdict, Verdict::InsufficientData);
    }

    #[test]
    fn few_runs_or_few_samples_give_no_verdict() {
        let j = throughput(&[100.0], &[60.0]);
        assert_eq!(j.verdict, Verdict::InsufficientData);
        assert!(
            (j.change_pct + 40.0).abs() < 1e-9,
            "the change is still shown"
        );
        let base = [1000.0, 1010.0, 990.0, 1005.0, 995.0];
        let new = [2000.0, 2010.0, 1990.0, 2005.0, 1995.0];
        let p999 = |samples| Runs {
            base: &base,
            new: &new,
            bigger_is_better: false,
            percentile: Some((0.999, samples)),
        };
        assert_eq!(judge(&p999(5_000), 5.0).verdict, Verdict::TooFewSamples);
        assert_eq!(judge(&p999(10_000), 5.0).verdict, Verdict::Regressed);
    }
}
