//! `wsdeploy rollback --date D` and `wsdeploy backups`: finding a day's dated backups on a
//! host and restoring them as a journaled run of its own (current state journaled and
//! backed up first, validated, reloaded/restarted, health-checked, rolled back itself on
//! failure), and listing runs and backups.

use std::collections::{HashMap, HashSet};

use crate::engine;
use crate::host;
use crate::host::backups::{self, Listed};
use crate::host::dump_cache::DumpCache;
use crate::host::gather::{self, FileState};
use crate::host::journal;
use crate::plan::{Action, CommandAction, EditKind, FileEdit, HostPlan, Step};
use crate::report::event::Events;
use crate::run::{Failure, HostJob, HostReport, Outcome, RunOptions};
use crate::transport::Transport;

fn untouched(host: &str, message: String, started: std::time::Instant) -> HostReport {
    let mut r = HostReport::unreachable(host, Outcome::Failed, message, started);
    r.outcome = Outcome::Failed;
    r
}

/// Restores the dated backups of `date` on one host.
pub async fn run(
    transport: &Transport,
    job: &HostJob,
    date: chrono::NaiveDate,
    opts: &RunOptions,
    events: &Events,
) -> HostReport {
    let started = std::time::Instant::now();
    let become_user = job.become_user.as_ref();
    let paths = edited_paths(job);
    let current = match gather::gather(transport, become_user, &paths, &[], DumpCache::Off, |_| {
        true
    })
    .await
    {
        Ok(g) => g,
        Err(e) => return untouched(&job.host, format!("gather: {e}"), started),
    };
    let mut reals: Vec<String> = Vec::new();
    for f in &current.files {
        if !reals.contains(&f.real) {
            reals.push(f.real.clone());
        }
    }
    let candidates: Vec<String> = reals
        .iter()
        .flat_map(|r| backups::backup_candidates(r, date))
        .collect();
    let found = match gather::gather(
        transport,
        become_user,
        &candidates,
        &[],
        DumpCache::Off,
        |_| true,
    )
    .await
    {
        Ok(g) => g,
        Err(e) => return untouched(&job.host, format!("reading backups: {e}"), started),
    };
    let recorded = match recorded_backups(transport, job).await {
        Ok(r) => r,
        Err(e) => return untouched(&job.host, format!("reading the journal: {e}"), started),
    };
    let restore = match to_restore(&reals, &found, &recorded) {
        Ok(r) => r,
        Err(message) => return untouched(&job.host, message, started),
    };
    if restore.is_empty() {
        return untouched(
            &job.host,
            format!(
                "no backup dated {} on this host for the plan's files ({}): nothing to restore, host untouched",
                date.format("%Y-%m-%d"),
                reals.join(", ")
            ),
            started,
        );
    }
    let synthetic = restore_job(job, &current, &restore);
    let mut report = engine::run_host(transport, &synthetic, opts, events).await;
    for (real, backup, _) in &restore {
        report.notes.push(format!("{real} <- {backup}"));
    }
    report
}

/// Every dated backup wsdeploy made, as the journal's manifests record it (root-only,
/// written by wsdeploy): its path and the sha256 of the pre-image it was copied from.
async fn recorded_backups(
    transport: &Transport,
    job: &HostJob,
) -> Result<HashSet<(String, String)>, String> {
    let script = backups::list_backups_script(&[]);
    let out = host::run_script(transport, job.become_user.as_ref(), &script)
        .await
        .map_err(|e| e.to_string())?;
    if !out.success() {
        return Err(out.combined().trim().to_owned());
    }
    Ok(
        backups::parse_listing(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .filter_map(|listed| match listed {
                Listed::Run {
                    manifest: Some(m), ..
                } => Some(m.files),
                _ => None,
            })
            .flatten()
            .filter_map(|f| Some((f.backup?, f.sha256?)))
            .collect(),
    )
}

/// Per real path, its backup of the day and the backup's text: (real, backup, text).
/// A backup is restored only when its bytes are those a run's manifest recorded for it
/// (anything else there, a user's file or one changed since, is refused with the host
/// untouched), and never read through a path another user could swap (the gather
/// refuses it, or reads it as the user who controls it).
fn to_restore(
    reals: &[String],
    found: &gather::Gathered,
    recorded: &HashSet<(String, String)>,
) -> Result<Vec<(String, String, String)>, String> {
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
            let sha = journal::sha256_hex(content);
            if !recorded.contains(&(path.clone(), sha)) {
                return Err(format!(
                    "backup {path} does not hold the bytes wsdeploy backed up there (no run's manifest records them): not restored, host untouched"
                ));
            }
            let text = String::from_utf8(content.clone())
                .map_err(|_| format!("backup {path} is not UTF-8 text"))?;
            restore.push((real.clone(), path.clone(), text));
            break;
        }
    }
    Ok(restore)
}

/// A job whose steps replace each file with its backup, then repeat the plan's
/// reload/restart commands for the files that change, then its preflight health checks.
fn restore_job(
    job: &HostJob,
    current: &gather::Gathered,
    restore: &[(String, String, String)],
) -> HostJob {
    let real_of: HashMap<&str, &str> = current
        .files
        .iter()
        .map(|f| (f.requested.as_str(), f.real.as_str()))
        .collect();
    let mut steps: Vec<Step> = Vec::new();
    let mut step_for_real: HashMap<String, String> = HashMap::new();
    for (n, (real, backup, content)) in restore.iter().enumerate() {
        let id = format!("restore-{}", n + 1);
        step_for_real.insert(real.clone(), id.clone());
        steps.push(Step {
            id,
            label: format!("restore {real} from {backup}"),
            hint: None,
            origin: backup.clone(),
            action: Action::Edit(FileEdit {
                path: real.clone(),
                kind: EditKind::Whole {
                    content: content.clone(),
                    mode: None,
                },
            }),
        });
    }
    let mut preflight = Vec::new();
    for plan in &job.plans {
        preflight.extend(plan.preflight.iter().cloned());
        let file_of_step: HashMap<&str, &str> = plan
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Edit(e) => Some((
                    s.id.as_str(),
                    real_of
                        .get(e.path.as_str())
                        .copied()
                        .unwrap_or(e.path.as_str()),
                )),
                _ => None,
            })
            .collect();
        for step in &plan.steps {
            if let Action::Command(c) = &step.action {
                let mut deps: Vec<String> = c
                    .if_changed
                    .iter()
                    .filter_map(|d| {
                        file_of_step
                            .get(d.as_str())
                            .and_then(|real| step_for_real.get(*real))
                            .cloned()
                    })
                    .collect();
                deps.dedup();
                if !c.if_changed.is_empty() && deps.is_empty() {
                    continue;
                }
                steps.push(Step {
                    action: Action::Command(CommandAction {
                        if_changed: deps,
                        unless: None,
                        ..c.clone()
                    }),
                    ..step.clone()
                });
            }
        }
    }
    HostJob {
        host: job.host.clone(),
        plans: vec![HostPlan {
            play: "rollback".to_owned(),
            preflight,
            steps,
            secret_values: job
                .plans
                .iter()
                .flat_map(|p| p.secret_values.clone())
                .collect(),
            short_secrets: Vec::new(),
            nginx_dump: None,
            facts: None,
            skipped: Vec::new(),
        }],
        become_user: job.become_user.clone(),
        nginx_dump: None,
        reviewed: None,
    }
}

/// Every file the job's plans edit, once each, in plan order.
fn edited_paths(job: &HostJob) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for plan in &job.plans {
        for step in &plan.steps {
            if let Action::Edit(edit) = &step.action
                && !paths.contains(&edit.path)
            {
                paths.push(edit.path.clone());
            }
        }
    }
    paths
}

/// Lists a host's runs (journal) and dated backups of the plan's files.
pub async fn list(transport: &Transport, job: &HostJob) -> HostReport {
    let started = std::time::Instant::now();
    let paths = edited_paths(job);
    let script = backups::list_backups_script(&paths);
    let out = match host::run_script(transport, job.become_user.as_ref(), &script).await {
        Ok(o) => o,
        Err(e) => return untouched(&job.host, format!("listing backups: {e}"), started),
    };
    let mut report = HostReport::unreachable(&job.host, Outcome::InSync, String::new(), started);
    report.error = None;
    for listed in backups::parse_listing(&String::from_utf8_lossy(&out.stdout)) {
        match listed {
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
