//! A call the checks cannot trust to return: run on a thread of its own, so that a panic is
//! caught and named and a hang is cut off at a deadline. A hung thread is left running: a
//! thread cannot be stopped from outside.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Duration;

/// How long a call the checks make of a store may take before it counts as a hang.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

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

/// A panic's message, when it carries one.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_owned())
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
}
