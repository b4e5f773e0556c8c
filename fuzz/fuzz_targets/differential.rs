//! AutomergeBackend and RedbBackend, each durability mode, against InMemoryBackend: every result equal, the whole state equal after every reopen, verify() clean.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storebench::check::Target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = Target::Differential.run(data) {
        panic!("{violation}");
    }
});
