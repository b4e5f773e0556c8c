#!/bin/bash -eu
# Builds every fuzz target with the sanitizers OSS-Fuzz asks for and ships them, with their
# seed corpora, to $OUT.
cd "$SRC/storebench"
cargo fuzz build -O --debug-assertions
for target in differential crash_recovery corrupt_file; do
  cp "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  (cd "fuzz/seeds/$target" && zip -q "$OUT/${target}_seed_corpus.zip" ./*)
done
