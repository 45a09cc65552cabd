//! Why a host did not run (`Outcome::NotRun`): the closing line says it in words, from
//! this value rather than from the report's message.

/// Why a host did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRunReason {
    /// An earlier batch failed beyond `--max-fail`.
    MaxFail,
    /// The run was interrupted before the host started, or before its run lock was taken.
    Interrupted,
}

impl NotRunReason {
    /// The report's message for a host that was never started for this reason.
    #[must_use]
    pub fn not_started(self) -> &'static str {
        match self {
            Self::MaxFail => "not started: an earlier batch failed beyond --max-fail",
            Self::Interrupted => "not started: the run was interrupted",
        }
    }
}
