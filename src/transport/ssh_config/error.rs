//! Why a host's ssh settings cannot be used: a value written somewhere (an `ssh_config`
//! line, a host's ssh arguments) that wsdeploy or OpenSSH refuses, always named by its
//! [`Location`] (`file:line:column`), or a chain of jump hosts that never ends.

use super::parse::Location;

/// Longest chain of jump hosts (catches `ProxyJump` loops between `Host` blocks).
pub const MAX_HOPS: usize = 8;

/// A host's ssh settings that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshConfigError {
    /// A value written at `at` that cannot be used, and why.
    #[error("{at}: {why}")]
    Refused { at: Location, why: String },
    /// A keyword OpenSSH does not know, with no `IgnoreUnknown` naming it.
    #[error("{at}: {}", unknown_option_what(keyword))]
    UnknownOption { at: Location, keyword: String },
    /// A `Match exec` block that would decide a setting.
    #[error(transparent)]
    MatchExec(Box<ExecRefusal>),
    /// The jump hosts in front of `origin` form a chain longer than `MAX_HOPS`.
    #[error(
        "the jump hosts of {origin} form a chain longer than {MAX_HOPS} hops (a ProxyJump loop in ssh_config?)"
    )]
    JumpLoop { origin: String },
}

/// A `Match exec` block (`text`: the line after `Match`) whose command would decide
/// `decided` (`Keyword value (file:line)` each) for `alias`; `what` says which command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {}", self.what_after_place())]
pub struct ExecRefusal {
    pub at: Location,
    pub text: String,
    pub what: String,
    pub decided: Vec<String>,
    pub alias: String,
}

impl ExecRefusal {
    /// What is refused, without its place.
    #[must_use]
    pub fn what_after_place(&self) -> String {
        format!(
            "`Match {}` would {} to decide, for {}, {}; wsdeploy runs no local command to choose how a host is reached. Decide it for this host instead: in the inventory (for example ansible_ssh_common_args: '-o ProxyJump=NAME' or '-o ProxyJump=none'), or with a `Host` block above this one",
            self.text,
            self.what,
            self.alias,
            self.decided.join(", ")
        )
    }
}

fn unknown_option_what(keyword: &str) -> String {
    format!(
        "`{keyword}` is not an option OpenSSH knows (ssh refuses this file: Bad configuration option); remove it, or put `IgnoreUnknown {keyword}` above it"
    )
}

impl SshConfigError {
    /// Where the refused value was written, when it was written somewhere.
    #[must_use]
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Refused { at, .. } | Self::UnknownOption { at, .. } => Some(at),
            Self::MatchExec(refusal) => Some(&refusal.at),
            Self::JumpLoop { .. } => None,
        }
    }

    /// What is wrong, without its place ([`SshConfigError::location`]).
    #[must_use]
    pub fn what(&self) -> String {
        match self {
            Self::Refused { why, .. } => why.clone(),
            Self::UnknownOption { keyword, .. } => unknown_option_what(keyword),
            Self::MatchExec(refusal) => refusal.what_after_place(),
            Self::JumpLoop { .. } => self.to_string(),
        }
    }

    /// A value written at `at` refused for `why`.
    pub fn refused(at: &Location, why: impl Into<String>) -> Self {
        Self::Refused {
            at: at.clone(),
            why: why.into(),
        }
    }
}
