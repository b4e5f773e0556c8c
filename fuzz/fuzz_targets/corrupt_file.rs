//! Arbitrary bytes and mutated valid images opened as databases give an error or a working store; a damaged change-log chunk gives Error::Corrupt naming its document; a materialized value or count rewritten in place is reported by verify().
#![no_main]

use libfuzzer_sys::fuzz_target;
use storebench::check::Target;

fuzz_target!(|data: &[u8]| storebench_fuzz::run(Target::CorruptFile, data));
