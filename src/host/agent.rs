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
/// `\n<path>\t<uid> <gid> <mode>\t<%N>` records, split once (`wsd_table`) into one
/// variable per path, found by a `case` on the path (`wsd_key`): a lookup costs the same
/// however long the list is (dash takes milliseconds to search a long string with
/// `${var#*pattern}`). `wsd_agent` and the state directory's check then take a path's
/// owner and mode from it (`wsd_looked`) instead of running `stat` again; a path missing
/// from it (absent then, met later on a symlink's way, or named with a newline or tab) is
/// looked at with `stat` as before. The chain walk takes a
/// symlink's target from `%N` (`wsd_link`; `<path> -> <target>` in the `escape` quoting
/// style, which prints no raw newline or tab, so no target can forge a record) when the
/// target is only letters, digits and `._/+@:-`; any other target, or a `stat` that quotes
/// otherwise (coreutils before 8.26), is read with `readlink` as before. Only for scripts that
/// change nothing: a script that writes, or runs a plan's command, could change an owner
/// or mode after the line ran. The line never fails (`set -e` goes on past it): a path
/// `stat` cannot see is left out.
///
/// A path under `/bin`, `/sbin`, `/lib` or `/lib64` brings its twin under `/usr` too: those
/// are symlinks into `/usr` on a merged-`/usr` system (Debian 12, Ubuntu, Fedora), so the
/// walk goes on there. A site under `sites-enabled` brings its `sites-available` twin, where
/// Debian's nginx layout links it. Where there is no such link, the twin is not there (or
/// is not on the way) and costs nothing.
#[must_use]
pub fn seen(paths: &[&str]) -> String {
    let twins: Vec<String> = paths.iter().filter_map(|p| twin(p)).collect();
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
    let keys: Vec<String> = quoted
        .iter()
        .enumerate()
        .map(|(i, q)| format!("{q}) wsd_k={} ;;", i + 1))
        .collect();
    format!(
        "wsd_seen=\"\n$(QUOTING_STYLE=escape stat --printf '%n\\t%u %g %a\\t%N\\n' -- {} 2>/dev/null || :)\n\"\n\
         wsd_key() {{ case $1 in {} *) return 1 ;; esac; }}\n\
         wsd_table {}\n",
        quoted.join(" "),
        keys.join(" "),
        names.len()
    )
}

/// Where the walk from `path` usually goes on through a symlink: `/usr/…` for a path under
/// `/bin`, `/sbin`, `/lib` or `/lib64` (merged `/usr`), `…/sites-available/<name>` for
/// `…/sites-enabled/<name>` (Debian's and Ubuntu's nginx layout).
fn twin(path: &str) -> Option<String> {
    if ["/bin/", "/sbin/", "/lib/", "/lib64/"]
        .iter()
        .any(|top| path.starts_with(top))
    {
        return Some(format!("/usr{path}"));
    }
    let (dir, name) = path.rsplit_once('/')?;
    let base = dir.strip_suffix("/sites-enabled")?;
    Some(format!("{base}/sites-available/{name}"))
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

    /// `wsd_chain`'s resolved path with `wsd_seen` filled for `seen_paths`, and the
    /// commands it ran (`stat` for the table included).
    fn chain_seen(seen_paths: &[&str], path: &str) -> (String, Vec<String>) {
        let script = format!(
            "{}{}wsd_chain {} || exit 1; printf '%s' \"$wsd_real\"",
            functions(),
            seen(seen_paths),
            quote(path)
        );
        let (run, out) = crate::host::commands_run::commands_run(&script);
        assert!(out.status.success(), "{out:?}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), run)
    }

    #[test]
    fn a_link_target_stat_saw_is_followed_without_readlink_and_an_odd_one_with_it() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::fs::write(root.join("usr/lib/unit"), "x").unwrap();
        symlink("usr/lib", root.join("lib")).unwrap();
        let r = root.display();
        let (link, real) = (format!("{r}/lib/unit"), format!("{r}/usr/lib/unit"));
        let (resolved, run) = chain_seen(&[&link, &real], &link);
        assert_eq!(resolved, real);
        assert_eq!(run, ["stat"], "the target came from the table");
        // Targets whose escaped form could be read two ways (a space, a backslash, a
        // newline, a tab) are read with `readlink`, and resolve the same.
        for odd in ["a b", "a\\b", "a\nb", "a\tb"] {
            std::fs::create_dir_all(root.join(odd)).unwrap();
            std::fs::write(root.join(odd).join("unit"), "x").unwrap();
            let name = format!("odd{}", odd.len());
            std::fs::remove_file(root.join(&name)).ok();
            symlink(odd, root.join(&name)).unwrap();
            let path = format!("{r}/{name}/unit");
            let (resolved, run) = chain_seen(&[&path], &path);
            assert_eq!(resolved, format!("{r}/{odd}/unit"), "{odd:?}");
            assert!(run.contains(&"readlink".to_owned()), "{odd:?}: {run:?}");
        }
    }

    #[test]
    fn a_second_table_forgets_the_first() {
        let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let root = dir.path().canonicalize().unwrap();
        let file = root.join("file").display().to_string();
        std::fs::write(&file, "x").unwrap();
        let absent = root.join("absent").display().to_string();
        // The absent path takes the file's place in the second table's numbering.
        let script = format!(
            "{}{}{}wsd_looked \"$1\" || exit 1; printf '%s' \"$wsd_s\"",
            functions(),
            seen(&[&file]),
            seen(&[&absent])
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script, "sh", &absent])
            .output()
            .expect("sh runs");
        assert!(
            !out.status.success(),
            "the absent path got a record: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    #[test]
    fn a_link_target_cannot_forge_a_record_of_the_table() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let root = dir.path().canonicalize().unwrap();
        let guarded = root.join("guarded");
        std::fs::create_dir(&guarded).unwrap();
        std::fs::set_permissions(
            &guarded,
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        let guarded = guarded.display().to_string();
        // A link listed before the directory whose target spells a record claiming the
        // directory is root's and closed.
        let link = root.join("a-link");
        symlink(format!("x\n{guarded}\t0 0 755\tx"), &link).unwrap();
        let link = link.display().to_string();
        let seen_mode = looked(&[&link, &guarded], &[&guarded]).expect("seen");
        assert!(seen_mode.ends_with(" 777"), "{seen_mode}");
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
