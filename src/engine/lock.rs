//! The host's run lock as a guard: held from `HostLock::take` until `release` (which
//! waits until the host has let it go) or, on any other way out (an early return, a
//! panic), until the guard is dropped. The holder also runs the commit in its own
//! session (`HostLock::run`), the lock held throughout.
//!
//! Drop cannot wait, so it hands the holder to the runtime to close (`Child::close`:
//! heartbeat stopped, stdin closed, the holder ends and `flock` with it); without a
//! runtime, the holder's own `Drop` stops the heartbeat and closes its stdin, and the
//! holder gives the lock up at EOF or after `LOCK_GIVE_UP` of silence at the latest.

use std::time::Duration;

use crate::host;
use crate::host::lock::{self as protocol, HolderRan, LockReply};
use crate::transport::{Child, ExecOutput, Heartbeat, Transport, TransportError};

/// How long the holder has to say whether it got the lock.
const ANSWER_WAIT: Duration = Duration::from_secs(30);
/// Between two asks of a lock this run's own previous holder still holds.
const RETAKE_PAUSE: Duration = Duration::from_millis(500);

/// Why a host's run lock is not held (nothing is left running).
#[derive(Debug, thiserror::Error)]
pub(super) enum LockError {
    /// The holder could not be started, or the connection's sessions not counted.
    #[error("cannot take the run lock: {0}")]
    NotStarted(TransportError),
    /// Another run holds the lock (`holder`: what it wrote about itself).
    #[error(
        "another wsdeploy run holds the lock on this host: {holder}; nothing was touched (wait for it, or check {}/lock.holder)",
        host::STATE_DIR
    )]
    Busy { holder: String },
    /// The host's state directory is unsafe (`why`, as the holder said).
    #[error("{}", host::state_dir::refusal(host::STATE_DIR, .why))]
    UnsafeStateDir { why: String },
    /// The holder gave no answer wsdeploy understands (`answer` says what happened).
    #[error(
        "cannot take the run lock (is util-linux `flock` installed? root or become needed): {answer}"
    )]
    Unanswered { answer: String },
}

/// The held run lock of one host.
pub(super) struct HostLock {
    holder: Option<Child>,
    /// The host counts as in the middle of a change while its lock is held.
    _changing: crate::interrupt::Changing,
}

impl HostLock {
    /// Starts `command` (`host::lock::lock_command`) with the heartbeat and waits for its
    /// answer; `Err` says why the lock is not held (another run holds it, or the holder
    /// could not run), with nothing left running.
    ///
    /// The holder runs in a session of the host's connection. Where sshd allows no
    /// further session beside it (`MaxSessions 1`), found out while the holder answers
    /// and before anything is written, the lock is let go and taken again by a holder
    /// on a connection of its own (`take_apart`: the first holder, still letting go on
    /// the host, is never mistaken for another run).
    pub(super) async fn take(
        transport: &Transport,
        command: &str,
        holder: &str,
        host: &str,
    ) -> Result<Self, LockError> {
        // Counted from before the holder starts: once it answers, a journal may follow.
        let changing = crate::interrupt::Changing::begin(host);
        let child = transport
            .spawn(command, Some(heartbeat()))
            .await
            .map_err(LockError::NotStarted)?;
        let (held, spare) = tokio::join!(answered(child), transport.has_spare_session());
        let first = held?;
        let holder = match spare {
            Ok(true) => first,
            Ok(false) => {
                first.close().await;
                take_apart(transport, command, holder).await?
            }
            Err(e) => {
                first.close().await;
                return Err(LockError::NotStarted(e));
            }
        };
        Ok(Self {
            holder: Some(holder),
            _changing: changing,
        })
    }

    /// Runs `script` (one of wsdeploy's own: the commit) in the holder's session, the
    /// lock still held: no session of its own. `Err` says why no answer came (how far
    /// the script got is then unknown).
    pub(super) async fn run(&mut self, script: &str) -> Result<ExecOutput, String> {
        let holder = self
            .holder
            .as_mut()
            .ok_or_else(|| "the lock's holder is gone".to_owned())?;
        let message = protocol::run_message(script).ok_or_else(|| {
            format!(
                "a script of {} bytes is too long for the lock's holder",
                script.len()
            )
        })?;
        holder.send(&message).await.map_err(|e| e.to_string())?;
        let wait = host::SCRIPT_BOUND + host::KILL_GRACE + ANSWER_WAIT;
        let line = match tokio::time::timeout(wait, holder.read_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => return Err("the lock's holder ended without answering".to_owned()),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                return Err(format!(
                    "the lock's holder did not answer within {} s",
                    wait.as_secs()
                ));
            }
        };
        let ran = HolderRan::parse(&line)
            .ok_or_else(|| format!("the lock's holder answered {line:?}"))?;
        Ok(ExecOutput {
            stdout: ran.output,
            stderr: Vec::new(),
            exit_status: Some(ran.exit),
            exit_signal: None,
        })
    }

    /// Lets the lock go and waits until the host has (briefly; see `Child::close`).
    pub(super) async fn release(mut self) {
        if let Some(holder) = self.holder.take() {
            holder.close().await;
        }
    }
}

/// The lock taken again by a holder on a connection of its own, once this run's first
/// holder was let go. On the host that holder may not have let go yet (its close stops
/// waiting after a few seconds; it ends at EOF, or after `LOCK_GIVE_UP` of silence at
/// the latest): while the lock names this run's own `holder`, it is asked again, until
/// then. Another run's holder is reported at once.
async fn take_apart(
    transport: &Transport,
    command: &str,
    holder: &str,
) -> Result<Child, LockError> {
    let until = tokio::time::Instant::now() + protocol::LOCK_GIVE_UP + RETAKE_PAUSE;
    loop {
        let child = transport
            .spawn_apart(command, Some(heartbeat()))
            .await
            .map_err(LockError::NotStarted)?;
        match answered(child).await {
            Ok(child) => return Ok(child),
            Err(LockError::Busy { holder: busy })
                if busy == holder && tokio::time::Instant::now() < until =>
            {
                tokio::time::sleep(RETAKE_PAUSE).await;
            }
            Err(refused) => return Err(refused),
        }
    }
}

/// The heartbeat the holder waits for; it gives the lock up when it stops (a vanished
/// controller).
fn heartbeat() -> Heartbeat {
    Heartbeat {
        interval: protocol::LOCK_HEARTBEAT_INTERVAL,
        bytes: protocol::LOCK_HEARTBEAT.as_bytes(),
    }
}

/// `child` once it said it holds the lock; closed, and why not, otherwise.
async fn answered(mut child: Child) -> Result<Child, LockError> {
    let line = tokio::time::timeout(ANSWER_WAIT, child.read_line()).await;
    let reply = match &line {
        Ok(Ok(Some(l))) => LockReply::parse(l),
        _ => LockReply::Unexpected,
    };
    match reply {
        LockReply::Locked => Ok(child),
        LockReply::Busy(holder) => {
            child.close().await;
            Err(LockError::Busy { holder })
        }
        LockReply::UnsafeStateDir(why) => {
            child.close().await;
            Err(LockError::UnsafeStateDir { why })
        }
        LockReply::Unexpected => {
            child.close().await;
            let answer = match line {
                Ok(Ok(Some(l))) => format!("it answered {l:?}"),
                Ok(Ok(None)) => "it ended without answering".to_owned(),
                Ok(Err(e)) => format!("reading its answer failed: {e}"),
                Err(_) => format!("no answer within {} s", ANSWER_WAIT.as_secs()),
            };
            Err(LockError::Unanswered { answer })
        }
    }
}

impl Drop for HostLock {
    fn drop(&mut self) {
        let Some(holder) = self.holder.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(holder.close());
        }
        // Else `holder` drops here: its own `Drop` stops the heartbeat and closes stdin.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::local::LocalSession;

    fn lock_is_free(dir: &std::path::Path) -> bool {
        std::process::Command::new("flock")
            .arg("-n")
            .arg(dir.join("lock"))
            .arg("true")
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Polls until the lock in `dir` is free, for up to 10 s.
    async fn freed_within_10s(dir: &std::path::Path) -> bool {
        for _ in 0..100 {
            if lock_is_free(dir) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn take(dir: &std::path::Path) -> Result<HostLock, LockError> {
        let transport = Transport::Local(LocalSession);
        let command = protocol::lock_command_in(&dir.to_string_lossy(), "test", None);
        HostLock::take(&transport, &command, "test", "test-host").await
    }

    #[tokio::test]
    async fn moved_apart_the_lock_waits_for_its_own_first_holder_to_let_go() {
        use crate::host::markers::{BUSY, LOCKED};
        use crate::transport::scripted::{CallKind, Reply, ScriptedHost};
        // `MaxSessions 1`: the first holder (on the shared connection) is let go, but on
        // the host it still holds the lock when the holder on a connection of its own
        // asks: that is this run's own holder, not another run.
        let host = ScriptedHost::new()
            .without_spare_session()
            .once("flock", Reply::ok(format!("{LOCKED}\n")))
            .once("flock", Reply::exit(75, format!("{} this run\n", BUSY), ""))
            .on("flock", Reply::ok(format!("{LOCKED}\n")));
        let transport = Transport::Scripted(host.clone());
        let command = protocol::lock_command_in("/state", "this run", None);
        let lock = HostLock::take(&transport, &command, "this run", "test-host").await;
        assert!(lock.is_ok(), "{:?}", lock.err());
        let kinds: Vec<CallKind> = host.calls().iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                CallKind::Spawn,
                CallKind::Close,
                CallKind::Spawn,
                CallKind::Close,
                CallKind::Spawn
            ]
        );
        // Another run's holder is reported at once.
        let host = ScriptedHost::new()
            .without_spare_session()
            .once("flock", Reply::ok(format!("{LOCKED}\n")))
            .on("flock", Reply::exit(75, format!("{} run 2\n", BUSY), ""));
        let transport = Transport::Scripted(host.clone());
        let busy = HostLock::take(&transport, &command, "this run", "test-host")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            busy.contains("another wsdeploy run holds the lock on this host: run 2;"),
            "{busy}"
        );
    }

    #[tokio::test]
    async fn the_lock_is_freed_by_release_by_drop_and_by_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let lock = take(dir.path()).await.unwrap();
        assert!(!lock_is_free(dir.path()), "the lock is not held");
        let busy = take(dir.path()).await.err().unwrap();
        assert!(
            matches!(&busy, LockError::Busy { holder } if holder.contains("test")),
            "{busy}"
        );
        assert!(
            busy.to_string()
                .starts_with("another wsdeploy run holds the lock on this host: "),
            "{busy}"
        );
        lock.release().await;
        assert!(lock_is_free(dir.path()), "release did not free the lock");

        // An early return: the guard is dropped without `release`.
        let lock = take(dir.path()).await.unwrap();
        drop(lock);
        assert!(freed_within_10s(dir.path()).await, "drop did not free it");

        // A panic while the lock is held, in a task of the runtime.
        let path = dir.path().to_owned();
        let task = tokio::spawn(async move {
            let _lock = take(&path).await.unwrap();
            panic!("a bug while the lock is held");
        });
        assert!(task.await.is_err());
        assert!(freed_within_10s(dir.path()).await, "a panic kept the lock");
    }
}
