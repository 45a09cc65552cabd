//! The local transport: runs commands on this machine with `sh -c`, for
//! `ansible_connection: local` and for pull mode.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child as TokioChild, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use std::sync::Arc;

use super::{ExecOutput, Heartbeat, TransportError};

/// This machine, as a host.
#[derive(Clone, Default)]
pub struct LocalSession;

/// A long-running local process. Closing or dropping it stops its heartbeat and closes
/// its stdin.
pub struct LocalChild {
    child: TokioChild,
    lines: BufReader<ChildStdout>,
    /// Sends the heartbeat while it runs.
    heartbeat: Option<JoinHandle<()>>,
    /// The process's stdin, shared with the heartbeat task: one writer at a time.
    stdin: Arc<Mutex<Option<ChildStdin>>>,
}

fn spawn_error(command: &str, e: &std::io::Error) -> TransportError {
    TransportError::Local(format!("cannot run `sh -c {command}` locally: {e}"))
}

impl LocalSession {
    pub(super) async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C at the terminal reaches wsdeploy only,
            // which lets a change in progress finish (`interrupt`).
            .process_group(0)
            .spawn()
            .map_err(|e| spawn_error(command, &e))?;
        if let Some(mut input) = child.stdin.take() {
            if let Some(data) = stdin {
                // A command that does not read its stdin closes the pipe early: not an error.
                let _ = input.write_all(data).await;
            }
            drop(input);
        }
        let mut output = ExecOutput::default();
        if !collect_capped(&mut child, &mut output).await {
            // Killing the shell closes its end; whatever it started sees its pipe close.
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(TransportError::Local(format!(
                "`{command}` sent more than {} MiB of output; it was stopped",
                super::MAX_EXEC_OUTPUT / (1024 * 1024)
            )));
        }
        let status = child.wait().await.map_err(|e| spawn_error(command, &e))?;
        output.exit_status = status.code().and_then(|c| u32::try_from(c).ok());
        output.exit_signal = {
            use std::os::unix::process::ExitStatusExt;
            status.signal().map(|s| s.to_string())
        };
        Ok(output)
    }

    pub(super) fn spawn(
        &self,
        command: &str,
        heartbeat: Option<Heartbeat>,
    ) -> Result<LocalChild, TransportError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C at the terminal reaches wsdeploy only,
            // which lets a change in progress finish (`interrupt`).
            .process_group(0)
            .spawn()
            .map_err(|e| spawn_error(command, &e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TransportError::Local("child has no stdout".to_owned()))?;
        let stdin = Arc::new(Mutex::new(child.stdin.take()));
        let heartbeat =
            heartbeat.map(|beat| tokio::spawn(send_heartbeat(Arc::clone(&stdin), beat)));
        Ok(LocalChild {
            child,
            lines: BufReader::new(stdout),
            heartbeat,
            stdin,
        })
    }

    pub(super) async fn open_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> Result<TcpStream, TransportError> {
        TcpStream::connect((host, port))
            .await
            .map_err(|e| TransportError::Local(format!("cannot connect to {host}:{port}: {e}")))
    }
}

impl LocalChild {
    pub(super) async fn read_line(&mut self) -> Result<Option<String>, TransportError> {
        let mut line = String::new();
        let n = self
            .lines
            .read_line(&mut line)
            .await
            .map_err(|e| TransportError::Local(format!("reading from local process: {e}")))?;
        Ok((n > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned()))
    }

    pub(super) async fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let mut stdin = self.stdin.lock().await;
        let result = match stdin.as_mut() {
            Some(stdin) => stdin.write_all(bytes).await,
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        result.map_err(|e| TransportError::Local(format!("writing to local process: {e}")))
    }

    pub(super) async fn close(mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
            // The task is gone once this returns: no heartbeat after the EOF.
            let _ = heartbeat.await;
        }
        drop(self.stdin.lock().await.take());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

impl Drop for LocalChild {
    fn drop(&mut self) {
        // The stdin goes with the last of the task and this handle; the process is killed
        // (`kill_on_drop`).
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }
}

/// Writes the heartbeat until the task is aborted; a failed write (the process closed
/// its stdin or ended) ends the task quietly.
async fn send_heartbeat(stdin: Arc<Mutex<Option<ChildStdin>>>, heartbeat: Heartbeat) {
    let mut ticks = heartbeat.ticks();
    loop {
        ticks.tick().await;
        let mut stdin = stdin.lock().await;
        let Some(stdin) = stdin.as_mut() else {
            return;
        };
        if stdin.write_all(heartbeat.bytes).await.is_err() {
            return;
        }
    }
}

/// Reads the child's stdout and stderr until both close, into `output`; false as soon as
/// they would pass [`super::MAX_EXEC_OUTPUT`] together (the child is then still running).
async fn collect_capped(child: &mut TokioChild, output: &mut ExecOutput) -> bool {
    use tokio::io::AsyncReadExt;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out_buf = vec![0u8; 64 * 1024];
    let mut err_buf = vec![0u8; 64 * 1024];
    while stdout.is_some() || stderr.is_some() {
        let (read, ext) = tokio::select! {
            r = async {
                match stdout.as_mut() {
                    Some(s) => s.read(&mut out_buf).await,
                    None => std::future::pending().await,
                }
            } => (r, false),
            r = async {
                match stderr.as_mut() {
                    Some(s) => s.read(&mut err_buf).await,
                    None => std::future::pending().await,
                }
            } => (r, true),
        };
        match read {
            Ok(0) | Err(_) => {
                if ext {
                    stderr = None;
                } else {
                    stdout = None;
                }
            }
            Ok(n) => {
                let data = if ext { &err_buf[..n] } else { &out_buf[..n] };
                if !output.push_capped(data, ext) {
                    return false;
                }
            }
        }
    }
    true
}
