//! Timing one call into a store: when it began and ended, and how it failed — by error or by
//! panic, which is caught, counted as a failure, and kept off the terminal.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::Once;
use std::time::Instant;

use crate::Result;

/// When a backend call began and ended, and how it failed if it did.
pub(super) struct Timed {
    pub(super) failure: Option<Failure>,
    pub(super) began: Instant,
    pub(super) ended: Instant,
}

/// Why an operation failed: the store's error, or its panic.
pub(super) enum Failure {
    Error(crate::Error),
    Panic(String),
    /// A part of a read-modify-write failed, as it says.
    Part(&'static str, String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Error(e) => {
                write!(f, "{e}")?;
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
            Failure::Panic(message) => write!(f, "panicked: {message}"),
            Failure::Part(part, failure) => write!(f, "its {part} failed: {failure}"),
        }
    }
}

/// Times `call`. A store that panics is a store that failed: the panic is caught and counted
/// with the errors, so one bad operation does not end the run (or the other bindings' runs).
pub(super) fn timed<T>(call: impl FnOnce() -> Result<T>) -> Timed {
    timed_value(call).1
}

/// [`timed`], keeping what `call` returned when it succeeded.
pub(super) fn timed_value<T>(call: impl FnOnce() -> Result<T>) -> (Option<T>, Timed) {
    CATCHING.set(true);
    let began = Instant::now();
    let result = std::panic::catch_unwind(AssertUnwindSafe(call));
    let ended = Instant::now();
    CATCHING.set(false);
    let (value, failure) = match result {
        Ok(Ok(value)) => (Some(value), None),
        Ok(Err(e)) => (None, Some(Failure::Error(e))),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            let failure = Failure::Panic(match PANICKED_AT.take() {
                Some(at) => format!("{message} at {at}"),
                None => message,
            });
            (None, Some(failure))
        }
    };
    let timed = Timed {
        failure,
        began,
        ended,
    };
    (value, timed)
}

thread_local! {
    /// Whether a store operation is running under [`timed`], which catches its panic.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last caught panic happened, noted by the hook for the failure's message.
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that keeps quiet about panics [`timed`] catches
/// (they are counted and reported with the failed operations; a store that panics on every
/// operation would otherwise print a message per operation) and passes every other panic to
/// the hook that was there before.
pub(super) fn quiet_caught_panics() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.get() {
                PANICKED_AT.set(info.location().map(ToString::to_string));
            } else {
                previous(info);
            }
        }));
    });
}

/// What a panic said, for a report: its message, or that it had none.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    crate::error::panic_message(panic).unwrap_or_else(|| "with no message".to_owned())
}
