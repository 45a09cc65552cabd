//! How a host's run ended: the word of the summary table and the `outcome` of `--json`.

use serde::{Deserialize, Serialize};

/// How a host's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    InSync,
    WouldChange,
    Changed,
    /// Failed before anything was written: the host is untouched.
    Failed,
    /// Failed after writing; every file is back to its exact previous bytes.
    RolledBack,
    /// The rollback itself failed: NEEDS ATTENTION.
    RollbackFailed,
    Unreachable,
    /// Not started (an earlier batch failed beyond `--max-fail`, or the run was
    /// interrupted), or stopped by an interrupt before changing anything.
    NotRun,
}

impl Outcome {
    /// Short word for tables.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::InSync => "in sync",
            Self::WouldChange => "would change",
            Self::Changed => "changed",
            Self::Failed => "FAILED (untouched)",
            Self::RolledBack => "FAILED (rolled back)",
            Self::RollbackFailed => "NEEDS ATTENTION",
            Self::Unreachable => "UNREACHABLE",
            Self::NotRun => "not run",
        }
    }
}
