//! Two to four Automerge replicas on fault-injecting disks, writing, syncing over links that lose, repeat, reorder and misaddress messages, crashing and failing I/O, facing a hostile peer's forged changes; verify() and compact() after every settle; then synced to quiescence: every replica must show Automerge's merge of every surviving change, keep every durable write, and reopen clean.
#![no_main]

use libfuzzer_sys::fuzz_target;

// `STOREBENCH_PLANT=<defect>` plants a fixed replication defect back: see fuzz/README.md.
fuzz_target!(|data: &[u8]| storebench_fuzz::run_convergence(data));
