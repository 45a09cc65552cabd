//! SSH transport: one authenticated connection per host, reused for every command,
//! long-lived process and TCP tunnel of a run.
//!
//! This module (with its children under `ssh/`) is the only place that names the SSH
//! crate. The connection is checked against `known_hosts` before anything is sent,
//! kept alive with keepalives, and shared by at most `max_channels` concurrent session
//! channels (OpenSSH's `MaxSessions` defaults to 10); a channel the server still
//! refuses is retried for a bounded time instead of failing the run.

mod agent_unavailable;
mod auth;
mod error;
mod handshake_gate;
mod host_key;
mod known_hosts;
mod known_hosts_store;
mod remote_child;
mod silence;

use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::{Channel, ChannelMsg, Preferred, Sig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// What a finished command produced (shared by every transport).
pub use super::{ExecOutput, Heartbeat};
pub use auth::PASSPHRASE_ENV;
pub use error::{SshError, SshErrorKind};
pub use handshake_gate::{HANDSHAKES_PER_CORE, HandshakeGate, handshake_limit};
pub use remote_child::RemoteChild;

use super::Stream;
use super::secret::Secret;

use host_key::{DisconnectNote, HostKeyVerifier, Verdict};
use silence::ServerSilence;

/// Interval between keepalives when the server is silent.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(8);
/// Unanswered keepalives after which the connection counts as dead.
const KEEPALIVE_MAX: usize = 3;

// A partitioned run must notice it (and stop) before the host gives its run lock up, so
// no run goes on writing after another one could have taken the lock.
const _: () = assert!(
    KEEPALIVE_INTERVAL.as_secs() * (KEEPALIVE_MAX as u64 + 1) < super::LOCK_GIVE_UP.as_secs()
);
/// Backstop: a connection with no traffic either way for this long is dropped. Answered
/// keepalives count as traffic, so a dead peer is normally caught by `KEEPALIVE_MAX`.
const INACTIVITY_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Attempts to open a session channel that the server refuses (`MaxSessions`).
const CHANNEL_OPEN_ATTEMPTS: u32 = 40;
const CHANNEL_RETRY_FIRST_DELAY: Duration = Duration::from_millis(20);
const CHANNEL_RETRY_MAX_DELAY: Duration = Duration::from_millis(250);
/// Attempts of [`SshSession::has_spare_session`]: about 0.3 s of refusals in all.
const SPARE_SESSION_ATTEMPTS: u32 = 5;
/// A connection's setup (handshake and authentication) may take this many connect
/// timeouts in all, however promptly the server answers each message: the bound for a
/// server that trickles its answers.
const SETUP_TIMEOUTS: u32 = 6;
/// ... and at least this long, for a short connect timeout on a busy controller.
const SETUP_MIN: Duration = Duration::from_secs(60);

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private key files, tried in order before the agent. If empty: the agent
    /// (`SSH_AUTH_SOCK`), then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    pub key_files: Vec<PathBuf>,
    pub known_hosts: PathBuf,
    /// Record the key of a host missing from `known_hosts` instead of refusing it.
    /// A changed key is refused regardless.
    pub accept_new_host_keys: bool,
    /// Limit for name resolution and TCP connect together, then for each of the
    /// server's answers during the SSH handshake and authentication (the server's
    /// silence, not the controller's delay: see `ssh/silence.rs`). The clock starts when
    /// the handshake passes the [`HandshakeGate`].
    pub connect_timeout: Duration,
    /// Concurrent session channels on the connection (sshd's `MaxSessions`).
    pub max_channels: usize,
    /// Jump hosts, in connection order: the first is reached directly, each next one
    /// (and finally this host) through a direct-tcpip channel of the one before.
    pub jumps: Vec<SshTarget>,
    /// `IdentitiesOnly`: offer only `key_files` (and their certificates), not every
    /// key of the agent.
    pub identities_only: bool,
    /// Password for `password` authentication, tried after keys.
    pub password: Option<Secret>,
    /// The become (sudo) password: sent, with a newline, before the input of every
    /// command and spawned process, where `host::runner`'s sudo runners read it.
    pub become_password: Option<Secret>,
    /// Where the ssh-agent is asked (`IdentityAgent`).
    pub identity_agent: IdentityAgent,
    /// The name the host key is looked up and recorded under (`HostKeyAlias`), instead
    /// of `host` and `port`.
    pub host_key_alias: Option<String>,
    /// Which addresses of `host` are tried (`AddressFamily`).
    pub address_family: AddressFamily,
}

/// The ssh-agent a target uses (`IdentityAgent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityAgent {
    /// `SSH_AUTH_SOCK` (the default).
    Environment,
    /// `IdentityAgent none`: no agent.
    Disabled,
    /// A socket path (or the one an environment variable named).
    Socket(PathBuf),
}

/// `AddressFamily`: which resolved addresses are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    Any,
    Inet,
    Inet6,
}

impl AddressFamily {
    /// Whether `address` belongs to this family.
    #[must_use]
    pub fn admits(self, address: &std::net::SocketAddr) -> bool {
        match self {
            AddressFamily::Any => true,
            AddressFamily::Inet => address.is_ipv4(),
            AddressFamily::Inet6 => address.is_ipv6(),
        }
    }
}

impl SshTarget {
    /// A target with the usual defaults: port 22, no explicit key files,
    /// `~/.ssh/known_hosts`, strict host keys, 10 s timeout, 10 channels.
    pub fn new(host: impl Into<String>, user: impl Into<String>) -> SshTarget {
        SshTarget {
            host: host.into(),
            port: 22,
            user: user.into(),
            key_files: Vec::new(),
            known_hosts: super::home::default_known_hosts(),
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            max_channels: 10,
            jumps: Vec::new(),
            identities_only: false,
            password: None,
            become_password: None,
            identity_agent: IdentityAgent::Environment,
            host_key_alias: None,
            address_family: AddressFamily::Any,
        }
    }

    /// The name and port the host key is checked under: `HostKeyAlias` (port 22, as
    /// OpenSSH records it without a port) or the host's own.
    #[must_use]
    pub fn host_key_name(&self) -> (&str, u16) {
        match &self.host_key_alias {
            Some(alias) => (alias.as_str(), 22),
            None => (self.host.as_str(), self.port),
        }
    }

    /// `user@host:port`, and the jump hosts when there are some.
    #[must_use]
    pub fn label(&self) -> String {
        let mut label = format!("{}@{}", self.user, self.address());
        if !self.jumps.is_empty() {
            let hops: Vec<String> = self.jumps.iter().map(SshTarget::address).collect();
            label.push_str(&format!(" (via {})", hops.join(" → ")));
        }
        label
    }

    /// `host:port`, with brackets around IPv6 literals.
    fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A shared handle on one SSH connection; clones use the same connection.
#[derive(Clone)]
pub struct SshSession {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    handle: Handle<HostKeyVerifier>,
    channels: Arc<Semaphore>,
    /// `user@host:port`, for messages.
    label: String,
    disconnect_note: DisconnectNote,
    /// How this session was opened, to open a sibling connection.
    target: SshTarget,
    /// The jump host this connection runs through (kept open as long as this one).
    via: Option<SshSession>,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("target", &self.inner.label)
            .field("closed", &self.inner.handle.is_closed())
            .finish_non_exhaustive()
    }
}

impl SshSession {
    /// Connects, verifies the host key and authenticates.
    ///
    /// # Errors
    /// Resolution, TCP, timeout and handshake failures ([`SshErrorKind::Connect`]),
    /// an unknown or changed host key, unreadable `known_hosts`, or no accepted
    /// credential ([`SshErrorKind::Auth`]).
    pub async fn connect(target: &SshTarget) -> Result<SshSession, SshError> {
        Self::connect_through(target, HandshakeGate::process()).await
    }

    /// [`SshSession::connect`], waiting for a slot of `gate` first: the connect
    /// timeout starts once the slot is taken.
    ///
    /// # Errors
    /// As [`SshSession::connect`].
    pub async fn connect_through(
        target: &SshTarget,
        gate: &HandshakeGate,
    ) -> Result<SshSession, SshError> {
        let _slot = gate.enter().await;
        // sshd drops connections beyond `MaxStartups` during the handshake: retry those
        // (bounded), never authentication or host-key failures.
        // Retries stay within the connect timeout.
        // A server that accepted the TCP connection and then stayed silent for the whole
        // connect timeout gets one more attempt: the host is up, and its sshd was not
        // scheduled in time (a host under load), which a fresh connection usually outlives.
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        let mut silent_before = false;
        loop {
            match Self::connect_once(target).await {
                Err(error)
                    if dropped_during_handshake(&error)
                        && started.elapsed() + delay < target.connect_timeout =>
                {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(error) if went_silent_during_handshake(&error) => {
                    if silent_before {
                        return Err(note_silent_twice(error));
                    }
                    silent_before = true;
                }
                Err(error)
                    if dropped_during_handshake(&error)
                        && started.elapsed() > Duration::from_millis(500) =>
                {
                    return Err(note_retries(error, started.elapsed()));
                }
                other => return other,
            }
        }
    }

    async fn connect_once(target: &SshTarget) -> Result<SshSession, SshError> {
        let mut via: Option<SshSession> = None;
        for hop in &target.jumps {
            let session =
                Self::connect_hop(hop, via.take())
                    .await
                    .map_err(|source| match source {
                        error @ (SshError::Hop { .. } | SshError::JumpTunnel { .. }) => error,
                        error => SshError::Hop {
                            hop: format!("{}@{}", hop.user, hop.address()),
                            source: Box::new(error),
                        },
                    })?;
            via = Some(session);
        }
        Self::connect_hop(target, via).await
    }

    /// Connects to `target` directly, or through `via` (a direct-tcpip channel).
    async fn connect_hop(
        target: &SshTarget,
        via: Option<SshSession>,
    ) -> Result<SshSession, SshError> {
        let address = target.address();
        let label = target.label();
        let deadline = Instant::now() + target.connect_timeout;

        let known = known_hosts_store::known(&target.known_hosts)?;
        let config = Arc::new(client_config(&known, target));
        drop(known);
        let (stream, probe): (Box<dyn Stream>, _) = match &via {
            None => {
                let stream = open_tcp_stream(target, &address, deadline).await?;
                let probe = socket_probe(&stream);
                (Box::new(stream), probe)
            }
            Some(jump) => (
                Box::new(jump.tunnel_to_next_hop(target, deadline).await?),
                None,
            ),
        };
        let silence = ServerSilence::new(target.connect_timeout, probe);
        let stream = silence.watch(stream);
        let setup_limit = setup_limit(target);
        let setup = Self::handshake_and_authenticate(config, stream, target, &address, &label);
        let (handle, disconnect_note) = tokio::select! {
            biased;
            done = tokio::time::timeout(setup_limit, setup) => match done {
                Ok(result) => result?,
                Err(_) => return Err(SshError::Timeout {
                    address,
                    stage: "SSH handshake, answered too slowly in all",
                    after: setup_limit,
                }),
            },
            () = silence.outlasted() => return Err(SshError::Timeout {
                address,
                stage: SILENT_HANDSHAKE,
                after: target.connect_timeout,
            }),
        };

        Ok(SshSession {
            inner: Arc::new(SessionInner {
                handle,
                channels: Arc::new(Semaphore::new(target.max_channels.max(1))),
                label,
                disconnect_note,
                target: target.clone(),
                via,
            }),
        })
    }

    /// The SSH handshake over `stream`, then authentication.
    async fn handshake_and_authenticate(
        config: Arc<client::Config>,
        stream: impl Stream + 'static,
        target: &SshTarget,
        address: &str,
        label: &str,
    ) -> Result<(Handle<HostKeyVerifier>, DisconnectNote), SshError> {
        let verdict: Verdict = Arc::default();
        let disconnect_note: DisconnectNote = Arc::default();
        let (key_host, key_port) = target.host_key_name();
        let verifier = HostKeyVerifier {
            host: key_host.to_owned(),
            port: key_port,
            known_hosts: target.known_hosts.clone(),
            accept_new: target.accept_new_host_keys,
            verdict: Arc::clone(&verdict),
            disconnect_note: Arc::clone(&disconnect_note),
        };
        let mut handle = match client::connect_stream(config, stream, verifier).await {
            Err(error) => {
                let explained = verdict
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                return Err(explained.unwrap_or_else(|| SshError::Handshake {
                    address: address.to_owned(),
                    detail: host_key::describe_russh_error(&error),
                }));
            }
            Ok(handle) => handle,
        };
        auth::authenticate(&mut handle, target, label).await?;
        Ok((handle, disconnect_note))
    }

    /// A direct-tcpip channel from this (jump) host to the next hop's SSH port.
    async fn tunnel_to_next_hop(
        &self,
        next: &SshTarget,
        deadline: Instant,
    ) -> Result<impl AsyncRead + AsyncWrite + Unpin + Send + use<>, SshError> {
        let open = self.inner.handle.channel_open_direct_tcpip(
            next.host.clone(),
            u32::from(next.port),
            "127.0.0.1",
            0,
        );
        let failed = |detail: String| SshError::JumpTunnel {
            via: self.inner.label.clone(),
            destination: next.address(),
            detail,
        };
        match tokio::time::timeout_at(deadline, open).await {
            Err(_) => Err(SshError::Timeout {
                address: next.address(),
                stage: "opening the tunnel through the jump host",
                after: next.connect_timeout,
            }),
            Ok(Ok(channel)) => Ok(channel.into_stream()),
            Ok(Err(russh::Error::ChannelOpenFailure(reason))) => Err(failed(match reason {
                russh::ChannelOpenFailure::ConnectFailed => {
                    "the jump host could not connect there (wrong address or port, host down, or a firewall)".to_owned()
                }
                russh::ChannelOpenFailure::AdministrativelyProhibited => {
                    "the jump host's sshd forbids forwarding (AllowTcpForwarding / PermitOpen)"
                        .to_owned()
                }
                other => format!("the jump host refused ({other:?})"),
            })),
            Ok(Err(_)) => Err(self.lost_connection()),
        }
    }

    /// A second connection to the same host (same target, keys and host-key checks), for
    /// a long-lived process where this connection has no session to spare beside it
    /// (sshd's `MaxSessions` counts per connection; see [`SshSession::has_spare_session`]).
    /// It goes through the [`HandshakeGate`] and its setup is timed by the server's
    /// silence, as a first connection is.
    ///
    /// # Errors
    /// As [`SshSession::connect`].
    pub async fn sibling(&self) -> Result<SshSession, SshError> {
        // Behind jump hosts, the sibling rides the same (open) chain: one more channel
        // instead of a second set of bastion logins.
        if let Some(via) = self.inner.via.as_ref().filter(|via| !via.is_closed()) {
            let slot = HandshakeGate::process().enter().await;
            if let Ok(session) = Self::connect_hop(&self.inner.target, Some(via.clone())).await {
                return Ok(session);
            }
            drop(slot);
        }
        Self::connect(&self.inner.target).await
    }

    /// Runs `command`, sends `stdin` (if any) followed by EOF, and collects
    /// everything until the server closes the channel. A non-zero exit status is
    /// not an error: it is in the output.
    ///
    /// # Errors
    /// The connection is gone, or sshd refuses the channel or the command.
    pub async fn exec(&self, command: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, SshError> {
        let _permit = self.acquire_channel_permit().await?;
        let channel = self.open_session_channel().await?;
        let (mut reader, writer) = channel.split();
        writer
            .exec(true, command)
            .await
            .map_err(|_| self.lost_connection())?;

        let send_input = async {
            if let Some(password) = &self.inner.target.become_password {
                writer.data(&password_line(password)[..]).await?;
            }
            if let Some(data) = stdin {
                writer.data(data).await?;
            }
            writer.eof().await
        };
        let collect = async {
            let mut output = ExecOutput::default();
            let mut refused = false;
            let mut overflow = false;
            while let Some(message) = reader.wait().await {
                match message {
                    ChannelMsg::Data { data } => overflow = !output.push_capped(&data, false),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        overflow = !output.push_capped(&data, true);
                    }
                    ChannelMsg::ExitStatus { exit_status } => {
                        output.exit_status = Some(exit_status);
                    }
                    ChannelMsg::ExitSignal {
                        signal_name: signal,
                        ..
                    } => {
                        output.exit_signal = Some(signal_name(&signal));
                    }
                    ChannelMsg::Failure => refused = true,
                    _ => {}
                }
                if overflow {
                    break;
                }
            }
            (output, refused, overflow)
        };
        // The command may finish without reading its input; the output decides.
        tokio::pin!(send_input);
        tokio::pin!(collect);
        let mut sending = true;
        let (output, refused, overflow) = loop {
            tokio::select! {
                _ = &mut send_input, if sending => sending = false,
                collected = &mut collect => break collected,
            }
        };

        if refused {
            return Err(SshError::ExecRefused {
                target: self.inner.label.clone(),
            });
        }
        if overflow {
            // Dropping the channel closes it; the host's side sees its output pipe close.
            return Err(SshError::OutputTooLarge {
                target: self.inner.label.clone(),
                limit: super::MAX_EXEC_OUTPUT,
            });
        }
        if output.exit_status.is_none()
            && output.exit_signal.is_none()
            && self.inner.handle.is_closed()
        {
            return Err(self.lost_connection());
        }
        Ok(output)
    }

    /// Starts a long-lived remote process, writing `heartbeat` (if any) to its stdin
    /// until the handle is closed or dropped; see [`RemoteChild`].
    ///
    /// # Errors
    /// The connection is gone, or sshd refuses the channel.
    pub async fn spawn(
        &self,
        command: &str,
        heartbeat: Option<Heartbeat>,
    ) -> Result<RemoteChild, SshError> {
        let permit = self.acquire_channel_permit().await?;
        let channel = self.open_session_channel().await?;
        let (reader, writer) = channel.split();
        writer
            .exec(true, command)
            .await
            .map_err(|_| self.lost_connection())?;
        if let Some(password) = &self.inner.target.become_password {
            writer
                .data(&password_line(password)[..])
                .await
                .map_err(|_| self.lost_connection())?;
        }
        Ok(RemoteChild::start(
            self.clone(),
            reader,
            writer,
            permit,
            heartbeat,
        ))
    }

    /// Opens a TCP connection from the host to `host`:`port` (direct-tcpip).
    ///
    /// Read the stream steadily: data left unread holds up the whole SSH connection.
    ///
    /// # Errors
    /// The host cannot connect there, sshd forbids forwarding, or the connection is gone.
    pub async fn open_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> Result<impl AsyncRead + AsyncWrite + Unpin + Send + use<>, SshError> {
        let destination = format!("{host}:{port}");
        match self
            .inner
            .handle
            .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0)
            .await
        {
            Ok(channel) => Ok(channel.into_stream()),
            Err(russh::Error::ChannelOpenFailure(reason)) => Err(SshError::Tunnel {
                target: self.inner.label.clone(),
                destination,
                detail: match reason {
                    russh::ChannelOpenFailure::ConnectFailed => {
                        "the host could not connect there (is anything listening?)".to_owned()
                    }
                    russh::ChannelOpenFailure::AdministrativelyProhibited => {
                        "sshd forbids it (AllowTcpForwarding / PermitOpen)".to_owned()
                    }
                    other => format!("sshd refused it ({other:?})"),
                },
            }),
            Err(_) => Err(self.lost_connection()),
        }
    }

    /// Ends the connection; further calls fail with a "connection lost" error.
    pub async fn close(&self) {
        self.inner.channels.close();
        let _ = self
            .inner
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }

    /// `user@host:port` of this connection.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Whether the connection has ended.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.handle.is_closed()
    }

    async fn acquire_channel_permit(&self) -> Result<OwnedSemaphorePermit, SshError> {
        Arc::clone(&self.inner.channels)
            .acquire_owned()
            .await
            .map_err(|_| self.lost_connection())
    }

    /// Opens a session channel, retrying while the server refuses it (sshd frees a
    /// session slot only after its side of a previous channel is fully closed).
    async fn open_session_channel(&self) -> Result<Channel<Msg>, SshError> {
        self.open_session_within(CHANNEL_OPEN_ATTEMPTS)
            .await?
            .map_err(|(reason, attempts)| SshError::ChannelOpen {
                target: self.inner.label.clone(),
                detail: format!(
                    "sshd kept refusing new sessions ({reason:?}) after {attempts} attempts: lower the channel limit below sshd's MaxSessions"
                ),
            })
    }

    /// A session channel, trying `attempts` times with a growing pause while the server
    /// refuses it; the inner `Err` is the last refusal's reason and the attempts made.
    ///
    /// # Errors
    /// The connection is gone.
    async fn open_session_within(
        &self,
        attempts: u32,
    ) -> Result<Result<Channel<Msg>, (russh::ChannelOpenFailure, u32)>, SshError> {
        let mut delay = CHANNEL_RETRY_FIRST_DELAY;
        let mut attempt = 1;
        loop {
            match self.inner.handle.channel_open_session().await {
                Ok(channel) => return Ok(Ok(channel)),
                Err(russh::Error::ChannelOpenFailure(reason)) => {
                    if attempt >= attempts {
                        return Ok(Err((reason, attempt)));
                    }
                }
                Err(_) => return Err(self.lost_connection()),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(CHANNEL_RETRY_MAX_DELAY);
            attempt += 1;
        }
    }

    /// Whether sshd opens one more session on this connection (`MaxSessions`): a session
    /// channel opened and closed at once, no command run. A refusal is retried for a
    /// moment (sshd frees the slot of a channel just closed a little later); a
    /// connection whose channel limit is taken counts as having none to spare.
    ///
    /// # Errors
    /// The connection is gone.
    pub async fn has_spare_session(&self) -> Result<bool, SshError> {
        let _permit = match Arc::clone(&self.inner.channels).try_acquire_owned() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::NoPermits) => return Ok(false),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(self.lost_connection()),
        };
        match self.open_session_within(SPARE_SESSION_ATTEMPTS).await? {
            Ok(channel) => {
                let _ = channel.close().await;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    fn lost_connection(&self) -> SshError {
        let reason = self
            .inner
            .disconnect_note
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| {
                if self.inner.channels.is_closed() {
                    "the session was closed".to_owned()
                } else {
                    "the connection closed".to_owned()
                }
            });
        SshError::Disconnected {
            target: self.inner.label.clone(),
            reason,
        }
    }
}

/// The failure itself, under the jump hosts it happened behind.
fn innermost(error: &SshError) -> &SshError {
    match error {
        SshError::Hop { source, .. } => innermost(source),
        other => other,
    }
}

/// `error` with its innermost failure (under the jump hosts) replaced by `change` of it.
fn with_innermost(error: SshError, change: impl FnOnce(SshError) -> SshError) -> SshError {
    match error {
        SshError::Hop { hop, source } => SshError::Hop {
            hop,
            source: Box::new(with_innermost(*source, change)),
        },
        other => change(other),
    }
}

/// Whether the server (or a jump host on the way) dropped the connection before it was
/// established, as sshd does beyond `MaxStartups`: worth retrying.
fn dropped_during_handshake(error: &SshError) -> bool {
    matches!(
        innermost(error),
        SshError::Handshake { .. } | SshError::Disconnected { .. }
    )
}

/// Whether the server accepted the connection and then said nothing for the whole connect
/// timeout (directly, or a jump host on the way): worth one more attempt.
fn went_silent_during_handshake(error: &SshError) -> bool {
    matches!(innermost(error), SshError::Timeout { stage, .. } if *stage == SILENT_HANDSHAKE)
}

/// The stage of a handshake the server never answered.
const SILENT_HANDSHAKE: &str = "SSH handshake";

/// Says that a silent handshake was a second attempt.
fn note_silent_twice(error: SshError) -> SshError {
    with_innermost(error, |inner| match inner {
        SshError::Timeout { address, after, .. } => SshError::Timeout {
            address,
            stage: "SSH handshake, twice",
            after,
        },
        other => other,
    })
}

/// Adds how long a handshake was retried to its failure.
fn note_retries(error: SshError, elapsed: Duration) -> SshError {
    with_innermost(error, |inner| match inner {
        SshError::Handshake { address, detail } => SshError::Handshake {
            address,
            detail: format!(
                "{detail} (retried for {:.1}s: is sshd throttling new connections? see MaxStartups in sshd_config)",
                elapsed.as_secs_f64()
            ),
        },
        other => other,
    })
}

/// Client configuration: keepalives, an inactivity limit, and host key algorithms
/// already recorded for this host offered first (as OpenSSH does), so the server
/// presents a key that `known_hosts` can vouch for.
fn client_config(recorded: &known_hosts::KnownHosts, target: &SshTarget) -> client::Config {
    let mut preferred = Preferred::default();
    let (key_host, key_port) = target.host_key_name();
    let known = known_hosts::known_algorithms(recorded, key_host, key_port);
    if !known.is_empty() {
        let mut order: Vec<_> = preferred
            .key
            .iter()
            .filter(|algorithm| known.iter().any(|k| same_key_type(k, algorithm)))
            .cloned()
            .collect();
        let rest: Vec<_> = preferred
            .key
            .iter()
            .filter(|algorithm| !order.contains(algorithm))
            .cloned()
            .collect();
        order.extend(rest);
        preferred.key = order.into();
    }
    // With a CA for this host, ask for a host certificate first (as OpenSSH does).
    if !known_hosts::cert_authorities(recorded, key_host, key_port).is_empty() {
        preferred.host_key_certificates = preferred.key.clone();
    }
    client::Config {
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: KEEPALIVE_MAX,
        inactivity_timeout: Some(INACTIVITY_TIMEOUT),
        nodelay: true,
        preferred,
        ..client::Config::default()
    }
}

/// Whether a recorded key type and a negotiable host key algorithm are the same kind
/// of key (all RSA signature variants use an `ssh-rsa` key).
fn same_key_type(recorded: &russh::keys::Algorithm, offered: &russh::keys::Algorithm) -> bool {
    recorded == offered
        || (matches!(recorded, russh::keys::Algorithm::Rsa { .. })
            && matches!(offered, russh::keys::Algorithm::Rsa { .. }))
}

/// The bound on a connection's whole setup (see [`SETUP_TIMEOUTS`]); each of the
/// server's answers is bounded by the connect timeout.
fn setup_limit(target: &SshTarget) -> Duration {
    (target.connect_timeout * SETUP_TIMEOUTS).max(SETUP_MIN)
}

/// A second descriptor on `stream`'s socket, for [`ServerSilence`] to peek at.
fn socket_probe(stream: &TcpStream) -> Option<std::net::TcpStream> {
    use std::os::fd::AsFd;
    let duplicate = stream.as_fd().try_clone_to_owned().ok()?;
    Some(std::net::TcpStream::from(duplicate))
}

async fn open_tcp_stream(
    target: &SshTarget,
    address: &str,
    deadline: Instant,
) -> Result<TcpStream, SshError> {
    let timed_out = |stage| SshError::Timeout {
        address: address.to_owned(),
        stage,
        after: target.connect_timeout,
    };
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let candidates: Vec<_> = match tokio::time::timeout_at(deadline, lookup).await {
        Err(_) => return Err(timed_out("resolving the host name")),
        Ok(Err(source)) => {
            return Err(SshError::Resolve {
                host: target.host.clone(),
                port: target.port,
                source,
            });
        }
        Ok(Ok(addresses)) => addresses
            .filter(|address| target.address_family.admits(address))
            .collect(),
    };
    let mut last_error = None;
    for candidate in candidates {
        match tokio::time::timeout_at(deadline, TcpStream::connect(candidate)).await {
            Err(_) => return Err(timed_out("TCP connect")),
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last_error = Some(error),
        }
    }
    Err(match last_error {
        Some(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => SshError::Refused {
            address: address.to_owned(),
        },
        Some(source) => SshError::Connect {
            address: address.to_owned(),
            source,
        },
        None => SshError::Resolve {
            host: target.host.clone(),
            port: target.port,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                match target.address_family {
                    AddressFamily::Any => "no address found",
                    AddressFamily::Inet => "no IPv4 address found (AddressFamily inet)",
                    AddressFamily::Inet6 => "no IPv6 address found (AddressFamily inet6)",
                },
            ),
        },
    })
}

/// `password` and a newline, wiped when dropped.
fn password_line(password: &Secret) -> zeroize::Zeroizing<Vec<u8>> {
    let mut line = zeroize::Zeroizing::new(Vec::with_capacity(password.expose().len() + 1));
    line.extend_from_slice(password.expose().as_bytes());
    line.push(b'\n');
    line
}

/// The conventional name of a signal, without the `SIG` prefix.
fn signal_name(signal: &Sig) -> String {
    match signal {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name.as_str(),
    }
    .to_owned()
}
