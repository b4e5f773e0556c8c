//! Every check, for one binding, in one line of a user's test file: the
//! [`conformance!`](macro@crate::check::conformance) macro expands to a test function per check,
//! the crash child included, and each calls one function of this module.
//!
//! The functions fix what the checks run (seeds, deaths, modes) at sizes that keep a debug
//! test run within seconds per check; a user who wants more calls the checks themselves.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use super::Divergence;
use super::bounded::{Bounded, DEADLINE_VAR, Ticker, call_bounded, call_watched, deadline};
use super::checker::{Place, check_ticked};
use super::closed::check_use_after_close;
use super::concurrency::check_concurrency;
use super::damage::check_file_damage;
use super::death::{Death, check_crash};
use super::fuzz::opens_on_disk;
use super::known::{Excused, Excuses, KnownDefect};
use super::op::{Mix, Scenario};
use crate::binding::Binding;

/// Seeds of the model check's scenarios.
const MODEL_SEEDS: u64 = 48;
/// Seeds of the crash check, per durability mode.
const CRASH_SEEDS: u64 = 6;

/// The model check on scenarios drawn from the seeds `0..48`: on the fault-injecting disk
/// when the binding can open there, else each in a fresh temporary directory. A divergence
/// one of `known` explains ends its scenario, is excused, and the next scenario runs.
///
/// Each scenario runs on a thread of its own: a panic in the store is a divergence at the
/// operation it panicked in, and an operation that gives no answer within the deadline
/// (`STOREBENCH_CHECK_DEADLINE` seconds, 30 by default) one at the operation it hangs in. A
/// hung thread is left running; the check goes on.
///
/// # Errors
/// The first [`Divergence`] no known defect explains, its `what` prefixed with the seed.
pub fn model(binding: Arc<dyn Binding>, known: &[KnownDefect]) -> Result<Vec<Excused>, Divergence> {
    let mut excuses = Excuses::new(known);
    let on_disk = opens_on_disk(binding.as_ref())?;
    for seed in 0..MODEL_SEEDS {
        let scenario = Scenario::from_seed(seed, 800, Mix::Operations);
        if let Err(d) = model_scenario(binding.clone(), scenario, on_disk) {
            excuses.excuse(seeded(d, format!("seed {seed}")))?;
        }
    }
    Ok(excuses.into_excused())
}

/// One scenario of the model check, watched operation by operation.
fn model_scenario(
    binding: Arc<dyn Binding>,
    scenario: Scenario,
    on_disk: bool,
) -> Result<(), Divergence> {
    let dir = if on_disk {
        None
    } else {
        Some(temporary_dir()?)
    };
    let ticker = Arc::new(Ticker::default());
    let ended = call_watched(
        "storebench-model-check",
        deadline(),
        &ticker,
        move |ticker| {
            let place = match &dir {
                Some(dir) => Place::Dir(dir.path()),
                None => Place::Disk,
            };
            check_ticked(binding.as_ref(), &scenario, place, ticker)
        },
    );
    let at = ticker.at();
    let failed = |what: String| Divergence {
        step: at.as_ref().map_or(0, |(step, _)| *step),
        op: at.as_ref().map(|(_, op)| op.clone()),
        what,
    };
    match ended {
        Bounded::Returned(checked) => checked,
        Bounded::Panicked(message) => Err(failed(format!("a panic: {message}"))),
        Bounded::Hung(seconds) => Err(failed(hung(seconds))),
        Bounded::NoThread(e) => Err(failed(format!("cannot start a thread to check on: {e}"))),
    }
}

/// A case's answer, bounded: `call` on a thread of its own, which may take ten deadlines (a
/// case is many operations, and the crash check's a child process's too).
fn bounded_case(
    name: &str,
    call: impl FnOnce() -> Result<(), Divergence> + Send + 'static,
) -> Result<(), Divergence> {
    let failed = |what: String| Divergence {
        step: 0,
        op: None,
        what,
    };
    match call_bounded(name, deadline() * 10, call) {
        Bounded::Returned(checked) => checked,
        Bounded::Panicked(message) => Err(failed(format!("a panic: {message}"))),
        Bounded::Hung(seconds) => Err(failed(hung(seconds))),
        Bounded::NoThread(e) => Err(failed(format!("cannot start a thread to check on: {e}"))),
    }
}

fn hung(seconds: f64) -> String {
    format!(
        "no answer in {seconds} s: the store hangs (`{DEADLINE_VAR}` sets the deadline); its \
         thread is left running"
    )
}

/// The crash check by process death in every durability mode the binding offers, six seeds
/// each, the child aborting at a step or killed from outside by turns. `child` makes the
/// command that starts a crash child: see [`child`]. A divergence one of `known` explains is
/// excused, and the next case runs. A store that offers no mode keeps nothing across a death,
/// and has nothing to check here. Each case may take ten deadlines (see [`model`]).
///
/// # Errors
/// The first [`Divergence`] no known defect explains, its `what` prefixed with the mode, seed
/// and death.
pub fn crash(
    binding: Arc<dyn Binding>,
    known: &[KnownDefect],
    child: impl Fn() -> Command,
) -> Result<Vec<Excused>, Divergence> {
    let mut excuses = Excuses::new(known);
    for &durability in binding.durabilities() {
        for seed in 0..CRASH_SEEDS {
            let step = 8 + 9 * seed as usize;
            let death = match seed % 2 {
                0 => Death::Abort { step },
                _ => Death::Kill { after: step - 4 },
            };
            let (binding, child) = (binding.clone(), child());
            let checked = bounded_case("storebench-crash-check", move || {
                check_crash(binding.as_ref(), seed, durability, death, child)
            });
            if let Err(d) = checked {
                excuses.excuse(seeded(d, format!("{durability} seed {seed} {death:?}")))?;
            }
        }
    }
    Ok(excuses.into_excused())
}

/// The command that starts this test binary as a crash child: the test function `name` of the
/// module `module` (what `module_path!()` says where the macro expanded), alone.
pub fn child(module: &str, name: &str) -> Command {
    // A test's name is its path without the crate's name.
    let path = match module.split_once("::") {
        Some((_, inner)) => format!("{inner}::{name}"),
        None => name.to_owned(),
    };
    let exe = std::env::current_exe().unwrap_or_default();
    let mut command = Command::new(exe);
    command.args(["--exact", &path, "--nocapture", "--test-threads=1"]);
    command
}

/// Set in a child that [`in_child`] starts.
const CHILD_ENV: &str = "STOREBENCH_CONFORMANCE_CHILD";

/// Runs the test `name` of `module` alone in a child process and returns how it ended and
/// what it printed: for a check on a store that may kill the process checking it (an abort,
/// a SIGBUS), whose test does its work only when [`is_child`].
///
/// # Errors
/// The test binary cannot be started.
pub fn in_child(module: &str, name: &str) -> std::io::Result<std::process::Output> {
    // No backtrace: the end of what the child printed is its verdict, which callers show.
    child(module, name)
        .env(CHILD_ENV, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
}

/// Whether this process was started by [`in_child`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// The concurrency check in every durability mode the binding offers (once, for a store
/// that offers none). A divergence one of `known` explains is excused. Each mode may take ten
/// deadlines (see [`model`]).
///
/// # Errors
/// The first [`Divergence`] no known defect explains, its `what` prefixed with the mode.
pub fn concurrency(
    binding: Arc<dyn Binding>,
    known: &[KnownDefect],
) -> Result<Vec<Excused>, Divergence> {
    let mut excuses = Excuses::new(known);
    let modes = binding.durabilities();
    let modes = if modes.is_empty() {
        &[crate::Durability::OnFlush][..]
    } else {
        modes
    };
    for &durability in modes {
        let dir = temporary_dir()?;
        let binding = binding.clone();
        let checked = bounded_case("storebench-concurrency-check", move || {
            check_concurrency(binding.as_ref(), durability, dir.path())
        });
        if let Err(d) = checked {
            excuses.excuse(seeded(d, durability.to_string()))?;
        }
    }
    Ok(excuses.into_excused())
}

/// The use-after-close check in a fresh temporary directory; each call it makes of the store
/// is bounded by the deadline (see [`model`]).
///
/// # Errors
/// The first [`Divergence`] no known defect explains.
pub fn use_after_close(
    binding: Arc<dyn Binding>,
    known: &[KnownDefect],
) -> Result<Vec<Excused>, Divergence> {
    let dir = temporary_dir()?;
    check_use_after_close(binding.as_ref(), dir.path(), known)
}

/// The file-damage check with the seeds `0..2`. A store offering durability must have had
/// damaged copies opened: a check of none would pass on nothing.
///
/// # Errors
/// The first [`Divergence`] no known defect explains, its `what` prefixed with the seed.
pub fn file_damage(
    binding: Arc<dyn Binding>,
    known: &[KnownDefect],
) -> Result<Vec<Excused>, Divergence> {
    let mut excuses = Excuses::new(known);
    for seed in 0..2 {
        let damaged = check_file_damage(binding.clone(), seed, known)
            .map_err(|d| seeded(d, format!("seed {seed}")))?;
        if !binding.durabilities().is_empty() && damaged.cases == 0 {
            return Err(Divergence {
                step: 0,
                op: None,
                what: format!("seed {seed}: the store offers durability but no file was damaged"),
            });
        }
        excuses.extend(damaged.excused);
    }
    Ok(excuses.into_excused())
}

fn temporary_dir() -> Result<tempfile::TempDir, Divergence> {
    tempfile::tempdir().map_err(|e| Divergence {
        step: 0,
        op: None,
        what: format!("cannot make a temporary directory: {e}"),
    })
}

fn seeded(divergence: Divergence, case: String) -> Divergence {
    Divergence {
        what: format!("{case}: {}", divergence.what),
        ..divergence
    }
}

/// How the file-damage test of [`conformance!`](macro@crate::check::conformance) runs the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DamageRun {
    /// In the test process, as every other check.
    InProcess,
    /// In a child process ([`in_child`]): for a store that may kill the process checking it
    /// (an abort, a SIGBUS on a memory map). The test passes when the child does.
    InChild,
    /// In a child process, which must fail: the store's damage findings are known and some
    /// cannot be excused (a process cannot go on past its own death). The test prints what the
    /// child found, and fails when the check passes: then the store has mended them, and the
    /// check should run as [`DamageRun::InChild`].
    Fails,
}

/// The file-damage test: runs the test `child_test` of `module` in a child unless `run` is
/// [`DamageRun::InProcess`], and judges how the child ended.
///
/// # Panics
/// As a test fails: with the divergence, with how the child ended and the end of what it
/// printed, or (for [`DamageRun::Fails`]) because the child passed.
pub fn file_damage_test(
    binding: Arc<dyn Binding>,
    known: &[KnownDefect],
    run: DamageRun,
    module: &str,
    child_test: &str,
) {
    if run == DamageRun::InProcess {
        return conclude(binding.as_ref(), file_damage(binding.clone(), known));
    }
    let ended = match in_child(module, child_test) {
        Ok(ended) => ended,
        Err(e) => panic!(
            "{}: cannot start the file-damage child: {e}",
            binding.name()
        ),
    };
    let printed = String::from_utf8_lossy(&ended.stderr);
    // The child's verdict and what led to it are its last lines; the whole is in the child.
    let tail: Vec<&str> = printed.lines().rev().take(12).collect();
    let tail: String = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    match (run, ended.status.success()) {
        (DamageRun::InChild, false) => panic!(
            "{}: the file-damage check failed in its child ({}):\n{tail}",
            binding.name(),
            ended.status
        ),
        (DamageRun::Fails, true) => panic!(
            "{}: the file-damage check passed: the store's known damage findings are mended; \
             run it with `file_damage: in_child` and update what the findings say",
            binding.name()
        ),
        (DamageRun::Fails, false) => eprintln!(
            "{}: the file-damage check fails, as its findings say ({}):\n{tail}",
            binding.name(),
            ended.status
        ),
        _ => {}
    }
}

/// Replays every input in `dirs` (a fuzz target's committed seeds and regression inputs) as
/// [`fuzz_binding`](crate::check::fuzz_binding) runs it. A divergence one of `known` explains
/// is excused. Files whose names start with `.` are skipped (`.gitkeep`).
///
/// # Errors
/// A directory that cannot be read, no input in any of them (a replay of nothing would pass
/// on nothing), or the first [`Divergence`] no known defect explains, its `what` prefixed with
/// the input's path.
pub fn fuzz_inputs<P: AsRef<Path>>(
    binding: &dyn Binding,
    known: &[KnownDefect],
    dirs: &[P],
) -> Result<Vec<Excused>, Divergence> {
    let mut excuses = Excuses::new(known);
    let mut replayed = 0;
    for dir in dirs {
        let dir = dir.as_ref();
        let unreadable = |e: std::io::Error| Divergence {
            step: 0,
            op: None,
            what: format!("cannot read the fuzz inputs in {}: {e}", dir.display()),
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let path = entry.map_err(unreadable)?.path();
            if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).map_err(unreadable)?;
            if let Err(d) = super::fuzz::fuzz_binding(binding, &data) {
                excuses.excuse(seeded(d, path.display().to_string()))?;
            }
            replayed += 1;
        }
    }
    if replayed == 0 {
        return Err(Divergence {
            step: 0,
            op: None,
            what: "no fuzz input in the directories given".to_owned(),
        });
    }
    Ok(excuses.into_excused())
}

/// What a conformance test does with its check's result: prints each known defect excused
/// (so the test's output says what it went past), panics with a divergence.
///
/// # Panics
/// With the divergence, as a test fails.
pub fn conclude(binding: &dyn Binding, result: Result<Vec<Excused>, Divergence>) {
    match result {
        Ok(excused) => {
            for e in excused {
                eprintln!("{}: {e}", binding.name());
            }
        }
        Err(d) => panic!("{}: {d}", binding.name()),
    }
}

/// Expands to one test function per check for a binding: the model check, the crash check by
/// process death (and its child: the test `conformance_crash_child`), the concurrency check,
/// the use-after-close check and the file-damage check. Each panics with the divergence it
/// finds, and prints the known defects it went past.
///
/// ```
/// # use std::path::Path;
/// # use storebench::binding::{Binding, Handle};
/// # use storebench::{Durability, InMemoryBackend, Result};
/// # struct MyBinding;
/// # impl Binding for MyBinding {
/// #     fn name(&self) -> &str { "mine" }
/// #     fn durabilities(&self) -> &[Durability] { &[] }
/// #     fn open(&self, _: &Path, _: Option<Durability>) -> Result<Handle> {
/// #         Ok(Handle::new(InMemoryBackend::new()))
/// #     }
/// # }
/// // In tests/conformance.rs:
/// storebench::check::conformance!(MyBinding);
/// # fn main() {}
/// ```
///
/// Options follow the binding, each optional, in this order:
/// - `known: KNOWN`, a `&[KnownDefect]` ([`KnownDefect`](crate::check::KnownDefect)): defects
///   the store is known to have, which every check reports once and goes on past;
/// - `file_damage: in_child` runs the file-damage check in a child process, for a store that
///   may kill the process checking it; `file_damage: fails` does so and expects it to fail,
///   for a store whose findings include such a death ([`DamageRun`]);
/// - `fuzz_inputs: ["fuzz/seeds/mine", "fuzz/regressions/mine"]` adds a test that replays each
///   file in those directories (relative to the package's root) as the fuzz target would
///   ([`fuzz_inputs`]).
///
/// For example `conformance!(MyBinding, known: KNOWN, file_damage: in_child)`.
///
/// The binding is an expression, evaluated once per test. For several bindings in one file,
/// expand each in a module of its own:
/// `mod sqlite { storebench::check::conformance!(super::SqliteBinding); }`.
#[macro_export]
#[doc(hidden)]
macro_rules! __conformance {
    (@known) => { &[] };
    (@known $known:expr) => { $known };
    (@damage) => { $crate::check::conformance::DamageRun::InProcess };
    (@damage in_child) => { $crate::check::conformance::DamageRun::InChild };
    (@damage fails) => { $crate::check::conformance::DamageRun::Fails };
    (@inputs $binding:expr, $known:expr,) => {};
    (@inputs $binding:expr, $known:expr, $inputs:expr) => {
        /// Every committed fuzz input, replayed as the fuzz target runs it.
        #[test]
        fn conformance_fuzz_inputs() {
            let checked = $crate::check::conformance::fuzz_inputs(&$binding, $known, &$inputs);
            $crate::check::conformance::conclude(&$binding, checked);
        }
    };
    (@tests $binding:expr, known: $known:expr, damage: $damage:expr, inputs: [$($inputs:expr)?]) => {
        /// The crash child of `conformance_crash`: returns at once unless started as one.
        #[test]
        fn conformance_crash_child() {
            $crate::check::crash_child(&$binding);
        }

        #[test]
        fn conformance_model() {
            let binding = ::std::sync::Arc::new($binding);
            let checked = $crate::check::conformance::model(binding.clone(), $known);
            $crate::check::conformance::conclude(binding.as_ref(), checked);
        }

        #[test]
        fn conformance_crash() {
            let child = || {
                $crate::check::conformance::child(::std::module_path!(), "conformance_crash_child")
            };
            let binding = ::std::sync::Arc::new($binding);
            let checked = $crate::check::conformance::crash(binding.clone(), $known, child);
            $crate::check::conformance::conclude(binding.as_ref(), checked);
        }

        #[test]
        fn conformance_concurrency() {
            let binding = ::std::sync::Arc::new($binding);
            let checked = $crate::check::conformance::concurrency(binding.clone(), $known);
            $crate::check::conformance::conclude(binding.as_ref(), checked);
        }

        #[test]
        fn conformance_use_after_close() {
            let binding = ::std::sync::Arc::new($binding);
            let checked = $crate::check::conformance::use_after_close(binding.clone(), $known);
            $crate::check::conformance::conclude(binding.as_ref(), checked);
        }

        /// The file-damage check in a child process (`file_damage: in_child` or `fails`):
        /// returns at once unless started as one.
        #[test]
        fn conformance_file_damage_child() {
            if $crate::check::conformance::is_child() {
                let binding = ::std::sync::Arc::new($binding);
                let checked = $crate::check::conformance::file_damage(binding.clone(), $known);
                $crate::check::conformance::conclude(binding.as_ref(), checked);
            }
        }

        #[test]
        fn conformance_file_damage() {
            $crate::check::conformance::file_damage_test(
                ::std::sync::Arc::new($binding),
                $known,
                $damage,
                ::std::module_path!(),
                "conformance_file_damage_child",
            );
        }

        $crate::check::conformance!(@inputs $binding, $known, $($inputs)?);
    };
    // The user's form, last: the forms above start with `@`, which no expression does.
    (
        $binding:expr
        $(, known: $known:expr)?
        $(, file_damage: $damage:ident)?
        $(, fuzz_inputs: $inputs:expr)?
        $(,)?
    ) => {
        $crate::check::conformance!(
            @tests $binding,
            known: ($crate::check::conformance!(@known $($known)?)),
            damage: ($crate::check::conformance!(@damage $($damage)?)),
            inputs: [$($inputs)?]
        );
    };
}
