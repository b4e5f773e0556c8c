//! SQLite through every check the harness has for a store it cannot put on its
//! fault-injecting disk: the model check with reopen and drop, the crash check by process
//! death in both durability modes, the concurrency check, and a run of the runner.

use std::path::Path;
use std::process::Command;

use storebench::Durability;
use storebench::binding::Selected;
use storebench::check::{
    Death, Mix, Place, Scenario, check_binding, check_concurrency, check_crash, crash_child,
};
use storebench::runner::{NoProgress, run};
use storebench::workload::Workload;
use storebench_sqlite::SqliteBinding;

const MODES: [Durability; 2] = [Durability::OnFlush, Durability::EveryWrite];

#[test]
fn agrees_with_the_model_through_reopens_and_drops() {
    for seed in 0..48 {
        // Seeds alternate the mode through the scenario's own durability byte.
        let scenario = Scenario::from_seed(seed, 800, Mix::Operations);
        let dir = tempfile::tempdir().expect("temp dir");
        check_binding(&SqliteBinding, &scenario, Place::Dir(dir.path()))
            .unwrap_or_else(|d| panic!("seed {seed} {:?}: {d}", scenario.durability));
    }
}

#[test]
fn crash_child_entry() {
    crash_child(&SqliteBinding);
}

#[test]
fn keeps_exactly_what_its_mode_promises_when_the_process_dies() {
    for durability in MODES {
        for seed in 0..6u64 {
            let death = if seed % 2 == 0 {
                Death::Abort {
                    step: 8 + 9 * seed as usize,
                }
            } else {
                Death::Kill {
                    after: 4 + 9 * seed as usize,
                }
            };
            let mut child = Command::new(std::env::current_exe().expect("the test binary"));
            child.args([
                "--exact",
                "crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ]);
            check_crash(&SqliteBinding, seed, durability, death, child)
                .unwrap_or_else(|d| panic!("{durability:?} seed {seed} {death:?}: {d}"));
        }
    }
}

#[test]
fn concurrent_writers_lose_no_update() {
    for durability in MODES {
        let dir = tempfile::tempdir().expect("temp dir");
        check_concurrency(&SqliteBinding, durability, dir.path())
            .unwrap_or_else(|d| panic!("{durability:?}: {d}"));
    }
}

#[test]
fn the_runner_measures_it_in_each_mode() -> storebench::Result<()> {
    let text = "recordcount = 200\noperationcount = 1000\nfieldlength = 64\nthreadcount = 2\n\
                readproportion = 0.5\nupdateproportion = 0.3\nscanproportion = 0.1\n\
                insertproportion = 0.1\n";
    let workload = Workload::from_toml("tiny", text, Path::new("tiny.toml")).expect("valid");
    let dir = tempfile::tempdir().expect("temp dir");
    let bindings = {
        let mut b = storebench::binding::Bindings::new();
        b.add(SqliteBinding).expect("a free name");
        b
    };
    for (name, durability) in [
        ("sqlite", Durability::OnFlush),
        ("sqlite-durable", Durability::EveryWrite),
    ] {
        let selected: Selected = bindings.select(name).expect("registered");
        let outcome = run(&workload, &selected, dir.path(), &NoProgress)?;
        assert_eq!(outcome.durability, Some(durability));
        assert_eq!(outcome.run.operation_count(), 1000);
        let failed: u64 = outcome
            .run
            .operations
            .values()
            .map(|h| h.failed.len())
            .sum();
        assert_eq!(failed, 0, "{name}");
        assert!(outcome.file_bytes.is_some_and(|b| b > 0));
        assert_eq!(outcome.settings["journal_mode"], "wal");
        assert_eq!(outcome.settings["synchronous"], "FULL");
        assert_eq!(outcome.versions["sqlite"], rusqlite::version());
        assert_eq!(
            outcome.versions["storebench-sqlite"],
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(())
}

/// Every committed seed and regression input of the `sqlite` fuzz target, as the fuzzer runs
/// it (a divergence panics).
#[test]
fn the_fuzz_targets_inputs_replay() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["seeds/sqlite", "regressions/sqlite"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) else {
            panic!("{dir} is missing");
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let data = std::fs::read(entry.path()).expect("readable input");
            storebench::check::fuzz_binding(&SqliteBinding, &data)
                .unwrap_or_else(|d| panic!("{}: {d}", entry.path().display()));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no committed input");
}
