//! What became of one step of a host's run: the status word of its progress line, of the
//! `actions` of `--json` (docs/json.md) and of the run history, which reads it back.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What became of a command, a check or a file step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionStatus {
    /// A file step wrote its change.
    #[serde(rename = "changed")]
    Changed,
    /// A command ran.
    #[serde(rename = "ran")]
    Ran,
    /// A check (or a preflight command) passed.
    #[serde(rename = "passed")]
    Passed,
    #[serde(rename = "failed")]
    Failed,
    /// A `warn_only` check failed: the run goes on, the detail says why.
    #[serde(rename = "warning")]
    Warning,
    /// A false `when:`, or a command nothing it depends on changed; the detail says which.
    #[serde(rename = "skipped")]
    Skipped,
    /// A dry run's account of a command or check the change would run.
    #[serde(rename = "would run")]
    WouldRun,
}

impl ActionStatus {
    /// The word, as `--json` writes it.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Ran => "ran",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Warning => "warning",
            Self::Skipped => "skipped",
            Self::WouldRun => "would run",
        }
    }
}

impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_words_are_the_display_words_and_read_back() {
        for status in [
            ActionStatus::Changed,
            ActionStatus::Ran,
            ActionStatus::Passed,
            ActionStatus::Failed,
            ActionStatus::Warning,
            ActionStatus::Skipped,
            ActionStatus::WouldRun,
        ] {
            let json = serde_json::to_string(&status).expect("serializes");
            assert_eq!(json, format!("\"{status}\""));
            let back: ActionStatus = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, status);
        }
    }
}
