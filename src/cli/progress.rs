//! Progress on stderr: bars on a terminal, plain lines for logs and CI.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use crate::runner::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// Draws each phase as an indicatif bar when stderr is a terminal, and otherwise prints one
/// line when a phase starts and one when it ends.
pub(crate) struct StderrProgress {
    bar: Mutex<Option<ProgressBar>>,
    plain: Mutex<Option<(String, Instant)>>,
    terminal: bool,
}

impl StderrProgress {
    pub(crate) fn new() -> Self {
        Self {
            bar: Mutex::new(None),
            plain: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for StderrProgress {
    fn phase(&self, workload: &str, backend: &str, phase: &str, total: Option<u64>) {
        let label = format!("{workload} on {backend}: {phase}");
        if self.terminal {
            let bar = match total {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            let style = ProgressStyle::with_template(
                "{msg:40} [{bar:30}] {human_pos}/{human_len} {elapsed} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(label);
            *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
        } else {
            eprintln!("{label} ...");
            *self.plain.lock().unwrap_or_else(|e| e.into_inner()) = Some((label, Instant::now()));
        }
    }

    fn advance(&self, done: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            bar.inc(done);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
        if let Some((label, start)) = self.plain.lock().unwrap_or_else(|e| e.into_inner()).take() {
            eprintln!("{label} done in {:.2}s", start.elapsed().as_secs_f64());
        }
    }
}
