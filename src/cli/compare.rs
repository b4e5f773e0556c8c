//! `storebench compare`.

use crate::report::{
    Verdict, action_benchmark_json, compare as compare_reports, comparison_table, failed_runs,
    incomparable, load_reports, unpaired,
};

use super::args::CompareArgs;
use super::{EXIT_FAILURE, EXIT_REGRESSION, Failure};

pub(crate) fn compare(args: &CompareArgs) -> Result<(), Failure> {
    if !(args.threshold >= 0.0 && args.threshold.is_finite()) {
        return Err(Failure::bad_input(format!(
            "--threshold must be a percentage of 0 or more, not {}",
            args.threshold
        )));
    }
    let base = load_reports(&args.base).map_err(Failure::bad_input)?;
    let new = load_reports(&args.new).map_err(Failure::bad_input)?;
    let (only_base, only_new) = unpaired(&base, &new);
    for (side, subjects) in [("base", &only_base), ("new", &only_new)] {
        if !subjects.is_empty() {
            eprintln!(
                "storebench: not compared, only in {side}: {}",
                subjects.join(", ")
            );
        }
    }
    let differing = incomparable(&base, &new);
    if !differing.is_empty() && !args.allow_incomparable {
        let listed: Vec<String> = differing
            .iter()
            .map(|(subject, what)| format!("{subject}: {}", what.join("; ")))
            .collect();
        return Err(Failure::bad_input(format!(
            "these runs were not made the same way, so their numbers do not compare \
             (--allow-incomparable to compare them anyway):\n  {}",
            listed.join("\n  ")
        )));
    }
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
    let failed: Vec<String> = failed_runs(&base)
        .into_iter()
        .map(|s| format!("base {s}"))
        .chain(failed_runs(&new).into_iter().map(|s| format!("new {s}")))
        .collect();
    if !failed.is_empty() {
        return Err(Failure {
            code: EXIT_FAILURE,
            message: format!(
                "runs with failed operations, whose numbers mean little: {}",
                failed.join(", ")
            ),
        });
    }
    let count = |verdict| changes.iter().filter(|c| c.verdict == verdict).count();
    let unjudged = count(Verdict::InsufficientData);
    if unjudged > 0 {
        eprintln!(
            "storebench: {unjudged} metric(s) not judged: fewer than {} runs a side; make the \
             runs of both builds in turns, five each (reports/README.md)",
            crate::report::MIN_RUNS
        );
    }
    let regressed = count(Verdict::Regressed);
    if regressed > 0 {
        return Err(Failure {
            code: EXIT_REGRESSION,
            message: format!(
                "{regressed} metric(s) regressed: every new run worse than every base run, \
                 the medians apart by more than {}% and the runs' spread",
                args.threshold
            ),
        });
    }
    Ok(())
}
