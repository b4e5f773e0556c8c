//! A deterministic schedule explorer: runs a few threads one at a time, switching only at the
//! schedule points the code under test marks ([`point`]), and tries every order of those
//! switches (depth first, up to a bound). A race that needs one thread to stop between two
//! steps while another runs through is then found on every run, not once in a million.
//!
//! Points sit where the marking thread holds no lock, so the thread chosen to run can always
//! reach its next point. A thread about to wait for another (a condition variable) marks
//! `blocking`; it is not chosen until it comes back to a point. Were every live thread
//! blocked for long, that is a lost wake-up, reported as a deadlock.
//!
//! Limits: a thread woken from such a wait runs beside the chosen one until its next point,
//! so around waits the orders explored depend on timing and a schedule may not repeat
//! exactly; and a thread that waits while holding a lock another thread then wants can be
//! reported as a deadlock that is not one (the checks here keep to two threads, where it
//! cannot happen).
//!
//! The points themselves are marked through `crate::schedule`, the leaf module the stores
//! import; this explorer registers each thread it runs there as their [`Scheduler`].
//! Outside an exploration, [`point`] and [`crate::schedule::blocking`] cost one thread-local
//! read.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[cfg(test)]
use crate::schedule::blocking;
use crate::schedule::{Scheduler, point};

/// How long every live thread may be blocked before it counts as a deadlock.
const DEADLOCK: Duration = Duration::from_secs(5);
/// The most points one schedule may pass: a loop around a point ends here.
const MAX_STEPS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Runs now; at most one thread does.
    Running,
    /// Stopped at a point, waiting to be chosen.
    AtPoint(&'static str),
    /// Waiting for another thread; not to be chosen until it is back at a point.
    Blocked,
    Done,
}

struct Controller {
    state: Mutex<Threads>,
    changed: Condvar,
}

impl Scheduler for Controller {
    fn pause(&self, me: usize, label: &'static str) {
        let mut threads = self.lock();
        threads.phases[me] = Phase::AtPoint(label);
        self.changed.notify_all();
        while threads.chosen != Some(me) {
            threads = self
                .changed
                .wait(threads)
                .unwrap_or_else(PoisonError::into_inner);
        }
        threads.chosen = None;
        threads.phases[me] = Phase::Running;
        self.changed.notify_all();
    }

    fn block(&self, me: usize) {
        self.lock().phases[me] = Phase::Blocked;
        self.changed.notify_all();
    }
}

struct Threads {
    phases: Vec<Phase>,
    /// The thread told to run, until it has seen it.
    chosen: Option<usize>,
}

impl Controller {
    fn lock(&self) -> MutexGuard<'_, Threads> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finish(&self, me: usize) {
        self.lock().phases[me] = Phase::Done;
        self.changed.notify_all();
    }

    /// Waits until no thread runs, then lets the `choice`-th of those at a point run (counted
    /// in thread order, the last if there are fewer). The threads there were to choose from,
    /// with their points; none once all are done.
    fn step(&self, choice: usize) -> Result<Vec<(usize, &'static str)>, String> {
        let mut threads = self.lock();
        let started = Instant::now();
        loop {
            let running = threads.chosen.is_some() || threads.phases.contains(&Phase::Running);
            let ready: Vec<(usize, &'static str)> = threads
                .phases
                .iter()
                .enumerate()
                .filter_map(|(i, p)| match p {
                    Phase::AtPoint(label) => Some((i, *label)),
                    _ => None,
                })
                .collect();
            if !running && !ready.is_empty() {
                let (thread, _) = ready[choice.min(ready.len() - 1)];
                threads.chosen = Some(thread);
                self.changed.notify_all();
                return Ok(ready);
            }
            if !running && threads.phases.iter().all(|p| *p == Phase::Done) {
                return Ok(Vec::new());
            }
            if started.elapsed() > DEADLOCK {
                return Err(format!(
                    "no thread can go on for {DEADLOCK:?}: {:?}",
                    threads.phases
                ));
            }
            threads = self
                .changed
                .wait_timeout(threads, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// What [`explore`] found.
#[derive(Debug)]
pub struct Explored {
    /// Schedules run.
    pub schedules: usize,
    /// Whether every schedule was run (else the bound stopped it).
    pub complete: bool,
}

/// Runs `threads` threads, thread `i` running `body(i)` after `setup` gave them their shared
/// state, under every order of their schedule points (up to `max_schedules`), then `check` on
/// that state; the first failure with the schedule that led to it.
///
/// # Errors
/// What failed, a panic or deadlock included, and the points in the order threads passed them.
pub fn explore<S: Send + Sync + 'static>(
    threads: usize,
    max_schedules: usize,
    setup: impl Fn() -> S,
    body: impl Fn(&S, usize) + Send + Sync + Clone + 'static,
    check: impl Fn(S) -> Result<(), String>,
) -> Result<Explored, String> {
    explore_from(&[], threads, max_schedules, setup, body, check)
}

/// Runs one schedule: at step `k` the `choices[k]`-th of the threads then at a point runs
/// (counted in thread order; the last when there are fewer), and past the end of `choices`
/// the first. Exact within the limits this module gives around waits. The model check
/// runs one this way when an operation creates a collection (see `check::race`).
///
/// # Errors
/// As [`explore`].
pub fn run_schedule<S: Send + Sync + 'static>(
    choices: &[usize],
    threads: usize,
    setup: impl Fn() -> S,
    body: impl Fn(&S, usize) + Send + Sync + Clone + 'static,
) -> Result<(), String> {
    explore_from(choices, threads, 1, setup, body, |_| Ok(())).map(drop)
}

/// As [`run_schedule`], the threads sharing `value` and each returning what its `body` gives:
/// `value` back (unless a thread kept it, after a deadlock, whose threads stay blocked) and
/// what each thread returned, in thread order.
pub(crate) fn run_schedule_on<V, T>(
    choices: &[usize],
    threads: usize,
    value: V,
    body: impl Fn(&V, usize) -> T + Send + Sync + Clone + 'static,
) -> (Option<V>, Result<Vec<T>, String>)
where
    V: Send + Sync + 'static,
    T: Send + 'static,
{
    let value = Arc::new(value);
    let got: Arc<Mutex<Vec<(usize, T)>>> = Arc::default();
    let setup = {
        let (value, got) = (value.clone(), got.clone());
        move || (value.clone(), got.clone())
    };
    let ran = run_schedule(choices, threads, setup, move |(value, got), thread| {
        let returned = body(value, thread);
        got.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((thread, returned));
    });
    // The setup and the threads, ended, hold no clone of the value any more.
    let value = Arc::try_unwrap(value).ok();
    let returned = ran.map(|()| {
        let mut got = std::mem::take(&mut *got.lock().unwrap_or_else(PoisonError::into_inner));
        got.sort_by_key(|(thread, _)| *thread);
        got.into_iter().map(|(_, returned)| returned).collect()
    });
    (value, returned)
}

/// [`explore`] from the schedule whose choices begin with `first` (with `max_schedules` 1,
/// that schedule alone).
fn explore_from<S: Send + Sync + 'static>(
    first: &[usize],
    threads: usize,
    max_schedules: usize,
    setup: impl Fn() -> S,
    body: impl Fn(&S, usize) + Send + Sync + Clone + 'static,
    check: impl Fn(S) -> Result<(), String>,
) -> Result<Explored, String> {
    // The choices of the schedule to run next; past its end, the first thread ready.
    let mut prefix: Vec<usize> = first.to_vec();
    let mut schedules = 0;
    loop {
        if schedules == max_schedules {
            return Ok(Explored {
                schedules,
                complete: false,
            });
        }
        schedules += 1;
        let shared = Arc::new(setup());
        let controller = Arc::new(Controller {
            state: Mutex::new(Threads {
                phases: vec![Phase::Running; threads],
                chosen: None,
            }),
            changed: Condvar::new(),
        });
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (controller, shared, body) = (controller.clone(), shared.clone(), body.clone());
                std::thread::spawn(move || {
                    crate::schedule::enter(controller.clone(), i);
                    point("start");
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&shared, i)));
                    crate::schedule::leave();
                    controller.finish(i);
                    outcome
                })
            })
            .collect();
        // (choice made, threads there were to choose from) at each step.
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut trace: Vec<String> = Vec::new();
        let mut failure = None;
        loop {
            if taken.len() == MAX_STEPS {
                failure = Some(format!("{MAX_STEPS} points passed without an end: a loop?"));
                break;
            }
            let choice = prefix.get(taken.len()).copied().unwrap_or(0);
            match controller.step(choice) {
                Ok(ready) if ready.is_empty() => break,
                Ok(ready) => {
                    let choice = choice.min(ready.len() - 1);
                    let (thread, label) = ready[choice];
                    trace.push(format!("{thread}: {label}"));
                    taken.push((choice, ready.len()));
                }
                Err(deadlock) => {
                    failure = Some(deadlock);
                    break;
                }
            }
        }
        if let Some(stuck) = failure {
            // A thread that panicked may be what the others wait for: say so first.
            let panicked = handles
                .into_iter()
                .filter(|h| h.is_finished())
                .filter_map(|h| h.join().ok()?.err())
                .map(|panic| panic_message(&*panic))
                .next();
            // The threads left stay blocked; they leak, as a deadlocked program's would.
            return Err(match panicked {
                Some(message) => format!(
                    "schedule {schedules}: a thread panicked: {message}; points passed: {trace:?}"
                ),
                None => format!("schedule {schedules}: {stuck}; points passed: {trace:?}"),
            });
        }
        for handle in handles {
            if let Err(panic) = handle.join().expect("the thread body's panic is caught") {
                let message = panic_message(&*panic);
                return Err(format!(
                    "schedule {schedules}: a thread panicked: {message}; points passed: {trace:?}"
                ));
            }
        }
        let shared = Arc::try_unwrap(shared)
            .unwrap_or_else(|_| panic!("every thread has ended and dropped the shared state"));
        check(shared)
            .map_err(|e| format!("schedule {schedules}: {e}; points passed: {trace:?}"))?;
        // The next schedule: the last choice that has an untried alternative takes it.
        let mut next = None;
        while let Some((choice, options)) = taken.pop() {
            if choice + 1 < options {
                let mut choices: Vec<usize> = taken.iter().map(|(c, _)| *c).collect();
                choices.push(choice + 1);
                next = Some(choices);
                break;
            }
        }
        match next {
            Some(choices) => prefix = choices,
            None => {
                return Ok(Explored {
                    schedules,
                    complete: true,
                });
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    crate::error::panic_message(panic).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread's panic fails the schedule in the panic's own words, a formatted message or
    /// a plain one.
    #[test]
    fn a_panic_is_reported_in_its_own_words() {
        let explore_panic = |formatted: bool| {
            explore(
                1,
                1,
                || (),
                move |(), thread| {
                    if formatted {
                        panic!("thread {thread} fell over");
                    }
                    panic!("fell over");
                },
                |()| Ok(()),
            )
            .expect_err("the thread panics")
        };
        assert_eq!(
            explore_panic(true),
            "schedule 1: a thread panicked: thread 0 fell over; points passed: [\"0: start\"]"
        );
        assert_eq!(
            explore_panic(false),
            "schedule 1: a thread panicked: fell over; points passed: [\"0: start\"]"
        );
    }

    /// A thread that waits for a wake-up nobody sends is a deadlock, reported once every live
    /// thread has been blocked for [`DEADLOCK`], with the phases and the points passed.
    #[test]
    fn a_wake_up_never_sent_is_reported_as_a_deadlock() {
        let found = explore(
            1,
            1,
            || Mutex::new(std::sync::mpsc::channel::<()>()),
            |channel, _| {
                let channel = channel.lock().unwrap_or_else(PoisonError::into_inner);
                blocking();
                // Its own sender stays alive: this waits for ever (the thread leaks).
                let _ = channel.1.recv();
            },
            |_| Ok(()),
        )
        .expect_err("the thread never wakes");
        assert_eq!(
            found,
            "schedule 1: no thread can go on for 5s: [Blocked]; points passed: [\"0: start\"]"
        );
    }
}
