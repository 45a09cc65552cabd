//! One host's run, as a state machine:
//! gather → compute (pure) → diff → [dry-run: preflight, stops] → lock → preflight → journal + backups →
//! (write → command/verify)* → commit, or rollback on any failure after the first write.
//!
//! Each phase returns a value and the run ends in one `Ending`, which alone sets the
//! report's outcome. `compute` is pure, `lock` is a guard released on every path,
//! `transaction` is the journaled change (`sequence`: its writes and commands between two
//! checks in one exec), `undo` the automatic rollback and the recovery
//! of an interrupted run, `checks` the commands and checks that judge a host; `step_key` keys a step by play and
//! id.
//!
//! Invariants kept here: nothing is written before the lock is held and the journal with
//! the exact pre-images exists; a dry run writes nothing anywhere; a host with no change
//! runs only the commands without a condition (`apply`, never `drift` or its repair), and
//! they do not make it count as changed.

mod backup_name;
mod checks;
mod compute;
mod lock;
mod sequence;
mod step_key;
#[cfg(test)]
mod tests;
mod transaction;
mod undo;

use crate::run::ActionStatus;
use std::collections::BTreeSet;
use std::time::Instant;

use crate::host::gather::{self, Gathered};
use crate::host::{self, RunId, dump_cache, lock as host_lock};
use crate::plan::{Action, CommandAction, Step};
use crate::report::event::{Event, Events};
use crate::run::{
    ActionRecord, Failure, HostJob, HostReport, Mode, NotRunReason, Outcome, RunOptions,
};
use crate::transport::{ExecOutput, Transport, TransportError};

use compute::Change;
pub use compute::MAX_FILE_BYTES;
use lock::HostLock;
use step_key::StepKey;

/// How a host's run ended; the one value the report's outcome comes from.
#[derive(Debug)]
enum Ending {
    /// Nothing to change (or, for `verify`, every check passed).
    InSync,
    /// A dry run found changes.
    WouldChange,
    /// The change is made and committed.
    Changed,
    /// Failed before anything was written.
    Untouched(Failure),
    /// Failed after writing; every file is back to its previous bytes.
    RolledBack(Failure),
    /// The rollback or recovery itself failed: NEEDS ATTENTION.
    RollbackFailed(Failure),
    /// Stopped by an interrupt before the run lock was taken: nothing was changed.
    Interrupted,
}

impl Ending {
    fn not_run_reason(&self) -> Option<NotRunReason> {
        matches!(self, Self::Interrupted).then_some(NotRunReason::Interrupted)
    }

    fn outcome(self) -> (Outcome, Option<Failure>) {
        match self {
            Self::InSync => (Outcome::InSync, None),
            Self::WouldChange => (Outcome::WouldChange, None),
            Self::Changed => (Outcome::Changed, None),
            Self::Untouched(f) => (Outcome::Failed, Some(f)),
            Self::RolledBack(f) => (Outcome::RolledBack, Some(f)),
            Self::RollbackFailed(f) => (Outcome::RollbackFailed, Some(f)),
            Self::Interrupted => (
                Outcome::NotRun,
                Some(failure(
                    None,
                    "interrupted before any change: nothing was changed on this host".to_owned(),
                )),
            ),
        }
    }
}

/// A step with its play-scoped key.
struct Flat<'a> {
    key: StepKey,
    step: &'a Step,
    deps: Vec<StepKey>,
}

struct Host<'a> {
    transport: &'a Transport,
    /// The gather read in the facts' exec, for the first gather (`run_host_with`).
    prefetched: Option<gather::Prefetched>,
    /// The dump command that ran (not from the host's cache) and exited 0 in this run's
    /// gather: it proves its `-t` twin (`nginx -T` is `nginx -t` plus the dump).
    proven_by_dump: Option<String>,
    job: &'a HostJob,
    opts: &'a RunOptions,
    events: Events,
    report: HostReport,
}

/// Runs one host. Never panics on host or input errors: every failure ends in the report.
pub async fn run_host(
    transport: &Transport,
    job: &HostJob,
    opts: &RunOptions,
    events: &Events,
) -> HostReport {
    run_host_with(transport, job, opts, events, None).await
}

/// The files and dumps `job`'s run gathers first: with `facts::resolve_gathering`, its
/// gather goes in the facts' exec. `None` when the run gathers nothing (`verify`).
#[must_use]
pub fn gather_ahead(job: &HostJob, opts: &RunOptions) -> Option<(Vec<String>, Vec<String>)> {
    if opts.mode == Mode::Verify {
        return None;
    }
    let (flat, _) = flat_steps(job);
    Some((
        edited_paths(&flat),
        job.nginx_dump.iter().cloned().collect(),
    ))
}

/// [`run_host`], with a gather read ahead (`facts::resolve_gathering`): used as the first
/// gather when it read the files and dumps that gather would, else that gather runs.
pub async fn run_host_with(
    transport: &Transport,
    job: &HostJob,
    opts: &RunOptions,
    events: &Events,
    prefetched: Option<gather::Prefetched>,
) -> HostReport {
    let started = Instant::now();
    let secrets: Vec<String> = job
        .plans
        .iter()
        .flat_map(|p| p.secret_values.clone())
        .collect();
    let mut host = Host {
        transport,
        prefetched,
        proven_by_dump: None,
        job,
        opts,
        events: events.masking(&secrets),
        report: HostReport {
            host: job.host.clone(),
            outcome: Outcome::InSync,
            files: Vec::new(),
            actions: Vec::new(),
            notes: Vec::new(),
            error: None,
            seconds: 0.0,
            not_run: None,
            secrets,
            facts: job.facts_read(),
        },
    };
    host.events.send(Event::HostStarted {
        host: job.host.clone(),
    });
    host.record_skipped();
    let ending = host.run().await;
    host.report.not_run = ending.not_run_reason();
    let (outcome, error) = ending.outcome();
    host.report.outcome = outcome;
    host.report.error = error;
    host.report.seconds = started.elapsed().as_secs_f64();
    host.report
}

fn failure(step: Option<&Step>, message: String) -> Failure {
    Failure {
        step: step.map(|s| s.id.clone()),
        origin: step.map(|s| s.origin.clone()),
        message,
        hint: step.and_then(|s| s.hint.clone()),
    }
}

/// Whether a command runs: always without a condition, else when a step it depends on
/// changed something or its `unless`/`creates` check failed.
fn should_run(c: &CommandAction, deps: &[StepKey], changed: &BTreeSet<StepKey>) -> bool {
    !c.is_conditional() || deps.iter().any(|d| changed.contains(d))
}

/// Whether the plan has a command without a condition, which runs on every apply.
fn has_unconditional_command(flat: &[Flat<'_>]) -> bool {
    flat.iter()
        .any(|f| matches!(&f.step.action, Action::Command(c) if !c.is_conditional()))
}

/// Every step of the job's plays with its play-scoped key and dependencies, and the
/// plays' preflight checks.
fn flat_steps(job: &HostJob) -> (Vec<Flat<'_>>, Vec<&Step>) {
    let mut steps = Vec::new();
    let mut preflight = Vec::new();
    for (p, plan) in job.plans.iter().enumerate() {
        preflight.extend(plan.preflight.iter());
        for step in &plan.steps {
            let deps = match &step.action {
                Action::Command(c) => {
                    let mut deps: Vec<StepKey> =
                        c.if_changed.iter().map(|d| StepKey::new(p, d)).collect();
                    // A command with `unless` or `creates` depends on its own check too
                    // (see `due_by_unless`).
                    if c.unless.is_some() || c.creates.is_some() {
                        deps.push(StepKey::new(p, &step.id));
                    }
                    deps
                }
                _ => Vec::new(),
            };
            steps.push(Flat {
                key: StepKey::new(p, &step.id),
                step,
                deps,
            });
        }
    }
    (steps, preflight)
}

/// The files the plan edits, each once, in plan order.
fn edited_paths(flat: &[Flat<'_>]) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for f in flat {
        if let Action::Edit(edit) = &f.step.action
            && !paths.contains(&edit.path)
        {
            paths.push(edit.path.clone());
        }
    }
    paths
}

impl Host<'_> {
    fn become_user(&self) -> Option<&host::Become> {
        self.job.become_user.as_ref()
    }

    /// Runs one of wsdeploy's own scripts on the host (`host::run_script`).
    async fn run_script(&self, script: &str) -> Result<ExecOutput, TransportError> {
        host::run_script(self.transport, self.become_user(), script).await
    }

    fn phase(&self, phase: &str) {
        self.events.send(Event::Phase {
            host: self.job.host.clone(),
            phase: phase.to_owned(),
        });
    }

    fn record(&mut self, step: &Step, status: ActionStatus, detail: String) {
        self.record_action(ActionRecord {
            step: step.id.clone(),
            label: step.label.clone(),
            status: status.to_owned(),
            detail,
            by_when: false,
        });
    }

    fn record_action(&mut self, action: ActionRecord) {
        self.events.send(Event::StepDone {
            host: self.job.host.clone(),
            step: action.step.clone(),
            label: action.label.clone(),
            status: action.status,
            detail: action.detail.clone(),
        });
        self.report.actions.push(action);
    }

    /// Records the steps a false `when:` skipped.
    fn record_skipped(&mut self) {
        let job = self.job;
        for skipped in job.plans.iter().flat_map(|p| &p.skipped) {
            self.record_action(ActionRecord {
                step: skipped.id.clone(),
                label: skipped.label.clone(),
                status: ActionStatus::Skipped,
                detail: skipped.reason.clone(),
                by_when: true,
            });
        }
    }

    fn note(&mut self, message: String) {
        self.events.send(Event::Note {
            host: self.job.host.clone(),
            message: message.clone(),
        });
        self.report.notes.push(message);
    }

    async fn gather(&mut self, paths: &[String]) -> Result<Gathered, Ending> {
        self.phase("gather");
        let dumps: Vec<String> = self.job.nginx_dump.iter().cloned().collect();
        let ahead = self.prefetched.take().map_or(gather::Ahead::Other, |p| {
            p.take_for(paths, &dumps, compute::fingerprint_covers)
        });
        let cache = match ahead {
            gather::Ahead::Gathered(gathered) => return Ok(gathered),
            gather::Ahead::DumpsMustRun => dump_cache::DumpCache::Off,
            gather::Ahead::Other => dump_cache::DumpCache::Read,
        };
        gather::gather(
            self.transport,
            self.become_user(),
            paths,
            &dumps,
            cache,
            compute::fingerprint_covers,
        )
        .await
        .map_err(|e| Ending::Untouched(failure(None, format!("gather: {e}"))))
    }

    /// Takes the host's run lock, naming this run as its holder; after an interrupt,
    /// stops here instead (nothing was changed yet).
    async fn lock(&mut self) -> Result<HostLock, Ending> {
        if crate::interrupt::requested() {
            return Err(Ending::Interrupted);
        }
        self.phase("lock");
        let holder = format!(
            "run {} by {} (pid {}) since {}",
            self.opts.run_id,
            self.opts.operator,
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        let command = host_lock::lock_command(&holder, self.become_user());
        HostLock::take(self.transport, &command, &holder, &self.job.host)
            .await
            .map_err(|error| Ending::Untouched(failure(None, error.to_string())))
    }

    async fn run(&mut self) -> Ending {
        let job = self.job;
        let (flat, preflight) = flat_steps(job);
        if self.opts.mode == Mode::Verify {
            return self.verify(&flat, &preflight).await;
        }
        // Taken (at most once) by the phases that write; released here on every path
        // they return by, and by its `Drop` on a panic.
        let mut lock: Option<HostLock> = None;
        let ending = match self.change(&flat, &preflight, &mut lock).await {
            Ok(ending) | Err(ending) => ending,
        };
        if let Some(lock) = lock {
            lock.release().await;
        }
        ending
    }

    /// Everything after the plan is known: read the host (recovering interrupted runs
    /// first), compute the change, then show it (dry run) or make it.
    async fn change(
        &mut self,
        flat: &[Flat<'_>],
        preflight: &[&Step],
        lock: &mut Option<HostLock>,
    ) -> Result<Ending, Ending> {
        let gathered = self.gather_recovered(flat, preflight, lock).await?;
        self.proven_by_dump = gathered
            .dumps
            .iter()
            .find(|d| d.exit == 0 && d.cached_for.is_none())
            .map(|d| d.command.clone());
        let change = self.plan_change(flat, &gathered).await?;
        if change.is_empty() && !self.runs_every_apply(flat) {
            if self.opts.mode == Mode::Apply {
                self.keep_dump().await;
            }
            return Ok(Ending::InSync);
        }
        if self.opts.mode == Mode::DryRun {
            // The plan's preflight checks are read-only (they also prove health after a
            // rollback and are what `verify` runs): a host the apply would refuse before
            // any change is reported as refused, not as "would change".
            self.preflight(preflight).await.map_err(Ending::Untouched)?;
            self.show_would_run(flat, &change.changed);
            return Ok(if change.is_empty() {
                Ending::InSync
            } else {
                Ending::WouldChange
            });
        }
        if lock.is_none() {
            *lock = Some(self.lock().await?);
        }
        Ok(self
            .transaction(flat, preflight, change, lock.as_mut())
            .await)
    }

    /// Gathers the plan's files; an apply that finds interrupted runs takes the lock,
    /// rolls them back, and gathers again.
    async fn gather_recovered(
        &mut self,
        flat: &[Flat<'_>],
        preflight: &[&Step],
        lock: &mut Option<HostLock>,
    ) -> Result<Gathered, Ending> {
        let paths = edited_paths(flat);
        let gathered = self.gather(&paths).await?;
        if gathered.interrupted.is_empty() {
            return Ok(gathered);
        }
        if self.opts.mode == Mode::DryRun {
            let runs = gathered
                .interrupted
                .iter()
                .map(RunId::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            self.note(format!("interrupted run(s) {runs} found in the journal: the next apply rolls them back before anything else"));
            return Ok(gathered);
        }
        *lock = Some(self.lock().await?);
        for run in &gathered.interrupted {
            if let Err(message) = self.recover(run, flat, preflight).await {
                return Err(Ending::RollbackFailed(failure(None, message)));
            }
        }
        self.gather(&paths).await
    }

    /// Whether this run has commands to run on a host in sync: those without a condition,
    /// in `apply` (and its dry run), not in `drift` or `drift --repair` (which act on drift
    /// only).
    fn runs_every_apply(&self, flat: &[Flat<'_>]) -> bool {
        !matches!(self.opts.kind.as_str(), "drift" | "repair") && has_unconditional_command(flat)
    }

    /// Computes the change (pure), runs the `unless` checks, fills the report's files
    /// and compares them with a reviewed change.
    async fn plan_change(
        &mut self,
        flat: &[Flat<'_>],
        gathered: &Gathered,
    ) -> Result<Change, Ending> {
        let mut change =
            compute::compute(flat, gathered, self.opts.today).map_err(Ending::Untouched)?;
        for which in std::mem::take(&mut change.server_choices) {
            self.note(which);
        }
        let forced = self.due_by_unless(flat).await.map_err(Ending::Untouched)?;
        change.forced = !forced.is_empty();
        change.changed.extend(forced);
        self.report.files = change.file_changes(&self.report.secrets);
        if let Some(reviewed) = &self.job.reviewed {
            let planned: Vec<(String, Option<String>, String)> = self
                .report
                .files
                .iter()
                .map(|f| (f.path.clone(), f.pre_sha256.clone(), f.new_sha256.clone()))
                .collect();
            reviewed
                .check_facts(&self.report.facts)
                .and_then(|()| reviewed.check(&planned))
                .map_err(|mismatch| {
                    Ending::Untouched(failure(None, format!("refusing to apply: {mismatch}")))
                })?;
        }
        Ok(change)
    }

    /// After an apply that found the host in sync: the dump had to run (no stored copy,
    /// or a stale one), so keep this one for the next checks. Best effort.
    async fn keep_dump(&mut self) {
        let Some(dump) = &self.proven_by_dump else {
            return;
        };
        let _ = self
            .run_script(&dump_cache::refresh_dumps_script(std::slice::from_ref(
                dump,
            )))
            .await;
    }

    /// A dry run's account of the commands and checks the change would run.
    fn show_would_run(&mut self, flat: &[Flat<'_>], changed: &BTreeSet<StepKey>) {
        for f in flat {
            match &f.step.action {
                Action::Command(c) if should_run(c, &f.deps, changed) => {
                    self.record(f.step, ActionStatus::WouldRun, c.run.clone());
                }
                Action::Command(_) => self.record(
                    f.step,
                    ActionStatus::Skipped,
                    "nothing it depends on changes".to_owned(),
                ),
                Action::Verify(_) => self.record(f.step, ActionStatus::WouldRun, String::new()),
                Action::Edit(_) => {}
            }
        }
    }
}
