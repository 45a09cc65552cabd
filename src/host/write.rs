//! Replacing files on the host, compare-and-swap: right before each rename the file must
//! still hold what the run last saw (sha256, or absent), else nothing is overwritten
//! (`WSD-CHANGED`, exit [`EXIT_CHANGED_SINCE_READ`]). The script, and the parsers of what
//! it prints (`WSD-WROTE <i>` per file) and of why it failed.

use std::fmt::Write as _;

use super::markers::{self, CHANGED, UNSAFE, WROTE};
use super::script::{Script, parent_dir};
use super::{EXIT_CHANGED_SINCE_READ, EXIT_UNSAFE_PATH, RunId, agent, quote};
use crate::transport::ExecOutput;

/// New content for one file.
#[derive(Debug, Clone)]
pub struct FileContent<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
    /// Mode for a file that does not exist yet (existing files keep owner and mode).
    pub new_mode: u32,
    /// sha256 of what the file must hold right before it is replaced (`None`: it must
    /// not exist): a change made by someone else since is never overwritten.
    pub expected: Option<String>,
}

/// Atomically replaces files: temp file (0600) in the same directory, content, owner and
/// mode copied from the original, then one flush of every temp file, then for each file
/// the compare-and-swap check and the rename, then one flush of the renamed directories.
/// Prints `WSD-WROTE <i>` after each rename.
///
/// Who writes is decided per file by `wsd_agent` (see `agent`): root in directories only
/// root can change; in a directory a user controls, that user (the file keeps being
/// theirs; `chown`/`chmod` never run as root there; `$WSD_PUT` makes, flushes and
/// renames the user's temp file in one process of theirs); anything else is refused
/// (exit [`EXIT_UNSAFE_PATH`]).
#[must_use]
pub fn write_script(run_id: &RunId, files: &[FileContent<'_>]) -> String {
    let mut s = Script::new(&format!("set -eu\numask 077\n{}", agent::functions()));
    write_steps(
        &mut s,
        run_id,
        files,
        &vec![Verdict::Check; files.len()],
        &[],
    );
    s.exit_0()
}

/// Who writes a file: found here by `wsd_agent`, or already found by the journal in the
/// same shell (`wsd_pu<index>`/`wsd_pg<index>`: nobody but root can change that verdict,
/// see `agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Check,
    Kept(usize),
}

/// The body of [`write_script`]: `also_flush` (quoted paths, e.g. the journal directory
/// whose `state` was just renamed) is flushed with the temp files, before any rename.
pub(super) fn write_steps(
    s: &mut Script,
    run_id: &RunId,
    files: &[FileContent<'_>],
    verdicts: &[Verdict],
    also_flush: &[String],
) {
    if !files.is_empty() {
        let names: Vec<String> = (0..files.len()).map(|i| format!("wsd_t{i}=''")).collect();
        let quoted: Vec<String> = (0..files.len()).map(|i| format!("\"$wsd_t{i}\"")).collect();
        let _ = writeln!(
            s,
            "{}\ntrap 'for wsd_x in {}; do [ -z \"$wsd_x\" ] || rm -f -- \"$wsd_x\"; done' EXIT",
            names.join(" "),
            quoted.join(" ")
        );
    }
    for (i, f) in files.iter().enumerate() {
        make_temp(
            s,
            run_id,
            i,
            f,
            verdicts.get(i).copied().unwrap_or(Verdict::Check),
        );
    }
    // One flush of every temp file (and of `also_flush`) before the first rename.
    let _ = writeln!(s, "set -- {}", also_flush.join(" "));
    for i in 0..files.len() {
        let _ = writeln!(s, "[ -z \"$wsd_t{i}\" ] || set -- \"$@\" \"$wsd_t{i}\"");
    }
    s.push("[ $# -eq 0 ] || sync -- \"$@\" 2>/dev/null || sync\nset --\n");
    for (i, f) in files.iter().enumerate() {
        rename_one(s, run_id, i, f);
    }
    // The renames are durable once their directories are flushed.
    s.push("[ $# -eq 0 ] || sync -- \"$@\" 2>/dev/null || sync\n");
}

/// File `i`: who writes it (kept in `wsd_wu<i>`/`wsd_wg<i>`); for root, its temp file
/// `$wsd_t<i>` with the new content, then the original's owner and mode.
fn make_temp(s: &mut Script, run_id: &RunId, i: usize, f: &FileContent<'_>, verdict: Verdict) {
    let p = quote(f.path);
    match verdict {
        Verdict::Check => {
            let _ = writeln!(s, "wsd_agent {p} || wsd_unsafe");
        }
        Verdict::Kept(k) => {
            let _ = writeln!(s, "wsd_u=$wsd_pu{k} wsd_g=$wsd_pg{k}");
        }
    }
    let _ = write!(
        s,
        "wsd_wu{i}=$wsd_u wsd_wg{i}=$wsd_g\n\
         if [ \"$wsd_u\" = 0 ]; then\n\
         d={d}; [ -d \"$d\" ] || mkdir -p -- \"$d\"\n\
         wsd_x=\"$d/.wsdeploy.{name}\"; (set -C; : > \"$wsd_x\"); wsd_t{i}=$wsd_x\n\
         base64 -d > \"$wsd_t{i}\" ",
        d = quote(parent_dir(f.path)),
        name = temp_name(run_id, i)
    );
    s.base64_heredoc(f.content);
    let _ = writeln!(
        s,
        "if [ -e {p} ]; then cp --attributes-only --preserve=mode,ownership -- {p} \"$wsd_t{i}\"; else chmod {mode:o} -- \"$wsd_t{i}\"; fi\nfi",
        mode = f.new_mode
    );
}

/// File `i` replaced: root checks it still holds what the run last saw and renames its
/// temp file over it; a user's file is written by `$WSD_PUT` as that user.
fn rename_one(s: &mut Script, run_id: &RunId, i: usize, f: &FileContent<'_>) {
    let p = quote(f.path);
    let _ = write!(
        s,
        "wsd_u=$wsd_wu{i} wsd_g=$wsd_wg{i}\n\
         if [ \"$wsd_u\" = 0 ]; then\n\
         wsd_cas {p} {expected} || {{ printf '{CHANGED} %s\\n' {p} >&2; exit {EXIT_CHANGED_SINCE_READ}; }}\n\
         mv -f -- \"$wsd_t{i}\" {p}; wsd_t{i}=\n\
         set -- \"$@\" {d}\n\
         else\n\
         wsd_new=; [ -e {p} ] || wsd_new={mode:o}\n\
         base64 -d <<'WSDEPLOY_B64_END' | wsd_as sh -c \"$WSD_PUT\" sh {p} \"$wsd_new\" {expected} {name}\n",
        mode = f.new_mode,
        expected = quote(f.expected.as_deref().unwrap_or("absent")),
        d = quote(parent_dir(f.path)),
        name = temp_name(run_id, i)
    );
    // The same content again for the user's branch (only one branch runs).
    s.base64_lines(f.content);
    let _ = write!(
        s,
        "fi\n\
         printf '{WROTE} {i}\\n'\n"
    );
}

/// The name (after `.wsdeploy.`) of the temp file of a run's `i`-th file of one write
/// exec, made only if it does not exist (`set -C`): a run killed before its renames
/// leaves only such names, which the recovery of that run removes (`restore_script`),
/// and nothing else.
#[must_use]
pub fn temp_name(run_id: &RunId, i: usize) -> String {
    format!("{run_id}.{i}")
}

/// Whether a write script's stdout says it replaced its `position`-th file.
#[must_use]
pub fn wrote(stdout: &str, position: usize) -> bool {
    markers::values(stdout, WROTE).any(|i| i == position.to_string())
}

/// Why a write script failed: a file someone else changed since it was read (never
/// overwritten), or the script's own words.
#[must_use]
pub fn failure(out: &ExecOutput) -> String {
    let text = out.combined();
    let changed: Vec<&str> = markers::values(&text, CHANGED).collect();
    if out.code() == EXIT_CHANGED_SINCE_READ && !changed.is_empty() {
        format!(
            "{} changed on the host after it was read (someone else edited it): not overwritten",
            changed.join(", ")
        )
    } else if out.code() == EXIT_UNSAFE_PATH {
        format!(
            "refusing to write through a path another user could swap under root: {}",
            unsafe_reason(&text)
        )
    } else {
        format!(
            "writing files failed ({}): {}",
            out.status_text(),
            text.trim()
        )
    }
}

/// The `WSD-UNSAFE` reasons a host script printed (its whole output when there is none).
#[must_use]
pub fn unsafe_reason(output: &str) -> String {
    let reasons: Vec<&str> = markers::values(output, UNSAFE).collect();
    if reasons.is_empty() {
        output.trim().to_owned()
    } else {
        reasons.join("; ")
    }
}
