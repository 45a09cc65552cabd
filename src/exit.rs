//! Exit codes: the contract scripts and monitoring rely on.

use crate::run::{HostReport, Outcome};

/// Everything fine / in sync.
pub const OK: u8 = 0;
/// At least one host failed (and was rolled back or left untouched) or was unreachable.
pub const HOST_FAILED: u8 = 1;
/// `drift`: at least one host differs from the plan.
pub const DRIFT: u8 = 2;
/// Bad input (plan, inventory, arguments): nothing was touched anywhere.
pub const BAD_INPUT: u8 = 3;
/// A rollback failed: a host needs attention.
pub const NEEDS_ATTENTION: u8 = 4;
/// Interrupted (Ctrl-C, SIGTERM): the summary says how each host ended.
pub const INTERRUPTED: u8 = crate::interrupt::EXIT_CODE;

/// The exit code for a finished run.
#[must_use]
pub fn for_reports(reports: &[HostReport], drift_mode: bool) -> u8 {
    if reports.iter().any(|r| r.outcome == Outcome::RollbackFailed) {
        return NEEDS_ATTENTION;
    }
    if reports.iter().any(|r| {
        matches!(
            r.outcome,
            Outcome::Failed | Outcome::RolledBack | Outcome::Unreachable | Outcome::NotRun
        )
    }) {
        return HOST_FAILED;
    }
    if drift_mode && reports.iter().any(|r| r.outcome == Outcome::WouldChange) {
        return DRIFT;
    }
    OK
}
