//! The change itself, inside a transaction: preflight → journal (pre-images, manifest,
//! backups; the first writes in the same exec) → the steps in order (writes before each
//! command or check; the writes and commands between two checks in one exec, see
//! `sequence`) → commit; any failure after the journal rolls back (`undo`).

use super::compute::{Buffer, Change, due_writes, file_contents};
use super::lock::HostLock;
use super::sequence::Sequence;
use super::{Ending, Flat, Host, StepKey, failure, should_run};
use crate::host::journal::{self, JournalCommand, JournalFile, Manifest};
use crate::host::journal_entry::{self, Journaled, PlannedWrite};
use crate::host::{RunId, write};
use crate::plan::{Action, Step};
use crate::run::Failure;

/// Where the steps of a transaction stand.
struct Progress {
    /// Buffers with content to write before the next command or check.
    pending: Vec<usize>,
    /// Positions (in the flat step list) of the commands that started.
    ran: Vec<usize>,
}

/// How the journal exec ended.
enum JournalExec {
    /// Journal complete, first writes made.
    Done,
    /// Journal complete, but a first write failed: roll back.
    FirstWritesFailed(Failure),
    /// Failed before the journal was complete: nothing was touched.
    Untouched(Failure),
    /// The connection failed: how far the script got is unknown.
    Unknown(Failure),
}

impl Host<'_> {
    /// Makes `change` on the host. Called with the lock held.
    pub(super) async fn transaction(
        &mut self,
        flat: &[Flat<'_>],
        preflight: &[&Step],
        mut change: Change,
        lock: Option<&mut HostLock>,
    ) -> Ending {
        if let Err(f) = self.preflight(preflight).await {
            return Ending::Untouched(f);
        }
        let manifest = self.manifest(flat, &change);
        let mut progress = Progress {
            pending: Vec::new(),
            ran: Vec::new(),
        };
        let journaled = self
            .journal(flat, &manifest, &mut change, &mut progress)
            .await;
        let result = match journaled {
            JournalExec::Untouched(f) => return Ending::Untouched(f),
            JournalExec::Unknown(cause) => {
                // How far the script got is unknown: the rollback restores what the
                // journal says was started, or reports the host untouched if the journal
                // was never completed.
                return self.rollback(flat, preflight, &manifest, &[], cause).await;
            }
            JournalExec::FirstWritesFailed(f) => {
                self.phase("apply");
                Err(f)
            }
            JournalExec::Done => {
                self.phase("apply");
                self.steps(flat, &mut change, &mut progress).await
            }
        };
        let result = match result {
            Ok(()) => self.commit(&manifest.run_id, lock).await,
            Err(cause) => Err(cause),
        };
        match result {
            // Only commands without a condition ran: the host was and is in sync.
            Ok(()) if change.is_empty() => Ending::InSync,
            Ok(()) => Ending::Changed,
            Err(cause) => {
                // Only the files this run did write are put back.
                let mut written = manifest;
                written.files.retain(|f| {
                    change
                        .buffers
                        .get(f.index)
                        .is_some_and(|b| b.on_host != b.original)
                });
                self.rollback(flat, preflight, &written, &progress.ran, cause)
                    .await
            }
        }
    }

    /// The journal's record of the change: files with their pre-image hashes and every
    /// hash this run may write, and the commands that will run (masked).
    fn manifest(&self, flat: &[Flat<'_>], change: &Change) -> Manifest {
        let commands: Vec<JournalCommand> = flat
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match &f.step.action {
                Action::Command(c) if should_run(c, &f.deps, &change.changed) => {
                    let run = crate::mask::mask(&c.run, &self.report.secrets);
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
        Manifest {
            run_id: self.opts.run_id.clone(),
            plan: self.opts.plan_name.clone(),
            operator: self.opts.operator.clone(),
            started: chrono::Utc::now().to_rfc3339(),
            host: self.job.host.clone(),
            kind: self.opts.kind.clone(),
            files: change
                .changed_files
                .iter()
                .map(|&i| journal_file(change, i))
                .collect(),
            commands,
        }
    }

    /// Writes the journal, then (same exec) the edits before the first command or check.
    async fn journal(
        &mut self,
        flat: &[Flat<'_>],
        manifest: &Manifest,
        change: &mut Change,
        progress: &mut Progress,
    ) -> JournalExec {
        let (script, first_writes) = journal_script(flat, manifest, change, progress);
        self.phase("journal");
        let sent = self.run_script(&script).await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                return JournalExec::Unknown(failure(
                    None,
                    format!("the connection failed while writing the journal and files: {e}"),
                ));
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let journaled = Journaled::parse(&stdout);
        if !out.success() && !journaled.complete {
            return JournalExec::Untouched(failure(None, journal_entry::failure(&out)));
        }
        for b in journaled.backups {
            self.note(format!("backup {b}"));
        }
        mark_written(&mut change.buffers, &first_writes, &stdout);
        if out.success() {
            JournalExec::Done
        } else {
            JournalExec::FirstWritesFailed(failure(None, write::failure(&out)))
        }
    }

    /// The plan's steps in order: edits staged, the writes due before each command and
    /// the commands sent as one exec up to the next check (`sequence`), the check, and
    /// so on to the end; the first failure ends them.
    async fn steps(
        &mut self,
        flat: &[Flat<'_>],
        change: &mut Change,
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        let mut sequence = Sequence::default();
        for (position, f) in flat.iter().enumerate() {
            match &f.step.action {
                Action::Edit(_) => {
                    stage(change, &mut progress.pending, &f.key);
                    if change.changed.contains(&f.key) {
                        sequence.changed(position);
                    }
                }
                Action::Command(c) => {
                    sequence.writes(&self.opts.run_id, &change.buffers, &mut progress.pending);
                    if should_run(c, &f.deps, &change.changed) {
                        sequence.command(position);
                    } else {
                        sequence.skipped(position);
                    }
                }
                Action::Verify(check) => {
                    sequence.writes(&self.opts.run_id, &change.buffers, &mut progress.pending);
                    let sent = std::mem::take(&mut sequence);
                    self.run_sequence(flat, sent, &mut change.buffers, &mut progress.ran)
                        .await?;
                    self.check(f.step, check).await?;
                }
            }
        }
        sequence.writes(&self.opts.run_id, &change.buffers, &mut progress.pending);
        self.run_sequence(flat, sequence, &mut change.buffers, &mut progress.ran)
            .await
    }

    /// One exec: marks the run committed, then keeps the new configuration's dump for
    /// the next gathers. A run that cannot be marked committed is a failure: left as it
    /// is, the next apply would find it `in_progress` and undo it as interrupted.
    /// Run by the lock's holder when there is one (no session of its own), the lock
    /// held until the rollback a failure leads to is done.
    async fn commit(&mut self, run_id: &RunId, lock: Option<&mut HostLock>) -> Result<(), Failure> {
        let dumps: Vec<String> = self.job.nginx_dump.iter().cloned().collect();
        let script = journal::commit_script(run_id, &dumps);
        let out = match lock {
            Some(lock) => lock.run(&script).await,
            None => self.run_script(&script).await.map_err(|e| e.to_string()),
        };
        let why = match out {
            Ok(o) if o.success() => return Ok(()),
            Ok(o) => format!("{}: {}", o.status_text(), o.combined().trim()),
            Err(e) => e,
        };
        Err(failure(
            None,
            format!(
                "the change was made but marking run {run_id} committed failed ({why}); a run not marked committed would be undone as interrupted by the next apply, so it is rolled back now"
            ),
        ))
    }
}

/// The journal exec's script, with the edits before the first command or check staged
/// and written by it; returns the buffers it writes.
fn journal_script(
    flat: &[Flat<'_>],
    manifest: &Manifest,
    change: &mut Change,
    progress: &mut Progress,
) -> (String, Vec<usize>) {
    let manifest_json = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    let planned: Vec<PlannedWrite> = change
        .changed_files
        .iter()
        .map(|&i| planned_write(&change.buffers[i], i))
        .collect();
    for f in flat
        .iter()
        .take_while(|f| matches!(f.step.action, Action::Edit(_)))
    {
        stage(change, &mut progress.pending, &f.key);
    }
    let first_writes = due_writes(&change.buffers, &mut progress.pending);
    let script = journal_entry::journal_then_write_script(
        &manifest.run_id,
        &manifest_json,
        &planned,
        &file_contents(&change.buffers, &first_writes),
    );
    (script, first_writes)
}

/// Makes an edit step's content the desired one of its buffer, to write before the next
/// command or check.
fn stage(change: &mut Change, pending: &mut Vec<usize>, key: &StepKey) {
    if let Some((i, content)) = change.snapshots.get(key) {
        if !pending.contains(i) {
            pending.push(*i);
        }
        change.buffers[*i].desired = Some(content.clone());
    }
}

/// The manifest's entry for buffer `i`: its pre-image and every content the run may
/// leave in it (after each of its steps, and at the end).
fn journal_file(change: &Change, i: usize) -> JournalFile {
    let b = &change.buffers[i];
    let mut written: Vec<String> = change
        .snapshots
        .values()
        .filter(|(buffer, _)| *buffer == i)
        .map(|(_, content)| crate::digest::sha256_hex(content.as_bytes()))
        .chain(
            b.desired
                .as_deref()
                .map(|d| crate::digest::sha256_hex(d.as_bytes())),
        )
        .collect();
    written.sort();
    written.dedup();
    JournalFile {
        index: i,
        path: b.real.clone(),
        existed: b.original.is_some(),
        sha256: b.original.as_deref().map(crate::digest::sha256_hex),
        backup: b.backup.clone(),
        mode: b.original.is_some().then_some(b.new_mode),
        written,
    }
}

fn planned_write(b: &Buffer, index: usize) -> PlannedWrite {
    PlannedWrite {
        index,
        path: b.real.clone(),
        expected_sha256: b.original.as_deref().map(crate::digest::sha256_hex),
        backup: b.backup.clone(),
        via: (b.requested != b.real).then(|| b.requested.clone()),
        mode: b.original.is_some().then_some(b.new_mode),
    }
}

/// Records as on the host every buffer of `due` the write script says it replaced.
fn mark_written(buffers: &mut [Buffer], due: &[usize], stdout: &str) {
    for (position, &i) in due.iter().enumerate() {
        if write::wrote(stdout, position) {
            buffers[i].on_host = buffers[i].desired.as_ref().map(|d| d.as_bytes().to_vec());
        }
    }
}
