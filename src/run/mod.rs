//! The job and its report: what a run does to each host (`Mode`, `Task`, `RunOptions`,
//! `HostJob`) and how each host's run ended (`HostReport`, `Outcome`, `FileChange`,
//! `ActionRecord`, `Failure`).
//!
//! Below the engine (it uses only `plan`, `mask` and `host::Become`): `cli` builds jobs,
//! `engine` runs them, `report`, `review`, `exit` and `fleet` read the reports. The serialized `HostReport` is the `--json` schema, so a
//! field renamed here is a change of the output contract.

mod action_status;
mod host_report;
mod job;
mod not_run_reason;
mod outcome;
mod reviewed;

pub use action_status::ActionStatus;
pub use host_report::{ActionRecord, Failure, FileChange, HostReport};
pub use job::{HostJob, Mode, RunOptions, Task, Undo};
pub use not_run_reason::NotRunReason;
pub use outcome::Outcome;
pub use reviewed::{ReviewMismatch, ReviewedFile, ReviewedHost, ReviewedOutcome};
