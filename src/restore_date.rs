//! `wsdeploy rollback --date D` and `wsdeploy backups`: finding a day's dated backups on a
//! host and restoring them as a journaled run of its own (current state journaled and
//! backed up first, validated, reloaded/restarted, health-checked, rolled back itself on
//! failure), and listing runs and backups.

use std::collections::HashMap;

use crate::engine;
use crate::host;
use crate::host::backups::{self, Listed};
use crate::host::dump_cache::DumpCache;
use crate::host::gather::{self, FileState};
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
    // real path -> (backup path, content)
    let mut restore: Vec<(String, String, String)> = Vec::new();
    for (i, real) in reals.iter().enumerate() {
        for candidate in &found.files[2 * i..2 * i + 2] {
            if let FileState::Present { content, .. } = &candidate.state {
                match String::from_utf8(content.clone()) {
                    Ok(text) => restore.push((real.clone(), candidate.requested.clone(), text)),
                    Err(_) => {
                        return untouched(
                            &job.host,
                            format!("backup {} is not UTF-8 text", candidate.requested),
                            started,
                        );
                    }
                }
                break;
            }
        }
    }
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
