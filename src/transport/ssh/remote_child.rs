//! A long-lived remote process on its own channel: stdout read line by line, stderr
//! collected, an optional heartbeat written to its stdin, and closing (or dropping) the
//! handle stops the heartbeat, sends EOF and closes the channel so a process that
//! watches its stdin (such as the lock holder) ends.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::task::JoinHandle;

use super::Heartbeat;
use super::SshSession;
use super::error::SshError;
use super::signal_name;

/// Stderr kept per remote process; older output is dropped past this size.
const STDERR_LIMIT: usize = 1 << 20;
/// How long `close` waits for the server to confirm the channel is gone.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// What is known about the remote process so far.
#[derive(Debug, Default)]
struct ChildState {
    stderr: Vec<u8>,
    exit_status: Option<u32>,
    exit_signal: Option<String>,
    exec_refused: bool,
}

/// A remote process started by [`SshSession::spawn`].
pub struct RemoteChild {
    session: SshSession,
    lines: mpsc::UnboundedReceiver<String>,
    state: Arc<Mutex<ChildState>>,
    /// Shared with the heartbeat task, which must be stopped before EOF is sent.
    writer: Option<Arc<ChannelWriteHalf<Msg>>>,
    /// Held around each write (a heartbeat, a message): one piece at a time.
    writing: Arc<tokio::sync::Mutex<()>>,
    pump: Option<JoinHandle<()>>,
    heartbeat: Option<JoinHandle<()>>,
}

impl RemoteChild {
    pub(super) fn start(
        session: SshSession,
        reader: ChannelReadHalf,
        writer: ChannelWriteHalf<Msg>,
        permit: OwnedSemaphorePermit,
        heartbeat: Option<Heartbeat>,
    ) -> RemoteChild {
        let (line_sender, lines) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(ChildState::default()));
        let pump = tokio::spawn(pump(reader, line_sender, Arc::clone(&state), permit));
        let writer = Arc::new(writer);
        let writing = Arc::new(tokio::sync::Mutex::new(()));
        let heartbeat = heartbeat.map(|beat| {
            tokio::spawn(send_heartbeat(
                Arc::clone(&writer),
                Arc::clone(&writing),
                beat,
            ))
        });
        RemoteChild {
            session,
            lines,
            state,
            writer: Some(writer),
            writing,
            pump: Some(pump),
            heartbeat,
        }
    }

    /// The next line of stdout without its line ending; `Ok(None)` once the process
    /// has ended and every line was read.
    ///
    /// # Errors
    /// sshd refused to run the command, or the connection was lost before the
    /// process reported how it ended.
    pub async fn read_line(&mut self) -> Result<Option<String>, SshError> {
        if let Some(line) = self.lines.recv().await {
            return Ok(Some(line));
        }
        let (refused, ended) = {
            let state = self.lock_state();
            (
                state.exec_refused,
                state.exit_status.is_some() || state.exit_signal.is_some(),
            )
        };
        if refused {
            return Err(SshError::ExecRefused {
                target: self.session.inner.label.clone(),
            });
        }
        if !ended && self.session.inner.handle.is_closed() {
            return Err(self.session.lost_connection());
        }
        Ok(None)
    }

    /// Writes `bytes` to the process's stdin, never inside a heartbeat.
    ///
    /// # Errors
    /// The channel or the connection is gone.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), SshError> {
        let _writing = self.writing.lock().await;
        let sent = match &self.writer {
            Some(writer) => writer.data_bytes(bytes.to_vec()).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.session.lost_connection())
        }
    }

    /// Everything the process wrote to stderr so far (lossy UTF-8).
    #[must_use]
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.lock_state().stderr).into_owned()
    }

    /// The exit status, once the process has ended normally.
    #[must_use]
    pub fn exit_status(&self) -> Option<u32> {
        self.lock_state().exit_status
    }

    /// The signal name (such as `TERM`), once the process was killed by one.
    #[must_use]
    pub fn exit_signal(&self) -> Option<String> {
        self.lock_state().exit_signal.clone()
    }

    /// Stops the heartbeat, sends EOF, closes the channel and waits (briefly) until the
    /// server confirms.
    pub async fn close(mut self) {
        // No heartbeat may follow the EOF: the task is gone once this returns.
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
            let _ = heartbeat.await;
        }
        // EOF alone lets the process end and the channel finish (exit status, close):
        // sending close at once would leave nothing to wait for but the timeout.
        let writer = self.writer.take();
        if let Some(writer) = &writer {
            let _ = writer.eof().await;
        }
        let finished = match self.pump.as_mut() {
            Some(pump) => tokio::time::timeout(CLOSE_WAIT, pump).await.is_ok(),
            None => true,
        };
        if !finished && let Some(writer) = &writer {
            let _ = writer.close().await;
        }
        self.pump = None;
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, ChildState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RemoteChild {
    fn drop(&mut self) {
        let heartbeat = self.heartbeat.take();
        if let Some(heartbeat) = &heartbeat {
            heartbeat.abort();
        }
        let Some(writer) = self.writer.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(heartbeat) = heartbeat {
                    let _ = heartbeat.await;
                }
                let _ = writer.eof().await;
                let _ = writer.close().await;
            });
        }
        // Without a runtime the connection is going away with it, which ends the
        // remote process just the same.
    }
}

impl std::fmt::Debug for RemoteChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteChild")
            .field("target", &self.session.inner.label)
            .field("state", &*self.lock_state())
            .finish_non_exhaustive()
    }
}

/// Writes the heartbeat until the task is aborted. A write waits while the channel's
/// window is full; a failed one (channel or connection gone) ends the task quietly.
async fn send_heartbeat(
    writer: Arc<ChannelWriteHalf<Msg>>,
    writing: Arc<tokio::sync::Mutex<()>>,
    heartbeat: Heartbeat,
) {
    let mut ticks = heartbeat.ticks();
    loop {
        ticks.tick().await;
        let _writing = writing.lock().await;
        if writer.data_bytes(heartbeat.bytes).await.is_err() {
            return;
        }
    }
}

/// Drains the channel for as long as it lives, so an unread process never stalls the
/// connection, and keeps the channel permit until the server has closed the channel.
async fn pump(
    mut reader: ChannelReadHalf,
    lines: mpsc::UnboundedSender<String>,
    state: Arc<Mutex<ChildState>>,
    permit: OwnedSemaphorePermit,
) {
    let mut pending: Vec<u8> = Vec::new();
    while let Some(message) = reader.wait().await {
        match message {
            ChannelMsg::Data { data } => {
                pending.extend_from_slice(&data);
                while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let _ = lines.send(line_text(&line));
                }
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.stderr.extend_from_slice(&data);
                let excess = state.stderr.len().saturating_sub(STDERR_LIMIT);
                state.stderr.drain(..excess);
            }
            ChannelMsg::ExitStatus { exit_status } => {
                state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .exit_status = Some(exit_status);
            }
            ChannelMsg::ExitSignal {
                signal_name: signal,
                ..
            } => {
                state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .exit_signal = Some(signal_name(&signal));
            }
            ChannelMsg::Failure => {
                state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .exec_refused = true;
            }
            _ => {}
        }
    }
    if !pending.is_empty() {
        let _ = lines.send(line_text(&pending));
    }
    drop(permit);
}

fn line_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}
