//! Who writes a path on the host, so that root never follows or changes anything through
//! a name another user can replace: the shell functions of `agent.sh`, included in every
//! script that reads (the gather, a `facts:` source), writes or restores files.
//!
//! `wsd_agent PATH` looks at every existing directory from `/` down to PATH's parent
//! (one `stat`, of PATH too when it exists) and sets `wsd_u`: `0` when root alone controls them all, else the one
//! user who owns one of them (all below it are that user's to rename). It fails, with
//! the reason in `wsd_why`, when a directory is writable by group or others (except a
//! root-owned sticky one above the parent, like `/tmp`), when two users own directories
//! on the way, or when PATH exists in a user's directory but belongs to someone else.
//! It sets `wsd_o` (PATH's own owner, not following a symlink; empty when absent) and,
//! for a user, `wsd_g`: that user's primary group (`getent`), never root's.
//!
//! In a read-only script, `wsd_agent` takes the owners and modes from `wsd_seen`, one `stat`
//! made up front of every path the script judges and of the directories above them
//! ([`seen`]), and runs `stat` itself only for what that did not see.
//!
//! `wsd_chain PATH` walks PATH hop by hop as the kernel would (every symlink met, in a
//! directory or at the end, followed with `readlink`, at most 40) and sets `wsd_real`,
//! the resolved path. Every symlink is judged as a path of its own (`wsd_agent`: its
//! directories, and its owner in a user's directory), so a directory symlink counts for
//! its target's directories, not its own mode; a symlink a user controls (its directory,
//! or itself in a root directory) may lead only to what that same user controls: root
//! link → user link → root file is refused at the user's link. Then `wsd_agent` on
//! `wsd_real`.
//!
//! `wsd_as CMD…` runs CMD as root when `wsd_u` is 0, else as that user with their
//! primary group and their own supplementary groups (`setpriv --init-groups`; a shell
//! that is not root runs CMD itself): what a user controls is read and written by that
//! user, who can then only reach what they could reach anyway. `$WSD_PUT` is the script that
//! replaces a file atomically with its stdin (temp file made by `mktemp` in the same
//! directory, the file's group where the user may set it, mode, fsync, rename), run by
//! `wsd_as`; its third argument, when given, is
//! what the file must still hold right before the rename (`absent` or a sha256), else it
//! prints `WSD-CHANGED` and exits [`EXIT_CHANGED_SINCE_READ`]. `wsd_cas PATH EXPECTED` is
//! the same check for root's writes; `wsd_mine PATH "SHA…"` whether PATH holds one of
//! those contents (`any`: no check). `wsd_unsafe` prints `WSD-UNSAFE <why>` and exits
//! [`EXIT_UNSAFE_PATH`].

use std::fmt::Write as _;

use super::markers::CHANGED;
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

/// Refuses `requested` (exit [`EXIT_UNSAFE_PATH`]) unless every hop of its symlink
/// chain is safe (`wsd_chain`), and (exit [`EXIT_CHANGED_SINCE_READ`]) unless it still
/// leads to `real`, the path the gather resolved. Leaves `wsd_u`/`wsd_g` set for `real`.
pub fn check(out: &mut Script, requested: &str, real: &str) {
    let r = quote(requested);
    let _ = writeln!(
        out,
        "wsd_chain {r} || wsd_unsafe
\
         [ \"$wsd_real\" = {} ] || {{ printf '{CHANGED} %s\\n' {r} >&2; exit {EXIT_CHANGED_SINCE_READ}; }}",
        quote(real)
    );
}

/// Refuses `path` (exit [`EXIT_UNSAFE_PATH`]) when a directory on its way is unsafe, or
/// it exists in a user's directory as someone else's (`wsd_agent`; a dated backup).
pub fn check_dirs(out: &mut Script, path: &str) {
    let _ = writeln!(out, "wsd_agent {} || wsd_unsafe", quote(path));
}

/// The line that fills `wsd_seen` for a read-only script: one `stat` (not following
/// symlinks) of every path in `paths` and of every directory above each, as
/// `\n<path>\t<uid> <gid> <mode>` records. `wsd_agent` and the state directory's check
/// then take a path's owner and mode from it (`wsd_looked`) instead of running `stat`
/// again; a path missing from it (absent then, met later on a symlink's way, or named
/// with a newline or tab) is looked at with `stat` as before. Only for scripts that
/// change nothing: a script that writes, or runs a plan's command, could change an owner
/// or mode after the line ran. The line never fails (`set -e` goes on past it): a path
/// `stat` cannot see is left out.
///
/// A path under `/bin`, `/sbin`, `/lib` or `/lib64` brings its twin under `/usr` too: those
/// are symlinks into `/usr` on a merged-`/usr` system (Debian 12, Ubuntu, Fedora), so the
/// walk goes on there; where they are not, the twin is not there and costs nothing.
#[must_use]
pub fn seen(paths: &[&str]) -> String {
    let twins: Vec<String> = paths
        .iter()
        .filter(|p| {
            ["/bin/", "/sbin/", "/lib/", "/lib64/"]
                .iter()
                .any(|top| p.starts_with(top))
        })
        .map(|p| format!("/usr{p}"))
        .collect();
    let mut names: Vec<String> = Vec::new();
    for path in paths
        .iter()
        .copied()
        .chain(twins.iter().map(String::as_str))
    {
        if !path.starts_with('/') || path.contains(['\n', '\t']) {
            continue;
        }
        for this in std::iter::once("/".to_owned()).chain(super::script::top_down(path)) {
            if !names.contains(&this) {
                names.push(this);
            }
        }
    }
    if names.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = names.iter().map(|n| quote(n)).collect();
    format!(
        "wsd_seen=\"\n$(stat --printf '%n\\t%u %g %a\\n' -- {} 2>/dev/null || :)\n\"\n",
        quoted.join(" ")
    )
}

/// The message for a path refused as unsafe (`WSD-UNSAFE` reasons): nothing was touched.
#[must_use]
pub fn refusal(reason: &str) -> String {
    format!(
        "refusing to write through a path another user could swap under root, nothing was touched: {reason} (make root own every directory on the way, or make the file belong to the user who owns its directory)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::markers;

    /// `wsd_chain`'s resolved path, or its refusal.
    fn chain(path: &std::path::Path) -> Result<String, String> {
        let script = format!(
            "{}if wsd_chain \"$1\"; then printf '%s' \"$wsd_real\"; else printf '%s' \"$wsd_why\" >&2; exit 1; fi",
            functions()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script, "sh"])
            .arg(path)
            .output()
            .expect("sh runs");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `wsd_looked`'s answer for `names`, with `wsd_seen` filled for `seen_paths`.
    fn looked(seen_paths: &[&str], names: &[&str]) -> Option<String> {
        let script = format!(
            "{}{}wsd_looked \"$@\" || exit 1; printf '%s' \"$wsd_s\"",
            functions(),
            seen(seen_paths)
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script, "sh"])
            .args(names)
            .output()
            .expect("sh runs");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[test]
    fn what_was_seen_is_what_stat_says_and_a_name_cannot_forge_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let sub = root.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let file = sub.join("file");
        std::fs::write(&file, "x").unwrap();
        let (sub, file) = (sub.display().to_string(), file.display().to_string());
        let stat = std::process::Command::new("stat")
            .args(["-c", "%u %g %a", "--", "/", &sub, &file])
            .output()
            .expect("stat runs");
        let expected = String::from_utf8_lossy(&stat.stdout).trim_end().to_owned();
        assert_eq!(
            looked(&[&file], &["/", &sub, &file]),
            Some(expected.clone())
        );
        // A directory above the file was seen; a name never seen was not.
        assert!(looked(&[&file], &[&format!("{sub}/other")]).is_none());
        assert!(
            looked(&[], &["/"]).is_none(),
            "nothing seen, nothing looked up"
        );
        // A name made to span records (as a symlink met on the way could be) is never
        // looked up: it would otherwise match `sub`'s record followed by `file`'s.
        let first = expected.lines().nth(1).unwrap();
        let forged = format!("{sub}\t{first}\n{file}");
        assert!(looked(&[&file], &[&forged]).is_none());
        let tabbed = format!("{sub}\t");
        assert!(looked(&[&file, &tabbed], &[&tabbed]).is_none());
    }

    #[test]
    fn the_chain_resolves_as_the_kernel_does_and_stops_at_a_loop() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::fs::write(root.join("real/sub/file"), "x").unwrap();
        symlink("real", root.join("rel")).unwrap();
        symlink(root.join("real/sub"), root.join("abs")).unwrap();
        symlink("../sub/./file", root.join("real/sub/up")).unwrap();
        symlink("up", root.join("real/sub/up2")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        for path in [
            "rel/sub/file",
            "abs/up2",
            "rel/sub/../sub//up",
            "rel/sub/new",
        ] {
            let expected = root.join("real/sub").join(path.rsplit('/').next().unwrap());
            let expected = expected.canonicalize().unwrap_or(expected);
            assert_eq!(
                chain(&root.join(path)),
                Ok(expected.display().to_string()),
                "{path}"
            );
        }
        let looped = chain(&root.join("loop1/x")).unwrap_err();
        assert!(
            looped.contains("too many levels of symbolic links"),
            "{looped}"
        );
    }

    #[test]
    fn the_shell_functions_print_the_markers_the_parsers_read() {
        let text = functions();
        assert!(text.contains(&format!("printf '{} %s\\n'", markers::UNSAFE)));
        assert!(text.contains(&format!("printf '\\''{} %s\\n'\\''", markers::CHANGED)));
        assert!(!text.contains("WSD_EXIT_"), "every placeholder is replaced");
    }
}
