//! The checker: runs a scenario on a persistent backend over a [`Disk`] and on the
//! `InMemoryBackend` model, compares every result, and after every reopen or crash compares the
//! whole state with what the durability contract allows and runs `verify()`.

use std::fmt;

use super::disk::{Disk, PowerLoss};
use super::op::{Op, Scenario, Subject};
use super::planted::{Planted, PlantedBug};
use crate::{
    AutomergeBackend, Durability, Error, InMemoryBackend, OpenOptions, RedbBackend, StorageBackend,
};

/// Every collection with its documents in id order: all a store shows.
pub type State = Vec<(String, Vec<(String, Vec<u8>)>)>;

/// The first disagreement between the backend and the model or the contract.
#[derive(Debug)]
pub struct Divergence {
    /// The step at which it was found.
    pub step: usize,
    /// The operation of that step.
    pub op: Option<Op>,
    /// What disagreed.
    pub what: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} ({:?}): {}", self.step, self.op, self.what)
    }
}

impl std::error::Error for Divergence {}

/// Runs `scenario` and reports the first divergence.
///
/// # Errors
/// The [`Divergence`] found, if any.
pub fn check(scenario: &Scenario) -> Result<(), Divergence> {
    check_planted(scenario, Planted::None)
}

/// As [`check`], with a deliberate bug planted in the backend: to show the checker finds it.
///
/// # Errors
/// The [`Divergence`] found, if any.
pub fn check_planted(scenario: &Scenario, planted: Planted) -> Result<(), Divergence> {
    run_on(scenario, planted, None)
}

/// As [`check`], on a real database file at `path` instead of the in-memory disk. A file
/// cannot fail or lose power on demand, so `FailIn` does nothing and `Crash` drops the backend
/// without `close()` (which must keep everything, as a dropped backend flushes) before reopening.
///
/// # Errors
/// The [`Divergence`] found, if any.
pub fn check_on_file(scenario: &Scenario, path: &std::path::Path) -> Result<(), Divergence> {
    run_on(scenario, Planted::None, Some(path))
}

fn run_on(
    scenario: &Scenario,
    planted: Planted,
    file: Option<&std::path::Path>,
) -> Result<(), Divergence> {
    let mut run = Run::start(scenario, planted, file)?;
    for (step, op) in scenario.ops.iter().enumerate() {
        run.step = step;
        run.op = Some(op.clone());
        run.apply(op)?;
    }
    // A last clean close and reopen: everything must have survived it.
    run.step = scenario.ops.len();
    run.op = Some(Op::Reopen);
    run.apply(&Op::Reopen)
}

/// An open persistent backend of either kind.
enum Opened {
    Automerge(AutomergeBackend),
    Redb(RedbBackend),
}

impl Opened {
    fn store(&self) -> &dyn StorageBackend {
        match self {
            Opened::Automerge(b) => b,
            Opened::Redb(b) => b,
        }
    }

    fn close(self) -> crate::Result<()> {
        match self {
            Opened::Automerge(b) => b.close(),
            Opened::Redb(b) => b.close(),
        }
    }

    fn verify(&self) -> crate::Result<crate::VerifyReport> {
        match self {
            Opened::Automerge(b) => b.verify(),
            Opened::Redb(b) => b.verify(),
        }
    }
}

struct Run<'s> {
    scenario: &'s Scenario,
    planted: Planted,
    /// The database file, or `None` for the in-memory disk.
    file: Option<&'s std::path::Path>,
    disk: Disk,
    subject: Option<Opened>,
    model: InMemoryBackend,
    /// The state a crash must come back to now.
    durable: State,
    step: usize,
    op: Option<Op>,
}

impl<'s> Run<'s> {
    fn start(
        scenario: &'s Scenario,
        planted: Planted,
        file: Option<&'s std::path::Path>,
    ) -> Result<Self, Divergence> {
        let mut run = Run {
            scenario,
            planted,
            file,
            disk: Disk::new(),
            subject: None,
            model: InMemoryBackend::new(),
            durable: Vec::new(),
            step: 0,
            op: None,
        };
        run.subject = Some(run.open()?);
        Ok(run)
    }

    fn diverged(&self, what: impl Into<String>) -> Divergence {
        Divergence {
            step: self.step,
            op: self.op.clone(),
            what: what.into(),
        }
    }

    fn open(&self) -> Result<Opened, Divergence> {
        let options = OpenOptions::new().durability(self.scenario.durability);
        let opened = match (self.scenario.subject, self.file) {
            (Subject::Automerge, None) => {
                AutomergeBackend::open_with_storage(self.disk.storage(), options)
                    .map(Opened::Automerge)
            }
            (Subject::Redb, None) => {
                RedbBackend::open_with_storage(self.disk.storage(), options).map(Opened::Redb)
            }
            (Subject::Automerge, Some(path)) => {
                AutomergeBackend::open(path, options).map(Opened::Automerge)
            }
            (Subject::Redb, Some(path)) => RedbBackend::open(path, options).map(Opened::Redb),
        };
        opened.map_err(|e| self.diverged(format!("the database does not reopen: {e:?}")))
    }

    fn subject(&self) -> &Opened {
        // Every path that takes the subject out puts a new one back before returning Ok.
        self.subject
            .as_ref()
            .expect("the subject is open between steps")
    }

    fn model_state(&self) -> State {
        state(&self.model).expect("the model never fails")
    }

    fn every_write(&self) -> bool {
        self.scenario.durability == Durability::EveryWrite
    }

    fn apply(&mut self, op: &Op) -> Result<(), Divergence> {
        let failures = self.disk.failures();
        match op {
            Op::FailIn(n) => {
                self.disk.fail_in(u64::from(*n % 32));
                Ok(())
            }
            Op::Crash(_) if self.file.is_some() => {
                // A file cannot lose power here: drop without close(), which keeps everything.
                drop(self.subject.take());
                self.reopen_and_compare(&[self.model_state()])
            }
            Op::Crash(point) => {
                let loss = PowerLoss {
                    keep: point.keep,
                    keep_rest: point.keep_rest,
                    tear: point.tear,
                };
                let durable = self.durable.clone();
                self.crash(loss, &[durable])
            }
            Op::Reopen => {
                let closed = self.subject.take().map(Opened::close);
                let failed = self.disk.failures() > failures;
                match closed {
                    Some(Ok(())) if !failed => self.reopen_and_compare(&[self.model_state()]),
                    Some(Err(_)) | Some(Ok(())) if failed => {
                        // A failed close is a failed flush: before or after, nothing else.
                        let candidates = [self.durable.clone(), self.model_state()];
                        self.crash(PowerLoss::LOSE_ALL, &candidates)
                    }
                    other => {
                        Err(self
                            .diverged(format!("close failed with no injected fault: {other:?}")))
                    }
                }
            }
            Op::Flush => {
                let flushed = PlantedBug::flush(self.planted, self.subject().store());
                let failed = self.disk.failures() > failures;
                match flushed {
                    Ok(()) if !failed => {
                        self.durable = self.model_state();
                        Ok(())
                    }
                    Err(e) if !failed => {
                        Err(self.diverged(format!("flush failed with no injected fault: {e:?}")))
                    }
                    _ => {
                        let candidates = [self.durable.clone(), self.model_state()];
                        self.crash(PowerLoss::LOSE_ALL, &candidates)
                    }
                }
            }
            op => {
                let got = apply(&PlantedBug::new(self.planted, self.subject().store()), op);
                let failed = self.disk.failures() > failures;
                match got {
                    Ok(got) => {
                        let expected = apply(&self.model, op).expect("the model never fails");
                        if got != expected {
                            return Err(self.diverged(format!(
                                "backend returned {got:?}, model {expected:?}"
                            )));
                        }
                        if failed {
                            // A failure the backend absorbed (a collection creation it will
                            // retry): the durable state is uncertain; settle it now.
                            let candidates = [self.durable.clone(), self.model_state()];
                            return self.crash(PowerLoss::LOSE_ALL, &candidates);
                        }
                        if self.every_write() {
                            self.durable = self.model_state();
                        }
                        Ok(())
                    }
                    Err(e) if !failed => {
                        Err(self.diverged(format!("error with no injected fault: {e:?}")))
                    }
                    Err(_) => {
                        // The operation may have happened or not; with EveryWrite, either is
                        // durable, with OnFlush neither (it was never flushed).
                        // (The collection a write names is created first, by its own
                        // commit, so with EveryWrite it may exist without the write.)
                        let mut candidates = vec![self.durable.clone()];
                        if self.every_write() {
                            let model = InMemoryBackend::new();
                            restore(&model, &self.model_state());
                            if let Some(collection) = op.collection() {
                                model.collection(collection);
                                candidates.push(state(&model).expect("the model never fails"));
                            }
                            let _ = apply(&model, op);
                            candidates.push(state(&model).expect("the model never fails"));
                        }
                        self.crash(PowerLoss::LOSE_ALL, &candidates)
                    }
                }
            }
        }
    }

    /// Power loss, then reopen from what reached the disk; the state must be one of `candidates`.
    fn crash(&mut self, loss: PowerLoss, candidates: &[State]) -> Result<(), Divergence> {
        let survivor = self.disk.power_loss(loss);
        // The old backend's last writes hit a dead disk and fail, as after a real power cut.
        drop(self.subject.take());
        self.disk = survivor;
        self.reopen_and_compare(candidates)
    }

    /// Opens the current disk and checks its whole state is one of `candidates`, then adopts it
    /// as both the model and the durable state.
    fn reopen_and_compare(&mut self, candidates: &[State]) -> Result<(), Divergence> {
        debug_assert!(
            self.subject.is_none(),
            "the previous backend is closed or crashed first"
        );
        self.disk.disarm();
        let opened = self.open()?;
        let found = state(opened.store())
            .map_err(|e| self.diverged(format!("reading all after reopen: {e:?}")))?;
        if !candidates.contains(&found) {
            return Err(self.diverged(format!(
                "after reopen the state is {}, but the contract allows only {}",
                summary(&found),
                candidates
                    .iter()
                    .map(summary)
                    .collect::<Vec<_>>()
                    .join(" or ")
            )));
        }
        let report = opened
            .verify()
            .map_err(|e| self.diverged(format!("verify failed: {e:?}")))?;
        if !report.is_clean() {
            let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
            return Err(self.diverged(format!("verify after reopen: {problems:?}")));
        }
        for (name, docs) in &found {
            let count = opened
                .store()
                .collection(name)
                .count()
                .map_err(|e| self.diverged(format!("{e:?}")))?;
            if count != docs.len() {
                return Err(self.diverged(format!(
                    "count of {name:?} is {count}, scan finds {}",
                    docs.len()
                )));
            }
        }
        self.model = InMemoryBackend::new();
        restore(&self.model, &found);
        self.durable = found;
        self.subject = Some(opened);
        Ok(())
    }
}

/// What an operation returned, comparable across backends.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    Value(Option<Vec<u8>>),
    Documents(Vec<(String, Vec<u8>)>),
    Count(usize),
    Names(Vec<String>),
}

fn apply(store: &dyn StorageBackend, op: &Op) -> Result<Outcome, Error> {
    Ok(match op {
        Op::Upsert(c, id, value) => {
            store.collection(c.name()).upsert(id.id(), value.bytes())?;
            Outcome::Done
        }
        Op::UpsertMany(c, batch) => {
            let docs = batch
                .0
                .iter()
                .map(|(id, v)| (id.id().to_owned(), v.bytes()))
                .collect();
            store.collection(c.name()).upsert_many(docs)?;
            Outcome::Done
        }
        Op::Get(c, id) => Outcome::Value(store.collection(c.name()).get(id.id())?),
        Op::Delete(c, id) => {
            store.collection(c.name()).delete(id.id())?;
            Outcome::Done
        }
        Op::Scan(c) => Outcome::Documents(store.collection(c.name()).scan()?),
        Op::ScanPrefix(c, prefix) => {
            Outcome::Documents(store.collection(c.name()).scan_prefix(prefix.id())?)
        }
        Op::ScanRange(c, start, limit) => Outcome::Documents(
            store
                .collection(c.name())
                .scan_range(start.id(), usize::from(*limit % 8))?,
        ),
        Op::Find(c, byte) => {
            let b = *byte;
            Outcome::Documents(
                store
                    .collection(c.name())
                    .find(Box::new(move |d| d.first() == Some(&b)))?,
            )
        }
        Op::Count(c) => Outcome::Count(store.collection(c.name()).count()?),
        Op::ListCollections => Outcome::Names(store.list_collections()),
        Op::Flush | Op::Reopen | Op::Crash(_) | Op::FailIn(_) => Outcome::Done,
    })
}

/// The whole state of a store.
///
/// # Errors
/// When a scan fails.
pub fn state(store: &dyn StorageBackend) -> crate::Result<State> {
    store
        .list_collections()
        .into_iter()
        .map(|name| Ok((name.clone(), store.collection(&name).scan()?)))
        .collect()
}

fn restore(store: &InMemoryBackend, state: &State) {
    for (name, docs) in state {
        // The in-memory backend never fails.
        let _ = store.collection(name).upsert_many(docs.clone());
    }
}

fn summary(state: &State) -> String {
    let parts: Vec<String> = state
        .iter()
        .map(|(name, docs)| format!("{name:?}: {} docs", docs.len()))
        .collect();
    format!("{{{}}}", parts.join(", "))
}
