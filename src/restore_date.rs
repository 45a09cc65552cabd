//! `wsdeploy rollback --date D` and `wsdeploy backups`: finding, from the host's run
//! manifests, the files the day's runs changed and their dated backups, and restoring them
//! as a journaled run of its own (current state journaled and backed up first, validated,
//! reloaded/restarted with the commands the runs recorded, health-checked, rolled back
//! itself on failure); listing runs and backups. The restore run is shared with
//! `rollback --run` (`crate::restore_run`).

use std::collections::HashSet;

use crate::engine;
use crate::host;
use crate::host::RunId;
use crate::host::backups::{self, Listed};
use crate::host::dump_cache::DumpCache;
use crate::host::gather::{self, FileState};
use crate::host::journal::Manifest;
use crate::plan::{Action, CommandAction, EditKind, FileEdit, HostPlan, Step};
use crate::report::event::Events;
use crate::run::{Failure, HostJob, HostReport, Outcome, RunOptions};
use crate::transport::Transport;

fn untouched(host: &str, message: String, started: std::time::Instant) -> HostReport {
    let mut r = HostReport::unreachable(host, Outcome::Failed, message, started);
    r.outcome = Outcome::Failed;
    r
}

/// A run in a host's journal whose manifest could be read.
pub struct HostRun {
    pub id: RunId,
    /// The `state` file's word (`committed`, `rolled_back`, …).
    pub state: String,
    pub manifest: Manifest,
}

/// A file to restore: its real path, where its content comes from, the content.
pub struct Restored {
    pub real: String,
    pub from: String,
    pub content: String,
}

/// Undoes every run of `date` on one host: each file their manifests record a backup of
/// that day for gets the backup's content (the state before the day's first run), whether
/// or not today's plan still names it.
pub async fn run(
    transport: &Transport,
    job: &HostJob,
    date: chrono::NaiveDate,
    opts: &RunOptions,
    events: &Events,
) -> HostReport {
    let started = std::time::Instant::now();
    let runs = match host_runs(transport, job).await {
        Ok(r) => r,
        Err(e) => return untouched(&job.host, format!("reading the journal: {e}"), started),
    };
    let day_runs: Vec<&HostRun> = runs
        .iter()
        .filter(|r| {
            r.manifest.files.iter().any(|f| {
                f.backup
                    .as_ref()
                    .is_some_and(|b| backups::backup_candidates(&f.path, date).contains(b))
            })
        })
        .collect();
    let paths = day_files(&day_runs, date);
    let restore = match day_backups(transport, job, &runs, &paths, date).await {
        Ok(r) => r,
        Err(message) => return untouched(&job.host, message, started),
    };
    if restore.is_empty() {
        return untouched(
            &job.host,
            format!(
                "no backup dated {} on this host that a run's journal records: nothing to restore, host untouched",
                date.format("%Y-%m-%d"),
            ),
            started,
        );
    }
    let touching: Vec<&HostRun> = day_runs
        .into_iter()
        .filter(|r| {
            r.manifest
                .files
                .iter()
                .any(|f| restore.iter().any(|x| x.real == f.path))
        })
        .collect();
    restore_and_report(transport, job, &restore, &touching, opts, events, started).await
}

/// Runs the restore as a journaled run of its own; its notes say which file came from where.
pub async fn restore_and_report(
    transport: &Transport,
    job: &HostJob,
    restore: &[Restored],
    undone: &[&HostRun],
    opts: &RunOptions,
    events: &Events,
    started: std::time::Instant,
) -> HostReport {
    let synthetic = match restore_job(job, restore, undone) {
        Ok(j) => j,
        Err(message) => return untouched(&job.host, message, started),
    };
    let mut report = engine::run_host(transport, &synthetic, opts, events).await;
    for r in restore {
        report.notes.push(format!("{} <- {}", r.real, r.from));
    }
    report
}

/// The files the day's runs backed up that day, once each.
fn day_files(day_runs: &[&HostRun], date: chrono::NaiveDate) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for f in day_runs.iter().flat_map(|r| &r.manifest.files) {
        let dated = f
            .backup
            .as_ref()
            .is_some_and(|b| backups::backup_candidates(&f.path, date).contains(b));
        if dated && !paths.contains(&f.path) {
            paths.push(f.path.clone());
        }
    }
    paths
}

/// The day's backups of `paths` (those still on the host) that hold what a run's manifest
/// recorded.
async fn day_backups(
    transport: &Transport,
    job: &HostJob,
    runs: &[HostRun],
    paths: &[String],
    date: chrono::NaiveDate,
) -> Result<Vec<Restored>, String> {
    let become_user = job.become_user.as_ref();
    let current = gather::gather(transport, become_user, paths, &[], DumpCache::Off, |_| true)
        .await
        .map_err(|e| format!("gather: {e}"))?;
    // Only files that are there now: a file deleted since (or a tree removed) is not
    // brought back.
    let mut reals: Vec<String> = Vec::new();
    for f in &current.files {
        if matches!(f.state, FileState::Present { .. }) && !reals.contains(&f.real) {
            reals.push(f.real.clone());
        }
    }
    let candidates: Vec<String> = reals
        .iter()
        .flat_map(|r| backups::backup_candidates(r, date))
        .collect();
    let found = gather::gather(
        transport,
        become_user,
        &candidates,
        &[],
        DumpCache::Off,
        |_| true,
    )
    .await
    .map_err(|e| format!("reading backups: {e}"))?;
    let recorded: HashSet<(String, String)> = runs
        .iter()
        .flat_map(|r| &r.manifest.files)
        .filter_map(|f| Some((f.backup.clone()?, f.sha256.clone()?)))
        .collect();
    to_restore(&reals, &found, &recorded)
}

/// Every run of the host's journal with a readable manifest, oldest first (by the time
/// it started, then its id).
///
/// # Errors
/// The listing failed (its message).
pub async fn host_runs(transport: &Transport, job: &HostJob) -> Result<Vec<HostRun>, String> {
    let mut runs: Vec<HostRun> = listing(transport, job, &backups::list_backups_script(&[]))
        .await?
        .into_iter()
        .filter_map(|listed| match listed {
            Listed::Run {
                id,
                state,
                manifest: Some(m),
            } => RunId::parse(&id).map(|id| HostRun {
                id,
                state,
                manifest: *m,
            }),
            _ => None,
        })
        .collect();
    runs.sort_by_key(|r| {
        (
            chrono::DateTime::parse_from_rfc3339(&r.manifest.started).ok(),
            r.id.clone(),
        )
    });
    Ok(runs)
}

/// What a listing script printed, read.
async fn listing(
    transport: &Transport,
    job: &HostJob,
    script: &str,
) -> Result<Vec<Listed>, String> {
    let out = host::run_script(transport, job.become_user.as_ref(), script)
        .await
        .map_err(|e| e.to_string())?;
    if !out.success() {
        let text = out.combined();
        if let Some(why) = host::state_dir::refused(&text) {
            return Err(host::state_dir::refusal(host::STATE_DIR, why));
        }
        return Err(text.trim().to_owned());
    }
    Ok(backups::parse_listing(&String::from_utf8_lossy(
        &out.stdout,
    )))
}

/// Per real path, its backup of the day and the backup's text.
/// A backup is restored only when its bytes are those a run's manifest recorded for it
/// (anything else there, a user's file or one changed since, is refused with the host
/// untouched), and never read through a path another user could swap (the gather
/// refuses it, or reads it as the user who controls it).
fn to_restore(
    reals: &[String],
    found: &gather::Gathered,
    recorded: &HashSet<(String, String)>,
) -> Result<Vec<Restored>, String> {
    let mut restore = Vec::new();
    for (real, candidates) in reals.iter().zip(found.files.chunks(2)) {
        for candidate in candidates {
            let path = &candidate.requested;
            let content = match &candidate.state {
                FileState::Present { content, .. } => content,
                FileState::Unsafe(why) => {
                    return Err(format!("backup {path}: {}", host::unsafe_path_refusal(why)));
                }
                _ => continue,
            };
            let sha = crate::digest::sha256_hex(content);
            if !recorded.contains(&(path.clone(), sha)) {
                return Err(format!(
                    "backup {path} does not hold the bytes wsdeploy backed up there (no run's manifest records them): not restored, host untouched"
                ));
            }
            let text = String::from_utf8(content.clone())
                .map_err(|_| format!("backup {path} is not UTF-8 text"))?;
            restore.push(Restored {
                real: real.clone(),
                from: path.clone(),
                content: text,
            });
            break;
        }
    }
    Ok(restore)
}

/// A job whose steps replace each file with its restored content, then rerun the
/// reload/restart commands the undone runs recorded (in their order, each once), then the
/// plan's preflight health checks (when the plan was rendered). A command the journal
/// recorded masked (it holds a secret) is taken from the rendered plan.
fn restore_job(
    job: &HostJob,
    restore: &[Restored],
    undone: &[&HostRun],
) -> Result<HostJob, String> {
    let mut steps: Vec<Step> = Vec::new();
    for (n, r) in restore.iter().enumerate() {
        steps.push(Step {
            id: format!("restore-{}", n + 1),
            label: format!("restore {} from {}", r.real, r.from),
            hint: None,
            origin: r.from.clone(),
            action: Action::Edit(FileEdit {
                path: r.real.clone(),
                kind: EditKind::Whole {
                    content: r.content.clone(),
                    mode: None,
                },
            }),
        });
    }
    let restored: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
    let mut commands: Vec<String> = Vec::new();
    for run in undone {
        for recorded in run.manifest.commands.iter().filter(|c| c.rerun_on_rollback) {
            let command = if recorded.masked {
                plan_command(job, &recorded.run).ok_or_else(|| {
                    format!(
                        "run {} recorded the command `{}` with a secret masked: give the vault password so the plan can supply it (nothing was restored)",
                        run.id, recorded.run
                    )
                })?
            } else {
                recorded.run.clone()
            };
            if !commands.contains(&command) {
                commands.push(command);
            }
        }
    }
    for (n, run) in commands.into_iter().enumerate() {
        steps.push(Step {
            id: format!("rerun-{}", n + 1),
            label: format!("rerun `{}`", crate::mask::mask(&run, &secrets(job))),
            hint: None,
            origin: "the undone runs' journal".to_owned(),
            action: Action::Command(CommandAction {
                run,
                if_changed: restored.clone(),
                unless: None,
                creates: None,
                expect_exit: vec![0],
                timeout: RERUN_TIMEOUT,
            }),
        });
    }
    Ok(HostJob {
        host: job.host.clone(),
        plans: vec![HostPlan {
            play: "rollback".to_owned(),
            preflight: job
                .plans
                .iter()
                .flat_map(|p| p.preflight.iter().cloned())
                .collect(),
            steps,
            secret_values: secrets(job),
            short_secrets: Vec::new(),
            nginx_dump: None,
            facts: crate::plan::PlanFacts::None,
            skipped: Vec::new(),
        }],
        become_user: job.become_user.clone(),
        nginx_dump: None,
        reviewed: None,
    })
}

/// How long a rerun reload/restart command may take (the journal does not record the
/// plan's timeout).
const RERUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The run's secrets, from the rendered plan (none when it was not rendered).
fn secrets(job: &HostJob) -> Vec<String> {
    job.plans
        .iter()
        .flat_map(|p| p.secret_values.clone())
        .collect()
}

/// The rendered plan's command whose masked text is the journal's `masked`.
fn plan_command(job: &HostJob, masked: &str) -> Option<String> {
    job.plans.iter().find_map(|plan| {
        plan.steps.iter().find_map(|step| match &step.action {
            Action::Command(c) if crate::mask::mask(&c.run, &plan.secret_values) == masked => {
                Some(c.run.clone())
            }
            _ => None,
        })
    })
}

/// Lists a host's runs (journal) and the dated backups of the files they changed.
pub async fn list(transport: &Transport, job: &HostJob) -> HostReport {
    let started = std::time::Instant::now();
    let mut listed = match listing(transport, job, &backups::list_backups_script(&[])).await {
        Ok(l) => l,
        Err(e) => return untouched(&job.host, format!("reading the journal: {e}"), started),
    };
    let mut paths: Vec<String> = Vec::new();
    for item in &listed {
        if let Listed::Run {
            manifest: Some(m), ..
        } = item
        {
            for f in &m.files {
                if !paths.contains(&f.path) {
                    paths.push(f.path.clone());
                }
            }
        }
    }
    match listing(transport, job, &backups::dated_backups_script(&paths)).await {
        Ok(l) => listed.extend(l),
        Err(e) => return untouched(&job.host, format!("listing backups: {e}"), started),
    }
    let mut report = HostReport::unreachable(&job.host, Outcome::InSync, String::new(), started);
    report.error = None;
    for item in listed {
        match item {
            Listed::Run {
                id,
                state,
                manifest: Some(m),
            } => report.notes.push(format!(
                "run {id}  {state:<15} {} {} plan {} by {} ({} file(s))",
                m.kind,
                m.started,
                m.plan,
                m.operator,
                m.files.len()
            )),
            Listed::Run { id, state, .. } => report.notes.push(format!("run {id}  {state}")),
            Listed::Backup(path) => {
                // Two plan paths can resolve to one file (a symlink and its target): list
                // each backup once.
                let note = format!("backup {path}");
                if !report.notes.contains(&note) {
                    report.notes.push(note);
                }
            }
        }
    }
    if report.notes.is_empty() {
        report.notes.push("no runs and no dated backups".to_owned());
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// A failure for hosts that could not be listed (kept for symmetry with runs).
#[must_use]
pub fn failure_note(message: &str) -> Failure {
    Failure {
        step: None,
        origin: None,
        message: message.to_owned(),
        hint: None,
    }
}
