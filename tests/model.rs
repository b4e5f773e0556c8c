//! The state-machine test on real files: random sequences of every operation — flush,
//! close-and-reopen and drop-and-reopen included — on every persistent binding in both
//! durability modes, through the same operation model and checker as the fuzz targets
//! (`src/check`). Every result must equal `InMemoryBackend`'s, and after every reopen the whole
//! persisted state must equal the model and `verify()` must be clean.

use crate::common;

use common::Kind;
use storebench::check::{Mix, Place, Scenario, check_binding};

#[test]
fn persisted_backends_agree_with_the_model_through_reopens() {
    let kinds = ["automerge", "redb"].map(Kind::named);
    common::random::for_random_bytes(128, 1024, |data| {
        // With faults on, `Crash` becomes drop-without-close in a directory (`FailIn` does
        // nothing).
        let Some(scenario) = Scenario::from_bytes(data, Mix::Operations) else {
            return Ok(());
        };
        let kind = &kinds[scenario.pick(kinds.len())];
        let dir = tempfile::tempdir().expect("temp dir");
        check_binding(kind.selected().binding(), &scenario, Place::Dir(dir.path()))
            .map_err(|d| format!("{} {:?}: {d}", kind.name(), scenario.durability))
    });
}

/// A fixed scenario per backend and mode, so each is certain to run whatever the random cases are.
#[test]
fn each_backend_and_mode_runs_a_full_cycle() {
    use storebench::Durability;
    use storebench::check::{CollectionName, CrashPoint, DocId, Op, Value};
    let crash = CrashPoint {
        keep: 0,
        keep_rest: false,
        tear: 0,
    };
    let v = |fill| Value { class: 4, fill };
    for kind in ["memory", "automerge", "redb"].map(Kind::named) {
        for durability in [Durability::OnFlush, Durability::EveryWrite] {
            let ops = vec![
                Op::Upsert(CollectionName(1), DocId(1), v(1)),
                Op::UpsertMany(
                    CollectionName(2),
                    storebench::check::Batch(vec![(DocId(2), v(2)), (DocId(2), v(3))]),
                ),
                Op::Flush,
                Op::Delete(CollectionName(1), DocId(1)),
                Op::Reopen,
                Op::Get(CollectionName(2), DocId(2)),
                Op::Crash(crash),
                Op::ScanPrefix(CollectionName(2), DocId(0)),
                Op::Count(CollectionName(4)),
                Op::ListCollections,
            ];
            let scenario = Scenario::new(durability, ops);
            let dir = tempfile::tempdir().expect("temp dir");
            check_binding(kind.selected().binding(), &scenario, Place::Dir(dir.path()))
                .unwrap_or_else(|d| panic!("{} {durability:?}: {d}", kind.name()));
        }
    }
}
