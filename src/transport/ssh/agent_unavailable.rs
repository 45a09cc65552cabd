//! Why no ssh-agent could be asked: none is configured (`IdentityAgent none`, no
//! `SSH_AUTH_SOCK`), which is usual and said only when the agent was the last resort, or
//! the configured one cannot be reached, which is always said.

use std::path::PathBuf;

/// Why the agent `IdentityAgent` names could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum AgentUnavailable {
    /// `IdentityAgent none`.
    #[error("no ssh-agent (IdentityAgent none)")]
    Disabled,
    /// The default agent, and `SSH_AUTH_SOCK` is unset or empty.
    #[error("no ssh-agent (SSH_AUTH_SOCK is not set)")]
    NotSet,
    /// `SSH_AUTH_SOCK` names a socket that does not answer.
    #[error("ssh-agent (unreachable: {0})")]
    Unreachable(String),
    /// `IdentityAgent PATH` names a socket that does not answer.
    #[error("ssh-agent at {} (IdentityAgent; unreachable: {error})", path.display())]
    SocketUnreachable { path: PathBuf, error: String },
}

impl AgentUnavailable {
    /// No agent is configured at all (rather than one that fails).
    #[must_use]
    pub fn none_configured(&self) -> bool {
        matches!(self, Self::Disabled | Self::NotSet)
    }
}
