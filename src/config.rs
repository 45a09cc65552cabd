//! The project config `wsdeploy.toml` (in the project directory, `-C DIR`): defaults for
//! flags, as `ansible.cfg` holds them for Ansible. A flag on the command line always wins.
//! Unknown keys and wrong types are errors naming `file:line:col`.
//!
//! ```toml
//! inventory = "production"          # -i
//! forks = 20                        # --forks
//! connect_timeout = 15              # --connect-timeout (seconds)
//! known_hosts = "ssh/known_hosts"   # --known-hosts (relative to the project directory)
//! accept_new_host_keys = false      # --accept-new-host-keys
//! vault_password_file = "vault/pw"  # --vault-password-file (relative to the project directory)
//! vault_id = ["prod@vault/prod-pw"] # --vault-id (LABEL@SOURCE; a relative SOURCE file as well)
//! history = "postgres://ops@db/wsdeploy" # --history: a SQLite file or PostgreSQL (default .wsdeploy/history.db)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::location::Location;

/// The file name looked for in the project directory.
pub const FILE_NAME: &str = "wsdeploy.toml";

/// Defaults from `wsdeploy.toml`; every key is optional.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Inventory used when `-i` is not given.
    pub inventory: Option<String>,
    /// Hosts run at the same time.
    pub forks: Option<usize>,
    /// Seconds to wait for a host's SSH connection.
    pub connect_timeout: Option<u64>,
    /// known_hosts file (relative paths are relative to the project directory).
    pub known_hosts: Option<PathBuf>,
    /// Record unknown host keys instead of refusing them.
    pub accept_new_host_keys: Option<bool>,
    /// Vault password file (or script) when no vault option is given.
    pub vault_password_file: Option<PathBuf>,
    /// Vault ids (`LABEL@SOURCE`) when no vault option is given.
    #[serde(default)]
    pub vault_id: Vec<String>,
    /// The run history's database: a SQLite file (relative to the project directory) or a
    /// `postgres://` URL.
    pub history: Option<String>,
}

/// Reads `<project>/wsdeploy.toml`; no file means no defaults.
///
/// Why `wsdeploy.toml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A TOML error, an unknown key or a wrong type, at its place: `file:line:col: message`.
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
}

/// # Errors
/// An unreadable file, a TOML error or an unknown key (at its place).
pub fn load(project: &Path) -> Result<ProjectConfig, ConfigError> {
    let path = project.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ProjectConfig::default());
        }
        Err(source) => {
            return Err(ConfigError::Unreadable {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let mut config = parse(&text).map_err(|(line, col, message)| {
        let file = path
            .strip_prefix("./")
            .unwrap_or(&path)
            .display()
            .to_string();
        ConfigError::Invalid {
            location: Location::at(file, line as u64, col as u64),
            message,
        }
    })?;
    if let Some(k) = &config.known_hosts
        && k.is_relative()
    {
        config.known_hosts = Some(project.join(k));
    }
    if let Some(f) = &config.vault_password_file
        && f.is_relative()
    {
        config.vault_password_file = Some(project.join(f));
    }
    for id in &mut config.vault_id {
        // `LABEL@SOURCE`: a relative file source is the project's; `prompt` stays a prompt.
        if let Some((label, source)) = id.split_once('@')
            && source != "prompt"
            && Path::new(source).is_relative()
        {
            *id = format!("{label}@{}", project.join(source).display());
        }
    }
    Ok(config)
}

/// Parses the text; an error carries its 1-based line and column.
///
/// # Errors
/// A TOML syntax error, an unknown key, a wrong type.
pub fn parse(text: &str) -> Result<ProjectConfig, (usize, usize, String)> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let (line, col) = line_col(text, offset);
        let message = e.message().trim().to_owned();
        let hint = if message.starts_with("unknown field") {
            " (wsdeploy.toml holds defaults for flags; see docs/cli.md, \"wsdeploy.toml\")"
        } else {
            ""
        };
        (line, col, format!("{message}{hint}"))
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let c = parse(
            "inventory = \"production\"\nforks = 20\nconnect_timeout = 15\nknown_hosts = \"ssh/kh\"\naccept_new_host_keys = true\n",
        );
        assert_eq!(
            c,
            Ok(ProjectConfig {
                inventory: Some("production".into()),
                forks: Some(20),
                connect_timeout: Some(15),
                known_hosts: Some(PathBuf::from("ssh/kh")),
                accept_new_host_keys: Some(true),
                vault_password_file: None,
                vault_id: Vec::new(),
                history: None,
            })
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_line_and_column() {
        let (line, col, message) = parse("forks = 5\n  fork = 3\n").unwrap_err();
        assert_eq!((line, col), (2, 3));
        assert!(message.starts_with("unknown field `fork`"), "{message}");
        let (line, col, message) = parse("forks = \"many\"\n").unwrap_err();
        assert_eq!((line, col), (1, 9));
        assert!(message.contains("invalid type"), "{message}");
    }
}
