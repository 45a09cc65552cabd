//! The host's run lock: a `flock` held by a process on the host for as long as its stdin
//! stays open and a heartbeat arrives; the command that takes it and the parser of its
//! first line.

use super::markers::{BUSY, LOCKED};
use super::runner::wrap_unbounded;
use super::{Become, EXIT_LOCK_BUSY, STATE_DIR, quote};
pub use crate::transport::{LOCK_GIVE_UP, LOCK_HEARTBEAT, LOCK_HEARTBEAT_INTERVAL};

/// The command that takes the host's run lock and keeps it while its stdin stays open
/// and [`LOCK_HEARTBEAT`] arrives at least every [`LOCK_GIVE_UP`].
/// Prints `WSD-LOCKED` once held, or `WSD-BUSY <holder>` and exits 75.
#[must_use]
pub fn lock_command(holder: &str, elevation: Option<&Become>) -> String {
    lock_command_in(STATE_DIR, holder, elevation)
}

/// [`lock_command`] with the lock (`<dir>/lock`, `<dir>/lock.holder`) in `dir`.
///
/// The holder reads its stdin one byte at a time (`head -c 1` reads no further), each
/// read bounded by `timeout`: EOF, a byte other than the heartbeat, or
/// [`LOCK_GIVE_UP`] of silence ends it, and with it the `flock`.
#[must_use]
pub fn lock_command_in(dir: &str, holder: &str, elevation: Option<&Become>) -> String {
    let give_up = LOCK_GIVE_UP.as_secs();
    let script = format!(
        "{state}d={dir}\n\
         mkdir -p \"$d\" && chmod 700 \"$d\" || exit 1\n\
         flock -n -E {EXIT_LOCK_BUSY} \"$d/lock\" sh -c 'printf \"%s\\n\" \"$1\" > \"$2/lock.holder\"; echo {LOCKED}; while [ \"$(timeout {give_up} head -c 1)\" = {LOCK_HEARTBEAT} ]; do :; done' sh {holder} \"$d\"\n\
         rc=$?\n\
         if [ $rc = {EXIT_LOCK_BUSY} ]; then printf '{BUSY} %s\\n' \"$(cat \"$d/lock.holder\" 2>/dev/null || echo unknown)\"; fi\n\
         exit $rc\n",
        state = super::state_dir::check(dir, 1),
        dir = quote(dir),
        holder = quote(holder)
    );
    wrap_unbounded(&format!("sh -c {}", quote(&script)), elevation)
}

/// What the lock holder's first line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockReply {
    /// The lock is held.
    Locked,
    /// Another run holds it; its holder's description.
    Busy(String),
    /// The state directory is unsafe (`state_dir`); why, as the host said it.
    UnsafeStateDir(String),
    /// Anything else (no `flock`, no rights...).
    Unexpected,
}

impl LockReply {
    /// Reads the holder's first line.
    #[must_use]
    pub fn parse(line: &str) -> Self {
        if line == LOCKED {
            Self::Locked
        } else if let Some(why) = super::state_dir::refused(line) {
            Self::UnsafeStateDir(why.to_owned())
        } else if let Some(holder) = line.strip_prefix(BUSY) {
            Self::Busy(holder.trim().to_owned())
        } else {
            Self::Unexpected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts the lock holder on `dir` with `sh`, as a transport would.
    fn start_holder(dir: &std::path::Path, holder: &str) -> std::process::Child {
        let command = lock_command_in(&dir.to_string_lossy(), holder, None);
        std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs")
    }

    fn first_line(child: &mut std::process::Child) -> String {
        use std::io::BufRead as _;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the holder's stdout");
        line
    }

    fn lock_is_free(dir: &std::path::Path) -> bool {
        std::process::Command::new("flock")
            .arg("-n")
            .arg(dir.join("lock"))
            .arg("true")
            .status()
            .expect("flock runs")
            .success()
    }

    /// Waits (bounded) for the holder to end and returns its exit code.
    fn ended_within(child: &mut std::process::Child, limit: std::time::Duration) -> Option<i32> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = child.try_wait().expect("wait for the holder") {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    #[test]
    fn lock_holder_keeps_the_lock_through_heartbeats_and_frees_it_at_eof() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("it's state");
        let mut holder = start_holder(&state, "run 1 by 'ops'");
        assert_eq!(first_line(&mut holder), format!("{LOCKED}\n"));
        let mut stdin = holder.stdin.take().expect("piped stdin");
        for _ in 0..3 {
            stdin
                .write_all(LOCK_HEARTBEAT.as_bytes())
                .expect("heartbeat");
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(!lock_is_free(&state), "a heartbeat ended the holder");
        }

        let mut second = start_holder(&state, "run 2");
        assert_eq!(first_line(&mut second), format!("{BUSY} run 1 by 'ops'\n"));
        assert_eq!(
            ended_within(&mut second, std::time::Duration::from_secs(5)),
            Some(EXIT_LOCK_BUSY)
        );

        drop(stdin);
        assert_eq!(
            ended_within(&mut holder, std::time::Duration::from_secs(2)),
            Some(0),
            "EOF must end the holder at once"
        );
        assert!(lock_is_free(&state));
    }

    #[test]
    fn lock_holder_ends_on_a_byte_that_is_not_the_heartbeat() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut holder = start_holder(dir.path(), "run");
        assert_eq!(first_line(&mut holder), format!("{LOCKED}\n"));
        let mut stdin = holder.stdin.take().expect("piped stdin");
        stdin.write_all(b"..x").expect("write");
        assert_eq!(
            ended_within(&mut holder, std::time::Duration::from_secs(2)),
            Some(0)
        );
        assert!(lock_is_free(dir.path()));
    }

    #[test]
    fn the_first_line_says_locked_busy_or_neither() {
        assert_eq!(LockReply::parse(LOCKED), LockReply::Locked);
        assert_eq!(
            LockReply::parse(&format!("{BUSY} run 1 by ops")),
            LockReply::Busy("run 1 by ops".to_owned())
        );
        assert_eq!(LockReply::parse("flock: not found"), LockReply::Unexpected);
    }
}
