//! The job: what a run does (`Mode`, `Task`, run-wide `RunOptions`) and to which host
//! (`HostJob`: its rendered plans, `become`, dump command and reviewed change).

use serde::Serialize;

use super::ReviewedHost;
use crate::host::{self, RunId};
use crate::plan::HostPlan;

/// What to do with a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Compute and show the changes; touch nothing.
    DryRun,
    /// Change the host inside a transaction.
    Apply,
    /// Run the preflight and verify checks only.
    Verify,
}

/// Run-wide settings shared by every host.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: RunId,
    pub plan_name: String,
    pub operator: String,
    /// The date used for `.backup-YYYY-MM-DD` names.
    pub today: chrono::NaiveDate,
    pub mode: Mode,
    /// What started the run: `apply`, `repair`, `drift`, `verify`, `rollback` or `backups`
    /// (recorded in the journal).
    pub kind: String,
    /// What the fleet does with each host.
    pub task: Task,
}

/// The per-host task of a fleet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Run the plan (apply, dry run, drift, verify).
    Plan,
    /// Undo runs: a day's, or exactly one.
    Rollback(Undo),
    /// List runs and backups.
    Backups,
}

/// What a rollback undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// Every run of the day: the state before its first run.
    Date(chrono::NaiveDate),
    /// Exactly one run, by its id.
    Run(RunId),
}

/// Everything needed to run one host.
#[derive(Debug, Clone)]
pub struct HostJob {
    pub host: String,
    pub plans: Vec<HostPlan>,
    /// `become`: whose rights commands run with (`None`: the login user).
    pub become_user: Option<host::Become>,
    /// Command printing the effective nginx config (`nginx -T`), when a step edits nginx.
    pub nginx_dump: Option<String>,
    /// For `apply --reviewed`: the change that was reviewed for this host.
    pub reviewed: Option<ReviewedHost>,
}

impl HostJob {
    /// The facts read on the host (`play.name` → value), once read.
    #[must_use]
    pub fn facts_read(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.plans
            .iter()
            .filter_map(|plan| match &plan.facts {
                crate::plan::PlanFacts::Read(read) => Some((&plan.play, read)),
                _ => None,
            })
            .flat_map(|(play, read)| {
                read.iter()
                    .map(move |(name, value)| (format!("{play}.{name}"), value.clone()))
            })
            .collect()
    }
}
