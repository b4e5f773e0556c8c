//! Two to four Automerge replicas on fault-injecting disks, writing, syncing over links that lose, repeat and reorder messages, crashing and failing I/O; then synced to quiescence: every replica must show Automerge's merge of every surviving change, keep every durable write, and reopen clean.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storebench::check::Target;

fuzz_target!(|data: &[u8]| storebench_fuzz::run(Target::Convergence, data));
