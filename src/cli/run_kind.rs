//! What a command asks of the fleet: one [`RunKind`] per command (with what it needs: the
//! undo of a rollback, whether it is a dry run), from which the run's mode, task, the
//! `kind` word of `--json` and the history, and the exit-code rule follow.

use crate::run::{Mode, Task, Undo};

/// The run a command starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RunKind {
    /// `apply` (`--dry-run`: change nothing).
    Apply { dry_run: bool },
    /// `drift`: compare only; a host that differs exits 2.
    Drift,
    /// `drift --repair`.
    Repair,
    /// `verify`: the plan's checks only.
    Verify,
    /// `rollback --date` or `--run` (`--dry-run`: change nothing).
    Rollback { undo: Undo, dry_run: bool },
    /// `backups`: list runs and dated backups.
    Backups,
}

impl RunKind {
    /// What the engine does to each host.
    pub(super) fn mode(&self) -> Mode {
        match self {
            Self::Apply { dry_run: true } | Self::Rollback { dry_run: true, .. } => Mode::DryRun,
            Self::Apply { dry_run: false } | Self::Rollback { dry_run: false, .. } => Mode::Apply,
            Self::Repair => Mode::Apply,
            Self::Drift | Self::Backups => Mode::DryRun,
            Self::Verify => Mode::Verify,
        }
    }

    /// The task each host runs.
    pub(super) fn task(&self) -> Task {
        match self {
            Self::Rollback { undo, .. } => Task::Rollback(undo.clone()),
            Self::Backups => Task::Backups,
            _ => Task::Plan,
        }
    }

    /// The `kind` of `--json`'s summary and of the run options.
    pub(super) fn word(&self) -> &'static str {
        match self {
            Self::Apply { .. } => "apply",
            Self::Drift => "drift",
            Self::Repair => "repair",
            Self::Verify => "verify",
            Self::Rollback { .. } => "rollback",
            Self::Backups => "backups",
        }
    }

    /// The `kind` of the run history: `dry-run` for `apply --dry-run`, else [`Self::word`].
    pub(super) fn history_word(&self) -> &'static str {
        match self {
            Self::Apply { dry_run: true } => "dry-run",
            _ => self.word(),
        }
    }

    /// Whether a host that would change is drift (exit 2) rather than a success.
    pub(super) fn is_drift(&self) -> bool {
        matches!(self, Self::Drift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_keeps_its_mode_task_and_word() {
        let cases = [
            (RunKind::Apply { dry_run: false }, Mode::Apply, "apply"),
            (RunKind::Apply { dry_run: true }, Mode::DryRun, "apply"),
            (RunKind::Drift, Mode::DryRun, "drift"),
            (RunKind::Repair, Mode::Apply, "repair"),
            (RunKind::Verify, Mode::Verify, "verify"),
            (RunKind::Backups, Mode::DryRun, "backups"),
        ];
        for (kind, mode, word) in cases {
            assert_eq!((kind.mode(), kind.word()), (mode, word), "{kind:?}");
        }
        assert!(RunKind::Drift.is_drift() && !RunKind::Repair.is_drift());
        assert_eq!(RunKind::Apply { dry_run: true }.history_word(), "dry-run");
        assert_eq!(RunKind::Repair.history_word(), "repair");
        assert_eq!(RunKind::Backups.task(), Task::Backups);
        assert_eq!(RunKind::Verify.task(), Task::Plan);
    }
}
