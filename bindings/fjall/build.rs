//! Records the fjall version this build locked, for `Binding::versions`.

fn main() {
    storebench_locked::emit("fjall", "STOREBENCH_FJALL_VERSION");
}
