//! Undoing a run on its host: the automatic rollback of a run that failed after its
//! journal, and the recovery of an interrupted one (journal still `in_progress`) by the
//! next apply. Both share one restore of the journal's pre-images and one re-run of the
//! reload/restart commands (each under its step's `timeout`, judged by its
//! `expect_exit`; a timeout leaves the undo incomplete), then the preflight checks as
//! the health check, and record the run's final state.

use std::time::Duration;

use super::checks::{Judged, timed_out_message};
use super::{Ending, Flat, Host};
use crate::host::journal::{self, JournalCommand, JournalFile, JournalState, Manifest};
use crate::host::restore::{self, Restored};
use crate::host::{self, RunId};
use crate::plan::{Action, CommandAction, Step};
use crate::run::Failure;
use crate::transport::TransportError;

/// A reload/restart command to repeat after a restore: the current plan's.
struct Rerun {
    /// The command as the notes show it (the journal's masked text in a recovery).
    label: String,
    run: String,
    timeout: Duration,
    expect_exit: Vec<i32>,
}

impl Rerun {
    fn of(c: &CommandAction, label: String) -> Self {
        Self {
            label,
            run: c.run.clone(),
            timeout: c.timeout,
            expect_exit: c.expect_exit.clone(),
        }
    }
}

impl Host<'_> {
    /// Rolls back this run after `cause`: restores the files of `manifest`, repeats the
    /// reload/restart commands among `ran` (flat positions), checks health.
    pub(super) async fn rollback(
        &mut self,
        flat: &[Flat<'_>],
        preflight: &[&Step],
        manifest: &Manifest,
        ran: &[usize],
        cause: Failure,
    ) -> Ending {
        self.phase("rollback");
        let run_id = &manifest.run_id;
        let mut problems = Vec::new();
        match self.restore(run_id, &manifest.files).await {
            Ok(true) => {}
            Ok(false) => {
                self.note(format!(
                    "run {run_id} never completed its journal, so no file was touched"
                ));
                return Ending::Untouched(cause);
            }
            Err(e) => problems.push(e),
        }
        let reruns: Vec<Rerun> = ran
            .iter()
            .filter_map(|&position| flat.get(position))
            .filter_map(|f| match &f.step.action {
                Action::Command(c) if !c.if_changed.is_empty() => Some(Rerun::of(c, c.run.clone())),
                _ => None,
            })
            .collect();
        let problems = self
            .settle(run_id, "rollback", &reruns, preflight, problems)
            .await;
        if problems.is_empty() {
            self.note(format!("rolled back: every file is back to its exact previous bytes (journal {}/runs/{run_id})", host::STATE_DIR));
            Ending::RolledBack(cause)
        } else {
            self.note(format!(
                "NEEDS ATTENTION: rollback incomplete: {}; pre-images are in {}/runs/{run_id}/pre (see manifest.json there)",
                problems.join("; "),
                host::STATE_DIR
            ));
            Ending::RollbackFailed(cause)
        }
    }

    /// Rolls back a run that was interrupted (lost connection, killed agent).
    pub(super) async fn recover(
        &mut self,
        run_id: &RunId,
        flat: &[Flat<'_>],
        preflight: &[&Step],
    ) -> Result<(), String> {
        self.phase("recover");
        let Some((manifest, ran)) = self.interrupted(run_id).await? else {
            return Ok(());
        };
        // An untrusted journal restores nothing and stays `in_progress`, for a human.
        self.restore(run_id, &manifest.files).await?;
        let mut reruns = Vec::new();
        for command in manifest
            .commands
            .iter()
            .filter(|c| c.rerun_on_rollback && ran.contains(&c.index))
        {
            // Only a command the current plan also has runs again (taken from the plan:
            // the journal never holds secrets, and is no source of commands to run).
            match self.plan_command(flat, command, &manifest.plan) {
                Some(c) => reruns.push(Rerun::of(c, command.run.clone())),
                None => self.note(format!(
                    "recovery: not repeating `{}`: the current plan has no such command; run it by hand if it is needed",
                    command.run
                )),
            }
        }
        let problems = self
            .settle(run_id, "recovery", &reruns, preflight, Vec::new())
            .await;
        if !problems.is_empty() {
            return Err(format!(
                "interrupted run {run_id} was restored but its recovery is incomplete: {}",
                problems.join("; ")
            ));
        }
        self.note(format!(
            "recovered interrupted run {run_id} ({} by {}): restored {} file(s) to their pre-run bytes",
            manifest.started,
            manifest.operator,
            manifest.files.len()
        ));
        Ok(())
    }

    /// Reads an interrupted run's journal: its manifest and the positions of the
    /// commands that started; `None` when it is no longer in progress.
    async fn interrupted(
        &mut self,
        run_id: &RunId,
    ) -> Result<Option<(Manifest, Vec<usize>)>, String> {
        let out = self
            .run_script(&journal::read_journal_script(run_id))
            .await
            .map_err(|e| format!("reading interrupted run {run_id}: {e}"))?;
        let read = journal::ReadBack::parse(&String::from_utf8_lossy(&out.stdout), run_id);
        if !read.in_progress() {
            self.note(format!(
                "run {run_id} is no longer in progress ({}): nothing to recover",
                read.state
            ));
            return Ok(None);
        }
        let ran = read.ran;
        let manifest: Manifest = read
            .manifest
            .ok_or_else(|| format!("interrupted run {run_id} has an unreadable or inconsistent manifest in {}/runs/{run_id}: inspect it by hand", host::STATE_DIR))?;
        Ok(Some((manifest, ran)))
    }

    /// After a restore: repeats `reruns`, then (when nothing went wrong so far) the
    /// health check, and records the run's final state. Returns every problem.
    async fn settle(
        &mut self,
        run_id: &RunId,
        undo: &str,
        reruns: &[Rerun],
        preflight: &[&Step],
        mut problems: Vec<String>,
    ) -> Vec<String> {
        for rerun in reruns {
            if let Some(problem) = self.rerun(undo, rerun).await {
                problems.push(problem);
            }
        }
        if problems.is_empty()
            && let Err(f) = self.run_checks(preflight).await
        {
            problems.push(format!("health check after {undo} failed: {}", f.message));
        }
        let state = if problems.is_empty() {
            JournalState::RolledBack
        } else {
            JournalState::RollbackFailed
        };
        let _ = self
            .run_script(&journal::set_state_script(run_id, state))
            .await;
        problems
    }

    /// Repeats one reload/restart command under its step's `timeout`, judged by its
    /// `expect_exit`. A timeout is a problem (the service may be down); another exit is
    /// noted (the health check decides).
    async fn rerun(&mut self, undo: &str, rerun: &Rerun) -> Option<String> {
        let label = &rerun.label;
        let result = self
            .transport
            .run(&host::plan_command(
                &rerun.run,
                self.become_user(),
                rerun.timeout,
            ))
            .await;
        match Judged::of(result, &rerun.expect_exit) {
            Judged::Passed(_) => self.note(format!("{undo}: re-ran `{label}`")),
            Judged::TimedOut(o) => {
                let message = timed_out_message(label, rerun.timeout, &o.combined());
                return Some(format!("re-running `{label}`: {message}"));
            }
            Judged::Lost(e @ TransportError::TimedOut(..)) => {
                return Some(format!("re-running `{label}`: {e}"));
            }
            Judged::Failed(o) => self.note(format!(
                "{undo}: re-running `{label}` ended with {}: {}",
                o.status_text(),
                o.combined().trim()
            )),
            Judged::Lost(e) => self.note(format!("{undo}: re-running `{label}` failed: {e}")),
        }
        None
    }

    /// Restores the journal's pre-images; `Ok(false)` when the run has no journal state,
    /// which means no file was touched.
    async fn restore(&mut self, run_id: &RunId, files: &[JournalFile]) -> Result<bool, String> {
        let script = restore::restore_script(run_id, files);
        let out = self
            .run_script(&script)
            .await
            .map_err(|e| format!("restoring files: {e}"))?;
        let restored = Restored::parse(&String::from_utf8_lossy(&out.stdout));
        if !restored.skipped.is_empty() {
            return Err(format!(
                "{} changed after this run wrote it (someone else edited it): left as it is, not restored; its pre-run bytes are in {}/runs/{run_id}/pre (see manifest.json there)",
                restored.skipped.join(", "),
                host::STATE_DIR
            ));
        }
        if let Some(why) = restored.untrusted {
            return Err(format!(
                "run {run_id} was not restored: its journal cannot be trusted ({why}); nothing was restored, inspect {}/runs/{run_id} by hand",
                host::STATE_DIR
            ));
        }
        if out.success() {
            Ok(!restored.no_journal)
        } else {
            Err(format!("restoring files failed: {}", out.combined().trim()))
        }
    }

    /// The current plan's command that a journal's `command` records: a reload/restart
    /// step (`if_changed`) whose text, masked, is the journal's; the same step (same
    /// plan, same position) first, else any such step of the current plan.
    fn plan_command<'f>(
        &self,
        flat: &[Flat<'f>],
        command: &JournalCommand,
        plan: &str,
    ) -> Option<&'f CommandAction> {
        let secrets = &self.report.secrets;
        let candidate = |f: &Flat<'f>| match &f.step.action {
            Action::Command(c)
                if !c.if_changed.is_empty()
                    && crate::mask::mask(&c.run, secrets) == command.run =>
            {
                Some(c)
            }
            _ => None,
        };
        let same_step = (plan == self.opts.plan_name)
            .then(|| flat.get(command.index).and_then(candidate))
            .flatten();
        same_step.or_else(|| flat.iter().find_map(candidate))
    }
}
