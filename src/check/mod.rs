//! The shared operation model, the fault-injecting disk and the checker that the fuzz targets
//! and the property tests run (feature `check`).

mod checker;
mod corrupt;
mod disk;
mod op;
mod planted;

pub use checker::{Divergence, State, check, check_on_file, check_planted, state};
pub use corrupt::check_corrupt_file;
pub use disk::{Disk, FaultStorage, MAX_DISK_BYTES, PowerLoss};
pub use op::{
    Batch, COLLECTIONS, CollectionName, CrashPoint, DocId, IDS, MAX_BATCH, MAX_OPS, Op, Scenario,
    Subject, Value,
};
pub use planted::Planted;

/// The fuzz targets, by the names of their files in `fuzz/fuzz_targets/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Persisted backends against the model, with reopen but no faults.
    Differential,
    /// The same with injected storage failures and power losses.
    CrashRecovery,
    /// Damaged files and damaged change-log chunks.
    CorruptFile,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [
        Target::Differential,
        Target::CrashRecovery,
        Target::CorruptFile,
    ];

    /// The target's name, as cargo-fuzz and the corpus directories spell it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Differential => "differential",
            Target::CrashRecovery => "crash_recovery",
            Target::CorruptFile => "corrupt_file",
        }
    }

    /// Runs one input of this target, as the fuzzer does and as the regression replay does.
    ///
    /// # Errors
    /// The contract violation found. Inputs too short to decode are not violations.
    pub fn run(self, data: &[u8]) -> Result<(), String> {
        match self {
            Target::CorruptFile => check_corrupt_file(data),
            Target::Differential | Target::CrashRecovery => {
                let Ok(scenario) = Scenario::from_bytes(data, self == Target::CrashRecovery) else {
                    return Ok(());
                };
                check(&scenario).map_err(|d| d.to_string())
            }
        }
    }
}
