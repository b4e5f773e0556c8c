#!/bin/bash -eu
# Builds every fuzz target with the sanitizer ClusterFuzzLite asks for ($SANITIZER; the base
# image's cargo wrapper passes its flags) and ships each to $OUT with its seed corpus (the
# committed seeds and regressions) and its libFuzzer options (the same as fuzz/run's).
cd "$SRC/storebench"
# Without the default mimalloc: the sanitizer's allocator must see every allocation.
cargo fuzz build -O --debug-assertions --no-default-features
# Every [[bin]] of fuzz/Cargo.toml (tests/check.rs holds the two lists equal). The store
# bindings' targets (fjall, sled, lmdb) fuzz the stores users pick through the same checks.
for target in differential crash_recovery corrupt_file sqlite fjall sled lmdb convergence; do
  cp "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  seeds=$(mktemp -d)
  cp fuzz/seeds/"$target"/* "$seeds"/
  cp fuzz/regressions/"$target"/* "$seeds"/ 2>/dev/null || true
  (cd "$seeds" && zip -q "$OUT/${target}_seed_corpus.zip" ./*)
  printf '[libfuzzer]\nlen_control = 0\nmax_len = 512\nentropic = 0\n' >"$OUT/$target.options"
done
