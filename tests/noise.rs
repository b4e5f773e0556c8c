//! `compare` does not cry wolf: runs of the same code and seed, made in turns as the README
//! says to, are never judged a regression. A test file of its own, so that no other test
//! competes for the CPU while it runs.

use crate::common;

use common::{storebench, succeeds};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const STEADY: &str = "recordcount = 200\noperationcount = 5000\nreadproportion = 0.5\n\
                      updateproportion = 0.5\nrequestdistribution = \"zipfian\"\n";

#[test]
fn identical_runs_made_in_turns_never_regress() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("steady.toml"), STEADY)?;
    for pair in 0..3 {
        let (a, b) = (format!("a{pair}"), format!("b{pair}"));
        for turn in 0..5 {
            // Each turn the other goes first, so that neither is always the second run.
            let order = if turn % 2 == 0 { [&a, &b] } else { [&b, &a] };
            for side in order {
                let out = format!("{side}/{turn}");
                let args = [
                    "run",
                    "steady.toml",
                    "--min-ops",
                    "0",
                    "--backend",
                    "memory,redb",
                    "--out",
                    &out,
                    "--quiet",
                ];
                succeeds(&args, dir.path())?;
            }
        }
        let out = storebench(&["compare", &a, &b], dir.path())?;
        let table = String::from_utf8(out.stdout)?;
        assert_eq!(out.status.code(), Some(0), "pair {pair}: {table}");
        assert!(
            table.contains("| 5/5 |"),
            "the turns pool into five runs a side: {table}"
        );
    }
    Ok(())
}
