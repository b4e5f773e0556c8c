//! Bindings: how a store meets the harness. The runner, the reports, the CLI and the checks
//! take any [`Binding`]; the crate's own backends are bound through exactly this API
//! ([`builtin`]), as a user's store is.

pub mod builtin;
mod describe;
mod handle;
mod registry;
mod replica;

pub use describe::{Binding, Concurrency, Settings, Versions};
pub use handle::{CompactFn, Handle, HandleBuilder, VerifyFn};
#[cfg(feature = "check")]
pub(crate) use registry::mode_for;
pub use registry::{BindingError, Bindings, Selected};
pub use replica::{Received, SyncEndpoint, SyncFn};
