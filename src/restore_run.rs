//! `wsdeploy rollback --run ID`: undoing exactly one run. Each file the run's manifest
//! records gets back its pre-image (kept in the journal, checked against the manifest's
//! sha256), as a journaled run of its own with the reload/restart commands the run
//! recorded. Refused, host untouched, when a later run changed one of its files or a file
//! no longer holds the bytes the run wrote.

use crate::host::RunId;
use crate::host::dump_cache::DumpCache;
use crate::host::gather::{self, FileState};
use crate::host::journal::{self, JournalFile, JournalState};
use crate::report::event::Events;
use crate::restore_date::{self, HostRun, Restored};
use crate::run::{HostJob, HostReport, Outcome, RunOptions};
use crate::transport::Transport;

/// Undoes run `id` on one host.
pub async fn run(
    transport: &Transport,
    job: &HostJob,
    id: &RunId,
    opts: &RunOptions,
    events: &Events,
) -> HostReport {
    let started = std::time::Instant::now();
    let refused = |message: String| {
        let mut r = HostReport::unreachable(&job.host, Outcome::Failed, message, started);
        r.outcome = Outcome::Failed;
        r
    };
    let runs = match restore_date::host_runs(transport, job).await {
        Ok(r) => r,
        Err(e) => return refused(format!("reading the journal: {e}")),
    };
    let restore = match to_restore(transport, job, &runs, id).await {
        Ok(r) => r,
        Err(message) => return refused(format!("{message}: nothing restored, host untouched")),
    };
    let Some(target) = runs.iter().find(|r| r.id == *id) else {
        return refused(format!("run {id} is not in this host's journal"));
    };
    if restore.is_empty() {
        return refused(format!(
            "run {id}: every file it changed already holds its content from before the run: nothing to restore, host untouched"
        ));
    }
    restore_date::restore_and_report(transport, job, &restore, &[target], opts, events, started)
        .await
}

/// The pre-images to put back, once the run is found undoable.
async fn to_restore(
    transport: &Transport,
    job: &HostJob,
    runs: &[HostRun],
    id: &RunId,
) -> Result<Vec<Restored>, String> {
    let Some(at) = runs.iter().position(|r| r.id == *id) else {
        return Err(format!(
            "run {id} is not in this host's journal (`wsdeploy backups` lists the runs)"
        ));
    };
    let target = &runs[at];
    if target.state != JournalState::Committed.word() {
        return Err(format!(
            "run {id} is {}, not committed: only a committed run can be undone",
            target.state
        ));
    }
    for f in &target.manifest.files {
        if let Some(later) = later_change(&runs[at + 1..], &f.path) {
            return Err(format!(
                "run {} ({} {}) changed {} after run {id}: undo it first (`rollback --run {}`), or go back to a day with `rollback --date`",
                later.id, later.manifest.kind, later.manifest.started, f.path, later.id
            ));
        }
    }
    let files = &target.manifest.files;
    let mut paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    paths.extend(
        files
            .iter()
            .map(|f| format!("{}/pre/{}", journal::dir(id), f.index)),
    );
    let become_user = job.become_user.as_ref();
    let read = gather::gather(transport, become_user, &paths, &[], DumpCache::Off, |_| {
        true
    })
    .await
    .map_err(|e| format!("gather: {e}"))?;
    let (now, pre) = read.files.split_at(files.len());
    let mut restore = Vec::new();
    for ((f, now), pre) in files.iter().zip(now).zip(pre) {
        if let Some(r) = restore_one(id, f, &now.state, &pre.state)? {
            restore.push(r);
        }
    }
    Ok(restore)
}

/// The first run of `later` (not rolled back) whose manifest records `path`.
fn later_change<'r>(later: &'r [HostRun], path: &str) -> Option<&'r HostRun> {
    later.iter().find(|r| {
        r.state != JournalState::RolledBack.word()
            && r.manifest.files.iter().any(|f| f.path == path)
    })
}

/// One file: `None` when it already holds its pre-image; refused when it holds something
/// the run did not write, did not exist before the run, or its pre-image is not the
/// manifest's.
fn restore_one(
    id: &RunId,
    f: &JournalFile,
    now: &FileState,
    pre: &FileState,
) -> Result<Option<Restored>, String> {
    let path = &f.path;
    let now_sha = match now {
        FileState::Present { content, .. } => Some(crate::digest::sha256_hex(content)),
        FileState::Absent => None,
        FileState::Unsafe(why) => {
            return Err(format!("{path}: {}", crate::host::unsafe_path_refusal(why)));
        }
        _ => return Err(format!("{path} is not a readable regular file")),
    };
    if now_sha == f.sha256 {
        return Ok(None);
    }
    if !now_sha.as_ref().is_some_and(|s| f.written.contains(s)) {
        return Err(format!(
            "{path} no longer holds the bytes run {id} wrote (changed since, outside wsdeploy?)"
        ));
    }
    if !f.existed {
        return Err(format!(
            "{path} did not exist before run {id}, and a rollback does not delete files: remove it by hand"
        ));
    }
    let FileState::Present { content, .. } = pre else {
        return Err(format!(
            "the journal's pre-image of {path} is missing ({}/pre/{})",
            journal::dir(id),
            f.index
        ));
    };
    if Some(crate::digest::sha256_hex(content)) != f.sha256 {
        return Err(format!(
            "the journal's pre-image of {path} does not hold the bytes its manifest records"
        ));
    }
    let content = String::from_utf8(content.clone())
        .map_err(|_| format!("the pre-image of {path} is not UTF-8 text"))?;
    Ok(Some(Restored {
        real: path.clone(),
        from: format!("run {id}'s pre-image"),
        content,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(content: &[u8]) -> FileState {
        FileState::Present {
            mode: 0o644,
            uid: 0,
            gid: 0,
            content: content.to_vec(),
        }
    }

    fn file(existed: bool) -> JournalFile {
        JournalFile {
            index: 0,
            path: "/etc/app.conf".to_owned(),
            existed,
            sha256: existed.then(|| crate::digest::sha256_hex(b"before\n")),
            backup: None,
            mode: Some(0o644),
            written: vec![crate::digest::sha256_hex(b"after\n")],
        }
    }

    #[test]
    fn a_file_gets_its_pre_image_only_while_it_holds_what_the_run_wrote() {
        let id = &RunId::parse("20261123T000000Z-00ab12").expect("a run id");
        let f = file(true);
        let restored = restore_one(id, &f, &present(b"after\n"), &present(b"before\n"))
            .expect("undoable")
            .expect("restored");
        assert_eq!(restored.content, "before\n");
        assert!(
            restore_one(id, &f, &present(b"before\n"), &FileState::Absent)
                .expect("nothing to do")
                .is_none()
        );
        let by_hand = restore_one(id, &f, &present(b"by hand\n"), &present(b"before\n"));
        assert!(
            by_hand
                .err()
                .is_some_and(|e| e.contains("no longer holds the bytes run")),
        );
        let forged = restore_one(id, &f, &present(b"after\n"), &present(b"forged\n"));
        assert!(
            forged
                .err()
                .is_some_and(|e| e.contains("does not hold the bytes its manifest records"))
        );
        let created = restore_one(id, &file(false), &present(b"after\n"), &FileState::Absent);
        assert!(
            created
                .err()
                .is_some_and(|e| e.contains("did not exist before"))
        );
    }
}
