//! Arbitrary bytes and mutated valid images opened as databases give an error or a working store; a damaged change-log chunk gives Error::Corrupt naming its document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storebench::check::Target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = Target::CorruptFile.run(data) {
        panic!("{violation}");
    }
});
