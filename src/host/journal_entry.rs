//! Creating a run's journal entry on the host (after the lock, before any target file is
//! touched): who writes each path is settled, every file is checked unchanged since it
//! was read, the exact pre-images are copied on the host, the manifest written, the dated
//! backups made, all flushed, and only then the state says `in_progress`. The same exec
//! may go on with the first writes ([`journal_then_write_script`]).

use std::fmt::Write as _;

use super::journal::{self, JournalState};
use super::markers::{self, BACKUP, CHANGED, JOURNALED};
use super::script::{Script, parent_dir};
use super::{EXIT_CHANGED_SINCE_READ, EXIT_UNSAFE_PATH, RunId, STATE_DIR, agent, quote, write};
use crate::transport::ExecOutput;

/// One file the transaction will replace.
#[derive(Debug, Clone)]
pub struct PlannedWrite {
    /// The file's index in the run's manifest (names its pre-image `pre/<index>`).
    pub index: usize,
    /// Real path (symlinks resolved).
    pub path: String,
    /// sha256 of the content read at gather time; `None` when the file did not exist.
    pub expected_sha256: Option<String>,
    /// Where the dated backup goes (`None` for a new file).
    pub backup: Option<String>,
    /// The path as the plan wrote it, when a symlink was followed to `path`.
    pub via: Option<String>,
    /// The existing file's mode (kept by its backup when a user writes it).
    pub mode: Option<u32>,
}

/// Creates the journal entry (manifest + exact pre-images copied on the host) and the
/// dated backups, after checking that no file changed since it was read. Nothing is
/// written to a target file by this script.
#[must_use]
pub fn journal_script(run_id: &RunId, manifest_json: &[u8], files: &[PlannedWrite]) -> String {
    journal_body(run_id, manifest_json, files).exit_0()
}

/// [`journal_script`], then (only if it succeeded, in the same shell) [`write::write_script`]:
/// the journal is complete before the first byte of a target file changes, and the
/// output says how far it got (`WSD-JOURNALED`, then `WSD-WROTE <i>` per file).
#[must_use]
pub fn journal_then_write_script(
    run_id: &RunId,
    manifest_json: &[u8],
    planned: &[PlannedWrite],
    files: &[write::FileContent<'_>],
) -> String {
    let mut s = journal_body(run_id, manifest_json, planned);
    let _ = writeln!(s, "printf '%s\\n' {JOURNALED}");
    s.push(&write::write_script(files));
    s.into_text()
}

/// The journal script without its ending, so that more can follow in the same shell.
fn journal_body(run_id: &RunId, manifest_json: &[u8], files: &[PlannedWrite]) -> Script {
    let mut s = Script::new(&format!(
        "set -eu\numask 077\nLC_ALL=C; export LC_ALL\n\
         changed() {{ printf '{CHANGED} %s\\n' \"$1\" >&2; exit {EXIT_CHANGED_SINCE_READ}; }}\n{}",
        agent::functions()
    ));
    // Who writes each file (and its backup) is settled before anything is written: a
    // path another user could swap under root is refused here, with nothing touched.
    for f in files {
        agent::check(&mut s, f.via.as_deref().unwrap_or(&f.path), &f.path);
        if let Some(b) = &f.backup {
            agent::check_dirs(&mut s, b);
        }
    }
    check_unchanged(&mut s, files);
    copy_pre_images(&mut s, run_id, files);
    write_manifest(&mut s, run_id, manifest_json, files);
    make_backups(&mut s, files);
    mark_in_progress(&mut s, run_id);
    s
}

/// Existence with builtins, contents with one `sha256sum -c` for all files; only when
/// that fails, file by file to name the one that changed.
fn check_unchanged(s: &mut Script, files: &[PlannedWrite]) {
    let mut sums = String::new();
    let mut one_by_one = String::new();
    for f in files {
        let p = quote(&f.path);
        let Some(sha) = &f.expected_sha256 else {
            let _ = writeln!(s, "[ ! -e {p} ] || changed {p}");
            continue;
        };
        let _ = writeln!(s, "[ -f {p} ] || changed {p}");
        let check = format!(
            "[ \"$(sha256sum < {p} | cut -d' ' -f1)\" = {} ] || changed {p}",
            quote(sha)
        );
        let _ = writeln!(one_by_one, "{check}");
        if f.path.contains(['\n', '\\']) {
            // Not expressible in `sha256sum -c` input: checked on its own.
            let _ = writeln!(s, "{check}");
        } else {
            let _ = writeln!(sums, "{sha}  {}", f.path);
        }
    }
    if !sums.is_empty() {
        let _ = write!(
            s,
            "if ! sha256sum -c --status <<'WSD_SUMS_END'\n{sums}WSD_SUMS_END\nthen\n{one_by_one}changed 'a file being replaced'\nfi\n"
        );
    }
}

/// Root copies with owner and mode; a user's file is read by that user (a name they
/// swapped to a symlink cannot make root read for them). The copies are then checked
/// against what was read.
fn copy_pre_images(s: &mut Script, run_id: &RunId, files: &[PlannedWrite]) {
    let j = quote(&journal::dir(run_id));
    let _ = writeln!(
        s,
        "mkdir -p {j}/pre\nchmod 700 {STATE_DIR} {STATE_DIR}/runs {j}"
    );
    let mut copied = String::new();
    for f in files {
        if let Some(sha) = &f.expected_sha256 {
            let _ = writeln!(
                s,
                "wsd_agent {p} || wsd_unsafe\nif [ \"$wsd_u\" = 0 ]; then cp -p -- {p} {j}/pre/{i}; else wsd_as cat -- {p} > {j}/pre/{i}; fi",
                p = quote(&f.path),
                i = f.index
            );
            let _ = writeln!(copied, "{sha}  {}/pre/{}", journal::dir(run_id), f.index);
        }
    }
    if !copied.is_empty() {
        let _ = write!(
            s,
            "sha256sum -c --status <<'WSD_SUMS_END' || changed 'a file being replaced (while its pre-image was copied)'\n{copied}WSD_SUMS_END\n"
        );
    }
}

/// The manifest, then one flush of it and of every pre-image.
fn write_manifest(s: &mut Script, run_id: &RunId, manifest_json: &[u8], files: &[PlannedWrite]) {
    let j = quote(&journal::dir(run_id));
    let _ = write!(s, "base64 -d > {j}/manifest.json ");
    s.base64_heredoc(manifest_json);
    let durable: Vec<String> = files
        .iter()
        .filter(|f| f.expected_sha256.is_some())
        .map(|f| quote(&format!("{}/pre/{}", journal::dir(run_id), f.index)))
        .collect();
    let _ = writeln!(
        s,
        "sync -- {} {j}/manifest.json {j}/pre {j} 2>/dev/null || sync",
        durable.join(" ")
    );
}

/// Each dated backup that does not exist yet, made by whoever may write there, then one
/// flush of them all; prints `WSD-BACKUP <path>` for each one made.
fn make_backups(s: &mut Script, files: &[PlannedWrite]) {
    let mut backups: Vec<String> = Vec::new();
    for f in files {
        let Some(backup) = &f.backup else {
            continue;
        };
        let b = quote(backup);
        let dir = quote(parent_dir(backup));
        let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "if [ ! -e {b} ] && [ ! -L {b} ]; then\n\
             \x20 wsd_agent {p} || wsd_unsafe; wsd_tu=$wsd_u wsd_tg=$wsd_g\n\
             \x20 wsd_agent {b} || wsd_unsafe\n\
             \x20 if [ \"$wsd_u\" = 0 ] && [ \"$wsd_tu\" = 0 ]; then [ -d {dir} ] || mkdir -p -- {dir}; cp -p -- {p} {b}\n\
             \x20 else ( wsd_u=$wsd_tu wsd_g=$wsd_tg; wsd_as cat -- {p} ) | wsd_as sh -c \"$WSD_PUT\" sh {b} {m}; fi\n\
             \x20 printf '{BACKUP} %s\\n' {b}\nfi",
            p = quote(&f.path),
            m = quote(&mode)
        );
        backups.push(b);
        backups.push(dir);
    }
    if !backups.is_empty() {
        let _ = writeln!(s, "sync -- {} 2>/dev/null || sync", backups.join(" "));
    }
}

/// Pre-images, manifest and backups are on disk before the state says files may be
/// touched; the state is written whole or not at all (temp + rename). A host killed
/// before, or a journal step that failed (a backup a user's directory refused), has no
/// state: no target file was touched, and no later run has anything to recover. Only
/// these files are flushed (`sync FILE…`), not every filesystem of the host.
fn mark_in_progress(s: &mut Script, run_id: &RunId) {
    let j = quote(&journal::dir(run_id));
    let _ = writeln!(
        s,
        "printf '{}\\n' > {j}/state.tmp && sync -- {j}/state.tmp && mv -f {j}/state.tmp {j}/state\n\
         sync -- {j} 2>/dev/null || sync",
        JournalState::InProgress.word()
    );
}

/// What a journal script printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journaled {
    /// The entry and backups are complete (`WSD-JOURNALED`); only
    /// [`journal_then_write_script`] says so.
    pub complete: bool,
    /// The dated backups it made.
    pub backups: Vec<String>,
}

impl Journaled {
    /// Reads a journal script's stdout.
    #[must_use]
    pub fn parse(stdout: &str) -> Self {
        Self {
            complete: markers::has_line(stdout, JOURNALED),
            backups: markers::values(stdout, BACKUP).map(str::to_owned).collect(),
        }
    }
}

/// Why a journal script failed before the entry was complete (nothing was touched).
#[must_use]
pub fn failure(out: &ExecOutput) -> String {
    let text = out.combined();
    if out.code() == EXIT_UNSAFE_PATH {
        agent::refusal(&write::unsafe_reason(&text))
    } else if out.code() == EXIT_CHANGED_SINCE_READ {
        format!(
            "a file changed on the host since it was read ({}); nothing was touched: run again to see the new diff",
            text.trim()
        )
    } else {
        format!(
            "writing the journal/backups failed ({}), nothing was touched: {}",
            out.status_text(),
            text.trim()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_writes_follow_the_complete_journal_in_the_same_shell() {
        let planned = [PlannedWrite {
            index: 0,
            path: "/etc/x.conf".to_owned(),
            expected_sha256: Some(crate::digest::sha256_hex(b"old\n")),
            backup: Some("/etc/x.conf.backup-2026-01-01".to_owned()),
            via: None,
            mode: Some(0o644),
        }];
        let files = [write::FileContent {
            path: "/etc/x.conf",
            content: b"new\n",
            new_mode: 0o644,
            expected: Some(crate::digest::sha256_hex(b"old\n")),
        }];
        let run_id = RunId::parse("20261123T000000Z-00ab12").expect("a run id");
        let journal = journal_script(&run_id, b"{}", &planned);
        let body = journal
            .strip_suffix("exit 0\n")
            .expect("the journal script ends");
        assert_eq!(
            journal_then_write_script(&run_id, b"{}", &planned, &files),
            format!(
                "{body}printf '%s\\n' {JOURNALED}\n{}",
                write::write_script(&files)
            )
        );
        assert_eq!(
            Journaled::parse(&format!(
                "{BACKUP} /etc/x.conf.backup-2026-01-01\n{JOURNALED}\n"
            )),
            Journaled {
                complete: true,
                backups: vec!["/etc/x.conf.backup-2026-01-01".to_owned()],
            }
        );
    }
}
