//! Errors raised while reading an inventory, selecting hosts or parsing `-e` arguments.

use std::path::PathBuf;

use crate::location::Location;

/// The accepted spellings of `-e`, quoted in every extra-vars error.
pub const EXTRA_VARS_FORMS: &str = "accepted forms: -e key=value (several pairs separated by spaces), \
-e '{\"key\": \"value\"}' (a JSON object), -e @vars.yml or -e @vars.json (a file holding a mapping)";

/// Everything that can go wrong in the inventory module.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Invalid YAML, or YAML whose structure is not what the inventory format expects.
    ///
    /// `snippet` is either empty or starts with a newline and shows the offending line.
    #[error("{location}: {message}{snippet}")]
    Yaml {
        location: Location,
        message: String,
        snippet: String,
    },

    /// An INI inventory line that Ansible's INI format does not allow.
    ///
    /// `snippet` is either empty or starts with a newline and shows the offending line.
    #[error("{location}: {message}{snippet}")]
    Ini {
        location: Location,
        message: String,
        snippet: String,
    },

    /// An executable inventory script that failed or printed something other than
    /// Ansible's inventory JSON.
    #[error("inventory script {script}: {message}")]
    Script { script: String, message: String },

    /// A vault-encrypted value or file that cannot be decrypted: the file, or the
    /// value's line and column and its `variable`.
    #[error("{location}: {}", vault_what(variable.as_deref(), message))]
    Vault {
        location: Location,
        variable: Option<String>,
        message: String,
    },

    /// The inventory file does not exist.
    #[error("inventory not found: {path}{origin}{available}", origin = from_arg_suffix(from_arg.as_deref()), available = available_suffix(available))]
    NotFound {
        path: String,
        from_arg: Option<String>,
        available: Vec<String>,
    },

    /// A file or directory exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A group graph that Ansible rejects as well (a group that contains itself).
    #[error("{file}: {}", group_cycle_what(group, cycle))]
    GroupCycle {
        file: String,
        group: String,
        cycle: String,
    },

    /// A host variable holds a value of the wrong type.
    #[error("host `{host}`: {}", host_var_what(var, expected, got))]
    HostVar {
        host: String,
        var: String,
        expected: String,
        got: String,
    },

    /// `ansible_connection` names a connection plugin wsdeploy does not provide.
    #[error("host `{host}`: {}", connection_what(value))]
    UnsupportedConnection { host: String, value: String },

    /// `ansible_become_method` names something other than sudo.
    #[error("host `{host}`: {}", become_method_what(value))]
    UnsupportedBecomeMethod { host: String, value: String },

    /// A `--limit` term matched no host at all.
    #[error("no hosts matched --limit '{limit}'{term}; known groups: {groups}", term = unmatched_term_suffix(limit, term), groups = groups.join(", "))]
    LimitMatchedNothing {
        limit: String,
        term: String,
        groups: Vec<String>,
    },

    /// A host pattern that cannot be parsed (for instance an invalid `~regex`).
    #[error("invalid host pattern '{pattern}': {problem}")]
    Pattern { pattern: String, problem: String },

    /// A `-e` argument in none of the accepted forms.
    #[error("invalid -e '{arg}': {problem}; {forms}", forms = EXTRA_VARS_FORMS)]
    ExtraVars { arg: String, problem: String },
}

impl InventoryError {
    /// The host the error is about, when it is about one host's variables.
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        match self {
            Self::HostVar { host, .. }
            | Self::UnsupportedConnection { host, .. }
            | Self::UnsupportedBecomeMethod { host, .. } => Some(host),
            _ => None,
        }
    }

    /// Where the error is, when it is in a file.
    #[must_use]
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Yaml { location, .. }
            | Self::Ini { location, .. }
            | Self::Vault { location, .. } => Some(location.clone()),
            Self::GroupCycle { file, .. } => Some(Location::file(file.clone())),
            _ => None,
        }
    }

    /// What is wrong, without the host ([`InventoryError::host`]) and the place
    /// ([`InventoryError::location`]) the text starts with.
    #[must_use]
    pub fn what(&self) -> String {
        match self {
            Self::Yaml {
                message, snippet, ..
            }
            | Self::Ini {
                message, snippet, ..
            } => format!("{message}{snippet}"),
            Self::Vault {
                variable, message, ..
            } => vault_what(variable.as_deref(), message),
            Self::GroupCycle { group, cycle, .. } => group_cycle_what(group, cycle),
            Self::HostVar {
                var, expected, got, ..
            } => host_var_what(var, expected, got),
            Self::UnsupportedConnection { value, .. } => connection_what(value),
            Self::UnsupportedBecomeMethod { value, .. } => become_method_what(value),
            other => other.to_string(),
        }
    }
}

fn vault_what(variable: Option<&str>, message: &str) -> String {
    match variable {
        Some(name) => format!("variable `{name}`: {message}"),
        None => message.to_owned(),
    }
}

fn group_cycle_what(group: &str, cycle: &str) -> String {
    format!(
        "group `{group}` is its own ancestor ({cycle}); remove one of these `children:` entries"
    )
}

fn host_var_what(var: &str, expected: &str, got: &str) -> String {
    format!("variable `{var}` {expected} (got {got})")
}

fn connection_what(value: &str) -> String {
    format!(
        "ansible_connection `{value}` is not supported; use `ssh` (also spelled `paramiko` or `smart`) or `local`"
    )
}

fn become_method_what(value: &str) -> String {
    format!(
        "ansible_become_method `{value}` is not supported; only `sudo` is{}",
        become_method_hint(value)
    )
}

fn from_arg_suffix(from_arg: Option<&str>) -> String {
    from_arg.map_or_else(String::new, |arg| format!(" (from -i {arg})"))
}

fn available_suffix(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!("; available: {}", available.join(", "))
    }
}

fn unmatched_term_suffix(limit: &str, term: &str) -> String {
    if limit == term {
        String::new()
    } else {
        format!(" (nothing matches '{term}')")
    }
}

/// Why `su` in particular is refused.
fn become_method_hint(value: &str) -> &'static str {
    if value == "su" {
        " (su reads its password from a terminal, never from stdin; give the user a sudo rule instead, with or without NOPASSWD: wsdeploy passes the become password to `sudo -S` on stdin)"
    } else {
        ""
    }
}
