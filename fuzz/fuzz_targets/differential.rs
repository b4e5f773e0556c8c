//! AutomergeBackend and RedbBackend, each durability mode, against InMemoryBackend: every result equal, the whole state equal after every reopen, verify() clean; power losses and injected failures now and then.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storebench::check::Target;

fuzz_target!(|data: &[u8]| storebench_fuzz::run(Target::Differential, data));
