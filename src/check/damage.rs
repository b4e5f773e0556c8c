//! The file-damage check, for any binding: the files a store keeps in its directory are
//! truncated, have bits flipped and blocks zeroed, or are replaced by a foreign file of the
//! same name. Opened on each, the store must refuse (an error from open, a read or `verify()`)
//! or come back to a state it once made durable; it must never panic, hang or hand back data
//! no write made.
//!
//! It needs nothing of the store's format, so it is blind to where the interesting bytes are:
//! damage lands at fixed places (the start, the middle, the end, page boundaries) and at
//! places drawn from a seed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Divergence;
use super::bounded::{Bounded, call_bounded, deadline};
use super::checker::{State, state, summary};
use super::known::{Excused, Excuses, KnownDefect};
use crate::binding::Binding;
use crate::error::with_causes;
use crate::{Durability, InMemoryBackend, StorageBackend};

/// The page size damage is aligned to: most stores write in pages of 4 KiB or a multiple.
const PAGE: u64 = 4096;
/// Bits flipped at places drawn from the seed, per file, besides the fixed places.
const DRAWN_FLIPS: usize = 6;

/// One way a file is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDamage {
    /// The file cut to this many bytes.
    Truncate(u64),
    /// One bit flipped: the byte at this offset XORed with the mask.
    FlipBit {
        /// The byte's offset.
        offset: u64,
        /// The bit flipped.
        mask: u8,
    },
    /// The page (of 4 KiB) starting at this offset, as far as the file reaches, zeroed.
    ZeroPage(u64),
    /// The file replaced by another program's file of the same length.
    Foreign,
}

/// What the file-damage check did: how many damaged copies it opened, and what the store made
/// of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damaged {
    /// The files damaged, relative to the store's directory.
    pub files: Vec<PathBuf>,
    /// Damaged copies opened.
    pub cases: usize,
    /// Those the store refused with an error (at open, at a read, or through `verify()`).
    pub refused: usize,
    /// Those the store opened to a state it once made durable (damage where it keeps nothing
    /// live, or a store that falls back to an older state).
    pub intact: usize,
    /// The known defects met and gone past.
    pub excused: Vec<Excused>,
}

/// Writes a fixed history to `binding`'s store (two flushes, then a close), then damages each
/// file the store keeps in its directory in every way [`FileDamage`] names, at fixed places and
/// at places drawn from `seed`, and opens a fresh copy of the directory for each. The store
/// runs with its preferred durability mode; a store that offers none keeps no file and passes
/// at once, while one that offers a mode but leaves no file in its directory is a divergence.
///
/// Each open runs on a thread of its own, so that a panic is caught and reported and a hang
/// is cut off after 30 s; that is why the binding is taken as an `Arc`. A divergence one of
/// `known` explains is counted in [`Damaged::excused`], and the check goes on.
///
/// # Errors
/// The [`Divergence`] found: at step `n`, the `n`th damaged copy; `what` names the file, the
/// damage and whether the store panicked, hung or returned data no write made. One at step 0
/// when the sound store cannot be written, or leaves no file though it offers durability.
pub fn check_file_damage(
    binding: Arc<dyn Binding>,
    seed: u64,
    known: &[KnownDefect],
) -> Result<Damaged, Divergence> {
    let failed = |step: usize, what: String| Divergence {
        step,
        op: None,
        what,
    };
    let Some(&durability) = binding.durabilities().first() else {
        return Ok(Damaged::default());
    };
    let pristine = tempfile::tempdir()
        .map_err(|e| failed(0, format!("no temporary dir: {}", with_causes(&e))))?;
    let allowed = write_history(binding.as_ref(), pristine.path(), durability)
        .map_err(|e| failed(0, format!("writing the store to damage: {e}")))?;
    let mut files = Vec::new();
    list_files(pristine.path(), Path::new(""), &mut files)
        .map_err(|e| failed(0, format!("listing the store's files: {}", with_causes(&e))))?;
    if files.is_empty() {
        // Durability offered with nothing on disk: either the data lives elsewhere, where the
        // check cannot damage it, or it is not kept at all. Passing with no case would hide both.
        return Err(failed(
            0,
            format!(
                "the store offers durability ({durability}) but left no file in its \
                 directory, so there is nothing to damage: it must keep its files in the \
                 directory it is opened on"
            ),
        ));
    }
    let mut damaged = Damaged {
        files: files.clone(),
        ..Damaged::default()
    };
    let allowed = Arc::new(allowed);
    let mut draws = Draws(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut excuses = Excuses::new(known);
    for file in &files {
        let len = std::fs::metadata(pristine.path().join(file))
            .map(|m| m.len())
            .map_err(|e| failed(0, format!("{}: {}", file.display(), with_causes(&e))))?;
        for damage in damages(len, &mut draws) {
            let step = damaged.cases;
            damaged.cases += 1;
            let copy = tempfile::tempdir()
                .map_err(|e| failed(step, format!("no temporary dir: {}", with_causes(&e))))?;
            copy_dir(pristine.path(), copy.path())
                .and_then(|()| apply(&copy.path().join(file), &damage))
                .map_err(|e| failed(step, format!("damaging a copy: {}", with_causes(&e))))?;
            let what = format!("{} with {damage:?}", file.display());
            match open_damaged(
                binding.clone(),
                copy,
                durability,
                allowed.clone(),
                deadline(),
            ) {
                Opened::Refused => damaged.refused += 1,
                Opened::Intact => damaged.intact += 1,
                Opened::Wrong(why) => excuses.excuse(failed(step, format!("{what}: {why}")))?,
            }
        }
    }
    damaged.excused = excuses.into_excused();
    Ok(damaged)
}

/// What the store made of a damaged copy.
#[derive(Debug)]
enum Opened {
    Refused,
    Intact,
    /// A panic, a hang, or data no write made.
    Wrong(String),
}

/// Opens the damaged copy in `dir` on a thread of its own, bounded by `deadline`.
fn open_damaged(
    binding: Arc<dyn Binding>,
    dir: tempfile::TempDir,
    durability: Durability,
    allowed: Arc<Vec<State>>,
    deadline: Duration,
) -> Opened {
    let opened = call_bounded("storebench-damaged-open", deadline, move || {
        let Ok(store) = binding.open(dir.path(), Some(durability)) else {
            return Opened::Refused;
        };
        let outcome = match state(store.store()) {
            Err(_) => Opened::Refused,
            // verify() naming the damage is the store refusing, not keeping silent.
            Ok(_) if noticed(&store) => Opened::Refused,
            Ok(found) if allowed.contains(&found) => Opened::Intact,
            // Told apart from other wrong data: a store that takes a cut file for a
            // new one is a common defect, and one a binding may list as known.
            Ok(found) if found.iter().all(|(_, docs)| docs.is_empty()) => Opened::Wrong(
                "every flush lost: it opened empty, as a new store, though a flush had \
                 succeeded"
                    .to_owned(),
            ),
            Ok(found) => Opened::Wrong(format!(
                "silently wrong data: it opened to {}, a state no flush made",
                summary(&found)
            )),
        };
        // A store refused at a read may refuse its close too.
        let _ = store.close();
        outcome
    });
    match opened {
        Bounded::Returned(opened) => opened,
        Bounded::Panicked(panic) => Opened::Wrong(format!("the store panicked: {panic}")),
        Bounded::Hung(seconds) => {
            Opened::Wrong(format!("the store hung: no answer in {seconds} s"))
        }
        Bounded::NoThread(e) => Opened::Wrong(format!("no thread to open on: {e}")),
    }
}

/// Whether the store's `verify()` finds a problem, or fails.
fn noticed(store: &crate::binding::Handle) -> bool {
    match store.verify() {
        Some(Ok(problems)) => !problems.is_empty(),
        Some(Err(_)) => true,
        None => false,
    }
}

/// Writes the history the damaged copies start from and returns every state it made durable:
/// the first flush's and the last (close's). A damaged store may come back to either. The
/// empty state is not among them: once a flush succeeded, a store that opens empty lost it.
fn write_history(
    binding: &dyn Binding,
    dir: &Path,
    durability: Durability,
) -> Result<Vec<State>, String> {
    let model = InMemoryBackend::new();
    let store = binding
        .open(dir, Some(durability))
        .map_err(|e| format!("open: {}", with_causes(&e)))?;
    let mut allowed = Vec::new();
    let write = |s: &dyn StorageBackend, phase: usize| -> crate::Result<()> {
        for n in 0..24usize {
            let collection = ["notes", "tasks"][n % 2];
            let id = format!("doc-{n:02}");
            if phase == 1 && n % 5 == 0 {
                s.collection(collection).delete(&id)?;
            } else {
                // Values of many lengths, some past a page, so that damage meets values.
                let fill = (n + phase * 7) as u8;
                let value = vec![fill; 1 + (n * 397 + phase * 911) % 6000];
                s.collection(collection).upsert(&id, value)?;
            }
        }
        Ok(())
    };
    let io = |e: crate::Error| with_causes(&e);
    write(store.store(), 0).map_err(io)?;
    write(&model, 0).map_err(io)?;
    store.flush().map_err(io)?;
    allowed.push(state(&model).map_err(io)?);
    write(store.store(), 1).map_err(io)?;
    write(&model, 1).map_err(io)?;
    store.close().map_err(io)?;
    allowed.push(state(&model).map_err(io)?);
    Ok(allowed)
}

/// The damages tried on a file of `len` bytes.
fn damages(len: u64, draws: &mut Draws) -> Vec<FileDamage> {
    let mut out = vec![FileDamage::Foreign];
    if len == 0 {
        return out;
    }
    let mut cuts = vec![0, 1, len / 2, len - 1];
    cuts.extend((1..=3).map(|k| k * PAGE).filter(|&c| c < len));
    cuts.push(len.saturating_sub(PAGE));
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| c < len);
    out.extend(cuts.into_iter().map(FileDamage::Truncate));
    let mut offsets = vec![0, len / 2, len - 1];
    offsets.extend((0..DRAWN_FLIPS).map(|_| draws.below(len)));
    out.extend(offsets.into_iter().map(|offset| FileDamage::FlipBit {
        offset,
        mask: 1 << (offset % 8),
    }));
    let last = (len - 1) / PAGE * PAGE;
    let mut pages = vec![0, len / 2 / PAGE * PAGE, last];
    pages.dedup();
    out.extend(pages.into_iter().map(FileDamage::ZeroPage));
    out
}

fn apply(file: &Path, damage: &FileDamage) -> std::io::Result<()> {
    let mut bytes = std::fs::read(file)?;
    match *damage {
        FileDamage::Truncate(len) => bytes.truncate(usize::try_from(len).unwrap_or(usize::MAX)),
        FileDamage::FlipBit { offset, mask } => {
            if let Some(byte) = usize::try_from(offset).ok().and_then(|o| bytes.get_mut(o)) {
                *byte ^= mask;
            }
        }
        FileDamage::ZeroPage(start) => {
            let start = usize::try_from(start)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let end = start.saturating_add(PAGE as usize).min(bytes.len());
            bytes[start..end].fill(0);
        }
        FileDamage::Foreign => {
            // Another program's file: a text header, then text, as long as the original (at
            // least a page, so that a store reading a fixed header finds one).
            let text = b"# notes of another program; not a database\n";
            let len = bytes.len().max(PAGE as usize);
            bytes = text.iter().copied().cycle().take(len).collect();
        }
    }
    std::fs::write(file, bytes)
}

/// Every regular file under `dir`, relative to it, in name order.
fn list_files(root: &Path, under: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(root.join(under))?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = under.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            list_files(root, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Places drawn from the seed (splitmix64): the same seed damages the same bytes.
struct Draws(u64);

impl Draws {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::Handle;

    /// Opens to a store holding a document no write made, to an empty store whatever its
    /// directory holds, or never returns from open.
    enum Flawed {
        Lies,
        Forgets,
        Hangs,
    }

    impl Binding for Flawed {
        fn name(&self) -> &str {
            "flawed"
        }
        fn durabilities(&self) -> &[Durability] {
            &[Durability::OnFlush]
        }
        fn open(&self, _: &Path, _: Option<Durability>) -> crate::Result<Handle> {
            let store = InMemoryBackend::new();
            match self {
                Flawed::Lies => store.collection("notes").upsert("doc-00", vec![7])?,
                Flawed::Forgets => {}
                Flawed::Hangs => loop {
                    std::thread::park();
                },
            }
            Ok(Handle::new(store))
        }
    }

    /// Opens `flawed` with `deadline`: the normal one unless the test is of a hang, so that
    /// only a hang is cut short.
    fn open(flawed: Flawed, deadline: Duration) -> Opened {
        let dir = tempfile::tempdir().expect("a temporary dir");
        let allowed = Arc::new(vec![State::new()]);
        open_damaged(
            Arc::new(flawed),
            dir,
            Durability::OnFlush,
            allowed,
            deadline,
        )
    }

    #[test]
    fn data_no_write_made_and_a_hang_are_named() {
        let lied = open(Flawed::Lies, deadline());
        assert!(
            matches!(&lied, Opened::Wrong(why) if why.starts_with("silently wrong data")),
            "{lied:?}"
        );
        let hung = open(Flawed::Hangs, Duration::from_millis(200));
        assert!(
            matches!(&hung, Opened::Wrong(why) if why == "the store hung: no answer in 0.2 s"),
            "{hung:?}"
        );
    }

    #[test]
    fn a_store_that_opens_empty_after_a_flush_lost_it() {
        let dir = tempfile::tempdir().expect("a temporary dir");
        let allowed = write_history(&Flawed::Forgets, dir.path(), Durability::OnFlush)
            .expect("the history is written");
        assert_eq!(allowed.len(), 2);
        assert!(
            allowed
                .iter()
                .all(|s| s.iter().any(|(_, docs)| !docs.is_empty())),
            "the empty state is allowed"
        );
        let forgot = open_damaged(
            Arc::new(Flawed::Forgets),
            dir,
            Durability::OnFlush,
            Arc::new(allowed),
            deadline(),
        );
        assert!(
            matches!(&forgot, Opened::Wrong(why) if why.starts_with("every flush lost")),
            "{forgot:?}"
        );
    }

    #[test]
    fn durability_offered_with_no_file_is_a_divergence() {
        let checked = check_file_damage(Arc::new(Flawed::Forgets), 0, &[]);
        assert!(
            matches!(&checked, Err(d) if d.what.contains("left no file")),
            "{checked:?}"
        );
    }

    #[test]
    fn damage_reaches_the_start_the_middle_the_end_and_page_boundaries() {
        let damages = damages(10_000, &mut Draws(1));
        for cut in [0, 1, 4096, 5000, 5904, 8192, 9999] {
            assert!(damages.contains(&FileDamage::Truncate(cut)), "{cut}");
        }
        for page in [0, 4096, 8192] {
            assert!(damages.contains(&FileDamage::ZeroPage(page)), "{page}");
        }
        assert!(damages.contains(&FileDamage::Foreign));
        let flips = damages
            .iter()
            .filter(|d| matches!(d, FileDamage::FlipBit { offset, .. } if *offset < 10_000))
            .count();
        assert_eq!(flips, 3 + DRAWN_FLIPS);
        assert_eq!(super::damages(0, &mut Draws(1)), [FileDamage::Foreign]);
    }
}
