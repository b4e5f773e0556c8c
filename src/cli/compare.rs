//! `storebench compare`.

use crate::report::{
    Verdict, action_benchmark_json, compare as compare_reports, comparison_table, load_reports,
};

use super::args::CompareArgs;
use super::{EXIT_FAILURE, Failure};

pub(crate) fn compare(args: &CompareArgs) -> Result<(), Failure> {
    if !(args.threshold >= 0.0 && args.threshold.is_finite()) {
        return Err(Failure::bad_input(format!(
            "--threshold must be a percentage of 0 or more, not {}",
            args.threshold
        )));
    }
    let base = load_reports(&args.base).map_err(Failure::bad_input)?;
    let new = load_reports(&args.new).map_err(Failure::bad_input)?;
    let changes = compare_reports(&base, &new, args.threshold);
    if changes.is_empty() {
        return Err(Failure::bad_input(
            "no workload and backend appears in both sets of reports",
        ));
    }
    match args.format.as_str() {
        "bigger-is-better" => println!("{:#}", action_benchmark_json(&changes, true)),
        "smaller-is-better" | "json" => println!("{:#}", action_benchmark_json(&changes, false)),
        _ => print!("{}", comparison_table(&changes, args.threshold)),
    }
    let regressed = changes
        .iter()
        .filter(|c| c.verdict == Verdict::Regressed)
        .count();
    if regressed > 0 {
        return Err(Failure {
            code: EXIT_FAILURE,
            message: format!("{regressed} metric(s) regressed beyond {}%", args.threshold),
        });
    }
    Ok(())
}
