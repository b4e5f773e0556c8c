//! The model check: runs a scenario on any binding's store and on the `InMemoryBackend`
//! model, compares every result, and after every reopen or crash compares the whole state with
//! what the durability contract allows and runs the binding's `verify()`. The store keeps its
//! file on the fault-injecting [`Disk`] when the binding can ([`Binding::open_on`]), which
//! makes failures and power loss possible; otherwise in a directory.

use std::fmt;
use std::path::Path;

use super::bounded::Ticker;
use super::group;
use super::interpret::apply;
use super::op::{Op, Scenario};
use super::planted::{Bug, Planted};
use super::race::{self, Raced};
use crate::binding::{Binding, Concurrency, Handle};
use crate::error::with_causes;
use crate::fault::{Disk, PowerLoss};
use crate::{Durability, InMemoryBackend, StorageBackend};

/// The `EveryWrite` writes at steps that are multiples of this are made by two threads
/// sharing a group commit ([`group`](super::group)).
const GROUP_EVERY: usize = 8;

/// Every collection with its documents in id order: all a store shows.
pub type State = Vec<(String, Vec<(String, Vec<u8>)>)>;

/// The first disagreement between the store and the model or the contract.
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

/// Where the store under check keeps its files.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// On the fault-injecting disk: `FailIn` and `Crash` inject failures and power loss. Needs
    /// [`Binding::open_on`].
    Disk,
    /// In this directory, empty at first: `FailIn` does nothing, and `Crash` drops the store
    /// without closing it, after which the state must be the last flush's or the whole one
    /// (process death is [`check_crash`](super::check_crash)'s).
    Dir(&'a Path),
}

/// Runs `scenario` on `binding`'s store at `place`, with `durability` (or the binding's
/// preferred mode when it does not offer that one), and reports the first divergence.
///
/// # Errors
/// The [`Divergence`] found, if any; one at step 0 when the binding cannot open at `place`.
pub fn check_binding(
    binding: &dyn Binding,
    scenario: &Scenario,
    place: Place<'_>,
) -> Result<(), Divergence> {
    run_on(binding, scenario, Planted::None, place, None)
}

/// As [`check_binding`], ticking `ticker` before each operation, so that a watcher can tell
/// a slow store from a hung one and name the operation it hangs or panics in.
pub(crate) fn check_ticked(
    binding: &dyn Binding,
    scenario: &Scenario,
    place: Place<'_>,
    ticker: &Ticker,
) -> Result<(), Divergence> {
    run_on(binding, scenario, Planted::None, place, Some(ticker))
}

/// As [`check_binding`], with a deliberate bug planted in the store: to show the check finds
/// it.
///
/// # Errors
/// The [`Divergence`] found, if any.
pub fn check_planted(
    binding: &dyn Binding,
    scenario: &Scenario,
    planted: Planted,
    place: Place<'_>,
) -> Result<(), Divergence> {
    run_on(binding, scenario, planted, place, None)
}

/// The durability `binding` runs a scenario asking for `wanted` with: scenarios draw their
/// mode from the input, so a mode the binding does not offer falls back to its preferred one
/// (the crash and concurrency checks, asked for a mode, refuse instead: [`offered`]).
pub(crate) fn durability_for(binding: &dyn Binding, wanted: Durability) -> Option<Durability> {
    crate::binding::mode_for(binding.durabilities(), wanted)
}

/// The durability a check that asks for `wanted` runs `binding` with: `wanted` when the
/// binding offers it; `None` when it offers no mode (it keeps nothing, and is held to keeping
/// nothing, whatever is asked).
///
/// # Errors
/// A [`Divergence`] at step 0 naming the modes offered, when the binding offers modes but not
/// `wanted`: running another mode and passing would claim a guarantee never checked.
pub(crate) fn offered(
    binding: &dyn Binding,
    wanted: Durability,
) -> Result<Option<Durability>, Divergence> {
    let modes = binding.durabilities();
    if modes.is_empty() || modes.contains(&wanted) {
        return Ok((!modes.is_empty()).then_some(wanted));
    }
    Err(Divergence {
        step: 0,
        op: None,
        what: format!(
            "the `{}` binding does not offer {wanted} durability (it offers {}); ask the \
             check for a mode it offers",
            binding.name(),
            modes
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

fn run_on(
    binding: &dyn Binding,
    scenario: &Scenario,
    planted: Planted,
    place: Place<'_>,
    ticker: Option<&Ticker>,
) -> Result<(), Divergence> {
    let mut run = Run::start(binding, scenario, planted, place)?;
    // A last clean close and reopen: everything must have survived it.
    let last = Op::Reopen;
    for (step, op) in scenario.ops.iter().chain([&last]).enumerate() {
        if let Some(ticker) = ticker {
            ticker.tick(step, op);
        }
        run.step = step;
        run.op = Some(op.clone());
        run.apply(op)?;
    }
    Ok(())
}

struct Run<'s> {
    binding: &'s dyn Binding,
    durability: Option<Durability>,
    bug: Bug,
    /// The store's directory, or `None` for the fault-injecting disk.
    dir: Option<&'s Path>,
    disk: Disk,
    subject: Option<Handle>,
    model: InMemoryBackend,
    /// The state a crash must come back to now.
    durable: State,
    step: usize,
    op: Option<Op>,
}

impl<'s> Run<'s> {
    fn start(
        binding: &'s dyn Binding,
        scenario: &'s Scenario,
        planted: Planted,
        place: Place<'s>,
    ) -> Result<Self, Divergence> {
        let mut run = Run {
            binding,
            durability: durability_for(binding, scenario.durability),
            bug: Bug::new(planted),
            dir: match place {
                Place::Disk => None,
                Place::Dir(dir) => Some(dir),
            },
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

    fn open(&self) -> Result<Handle, Divergence> {
        match self.dir {
            Some(dir) => self
                .binding
                .open(dir, self.durability)
                .map_err(|e| self.diverged(format!("the database does not reopen: {e:?}"))),
            None => self.open_on(&self.disk),
        }
    }

    /// Opens the store on `disk`.
    fn open_on(&self, disk: &Disk) -> Result<Handle, Divergence> {
        let opened = self
            .binding
            .open_on(disk.storage(), self.durability)
            .ok_or_else(|| {
                self.diverged(format!(
                    "the `{}` binding cannot open on the fault-injecting disk (it has no \
                         open_on); check it in a directory",
                    self.binding.name()
                ))
            })?;
        opened.map_err(|e| self.diverged(format!("the database does not reopen: {e:?}")))
    }

    fn subject(&self) -> &Handle {
        // Every path that takes the subject out puts a new one back before returning Ok.
        self.subject
            .as_ref()
            .expect("the subject is open between steps")
    }

    fn model_state(&self) -> State {
        state(&self.model).expect("the model never fails")
    }

    fn every_write(&self) -> bool {
        self.durability == Some(Durability::EveryWrite)
    }

    /// What a clean close and reopen must give: everything, or nothing for a store that keeps
    /// nothing.
    fn after_clean_reopen(&self) -> State {
        match self.durability {
            Some(_) => self.model_state(),
            None => State::new(),
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), Divergence> {
        let failures = self.disk.failures();
        match op {
            Op::FailIn(n) => {
                self.disk.fail_in(u64::from(*n % 32));
                Ok(())
            }
            Op::Crash(_) if self.dir.is_some() => {
                // A directory cannot lose power here: drop without close(). What a dropped
                // store keeps is its own affair, between the last flush and everything.
                drop(self.subject.take());
                let candidates = [self.durable.clone(), self.after_clean_reopen()];
                self.reopen_and_compare(&candidates)
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
                let closed = self.subject.take().map(Handle::close);
                let failed = self.disk.failures() > failures;
                match closed {
                    Some(Ok(())) if !failed => {
                        let expected = self.after_clean_reopen();
                        self.reopen_and_compare(&[expected])
                    }
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
            Op::Flush | Op::Compact => {
                let compacted = match op {
                    Op::Compact => self.subject().compact(),
                    _ => None,
                };
                let flushed = compacted.unwrap_or_else(|| self.bug.flush(self.subject().store()));
                let failed = self.disk.failures() > failures;
                match flushed {
                    Ok(()) if !failed => {
                        self.durable = self.after_clean_reopen();
                        Ok(())
                    }
                    Err(e) if !failed => {
                        Err(self.diverged(format!("{op:?} failed with no injected fault: {e:?}")))
                    }
                    _ => {
                        let candidates = [self.durable.clone(), self.model_state()];
                        self.crash(PowerLoss::LOSE_ALL, &candidates)
                    }
                }
            }
            op => {
                let raced = self.race_to_create(op)?;
                // The writes at every eighth step: two threads and their schedule cost more
                // than the write itself (at every fourth, a quarter more time per input).
                if self.every_write()
                    && self.step.is_multiple_of(GROUP_EVERY)
                    && self.binding.concurrency() != Concurrency::SingleThread
                    && writes(op)
                {
                    return self.write_twice(op, failures, raced);
                }
                let got = apply(&self.bug.in_store(self.subject().store()), op);
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
                        if let Some(raced) = raced {
                            let ids = op.documents();
                            raced
                                .agree(self.subject().store(), &ids)
                                .map_err(|e| self.diverged(e))?;
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
                        let candidates = self.after_failed_write(op);
                        self.crash(PowerLoss::LOSE_ALL, &candidates)
                    }
                }
            }
        }
    }

    /// The states a power loss may leave after `op` failed: it may have happened or not; with
    /// EveryWrite, either is durable, with OnFlush neither (it was never flushed). (The
    /// collection a write names is created first, by its own commit, so with EveryWrite it may
    /// exist without the write.)
    fn after_failed_write(&self, op: &Op) -> Vec<State> {
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
        candidates
    }

    /// An `EveryWrite` write made by two threads sharing one group commit (see
    /// [`group`](super::group)). A thread that got `Ok` says the write is durable: a power
    /// loss the moment it returned, and one after an injected failure, must keep it.
    fn write_twice(
        &mut self,
        op: &Op,
        failures: u64,
        raced: Option<Raced>,
    ) -> Result<(), Divergence> {
        let subject = self
            .subject
            .take()
            .expect("the subject is open between steps");
        let disk = self.dir.is_none().then_some(&self.disk);
        let (subject, written) = group::write_at_once(subject, op, &self.bug, disk);
        self.subject = subject;
        let written =
            written.map_err(|e| self.diverged(format!("two threads writing at once: {e}")))?;
        if self.subject.is_none() {
            return Err(self.diverged("a thread writing kept the store"));
        }
        let failed = self.disk.failures() > failures;
        let acknowledged = written.iter().any(|w| w.result.is_ok());
        match group::first_error(&written) {
            Some(e) if !failed => {
                return Err(self.diverged(format!("error with no injected fault: {e:?}")));
            }
            Some(_) if !acknowledged => {
                let candidates = self.after_failed_write(op);
                return self.crash(PowerLoss::LOSE_ALL, &candidates);
            }
            _ => {}
        }
        apply(&self.model, op).expect("the model never fails");
        let after = self.model_state();
        for (thread, w) in written.iter().enumerate() {
            if let Some(image) = &w.durable_at_return {
                let survivor = Disk::from_image(image.clone());
                let opened = self.open_on(&survivor)?;
                let when = format!("after a power loss the moment thread {thread} returned Ok,");
                recovered(&opened, std::slice::from_ref(&after), &when)
                    .map_err(|e| self.diverged(e))?;
            }
        }
        if failed {
            // Acknowledged, so durable, whatever else failed.
            return self.crash(PowerLoss::LOSE_ALL, &[after]);
        }
        if let Some(raced) = raced {
            raced
                .agree(self.subject().store(), &op.documents())
                .map_err(|e| self.diverged(e))?;
        }
        self.durable = after;
        Ok(())
    }

    /// When `op` writes to a collection the store does not have yet, two threads create it at
    /// once first (see [`race`](super::race)); `None` otherwise, and for a store that allows one
    /// thread at a time.
    fn race_to_create(&mut self, op: &Op) -> Result<Option<Raced>, Divergence> {
        let (Op::Upsert(c, ..) | Op::UpsertMany(c, _)) = op else {
            return Ok(None);
        };
        let name = c.name();
        if self.binding.concurrency() == Concurrency::SingleThread
            || self.model.list_collections().iter().any(|n| n == name)
        {
            return Ok(None);
        }
        let subject = self
            .subject
            .take()
            .expect("the subject is open between steps");
        let (subject, raced) = race::create_at_once(subject, name);
        self.subject = subject;
        let raced =
            raced.map_err(|e| self.diverged(format!("two threads creating {name:?}: {e}")))?;
        if self.subject.is_none() {
            return Err(self.diverged(format!("a thread creating {name:?} kept the store")));
        }
        Ok(Some(raced))
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
        let found = recovered(&opened, candidates, "after reopen").map_err(|e| self.diverged(e))?;
        for (name, docs) in &found {
            let collection = opened.store().collection(name);
            if collection.name() != name {
                return Err(self.diverged(format!(
                    "collection {name:?} calls itself {:?}",
                    collection.name()
                )));
            }
            let count = collection
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

/// Whether `op` writes. (An empty batch writes nothing: a collection whose creation failed
/// stays pending through it, as through a read.)
fn writes(op: &Op) -> bool {
    match op {
        Op::Upsert(..) | Op::Delete(..) => true,
        Op::UpsertMany(_, batch) => !batch.0.is_empty(),
        _ => false,
    }
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

/// Reads a reopened store's whole state, checks it is one of `candidates` and that the
/// binding's verify, if it has one, finds nothing; the error says what differs and `when`.
pub(crate) fn recovered(
    opened: &Handle,
    candidates: &[State],
    when: &str,
) -> Result<State, String> {
    let found =
        state(opened.store()).map_err(|e| format!("reading all {when}: {}", with_causes(&e)))?;
    if !candidates.contains(&found) {
        let allowed: Vec<String> = candidates.iter().map(summary).collect();
        return Err(format!(
            "{when} the state is {}, but the contract allows only {}",
            summary(&found),
            allowed.join(" or ")
        ));
    }
    if let Some(verified) = opened.verify() {
        let problems =
            verified.map_err(|e| format!("verify failed {when}: {}", with_causes(&e)))?;
        if !problems.is_empty() {
            return Err(format!("verify {when}: {problems:?}"));
        }
    }
    Ok(found)
}

pub(crate) fn summary(state: &State) -> String {
    let parts: Vec<String> = state
        .iter()
        .map(|(name, docs)| format!("{name:?}: {} docs", docs.len()))
        .collect();
    format!("{{{}}}", parts.join(", "))
}
