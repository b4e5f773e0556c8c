//! The fuzz targets: this crate's, over its own bindings, and one call for a user's binding.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use super::checker::{Divergence, Place, check_binding};
use super::op::{Mix, Scenario};
use crate::binding::Binding;

/// The crate's fuzz targets, by the names of their files in `fuzz/fuzz_targets/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The persisted bindings against the model: every operation, with reopens, power losses
    /// and injected failures now and then ([`Mix::Operations`]).
    Differential,
    /// The same with flushes, power losses and injected failures as often as writes
    /// ([`Mix::Faults`]).
    CrashRecovery,
    /// Damaged files, damaged change-log chunks (the Automerge backend's own format), and
    /// values and counts rewritten in place, which `verify()` must name.
    CorruptFile,
    /// Automerge replicas writing, syncing over lossy links, crashing; then synced: they must
    /// converge on Automerge's merge and keep every durable write ([`check_convergence`]).
    ///
    /// [`check_convergence`]: super::check_convergence
    Convergence,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [
        Target::Differential,
        Target::CrashRecovery,
        Target::CorruptFile,
        Target::Convergence,
    ];

    /// The target's name, as cargo-fuzz and the corpus directories spell it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Differential => "differential",
            Target::CrashRecovery => "crash_recovery",
            Target::CorruptFile => "corrupt_file",
            Target::Convergence => "convergence",
        }
    }

    /// Runs one input of this target, as the fuzzer does and as the regression replay does;
    /// the number of operations it checked (a damaged file counts as one).
    ///
    /// # Errors
    /// The contract violation found. An empty input is not one.
    pub fn run(self, data: &[u8]) -> Result<usize, String> {
        let mix = match self {
            #[cfg(feature = "automerge-backend")]
            Target::CorruptFile => return super::check_corrupt_file(data).map(|_| 1),
            #[cfg(feature = "automerge-backend")]
            Target::Convergence => return super::check_convergence(data).map(|ran| ran.steps),
            #[cfg(not(feature = "automerge-backend"))]
            Target::CorruptFile | Target::Convergence => return Ok(0),
            Target::Differential => Mix::Operations,
            Target::CrashRecovery => Mix::Faults,
        };
        let Some(scenario) = Scenario::from_bytes(data, mix) else {
            return Ok(0);
        };
        let bindings = crate::binding::Bindings::builtin();
        let on_disk: Vec<&dyn Binding> = bindings
            .bindings()
            .filter(|b| !b.durabilities().is_empty())
            .collect();
        let Some(binding) = on_disk.get(scenario.pick(on_disk.len())) else {
            return Ok(0); // no persistent backend built in
        };
        check_binding(*binding, &scenario, Place::Disk)
            .map(|()| scenario.ops.len())
            .map_err(|d| format!("{}: {d}", binding.name()))
    }
}

/// One fuzz input on a user's binding, for a fuzz target of one line:
///
/// ```text
/// fuzz_target!(|data: &[u8]| storebench::check::fuzz_binding(&MyBinding, data).unwrap());
/// ```
///
/// The input decodes to a [`Scenario`]. A binding that can open on the fault-injecting disk
/// ([`Binding::open_on`]) runs there, with injected failures and power loss; any other runs
/// in a fresh temporary directory, with reopen and drop-without-close. An input too short to
/// decode checks nothing and passes.
///
/// # Errors
/// The [`Divergence`] from the model or the contract, its `what` prefixed with the binding's
/// name (the fuzz target turns it into the panic a fuzzer learns of); one at step 0 when no
/// temporary directory can be made, or when the binding offers [`Binding::open_on`] but
/// cannot open a fresh disk: falling back to a directory would hide that its fault-injection
/// path is broken.
pub fn fuzz_binding(binding: &dyn Binding, data: &[u8]) -> Result<(), Divergence> {
    // Decoded with faults either way: in a directory `FailIn` does nothing and `Crash` drops
    // the store without close(), so one input means the same operations on both places.
    let Some(scenario) = Scenario::from_bytes(data, Mix::Operations) else {
        return Ok(());
    };
    let named = |d: Divergence| Divergence {
        what: format!("{}: {}", binding.name(), d.what),
        ..d
    };
    let checked = if opens_on_disk(binding).map_err(named)? {
        check_binding(binding, &scenario, Place::Disk)
    } else {
        let dir = tempfile::tempdir().map_err(|e| {
            named(Divergence {
                step: 0,
                op: None,
                what: format!("cannot make a temporary directory: {e}"),
            })
        })?;
        check_binding(binding, &scenario, Place::Dir(dir.path()))
    };
    checked.map_err(named)
}

/// Whether `binding` opens on the fault-injecting disk: asked once per binding name and
/// process, not once per input.
///
/// # Errors
/// When the binding offers [`Binding::open_on`] but cannot open a fresh disk (asked again at
/// the next input).
pub(crate) fn opens_on_disk(binding: &dyn Binding) -> Result<bool, Divergence> {
    static ANSWERS: OnceLock<Mutex<BTreeMap<String, bool>>> = OnceLock::new();
    let mut answers = ANSWERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = answers.get(binding.name()) {
        return Ok(known);
    }
    let durability = binding.durabilities().first().copied();
    let opens = match binding.open_on(crate::fault::Disk::new().storage(), durability) {
        Some(Ok(handle)) => {
            let _ = handle.close();
            true
        }
        Some(Err(e)) => {
            return Err(Divergence {
                step: 0,
                op: None,
                what: format!(
                    "open_on a fresh disk failed: {}",
                    crate::error::with_causes(&e)
                ),
            });
        }
        None => false,
    };
    answers.insert(binding.name().to_owned(), opens);
    Ok(opens)
}
