//! A store written outside this crate — `examples/own_backend`, against the public API only —
//! through every part of the harness: the runner and the CLI, the model check, the crash
//! check by process death and the concurrency check. Deliberately broken variants of it are
//! caught by the check that matches their flaw.

#[allow(dead_code)] // its `main` is the example's
#[path = "../examples/own_backend/main.rs"]
mod own_backend;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use own_backend::SnapshotBinding;
use storebench::binding::{Binding, Bindings, Handle, Selected};
use storebench::check::{
    CollectionName, Death, DocId, KnownDefect, Mix, Op, Place, Scenario, Value, check_binding,
    check_concurrency, check_crash, check_file_damage, check_use_after_close, conformance,
    crash_child, crash_scenario,
};
use storebench::runner::{NoProgress, Watched, run, run_watched};
use storebench::workload::Workload;
use storebench::{Collection, Document, DocumentPredicate, Durability, Result, StorageBackend};

// Every check on the sound store, in the one line a user writes.
mod snapshot {
    storebench::check::conformance!(super::SnapshotBinding);
}

const WORKLOAD: &str = "recordcount = 100\noperationcount = 500\nfieldlength = 32\n\
    readproportion = 0.4\nupdateproportion = 0.4\ninsertproportion = 0.1\n\
    scanproportion = 0.1\nrequestdistribution = \"uniform\"\n";

/// `storebench <args>` with `bindings`, in this process, as a user's own binary runs it.
fn cli(bindings: Bindings, args: &[&std::ffi::OsStr]) -> ExitCode {
    let program = std::ffi::OsStr::new("storebench");
    storebench::cli::main_from(
        bindings,
        std::iter::once(program).chain(args.iter().copied()),
    )
}

#[test]
fn the_runner_measures_a_store_bound_from_outside()
-> std::result::Result<(), Box<dyn std::error::Error>> {
    let workload =
        Workload::from_toml("tiny", WORKLOAD, Path::new("tiny.toml")).expect("a valid workload");
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = run(
        &workload,
        &Selected::new(SnapshotBinding).expect("a valid name"),
        dir.path(),
        &NoProgress,
    )?;
    assert_eq!(outcome.backend, "snapshot");
    assert_eq!(outcome.durability, Some(Durability::OnFlush));
    assert_eq!(outcome.run.operation_count(), 500);
    let failed: u64 = outcome
        .run
        .operations
        .values()
        .map(|h| h.failed.len())
        .sum();
    assert_eq!(failed, 0);
    assert!(
        outcome.file_bytes.is_some_and(|b| b > 0),
        "its file is measured"
    );
    Ok(())
}

/// The model check in a directory, random scenarios in both modes, and fixed ones.
#[test]
fn the_model_check_passes_a_sound_store() {
    for seed in 0..40 {
        let scenario = Scenario::from_seed(seed, 600, Mix::Operations);
        let dir = tempfile::tempdir().expect("temp dir");
        check_binding(&SnapshotBinding, &scenario, Place::Dir(dir.path()))
            .unwrap_or_else(|d| panic!("seed {seed}: {d}"));
    }
}

#[test]
fn crash_child_entry() {
    crash_child(&SnapshotBinding);
    crash_child(&Strict);
    crash_child(&Unopenable);
    crash_child(&Flawed::SkipFlush);
    crash_child(&Flawed::LateFlush);
}

fn child() -> Command {
    conformance::child(module_path!(), "crash_child_entry")
}

#[test]
fn the_crash_check_passes_a_sound_store() {
    for durability in [Durability::OnFlush, Durability::EveryWrite] {
        for seed in 0..4 {
            for death in [Death::Abort { step: 40 }, Death::Kill { after: 20 }] {
                check_crash(&Strict, seed, durability, death, child())
                    .unwrap_or_else(|d| panic!("{durability:?} seed {seed} {death:?}: {d}"));
            }
        }
    }
}

#[test]
fn the_concurrency_check_passes_a_sound_store() {
    for durability in [Durability::OnFlush, Durability::EveryWrite] {
        let dir = tempfile::tempdir().expect("temp dir");
        check_concurrency(&Strict, durability, dir.path())
            .unwrap_or_else(|d| panic!("{durability:?}: {d}"));
    }
}

/// The CLI with a user's bindings: the sound one's report is written even though another
/// fails to open and a third panics in every write; the command names them and exits 3.
#[test]
fn the_cli_runs_a_users_bindings_and_reports_each_failure_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tiny.toml"), WORKLOAD).expect("workload written");
    let mut bindings = Bindings::new();
    bindings.add(SnapshotBinding).expect("a free name");
    bindings.add(Unopenable).expect("a free name");
    bindings.add(Flawed::PanicOnUpsert).expect("a free name");
    assert!(
        bindings.add(SnapshotBinding).is_err(),
        "one name, one binding"
    );
    let out = dir.path().join("out");
    let workload = dir.path().join("tiny.toml");
    let code = cli(
        bindings,
        &[
            "run".as_ref(),
            "--min-ops".as_ref(),
            "0".as_ref(),
            workload.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    assert_eq!(code, ExitCode::from(3), "a failed run");
    let report = out.join("tiny/snapshot/report.json");
    assert!(report.exists(), "the sound binding's report is written");
    let panicking: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("tiny/panicking/report.json")).expect("its report is written"),
    )
    .expect("JSON");
    let update = panicking["operations"]
        .as_array()
        .and_then(|ops| ops.iter().find(|op| op["operation"] == "update"))
        .expect("updates ran");
    assert_eq!(update["count"], 0);
    assert!(
        update["first_error"]
            .as_str()
            .is_some_and(|e| e.contains("panicked: this store cannot write")),
        "{update}"
    );
    assert!(
        panicking["load"]["errors"].as_u64() > Some(0),
        "the failed load is counted: {}",
        panicking["load"]
    );
    assert!(!out.join("tiny/unopenable").exists());
}

/// The tiny workload with deletes, which the hanging store never answers.
const WITH_DELETES: &str = "recordcount = 100\noperationcount = 500\nfieldlength = 32\n\
    readproportion = 0.5\ndeleteproportion = 0.5\nrequestdistribution = \"uniform\"\n";

/// A store that stops answering mid-run fails that run, and the backend after it still runs.
#[test]
fn the_cli_gives_up_on_a_store_that_hangs_and_runs_the_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workload = dir.path().join("deletes.toml");
    std::fs::write(&workload, WITH_DELETES).expect("workload written");
    let mut bindings = Bindings::new();
    bindings.add(Flawed::HangOnDelete).expect("a free name");
    bindings.add(SnapshotBinding).expect("a free name");
    let out = dir.path().join("out");
    let code = cli(
        bindings,
        &[
            "run".as_ref(),
            "--min-ops".as_ref(),
            "0".as_ref(),
            "--hang-after".as_ref(),
            "3s".as_ref(),
            "--backend".as_ref(),
            "hangs-on-delete,snapshot".as_ref(),
            workload.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    assert_eq!(code, ExitCode::from(3), "a failed run");
    assert!(out.join("deletes/snapshot/report.json").exists());
    assert!(!out.join("deletes/hangs-on-delete/report.json").exists());
}

/// The watched run says where the store stopped answering: the phase, and how far it got.
#[test]
fn a_watched_run_names_the_phase_a_store_hangs_in() {
    let workload = Workload::from_toml("deletes", WITH_DELETES, Path::new("deletes.toml"))
        .expect("a valid workload");
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = Selected::new(Flawed::HangOnDelete).expect("a valid name");
    let limit = Duration::from_secs(1);
    let watched = run_watched(
        &workload,
        &backend,
        dir.path(),
        &NoProgress,
        None,
        None,
        Some(limit),
    );
    let Watched::Hung(hang) = watched else {
        panic!("not reported as hung: {watched:?}");
    };
    assert_eq!(hang.step, "in the run phase");
    assert_eq!(hang.total, Some(500));
    assert_eq!(hang.silent_for, limit);
    assert_eq!(
        hang.to_string(),
        "the store hangs: no progress in 1.0 s, in the run phase (0 of 500 operations done)"
    );
    let sound = Selected::new(SnapshotBinding).expect("a valid name");
    let patient = Some(Duration::from_secs(60));
    let watched = run_watched(
        &workload,
        &sound,
        dir.path(),
        &NoProgress,
        None,
        None,
        patient,
    );
    assert!(
        matches!(&watched, Watched::Finished(Ok(outcome)) if outcome.backend == "snapshot"),
        "{watched:?}"
    );
}

/// With `--repeat`, the backends take turns (A B, B A, A B), and each report records that
/// order; each names what its own store is built on, not the crates this one locks.
#[test]
fn repeated_runs_take_turns_and_each_store_says_what_it_is_built_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workload = dir.path().join("tiny.toml");
    std::fs::write(&workload, WORKLOAD).expect("workload written");
    let mut bindings = Bindings::new();
    bindings.add(SnapshotBinding).expect("a free name");
    bindings.add(Described).expect("a free name");
    let out = dir.path().join("out");
    let code = cli(
        bindings,
        &[
            "run".as_ref(),
            "--min-ops".as_ref(),
            "0".as_ref(),
            "--repeat".as_ref(),
            "3".as_ref(),
            "--backend".as_ref(),
            "snapshot,described".as_ref(),
            workload.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let report = |backend: &str| -> serde_json::Value {
        let path = out.join("tiny").join(backend).join("report.json");
        serde_json::from_slice(&std::fs::read(path).expect("written")).expect("JSON")
    };
    let turns = serde_json::json!([
        "snapshot",
        "described",
        "described",
        "snapshot",
        "snapshot",
        "described"
    ]);
    for backend in ["snapshot", "described"] {
        let report = report(backend);
        assert_eq!(report["repeat"]["turns"], turns, "{backend}");
        assert_eq!(report["repeat"]["runs"], 3, "{backend}");
        let crates = report["crates"].as_object().expect("an object");
        assert!(crates.contains_key("storebench"), "{crates:?}");
        assert!(
            !crates.contains_key("redb") && !crates.contains_key("automerge"),
            "a store built on neither: {crates:?}"
        );
    }
    assert_eq!(
        report("snapshot")["backend"]["versions"],
        serde_json::json!({})
    );
    assert_eq!(
        report("described")["backend"]["versions"],
        serde_json::json!({"snapshot-store": "2.1.0", "libfile": "0.9.3"})
    );
}

/// A real slowdown, a sleep in the write path of an otherwise equal store, is flagged by
/// `compare` (exit 1) from runs of the old and the new store made in turns.
#[test]
fn compare_flags_a_slowdown_in_the_write_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workload = dir.path().join("tiny.toml");
    std::fs::write(&workload, WORKLOAD).expect("workload written");
    for turn in 0..5 {
        // Each goes first in every other turn, as reports/README.md says to run them.
        let order = if turn % 2 == 0 {
            [("base", false), ("new", true)]
        } else {
            [("new", true), ("base", false)]
        };
        for (side, slow) in order {
            let mut bindings = Bindings::new();
            let added = if slow {
                bindings.add(Flawed::SlowWrites).map(|_| ())
            } else {
                bindings.add(SnapshotBinding).map(|_| ())
            };
            added.expect("a free name");
            let out = dir.path().join(side).join(turn.to_string());
            let args = [
                "run".as_ref(),
                "--min-ops".as_ref(),
                "0".as_ref(),
                workload.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
                "--quiet".as_ref(),
            ];
            assert_eq!(cli(bindings, &args), ExitCode::SUCCESS);
        }
    }
    let (base, new) = (dir.path().join("base"), dir.path().join("new"));
    let code = cli(
        Bindings::new(),
        &["compare".as_ref(), base.as_os_str(), new.as_os_str()],
    );
    assert_eq!(code, ExitCode::from(1), "the slower writes regress");
}

/// A store that keeps every collection in one map under `<collection>:<id>`: the flaw of
/// prefix-keyed designs, which the model check finds.
#[test]
fn the_model_check_catches_collections_sharing_a_key_prefix() {
    let ops = vec![
        Op::Upsert(CollectionName(2), DocId(4), Value { class: 1, fill: 1 }), // "a:b" / "b"
        Op::Scan(CollectionName(1)),                                          // "a"
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let sound = check_binding(
        &SnapshotBinding,
        &Scenario::new(Durability::OnFlush, ops.clone()),
        Place::Dir(dir.path()),
    );
    assert!(sound.is_ok(), "{sound:?}");
    let dir = tempfile::tempdir().expect("temp dir");
    let found = check_binding(
        &Flawed::PrefixKeys,
        &Scenario::new(Durability::OnFlush, ops),
        Place::Dir(dir.path()),
    )
    .expect_err("collection a sees a document of collection a:b");
    assert!(found.what.contains("model"), "{found}");
}

/// A store whose flush does nothing until close: the crash check by process death finds the
/// flushed writes missing.
#[test]
fn the_crash_check_catches_a_flush_that_does_nothing() {
    let deaths = (1..=6).map(|n| Death::Abort { step: n * 10 });
    let caught = deaths
        .flat_map(|death| (0..4).map(move |seed| (seed, death)))
        .find(|&(seed, death)| {
            check_crash(
                &Flawed::SkipFlush,
                seed,
                Durability::OnFlush,
                death,
                child(),
            )
            .is_err()
        });
    assert!(caught.is_some(), "no seed showed the lost flush");
    // The sound store passes the same scenario.
    if let Some((seed, death)) = caught {
        check_crash(&SnapshotBinding, seed, Durability::OnFlush, death, child())
            .unwrap_or_else(|d| panic!("the sound store, seed {seed} {death:?}: {d}"));
    }
}

/// The steps of seed 0's crash scenario that flush after an upsert: where a flush that lands
/// late shows.
fn flushes_after_upserts() -> Vec<usize> {
    let mut written = false;
    let mut steps = Vec::new();
    for (step, op) in crash_scenario(0).ops.iter().enumerate() {
        match op {
            Op::Upsert(..) | Op::UpsertMany(..) => written = true,
            Op::Flush | Op::Compact | Op::Reopen => {
                if written && *op != Op::Reopen {
                    steps.push(step);
                }
                written = false;
            }
            _ => {}
        }
    }
    assert!(!steps.is_empty(), "seed 0 never flushes after an upsert");
    steps
}

/// A store whose flush returns at once and lands only when the next operation begins. Killed
/// after acknowledging such a flush, while the next operation waits to land it, it comes back
/// without the flush: the check by kill must not mistake that state for the one the
/// operation in flight may leave.
#[test]
fn the_crash_check_by_kill_catches_a_flush_that_lands_late() {
    let caught = flushes_after_upserts().into_iter().find(|&flush| {
        let after = flush + 1;
        check_crash(
            &Flawed::LateFlush,
            0,
            Durability::OnFlush,
            Death::Kill { after },
            child(),
        )
        .is_err()
    });
    assert!(caught.is_some(), "no kill showed the late flush");
}

/// A user's one-line fuzz target (`fuzz_binding`) finds a flush that does nothing, and passes
/// the sound store on the same input.
#[test]
fn fuzz_binding_finds_a_flush_that_does_nothing() {
    let mut rng = storebench::workload::Rng::new(0x5eed, 0);
    let found = (0..64).find_map(|_| {
        let data: Vec<u8> = (0..512).map(|_| rng.next_u64() as u8).collect();
        let caught = storebench::check::fuzz_binding(&Flawed::SkipFlush, &data);
        caught.err().map(|found| (data, found))
    });
    let (data, found) = found.expect("no input showed the lost flush");
    assert!(found.what.starts_with("lazy-flush: "), "{found}");
    storebench::check::fuzz_binding(&Strict, &data).expect("the sound store passes");
}

/// A child whose store fails an operation is reported at that step, in the store's words.
#[test]
fn the_crash_check_reports_what_failed_in_the_child() {
    let found = check_crash(
        &Unopenable,
        0,
        Durability::OnFlush,
        Death::Kill { after: 5 },
        child(),
    )
    .expect_err("the child cannot open the store");
    assert_eq!(found.step, 0);
    assert_eq!(
        found.what,
        "an operation failed in the child with no fault injected: \
         0 open: the `unopenable` store failed: no such device"
    );
}

/// The sound store refuses every damaged copy of its file or reads it whole (its file ends
/// with a checksum); one that indexes its header without looking at the file's length
/// panics on a truncated file, and the check reports the panic instead of dying of it.
#[test]
fn the_file_damage_check_catches_a_store_that_panics_on_a_truncated_file() {
    for seed in 0..2 {
        let damaged = check_file_damage(Arc::new(SnapshotBinding), seed, &[])
            .unwrap_or_else(|d| panic!("the sound store, seed {seed}: {d}"));
        assert_eq!(damaged.files, [Path::new("snapshot.bin")]);
        assert!(damaged.cases >= 15, "{damaged:?}");
        assert_eq!(damaged.refused + damaged.intact, damaged.cases);
        assert!(damaged.refused > 0, "{damaged:?}");
    }
    let found = check_file_damage(Arc::new(Flawed::PanicOnTruncation), 0, &[])
        .expect_err("a truncated file makes it panic");
    assert!(found.what.contains("snapshot.bin with Truncate"), "{found}");
    assert!(found.what.contains("the store panicked"), "{found}");
}

/// A store that panics inside an operation fails the model check at that operation, with the
/// panic's message, instead of taking the check down with it.
#[test]
fn the_model_check_names_the_operation_a_store_panics_in() {
    let found =
        conformance::model(Arc::new(Flawed::PanicOnUpsert), &[]).expect_err("every upsert panics");
    assert!(
        found.what.ends_with("a panic: this store cannot write"),
        "{found}"
    );
    assert!(
        matches!(found.op, Some(Op::Upsert(..) | Op::UpsertMany(..))),
        "{found}"
    );
}

/// The model check in a child with a deadline of half a second, when started as one by
/// [`the_model_check_names_the_operation_a_store_hangs_in`].
#[test]
fn model_check_of_a_hanging_store() {
    if std::env::var_os("STOREBENCH_TEST_HANG").is_some() {
        let found = conformance::model(Arc::new(Flawed::HangOnDelete), &[])
            .expect_err("its first delete never returns");
        eprintln!("found: {found}");
    }
}

/// A store whose delete never returns fails the model check at that delete, once no answer
/// came within the deadline (`STOREBENCH_CHECK_DEADLINE`), and the check returns.
#[test]
fn the_model_check_names_the_operation_a_store_hangs_in() {
    let ended = conformance::child(module_path!(), "model_check_of_a_hanging_store")
        .env("STOREBENCH_TEST_HANG", "1")
        .env("STOREBENCH_CHECK_DEADLINE", "0.5")
        .output()
        .expect("the test binary starts");
    let printed = String::from_utf8_lossy(&ended.stderr);
    assert!(ended.status.success(), "{printed}");
    let found = printed
        .lines()
        .find(|l| l.starts_with("found: "))
        .unwrap_or_else(|| panic!("no finding: {printed}"));
    assert!(found.contains("(Some(Delete"), "{found}");
    assert!(
        found.contains("seed 0: no answer in 0.5 s: the store hangs"),
        "{found}"
    );
}

/// A collection handle kept past `close()` is refused by the sound store; a store whose
/// close does nothing goes on serving it, and the check names the first operation that did.
#[test]
fn the_use_after_close_check_catches_a_close_that_does_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let excused =
        check_use_after_close(&SnapshotBinding, dir.path(), &[]).expect("the sound store closes");
    assert_eq!(excused, []);
    let dir = tempfile::tempdir().expect("temp dir");
    let found = check_use_after_close(&Flawed::NoopClose, dir.path(), &[])
        .expect_err("its handles outlive close()");
    assert_eq!(
        found.what,
        "upsert after close() succeeded: the store was not closed (or its collection handles \
         outlive it)"
    );
}

/// A defect listed as known is reported once, with how often it was met, and the check goes
/// on past it: the store that panics on a truncated file, with that panic known, still has
/// its bit flips and zeroed pages checked, and a flaw the list does not name still fails.
#[test]
fn known_defects_are_reported_once_and_gone_past() {
    const PANICS: &[KnownDefect] = &[KnownDefect::new(
        "reads its header without checking the file's length",
        |d| d.what.contains("the store panicked"),
    )];
    let damaged = check_file_damage(Arc::new(Flawed::PanicOnTruncation), 0, PANICS)
        .expect("every other damage is refused");
    let [excused] = damaged.excused.as_slice() else {
        panic!("one defect met: {:?}", damaged.excused);
    };
    assert_eq!(
        excused.defect,
        "reads its header without checking the file's length"
    );
    assert!(excused.first.contains("Truncate(0)"), "{excused}");
    assert_eq!(excused.times, 2, "cut to 0 and 1 byte: {excused}");
    assert!(damaged.refused > 10, "{damaged:?}");

    let dir = tempfile::tempdir().expect("temp dir");
    const NOOP_CLOSE: &[KnownDefect] = &[KnownDefect::new("close does nothing", |d| {
        d.what.contains("after close() succeeded")
    })];
    let excused = check_use_after_close(&Flawed::NoopClose, dir.path(), NOOP_CLOSE)
        .expect("the one flaw is known");
    assert_eq!(excused.len(), 1, "{excused:?}");
    assert_eq!(excused[0].times, 9, "every operation: {}", excused[0]);
    // Known defects of one kind excuse nothing else.
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(check_use_after_close(&Flawed::NoopClose, dir.path(), PANICS).is_err());
}

/// Asked for a durability mode the binding does not offer, the crash and concurrency checks
/// refuse instead of checking another mode and passing.
#[test]
fn a_check_asked_for_a_mode_the_store_lacks_refuses() {
    let refused = check_crash(
        &Flawed::SkipFlush,
        0,
        Durability::EveryWrite,
        Death::Abort { step: 3 },
        child(),
    )
    .expect_err("the store offers OnFlush only");
    let expected = "the `lazy-flush` binding does not offer every-write durability (it offers \
                    on-flush); ask the check for a mode it offers";
    assert_eq!(refused.what, expected);
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = check_concurrency(&Flawed::SkipFlush, Durability::EveryWrite, dir.path())
        .expect_err("the store offers OnFlush only");
    assert_eq!(refused.what, expected);
}

/// A child that never reaches `crash_child` is reported with the end of what it wrote to
/// stderr (its last 600 bytes), which says why.
#[cfg(unix)]
#[test]
fn a_child_that_does_not_run_the_scenario_is_reported_with_its_stderr() {
    let mut not_a_child = Command::new("sh");
    not_a_child.args(["-c", "printf 'x%0699d' 0 >&2"]);
    let found = check_crash(
        &Strict,
        0,
        Durability::OnFlush,
        Death::Abort { step: 3 },
        not_a_child,
    )
    .expect_err("the child exits at once");
    assert_eq!(
        found.what,
        format!(
            "the child did not run the scenario and die (exit status: 0); does its entry call \
             crash_child? Its stderr: {}",
            "0".repeat(600)
        )
    );
}

/// The sound store, opened only in a mode it offers, as [`Binding::open`] promises: a check
/// that hands it another mode, or none, fails at the open instead of passing with a default.
struct Strict;

impl Binding for Strict {
    fn name(&self) -> &str {
        "strict-snapshot"
    }
    fn durabilities(&self) -> &[Durability] {
        SnapshotBinding.durabilities()
    }
    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        match durability {
            Some(mode) if self.durabilities().contains(&mode) => {
                SnapshotBinding.open(dir, durability)
            }
            other => Err(storebench::Error::backend(
                "strict-snapshot",
                format!("opened with {other:?}, which it does not offer"),
            )),
        }
    }
}

/// The sound store, saying what it is built on.
struct Described;

impl Binding for Described {
    fn name(&self) -> &str {
        "described"
    }
    fn durabilities(&self) -> &[Durability] {
        SnapshotBinding.durabilities()
    }
    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        SnapshotBinding.open(dir, durability)
    }
    fn versions(&self) -> storebench::binding::Versions {
        [("snapshot-store", "2.1.0"), ("libfile", "0.9.3")]
            .map(|(name, version)| (name.to_owned(), version.to_owned()))
            .into()
    }
}

/// Fails to open.
struct Unopenable;

impl Binding for Unopenable {
    fn name(&self) -> &str {
        "unopenable"
    }
    fn durabilities(&self) -> &[Durability] {
        &[]
    }
    fn open(&self, _: &Path, _: Option<Durability>) -> Result<Handle> {
        Err(storebench::Error::backend("unopenable", "no such device"))
    }
}

/// The sound store with one flaw planted.
#[derive(Clone, Copy, PartialEq)]
enum Flawed {
    /// Every write but delete panics.
    PanicOnUpsert,
    /// Every write but delete sleeps first: the sound store made slower, under its name.
    SlowWrites,
    /// Flush does nothing (close still writes).
    SkipFlush,
    /// Every collection kept in one, under prefixed ids.
    PrefixKeys,
    /// Flush returns at once and lands when the next call on the store begins.
    LateFlush,
    /// Open reads the file's first eight bytes without looking at its length first.
    PanicOnTruncation,
    /// Close returns at once, leaving the store open behind every collection handle.
    NoopClose,
    /// Delete never returns.
    HangOnDelete,
}

impl Binding for Flawed {
    fn name(&self) -> &str {
        match self {
            Flawed::PanicOnUpsert => "panicking",
            // A slower build of the same store, as `compare` would meet it.
            Flawed::SlowWrites => "snapshot",
            Flawed::SkipFlush => "lazy-flush",
            Flawed::PrefixKeys => "prefix-keyed",
            Flawed::LateFlush => "late-flush",
            Flawed::PanicOnTruncation => "panics-on-truncation",
            Flawed::NoopClose => "noop-close",
            Flawed::HangOnDelete => "hangs-on-delete",
        }
    }
    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush]
    }
    fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
        if *self == Flawed::PanicOnTruncation
            && let Ok(file) = std::fs::read(dir.join("snapshot.bin"))
        {
            let header: [u8; 8] = file[..8].try_into().expect("eight bytes");
            let _collections = u64::from_le_bytes(header);
        }
        Ok(Handle::new(Broken {
            inner: SnapshotBinding.open(dir, durability)?,
            flaw: *self,
            names: Mutex::default(),
            unflushed: AtomicBool::new(false),
        }))
    }
}

struct Broken {
    inner: Handle,
    flaw: Flawed,
    /// PrefixKeys: the collection names handed out, since the one real collection cannot
    /// list them.
    names: Mutex<Vec<String>>,
    /// LateFlush: a flush acknowledged and not yet done.
    unflushed: AtomicBool,
}

impl Broken {
    /// LateFlush: the flush acknowledged last lands now, after a pause long enough for a
    /// kill that follows its acknowledgement to land first.
    fn land_late_flush(&self) {
        if self.unflushed.swap(false, Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(200));
            self.inner
                .flush()
                .expect("the sound store flushes in a temporary dir");
        }
    }
}

impl StorageBackend for Broken {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        self.land_late_flush();
        match self.flaw {
            Flawed::PrefixKeys => {
                let mut names = self.names.lock().expect("not poisoned");
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                    names.sort();
                }
                Arc::new(Prefixed {
                    name: name.to_owned(),
                    all: self.inner.collection("all"),
                })
            }
            Flawed::PanicOnUpsert | Flawed::SlowWrites | Flawed::HangOnDelete => Arc::new(Writes {
                inner: self.inner.collection(name),
                flaw: self.flaw,
            }),
            Flawed::SkipFlush
            | Flawed::LateFlush
            | Flawed::PanicOnTruncation
            | Flawed::NoopClose => self.inner.collection(name),
        }
    }
    fn list_collections(&self) -> Vec<String> {
        self.land_late_flush();
        match self.flaw {
            Flawed::PrefixKeys => self.names.lock().expect("not poisoned").clone(),
            _ => self.inner.list_collections(),
        }
    }
    fn flush(&self) -> Result<()> {
        match self.flaw {
            Flawed::SkipFlush => Ok(()),
            Flawed::LateFlush => {
                self.land_late_flush();
                self.unflushed.store(true, Ordering::SeqCst);
                Ok(())
            }
            _ => self.inner.flush(),
        }
    }
    fn close(self) -> Result<()> {
        match self.flaw {
            // Flushed, as a close must, but left open.
            Flawed::NoopClose => self.inner.flush(),
            _ => self.inner.close(),
        }
    }
}

/// The sound collection with its writes flawed: panicking, slowed or hanging.
struct Writes {
    inner: Arc<dyn Collection>,
    flaw: Flawed,
}

impl Writes {
    fn write(&self) {
        match self.flaw {
            Flawed::PanicOnUpsert => panic!("this store cannot write"),
            Flawed::SlowWrites => std::thread::sleep(std::time::Duration::from_micros(300)),
            _ => {}
        }
    }
}

struct Prefixed {
    name: String,
    all: Arc<dyn Collection>,
}

impl Prefixed {
    fn key(&self, id: &str) -> String {
        format!("{}:{id}", self.name)
    }
    fn mine(&self, docs: Vec<Document>) -> Vec<Document> {
        let prefix = self.key("");
        docs.into_iter()
            .filter_map(|(id, v)| Some((id.strip_prefix(&prefix)?.to_owned(), v)))
            .collect()
    }
}

/// `impl Collection for $ty`: `name` from `self.$inner`, and the methods given.
macro_rules! collection {
    ($ty:ty, $inner:tt, { $($method:item)* }) => {
        impl Collection for $ty {
            fn name(&self) -> &str { self.$inner.name() }
            $($method)*
        }
    };
}

collection!(Writes, inner, {
    fn upsert(&self, id: &str, v: Vec<u8>) -> Result<()> {
        self.write();
        self.inner.upsert(id, v)
    }
    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.write();
        self.inner.upsert_many(docs)
    }
    fn get(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(id)
    }
    fn delete(&self, id: &str) -> Result<()> {
        if self.flaw == Flawed::HangOnDelete {
            // A hang for good: park can wake spuriously, so it loops.
            loop {
                std::thread::park();
            }
        }
        self.inner.delete(id)
    }
    fn scan(&self) -> Result<Vec<Document>> {
        self.inner.scan()
    }
    fn scan_prefix(&self, p: &str) -> Result<Vec<Document>> {
        self.inner.scan_prefix(p)
    }
    fn scan_range(&self, s: &str, l: usize) -> Result<Vec<Document>> {
        self.inner.scan_range(s, l)
    }
    fn find(&self, p: DocumentPredicate) -> Result<Vec<Document>> {
        self.inner.find(p)
    }
    fn count(&self) -> Result<usize> {
        self.inner.count()
    }
});

collection!(Prefixed, all, {
    fn upsert(&self, id: &str, v: Vec<u8>) -> Result<()> {
        self.all.upsert(&self.key(id), v)
    }
    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.all
            .upsert_many(docs.into_iter().map(|(id, v)| (self.key(&id), v)).collect())
    }
    fn get(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.all.get(&self.key(id))
    }
    fn delete(&self, id: &str) -> Result<()> {
        self.all.delete(&self.key(id))
    }
    fn scan(&self) -> Result<Vec<Document>> {
        Ok(self.mine(self.all.scan_prefix(&self.key(""))?))
    }
    fn scan_prefix(&self, p: &str) -> Result<Vec<Document>> {
        Ok(self.mine(self.all.scan_prefix(&self.key(p))?))
    }
    fn scan_range(&self, s: &str, l: usize) -> Result<Vec<Document>> {
        let mut docs = self.mine(self.all.scan_range(&self.key(s), usize::MAX)?);
        docs.truncate(l);
        Ok(docs)
    }
    fn find(&self, p: DocumentPredicate) -> Result<Vec<Document>> {
        Ok(self.mine(self.all.find(p)?))
    }
    fn count(&self) -> Result<usize> {
        Ok(self.scan()?.len())
    }
});
