//! `Disk`: an in-memory disk that fails chosen calls and loses power on demand, for the checks
//! of any store that can keep its file on it ([`Binding::open_on`](crate::binding::Binding::open_on)).
//!
//! It keeps two images: `live`, what reads see, and `durable`, what survives a power loss.
//! `durable` advances only at a successful `sync_data`. A power loss yields a new disk from the
//! durable image plus any chosen part of the writes made since the last sync — none, all, some,
//! or the last of them torn — as a real disk may.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A mutation not yet synced.
#[derive(Debug, Clone)]
enum Unsynced {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
struct DiskState {
    live: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<Unsynced>,
    /// Mutating calls (write, set_len, sync_data) so far.
    calls: u64,
    /// Successful syncs so far.
    syncs: u64,
    /// The call number that fails, if armed.
    fail_at: Option<u64>,
    /// How many calls failed.
    failures: u64,
    /// Set by a power loss: the machine is gone, every later call fails.
    dead: bool,
}

/// Which of the unsynced writes reach the platter when power is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerLoss {
    /// Bit `i` keeps the `i`-th unsynced mutation (mutations past the 64th are kept when
    /// `keep_rest`).
    pub keep: u64,
    /// Whether mutations past the 64th are kept.
    pub keep_rest: bool,
    /// When non-zero, the last kept write is torn: only its first `tear * 512` bytes land.
    pub tear: u8,
}

impl PowerLoss {
    /// Nothing since the last sync survives.
    pub const LOSE_ALL: PowerLoss = PowerLoss {
        keep: 0,
        keep_rest: false,
        tear: 0,
    };
    /// Everything written survives (a crash of the process, not of the machine).
    pub const KEEP_ALL: PowerLoss = PowerLoss {
        keep: u64::MAX,
        keep_rest: true,
        tear: 0,
    };
}

/// A shared handle to one disk; clones see the same disk.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    state: Arc<Mutex<DiskState>>,
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// A disk holding `image`, synced.
    pub fn from_image(image: Vec<u8>) -> Self {
        let state = DiskState {
            live: image.clone(),
            durable: image,
            ..DiskState::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, DiskState> {
        // Every mutation of the state completes under the lock; a panic elsewhere leaves it whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A storage handle on this disk: the file a store under test reads and writes.
    pub fn storage(&self) -> FaultStorage {
        FaultStorage { disk: self.clone() }
    }

    /// Makes the mutating call `n` calls from now fail (0: the very next one).
    pub fn fail_in(&self, n: u64) {
        let mut state = self.lock();
        state.fail_at = Some(state.calls + n);
    }

    /// Disarms any pending failure.
    pub fn disarm(&self) {
        self.lock().fail_at = None;
    }

    /// How many calls have failed so far.
    pub fn failures(&self) -> u64 {
        self.lock().failures
    }

    /// How many syncs have succeeded so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// How many mutations were made since the last sync: what a power loss now may lose.
    pub fn unsynced(&self) -> usize {
        self.lock().unsynced.len()
    }

    /// The live image.
    pub fn image(&self) -> Vec<u8> {
        self.lock().live.clone()
    }

    /// What a power loss now would leave if it kept none of the unsynced writes; the disk
    /// lives on.
    pub fn durable_image(&self) -> Vec<u8> {
        self.lock().durable.clone()
    }

    /// Cuts the power: this disk goes dead (its storage fails every later call, so a backend
    /// still holding it writes nothing more), and the returned disk holds what survived.
    pub fn power_loss(&self, loss: PowerLoss) -> Disk {
        let mut state = self.lock();
        state.dead = true;
        let mut image = state.durable.clone();
        let kept: Vec<&Unsynced> = state
            .unsynced
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                if *i < 64 {
                    loss.keep & (1 << i) != 0
                } else {
                    loss.keep_rest
                }
            })
            .map(|(_, m)| m)
            .collect();
        let last_write = kept
            .iter()
            .rposition(|m| matches!(m, Unsynced::Write { .. }));
        for (i, mutation) in kept.iter().enumerate() {
            match mutation {
                Unsynced::SetLen(len) => image.resize(*len as usize, 0),
                Unsynced::Write { offset, data } => {
                    let torn = Some(i) == last_write && loss.tear > 0;
                    let len = if torn {
                        data.len().min(usize::from(loss.tear) * 512)
                    } else {
                        data.len()
                    };
                    apply_write(&mut image, *offset, &data[..len]);
                }
            }
        }
        Disk::from_image(image)
    }
}

fn apply_write(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let end = offset as usize + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[offset as usize..end].copy_from_slice(data);
}

/// A [`Disk`] as a redb `StorageBackend`, for stores built on redb; other stores take the
/// `Disk` itself.
#[derive(Debug)]
pub struct FaultStorage {
    disk: Disk,
}

impl FaultStorage {
    /// Counts a mutating call and fails it if it is the armed one or the disk is dead.
    fn mutating_call(state: &mut DiskState) -> std::io::Result<()> {
        if state.dead {
            return Err(std::io::Error::other("the disk lost power"));
        }
        let call = state.calls;
        state.calls += 1;
        if state.fail_at == Some(call) {
            state.fail_at = None;
            state.failures += 1;
            return Err(std::io::Error::other(format!(
                "injected failure of storage call {call}"
            )));
        }
        Ok(())
    }
}

impl FaultStorage {
    /// The file's length.
    ///
    /// # Errors
    /// Never; the signature is a file's.
    #[allow(clippy::len_without_is_empty)] // a file's length, with a file's signature
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(self.disk.lock().live.len() as u64)
    }

    /// Reads `out.len()` bytes at `offset`.
    ///
    /// # Errors
    /// When the range lies past the end of the file.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let state = self.disk.lock();
        let start = usize::try_from(offset).map_err(std::io::Error::other)?;
        let end = start
            .checked_add(out.len())
            .filter(|&end| end <= state.live.len());
        let end = end.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end")
        })?;
        out.copy_from_slice(&state.live[start..end]);
        Ok(())
    }

    /// Grows or truncates the file (a mutating call).
    ///
    /// # Errors
    /// When this call is the armed failure, the disk lost power, or the length is past
    /// [`MAX_DISK_BYTES`].
    pub fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut state = self.disk.lock();
        Self::mutating_call(&mut state)?;
        // Fuzzed images may claim absurd lengths; refuse rather than allocate them.
        if len > MAX_DISK_BYTES {
            return Err(std::io::Error::other("the disk is full"));
        }
        state.live.resize(len as usize, 0);
        state.unsynced.push(Unsynced::SetLen(len));
        Ok(())
    }

    /// Makes everything written so far survive a power loss (a mutating call).
    ///
    /// # Errors
    /// When this call is the armed failure or the disk lost power.
    pub fn sync_data(&self) -> std::io::Result<()> {
        let mut state = self.disk.lock();
        Self::mutating_call(&mut state)?;
        // The durable image plus every unsynced mutation in order is the live image; replaying
        // them costs what was written since the last sync, where a copy of the live image
        // would cost the whole disk at every sync.
        let DiskState {
            durable, unsynced, ..
        } = &mut *state;
        for mutation in unsynced.drain(..) {
            match mutation {
                Unsynced::SetLen(len) => durable.resize(len as usize, 0),
                Unsynced::Write { offset, data } => apply_write(durable, offset, &data),
            }
        }
        state.syncs += 1;
        Ok(())
    }

    /// Writes `data` at `offset` (a mutating call).
    ///
    /// # Errors
    /// When this call is the armed failure, the disk lost power, or the write ends past
    /// [`MAX_DISK_BYTES`].
    pub fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut state = self.disk.lock();
        Self::mutating_call(&mut state)?;
        if offset.saturating_add(data.len() as u64) > MAX_DISK_BYTES {
            return Err(std::io::Error::other("the disk is full"));
        }
        apply_write(&mut state.live, offset, data);
        state.unsynced.push(Unsynced::Write {
            offset,
            data: data.to_vec(),
        });
        Ok(())
    }
}

/// redb keeps its file on the disk through this.
#[cfg(feature = "redb-backend")]
impl redb::StorageBackend for FaultStorage {
    fn len(&self) -> std::io::Result<u64> {
        FaultStorage::len(self)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        FaultStorage::read(self, offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        FaultStorage::set_len(self, len)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        FaultStorage::sync_data(self)
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        FaultStorage::write(self, offset, data)
    }
}

/// The largest disk: bounds memory when a fuzzed image asks for more.
pub const MAX_DISK_BYTES: u64 = 256 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_synced_bytes_survive_a_total_power_loss() -> std::io::Result<()> {
        let disk = Disk::new();
        let s = disk.storage();
        s.write(0, b"synced")?;
        s.sync_data()?;
        s.write(0, b"SYNCED, then more")?;
        let after = disk.power_loss(PowerLoss::LOSE_ALL);
        assert_eq!(after.image(), b"synced");
        assert!(s.write(0, b"x").is_err(), "the old disk is dead");
        Ok(())
    }

    #[test]
    fn a_chosen_subset_of_unsynced_writes_survives_and_the_last_can_tear() -> std::io::Result<()> {
        let disk = Disk::new();
        let s = disk.storage();
        s.write(0, &[1; 1024])?;
        s.write(1024, &[2; 1024])?;
        let only_second = disk.power_loss(PowerLoss {
            keep: 0b10,
            keep_rest: false,
            tear: 1,
        });
        let image = only_second.image();
        assert_eq!(
            image.len(),
            1536,
            "the file ends where the torn write stopped"
        );
        assert!(
            image[..1024].iter().all(|&b| b == 0),
            "the first write was lost"
        );
        assert!(
            image[1024..].iter().all(|&b| b == 2),
            "512 bytes of the second landed"
        );
        Ok(())
    }

    #[test]
    fn the_armed_call_fails_once() -> std::io::Result<()> {
        let disk = Disk::new();
        let s = disk.storage();
        disk.fail_in(1);
        s.write(0, b"a")?;
        assert!(s.sync_data().is_err());
        s.sync_data()?;
        assert_eq!(disk.failures(), 1);
        Ok(())
    }
}
