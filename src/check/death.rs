//! The crash check by real process death, for any binding: a child process runs a scenario on
//! the store and dies at a chosen step; the parent reopens the store and checks the state is
//! exactly what the durability contract the binding declares keeps. It needs nothing of the
//! store but its binding, so it checks stores that cannot run on the fault-injecting disk.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::Divergence;
use super::checker::{State, offered, recovered, state};
use super::interpret::apply;
use super::op::{Mix, Op, Scenario};
use crate::binding::Binding;
use crate::error::with_causes;
use crate::{Durability, InMemoryBackend};

const ENV_BINDING: &str = "STOREBENCH_CRASH_BINDING";
const ENV_DIR: &str = "STOREBENCH_CRASH_DIR";
const ENV_SEED: &str = "STOREBENCH_CRASH_SEED";
const ENV_DURABILITY: &str = "STOREBENCH_CRASH_DURABILITY";
const ENV_ABORT_AT: &str = "STOREBENCH_CRASH_ABORT_AT";
const ENV_POINT: &str = "STOREBENCH_CRASH_POINT";
const ENV_POINT_NTH: &str = "STOREBENCH_CRASH_POINT_NTH";
/// The child prints this and the step number once a step's operation has returned.
const ACK: &str = "storebench-crash-ack";
/// The child prints this when an operation failed, which no fault explains.
const FAILED: &str = "storebench-crash-failed";
/// Bytes a seed is expanded to: scenarios of up to [`MAX_OPS`](super::MAX_OPS) operations.
const SCENARIO_BYTES: usize = 1024;

/// The scenario [`check_crash`] runs for `seed`: the operations a [`Divergence`]'s step
/// counts, and [`Death`]'s steps and acknowledgements index.
pub fn crash_scenario(seed: u64) -> Scenario {
    Scenario::from_seed(seed, SCENARIO_BYTES, Mix::NoFaults)
}

/// How the child dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// The child calls `std::process::abort` just before the operation of this step (after
    /// the last operation, when the scenario is shorter).
    Abort {
        /// The step.
        step: usize,
    },
    /// The parent kills the child (SIGKILL on Unix) once it has acknowledged this many
    /// operations: it dies wherever it is, possibly inside the next operation.
    Kill {
        /// Operations acknowledged first.
        after: usize,
    },
    /// The child aborts the `nth` time (from 1) a thread of its store reaches the crash point
    /// `point`, inside whatever operation is running: a death placed where a kill lands only
    /// by chance. The built-in stores mark `"batch: before commit"` and `"batch: after
    /// commit"`, around every commit of their batch of `OnFlush` writes. A child that never
    /// gets there is a divergence, so that the check cannot pass without dying where it says.
    AtPoint {
        /// The crash point's label.
        point: &'static str,
        /// Which time it is reached.
        nth: usize,
    },
}

/// The child's side of [`check_crash`]. Call it first thing in the entry point the parent's
/// command starts (a test function, a subcommand): in a crash child for `binding`, it runs
/// the scenario and dies, never returning; anywhere else it returns at once.
pub fn crash_child(binding: &dyn Binding) {
    let var = |name| std::env::var(name).ok();
    let (Some(name), Some(dir), Some(seed), Some(durability)) = (
        var(ENV_BINDING),
        var(ENV_DIR),
        var(ENV_SEED),
        var(ENV_DURABILITY),
    ) else {
        return;
    };
    if name != binding.name() {
        return;
    }
    let seed: u64 = seed.parse().unwrap_or_default();
    // `none`, for a store that offers no mode, is no durability.
    let durability: Option<Durability> = durability.parse().ok();
    let abort_at: Option<usize> = var(ENV_ABORT_AT).and_then(|s| s.parse().ok());
    if let Some(point) = var(ENV_POINT) {
        let nth = var(ENV_POINT_NTH).and_then(|s| s.parse().ok()).unwrap_or(1);
        crate::schedule::arm_crash_point(point, nth);
    }
    let scenario = crash_scenario(seed);
    let mut out = std::io::stdout().lock();
    let fail = |out: &mut std::io::StdoutLock<'_>, step: usize, what: String| -> ! {
        let _ = writeln!(out, "{FAILED} {step} {what}");
        let _ = out.flush();
        std::process::exit(3);
    };
    let dir = Path::new(&dir);
    let mut store = match binding.open(dir, durability) {
        Ok(store) => store,
        Err(e) => fail(&mut out, 0, format!("open: {}", with_causes(&e))),
    };
    for (step, op) in scenario.ops.iter().enumerate() {
        if abort_at == Some(step) {
            std::process::abort();
        }
        let done = match op {
            Op::Flush => store.flush(),
            Op::Compact => store.compact().unwrap_or_else(|| store.flush()),
            Op::Reopen => {
                let closed = store.close();
                store = match binding.open(dir, durability) {
                    Ok(store) => store,
                    Err(e) => fail(&mut out, step, format!("reopen: {}", with_causes(&e))),
                };
                closed
            }
            op => apply(store.store(), op).map(|_| ()),
        };
        if let Err(e) = done {
            fail(&mut out, step, format!("{op:?}: {}", with_causes(&e)));
        }
        let _ = writeln!(out, "{ACK} {step}");
        let _ = out.flush();
    }
    std::process::abort();
}

/// Runs the scenario drawn from `seed` (see [`Scenario::from_seed`]) on `binding`'s store in a
/// child process started by `child`, which must reach [`crash_child`] for this binding; the
/// child dies as `death` says. Then reopens the store here and checks its whole state is what
/// the contract of `durability` keeps: the last flush (`OnFlush`; a close counts), the last acknowledged write
/// (`EveryWrite`), or nothing (a store that offers no mode); with the operation the child died
/// in either done or not. Runs the binding's `verify()` too.
///
/// `child` is typically this very test binary, filtered to one test that calls
/// [`crash_child`]: `Command::new(std::env::current_exe()?).args(["--exact", "crash_child"])`.
///
/// # Errors
/// The [`Divergence`]: a state the contract does not allow, a reopen or `verify()` that
/// fails, or a child that failed an operation or did not die; one at step 0 naming the modes
/// offered when the binding offers modes but not `durability` (a store that offers none is
/// held to keeping nothing).
pub fn check_crash(
    binding: &dyn Binding,
    seed: u64,
    durability: Durability,
    death: Death,
    mut child: Command,
) -> Result<(), Divergence> {
    let scenario = crash_scenario(seed);
    let durability = offered(binding, durability)?;
    let diverged = |step: usize, what: String| Divergence {
        step,
        op: scenario.ops.get(step).cloned(),
        what,
    };
    let dir = tempfile::tempdir()
        .map_err(|e| diverged(0, format!("no temporary dir: {}", with_causes(&e))))?;
    child
        .env(ENV_BINDING, binding.name())
        .env(ENV_DIR, dir.path())
        .env(ENV_SEED, seed.to_string())
        .env(ENV_DURABILITY, durability.map_or("none", Durability::name))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match death {
        Death::Abort { step } => {
            child.env(ENV_ABORT_AT, step.to_string());
        }
        Death::AtPoint { point, nth } => {
            child
                .env(ENV_POINT, point)
                .env(ENV_POINT_NTH, nth.to_string());
        }
        Death::Kill { .. } => {}
    }
    let mut process = child
        .spawn()
        .map_err(|e| diverged(0, format!("the child does not start: {}", with_causes(&e))))?;
    let mut stderr = process.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let mut acked = 0usize;
    let mut failed = None;
    let mut at_point = false;
    if let Some(stdout) = process.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // A test harness may print its own text before ours on the same line.
            if line.contains(ACK) {
                acked += 1;
                if death == (Death::Kill { after: acked }) {
                    let _ = process.kill();
                }
            } else if line.contains(crate::schedule::CRASH_POINT_REACHED) {
                at_point = true;
            } else if let Some(at) = line.find(FAILED) {
                failed = Some(line[at + FAILED.len()..].trim().to_owned());
            }
        }
    }
    let status = process
        .wait()
        .map_err(|e| diverged(acked, format!("waiting for the child: {}", with_causes(&e))))?;
    let stderr = errors.join().unwrap_or_default();
    if let Some(what) = failed {
        return Err(diverged(
            acked,
            format!("an operation failed in the child with no fault injected: {what}"),
        ));
    }
    if status.success() {
        return Err(diverged(
            acked,
            format!(
                "the child did not run the scenario and die ({status}); does its entry call \
                 crash_child? Its stderr: {}",
                tail(&stderr)
            ),
        ));
    }

    // What the contract keeps after `j` operations, for each `j`.
    let durable = durable_states(&scenario, durability);
    let in_flight = match death {
        Death::Abort { step } => {
            let expected = step.min(scenario.ops.len());
            if acked != expected {
                return Err(diverged(
                    acked,
                    format!(
                        "the child acknowledged {acked} operations but was to die before \
                         step {expected} ({status}); its stderr: {}",
                        tail(&stderr)
                    ),
                ));
            }
            false
        }
        Death::AtPoint { point, nth } => {
            if !at_point {
                return Err(diverged(
                    acked,
                    format!(
                        "the child never reached crash point {point:?} (time {nth} wanted): it \
                         ran {acked} operations and died ({status}); does the store mark it?"
                    ),
                ));
            }
            true
        }
        Death::Kill { after } => {
            // Acknowledgements still in the pipe when the kill lands are read too, so more
            // than `after` is fine; fewer means the child died of something else.
            let expected = after.min(scenario.ops.len());
            if acked < expected {
                return Err(diverged(
                    acked,
                    format!(
                        "the child died by itself ({status}) before it was killed after \
                         {expected} operations; its stderr: {}",
                        tail(&stderr)
                    ),
                ));
            }
            true
        }
    };
    let Some(before) = durable.get(acked) else {
        return Err(diverged(
            acked,
            format!(
                "the child acknowledged {acked} operations of {}",
                scenario.ops.len()
            ),
        ));
    };
    let mut candidates = vec![before.clone()];
    if in_flight && let Some(op) = scenario.ops.get(acked) {
        if let Some(after) = durable.get(acked + 1) {
            candidates.push(after.clone());
        }
        // A write creates its collection first, in a commit of its own (as the built-in
        // stores do), so with EveryWrite the collection may exist without the write.
        if durability == Some(Durability::EveryWrite)
            && let Some(name) = op.collection()
            && let Err(at) = before.binary_search_by(|(n, _)| n.as_str().cmp(name))
        {
            let mut created = before.clone();
            created.insert(at, (name.to_owned(), Vec::new()));
            candidates.push(created);
        }
    }

    let reopened = binding.open(dir.path(), durability).map_err(|e| {
        diverged(
            acked,
            format!(
                "the store does not reopen after the crash: {}",
                with_causes(&e)
            ),
        )
    })?;
    let when = format!("after the child died having acknowledged {acked} operations,");
    recovered(&reopened, &candidates, &when).map_err(|e| diverged(acked, e))?;
    reopened
        .close()
        .map_err(|e| diverged(acked, format!("close after the crash: {}", with_causes(&e))))
}

/// `durable[j]`: the state the contract keeps once `j` operations have returned.
fn durable_states(scenario: &Scenario, durability: Option<Durability>) -> Vec<State> {
    let model = InMemoryBackend::new();
    let mut kept = State::new();
    let mut durable = vec![kept.clone()];
    for op in &scenario.ops {
        // The model never fails.
        let _ = apply(&model, op);
        let now = || state(&model).unwrap_or_default();
        kept = match (durability, op) {
            (None, _) => State::new(),
            (Some(Durability::EveryWrite), _) => now(),
            (Some(Durability::OnFlush), Op::Flush | Op::Compact | Op::Reopen) => now(),
            (Some(Durability::OnFlush), _) => kept,
        };
        durable.push(kept.clone());
    }
    durable
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(600);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}
