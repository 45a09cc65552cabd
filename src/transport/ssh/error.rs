//! Errors of the SSH transport, each a single line a person can act on, with a
//! coarse [`SshErrorKind`] for mapping to exit codes.

use std::path::PathBuf;
use std::time::Duration;

/// Coarse classification of an [`SshError`], stable enough to map to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SshErrorKind {
    /// The server's host key is not in `known_hosts`.
    HostKeyUnknown,
    /// The server's host key differs from the recorded one (or is revoked).
    HostKeyChanged,
    /// No credential was accepted.
    Auth,
    /// Name resolution, TCP, handshake or a dropped connection.
    Connect,
    /// The server refused or failed a channel (command, tunnel).
    Channel,
    /// Local I/O (`known_hosts` file and the like).
    Io,
}

/// Everything that can go wrong talking to a host over SSH.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot resolve host name {host} (port {port}): {source}: check ansible_host")]
    Resolve {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },

    #[error("connection to {address} refused: is sshd running there and is ansible_port right?")]
    Refused { address: String },

    #[error(
        "timed out after {} connecting to {address} ({stage}): is the host up and the port reachable?",
        humanize(*after)
    )]
    Timeout {
        address: String,
        stage: &'static str,
        after: Duration,
    },

    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },

    #[error("SSH handshake with {address} failed: {detail}")]
    Handshake { address: String, detail: String },

    #[error(
        "host key for {host} is not in {} ({key}): verify it, then add it with ssh-keyscan or rerun with --accept-new-host-keys{note}",
        known_hosts.display()
    )]
    HostKeyUnknown {
        host: String,
        known_hosts: PathBuf,
        key: String,
        note: String,
    },

    #[error(
        "host key for {host} has CHANGED: {} line {line} has {known} but the server presented {presented}; this can be an attack or a reinstalled host: verify the new key, then remove the stale line (ssh-keygen -R '{host}' -f {})",
        known_hosts.display(),
        known_hosts.display()
    )]
    HostKeyChanged {
        host: String,
        known_hosts: PathBuf,
        line: usize,
        known: String,
        presented: String,
    },

    #[error(
        "host key for {host} ({presented}) is marked @revoked in {} line {line}: refusing to connect",
        known_hosts.display()
    )]
    HostKeyRevoked {
        host: String,
        known_hosts: PathBuf,
        line: usize,
        presented: String,
    },

    #[error(
        "host certificate of {host} refused: {detail} (known_hosts: {})",
        known_hosts.display()
    )]
    HostCertificate {
        host: String,
        known_hosts: PathBuf,
        detail: String,
    },

    #[error("cannot {action} known_hosts file {}: {source}", path.display())]
    KnownHosts {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "authentication failed for {target} (tried: {tried}): check ansible_user / ansible_ssh_private_key_file"
    )]
    Auth { target: String, tried: String },

    #[error("connection to {target} lost: {reason}")]
    Disconnected { target: String, reason: String },

    #[error("{target}: cannot open an SSH channel: {detail}")]
    ChannelOpen { target: String, detail: String },

    #[error("{target}: sshd refused to run the command (exec request denied)")]
    ExecRefused { target: String },

    #[error(
        "{target}: a command sent more than {} MiB of output; it was stopped and nothing more is read from it (a broken or hostile host?)",
        limit / (1024 * 1024)
    )]
    OutputTooLarge { target: String, limit: usize },

    #[error("{target}: cannot open a tunnel to {destination}: {detail}")]
    Tunnel {
        target: String,
        destination: String,
        detail: String,
    },

    #[error("jump host {hop}: {source}")]
    Hop {
        hop: String,
        #[source]
        source: Box<SshError>,
    },

    #[error("cannot reach {destination} through jump host {via}: {detail}")]
    JumpTunnel {
        via: String,
        destination: String,
        detail: String,
    },
}

impl SshError {
    /// The coarse class of this error.
    #[must_use]
    pub fn kind(&self) -> SshErrorKind {
        match self {
            Self::Resolve { .. }
            | Self::Refused { .. }
            | Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::Handshake { .. }
            | Self::Disconnected { .. }
            | Self::JumpTunnel { .. } => SshErrorKind::Connect,
            Self::Hop { source, .. } => source.kind(),
            Self::HostKeyUnknown { .. } => SshErrorKind::HostKeyUnknown,
            Self::HostKeyChanged { .. }
            | Self::HostKeyRevoked { .. }
            | Self::HostCertificate { .. } => SshErrorKind::HostKeyChanged,
            Self::Auth { .. } => SshErrorKind::Auth,
            Self::ChannelOpen { .. }
            | Self::ExecRefused { .. }
            | Self::OutputTooLarge { .. }
            | Self::Tunnel { .. } => SshErrorKind::Channel,
            Self::KnownHosts { .. } => SshErrorKind::Io,
        }
    }

    /// Whether the failure happened before any command could run (name resolution,
    /// TCP, handshake, host key, `known_hosts`, authentication), as opposed to a
    /// connection or channel failing later.
    #[must_use]
    pub fn is_connect_failure(&self) -> bool {
        !matches!(
            self,
            Self::Disconnected { .. }
                | Self::ChannelOpen { .. }
                | Self::ExecRefused { .. }
                | Self::OutputTooLarge { .. }
                | Self::Tunnel { .. }
        )
    }
}

fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_are_those_before_any_command_ran() {
        let refused = SshError::Refused {
            address: "10.0.0.5:22".to_owned(),
        };
        assert!(refused.is_connect_failure());
        assert_eq!(refused.kind(), SshErrorKind::Connect);
        let auth = SshError::Auth {
            target: "deploy@10.0.0.5:22".to_owned(),
            tried: "key /root/.ssh/id_ed25519, ssh-agent".to_owned(),
        };
        assert!(auth.is_connect_failure());
        assert_eq!(
            auth.to_string(),
            "authentication failed for deploy@10.0.0.5:22 (tried: key /root/.ssh/id_ed25519, ssh-agent): check ansible_user / ansible_ssh_private_key_file"
        );
        let lost = SshError::Disconnected {
            target: "deploy@10.0.0.5:22".to_owned(),
            reason: "the connection closed".to_owned(),
        };
        assert!(!lost.is_connect_failure());
        assert_eq!(lost.kind(), SshErrorKind::Connect);
        let timeout = SshError::Timeout {
            address: "10.0.0.5:22".to_owned(),
            stage: "TCP connect",
            after: Duration::from_secs(10),
        };
        assert_eq!(
            timeout.to_string(),
            "timed out after 10s connecting to 10.0.0.5:22 (TCP connect): is the host up and the port reachable?"
        );
    }
}
