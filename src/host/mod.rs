//! The host protocol: every shell script wsdeploy sends to a host, and, in the same file,
//! the parser of what that script prints. Nothing else builds shell text for a host or
//! reads a host script's output; every marker a script prints is a constant of
//! [`markers`].
//!
//! Every interpolated value goes through [`quote`]; file contents travel base64-encoded
//! in here-documents whose delimiter cannot occur in base64 (`script`). Scripts need
//! POSIX `sh`, coreutils and util-linux `flock` only. The longer shell function blocks
//! are `.sh` files beside this one, brought in with `include_str!`.
//!
//! One concept per file: [`runner`] (become/sudo and the `timeout` bound), [`gather`]
//! (the one-round-trip read and its parser), [`dump_cache`] (the host's copy of
//! `nginx -T`), [`lock`], [`journal`] (the run record, its states and reading it back),
//! [`journal_entry`] (creating it, then the first writes), [`write`](mod@write) (compare-and-swap
//! replacement), [`restore`], [`backups`] (the two backup names and listing), [`read`] (a host's `facts:` sources, in one exec), [`sequence`] (writes and commands with no check between them, in one exec), `run_id` (the checked [`RunId`]),
//! `agent` (who writes a path), [`state_dir`] (the state directory judged before use). The gather's words are `gather_protocol`'s enums.

mod agent;
pub mod backups;
#[cfg(test)]
pub(crate) mod commands_run;
pub mod dump_cache;
pub mod gather;
mod gather_protocol;
pub mod journal;
pub mod journal_entry;
pub mod lock;
pub mod markers;
pub mod read;
pub mod restore;
mod run_id;
pub mod run_index;
pub mod runner;
mod script;
pub mod sequence;
pub mod state_dir;
pub mod write;

pub use crate::shell::{Invocation, quote};
pub use crate::transport::{EXIT_TIMED_OUT, KILL_GRACE, bound_secs};
pub use agent::refusal as unsafe_path_refusal;
pub use run_id::RunId;
pub use runner::{
    Become, COMMAND_LINE_SCRIPT_MAX, GATHER_BOUND, SCRIPT_BOUND, plan_command, run_script,
    script_runner, sudo_hint, wrap_command,
};

/// Where wsdeploy keeps its state on a host.
pub const STATE_DIR: &str = "/var/lib/wsdeploy";
/// Exit status of a script that found a file changed since it was read.
pub const EXIT_CHANGED_SINCE_READ: i32 = 90;
/// Exit status of `flock -n` when the lock is held.
pub const EXIT_LOCK_BUSY: i32 = 75;
/// Exit status of a script that refused a path another user could swap (`WSD-UNSAFE`).
pub const EXIT_UNSAFE_PATH: i32 = 91;
