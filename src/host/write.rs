//! Replacing files on the host, compare-and-swap: right before each rename the file must
//! still hold what the run last saw (sha256, or absent), else nothing is overwritten
//! (`WSD-CHANGED`, exit [`EXIT_CHANGED_SINCE_READ`]). The script, and the parsers of what
//! it prints (`WSD-WROTE <i>` per file) and of why it failed.

use std::fmt::Write as _;

use super::markers::{self, CHANGED, UNSAFE, WROTE};
use super::script::{Script, parent_dir};
use super::{EXIT_CHANGED_SINCE_READ, EXIT_UNSAFE_PATH, agent, quote};
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
/// mode copied from the original, fsync, rename. Prints `WSD-WROTE <i>` after each.
///
/// Who writes is decided per file by `wsd_agent` (see `agent`): root in directories only
/// root can change; in a directory a user controls, that user (the file keeps being
/// theirs; `chown`/`chmod` never run as root there); anything else is refused (exit
/// [`EXIT_UNSAFE_PATH`]).
#[must_use]
pub fn write_script(files: &[FileContent<'_>]) -> String {
    let mut s = Script::new(&format!(
        "set -eu\numask 077\n{}set --\n",
        agent::functions()
    ));
    for (i, f) in files.iter().enumerate() {
        write_one(&mut s, i, f);
    }
    // The renames are durable once their directories are flushed.
    s.push("[ $# -eq 0 ] || sync -- \"$@\" 2>/dev/null || sync\n");
    s.exit_0()
}

/// File `i`: as root, or as the user who controls its directory (`$WSD_PUT`).
fn write_one(s: &mut Script, i: usize, f: &FileContent<'_>) {
    let p = quote(f.path);
    let d = quote(parent_dir(f.path));
    let _ = writeln!(
        s,
        "wsd_agent {p} || wsd_unsafe\nif [ \"$wsd_u\" = 0 ]; then"
    );
    let _ = write!(
        s,
        "d={d}; [ -d \"$d\" ] || mkdir -p -- \"$d\"\n\
         t=$(mktemp \"$d/.wsdeploy.XXXXXX\")\n\
         trap 'rm -f -- \"$t\"' EXIT\n\
         base64 -d > \"$t\" "
    );
    s.base64_heredoc(f.content);
    let _ = write!(
        s,
        "if [ -e {p} ]; then chown --reference={p} -- \"$t\"; chmod --reference={p} -- \"$t\"; else chmod {mode:o} -- \"$t\"; fi\n\
         sync -- \"$t\" 2>/dev/null || sync\n\
         wsd_cas {p} {expected} || {{ printf '{CHANGED} %s\\n' {p} >&2; exit {EXIT_CHANGED_SINCE_READ}; }}\n\
         mv -f -- \"$t\" {p}\n\
         trap - EXIT\n\
         else\n\
         wsd_new=; [ -e {p} ] || wsd_new={mode:o}\n\
         base64 -d <<'WSDEPLOY_B64_END' | wsd_as sh -c \"$WSD_PUT\" sh {p} \"$wsd_new\" {expected}\n",
        mode = f.new_mode,
        expected = quote(f.expected.as_deref().unwrap_or("absent"))
    );
    // The same content again for the user's branch (only one branch runs).
    s.base64_lines(f.content);
    let _ = write!(
        s,
        "fi\n\
         printf '{WROTE} {i}\\n'\n\
         set -- \"$@\" {d}\n"
    );
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
