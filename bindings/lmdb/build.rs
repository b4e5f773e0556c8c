//! Records the heed version this build locked, for `Binding::versions`.

fn main() {
    storebench_locked::emit("heed", "STOREBENCH_HEED_VERSION");
}
