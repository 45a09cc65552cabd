//! Typed connection settings of a host, read from its merged variables
//! (`ansible_host`, `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`,
//! `ansible_connection`, `ansible_ssh_common_args`, `ansible_ssh_extra_args`,
//! `ansible_password`, `ansible_become`, `ansible_become_user`, `ansible_become_method`,
//! `ansible_become_password`), and which `ansible_*` variables wsdeploy acts on.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::error::InventoryError;
use super::model::Host;
use crate::transport::secret::Secret;

/// The `ansible_*` variables wsdeploy acts on; any other one is reported as ignored.
pub const HONOURED_VARIABLES: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_connection",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become",
    "ansible_become_user",
    "ansible_become_method",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
];

/// The default SSH port.
pub const DEFAULT_SSH_PORT: u16 = 22;
/// The user `become` switches to when `ansible_become_user` is not set.
pub const DEFAULT_BECOME_USER: &str = "root";

/// How wsdeploy reaches a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// Over SSH (`ansible_connection: ssh`, also `paramiko` and `smart`; the default).
    Ssh,
    /// On this machine (`ansible_connection: local`).
    Local,
}

/// How privileges are raised when `become` is on. Only sudo is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BecomeMethod {
    #[default]
    Sudo,
}

/// Everything needed to open a session on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Address to connect to: `ansible_host`, or the inventory name.
    pub host: String,
    /// `ansible_port`, default 22.
    pub port: u16,
    /// Whether `ansible_port` was set (otherwise `ssh_config`'s `Port` may apply).
    pub port_given: bool,
    /// `ansible_user`; `None` means the SSH default.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file` (or `ansible_private_key_file`), as written.
    pub private_key_file: Option<PathBuf>,
    pub kind: ConnectionKind,
    /// `ansible_become`.
    pub become_: bool,
    /// The user to become: `ansible_become_user` (default `root`) when `become_` is on,
    /// `None` otherwise.
    pub become_user: Option<String>,
    pub become_method: BecomeMethod,
    /// `ansible_ssh_common_args` then `ansible_ssh_extra_args`: (variable, value).
    pub ssh_args: Vec<(String, String)>,
    /// `ansible_password` (or `ansible_ssh_pass`, `ansible_ssh_password`).
    pub password: Option<Secret>,
    /// `ansible_become_password` (or `ansible_become_pass`, `ansible_sudo_pass`).
    pub become_password: Option<Secret>,
}

impl Host {
    /// The host's connection settings, checked: a wrong type or an unsupported connection
    /// or become method is an error naming the host and the variable.
    pub fn connection(&self) -> Result<Connection, InventoryError> {
        connection_from_vars(self.name(), self.vars())
    }
}

/// [`Host::connection`] on any variables map (for instance after applying extra vars).
pub fn connection_from_vars(
    host_name: &str,
    vars: &Map<String, Value>,
) -> Result<Connection, InventoryError> {
    let reader = VarReader {
        host: host_name,
        vars,
    };
    let host = reader
        .string(&["ansible_host", "ansible_ssh_host"])?
        .unwrap_or_else(|| host_name.to_owned());
    let given_port = reader.port(&["ansible_port", "ansible_ssh_port"])?;
    let port = given_port.unwrap_or(DEFAULT_SSH_PORT);
    let user = reader.string(&["ansible_user", "ansible_ssh_user"])?;
    let private_key_file = reader
        .string(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?
        .map(PathBuf::from);
    let kind = match reader.string(&["ansible_connection"])?.as_deref() {
        None | Some("ssh" | "paramiko" | "smart") => ConnectionKind::Ssh,
        Some("local") => ConnectionKind::Local,
        Some(other) => {
            return Err(InventoryError::UnsupportedConnection {
                host: host_name.to_owned(),
                value: other.to_owned(),
            });
        }
    };
    let become_ = reader.boolean(&["ansible_become"])?.unwrap_or(false);
    let become_user = if become_ {
        Some(
            reader
                .string(&["ansible_become_user"])?
                .unwrap_or_else(|| DEFAULT_BECOME_USER.to_owned()),
        )
    } else {
        None
    };
    let become_method = match reader.string(&["ansible_become_method"])?.as_deref() {
        None | Some("sudo") => BecomeMethod::Sudo,
        Some(other) => {
            return Err(InventoryError::UnsupportedBecomeMethod {
                host: host_name.to_owned(),
                value: other.to_owned(),
            });
        }
    };
    let mut ssh_args = Vec::new();
    for name in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(value) = reader.optional_string(name)? {
            ssh_args.push((name.to_owned(), value));
        }
    }
    let password = reader
        .string(&[
            "ansible_password",
            "ansible_ssh_pass",
            "ansible_ssh_password",
        ])?
        .map(Secret::new);
    let become_password = reader
        .string(&[
            "ansible_become_password",
            "ansible_become_pass",
            "ansible_sudo_pass",
        ])?
        .map(Secret::new);
    Ok(Connection {
        host,
        port,
        port_given: given_port.is_some(),
        user,
        private_key_file,
        kind,
        become_,
        become_user,
        become_method,
        ssh_args,
        password,
        become_password,
    })
}

/// Reads typed values from a host's variables; the first name present wins.
struct VarReader<'a> {
    host: &'a str,
    vars: &'a Map<String, Value>,
}

impl VarReader<'_> {
    fn first<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &Value)> {
        names.iter().find_map(|name| {
            self.vars
                .get(*name)
                .filter(|value| !value.is_null())
                .map(|value| (*name, value))
        })
    }

    fn error(&self, var: &str, expected: &str, value: &Value) -> InventoryError {
        InventoryError::HostVar {
            host: self.host.to_owned(),
            var: var.to_owned(),
            expected: expected.to_owned(),
            got: describe(value),
        }
    }

    /// A string; numbers are accepted and written out (`ansible_user: 1001`).
    fn string(&self, names: &[&str]) -> Result<Option<String>, InventoryError> {
        match self.first(names) {
            None => Ok(None),
            Some((_, Value::String(text))) if !text.trim().is_empty() => Ok(Some(text.clone())),
            Some((_, Value::Number(number))) => Ok(Some(number.to_string())),
            Some((name, value)) => Err(self.error(name, "must be a non-empty string", value)),
        }
    }

    /// A string that may be empty (ssh arguments); `None` when unset or blank.
    fn optional_string(&self, name: &str) -> Result<Option<String>, InventoryError> {
        match self.first(&[name]) {
            None => Ok(None),
            Some((_, Value::String(text))) if text.trim().is_empty() => Ok(None),
            Some((_, Value::String(text))) => Ok(Some(text.clone())),
            Some((name, value)) => Err(self.error(name, "must be a string", value)),
        }
    }

    /// A port number, as an integer or a string of digits.
    fn port(&self, names: &[&str]) -> Result<Option<u16>, InventoryError> {
        let Some((name, value)) = self.first(names) else {
            return Ok(None);
        };
        let port = match value {
            Value::Number(number) => number.as_u64().and_then(|port| u16::try_from(port).ok()),
            Value::String(text) => text.trim().parse::<u16>().ok(),
            _ => None,
        };
        match port {
            Some(port) if port > 0 => Ok(Some(port)),
            _ => Err(self.error(name, "must be a port number 1-65535", value)),
        }
    }

    /// A boolean as Ansible reads one: true/false, yes/no, on/off, 1/0, y/n, t/f.
    fn boolean(&self, names: &[&str]) -> Result<Option<bool>, InventoryError> {
        let Some((name, value)) = self.first(names) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Bool(flag) => Some(*flag),
            Value::Number(number) => match number.as_f64() {
                Some(1.0) => Some(true),
                Some(0.0) => Some(false),
                _ => None,
            },
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" | "y" | "t" => Some(true),
                "false" | "no" | "off" | "0" | "n" | "f" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| self.error(name, "must be a boolean (true/false, yes/no)", value))
    }
}

/// A value as it would appear in YAML, for messages.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("\"{text}\""),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
        other => other.to_string(),
    }
}
