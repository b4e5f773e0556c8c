//! A call the checks cannot trust to return: run on a thread of its own, so that a panic is
//! caught and named and a hang is cut off at a deadline. A hung thread is left running: a
//! thread cannot be stopped from outside.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use super::op::Op;

/// The variable that sets [`deadline`], in seconds.
pub(crate) const DEADLINE_VAR: &str = "STOREBENCH_CHECK_DEADLINE";

/// How long one call the checks make of a store (an operation, an open) may take before it
/// counts as a hang: `STOREBENCH_CHECK_DEADLINE` seconds, 30 when unset or not a positive
/// number. Long, because a debug build on a loaded machine is slow and a false hang is a
/// false finding; shorter for a store suspected of hanging.
pub(crate) fn deadline() -> Duration {
    deadline_from(std::env::var(DEADLINE_VAR).ok().as_deref())
}

fn deadline_from(var: Option<&str>) -> Duration {
    var.and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map_or(Duration::from_secs(30), Duration::from_secs_f64)
}

/// How a bounded call ended.
#[derive(Debug)]
pub(crate) enum Bounded<T> {
    /// It returned this.
    Returned(T),
    /// It panicked with this message.
    Panicked(String),
    /// It gave no answer within the deadline, this many seconds.
    Hung(f64),
    /// No thread could be started to run it.
    NoThread(std::io::Error),
}

/// Runs `call` on a thread named `name` and waits at most `deadline` for it.
pub(crate) fn call_bounded<T: Send + 'static>(
    name: &str,
    deadline: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> Bounded<T> {
    let (sender, receiver) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let outcome =
                catch_unwind(AssertUnwindSafe(call)).map_err(|panic| panic_text(panic.as_ref()));
            // The receiver is gone when the call hung past its deadline: nobody to tell.
            let _ = sender.send(outcome);
        });
    if let Err(e) = spawned {
        return Bounded::NoThread(e);
    }
    match receiver.recv_timeout(deadline) {
        Ok(Ok(value)) => Bounded::Returned(value),
        Ok(Err(panic)) => Bounded::Panicked(panic),
        Err(_) => Bounded::Hung(deadline.as_secs_f64()),
    }
}

/// What a watched call has got to: the step it is at and the operation there. The call ticks
/// it before each operation; the watcher reads it when the call is late.
#[derive(Debug, Default)]
pub(crate) struct Ticker {
    ticks: AtomicU64,
    at: Mutex<Option<(usize, Op)>>,
}

impl Ticker {
    /// The call is about to run `op`, step `step`.
    pub(crate) fn tick(&self, step: usize, op: &Op) {
        if let Ok(mut at) = self.at.lock() {
            *at = Some((step, op.clone()));
        }
        self.ticks.fetch_add(1, Ordering::Release);
    }

    fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Acquire)
    }

    /// The step and operation last ticked.
    pub(crate) fn at(&self) -> Option<(usize, Op)> {
        self.at.lock().ok().and_then(|at| at.clone())
    }
}

/// As [`call_bounded`], but the deadline is per operation: the call ticks `ticker` before each
/// one, and counts as hung only when `deadline` passes with no tick. `ticker.at()` then names
/// the operation it hangs in, as it does the one it panicked in.
pub(crate) fn call_watched<T: Send + 'static>(
    name: &str,
    deadline: Duration,
    ticker: &Arc<Ticker>,
    call: impl FnOnce(&Ticker) -> T + Send + 'static,
) -> Bounded<T> {
    let (sender, receiver) = mpsc::channel();
    let theirs = ticker.clone();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| call(&theirs)))
                .map_err(|panic| panic_text(panic.as_ref()));
            let _ = sender.send(outcome);
        });
    if let Err(e) = spawned {
        return Bounded::NoThread(e);
    }
    let mut seen = ticker.ticks();
    loop {
        match receiver.recv_timeout(deadline) {
            Ok(Ok(value)) => return Bounded::Returned(value),
            Ok(Err(panic)) => return Bounded::Panicked(panic),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = ticker.ticks();
                if now == seen {
                    return Bounded::Hung(deadline.as_secs_f64());
                }
                seen = now;
            }
            // The thread ended without a word: it cannot, it sends before it ends.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Bounded::Panicked("the checking thread ended without an outcome".into());
            }
        }
    }
}

/// What a panic said, for a divergence: its message, or that it had none.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    crate::error::panic_message(panic).unwrap_or_else(|| "a panic with no message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_a_panic_and_a_hang_are_told_apart() {
        let deadline = Duration::from_secs(30);
        assert!(matches!(
            call_bounded("t", deadline, || 7),
            Bounded::Returned(7)
        ));
        let panicked = call_bounded("t", deadline, || -> () { panic!("boom") });
        assert!(
            matches!(&panicked, Bounded::Panicked(m) if m == "boom"),
            "{panicked:?}"
        );
        let hung = call_bounded("t", Duration::from_millis(100), || {
            loop {
                std::thread::park();
            }
        });
        assert!(matches!(hung, Bounded::Hung(s) if s == 0.1), "{hung:?}");
    }

    #[test]
    fn a_watched_call_is_late_only_when_it_stops_ticking() {
        // Wide margins: a loaded machine stretches sleeps, and a stretched one must not
        // read as a hang.
        let deadline = Duration::from_millis(250);
        let ticker = Arc::new(Ticker::default());
        // Twice the deadline in all, but never a deadline without a tick.
        let busy = call_watched("t", deadline, &ticker, |ticker| {
            for step in 0..10 {
                ticker.tick(step, &Op::Flush);
                std::thread::sleep(Duration::from_millis(50));
            }
            10
        });
        assert!(matches!(busy, Bounded::Returned(10)), "{busy:?}");

        let ticker = Arc::new(Ticker::default());
        let hung = call_watched("t", deadline, &ticker, |ticker| {
            ticker.tick(0, &Op::Flush);
            ticker.tick(1, &Op::Reopen);
            loop {
                std::thread::park();
            }
        });
        assert!(matches!(hung, Bounded::Hung(_)), "{hung:?}");
        assert_eq!(ticker.at(), Some((1, Op::Reopen)));

        let ticker = Arc::new(Ticker::default());
        let panicked = call_watched("t", deadline, &ticker, |ticker| -> () {
            ticker.tick(3, &Op::Flush);
            panic!("boom")
        });
        assert!(matches!(&panicked, Bounded::Panicked(m) if m == "boom"));
        assert_eq!(ticker.at(), Some((3, Op::Flush)));
    }

    #[test]
    fn the_deadline_is_thirty_seconds_unless_set_to_a_positive_number() {
        let thirty = Duration::from_secs(30);
        assert_eq!(deadline_from(None), thirty);
        assert_eq!(deadline_from(Some("5")), Duration::from_secs(5));
        assert_eq!(deadline_from(Some(" 0.5 ")), Duration::from_millis(500));
        for bad in ["0", "-1", "soon", "inf", "NaN", ""] {
            assert_eq!(deadline_from(Some(bad)), thirty, "{bad}");
        }
    }
}
