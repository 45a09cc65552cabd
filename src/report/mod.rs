//! What the operator sees: live progress (`progress`), per-host diffs and the final
//! summary (`summary`, status words coloured by `colour`), and the `--json` event stream (`event`), written through `out` (never
//! a panic on a closed pipe) at the level of `verbosity`. Every text that leaves
//! wsdeploy passes through [`mask`].

pub mod colour;
pub mod event;
pub mod out;
pub mod progress;
pub mod summary;
pub mod verbosity;

/// The version of the `--json` stream (docs/json.md), carried by its `summary` event;
/// raised when a field is removed or changes meaning (new fields do not raise it).
pub const JSON_SCHEMA_VERSION: u32 = 1;

pub use crate::mask::{
    MASK, MIN_SECRET_LEN, is_sensitive_key, mask, mask_diff, mask_line, sanitize,
};

/// Whether stdout is a terminal (colours, progress bars) — `NO_COLOR` turns colours off.
#[must_use]
pub fn stdout_is_tty() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
