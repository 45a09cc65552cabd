//! The host's run lock: a `flock` held by a process on the host for as long as its stdin
//! stays open and a heartbeat arrives; the command that takes it and the parser of its
//! first line.

use super::markers::{BUSY, HOLDER_RAN, LOCKED};
use super::runner::wrap_unbounded;
use super::{Become, EXIT_LOCK_BUSY, KILL_GRACE, SCRIPT_BOUND, STATE_DIR, bound_secs, quote};
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
/// read bounded by `timeout`: the heartbeat keeps it; [`RUN_SCRIPT`] followed by a script
/// ([`run_message`]) makes it run that script (the commit) under [`SCRIPT_BOUND`] and
/// answer `WSD-RAN <exit> <output, base64>` ([`HolderRan`]), still holding the lock; EOF,
/// any other byte, or [`LOCK_GIVE_UP`] of silence ends it, and with it the `flock`.
#[must_use]
pub fn lock_command_in(dir: &str, holder: &str, elevation: Option<&Become>) -> String {
    let give_up = LOCK_GIVE_UP.as_secs();
    let holding = format!(
        "printf '%s\\n' \"$1\" > \"$2/lock.holder\"\n\
         echo {LOCKED}\n\
         while wsd_b=$(timeout {give_up} head -c 1); do\n\
         case $wsd_b in\n\
         {LOCK_HEARTBEAT}) ;;\n\
         {RUN_SCRIPT}) wsd_n=$(timeout {give_up} head -c {LENGTH_DIGITS}) || break\n\
         \x20 case $wsd_n in ''|*[!0-9]*) break ;; esac\n\
         \x20 wsd_f=$(mktemp \"$2/run.XXXXXX\") || break\n\
         \x20 timeout {give_up} head -c \"$wsd_n\" > \"$wsd_f\" || {{ rm -f -- \"$wsd_f\"; break; }}\n\
         \x20 wsd_o=$(timeout -k {grace} {bound} sh \"$wsd_f\" 2>&1 </dev/null); wsd_c=$?\n\
         \x20 rm -f -- \"$wsd_f\"\n\
         \x20 printf '{HOLDER_RAN} %s %s\\n' \"$wsd_c\" \"$(printf '%s' \"$wsd_o\" | base64 -w0)\" ;;\n\
         *) break ;;\n\
         esac\n\
         done\n",
        grace = KILL_GRACE.as_secs(),
        bound = bound_secs(SCRIPT_BOUND),
    );
    let script = format!(
        "{state}d={dir}\n\
         mkdir -p \"$d\" && chmod 700 \"$d\" || exit 1\n\
         flock -n -E {EXIT_LOCK_BUSY} \"$d/lock\" sh -c {holding} sh {holder} \"$d\"\n\
         rc=$?\n\
         if [ $rc = {EXIT_LOCK_BUSY} ]; then printf '{BUSY} %s\\n' \"$(cat \"$d/lock.holder\" 2>/dev/null || echo unknown)\"; fi\n\
         exit $rc\n",
        state = super::state_dir::check(dir, 1),
        dir = quote(dir),
        holding = quote(&holding),
        holder = quote(holder)
    );
    wrap_unbounded(&format!("sh -c {}", quote(&script)), elevation)
}

/// The byte that tells the holder a script follows: `LENGTH_DIGITS` decimal digits
/// of its length, then the script.
pub const RUN_SCRIPT: &str = "R";
/// How many digits the length of a script sent to the holder has.
const LENGTH_DIGITS: usize = 8;

/// What to send the holder so it runs `script` (a script of wsdeploy's own: the commit);
/// `None` for a script too long for `LENGTH_DIGITS` digits.
#[must_use]
pub fn run_message(script: &str) -> Option<Vec<u8>> {
    let length = format!("{:0width$}", script.len(), width = LENGTH_DIGITS);
    (length.len() == LENGTH_DIGITS).then(|| {
        let mut message = format!("{RUN_SCRIPT}{length}").into_bytes();
        message.extend_from_slice(script.as_bytes());
        message
    })
}

/// The holder's answer to [`run_message`]: how the script ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderRan {
    pub exit: u32,
    /// stdout and stderr together.
    pub output: Vec<u8>,
}

impl HolderRan {
    /// Reads the holder's `WSD-RAN` line (`None` for any other line).
    #[must_use]
    pub fn parse(line: &str) -> Option<Self> {
        use base64::Engine as _;
        let rest = line.strip_prefix(HOLDER_RAN)?.strip_prefix(' ')?;
        let (exit, encoded) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(Self {
            exit: exit.parse().ok()?,
            output: base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?,
        })
    }
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
    fn lock_holder_runs_a_script_it_is_sent_between_heartbeats_and_keeps_the_lock() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut holder = start_holder(dir.path(), "run 1");
        let stdout = holder.stdout.take().expect("piped stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        assert_eq!(lines.next().unwrap().unwrap(), LOCKED);
        let mut stdin = holder.stdin.take().expect("piped stdin");
        let marked = dir.path().join("state");
        let script = format!(
            "printf 'committed\\n' > {}\necho \"$(flock -n {} true && echo free || echo held)\"\necho oops >&2\nexit 3\n",
            quote(&marked.to_string_lossy()),
            quote(&dir.path().join("lock").to_string_lossy()),
        );
        let mut message = LOCK_HEARTBEAT.as_bytes().to_vec();
        message.extend(run_message(&script).expect("short"));
        message.extend(LOCK_HEARTBEAT.as_bytes());
        stdin.write_all(&message).expect("send");
        let answer = lines.next().unwrap().unwrap();
        assert_eq!(
            HolderRan::parse(&answer),
            Some(HolderRan {
                exit: 3,
                output: b"held\noops".to_vec()
            }),
            "{answer}"
        );
        assert_eq!(std::fs::read_to_string(&marked).unwrap(), "committed\n");
        assert!(!lock_is_free(dir.path()), "the holder let the lock go");
        drop(stdin);
        assert_eq!(
            ended_within(&mut holder, std::time::Duration::from_secs(2)),
            Some(0)
        );
        assert!(lock_is_free(dir.path()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("run."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert_eq!(HolderRan::parse("WSD-RAN x"), None);
        assert_eq!(HolderRan::parse(LOCKED), None);
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
