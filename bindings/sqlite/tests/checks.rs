//! SQLite through every check the harness has for a store it cannot put on its
//! fault-injecting disk, in one line: the model check with reopen and drop, the crash check by
//! process death in both durability modes, the concurrency check, the use-after-close check,
//! the file-damage check and the fuzz target's committed inputs; then a run of the runner.

use std::path::Path;

use storebench::Durability;
use storebench::binding::Selected;
use storebench::check::KnownDefect;
use storebench::runner::{NoProgress, run};
use storebench::workload::Workload;
use storebench_sqlite::SqliteBinding;

/// SQLite keeps no checksum of its pages: a flipped bit or a zeroed page inside a value reads
/// back as data, which no check of `PRAGMA integrity_check` sees. And it counts a file's pages
/// as its length over the page size, so a file cut shorter than one page (0 or 1 byte here)
/// after flushes succeeded opens as a new, empty database. Known, so
/// the file-damage check reports each once and goes on to every other damage, which must
/// still be refused.
const KNOWN: &[KnownDefect] = &[
    KnownDefect::new(
        "no page checksums: damage inside a page can read back as data",
        |d| {
            d.what.contains("silently wrong data")
                && (d.what.contains("FlipBit") || d.what.contains("ZeroPage"))
        },
    ),
    KnownDefect::new(
        "a file shorter than a page opens as a new, empty database",
        |d| d.what.contains("Truncate(") && d.what.contains("every flush lost"),
    ),
];

storebench::check::conformance!(
    SqliteBinding,
    known: KNOWN,
    fuzz_inputs: ["../../fuzz/seeds/sqlite", "../../fuzz/regressions/sqlite"],
);

#[test]
fn the_runner_measures_it_in_each_mode() -> Result<(), Box<dyn std::error::Error>> {
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
