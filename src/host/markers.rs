//! Every marker a host script prints for the controller to read. The Rust side names them
//! only through these constants; the shell files of `host/` (`agent.sh`) spell out the two
//! they print (`UNSAFE`, `CHANGED`), which a test keeps equal.

/// First line of a gather's output: `WSD-GATHER <boundary>`.
pub const GATHER: &str = "WSD-GATHER";
/// How every gather section boundary starts (the rest is random, made on the host).
pub const BOUNDARY_PREFIX: &str = "--WSD-";
/// `WSD-UNSAFE <reason>` (stderr): a path another user could swap was refused.
pub const UNSAFE: &str = "WSD-UNSAFE";
/// `WSD-UNSAFE-STATE <reason>`: the state directory is not safe to use (`state_dir`).
pub const UNSAFE_STATE: &str = "WSD-UNSAFE-STATE";
/// `WSD-CHANGED <path>` (stderr): a file no longer holds what the run last saw.
pub const CHANGED: &str = "WSD-CHANGED";
/// The lock holder holds the lock.
pub const LOCKED: &str = "WSD-LOCKED";
/// `WSD-RAN <exit> <output, base64>`: the lock holder ran a script it was sent.
pub const HOLDER_RAN: &str = "WSD-RAN";
/// `WSD-BUSY <holder>`: another run holds the lock.
pub const BUSY: &str = "WSD-BUSY";
/// The journal entry and the backups are complete (no target file touched before).
pub const JOURNALED: &str = "WSD-JOURNALED";
/// `WSD-BACKUP <path>`: a dated backup was made.
pub const BACKUP: &str = "WSD-BACKUP";
/// `WSD-WROTE <i>`: the `i`-th file of a write script was replaced.
pub const WROTE: &str = "WSD-WROTE";
/// The run to restore has no journal state: no file was touched.
pub const NO_JOURNAL: &str = "WSD-NO-JOURNAL";
/// `WSD-JOURNAL-UNTRUSTED <why>`: nothing was restored.
pub const JOURNAL_UNTRUSTED: &str = "WSD-JOURNAL-UNTRUSTED";
/// `WSD-RESTORED <path>`: the file holds its pre-image again.
pub const RESTORED: &str = "WSD-RESTORED";
/// `WSD-RESTORE-FAILED <path>`.
pub const RESTORE_FAILED: &str = "WSD-RESTORE-FAILED";
/// `WSD-RESTORE-SKIPPED <path>`: someone else changed the file since the run wrote it.
pub const RESTORE_SKIPPED: &str = "WSD-RESTORE-SKIPPED";
/// `WSD-PART <i> <exit> <stdout length> <stderr length>`: a sequence part's frame.
pub const PART: &str = "WSD-PART";
/// `WSD-READ <i> <exit> <stdout length> <stderr length>`: a `facts:` source's frame.
pub const READ: &str = "WSD-READ";

/// What follows `<marker> ` on each line of `output` that has it.
pub fn values<'a>(output: &'a str, marker: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    output.lines().filter_map(move |line| {
        line.strip_prefix(marker)
            .and_then(|rest| rest.strip_prefix(' '))
    })
}

/// Whether `output` has a line that is exactly `marker`.
#[must_use]
pub fn has_line(output: &str, marker: &str) -> bool {
    output.lines().any(|line| line == marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_marker_and_a_space() {
        let out = "WSD-BACKUP /a b\nWSD-BACKUPX /c\nnoise WSD-BACKUP /d\nWSD-BACKUP /e\n";
        assert_eq!(values(out, BACKUP).collect::<Vec<_>>(), ["/a b", "/e"]);
        assert!(has_line("x\nWSD-JOURNALED\n", JOURNALED));
        assert!(!has_line("WSD-JOURNALED x\n", JOURNALED));
    }
}
