//! Creating a run's journal entry on the host (after the lock, before any target file is
//! touched): who writes each path is settled, every file is checked unchanged since it
//! was read, the exact pre-images are copied on the host, the manifest written, the dated
//! backups made, all flushed at once, and only then the state says `in_progress`. The same
//! exec may go on with the first writes ([`journal_then_write_script`]).

use std::fmt::Write as _;

use super::journal::{self, JournalState};
use super::markers::{self, BACKUP, CHANGED, JOURNALED};
use super::script::{Script, parent_dir};
use super::{
    EXIT_CHANGED_SINCE_READ, EXIT_UNSAFE_PATH, RunId, STATE_DIR, agent, quote, run_index, write,
};
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
    let mut s = journal_body(run_id, manifest_json, files);
    // The rename of `state` is durable once the journal directory is flushed.
    let _ = writeln!(
        s,
        "sync -- {} 2>/dev/null || sync",
        quote(&journal::dir(run_id))
    );
    s.exit_0()
}

/// [`journal_script`], then (only if it succeeded, in the same shell) the writes of
/// [`write::write_script`]: the journal is complete before the first byte of a target
/// file changes, and the output says how far it got (`WSD-JOURNALED`, then `WSD-WROTE
/// <i>` per file). The journal directory is flushed with the temp files, before the first
/// rename; who writes each file is the journal's verdict, not looked up again.
#[must_use]
pub fn journal_then_write_script(
    run_id: &RunId,
    manifest_json: &[u8],
    planned: &[PlannedWrite],
    files: &[write::FileContent<'_>],
) -> String {
    let mut s = journal_body(run_id, manifest_json, planned);
    let _ = writeln!(s, "printf '%s\\n' {JOURNALED}");
    let verdicts: Vec<write::Verdict> = files
        .iter()
        .map(|c| {
            planned
                .iter()
                .find(|p| p.path == c.path)
                .map_or(write::Verdict::Check, |p| write::Verdict::Kept(p.index))
        })
        .collect();
    write::write_steps(
        &mut s,
        run_id,
        files,
        &verdicts,
        &[quote(&journal::dir(run_id))],
    );
    s.exit_0()
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
    // The verdicts are kept (`wsd_pu<i>`, `wsd_bu<i>`) for the steps below. Nothing is
    // written before the last of them, so they take the owners and modes from one `stat`
    // (`agent::seen`), forgotten before the first write.
    let mut looked_at: Vec<&str> = Vec::new();
    for f in files {
        looked_at.extend(f.via.as_deref());
        looked_at.push(&f.path);
        looked_at.extend(f.backup.as_deref());
    }
    s.push(&agent::seen(&looked_at));
    for f in files {
        let i = f.index;
        agent::check(&mut s, f.via.as_deref().unwrap_or(&f.path), &f.path);
        let _ = writeln!(s, "wsd_pu{i}=$wsd_u wsd_pg{i}=$wsd_g");
        if let Some(b) = &f.backup {
            agent::check_dirs(&mut s, b);
            let _ = writeln!(s, "wsd_bu{i}=$wsd_u wsd_bg{i}=$wsd_g");
        }
    }
    s.push("wsd_seen=\n");
    check_unchanged(&mut s, files);
    let durable = copy_pre_images(&mut s, run_id, files);
    write_manifest(&mut s, run_id, manifest_json);
    make_backups(&mut s, files);
    mark_in_progress(&mut s, run_id, &durable);
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
/// against what was read. Returns what is to be flushed with the rest of the entry.
fn copy_pre_images(s: &mut Script, run_id: &RunId, files: &[PlannedWrite]) -> Vec<String> {
    let j = quote(&journal::dir(run_id));
    let _ = writeln!(
        s,
        "{}mkdir -p {j}/pre {ix}\nchmod 700 {STATE_DIR} {STATE_DIR}/runs {ix} {j}",
        run_index::journal_start(JournalState::InProgress.word()),
        ix = quote(&run_index::dir()),
    );
    let mut copied = String::new();
    let mut durable = Vec::new();
    for f in files {
        if let Some(sha) = &f.expected_sha256 {
            let pre = format!("{}/pre/{}", journal::dir(run_id), f.index);
            let _ = writeln!(
                s,
                "wsd_u=$wsd_pu{i} wsd_g=$wsd_pg{i}\nif [ \"$wsd_u\" = 0 ]; then cp -p -- {p} {q}; else wsd_as cat -- {p} > {q}; fi",
                p = quote(&f.path),
                q = quote(&pre),
                i = f.index
            );
            let _ = writeln!(copied, "{sha}  {pre}");
            durable.push(quote(&pre));
        }
    }
    if !copied.is_empty() {
        let _ = write!(
            s,
            "sha256sum -c --status <<'WSD_SUMS_END' || changed 'a file being replaced (while its pre-image was copied)'\n{copied}WSD_SUMS_END\n"
        );
    }
    durable.push(format!("{j}/manifest.json {j}/pre"));
    durable
}

/// The manifest (flushed with the rest of the entry).
fn write_manifest(s: &mut Script, run_id: &RunId, manifest_json: &[u8]) {
    let j = quote(&journal::dir(run_id));
    let _ = write!(s, "base64 -d > {j}/manifest.json ");
    s.base64_heredoc(manifest_json);
}

/// Each dated backup that does not exist yet, made by whoever may write there; prints
/// `WSD-BACKUP <path>` for each one made. Root's backups and their directories (in
/// directories only root can change) are collected in `"$@"`, to be flushed with the rest
/// of the entry; a user's backup is flushed by `$WSD_PUT`, as that user: a name a user
/// controls is never opened by root's `sync`.
fn make_backups(s: &mut Script, files: &[PlannedWrite]) {
    s.push("set --\n");
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
             \x20 wsd_tu=$wsd_pu{i} wsd_tg=$wsd_pg{i} wsd_u=$wsd_bu{i} wsd_g=$wsd_bg{i}\n\
             \x20 if [ \"$wsd_u\" = 0 ] && [ \"$wsd_tu\" = 0 ]; then [ -d {dir} ] || mkdir -p -- {dir}; cp -p -- {p} {b}; set -- \"$@\" {b} {dir}\n\
             \x20 else ( wsd_u=$wsd_tu wsd_g=$wsd_tg; wsd_as cat -- {p} ) | wsd_as sh -c \"$WSD_PUT\" sh {b} {m}; fi\n\
             \x20 printf '{BACKUP} %s\\n' {b}\nfi",
            p = quote(&f.path),
            m = quote(&mode),
            i = f.index
        );
    }
}

/// Pre-images, manifest, backups and `state.tmp` are flushed together (one `sync FILE…`,
/// not every filesystem of the host), and only then `state.tmp` is renamed to `state`:
/// the state is whole or absent, and says `in_progress` only over a complete entry. A
/// host killed before, or a journal step that failed (a backup a user's directory
/// refused), has no state: no target file was touched, and no later run has anything to
/// recover. What follows flushes the journal directory (the rename) before any target
/// file is renamed.
fn mark_in_progress(s: &mut Script, run_id: &RunId, durable: &[String]) {
    let j = quote(&journal::dir(run_id));
    let _ = write!(
        s,
        "{add}printf '{}\\n' > {j}/state.tmp\n\
         sync -- {} \"$@\" {j}/state.tmp {j} {entry} {ix} 2>/dev/null || sync\n\
         mv -f {j}/state.tmp {j}/state\n{end}",
        JournalState::InProgress.word(),
        durable.join(" "),
        add = run_index::journal_add(run_id),
        entry = quote(&run_index::entry(run_id)),
        ix = quote(&run_index::dir()),
        end = run_index::journal_end(),
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
        let j = quote(&journal::dir(&run_id));
        let journal = journal_script(&run_id, b"{}", &planned);
        let body = journal
            .strip_suffix(&format!("sync -- {j} 2>/dev/null || sync\nexit 0\n"))
            .expect("the journal script ends by flushing its directory");
        let both = journal_then_write_script(&run_id, b"{}", &planned, &files);
        let writes = both
            .strip_prefix(&format!("{body}printf '%s\\n' {JOURNALED}\n"))
            .expect("the writes follow the complete journal");
        // The journal directory (the rename of `state`) is flushed with the temp file,
        // before the rename of the target; the journal's verdict is reused.
        let flush = writes
            .find(&format!("set -- {j}\n"))
            .expect("the directory is flushed");
        let rename = writes.find("mv -f -- ").expect("a rename");
        assert!(flush < rename, "{writes}");
        assert!(writes.starts_with("wsd_t0=''\n"), "{writes}");
        assert!(
            writes.contains("wsd_u=$wsd_pu0 wsd_g=$wsd_pg0\n"),
            "{writes}"
        );
        assert!(!writes.contains("wsd_agent "), "{writes}");
        assert!(both.ends_with("exit 0\n"));
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
