//! A scripted host in memory, for the library's own tests only (compiled under
//! `cfg(test)`: no inventory, flag or build of the binary can select it).
//!
//! A test says what the host answers: each [`Rule`] matches a command whose command line
//! or stdin contains its pattern, and answers with stdout, stderr and an exit status;
//! rules are tried in the order they were added, and a rule added with [`ScriptedHost::once`]
//! answers once and is then passed over. Every exec, spawn and child close is recorded
//! in order ([`Call`]), so a test can assert the exact sequence of host operations. A
//! command no rule matches is a transport error naming it: the test fails, loudly.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{ExecOutput, Heartbeat, TransportError};

/// What kind of operation the engine asked of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `Transport::exec` (and `exec_within`, `run`).
    Exec,
    /// `Transport::spawn`: a long-running process (the lock holder).
    Spawn,
    /// `Child::close` of a spawned process.
    Close,
    /// `Child::send` to a spawned process (its bytes as the stdin; no command).
    Send,
}

/// One operation, as the host saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub kind: CallKind,
    /// The command line (for `Close`, the spawned process's).
    pub command: String,
    /// What was written to its stdin (empty for `Spawn` and `Close`).
    pub stdin: Vec<u8>,
}

impl Call {
    /// The stdin, lossily decoded.
    #[must_use]
    pub fn stdin_text(&self) -> String {
        String::from_utf8_lossy(&self.stdin).into_owned()
    }
}

/// How the host answers a matching command.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None`: no exit status (as when a connection is lost mid-command).
    pub exit: Option<u32>,
    /// Answer with this transport error instead (the connection failed).
    pub lost: Option<String>,
}

impl Reply {
    /// Exit 0 with `stdout`.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Self::exit(0, stdout, "")
    }

    /// Exit `code` with `stdout` and `stderr`.
    pub fn exit(code: u32, stdout: impl Into<Vec<u8>>, stderr: impl Into<Vec<u8>>) -> Self {
        Self {
            stdout: stdout.into(),
            stderr: stderr.into(),
            exit: Some(code),
            lost: None,
        }
    }

    /// The connection fails with `message` while the command runs.
    pub fn lost(message: &str) -> Self {
        Self {
            lost: Some(message.to_owned()),
            ..Self::default()
        }
    }
}

/// A pattern and the host's answer to commands that contain it.
#[derive(Debug, Clone)]
pub struct Rule {
    pattern: String,
    reply: Reply,
    /// Answers once only.
    once: bool,
    used: bool,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    calls: Vec<Call>,
    /// Like sshd's `MaxSessions 1`: no session beside a spawned process's.
    no_spare_session: bool,
}

/// The scripted host; clones share the rules and the record of calls.
#[derive(Clone, Default)]
pub struct ScriptedHost {
    state: Arc<Mutex<State>>,
}

/// A process started with `spawn`: its stdout lines, read one by one.
pub struct ScriptedChild {
    host: ScriptedHost,
    command: String,
    lines: std::vec::IntoIter<String>,
}

impl ScriptedHost {
    /// A host that answers nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(self, pattern: &str, reply: Reply, once: bool) -> Self {
        self.state().rules.push(Rule {
            pattern: pattern.to_owned(),
            reply,
            once,
            used: false,
        });
        self
    }

    /// Every command containing `pattern` gets `reply` (unless an earlier rule matches).
    #[must_use]
    pub fn on(self, pattern: &str, reply: Reply) -> Self {
        self.add(pattern, reply, false)
    }

    /// The next command containing `pattern` gets `reply`; later ones go on to the next
    /// matching rule.
    #[must_use]
    pub fn once(self, pattern: &str, reply: Reply) -> Self {
        self.add(pattern, reply, true)
    }

    /// A host that allows no session beside a spawned process's (`MaxSessions 1`).
    #[must_use]
    pub fn without_spare_session(self) -> Self {
        self.state().no_spare_session = true;
        self
    }

    /// Whether a session may be opened beside a spawned process's.
    pub(super) fn has_spare_session(&self) -> bool {
        !self.state().no_spare_session
    }

    /// Every operation so far, in order.
    #[must_use]
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Records the call and finds its answer.
    fn answer(&self, kind: CallKind, command: &str, stdin: &[u8]) -> Result<Reply, TransportError> {
        let mut state = self.state();
        state.calls.push(Call {
            kind,
            command: command.to_owned(),
            stdin: stdin.to_vec(),
        });
        let input = String::from_utf8_lossy(stdin);
        let rule = state.rules.iter_mut().find(|r| {
            !(r.once && r.used) && (command.contains(&r.pattern) || input.contains(&r.pattern))
        });
        match rule {
            Some(rule) => {
                rule.used = true;
                Ok(rule.reply.clone())
            }
            None => Err(TransportError::Local(format!(
                "scripted host: no rule answers `{command}` (stdin: {input:?})"
            ))),
        }
    }

    pub(super) fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        let reply = self.answer(CallKind::Exec, command, stdin.unwrap_or_default())?;
        if let Some(message) = reply.lost {
            return Err(TransportError::Local(message));
        }
        Ok(ExecOutput {
            stdout: reply.stdout,
            stderr: reply.stderr,
            exit_status: reply.exit,
            exit_signal: None,
        })
    }

    pub(super) fn spawn(
        &self,
        command: &str,
        _heartbeat: Option<Heartbeat>,
    ) -> Result<ScriptedChild, TransportError> {
        let reply = self.answer(CallKind::Spawn, command, &[])?;
        if let Some(message) = reply.lost {
            return Err(TransportError::Local(message));
        }
        let lines: Vec<String> = String::from_utf8_lossy(&reply.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        Ok(ScriptedChild {
            host: self.clone(),
            command: command.to_owned(),
            lines: lines.into_iter(),
        })
    }
}

impl ScriptedChild {
    pub(super) fn read_line(&mut self) -> Option<String> {
        self.lines.next()
    }

    /// Records `bytes` sent to the process; the answering rule's stdout lines come
    /// next from `read_line`.
    pub(super) fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let reply = self.host.answer(CallKind::Send, "", bytes)?;
        if let Some(message) = reply.lost {
            return Err(TransportError::Local(message));
        }
        let mut lines: Vec<String> = std::mem::take(&mut self.lines).collect();
        lines.extend(
            String::from_utf8_lossy(&reply.stdout)
                .lines()
                .map(str::to_owned),
        );
        self.lines = lines.into_iter();
        Ok(())
    }

    pub(super) fn close(self) {
        self.host.state().calls.push(Call {
            kind: CallKind::Close,
            command: self.command,
            stdin: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    #[tokio::test]
    async fn rules_answer_in_order_once_rules_pass_on_and_every_call_is_recorded() {
        let host = ScriptedHost::new()
            .once("cat", Reply::ok("first\n"))
            .on("cat", Reply::exit(3, "", "later\n"))
            .on("holder", Reply::ok("READY\nmore\n"));
        let t = Transport::Scripted(host.clone());
        let first = t.exec("cat /x", Some(b"in")).await.unwrap();
        assert_eq!(
            (first.stdout.as_slice(), first.code()),
            (&b"first\n"[..], 0)
        );
        let second = t.exec("sh -s", Some(b"cat /y")).await.unwrap();
        assert_eq!((second.code(), second.combined()), (3, "later".to_owned()));
        let unknown = t.exec("rm -rf /", None).await.err().unwrap().to_string();
        assert!(unknown.contains("no rule answers `rm -rf /`"), "{unknown}");
        let mut child = t.spawn("holder", None).await.unwrap();
        assert_eq!(child.read_line().await.unwrap().as_deref(), Some("READY"));
        child.close().await;
        let seen: Vec<(CallKind, String, String)> = host
            .calls()
            .iter()
            .map(|c| (c.kind, c.command.clone(), c.stdin_text()))
            .collect();
        let expected = [
            (CallKind::Exec, "cat /x", "in"),
            (CallKind::Exec, "sh -s", "cat /y"),
            (CallKind::Exec, "rm -rf /", ""),
            (CallKind::Spawn, "holder", ""),
            (CallKind::Close, "holder", ""),
        ]
        .map(|(k, c, s)| (k, c.to_owned(), s.to_owned()));
        assert_eq!(seen, expected);
        assert!(t.open_tcp("127.0.0.1", 80).await.is_err());
    }
}
