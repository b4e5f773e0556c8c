//! `storebench compare`.

use crate::report::{
    Located, Verdict, action_benchmark_json, compare as compare_reports, comparison_page,
    comparison_table, failed_runs, incomparable, load_readable, unpaired,
};

use super::args::CompareArgs;
use super::{EXIT_FAILURE, EXIT_NOT_JUDGED, EXIT_REGRESSION, Failure};

pub(crate) fn compare(args: &CompareArgs) -> Result<(), Failure> {
    if !(args.threshold >= 0.0 && args.threshold.is_finite()) {
        return Err(Failure::bad_input(format!(
            "--threshold must be a percentage of 0 or more, not {}",
            args.threshold
        )));
    }
    // A gate reads every report or judges nothing: one skipped could hide a regression.
    let strict = |dir: &std::path::Path| -> Result<Vec<Located>, Failure> {
        let (readable, unreadable) = load_readable(dir).map_err(Failure::bad_input)?;
        match unreadable.into_iter().next() {
            Some(error) => Err(Failure::bad_input(error)),
            None => Ok(readable),
        }
    };
    let (base_located, new_located) = (strict(&args.base)?, strict(&args.new)?);
    let reports = |set: &[Located]| set.iter().map(|l| l.report.clone()).collect::<Vec<_>>();
    let (base, new) = (reports(&base_located), reports(&new_located));
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
    if let Some(path) = &args.html {
        let page = comparison_page(
            (&args.base, &base_located),
            (&args.new, &new_located),
            &changes,
            args.threshold,
        )
        .map_err(Failure::failed)?;
        std::fs::write(path, page)
            .map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("storebench: the comparison's page is {}", path.display());
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
    let count = |verdicts: &[Verdict]| {
        changes
            .iter()
            .filter(|c| verdicts.contains(&c.verdict))
            .count()
    };
    let gross = count(&[Verdict::GrossRegression]);
    if gross > 0 {
        eprintln!(
            "storebench: {gross} metric(s) regressed by more than {}x on fewer than {} runs a \
             side: far beyond any noise seen, so judged even so; confirm with five runs a side",
            crate::report::GROSS_FACTOR,
            crate::report::MIN_RUNS
        );
    }
    let regressed = count(&[Verdict::Regressed, Verdict::GrossRegression]);
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
    // Not judged is not passed: a gate fed one run a side would otherwise be green for ever.
    let unjudged = count(&[Verdict::InsufficientData]);
    if unjudged > 0 {
        return Err(Failure {
            code: EXIT_NOT_JUDGED,
            message: format!(
                "{unjudged} metric(s) not judged: fewer than {} runs a side and no change beyond \
                 {}x; make the runs of both builds in turns, five each (reports/README.md). \
                 Exit {EXIT_NOT_JUDGED}: nothing regressed that could be seen, nothing passed",
                crate::report::MIN_RUNS,
                crate::report::GROSS_FACTOR,
            ),
        });
    }
    Ok(())
}
