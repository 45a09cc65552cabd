//! How wsdeploy reaches a host: SSH (`ssh`) or this machine (`local`, for
//! `ansible_connection: local` and pull mode). The engine only sees [`Transport`]. The
//! library's own tests add a third, `scripted` (a host in memory), compiled only under
//! `cfg(test)`.
//!
//! Every command is one string run by a POSIX shell on the host; with `become`, it is
//! wrapped in sudo by `host::runner` (`script_runner`, `wrap_command`, `plan_command`).
//! An SSH target with a become password sends it as the first stdin line of every
//! command.

pub mod home;
pub mod local;
#[cfg(test)]
pub mod scripted;
pub mod secret;
pub mod ssh;
pub mod ssh_config;

use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

/// The most output (stdout and stderr together) one exec may return. A host that sends
/// more (a hostile or broken one) has the exec abandoned and reported as an error, so one
/// host can never grow the controller without bound. The largest legitimate exec is a
/// gather: the plan's files (8 MiB each at most) and `nginx -T` (32 MiB at most).
pub const MAX_EXEC_OUTPUT: usize = 128 * 1024 * 1024;

/// What a finished command produced.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_status: Option<u32>,
    pub exit_signal: Option<String>,
}

impl ExecOutput {
    /// Appends `data` to stdout (`ext` = false) or stderr; false when that would take the
    /// output past [`MAX_EXEC_OUTPUT`] (nothing is appended then).
    pub fn push_capped(&mut self, data: &[u8], ext: bool) -> bool {
        if self.stdout.len() + self.stderr.len() + data.len() > MAX_EXEC_OUTPUT {
            return false;
        }
        if ext {
            self.stderr.extend_from_slice(data);
        } else {
            self.stdout.extend_from_slice(data);
        }
        true
    }

    /// Exit code as a signed number (`-1` when killed by a signal or unknown).
    #[must_use]
    pub fn code(&self) -> i32 {
        self.exit_status
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(-1)
    }

    /// Whether the command exited with status 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }

    /// stdout then stderr, lossily decoded and trimmed, for messages.
    #[must_use]
    pub fn combined(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.stdout).trim_end().to_owned();
        let err = String::from_utf8_lossy(&self.stderr);
        let err = err.trim_end();
        if !err.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(err);
        }
        text
    }

    /// Whether the host's `timeout` stopped the command (exit 124 or 137).
    #[must_use]
    pub fn timed_out(&self) -> bool {
        EXIT_TIMED_OUT.contains(&self.code())
    }

    /// A short description of how the command ended.
    #[must_use]
    pub fn status_text(&self) -> String {
        match (&self.exit_status, &self.exit_signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "no exit status (connection lost?)".to_owned(),
        }
    }
}

/// A transport failure (not a command's non-zero exit).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Ssh(#[from] ssh::SshError),
    #[error("{0}")]
    Local(String),
    /// The host's own bound did not end the command: the channel was dropped.
    #[error(
        "no answer within {0}s, although the host should have stopped the command after {1}s; the connection was dropped"
    )]
    TimedOut(u64, u64),
}

impl TransportError {
    /// Whether the failure happened before any command could run (host key, auth, connect).
    #[must_use]
    pub fn is_connect_failure(&self) -> bool {
        match self {
            Self::Ssh(e) => e.is_connect_failure(),
            Self::Local(_) | Self::TimedOut(..) => false,
        }
    }
}

/// How much longer than a command's host-side bound (and its KILL grace) the controller
/// waits before dropping the channel.
const BACKSTOP_MARGIN: Duration = Duration::from_secs(5);

/// A byte stream to a TCP port as seen from the host.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to one host, reused for the whole run.
#[derive(Clone)]
pub enum Transport {
    Ssh(ssh::SshSession),
    Local(local::LocalSession),
    /// A host scripted in memory, for the library's tests (`scripted`).
    #[cfg(test)]
    Scripted(scripted::ScriptedHost),
}

/// After its bound, a command's process group gets TERM, and KILL this much later.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// Exit statuses of `timeout` when it stopped the command: TERM worked, KILL needed.
pub const EXIT_TIMED_OUT: [i32; 2] = [124, 137];

/// Whole seconds of `bound`, rounded up, at least one.
#[must_use]
pub fn bound_secs(bound: Duration) -> u64 {
    (bound.as_secs() + u64::from(bound.subsec_nanos() > 0)).max(1)
}

/// How often wsdeploy writes [`LOCK_HEARTBEAT`] to the lock holder's stdin while it holds
/// a host's run lock.
///
/// One byte every 10 s costs nothing, and it lets [`LOCK_GIVE_UP`] stay short while
/// still allowing for several heartbeats lost or delayed in a row.
pub const LOCK_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// Silence after which the lock holder on a host gives the run lock up.
///
/// After a network partition the host's sshd keeps the dead session (and its processes)
/// until it notices, which with the default `ClientAliveInterval 0` can take hours; the
/// holder's own deadline bounds how long such a run keeps the lock. 40 s is four
/// heartbeat intervals: a short outage that TCP retransmission rides out (its backoff
/// reaches about 25 s) never costs a live run its lock, and a partitioned run's lock is
/// free again in under a minute.
pub const LOCK_GIVE_UP: Duration = Duration::from_secs(40);
/// The heartbeat; the holder ends on anything else, on EOF and on [`LOCK_GIVE_UP`] of silence.
pub const LOCK_HEARTBEAT: &str = ".";

const _: () = assert!(LOCK_GIVE_UP.as_secs() >= 3 * LOCK_HEARTBEAT_INTERVAL.as_secs());

/// Bytes written to a spawned process's stdin at a fixed interval for as long as its
/// handle lives, so the process can tell a live controller from one that vanished
/// without closing the connection (a network partition).
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// Time between two writes; the first write comes one interval after the start.
    pub interval: Duration,
    /// What each write sends.
    pub bytes: &'static [u8],
}

impl Heartbeat {
    /// A timer ticking every `interval`, first one interval from now; a late tick
    /// (a write that waited) delays the next ones instead of bunching them up.
    pub(crate) fn ticks(self) -> tokio::time::Interval {
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + self.interval, self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    }
}

/// A long-running process on the host (the lock holder).
pub enum Child {
    /// The process, and the connection of its own when it has one (`spawn_apart`).
    Ssh(ssh::RemoteChild, Option<ssh::SshSession>),
    Local(Box<local::LocalChild>),
    #[cfg(test)]
    Scripted(scripted::ScriptedChild),
}

impl Transport {
    /// Runs `command`, feeding `stdin` (then EOF), and collects its output.
    ///
    /// # Errors
    /// The connection or channel failed.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        match self {
            Self::Ssh(s) => Ok(s.exec(command, stdin).await?),
            Self::Local(l) => l.exec(command, stdin).await,
            #[cfg(test)]
            Self::Scripted(h) => h.exec(command, stdin),
        }
    }

    /// Runs `command` (built with a host-side bound of `bound`, see `host::runner`), giving
    /// up on it a few seconds after the host should have stopped it: the backstop for a
    /// host whose `timeout` failed or a connection that went silent.
    ///
    /// # Errors
    /// The connection or channel failed, or no answer came in time.
    pub async fn exec_within(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        bound: Duration,
    ) -> Result<ExecOutput, TransportError> {
        let host_bound = bound_secs(bound);
        let backstop = Duration::from_secs(host_bound) + KILL_GRACE + BACKSTOP_MARGIN;
        match tokio::time::timeout(backstop, self.exec(command, stdin)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::TimedOut(backstop.as_secs(), host_bound)),
        }
    }

    /// Runs `invocation`: its command line with its input on stdin, within its bound.
    ///
    /// # Errors
    /// The connection or channel failed, or no answer came in time.
    pub async fn run(
        &self,
        invocation: &crate::shell::Invocation,
    ) -> Result<ExecOutput, TransportError> {
        self.exec_within(&invocation.line, Some(&invocation.input), invocation.bound)
            .await
    }

    /// Starts a long-running command whose stdin stays open until the child is closed,
    /// receiving `heartbeat` (if any) until then. Over SSH it takes one session of the
    /// host's connection for as long as it lives: see [`Transport::has_spare_session`].
    ///
    /// # Errors
    /// The connection or channel failed.
    pub async fn spawn(
        &self,
        command: &str,
        heartbeat: Option<Heartbeat>,
    ) -> Result<Child, TransportError> {
        match self {
            Self::Ssh(s) => Ok(Child::Ssh(s.spawn(command, heartbeat).await?, None)),
            Self::Local(l) => Ok(Child::Local(Box::new(l.spawn(command, heartbeat)?))),
            #[cfg(test)]
            Self::Scripted(h) => Ok(Child::Scripted(h.spawn(command, heartbeat)?)),
        }
    }

    /// [`Transport::spawn`] on a connection of the child's own (a second SSH connection
    /// to the host, closed with the child), for a host whose sshd allows no further
    /// session beside the child's (`MaxSessions 1`). The same as `spawn` elsewhere.
    ///
    /// # Errors
    /// The second connection, or its channel, failed.
    pub async fn spawn_apart(
        &self,
        command: &str,
        heartbeat: Option<Heartbeat>,
    ) -> Result<Child, TransportError> {
        match self {
            Self::Ssh(s) => {
                let own = s.sibling().await?;
                let child = own.spawn(command, heartbeat).await?;
                Ok(Child::Ssh(child, Some(own)))
            }
            _ => self.spawn(command, heartbeat).await,
        }
    }

    /// Whether the host still lets this connection run a command beside the sessions it
    /// holds (a long-lived child's): sshd's `MaxSessions` counts per connection. Always
    /// true but over SSH; over SSH, a session opened and closed at once (no command).
    ///
    /// # Errors
    /// The connection is gone.
    pub async fn has_spare_session(&self) -> Result<bool, TransportError> {
        match self {
            Self::Ssh(s) => Ok(s.has_spare_session().await?),
            Self::Local(_) => Ok(true),
            #[cfg(test)]
            Self::Scripted(h) => Ok(h.has_spare_session()),
        }
    }

    /// Opens a TCP stream to `host:port` from the host's point of view.
    ///
    /// # Errors
    /// The port is closed or the tunnel could not be opened.
    pub async fn open_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Pin<Box<dyn Stream>>, TransportError> {
        match self {
            Self::Ssh(s) => Ok(Box::pin(s.open_tcp(host, port).await?)),
            Self::Local(l) => Ok(Box::pin(l.open_tcp(host, port).await?)),
            #[cfg(test)]
            Self::Scripted(_) => Err(TransportError::Local(format!(
                "scripted host: no network ({host}:{port})"
            ))),
        }
    }

    /// Closes the connection.
    pub async fn close(&self) {
        if let Self::Ssh(s) = self {
            s.close().await;
        }
    }
}

impl Child {
    /// Next line of the child's stdout, `None` at end of output.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn read_line(&mut self) -> Result<Option<String>, TransportError> {
        match self {
            Self::Ssh(c, _) => Ok(c.read_line().await?),
            Self::Local(c) => c.read_line().await,
            #[cfg(test)]
            Self::Scripted(c) => Ok(c.read_line()),
        }
    }

    /// Writes `bytes` to the child's stdin in one piece: a heartbeat is written before
    /// or after them, never inside.
    ///
    /// # Errors
    /// The connection or the process's stdin failed.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        match self {
            Self::Ssh(c, _) => Ok(c.send(bytes).await?),
            Self::Local(c) => c.send(bytes).await,
            #[cfg(test)]
            Self::Scripted(c) => c.send(bytes),
        }
    }

    /// Ends the child: stops the heartbeat and closes its stdin so it exits (and frees
    /// what it holds). Dropping the child does the same without waiting.
    pub async fn close(self) {
        match self {
            Self::Ssh(c, own) => {
                c.close().await;
                if let Some(session) = own {
                    session.close().await;
                }
            }
            Self::Local(c) => c.close().await,
            #[cfg(test)]
            Self::Scripted(c) => c.close(),
        }
    }
}
