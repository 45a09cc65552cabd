//! Who writes a path on the host, so that root never follows or changes anything through
//! a name another user can replace: the shell functions of `agent.sh`, included in every
//! script that writes or restores files.
//!
//! `wsd_agent PATH` looks at every existing directory from `/` down to PATH's parent
//! (one `stat`) and sets `wsd_u`: `0` when root alone controls them all, else the one
//! user who owns one of them (all below it are that user's to rename). It fails, with
//! the reason in `wsd_why`, when a directory is writable by group or others (except a
//! root-owned sticky one above the parent, like `/tmp`), when two users own directories
//! on the way, or when PATH exists in a user's directory but belongs to someone else.
//! It sets `wsd_g` (PATH's group, else its directory's) and `wsd_o` (PATH's own owner,
//! not following a symlink; empty when absent).
//!
//! `wsd_as CMD…` runs CMD as root when `wsd_u` is 0, else as that user and group
//! (`setpriv`, no supplementary groups): what a user controls is written by that user,
//! who can then only reach what they could reach anyway. `$WSD_PUT` is the script that
//! replaces a file atomically with its stdin (temp file made by `mktemp` in the same
//! directory, mode, fsync, rename), run by `wsd_as`; its third argument, when given, is
//! what the file must still hold right before the rename (`absent` or a sha256), else it
//! prints `WSD-CHANGED` and exits [`EXIT_CHANGED_SINCE_READ`]. `wsd_cas PATH EXPECTED` is
//! the same check for root's writes; `wsd_mine PATH "SHA…"` whether PATH holds one of
//! those contents (`any`: no check). `wsd_unsafe` prints `WSD-UNSAFE <why>` and exits
//! [`EXIT_UNSAFE_PATH`].

use std::fmt::Write as _;

use super::script::Script;
use super::{EXIT_CHANGED_SINCE_READ, EXIT_UNSAFE_PATH, quote};

/// The functions, with placeholders for the exit statuses.
const AGENT_FUNCTIONS: &str = include_str!("agent.sh");

/// The shell functions, ready to be put at the top of a script.
#[must_use]
pub fn functions() -> String {
    AGENT_FUNCTIONS
        .replace("WSD_EXIT_UNSAFE", &EXIT_UNSAFE_PATH.to_string())
        .replace("WSD_EXIT_CHANGED", &EXIT_CHANGED_SINCE_READ.to_string())
}

/// `wsd_agent` for `path`, refusing it (exit [`EXIT_UNSAFE_PATH`]) when it is unsafe;
/// for a path reached through the symlink `via`, the symlink must be root's, or the
/// same user's as the file it points at.
pub fn check(out: &mut Script, path: &str, via: Option<&str>) {
    if let Some(via) = via {
        let _ = writeln!(
            out,
            "wsd_agent {v} || wsd_unsafe; wsd_lu=$wsd_u; [ \"$wsd_lu\" != 0 ] || wsd_lu=${{wsd_o:-0}}\n\
             wsd_agent {p} || wsd_unsafe\n\
             [ \"$wsd_lu\" = 0 ] || [ \"$wsd_lu\" = \"$wsd_u\" ] || {{ wsd_why=\"$(printf '%s is a symlink uid %s controls, pointing at a file it does not control' {v} \"$wsd_lu\")\"; wsd_unsafe; }}",
            v = quote(via),
            p = quote(path)
        );
    } else {
        let _ = writeln!(out, "wsd_agent {} || wsd_unsafe", quote(path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::markers;

    #[test]
    fn the_shell_functions_print_the_markers_the_parsers_read() {
        let text = functions();
        assert!(text.contains(&format!("printf '{} %s\\n'", markers::UNSAFE)));
        assert!(text.contains(&format!("printf '\\''{} %s\\n'\\''", markers::CHANGED)));
        assert!(!text.contains("WSD_EXIT_"), "every placeholder is replaced");
    }
}
