//! Records the sled version this build locked, for `Binding::versions`.

fn main() {
    storebench_locked::emit("sled", "STOREBENCH_SLED_VERSION");
}
