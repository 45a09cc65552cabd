//! Exit codes: the contract scripts and monitoring rely on.

use crate::run::{HostReport, Outcome};

/// Everything fine / in sync.
pub const OK: u8 = 0;
/// At least one host failed (and was rolled back or left untouched) or was unreachable
/// (in `drift`: and no reachable host differs from the plan).
pub const HOST_FAILED: u8 = 1;
/// `drift`: at least one host differs from the plan, whatever the other hosts did (the
/// counts line names the unreachable and failed ones beside it).
pub const DRIFT: u8 = 2;
/// Bad input (plan, inventory, arguments): nothing was touched anywhere.
pub const BAD_INPUT: u8 = 3;
/// A rollback failed: a host needs attention.
pub const NEEDS_ATTENTION: u8 = 4;
/// Interrupted (Ctrl-C, SIGTERM): the summary says how each host ended.
pub const INTERRUPTED: u8 = crate::interrupt::EXIT_CODE;

/// Every exit code with its meaning: the table of docs/exit-codes.md and of the man page's EXIT
/// STATUS (a test keeps the docs' copy equal to this one).
pub const TABLE: &[(u8, &str)] = &[
    (
        OK,
        "success: every host changed or in sync (`validate`: the plans are valid)",
    ),
    (
        HOST_FAILED,
        "a host failed (rolled back, or untouched) or was unreachable, or did not run (`--max-fail`); in `drift`, only when no host differs from the plan",
    ),
    (
        DRIFT,
        "`drift`: at least one host differs from the plan, even when others failed or were unreachable (the counts line names both, e.g. `1 would change, 1 unreachable`)",
    ),
    (
        BAD_INPUT,
        "bad input (plan, inventory, variables, flags, `validate` problems): nothing was touched on any host",
    ),
    (
        NEEDS_ATTENTION,
        "a rollback failed: a host NEEDS ATTENTION (not Ansible's \"unreachable\": that is 1 here)",
    ),
    (
        INTERRUPTED,
        "interrupted (Ctrl-C, SIGTERM): hosts in the middle of a change finished or rolled back, no other host started; the summary says how each ended",
    ),
];

/// The exit code for a finished run. In `drift`, drift found on any host wins over
/// failed or unreachable hosts, so one host that cannot be reached does not hide drift
/// on the others (the summary's counts name both).
#[must_use]
pub fn for_reports(reports: &[HostReport], drift_mode: bool) -> u8 {
    if reports.iter().any(|r| r.outcome == Outcome::RollbackFailed) {
        return NEEDS_ATTENTION;
    }
    if drift_mode && reports.iter().any(|r| r.outcome == Outcome::WouldChange) {
        return DRIFT;
    }
    if reports.iter().any(|r| {
        matches!(
            r.outcome,
            Outcome::Failed | Outcome::RolledBack | Outcome::Unreachable | Outcome::NotRun
        )
    }) {
        return HOST_FAILED;
    }
    OK
}
