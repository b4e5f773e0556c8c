//! sled 0.34, bound from its own crate, against InMemoryBackend, as `sqlite.rs` fuzzes SQLite: it
//! cannot run on the fault-injecting disk, so each input runs in a fresh directory, through
//! reopen and drop-without-close.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    storebench::check::fuzz_binding(&storebench_sled::SledBinding, data).unwrap();
    // Only for fuzz/run's summary line; a user's target needs just the line above.
    storebench_fuzz::record_scenario(data);
});
