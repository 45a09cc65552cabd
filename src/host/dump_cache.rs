//! The host's copy of a dump (`nginx -T`) with the fingerprint that says when it may be
//! used instead of running the dump again.
//!
//! The shell functions of `dump_cache.sh` keep a dump's output on the host. `<cache>`
//! holds `<n>\n`, `n` fingerprint lines ([`STAT_FORMAT`] of every file the dump lists,
//! their directories and the directories of `include` patterns), then the dump's output;
//! `<cache>.paths` holds `set -- "$@" '<path>'…` for those paths. They are only written
//! when the dump exited 0, its output is at most [`MAX_STORED_OUTPUT`] bytes, and no
//! fingerprinted path changed (ctime) after the dump started (the ctime of a stamp file
//! created just before it, on the same clock).
//! Gathers `stat` the paths again and the controller uses the copy only while every line
//! is the same: ctime moves on every write, rename or chmod and cannot be set back, so an
//! edit is always seen.

use std::fmt::Write as _;

use super::{STATE_DIR, quote};

/// How a gather treats a dump's copy stored on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpCache {
    /// Send the stored copy, if any, with a fresh fingerprint (the controller decides);
    /// run the dump when there is none.
    Read,
    /// Run the dump (the stored copy did not match).
    Off,
}

/// Where the last good output of dump `command` and its fingerprint are kept on the host.
#[must_use]
pub fn dump_cache_path(command: &str) -> String {
    let key = crate::digest::sha256_hex(command.as_bytes());
    format!("{STATE_DIR}/dump/{}", &key[..16])
}

/// The `stat` record of every file a gather reads and of every path a stored dump's
/// fingerprint watches: mode, owner, group, size, inode, mtime, ctime (nanoseconds), name.
pub const STAT_FORMAT: &str = "%a %u %g %s %i %.9Y %.9Z %n";

/// The shell functions `wsd_fingerprint` and `wsd_dump_fresh`, with a placeholder for
/// [`STAT_FORMAT`].
const DUMP_CACHE_FUNCTIONS: &str = include_str!("dump_cache.sh");

/// The largest dump output kept on the host: half of what a gather reads of one file
/// (`gather::MAX_READ_BYTES`), so that the copy with its fingerprint lines is read with
/// the files (`gather`'s `C`). A larger output is not kept: every gather runs that dump.
pub const MAX_STORED_OUTPUT: usize = 4 * 1024 * 1024;

/// The shell functions, ready to be put in a script.
#[must_use]
pub fn functions() -> String {
    DUMP_CACHE_FUNCTIONS
        .replace("WSD_STAT_FORMAT", STAT_FORMAT)
        .replace("WSD_STORED_MAX", &MAX_STORED_OUTPUT.to_string())
}

/// Runs the dumps and keeps their output and fingerprint for the next gathers (best
/// effort: if that fails, the next gather runs them).
#[must_use]
pub fn refresh_dumps_script(dumps: &[String]) -> String {
    if dumps.is_empty() {
        return "exit 0\n".to_owned();
    }
    let mut s = String::from("LC_ALL=C; export LC_ALL\n");
    s.push_str(&functions());
    for cmd in dumps {
        let _ = writeln!(
            s,
            "wsd_dump_fresh {} {} >/dev/null 2>&1",
            quote(&dump_cache_path(cmd)),
            quote(cmd)
        );
    }
    s.push_str("exit 0\n");
    s
}

/// One [`STAT_FORMAT`] record's name (what the rest of the record describes).
#[must_use]
pub fn stat_name(record: &str) -> Option<&str> {
    record.splitn(8, ' ').nth(7)
}

/// One [`STAT_FORMAT`] record's size in bytes (`%s`).
#[must_use]
pub fn stat_size(record: &str) -> Option<usize> {
    record.split(' ').nth(3)?.parse().ok()
}

/// A stored copy as a gather sends it: `<n>\n`, `n` fingerprint lines, then the dump's
/// output (`None` when it is damaged).
#[must_use]
pub fn parse_stored(body: &[u8]) -> Option<(Vec<String>, String)> {
    let text = String::from_utf8_lossy(body);
    let (count, mut rest) = text.split_once('\n')?;
    let count: usize = count.trim().parse().ok()?;
    let mut lines = Vec::with_capacity(count);
    for _ in 0..count {
        let (line, tail) = rest.split_once('\n')?;
        lines.push(line.to_owned());
        rest = tail;
    }
    Some((lines, rest.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_is_not_kept_when_a_file_it_shows_changed_after_the_dump_started() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("it's $(x) nginx.conf");
        std::fs::write(&conf, "events {}\n").unwrap();
        let dump = dir.path().join("dump");
        std::fs::write(
            &dump,
            format!(
                "nginx: the configuration file {0} syntax is ok\n# configuration file {0}:\nevents {{}}\n# include /nowhere/*.conf;\nhttp {{ include conf.d/*.conf; include 'quoted dir/*.conf'; include \"{1}/double/*\"; }}\n",
                conf.display(),
                dir.path().display()
            ),
        )
        .unwrap();
        // The stamp and outputs live elsewhere, as on a host (/var/lib/wsdeploy/dump):
        // creating them must not touch a watched directory.
        let state = tempfile::tempdir().unwrap();
        let (stamp, stored, paths) = (
            state.path().join("stamp"),
            state.path().join("k"),
            state.path().join("p"),
        );
        let fingerprint = || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "{}wsd_fingerprint {} {} {} {}",
                    functions(),
                    quote(&dump.display().to_string()),
                    quote(&stamp.display().to_string()),
                    quote(&stored.display().to_string()),
                    quote(&paths.display().to_string()),
                ))
                .output()
                .expect("sh runs")
        };
        // Include paths in quotes (nginx allows both kinds) watch the directory inside.
        for sub in ["conf.d", "quoted dir", "double"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        // The dump "started" after every file was last changed: kept.
        std::fs::write(&stamp, "").unwrap();
        let kept = fingerprint();
        assert!(kept.status.success(), "{kept:?}");
        let text = std::fs::read_to_string(&stored).unwrap();
        let d = dir.path().display();
        let expected = [
            conf.display().to_string(),
            d.to_string(),
            format!("{d}/conf.d"),
            format!("{d}/quoted dir"),
            format!("{d}/double"),
        ];
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .filter_map(|l| l.splitn(8, ' ').nth(7))
            .collect();
        assert_eq!(names, expected, "{text}");
        assert!(text.starts_with("5\n"), "{text}");
        // The paths file, sourced by a real shell, gives back exactly the watched paths
        // (the commented-out include is not one of them).
        let listed = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                ". {}; printf '%s\\n' \"$@\"",
                quote(&paths.display().to_string())
            ))
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8_lossy(&listed.stdout),
            format!("{}\n", expected.join("\n"))
        );
        // A file changed after the dump started: refused.
        std::fs::remove_file(&stored).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&conf, "events { }\n").unwrap();
        let newer = fingerprint();
        assert!(!newer.status.success());
    }
}
