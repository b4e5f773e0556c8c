//! The fuzzing model inside `cargo test`: random scenarios through the checker (the same code
//! the fuzz targets run), every committed corpus and regression input replayed, and proof that
//! the checker catches planted bugs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common;
use common::Kind;

use storebench::binding::{Binding, Concurrency, Handle};
use storebench::check::{
    Batch, Checked, CollectionName, Converged, CrashPoint, Damage, DocId, MAX_OPS, MAX_STEPS, Mix,
    Op, Place, Planted, Scenario, Target, Value, check_binding, check_concurrency,
    check_convergence, check_corrupt_file, check_planted,
};
use storebench::{Collection, Durability, InMemoryBackend, StorageBackend};

/// Arbitrary bytes decode to scenarios with flushes, reopens, power losses and injected failures;
/// every one must satisfy the contract.
#[test]
fn random_scenarios_with_crashes_and_faults_keep_the_contract() {
    common::random::for_random_bytes(256, 2048, |data| Target::CrashRecovery.run(data).map(drop));
}

/// Replicas writing, syncing over lossy links and crashing converge once synced, on
/// Automerge's merge, with every durable write kept.
#[test]
fn random_replicas_converge() {
    common::random::for_random_bytes(256, 129, |data| Target::Convergence.run(data).map(drop));
}

#[test]
fn random_damaged_files_never_panic() {
    common::random::for_random_bytes(256, 512, |data| Target::CorruptFile.run(data).map(drop));
}

#[test]
fn every_corpus_and_regression_input_replays_clean() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for target in Target::ALL {
        // The committed inputs only: the local working corpus (fuzz/corpus) grows without
        // bound and would make this test's run time depend on the machine it runs on.
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target.name())) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                let data = std::fs::read(&path).expect("a readable input");
                let checked = target
                    .run(&data)
                    .unwrap_or_else(|v| panic!("{} {}: {v}", target.name(), path.display()));
                // What a run reports checking is what `fuzz/run` counts as operations.
                let mix = match target {
                    Target::Differential => Some(Mix::Operations),
                    Target::CrashRecovery => Some(Mix::Faults),
                    Target::CorruptFile | Target::Convergence => None,
                };
                if let Some(mix) = mix {
                    let ops = Scenario::from_bytes(&data, mix).map_or(0, |s| s.ops.len());
                    assert_eq!(checked, ops, "{}", path.display());
                }
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "the committed corpus is empty");
}

/// The committed seeds of a fuzz target: each file's path and bytes.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    std::fs::read_dir(&dir)
        .expect("the seeds directory")
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("a readable seed");
            (path, data)
        })
        .collect()
}

/// ClusterFuzzLite builds every fuzz target `fuzz/Cargo.toml` declares, and each has seeds:
/// a target left out of `.clusterfuzzlite/build.sh` is fuzzed by nobody in CI.
#[test]
fn clusterfuzzlite_builds_every_fuzz_target_with_its_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).expect("fuzz/Cargo.toml");
    let declared: BTreeSet<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            let line = bin.lines().find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    let script = std::fs::read_to_string(root.join(".clusterfuzzlite/build.sh")).expect("build.sh");
    let built: BTreeSet<&str> = script
        .lines()
        .find_map(|l| l.strip_prefix("for target in "))
        .and_then(|l| l.strip_suffix("; do"))
        .expect("build.sh's loop over the targets")
        .split_whitespace()
        .collect();
    assert!(declared.len() >= 8, "{declared:?}");
    assert_eq!(built, declared, "build.sh's targets and fuzz/Cargo.toml's");
    for target in declared {
        assert!(!seeds(target).is_empty(), "fuzz/seeds/{target} is empty");
    }
}

/// The committed corrupt-file seeds reach every damage, on both kinds of file where it
/// applies (a redb file has no change log), and each `identity-<file>-<n>` seed the identity
/// damage it is named for: a damage no seed reaches is fuzzed only by chance.
#[test]
fn the_corrupt_file_seeds_reach_every_damage() {
    let mut reached = BTreeSet::new();
    for (path, data) in seeds("corrupt_file") {
        let checked =
            check_corrupt_file(&data).unwrap_or_else(|v| panic!("{}: {v}", path.display()));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some((file, how)) = name
            .as_deref()
            .and_then(|n| n.strip_prefix("identity-")?.split_once('-'))
        {
            let how: u8 = how.parse().expect("identity-<file>-<n>");
            assert_eq!(
                (checked.file, checked.damage),
                (file, Damage::Identity(how)),
                "{}",
                path.display()
            );
        }
        reached.insert(checked);
    }
    for file in ["automerge", "redb"] {
        let mut damages = vec![
            Damage::Bytes { opened: false },
            Damage::Bytes { opened: true },
            Damage::Flips { opened: false },
            Damage::Flips { opened: true },
            Damage::Value,
            Damage::Count,
            Damage::Orphan,
            Damage::StrayDocuments,
        ];
        damages.extend((0..6).map(Damage::Identity));
        if file == "automerge" {
            damages.push(Damage::ChangeLog);
        }
        for damage in damages {
            assert!(
                reached.contains(&Checked { file, damage }),
                "no seed damages a {file} file by {damage:?}; reached: {reached:?}"
            );
        }
    }
}

/// The committed convergence seeds run every step they hold, and together reach two, three
/// and four replicas, durable and not, and every kind of step: writes, messages sent,
/// delivered, lost, repeated, damaged and misdelivered, new sessions, forged changes, flushes,
/// settles, power losses and injected failures.
#[test]
fn the_convergence_seeds_reach_every_kind_of_step() {
    let mut runs = Vec::new();
    for (path, data) in seeds("convergence") {
        let ran = check_convergence(&data).unwrap_or_else(|v| panic!("{}: {v}", path.display()));
        let steps = ((data.len() - 1) / 2).min(MAX_STEPS);
        assert_eq!(ran.steps, steps, "{}", path.display());
        runs.push(ran);
    }
    let replicas: BTreeSet<usize> = runs.iter().map(|r| r.durable.len()).collect();
    assert_eq!(replicas, BTreeSet::from([2, 3, 4]));
    let durable: BTreeSet<bool> = runs.iter().flat_map(|r| r.durable.clone()).collect();
    assert_eq!(durable, BTreeSet::from([false, true]));
    type Count = fn(&Converged) -> usize;
    let kinds: [(&str, Count); 13] = [
        ("writes", |r| r.writes),
        ("messages sent", |r| r.sent),
        ("delivered", |r| r.delivered),
        ("lost", |r| r.lost),
        ("repeated", |r| r.repeated),
        ("damaged", |r| r.refused),
        ("misdelivered", |r| r.misdelivered),
        ("new sessions", |r| r.new_sessions),
        ("forged changes", |r| r.forged),
        ("flushes", |r| r.flushes),
        ("settles", |r| r.settles),
        ("power losses", |r| r.crashes),
        ("injected failures", |r| r.failed),
    ];
    for (kind, count) in kinds {
        let total: usize = runs.iter().map(count).sum();
        assert!(total > 0, "no seed reaches {kind}");
    }
}

/// The committed seeds of the scenario targets are scenarios of realistic length (20 to 64
/// operations), so that fuzzing starts deep instead of growing inputs from nothing.
/// `STOREBENCH_WRITE_SEEDS=1 cargo test --test check seeds` writes them afresh.
#[test]
fn seeds_are_scenarios_of_realistic_length() {
    const SEEDS: u64 = 24;
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, mix) in [
        ("differential", Mix::Operations),
        ("crash_recovery", Mix::Faults),
        ("sqlite", Mix::Operations),
    ] {
        let dir = fuzz.join("seeds").join(target);
        if std::env::var_os("STOREBENCH_WRITE_SEEDS").is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("the seeds directory");
            for i in 0..SEEDS {
                let mut scenario = Scenario::from_seed(i, 4 * MAX_OPS, mix);
                scenario
                    .ops
                    .truncate(20 + (i as usize * (MAX_OPS - 20)) / (SEEDS as usize - 1));
                std::fs::write(dir.join(format!("seed-{i:02}")), scenario.to_bytes(mix))
                    .expect("a seed written");
            }
        }
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).expect("the seeds directory") {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("a readable seed");
            let ops = Scenario::from_bytes(&data, mix).map_or(0, |s| s.ops.len());
            assert!(ops >= 20, "{}: {ops} operations", path.display());
            seeds += 1;
        }
        assert!(seeds >= SEEDS, "{target}: {seeds} seeds");
    }
    // Convergence inputs are any bytes: seeds of the most steps it runs, from fixed seeds.
    let dir = fuzz.join("seeds").join("convergence");
    if std::env::var_os("STOREBENCH_WRITE_SEEDS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the seeds directory");
        for i in 0..SEEDS {
            let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ (i + 1).wrapping_mul(0x9e37_79b9);
            let bytes: Vec<u8> = (0..=2 * storebench::check::MAX_STEPS)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            std::fs::write(dir.join(format!("seed-{i:02}")), bytes).expect("a seed written");
        }
    }
    // The random ones; the short `defect-*` inputs are tests/convergence.rs'.
    for entry in std::fs::read_dir(&dir).expect("the convergence seeds") {
        let path = entry.expect("an entry").path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        {
            continue;
        }
        let data = std::fs::read(&path).expect("a readable seed");
        assert_eq!(data.len(), 1 + 2 * storebench::check::MAX_STEPS);
    }
}

/// The built-in persistent bindings, on the fault-injecting disk.
fn persistent() -> Vec<Kind> {
    ["automerge", "redb"].map(Kind::named).into()
}

fn check(kind: &Kind, scenario: &Scenario) -> Result<(), storebench::check::Divergence> {
    check_binding(kind.selected().binding(), scenario, Place::Disk)
}

fn planted(
    kind: &Kind,
    scenario: &Scenario,
    bug: Planted,
) -> Result<(), storebench::check::Divergence> {
    check_planted(kind.selected().binding(), scenario, bug, Place::Disk)
}

fn upsert(c: u8, id: u8, fill: u8) -> Op {
    Op::Upsert(CollectionName(c), DocId(id), Value { class: 5, fill })
}

/// The planted bug is found where it first shows, and only there: after every other
/// operation has read and written through the planted store as the model does.
#[test]
fn a_backend_that_drops_writes_is_caught_at_the_read_that_shows_it() {
    let c = CollectionName(1);
    let scenario = Scenario::new(
        Durability::OnFlush,
        vec![
            upsert(1, 1, 1),
            upsert(1, 2, 2),
            Op::Get(c, DocId(1)),
            Op::UpsertMany(c, Batch(vec![(DocId(3), Value { class: 5, fill: 3 })])),
            Op::Get(c, DocId(3)),
            Op::Scan(c),
            Op::ScanPrefix(c, DocId(1)),
            Op::ScanRange(c, DocId(0), 7),
            Op::Find(c, 1),
            Op::Count(c),
            Op::Delete(c, DocId(2)),
            Op::Get(c, DocId(2)),
            // The third upsert: dropped.
            upsert(1, 4, 4),
            Op::Get(c, DocId(4)),
        ],
    );
    for kind in persistent() {
        check(&kind, &scenario).expect("the real backend keeps the contract");
        let found =
            planted(&kind, &scenario, Planted::DropEveryThirdUpsert).expect_err("a dropped write");
        assert_eq!(
            (found.step, found.op),
            (13, Some(Op::Get(c, DocId(4)))),
            "{}: {}",
            kind.name(),
            found.what
        );
    }
}

#[test]
fn a_backend_that_skips_flushes_is_caught() {
    let lose_all = CrashPoint {
        keep: 0,
        keep_rest: false,
        tear: 0,
    };
    for kind in persistent() {
        let scenario = Scenario::new(
            Durability::OnFlush,
            vec![upsert(0, 0, 9), Op::Flush, Op::Crash(lose_all)],
        );
        check(&kind, &scenario).expect("the real backend keeps the contract");
        let divergence =
            planted(&kind, &scenario, Planted::SkipFlush).expect_err("a skipped flush");
        assert!(
            divergence.what.contains("the contract allows only"),
            "{divergence}"
        );
    }
}

#[test]
fn a_failed_write_then_power_loss_recovers_a_permitted_state() {
    for durability in [Durability::OnFlush, Durability::EveryWrite] {
        for fail_in in 0..12 {
            let scenario = Scenario::new(
                durability,
                vec![
                    upsert(1, 1, 1),
                    Op::Flush,
                    Op::FailIn(fail_in),
                    upsert(1, 2, 2),
                    upsert(2, 3, 3),
                    Op::Flush,
                    Op::Crash(CrashPoint {
                        keep: u64::MAX,
                        keep_rest: true,
                        tear: 0,
                    }),
                    upsert(1, 4, 4),
                ],
            );
            check(&Kind::named("automerge"), &scenario)
                .unwrap_or_else(|d| panic!("{durability:?}, failing call {fail_in}: {d}"));
        }
    }
}

/// A store whose `collection()` looks a name up and, on a miss, inserts a new collection
/// without looking again under the write lock (`careful` looks again).
struct Racy {
    careful: bool,
}

#[derive(Default)]
struct RacyStore {
    careful: bool,
    collections: std::sync::RwLock<std::collections::BTreeMap<String, Arc<dyn Collection>>>,
}

impl StorageBackend for RacyStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        if let Some(found) = self.collections.read().expect("lock").get(name) {
            return found.clone();
        }
        storebench::check::point("racy: not found");
        let mut collections = self.collections.write().expect("lock");
        if self.careful
            && let Some(found) = collections.get(name)
        {
            return found.clone();
        }
        // A store of its own per creation: a second creation is a second collection. (Its
        // own schedule point is passed over: this thread holds the lock.)
        let created = storebench::check::without_points(|| InMemoryBackend::new().collection(name));
        collections.insert(name.to_owned(), created.clone());
        created
    }
    fn list_collections(&self) -> Vec<String> {
        self.collections
            .read()
            .expect("lock")
            .keys()
            .cloned()
            .collect()
    }
    fn flush(&self) -> storebench::Result<()> {
        Ok(())
    }
    fn close(self) -> storebench::Result<()> {
        Ok(())
    }
}

impl Binding for Racy {
    fn name(&self) -> &str {
        if self.careful { "careful" } else { "racy" }
    }
    fn durabilities(&self) -> &[Durability] {
        &[]
    }
    fn open(&self, _: &Path, _: Option<Durability>) -> storebench::Result<Handle> {
        Ok(Handle::new(RacyStore {
            careful: self.careful,
            ..RacyStore::default()
        }))
    }
}

/// The model check (and so every fuzz target) creates each collection from two threads at
/// once, stopping the first between its lookup and its insert: a store that then creates the
/// collection twice loses the write made through the first one. Whether the collection is
/// the first or comes after others, and whether one document or a batch is written to it.
#[test]
fn two_threads_creating_one_collection_get_one_collection() {
    let batch = Op::UpsertMany(
        CollectionName(1),
        Batch(vec![(DocId(2), Value { class: 1, fill: 3 })]),
    );
    let scenarios = [
        vec![upsert(1, 0, 7), Op::Get(CollectionName(1), DocId(0))],
        vec![Op::Count(CollectionName(0)), upsert(1, 0, 7)],
        vec![batch],
    ];
    for ops in scenarios {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let scenario = Scenario::new(Durability::OnFlush, ops);
        let found = check_binding(&Racy { careful: false }, &scenario, Place::Dir(dir.path()))
            .expect_err("the race is found");
        assert!(found.what.contains("two threads created"), "{found}");
        check_binding(&Racy { careful: true }, &scenario, Place::Dir(dir.path()))
            .expect("one collection with the second look");
    }
}

/// A store that may be used by one thread at a time: every call from the thread that opened
/// it, or it panics. Its binding says so, unless `claims` says otherwise.
struct OneThread {
    claims: Concurrency,
}

struct OneThreadStore {
    opener: std::thread::ThreadId,
    inner: InMemoryBackend,
}

impl OneThreadStore {
    fn same_thread(&self) {
        assert_eq!(
            std::thread::current().id(),
            self.opener,
            "called from another thread"
        );
    }
}

impl StorageBackend for OneThreadStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        self.same_thread();
        self.inner.collection(name)
    }
    fn list_collections(&self) -> Vec<String> {
        self.same_thread();
        self.inner.list_collections()
    }
    fn flush(&self) -> storebench::Result<()> {
        Ok(())
    }
    fn close(self) -> storebench::Result<()> {
        Ok(())
    }
}

impl Binding for OneThread {
    fn name(&self) -> &str {
        "one-thread"
    }
    fn durabilities(&self) -> &[Durability] {
        &[]
    }
    fn open(&self, _: &Path, _: Option<Durability>) -> storebench::Result<Handle> {
        Ok(Handle::new(OneThreadStore {
            opener: std::thread::current().id(),
            inner: InMemoryBackend::new(),
        }))
    }
    fn concurrency(&self) -> Concurrency {
        self.claims
    }
}

const ONE_THREAD: OneThread = OneThread {
    claims: Concurrency::SingleThread,
};

/// A binding that allows one thread at a time is never raced.
#[test]
fn a_single_threaded_store_is_called_from_one_thread() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario = Scenario::new(Durability::OnFlush, vec![upsert(1, 0, 7), upsert(2, 1, 8)]);
    check_binding(&ONE_THREAD, &scenario, Place::Dir(dir.path())).expect("one thread only");
}

/// The concurrency check runs its threads only where the binding allows them: the store that
/// allows one thread passes without running, and the same store said to allow many is caught
/// at its first call from a second thread.
#[test]
fn the_concurrency_check_runs_threads_only_where_the_binding_allows_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    check_concurrency(&ONE_THREAD, Durability::OnFlush, dir.path()).expect("not run");
    let claiming = OneThread {
        claims: Concurrency::Shared,
    };
    let found = check_concurrency(&claiming, Durability::OnFlush, dir.path())
        .expect_err("a store called from threads it does not allow");
    assert!(found.what.contains("panicked"), "{found}");
}

/// The redb backend with a compaction that forgets a document of collection `"a"` first: what
/// a fold that drops a chunk or a snapshot written under the wrong key would do.
struct LossyCompaction;

impl Binding for LossyCompaction {
    fn name(&self) -> &str {
        "lossy-compaction"
    }
    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush]
    }
    fn open(&self, dir: &Path, durability: Option<Durability>) -> storebench::Result<Handle> {
        let options = storebench::OpenOptions::new().durability(durability.unwrap_or_default());
        let store = storebench::RedbBackend::open(dir.join("store.redb"), options)?;
        Ok(Handle::builder(store)
            .compact(|store| {
                store.collection("a").delete("b")?;
                store.compact()
            })
            .build())
    }
}

/// A quarter of the flushes the fuzz inputs name compact instead; every document must read
/// as before a compaction, and every write be durable after it.
#[test]
fn the_model_check_compacts_and_catches_a_compaction_that_loses_a_document() {
    let ops = vec![
        upsert(1, 4, 7),
        upsert(1, 1, 8),
        Op::Compact,
        Op::Crash(CrashPoint {
            keep: 0,
            keep_rest: false,
            tear: 0,
        }),
        Op::Get(CollectionName(1), DocId(4)),
    ];
    let scenario = Scenario::new(Durability::OnFlush, ops);
    // Compaction in the fuzz encoding: a flush's tag with both top bits set.
    let bytes = scenario.to_bytes(Mix::Operations);
    assert_eq!(
        Scenario::from_bytes(&bytes, Mix::Operations),
        Some(scenario.clone())
    );
    for kind in persistent() {
        check(&kind, &scenario).unwrap_or_else(|d| panic!("{}: {d}", kind.name()));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let found = check_binding(&LossyCompaction, &scenario, Place::Dir(dir.path()))
        .expect_err("the lost document is found");
    assert!(
        found.step == 3 && found.what.contains("the contract allows only"),
        "found when the store reopens without the document: {found}"
    );
    assert!(
        found.what.contains(r#"{"a": 1 docs}"#) && found.what.contains(r#"{"a": 2 docs}"#),
        "the states found and allowed, by collection: {found}"
    );
    // What a fuzz crash prints: the step, its operation, what disagreed.
    let shown = found.to_string();
    assert!(
        shown.starts_with("step 3 (Some(Crash(") && shown.ends_with(&found.what),
        "{shown}"
    );
}

/// Counts the upserts in flight at once, with a schedule point inside each; its documents
/// outlive a close in the binding that opened it.
struct Overlap {
    inner: Arc<InMemoryBackend>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    fail_upserts: bool,
}

struct OverlapCollection {
    inner: Arc<dyn Collection>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    /// Every upsert fails, with nothing failing beneath it.
    fail_upserts: bool,
}

impl Collection for OverlapCollection {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> storebench::Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        storebench::check::point("overlap: upserting");
        let done = if self.fail_upserts {
            Err(storebench::Error::backend(
                "overlap",
                "an upsert that fails",
            ))
        } else {
            self.inner.upsert(doc_id, data)
        };
        self.in_flight.fetch_sub(1, SeqCst);
        done
    }
    fn upsert_many(&self, docs: Vec<(String, Vec<u8>)>) -> storebench::Result<()> {
        self.inner.upsert_many(docs)
    }
    fn get(&self, doc_id: &str) -> storebench::Result<Option<Vec<u8>>> {
        self.inner.get(doc_id)
    }
    fn delete(&self, doc_id: &str) -> storebench::Result<()> {
        self.inner.delete(doc_id)
    }
    fn scan(&self) -> storebench::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan()
    }
    fn scan_prefix(&self, prefix: &str) -> storebench::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan_prefix(prefix)
    }
    fn scan_range(&self, start: &str, limit: usize) -> storebench::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan_range(start, limit)
    }
    fn find(
        &self,
        predicate: storebench::DocumentPredicate,
    ) -> storebench::Result<Vec<(String, Vec<u8>)>> {
        self.inner.find(predicate)
    }
    fn count(&self) -> storebench::Result<usize> {
        self.inner.count()
    }
}

impl StorageBackend for Overlap {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        Arc::new(OverlapCollection {
            inner: self.inner.collection(name),
            in_flight: self.in_flight.clone(),
            most: self.most.clone(),
            fail_upserts: self.fail_upserts,
        })
    }
    fn list_collections(&self) -> Vec<String> {
        self.inner.list_collections()
    }
    fn flush(&self) -> storebench::Result<()> {
        Ok(())
    }
    fn close(self) -> storebench::Result<()> {
        Ok(())
    }
}

/// Opens [`Overlap`] stores on its documents that report into `most`, in both durabilities.
#[derive(Default)]
struct OverlapBinding {
    documents: Arc<InMemoryBackend>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    fail_upserts: bool,
}

impl Binding for OverlapBinding {
    fn name(&self) -> &str {
        "overlap"
    }
    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush, Durability::EveryWrite]
    }
    fn open(&self, _: &Path, _: Option<Durability>) -> storebench::Result<Handle> {
        Ok(Handle::new(Overlap {
            inner: self.documents.clone(),
            in_flight: Arc::default(),
            most: self.most.clone(),
            fail_upserts: self.fail_upserts,
        }))
    }
}

/// With `EveryWrite`, the model check makes a write (every eighth step's) from two threads
/// at once, both inside the store's write together, so that a group commit is shared; with
/// `OnFlush` one thread writes.
#[test]
fn every_write_writes_come_from_two_threads_at_once() {
    for (durability, together) in [(Durability::EveryWrite, 2), (Durability::OnFlush, 1)] {
        let binding = OverlapBinding::default();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let scenario = Scenario::new(durability, vec![upsert(1, 0, 7), upsert(1, 1, 8)]);
        check_binding(&binding, &scenario, Place::Dir(dir.path())).expect("the writes hold");
        assert_eq!(
            binding.most.load(std::sync::atomic::Ordering::SeqCst),
            together,
            "{durability:?}"
        );
    }
}

/// A store whose documents become durable only at a flush (kept by the binding, so they
/// outlive a close), with one of the faults a store's own code may have.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Misbehaviour {
    None,
    /// `close` returns `Ok` without flushing.
    CloseForgets,
    /// `close` fails, though nothing failed beneath it.
    CloseFails,
    /// `flush` fails, though nothing failed beneath it.
    FlushFails,
}

struct FlushOnly {
    live: InMemoryBackend,
    durable: Arc<std::sync::Mutex<storebench::check::State>>,
    misbehaviour: Misbehaviour,
}

impl StorageBackend for FlushOnly {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        self.live.collection(name)
    }
    fn list_collections(&self) -> Vec<String> {
        self.live.list_collections()
    }
    fn flush(&self) -> storebench::Result<()> {
        if self.misbehaviour == Misbehaviour::FlushFails {
            return Err(storebench::Error::backend(
                "flush-only",
                "a flush that fails",
            ));
        }
        *self.durable.lock().expect("lock") = storebench::check::state(&self.live)?;
        Ok(())
    }
    fn close(self) -> storebench::Result<()> {
        match self.misbehaviour {
            Misbehaviour::CloseForgets => Ok(()),
            Misbehaviour::CloseFails => Err(storebench::Error::backend("flush-only", "no")),
            _ => self.flush(),
        }
    }
}

struct FlushOnlyBinding {
    durable: Arc<std::sync::Mutex<storebench::check::State>>,
    misbehaviour: Misbehaviour,
}

impl Binding for FlushOnlyBinding {
    fn name(&self) -> &str {
        "flush-only"
    }
    fn durabilities(&self) -> &[Durability] {
        &[Durability::OnFlush]
    }
    fn open(&self, _: &Path, _: Option<Durability>) -> storebench::Result<Handle> {
        let live = InMemoryBackend::new();
        for (name, docs) in self.durable.lock().expect("lock").iter() {
            live.collection(name).upsert_many(docs.clone())?;
        }
        Ok(Handle::new(FlushOnly {
            live,
            durable: self.durable.clone(),
            misbehaviour: self.misbehaviour,
        }))
    }
}

/// A close that does not flush, and a close or a flush that fails with nothing failing
/// beneath it, are each a divergence of the step that met it; the same store without the
/// fault keeps the contract.
#[test]
fn a_close_that_forgets_and_a_failing_close_or_flush_are_caught() {
    let scenario = Scenario::new(
        Durability::OnFlush,
        vec![upsert(1, 0, 7), Op::Flush, upsert(1, 1, 8), Op::Reopen],
    );
    let expected = [
        (Misbehaviour::None, None),
        (
            Misbehaviour::CloseForgets,
            Some((3, "the contract allows only")),
        ),
        (
            Misbehaviour::CloseFails,
            Some((3, "close failed with no injected fault")),
        ),
        (
            Misbehaviour::FlushFails,
            Some((1, "Flush failed with no injected fault")),
        ),
    ];
    for (misbehaviour, wanted) in expected {
        let binding = FlushOnlyBinding {
            durable: Arc::default(),
            misbehaviour,
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let found = check_binding(&binding, &scenario, Place::Dir(dir.path()));
        match (found, wanted) {
            (Ok(()), None) => {}
            (Err(d), Some((step, what))) => {
                assert!(
                    d.step == step && d.what.contains(what),
                    "{misbehaviour:?}: {d}"
                )
            }
            (found, _) => panic!("{misbehaviour:?}: {found:?}"),
        }
    }
}

/// A write that fails with nothing failing beneath it is a divergence at once, whether one
/// thread makes it or two (`EveryWrite`, step 0).
#[test]
fn a_write_that_fails_without_a_fault_is_caught() {
    for durability in [Durability::OnFlush, Durability::EveryWrite] {
        let binding = OverlapBinding {
            fail_upserts: true,
            ..OverlapBinding::default()
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let scenario = Scenario::new(durability, vec![upsert(1, 0, 7)]);
        let found = check_binding(&binding, &scenario, Place::Dir(dir.path()))
            .expect_err("the failed write is found");
        assert!(
            found.step == 0 && found.what.contains("error with no injected fault"),
            "{durability:?}: {found}"
        );
    }
}

/// With `EveryWrite`, a write one of two writers is told succeeded must survive the failure
/// that failed the other's: a store that says `Ok` for a write whose commit failed is caught
/// (for some failing call of the shared commit), and the real one never is.
#[test]
fn a_write_acknowledged_after_its_commit_failed_is_caught() {
    for kind in persistent() {
        let mut caught = 0;
        for fail_in in 0..16 {
            let ops = vec![
                upsert(1, 0, 7),
                Op::FailIn(fail_in),
                Op::Get(CollectionName(1), DocId(0)),
                Op::Get(CollectionName(1), DocId(0)),
                Op::Get(CollectionName(1), DocId(0)),
                Op::Get(CollectionName(1), DocId(0)),
                Op::Get(CollectionName(1), DocId(0)),
                Op::Get(CollectionName(1), DocId(0)),
                // Step 8: two writers share one commit, which the armed failure may fail.
                upsert(1, 1, 8),
            ];
            let scenario = Scenario::new(Durability::EveryWrite, ops);
            check(&kind, &scenario)
                .unwrap_or_else(|d| panic!("{}, failing call {fail_in}: {d}", kind.name()));
            if planted(&kind, &scenario, Planted::AcknowledgeFailedUpserts).is_err() {
                caught += 1;
            }
        }
        assert!(caught > 0, "{}: never caught", kind.name());
    }
}

/// The redb backend opened `OnFlush` by a binding that says it is `EveryWrite`: its writes
/// return before they are durable.
struct UnsyncedEveryWrite;

impl Binding for UnsyncedEveryWrite {
    fn name(&self) -> &str {
        "unsynced-every-write"
    }
    fn durabilities(&self) -> &[Durability] {
        &[Durability::EveryWrite]
    }
    fn open(&self, dir: &Path, _: Option<Durability>) -> storebench::Result<Handle> {
        let store = storebench::RedbBackend::open(dir.join("store.redb"), Default::default())?;
        Ok(Handle::new(store))
    }
    fn open_on(
        &self,
        storage: storebench::fault::FaultStorage,
        _: Option<Durability>,
    ) -> Option<storebench::Result<Handle>> {
        let opened = storebench::RedbBackend::open_with_storage(storage, Default::default());
        Some(opened.map(Handle::new))
    }
}

/// A write that returns with its bytes not yet synced is found the moment it returns, by a
/// power loss then (the disk's durable image at that moment, opened as a second store), with
/// no crash in the scenario.
#[test]
fn a_write_that_returns_before_it_is_durable_is_caught_at_once() {
    let scenario = Scenario::new(Durability::EveryWrite, vec![upsert(1, 0, 7)]);
    let found = check_binding(&UnsyncedEveryWrite, &scenario, Place::Disk)
        .expect_err("the unsynced write is found");
    assert!(
        found.step == 0 && found.what.contains("the moment thread"),
        "{found}"
    );
}
