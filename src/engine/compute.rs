//! The pure part of a run: the gathered files and the plan's edits → per file the desired
//! bytes (`Buffer`), the steps that change something, and the report's diffs. No I/O.

use std::collections::{BTreeSet, HashMap};

use super::backup_name::backup_path;
use super::{Flat, StepKey, failure};
use crate::edit::{self, EditContext, nginx};
use crate::host::gather::{self, FileState, Gathered, HostFile};
use crate::host::write::FileContent;
use crate::plan::{Action, EditKind, FileEdit};
use crate::run::{Failure, FileChange};

/// Files larger than this are refused (they are not configuration files).
pub const MAX_FILE_BYTES: usize = gather::MAX_READ_BYTES;

/// One file being edited.
pub(super) struct Buffer {
    pub(super) requested: String,
    pub(super) real: String,
    pub(super) original: Option<Vec<u8>>,
    /// Text after the edits computed so far.
    pub(super) desired: Option<String>,
    /// What the host has now (changes as writes happen).
    pub(super) on_host: Option<Vec<u8>>,
    pub(super) new_mode: u32,
    pub(super) backup: Option<String>,
    /// The path under which `nginx -T` shows this file (it may show the symlink).
    dump_path: String,
}

/// The computed change of a host.
pub(super) struct Change {
    pub(super) buffers: Vec<Buffer>,
    /// Keys of the steps that change something (and of commands whose `unless` failed).
    pub(super) changed: BTreeSet<StepKey>,
    /// Per edit step: its buffer and the content right after it.
    pub(super) snapshots: HashMap<StepKey, (usize, String)>,
    /// The buffers whose final content differs from the host's.
    pub(super) changed_files: Vec<usize>,
    /// Whether a command's `unless` check failed (the command runs).
    pub(super) forced: bool,
    /// For each nginx step that changes a server block: `step `id`: <file> line N (...): why
    /// nginx uses it`, for the run's output.
    pub(super) server_choices: Vec<String>,
}

impl Change {
    /// Nothing to write and nothing forced: the host is in sync.
    pub(super) fn is_empty(&self) -> bool {
        self.changed_files.is_empty() && !self.forced
    }

    /// The report's view of the changed files: masked diffs and hashes.
    pub(super) fn file_changes(&self, secrets: &[String]) -> Vec<FileChange> {
        self.changed_files
            .iter()
            .map(|&i| file_change(&self.buffers[i], secrets))
            .collect()
    }
}

fn file_change(b: &Buffer, secrets: &[String]) -> FileChange {
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
        diff: crate::mask::mask_diff(&diff, secrets),
        new_sha256: crate::digest::sha256_hex(new.as_bytes()),
        old,
        new,
        pre_sha256: b.original.as_deref().map(crate::digest::sha256_hex),
        backup: b.backup.clone(),
    }
}

/// Computes every file's desired content from what was gathered.
pub(super) fn compute(
    flat: &[Flat<'_>],
    gathered: &Gathered,
    today: chrono::NaiveDate,
) -> Result<Change, Failure> {
    let effective = effective_config(gathered)?;
    let include_globs = gathered.dumps.first().map(|_| effective.include_globs());
    let mut buffers: Vec<Buffer> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for file in &gathered.files {
        if let Some(&i) = index_of.get(&file.real) {
            index_of.insert(file.requested.clone(), i);
            continue;
        }
        let buffer = buffer(file, &effective, today, include_globs.as_deref())?;
        index_of.insert(file.real.clone(), buffers.len());
        index_of.insert(file.requested.clone(), buffers.len());
        buffers.push(buffer);
    }
    let ctx = EditContext { nginx: &effective };
    let mut changed = BTreeSet::new();
    let mut snapshots = HashMap::new();
    let mut server_choices = Vec::new();
    for f in flat {
        let Action::Edit(edit) = &f.step.action else {
            continue;
        };
        let Some(&i) = index_of.get(&edit.path) else {
            return Err(failure(
                Some(f.step),
                format!("internal: {} was not gathered", edit.path),
            ));
        };
        let new = apply_edit(&mut buffers[i], edit, &ctx)
            .map_err(|message| failure(Some(f.step), message))?;
        if buffers[i].desired.as_deref() != Some(new.as_str()) {
            changed.insert(f.key.clone());
            let b = &buffers[i];
            if let Some(which) =
                edit::server_choice(&edit.kind, &b.dump_path, b.desired.as_deref(), &ctx)
            {
                server_choices.push(format!("step `{}`: {} {which}", f.step.id, b.real));
            }
        }
        buffers[i].desired = Some(new.clone());
        snapshots.insert(f.key.clone(), (i, new));
    }
    let changed_files = changed_files(&buffers);
    Ok(Change {
        buffers,
        changed,
        snapshots,
        changed_files,
        forced: false,
        server_choices,
    })
}

/// The effective nginx configuration of the gather's dump (empty without one); a dump
/// that failed stops the run before anything is touched.
fn effective_config(gathered: &Gathered) -> Result<nginx::Effective, Failure> {
    match gathered.dumps.first() {
        Some(dump) if dump.exit != 0 => Err(failure(
            None,
            format!(
                "pre-flight: `{}` fails before any change (exit {}), so nothing was touched; nginx says:\n{}",
                dump.command,
                dump.exit,
                dump.output.trim()
            ),
        )),
        Some(dump) => nginx::Effective::from_dump(&dump.output).map_err(|e| {
            failure(
                None,
                format!("cannot read the output of `{}`: {e}", dump.command),
            )
        }),
        None => Ok(nginx::Effective::empty()),
    }
}

/// A gathered file as a buffer: its bytes as text, its backup's name, its dump path.
fn buffer(
    file: &HostFile,
    effective: &nginx::Effective,
    today: chrono::NaiveDate,
    include_globs: Option<&[String]>,
) -> Result<Buffer, Failure> {
    let (original, mode) = match &file.state {
        FileState::Present { content, mode, .. } => (Some(content.clone()), *mode),
        FileState::Absent => (None, 0o644),
        FileState::NotAFile => {
            return Err(failure(
                None,
                format!("{} exists but is not a regular file", file.real),
            ));
        }
        FileState::Unsafe(why) => {
            return Err(failure(None, crate::host::unsafe_path_refusal(why)));
        }
        FileState::Unreadable => {
            return Err(failure(
                None,
                format!(
                    "{} cannot be read on the host (permissions? set ansible_become)",
                    file.real
                ),
            ));
        }
    };
    let desired = original
        .as_deref()
        .map(|bytes| text_of(&file.real, bytes))
        .transpose()?;
    let backup = original
        .as_ref()
        .map(|_| backup_path(&file.real, today, include_globs));
    let dump_path = effective_path(effective, &file.requested, &file.real, desired.as_deref());
    Ok(Buffer {
        dump_path,
        requested: file.requested.clone(),
        real: file.real.clone(),
        on_host: original.clone(),
        original,
        desired,
        new_mode: mode,
        backup,
    })
}

/// A file's bytes as the text the editors work on: refused when too large or not text.
fn text_of(real: &str, bytes: &[u8]) -> Result<String, Failure> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(failure(
            None,
            format!(
                "{real} is larger than {} MiB: refusing to edit it as a configuration file",
                MAX_FILE_BYTES / 1024 / 1024
            ),
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(t) if !t.contains('\0') => Ok(t.to_owned()),
        _ => Err(failure(
            None,
            format!("{real} is not UTF-8 text (binary file?): refusing to edit it"),
        )),
    }
}

/// The buffer's content after `edit`; an editor's error names the file (and position).
fn apply_edit(
    buffer: &mut Buffer,
    edit: &FileEdit,
    ctx: &EditContext<'_>,
) -> Result<String, String> {
    let new = edit::apply(
        &edit.kind,
        &buffer.dump_path,
        buffer.desired.as_deref(),
        ctx,
    )
    .map_err(|e| e.in_file(&buffer.real))?;
    if let EditKind::Whole {
        mode: Some(mode), ..
    } = &edit.kind
        && buffer.original.is_none()
    {
        buffer.new_mode = *mode;
    }
    Ok(new)
}

/// The buffers whose desired content differs from what was read.
fn changed_files(buffers: &[Buffer]) -> Vec<usize> {
    (0..buffers.len())
        .filter(|&i| {
            buffers[i].desired.as_deref().map(str::as_bytes) != buffers[i].original.as_deref()
        })
        .filter(|&i| buffers[i].desired.is_some())
        .collect()
}

/// The pending buffers whose desired content differs from what the host has (drains
/// `pending`).
pub(super) fn due_writes(buffers: &[Buffer], pending: &mut Vec<usize>) -> Vec<usize> {
    due_writes_against(buffers, pending, |i| buffers[i].on_host.as_deref())
}

/// The pending buffers whose desired content differs from `before(i)`: what the host
/// holds, or will hold once the writes sent ahead of these are made (drains `pending`).
pub(super) fn due_writes_against<'b>(
    buffers: &[Buffer],
    pending: &mut Vec<usize>,
    before: impl Fn(usize) -> Option<&'b [u8]>,
) -> Vec<usize> {
    pending
        .drain(..)
        .filter(|&i| buffers[i].desired.as_deref().map(str::as_bytes) != before(i))
        .collect()
}

/// What `host::write::write_script` writes for buffers `due`, each checked against what
/// the host has.
pub(super) fn file_contents<'a>(buffers: &'a [Buffer], due: &[usize]) -> Vec<FileContent<'a>> {
    file_contents_against(buffers, due, |i| buffers[i].on_host.as_deref())
}

/// What `host::write::write_script` writes for buffers `due`, each checked against
/// `before(i)` (compare-and-swap).
pub(super) fn file_contents_against<'a, 'b>(
    buffers: &'a [Buffer],
    due: &[usize],
    before: impl Fn(usize) -> Option<&'b [u8]>,
) -> Vec<FileContent<'a>> {
    due.iter()
        .map(|&i| FileContent {
            path: &buffers[i].real,
            content: buffers[i].desired.as_deref().unwrap_or_default().as_bytes(),
            new_mode: buffers[i].new_mode,
            expected: before(i).map(crate::digest::sha256_hex),
        })
        .collect()
}

/// Whether a stored dump's fingerprint covers every file and include directory of the
/// configuration it shows (else a change there would go unnoticed).
pub(super) fn fingerprint_covers(dump: &gather::Dump) -> bool {
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
