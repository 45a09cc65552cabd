//! The result of one host's run (`HostReport`) and its parts: file changes, commands and
//! checks, the failure. Serialized as is, it is the per-host record of `--json` (and,
//! masked the same way, of the run history, which reads it back).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{ActionStatus, NotRunReason, Outcome};

/// One file's change. Reports (`--json`, review files) carry the diff, with the values of
/// sensitive keys and secrets masked, and hashes; never the whole bodies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    /// The path as the plan wrote it, when a symlink was followed.
    pub via: Option<String>,
    #[serde(skip)]
    pub old: Option<String>,
    #[serde(skip)]
    pub new: String,
    /// Unified diff without colours, masked (`mask::mask_diff`).
    pub diff: String,
    pub pre_sha256: Option<String>,
    pub new_sha256: String,
    pub backup: Option<String>,
}

/// A command or check, and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub step: String,
    pub label: String,
    pub status: ActionStatus,
    pub detail: String,
    /// A step a false `when:` left out (the summary lists those at `-v`). Not part of
    /// `--json`, whose `detail` says `when: …`.
    #[serde(skip)]
    pub by_when: bool,
}

/// Why a host failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub step: Option<String>,
    pub origin: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// The result of one host's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostReport {
    pub host: String,
    pub outcome: Outcome,
    pub files: Vec<FileChange>,
    pub actions: Vec<ActionRecord>,
    pub notes: Vec<String>,
    pub error: Option<Failure>,
    pub seconds: f64,
    /// Why the host did not run, when its outcome is `NotRun`. Not part of `--json`,
    /// whose `error.message` says it in words.
    #[serde(skip)]
    pub not_run: Option<NotRunReason>,
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// The facts read on the host (`play.name` → value), for a saved review.
    #[serde(skip)]
    pub facts: std::collections::BTreeMap<String, serde_json::Value>,
}

impl HostReport {
    /// A report for a host that could not be reached (or was not run).
    #[must_use]
    pub fn unreachable(host: &str, outcome: Outcome, message: String, started: Instant) -> Self {
        Self {
            host: host.to_owned(),
            outcome,
            files: Vec::new(),
            actions: Vec::new(),
            notes: Vec::new(),
            error: Some(Failure {
                step: None,
                origin: None,
                message,
                hint: None,
            }),
            seconds: started.elapsed().as_secs_f64(),
            not_run: None,
            secrets: Vec::new(),
            facts: std::collections::BTreeMap::new(),
        }
    }

    /// A report for a host that was never started, for `reason`.
    #[must_use]
    pub fn not_started(host: &str, reason: NotRunReason) -> Self {
        let mut report = Self::unreachable(
            host,
            Outcome::NotRun,
            reason.not_started().to_owned(),
            Instant::now(),
        );
        report.not_run = Some(reason);
        report
    }
}
