//! As differential, with flushes, injected storage failures and power losses (all, none or part of the unsynced writes, the last one torn) as often as writes: never a panic, and after each recovery exactly a state the durability contract allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storebench::check::Target;

fuzz_target!(|data: &[u8]| storebench_fuzz::run(Target::CrashRecovery, data));
