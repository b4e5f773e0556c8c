//! The workload runner: drives any binding's store through a workload's phases and records
//! every operation's latency in HdrHistograms. It measures; it never formats (see `report`).

mod disk;
mod error;
mod generate;
mod interrupt;
mod log;
mod monitor;
mod progress;
mod recorder;
mod rss;
#[allow(clippy::module_inception)] // the module is named for the function it defines
mod run;
mod timed;
mod watchdog;
mod worker;

pub use error::RunError;
pub(crate) use interrupt::{interrupt, interrupted};
pub use log::OperationLog;
pub use monitor::{DEFAULT_SAMPLE_INTERVAL, ResourceSeries, Transfer};
pub use progress::{NoProgress, Progress};
pub use recorder::OperationHistograms;
pub(crate) use recorder::new_histogram;
pub use run::{PhaseOutcome, RunOutcome, run, run_logged};
pub(crate) use timed::panic_message;
pub use watchdog::{Hang, Watched, run_watched};
