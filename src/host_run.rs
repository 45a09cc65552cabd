//! One host's run, as a state machine:
//! gather → edit (pure) → diff → [dry-run stops] → lock → preflight → journal + backups →
//! (write → command/verify)* → commit, or rollback on any failure after the first write.
//!
//! Invariants kept here: nothing is written before the lock is held and the journal with
//! the exact pre-images exists; a dry run writes nothing anywhere; a host with no change
//! runs no command.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::edit::{self, EditContext, nginx};
use crate::host::gather::{self, FileState, Gathered};
use crate::host::journal::{self, JournalCommand, JournalFile, JournalState, Manifest};
use crate::host::journal_entry::{self, Journaled, PlannedWrite};
use crate::host::lock::{self, LockReply};
use crate::host::restore::{self, Restored};
use crate::host::write::{self, FileContent};
use crate::host::{self, backups};
use crate::plan::{Action, Check, CommandAction, EditKind, HostPlan, Step};
use crate::report::event::{Event, Events};
use crate::transport::{Child, Heartbeat, Transport};
use crate::verify;

/// Files larger than this are refused (they are not configuration files).
pub const MAX_FILE_BYTES: usize = gather::MAX_READ_BYTES;

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
    pub run_id: String,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Run the plan (apply, dry run, drift, verify).
    Plan,
    /// Restore the dated backups of a day.
    Rollback(chrono::NaiveDate),
    /// List runs and backups.
    Backups,
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
    pub reviewed: Option<crate::review::ReviewedHost>,
}

/// How a host's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Not started: an earlier batch failed beyond `--max-fail`.
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

/// One file's change. Reports (`--json`, review files) carry the diff, with the values of
/// sensitive keys and secrets masked, and hashes; never the whole bodies.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    /// The path as the plan wrote it, when a symlink was followed.
    pub via: Option<String>,
    #[serde(skip)]
    pub old: Option<String>,
    #[serde(skip)]
    pub new: String,
    /// Unified diff without colours, masked (`report::mask_diff`).
    pub diff: String,
    pub pre_sha256: Option<String>,
    pub new_sha256: String,
    pub backup: Option<String>,
}

/// A command or check, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub step: String,
    pub label: String,
    /// `ran`, `passed`, `failed`, `skipped`, `would run`.
    pub status: String,
    pub detail: String,
}

/// Why a host failed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub step: Option<String>,
    pub origin: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// The result of one host's run.
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    pub outcome: Outcome,
    pub files: Vec<FileChange>,
    pub actions: Vec<ActionRecord>,
    pub notes: Vec<String>,
    pub error: Option<Failure>,
    pub seconds: f64,
    #[serde(skip)]
    pub secrets: Vec<String>,
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
            secrets: Vec::new(),
        }
    }
}

/// A step with its play-scoped key.
struct Flat<'a> {
    key: String,
    step: &'a Step,
    deps: Vec<String>,
}

/// One file being edited.
struct Buffer {
    requested: String,
    real: String,
    original: Option<Vec<u8>>,
    /// Text after the edits computed so far.
    desired: Option<String>,
    /// What the host has now (changes as writes happen).
    on_host: Option<Vec<u8>>,
    new_mode: u32,
    backup: Option<String>,
    /// The path under which `nginx -T` shows this file (it may show the symlink).
    dump_path: String,
}

struct Host<'a> {
    transport: &'a Transport,
    /// The dump command that ran (not from the host's cache) and exited 0 in this run's
    /// gather: it proves its `-t` twin (`nginx -T` is `nginx -t` plus the dump).
    proven_by_dump: Option<String>,
    job: &'a HostJob,
    opts: &'a RunOptions,
    events: Events,
    report: HostReport,
    started: Instant,
}

enum Stop {
    /// Failed without touching the host.
    Untouched(Failure),
}

/// Runs one host. Never panics on host or input errors: every failure ends in the report.
pub async fn run_host(
    transport: &Transport,
    job: &HostJob,
    opts: &RunOptions,
    events: &Events,
) -> HostReport {
    let secrets: Vec<String> = job
        .plans
        .iter()
        .flat_map(|p| p.secret_values.clone())
        .collect();
    let events = events.masking(&secrets);
    let started = Instant::now();
    let mut host = Host {
        transport,
        proven_by_dump: None,
        job,
        opts,
        events,
        report: HostReport {
            host: job.host.clone(),
            outcome: Outcome::InSync,
            files: Vec::new(),
            actions: Vec::new(),
            notes: Vec::new(),
            error: None,
            seconds: 0.0,
            secrets,
        },
        started,
    };
    host.events.send(Event::HostStarted {
        host: job.host.clone(),
    });
    for skipped in job.plans.iter().flat_map(|p| &p.skipped) {
        host.events.send(Event::StepDone {
            host: job.host.clone(),
            step: skipped.id.clone(),
            label: skipped.label.clone(),
            status: "skipped".to_owned(),
            detail: skipped.reason.clone(),
        });
        host.report.actions.push(ActionRecord {
            step: skipped.id.clone(),
            label: skipped.label.clone(),
            status: "skipped".to_owned(),
            detail: skipped.reason.clone(),
        });
    }
    if let Err(Stop::Untouched(failure)) = host.run().await {
        host.report.outcome = Outcome::Failed;
        host.report.error = Some(failure);
    }
    host.report.seconds = host.started.elapsed().as_secs_f64();
    host.report
}

/// `path: message`, or `path:line:col: message` when an editor's message starts with its
/// position (`4:9: ...`).
fn at_file(path: &str, message: &str) -> String {
    let positioned = message
        .split_once(": ")
        .and_then(|(pos, _)| pos.split_once(':'))
        .is_some_and(|(l, c)| {
            !l.is_empty()
                && !c.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && c.bytes().all(|b| b.is_ascii_digit())
        });
    if positioned {
        format!("{path}:{message}")
    } else {
        format!("{path}: {message}")
    }
}

fn failure(step: Option<&Step>, message: String) -> Failure {
    Failure {
        step: step.map(|s| s.id.clone()),
        origin: step.map(|s| s.origin.clone()),
        message,
        hint: step.and_then(|s| s.hint.clone()),
    }
}

impl Host<'_> {
    fn become_user(&self) -> Option<&host::Become> {
        self.job.become_user.as_ref()
    }

    fn phase(&self, phase: &str) {
        self.events.send(Event::Phase {
            host: self.job.host.clone(),
            phase: phase.to_owned(),
        });
    }

    fn record(&mut self, step: &Step, status: &str, detail: String) {
        self.events.send(Event::StepDone {
            host: self.job.host.clone(),
            step: step.id.clone(),
            label: step.label.clone(),
            status: status.to_owned(),
            detail: detail.clone(),
        });
        self.report.actions.push(ActionRecord {
            step: step.id.clone(),
            label: step.label.clone(),
            status: status.to_owned(),
            detail,
        });
    }

    fn note(&mut self, message: String) {
        self.events.send(Event::Note {
            host: self.job.host.clone(),
            message: message.clone(),
        });
        self.report.notes.push(message);
    }

    /// Runs the `unless` check of every command that has one; returns the keys of the
    /// commands whose check failed (they run, and the host is not in sync).
    async fn due_by_unless(&mut self, flat: &[Flat<'_>]) -> Result<BTreeSet<String>, Stop> {
        let mut forced = BTreeSet::new();
        for f in flat {
            let Action::Command(c) = &f.step.action else {
                continue;
            };
            let Some(check) = &c.unless else {
                continue;
            };
            // A plan's text (it may hold secrets) goes on stdin, never in argv.
            let out = self
                .transport
                .run(&host::plan_command(check, self.become_user(), c.timeout))
                .await
                .map_err(|e| {
                    Stop::Untouched(failure(
                        Some(f.step),
                        format!("running the `unless` check `{check}`: {e}"),
                    ))
                })?;
            if !out.success() {
                self.note(format!(
                    "`{check}` ended with {}, so `{}` will run: {}",
                    out.status_text(),
                    c.run,
                    out.combined().trim()
                ));
                forced.insert(f.key.clone());
            }
        }
        Ok(forced)
    }

    fn flat_steps(job: &HostJob) -> (Vec<Flat<'_>>, Vec<&Step>) {
        let mut steps = Vec::new();
        let mut preflight = Vec::new();
        for (p, plan) in job.plans.iter().enumerate() {
            preflight.extend(plan.preflight.iter());
            for step in &plan.steps {
                let deps = match &step.action {
                    Action::Command(c) => {
                        let mut deps: Vec<String> =
                            c.if_changed.iter().map(|d| format!("{p}:{d}")).collect();
                        // A command with `unless` depends on its own check too (see `due_by_unless`).
                        if c.unless.is_some() {
                            deps.push(format!("{p}:{}", step.id));
                        }
                        deps
                    }
                    _ => Vec::new(),
                };
                steps.push(Flat {
                    key: format!("{p}:{}", step.id),
                    step,
                    deps,
                });
            }
        }
        (steps, preflight)
    }

    async fn gather(&mut self, paths: &[String]) -> Result<Gathered, Stop> {
        self.phase("gather");
        let dumps: Vec<String> = self.job.nginx_dump.iter().cloned().collect();
        let cache = host::dump_cache::DumpCache::Read;
        gather::gather(
            self.transport,
            self.become_user(),
            paths,
            &dumps,
            cache,
            fingerprint_covers,
        )
        .await
        .map_err(|e| Stop::Untouched(failure(None, format!("gather: {e}"))))
    }

    async fn run(&mut self) -> Result<(), Stop> {
        let job = self.job;
        let (flat, preflight) = Self::flat_steps(job);
        if self.opts.mode == Mode::Verify {
            let mut checks = preflight.clone();
            checks.extend(
                flat.iter()
                    .filter(|f| matches!(f.step.action, Action::Verify(_)))
                    .map(|f| f.step),
            );
            return self.run_checks(&checks).await.map_err(Stop::Untouched);
        }
        let mut paths: Vec<String> = Vec::new();
        for f in &flat {
            if let Action::Edit(edit) = &f.step.action
                && !paths.contains(&edit.path)
            {
                paths.push(edit.path.clone());
            }
        }
        let mut gathered = self.gather(&paths).await?;
        let mut lock: Option<Child> = None;
        if !gathered.interrupted.is_empty() {
            if self.opts.mode == Mode::DryRun {
                let runs = gathered.interrupted.join(", ");
                self.note(format!("interrupted run(s) {runs} found in the journal: the next apply rolls them back before anything else"));
            } else {
                lock = Some(self.lock().await?);
                for run in gathered.interrupted.clone() {
                    if let Err(message) = self.recover(&run, &flat, &preflight).await {
                        self.report.outcome = Outcome::RollbackFailed;
                        self.report.error = Some(failure(None, message));
                        release(lock).await;
                        return Ok(());
                    }
                }
                gathered = self.gather(&paths).await?;
            }
        }
        self.proven_by_dump = gathered
            .dumps
            .iter()
            .find(|d| d.exit == 0 && d.cached_for.is_none())
            .map(|d| d.command.clone());
        let outcome = self.compute(&flat, &gathered);
        let (mut buffers, mut changed, snapshots) = match outcome {
            Ok(v) => v,
            Err(stop) => {
                release(lock).await;
                return Err(stop);
            }
        };
        let forced = match self.due_by_unless(&flat).await {
            Ok(forced) => forced,
            Err(stop) => {
                release(lock).await;
                return Err(stop);
            }
        };
        changed.extend(forced.iter().cloned());
        let changed_files: Vec<usize> = (0..buffers.len())
            .filter(|&i| {
                buffers[i].desired.as_deref().map(str::as_bytes) != buffers[i].original.as_deref()
            })
            .filter(|&i| buffers[i].desired.is_some())
            .collect();
        self.report.files = changed_files
            .iter()
            .map(|&i| {
                let b = &buffers[i];
                let old = b
                    .original
                    .as_deref()
                    .map(|o| String::from_utf8_lossy(o).into_owned());
                let new = b.desired.clone().unwrap_or_default();
                let diff = match &old {
                    Some(old) => crate::diff::unified(&b.real, old, &new, false),
                    None => crate::diff::new_file(&b.real, &new, false),
                };
                FileChange {
                    path: b.real.clone(),
                    via: (b.requested != b.real).then(|| b.requested.clone()),
                    diff: crate::report::mask_diff(&diff, &self.report.secrets),
                    new_sha256: journal::sha256_hex(new.as_bytes()),
                    old,
                    new,
                    pre_sha256: b.original.as_deref().map(journal::sha256_hex),
                    backup: b.backup.clone(),
                }
            })
            .collect();
        if let Some(reviewed) = &self.job.reviewed {
            let planned: Vec<(String, Option<String>, String)> = self
                .report
                .files
                .iter()
                .map(|f| (f.path.clone(), f.pre_sha256.clone(), f.new_sha256.clone()))
                .collect();
            if let Err(message) = reviewed.check(&planned) {
                release(lock).await;
                return Err(Stop::Untouched(failure(
                    None,
                    format!("refusing to apply: {message}"),
                )));
            }
        }
        if changed_files.is_empty() && forced.is_empty() {
            self.report.outcome = Outcome::InSync;
            release(lock).await;
            if self.opts.mode == Mode::Apply
                && let Some(dump) = &self.proven_by_dump
            {
                // The dump had to run (no stored copy, or a stale one): keep this one for
                // the next checks. Best effort; a dry run never writes.
                let _ = self
                    .transport
                    .exec_within(
                        &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                        Some(
                            host::dump_cache::refresh_dumps_script(std::slice::from_ref(dump))
                                .as_bytes(),
                        ),
                        host::SCRIPT_BOUND,
                    )
                    .await;
            }
            return Ok(());
        }
        if self.opts.mode == Mode::DryRun {
            for f in &flat {
                match &f.step.action {
                    Action::Command(c) if should_run(c, &f.deps, &changed) => {
                        self.record(f.step, "would run", c.run.clone());
                    }
                    Action::Command(_) => self.record(
                        f.step,
                        "skipped",
                        "nothing it depends on changes".to_owned(),
                    ),
                    Action::Verify(_) => self.record(f.step, "would run", String::new()),
                    Action::Edit(_) => {}
                }
            }
            self.report.outcome = Outcome::WouldChange;
            return Ok(());
        }
        let lock = match lock {
            Some(l) => l,
            None => self.lock().await?,
        };
        let result = self
            .transaction(
                &flat,
                &preflight,
                &mut buffers,
                &changed,
                &snapshots,
                &changed_files,
            )
            .await;
        release(Some(lock)).await;
        result
    }

    /// Computes every file's desired content. Returns buffers, the keys of the steps that
    /// changed something, and per edit step the (buffer, content after the step).
    #[allow(clippy::type_complexity)]
    fn compute(
        &mut self,
        flat: &[Flat<'_>],
        gathered: &Gathered,
    ) -> Result<
        (
            Vec<Buffer>,
            BTreeSet<String>,
            HashMap<String, (usize, String)>,
        ),
        Stop,
    > {
        let effective = match gathered.dumps.first() {
            Some(dump) if dump.exit != 0 => {
                return Err(Stop::Untouched(failure(
                    None,
                    format!(
                        "pre-flight: `{}` fails before any change (exit {}), so nothing was touched; nginx says:\n{}",
                        dump.command,
                        dump.exit,
                        dump.output.trim()
                    ),
                )));
            }
            Some(dump) => nginx::Effective::from_dump(&dump.output).map_err(|e| {
                Stop::Untouched(failure(
                    None,
                    format!("cannot read the output of `{}`: {e}", dump.command),
                ))
            })?,
            None => nginx::Effective::empty(),
        };
        let mut buffers: Vec<Buffer> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        for file in &gathered.files {
            if let Some(&i) = index_of.get(&file.real) {
                index_of.insert(file.requested.clone(), i);
                continue;
            }
            let (original, mode) = match &file.state {
                FileState::Present { content, mode, .. } => (Some(content.clone()), *mode),
                FileState::Absent => (None, 0o644),
                FileState::NotAFile => {
                    return Err(Stop::Untouched(failure(
                        None,
                        format!("{} exists but is not a regular file", file.real),
                    )));
                }
                FileState::Unreadable => {
                    return Err(Stop::Untouched(failure(
                        None,
                        format!(
                            "{} cannot be read on the host (permissions? set ansible_become)",
                            file.real
                        ),
                    )));
                }
            };
            if original.as_ref().is_some_and(|o| o.len() > MAX_FILE_BYTES) {
                return Err(Stop::Untouched(failure(
                    None,
                    format!(
                        "{} is larger than {} MiB: refusing to edit it as a configuration file",
                        file.real,
                        MAX_FILE_BYTES / 1024 / 1024
                    ),
                )));
            }
            let desired = match &original {
                Some(bytes) => Some(match std::str::from_utf8(bytes) {
                    Ok(t) if !t.contains('\0') => t.to_owned(),
                    _ => {
                        return Err(Stop::Untouched(failure(
                            None,
                            format!(
                                "{} is not UTF-8 text (binary file?): refusing to edit it",
                                file.real
                            ),
                        )));
                    }
                }),
                None => None,
            };
            let backup = original.as_ref().map(|_| {
                backups::backup_path(
                    &file.real,
                    self.opts.today,
                    gathered
                        .dumps
                        .first()
                        .map(|_| effective.include_globs())
                        .as_deref(),
                )
            });
            let dump_path =
                effective_path(&effective, &file.requested, &file.real, desired.as_deref());
            let i = buffers.len();
            buffers.push(Buffer {
                dump_path,
                requested: file.requested.clone(),
                real: file.real.clone(),
                on_host: original.clone(),
                original,
                desired,
                new_mode: mode,
                backup,
            });
            index_of.insert(file.real.clone(), i);
            index_of.insert(file.requested.clone(), i);
        }
        let ctx = EditContext { nginx: &effective };
        let mut changed = BTreeSet::new();
        let mut snapshots = HashMap::new();
        for f in flat {
            let Action::Edit(edit) = &f.step.action else {
                continue;
            };
            let Some(&i) = index_of.get(&edit.path) else {
                return Err(Stop::Untouched(failure(
                    Some(f.step),
                    format!("internal: {} was not gathered", edit.path),
                )));
            };
            let buffer = &mut buffers[i];
            let new = edit::apply(
                &edit.kind,
                &buffer.dump_path,
                buffer.desired.as_deref(),
                &ctx,
            )
            .map_err(|message| {
                Stop::Untouched(failure(Some(f.step), at_file(&buffer.real, &message)))
            })?;
            if let EditKind::Whole {
                mode: Some(mode), ..
            } = &edit.kind
                && buffer.original.is_none()
            {
                buffer.new_mode = *mode;
            }
            if buffer.desired.as_deref() != Some(new.as_str()) {
                changed.insert(f.key.clone());
            }
            buffer.desired = Some(new.clone());
            snapshots.insert(f.key.clone(), (i, new));
        }
        Ok((buffers, changed, snapshots))
    }

    async fn lock(&mut self) -> Result<Child, Stop> {
        self.phase("lock");
        let holder = format!(
            "run {} by {} (pid {}) since {}",
            self.opts.run_id,
            self.opts.operator,
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        let command = lock::lock_command(&holder, self.become_user());
        // The holder gives the lock up when the heartbeat stops (a vanished controller).
        let heartbeat = Heartbeat {
            interval: lock::LOCK_HEARTBEAT_INTERVAL,
            bytes: lock::LOCK_HEARTBEAT.as_bytes(),
        };
        let spawned = self.transport.spawn(&command, Some(heartbeat)).await;
        let mut child = spawned.map_err(|e| {
            Stop::Untouched(failure(None, format!("cannot take the run lock: {e}")))
        })?;
        let line =
            tokio::time::timeout(std::time::Duration::from_secs(30), child.read_line()).await;
        let reply = match &line {
            Ok(Ok(Some(l))) => LockReply::parse(l),
            _ => LockReply::Unexpected,
        };
        match reply {
            LockReply::Locked => Ok(child),
            LockReply::Busy(holder) => {
                child.close().await;
                Err(Stop::Untouched(failure(
                    None,
                    format!(
                        "another wsdeploy run holds the lock on this host: {holder}; nothing was touched (wait for it, or check {}/lock.holder)",
                        host::STATE_DIR
                    ),
                )))
            }
            LockReply::Unexpected => {
                child.close().await;
                Err(Stop::Untouched(failure(
                    None,
                    format!(
                        "cannot take the run lock (is util-linux `flock` installed? root or become needed): {line:?}"
                    ),
                )))
            }
        }
    }

    async fn run_checks(&mut self, checks: &[&Step]) -> Result<(), Failure> {
        for step in checks {
            match &step.action {
                Action::Command(c) => {
                    let out = self
                        .transport
                        .run(&host::plan_command(&c.run, self.become_user(), c.timeout))
                        .await
                        .map_err(|e| failure(Some(step), e.to_string()))?;
                    if c.expect_exit.contains(&out.code()) {
                        self.record(step, "passed", String::new());
                    } else if out.timed_out() {
                        let text = out.combined();
                        self.record(step, "failed", text.clone());
                        return Err(failure(
                            Some(step),
                            timed_out_message(&c.run, c.timeout, &text),
                        ));
                    } else {
                        let text = out.combined();
                        self.record(step, "failed", text.clone());
                        return Err(failure(
                            Some(step),
                            format!(
                                "`{}` ended with {}:\n{}",
                                c.run,
                                out.status_text(),
                                text.trim()
                            ),
                        ));
                    }
                }
                Action::Verify(check) => self.check(step, check).await?,
                Action::Edit(_) => {}
            }
        }
        Ok(())
    }

    async fn check(&mut self, step: &Step, check: &Check) -> Result<(), Failure> {
        match verify::run_check(self.transport, self.become_user(), check).await {
            Ok(evidence) => {
                self.record(step, "passed", evidence);
                Ok(())
            }
            Err(message) if check.warn_only => {
                self.record(step, "warning", message.clone());
                let hint = step
                    .hint
                    .as_deref()
                    .map(|h| format!("\n  hint: {h}"))
                    .unwrap_or_default();
                self.note(format!("warning: {}: {message}{hint}", step.label));
                Ok(())
            }
            Err(message) => {
                self.record(step, "failed", message.clone());
                Err(failure(Some(step), message))
            }
        }
    }

    #[allow(clippy::too_many_lines)]
    async fn transaction(
        &mut self,
        flat: &[Flat<'_>],
        preflight: &[&Step],
        buffers: &mut [Buffer],
        changed: &BTreeSet<String>,
        snapshots: &HashMap<String, (usize, String)>,
        changed_files: &[usize],
    ) -> Result<(), Stop> {
        self.phase("preflight");
        let mut to_run: Vec<&Step> = Vec::new();
        let proven = self.proven_by_dump.clone();
        for &step in preflight {
            match (&step.action, &proven) {
                (Action::Command(c), Some(dump)) if proves(dump, &c.run) => {
                    let detail = format!("proven by `{dump}` (exit 0) when the host was read");
                    self.record(step, "passed", detail);
                }
                _ => to_run.push(step),
            }
        }
        if let Err(mut f) = self.run_checks(&to_run).await {
            f.message = format!(
                "pre-flight check failed before any change, so nothing was touched: {}",
                f.message
            );
            return Err(Stop::Untouched(f));
        }
        let run_id = self.opts.run_id.clone();
        let commands: Vec<JournalCommand> = flat
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match &f.step.action {
                Action::Command(c) if should_run(c, &f.deps, changed) => {
                    let run = crate::report::mask(&c.run, &self.report.secrets);
                    Some(JournalCommand {
                        index: i,
                        masked: run != c.run,
                        run,
                        rerun_on_rollback: !c.if_changed.is_empty(),
                    })
                }
                _ => None,
            })
            .collect();
        let manifest = Manifest {
            run_id: run_id.clone(),
            plan: self.opts.plan_name.clone(),
            operator: self.opts.operator.clone(),
            started: chrono::Utc::now().to_rfc3339(),
            host: self.job.host.clone(),
            kind: self.opts.kind.clone(),
            files: changed_files
                .iter()
                .map(|&i| JournalFile {
                    index: i,
                    path: buffers[i].real.clone(),
                    existed: buffers[i].original.is_some(),
                    sha256: buffers[i].original.as_deref().map(journal::sha256_hex),
                    backup: buffers[i].backup.clone(),
                    mode: buffers[i].original.is_some().then_some(buffers[i].new_mode),
                    written: {
                        let mut shas: Vec<String> = snapshots
                            .values()
                            .filter(|(b, _)| *b == i)
                            .map(|(_, content)| journal::sha256_hex(content.as_bytes()))
                            .chain(
                                buffers[i]
                                    .desired
                                    .as_deref()
                                    .map(|d| journal::sha256_hex(d.as_bytes())),
                            )
                            .collect();
                        shas.sort();
                        shas.dedup();
                        shas
                    },
                })
                .collect(),
            commands,
        };
        let manifest_json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        let planned: Vec<PlannedWrite> = changed_files
            .iter()
            .map(|&i| PlannedWrite {
                index: i,
                path: buffers[i].real.clone(),
                expected_sha256: buffers[i].original.as_deref().map(journal::sha256_hex),
                backup: buffers[i].backup.clone(),
                via: (buffers[i].requested != buffers[i].real)
                    .then(|| buffers[i].requested.clone()),
                mode: buffers[i].original.is_some().then_some(buffers[i].new_mode),
            })
            .collect();
        // The edits before the first command or check are written by the same exec that
        // creates the journal (after it, in the same script): one round trip fewer.
        let mut pending: Vec<usize> = Vec::new();
        for f in flat
            .iter()
            .take_while(|f| matches!(f.step.action, Action::Edit(_)))
        {
            if let Some((i, content)) = snapshots.get(&f.key) {
                if !pending.contains(i) {
                    pending.push(*i);
                }
                buffers[*i].desired = Some(content.clone());
            }
        }
        let first_writes = due_writes(buffers, &mut pending);
        let script = journal_entry::journal_then_write_script(
            &run_id,
            &manifest_json,
            &planned,
            &file_contents(buffers, &first_writes),
        );
        self.phase("journal");
        let sent = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                Some(script.as_bytes()),
                host::SCRIPT_BOUND,
            )
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                // How far the script got is unknown: the rollback restores what the
                // journal says was started, or reports the host untouched if the journal
                // was never completed.
                self.report.error = Some(failure(
                    None,
                    format!("the connection failed while writing the journal and files: {e}"),
                ));
                self.rollback(flat, preflight, &manifest, &[]).await;
                return Ok(());
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let journaled = Journaled::parse(&stdout);
        if !out.success() && !journaled.complete {
            return Err(Stop::Untouched(failure(None, journal_entry::failure(&out))));
        }
        for b in journaled.backups {
            self.note(format!("backup {b}"));
        }
        mark_written(buffers, &first_writes, &stdout);
        let mut ran: Vec<usize> = Vec::new();
        self.phase("apply");
        let mut error: Option<Failure> = if out.success() {
            None
        } else {
            Some(failure(None, write::failure(&out)))
        };
        for (position, f) in flat.iter().enumerate() {
            if error.is_some() {
                break;
            }
            match &f.step.action {
                Action::Edit(_) => {
                    if let Some((i, _)) = snapshots.get(&f.key) {
                        if !pending.contains(i) {
                            pending.push(*i);
                        }
                        if let Some((i, content)) = snapshots.get(&f.key) {
                            buffers[*i].desired = Some(content.clone());
                        }
                    }
                    if changed.contains(&f.key) {
                        self.record(f.step, "changed", String::new());
                    }
                }
                Action::Command(c) => {
                    if let Err(e) = self.flush(buffers, &mut pending).await {
                        error = Some(e);
                        break;
                    }
                    if !should_run(c, &f.deps, changed) {
                        self.record(
                            f.step,
                            "skipped",
                            "nothing it depends on changed".to_owned(),
                        );
                        continue;
                    }
                    ran.push(position);
                    let script = journal::journaled_command(&run_id, position, &c.run);
                    // The host stops the command, and all it started, after its
                    // `timeout`; the controller gives up a few seconds later.
                    let result = self
                        .transport
                        .exec_within(
                            &host::script_runner(self.become_user(), c.timeout),
                            Some(script.as_bytes()),
                            c.timeout,
                        )
                        .await;
                    match result {
                        Ok(out) if c.expect_exit.contains(&out.code()) => {
                            self.record(f.step, "ran", out.combined())
                        }
                        Ok(out) if out.timed_out() => {
                            let text = out.combined();
                            self.record(f.step, "failed", text.clone());
                            error = Some(failure(
                                Some(f.step),
                                timed_out_message(&c.run, c.timeout, &text),
                            ));
                            break;
                        }
                        Ok(out) => {
                            let text = out.combined();
                            self.record(f.step, "failed", text.clone());
                            error = Some(failure(
                                Some(f.step),
                                format!(
                                    "`{}` ended with {}:\n{}",
                                    c.run,
                                    out.status_text(),
                                    text.trim()
                                ),
                            ));
                            break;
                        }
                        Err(e) => {
                            error = Some(failure(Some(f.step), format!("`{}`: {e}", c.run)));
                            break;
                        }
                    }
                }
                Action::Verify(check) => {
                    if let Err(e) = self.flush(buffers, &mut pending).await {
                        error = Some(e);
                        break;
                    }
                    if let Err(e) = self.check(f.step, check).await {
                        error = Some(e);
                        break;
                    }
                }
            }
        }
        if error.is_none()
            && let Err(e) = self.flush(buffers, &mut pending).await
        {
            error = Some(e);
        }
        match error {
            None => {
                // One exec: mark the run committed, then keep the new config's dump for
                // the next gathers.
                let dumps: Vec<String> = self.job.nginx_dump.iter().cloned().collect();
                let out = self
                    .transport
                    .exec_within(
                        &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                        Some(journal::commit_script(&run_id, &dumps).as_bytes()),
                        host::SCRIPT_BOUND,
                    )
                    .await;
                if !matches!(&out, Ok(o) if o.success()) {
                    self.note(format!("the change is complete but marking run {run_id} committed failed: the next run will treat it as interrupted"));
                }
                self.report.outcome = Outcome::Changed;
                Ok(())
            }
            Some(failure) => {
                self.report.error = Some(failure);
                // Only the files this run did write are put back.
                let mut written = manifest.clone();
                written.files.retain(|f| {
                    buffers
                        .get(f.index)
                        .is_some_and(|b| b.on_host != b.original)
                });
                self.rollback(flat, preflight, &written, &ran).await;
                Ok(())
            }
        }
    }

    /// Writes the files whose desired content differs from what the host has.
    async fn flush(
        &mut self,
        buffers: &mut [Buffer],
        pending: &mut Vec<usize>,
    ) -> Result<(), Failure> {
        let due = due_writes(buffers, pending);
        if due.is_empty() {
            return Ok(());
        }
        let script = write::write_script(&file_contents(buffers, &due));
        let out = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                Some(script.as_bytes()),
                host::SCRIPT_BOUND,
            )
            .await
            .map_err(|e| failure(None, format!("writing files: {e}")))?;
        mark_written(buffers, &due, &String::from_utf8_lossy(&out.stdout));
        if out.success() {
            Ok(())
        } else {
            Err(failure(None, write::failure(&out)))
        }
    }

    async fn rollback(
        &mut self,
        flat: &[Flat<'_>],
        preflight: &[&Step],
        manifest: &Manifest,
        ran: &[usize],
    ) {
        self.phase("rollback");
        let run_id = manifest.run_id.clone();
        let restored = self.restore(&run_id, &manifest.files).await;
        let mut problems = Vec::new();
        match restored {
            Ok(true) => {}
            Ok(false) => {
                self.report.outcome = Outcome::Failed;
                self.note(format!(
                    "run {run_id} never completed its journal, so no file was touched"
                ));
                return;
            }
            Err(e) => problems.push(e),
        }
        for &position in ran {
            let Some(f) = flat.get(position) else {
                continue;
            };
            if let Action::Command(c) = &f.step.action {
                if c.if_changed.is_empty() {
                    continue;
                }
                // Under the step's own `timeout`: a command that timed out in the run
                // cannot hang its rollback.
                let out = self
                    .transport
                    .run(&host::plan_command(&c.run, self.become_user(), c.timeout))
                    .await;
                match out {
                    Ok(o) if c.expect_exit.contains(&o.code()) => {
                        self.note(format!("rollback: re-ran `{}`", c.run))
                    }
                    Ok(o) if o.timed_out() => problems.push(format!(
                        "re-running `{}`: {}",
                        c.run,
                        timed_out_message(&c.run, c.timeout, &o.combined())
                    )),
                    Err(e @ crate::transport::TransportError::TimedOut(..)) => {
                        problems.push(format!("re-running `{}`: {e}", c.run));
                    }
                    Ok(o) => self.note(format!(
                        "rollback: re-running `{}` ended with {}: {}",
                        c.run,
                        o.status_text(),
                        o.combined().trim()
                    )),
                    Err(e) => self.note(format!("rollback: re-running `{}` failed: {e}", c.run)),
                }
            }
        }
        if problems.is_empty()
            && let Err(f) = self.run_checks(preflight).await
        {
            problems.push(format!("health check after rollback failed: {}", f.message));
        }
        let state = if problems.is_empty() {
            JournalState::RolledBack
        } else {
            JournalState::RollbackFailed
        };
        let _ = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                Some(journal::set_state_script(&run_id, state).as_bytes()),
                host::SCRIPT_BOUND,
            )
            .await;
        if problems.is_empty() {
            self.report.outcome = Outcome::RolledBack;
            self.note(format!("rolled back: every file is back to its exact previous bytes (journal {}/runs/{run_id})", host::STATE_DIR));
        } else {
            self.report.outcome = Outcome::RollbackFailed;
            self.note(format!(
                "NEEDS ATTENTION: rollback incomplete: {}; pre-images are in {}/runs/{run_id}/pre (see manifest.json there)",
                problems.join("; "),
                host::STATE_DIR
            ));
        }
    }

    /// Restores the journal's pre-images; `Ok(false)` when the run has no journal state,
    /// which means no file was touched.
    async fn restore(&mut self, run_id: &str, files: &[JournalFile]) -> Result<bool, String> {
        let script = restore::restore_script(run_id, files);
        let out = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                Some(script.as_bytes()),
                host::SCRIPT_BOUND,
            )
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

    /// Rolls back a run that was interrupted (lost connection, killed agent).
    async fn recover(
        &mut self,
        run_id: &str,
        flat: &[Flat<'_>],
        preflight: &[&Step],
    ) -> Result<(), String> {
        self.phase("recover");
        if !journal::is_run_id(run_id) {
            return Err(format!(
                "interrupted run `{run_id}` is not a run id wsdeploy makes: inspect {}/runs by hand",
                host::STATE_DIR
            ));
        }
        let out = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                Some(journal::read_journal_script(run_id).as_bytes()),
                host::SCRIPT_BOUND,
            )
            .await
            .map_err(|e| format!("reading interrupted run {run_id}: {e}"))?;
        let read = journal::ReadBack::parse(&String::from_utf8_lossy(&out.stdout), run_id);
        if !read.in_progress() {
            self.note(format!(
                "run {run_id} is no longer in progress ({}): nothing to recover",
                read.state
            ));
            return Ok(());
        }
        let ran = read.ran;
        let manifest: Manifest = read
            .manifest
            .ok_or_else(|| format!("interrupted run {run_id} has an unreadable or inconsistent manifest in {}/runs/{run_id}: inspect it by hand", host::STATE_DIR))?;
        self.restore(run_id, &manifest.files).await?;
        for command in manifest
            .commands
            .iter()
            .filter(|c| c.rerun_on_rollback && ran.contains(&c.index))
        {
            // Only a command the current plan also has runs again (taken from the plan:
            // the journal never holds secrets, and is no source of commands to run).
            let Some((run, bound)) = self.plan_command(flat, command, &manifest.plan) else {
                self.note(format!(
                    "recovery: not repeating `{}`: the current plan has no such command; run it by hand if it is needed",
                    command.run
                ));
                continue;
            };
            let out = self
                .transport
                .run(&host::plan_command(&run, self.become_user(), bound))
                .await;
            match out {
                Ok(o) if o.success() => self.note(format!("recovery: re-ran `{}`", command.run)),
                Ok(o) => self.note(format!(
                    "recovery: `{}` ended with {}: {}",
                    command.run,
                    o.status_text(),
                    o.combined().trim()
                )),
                Err(e) => self.note(format!("recovery: `{}` failed: {e}", command.run)),
            }
        }
        if let Err(f) = self.run_checks(preflight).await {
            let _ = self
                .transport
                .exec_within(
                    &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                    Some(
                        journal::set_state_script(run_id, JournalState::RollbackFailed).as_bytes(),
                    ),
                    host::SCRIPT_BOUND,
                )
                .await;
            return Err(format!(
                "interrupted run {run_id} was restored but the health check failed: {}",
                f.message
            ));
        }
        let _ = self
            .transport
            .exec_within(
                &host::script_runner(self.become_user(), host::SCRIPT_BOUND),
                Some(journal::set_state_script(run_id, JournalState::RolledBack).as_bytes()),
                host::SCRIPT_BOUND,
            )
            .await;
        self.note(format!(
            "recovered interrupted run {run_id} ({} by {}): restored {} file(s) to their pre-run bytes",
            manifest.started,
            manifest.operator,
            manifest.files.len()
        ));
        Ok(())
    }
}

impl Host<'_> {
    /// The current plan's command that a journal's `command` records: a reload/restart
    /// step (`if_changed`) whose text, masked, is the journal's; the same step (same
    /// plan, same position) first, else any such step of the current plan.
    fn plan_command(
        &self,
        flat: &[Flat<'_>],
        command: &JournalCommand,
        plan: &str,
    ) -> Option<(String, Duration)> {
        let secrets = &self.report.secrets;
        let candidate = |f: &Flat<'_>| match &f.step.action {
            Action::Command(c)
                if !c.if_changed.is_empty()
                    && crate::report::mask(&c.run, secrets) == command.run =>
            {
                Some((c.run.clone(), c.timeout))
            }
            _ => None,
        };
        let same_step = (plan == self.opts.plan_name)
            .then(|| flat.get(command.index).and_then(candidate))
            .flatten();
        same_step.or_else(|| flat.iter().find_map(candidate))
    }
}

/// The error for a command the host stopped after its `timeout`.
fn timed_out_message(run: &str, bound: Duration, output: &str) -> String {
    format!(
        "`{run}` did not finish within its timeout of {}s: the host stopped it and everything it started{}",
        host::bound_secs(bound),
        if output.trim().is_empty() {
            String::new()
        } else {
            format!(":\n{}", output.trim())
        }
    )
}

async fn release(lock: Option<Child>) {
    if let Some(child) = lock {
        child.close().await;
    }
}

fn should_run(c: &CommandAction, deps: &[String], changed: &BTreeSet<String>) -> bool {
    c.if_changed.is_empty() || deps.iter().any(|d| changed.contains(d))
}

/// The pending buffers whose desired content differs from what the host has (drains
/// `pending`).
fn due_writes(buffers: &[Buffer], pending: &mut Vec<usize>) -> Vec<usize> {
    pending
        .drain(..)
        .filter(|&i| {
            buffers[i].desired.as_deref().map(str::as_bytes) != buffers[i].on_host.as_deref()
        })
        .collect()
}

/// What `host::write::write_script` writes for buffers `due`.
fn file_contents<'a>(buffers: &'a [Buffer], due: &[usize]) -> Vec<FileContent<'a>> {
    due.iter()
        .map(|&i| FileContent {
            path: &buffers[i].real,
            content: buffers[i].desired.as_deref().unwrap_or_default().as_bytes(),
            new_mode: buffers[i].new_mode,
            expected: buffers[i].on_host.as_deref().map(journal::sha256_hex),
        })
        .collect()
}

/// Records as on the host every buffer of `due` the write script says it replaced.
fn mark_written(buffers: &mut [Buffer], due: &[usize], stdout: &str) {
    for (position, &i) in due.iter().enumerate() {
        if write::wrote(stdout, position) {
            buffers[i].on_host = buffers[i].desired.as_ref().map(|d| d.as_bytes().to_vec());
        }
    }
}

/// Whether a successful run of `dump` proves that `command` succeeds: `nginx -T` tests
/// the configuration exactly as `nginx -t` does, then prints it.
fn proves(dump: &str, command: &str) -> bool {
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let (dump, command) = (words(dump), words(command));
    dump.len() == command.len()
        && dump
            .iter()
            .zip(&command)
            .all(|(d, c)| d == c || (d == "-T" && c == "-t"))
        && dump.iter().any(|d| d == "-T")
}

/// Whether a stored dump's fingerprint covers every file and include directory of the
/// configuration it shows (else a change there would go unnoticed).
fn fingerprint_covers(dump: &gather::Dump) -> bool {
    dump.cached_for.as_ref().is_some_and(|watched| {
        nginx::Effective::from_dump(&dump.output)
            .is_ok_and(|effective| effective.is_covered_by(watched))
    })
}

/// The path under which `nginx -T` shows this buffer's file (it may show the symlink).
fn effective_path(
    effective: &nginx::Effective,
    requested: &str,
    real: &str,
    text: Option<&str>,
) -> String {
    if effective.context_of(requested).is_some() {
        return requested.to_owned();
    }
    if effective.context_of(real).is_some() {
        return real.to_owned();
    }
    if let Some(text) = text
        && let Some(path) = effective.path_with_text(text)
    {
        return path;
    }
    real.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_nginx_dump_proves_only_its_test_twin() {
        assert!(proves("nginx -T", "nginx -t"));
        assert!(proves(
            "nginx -T -c /etc/x.conf",
            "nginx  -t -c /etc/x.conf"
        ));
        assert!(!proves("nginx -T", "nginx -t -c /etc/x.conf"));
        assert!(proves("nginx -T", "nginx -T"));
        assert!(!proves("docker exec web nginx -T", "nginx -t"));
        assert!(!proves(
            "cat /etc/nginx/nginx.conf",
            "cat /etc/nginx/nginx.conf"
        ));
    }
}
