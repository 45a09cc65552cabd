//! How each host is reached, decided before any connection: its inventory connection
//! settings, its `ansible_ssh_common_args`/`ansible_ssh_extra_args` and the OpenSSH
//! client config become one [`SshTarget`] (jump hosts included); passwords come from
//! the inventory, a prompt (`-k`, `-K`) or the environment, never from argv. Settings
//! wsdeploy ignores are collected into one warning each per run.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::host::Become;
use crate::inventory::{Connection, DEFAULT_BECOME_USER, HONOURED_VARIABLES};
use crate::transport::secret::Secret;
use crate::transport::ssh::SshTarget;
use crate::transport::ssh_config::{
    Item, Location, RouteDefaults, RouteRequest, SshConfig, SshConfigError, parse_ssh_args,
    resolve_route,
};

/// Why a host cannot be reached as its variables, its ssh arguments or ssh_config say:
/// the host (when the text names it first), where the refused value was written, and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachError {
    pub host: Option<String>,
    pub location: Option<Location>,
    pub what: String,
}

impl ReachError {
    /// A refused ssh argument or ssh_config value, at its place.
    fn refused(host: Option<&str>, error: &SshConfigError) -> Self {
        Self {
            host: host.map(str::to_owned),
            location: error.location().cloned(),
            what: error.what(),
        }
    }

    /// Something wrong with how host `host` is to be reached, written nowhere in a file.
    fn of_host(host: &str, what: &str) -> Self {
        Self {
            host: Some(host.to_owned()),
            location: None,
            what: what.to_owned(),
        }
    }
}

/// `host `HOST`: LOCATION: WHAT`, each of the first two when known.
impl std::fmt::Display for ReachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(host) = &self.host {
            write!(f, "host `{host}`: ")?;
        }
        if let Some(at) = &self.location {
            write!(f, "{at}: ")?;
        }
        f.write_str(&self.what)
    }
}

/// Environment variable with the SSH login password (instead of `-k`).
pub const PASSWORD_ENV: &str = "WSDEPLOY_SSH_PASSWORD";
/// Environment variable with the become (sudo) password (instead of `-K`).
pub const BECOME_PASSWORD_ENV: &str = "WSDEPLOY_BECOME_PASSWORD";

/// The password environment variables' values, taken out of the environment.
static TAKEN_PASSWORDS: std::sync::OnceLock<Vec<(&'static str, Secret)>> =
    std::sync::OnceLock::new();

/// Moves [`PASSWORD_ENV`] and [`BECOME_PASSWORD_ENV`] from the process environment into
/// memory ([`password_from`] reads them there), so no child process (an inventory or
/// vault password script, a local command) inherits a password.
///
/// # Safety
/// Changes the process environment: call it while the process has one thread (first
/// thing in `main`, before the async runtime starts).
pub unsafe fn take_password_environment() {
    let mut taken = Vec::new();
    for name in [PASSWORD_ENV, BECOME_PASSWORD_ENV] {
        if let Some(value) = std::env::var_os(name) {
            taken.push((name, Secret::new(value.to_string_lossy().into_owned())));
            // SAFETY: the caller guarantees that no other thread reads the environment.
            unsafe { std::env::remove_var(name) };
        }
    }
    let _ = TAKEN_PASSWORDS.set(taken);
}

/// Run-wide settings for reaching hosts.
#[derive(Debug, Clone)]
pub struct Reach {
    pub config: SshConfig,
    pub defaults: RouteDefaults,
    /// From `-k` or [`PASSWORD_ENV`]; `ansible_password` wins over it.
    pub password: Option<Secret>,
    /// From `-K` or [`BECOME_PASSWORD_ENV`]; `ansible_become_password` wins over it.
    pub become_password: Option<Secret>,
}

/// Warnings gathered over all hosts, one line per distinct message naming the hosts.
#[derive(Debug, Default)]
pub struct Warnings {
    by_message: BTreeMap<String, Vec<String>>,
}

impl Warnings {
    /// Notes `message` for `host`.
    pub fn add(&mut self, message: String, host: &str) {
        let hosts = self.by_message.entry(message).or_default();
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_owned());
        }
    }

    /// One line per message: `message (hosts: a, b, c and N more)`.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        const SHOWN: usize = 5;
        self.by_message
            .iter()
            .map(|(message, hosts)| {
                let mut named = hosts
                    .iter()
                    .take(SHOWN)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if hosts.len() > SHOWN {
                    named.push_str(&format!(" and {} more", hosts.len() - SHOWN));
                }
                let noun = if hosts.len() == 1 { "host" } else { "hosts" };
                format!("{message} ({noun}: {named})")
            })
            .collect()
    }
}

/// Notes every `ansible_*` variable of a host that wsdeploy does not act on.
pub fn note_ignored_variables(host: &str, vars: &Map<String, Value>, warnings: &mut Warnings) {
    for name in vars.keys() {
        if name.starts_with("ansible_") && !HONOURED_VARIABLES.contains(&name.as_str()) {
            warnings.add(
                format!("{name} is set in the inventory but wsdeploy does not use it"),
                host,
            );
        }
    }
}

/// The SSH target of host `host`; what the operator should know about how it is
/// reached (`StrictHostKeyChecking=no` read as accept-new, ...) goes into `warnings`.
///
/// # Errors
/// Bad ssh arguments or `ssh_config` values, naming where they were written.
pub fn ssh_target(
    host: &str,
    connection: &Connection,
    reach: &Reach,
    warnings: &mut Warnings,
) -> Result<SshTarget, ReachError> {
    let mut front = Vec::new();
    for (variable, value) in &connection.ssh_args {
        let parsed = parse_ssh_args(value, &format!("{variable} of host {host}"))
            .map_err(|error| ReachError::refused(None, &error))?;
        for ignored in parsed.ignored {
            warnings.add(
                format!(
                    "{variable}: `{ignored}` does not change how wsdeploy connects and is ignored"
                ),
                host,
            );
        }
        // Named by the variable alone, so one note covers every host that sets it.
        front.extend(parsed.front.into_iter().map(|item| match item {
            Item::Option { keyword, args, .. } => Item::Option {
                keyword,
                args,
                at: Location::file((*variable).to_string()),
            },
            other => other,
        }));
    }
    let request = RouteRequest {
        alias: connection.host.clone(),
        user: connection.user.clone(),
        port: connection.port_given.then_some(connection.port),
        key_file: connection.private_key_file.clone(),
        front,
        password: connection
            .password
            .clone()
            .or_else(|| reach.password.clone()),
    };
    let route = resolve_route(&reach.config, &request, &reach.defaults)
        .map_err(|error| ReachError::refused(Some(host), &error))?;
    for note in route.notes {
        warnings.add(note, host);
    }
    Ok(route.target)
}

/// Whose rights the host's commands run with, and the become password for the SSH
/// target (sent on stdin, see [`SshTarget::become_password`]).
///
/// # Errors
/// A become password for a local connection, or one spanning several lines.
pub fn elevation(
    host: &str,
    connection: &Connection,
    ssh: Option<&mut SshTarget>,
    reach: &Reach,
) -> Result<Option<Become>, ReachError> {
    if !connection.become_ {
        return Ok(None);
    }
    let user = connection
        .become_user
        .clone()
        .unwrap_or_else(|| DEFAULT_BECOME_USER.to_owned());
    let login = ssh
        .as_ref()
        .map(|t| t.user.clone())
        .or_else(|| connection.user.clone());
    if login.as_deref() == Some(user.as_str()) {
        return Ok(None);
    }
    let password = connection
        .become_password
        .clone()
        .or_else(|| reach.become_password.clone());
    let Some(password) = password else {
        return Ok(Some(Become {
            user,
            password: false,
        }));
    };
    if password.expose().contains(['\n', '\r']) {
        return Err(ReachError::of_host(
            host,
            "the become password holds a line break; sudo reads one line",
        ));
    }
    match ssh {
        Some(target) => target.become_password = Some(password),
        None => {
            return Err(ReachError::of_host(
                host,
                "a become password with ansible_connection local is not supported: run wsdeploy itself through sudo, or give the user a NOPASSWD rule",
            ));
        }
    }
    Ok(Some(Become {
        user,
        password: true,
    }))
}

/// A password from the environment variable `env`, else a prompt when `ask` (once per
/// run), else none.
///
/// # Errors
/// The prompt failed (no terminal).
pub fn password_from(env: &str, ask: bool, prompt: &str) -> Result<Option<Secret>, String> {
    if let Some((_, secret)) = TAKEN_PASSWORDS
        .get()
        .and_then(|taken| taken.iter().find(|(name, _)| *name == env))
    {
        return Ok(Some(secret.clone()));
    }
    if let Some(value) = std::env::var_os(env) {
        return Ok(Some(Secret::new(value.to_string_lossy().into_owned())));
    }
    if !ask {
        return Ok(None);
    }
    rpassword::prompt_password(prompt)
        .map(|text| Some(Secret::new(text)))
        .map_err(|error| {
            format!("cannot ask for the password ({error}): run from a terminal, or set {env}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::connection_from_vars;
    use crate::transport::ssh_config::RouteDefaults;
    use serde_json::json;

    fn reach() -> Reach {
        Reach {
            config: SshConfig::empty(),
            defaults: RouteDefaults {
                known_hosts: None,
                accept_new_host_keys: false,
                connect_timeout: std::time::Duration::from_secs(5),
                connect_timeout_chosen: false,
                local_user: "me".to_owned(),
            },
            password: None,
            become_password: None,
        }
    }

    fn connection(vars: serde_json::Value) -> Connection {
        let serde_json::Value::Object(map) = vars else {
            panic!("an object");
        };
        connection_from_vars("web-1", &map).expect("valid connection")
    }

    #[test]
    fn one_line_per_warning_naming_at_most_five_hosts() {
        let mut warnings = Warnings::default();
        for i in 1..=7 {
            warnings.add("x is ignored".to_owned(), &format!("h{i}"));
            warnings.add("x is ignored".to_owned(), &format!("h{i}"));
        }
        warnings.add("y is ignored".to_owned(), "h1");
        assert_eq!(
            warnings.lines(),
            [
                "x is ignored (hosts: h1, h2, h3, h4, h5 and 2 more)",
                "y is ignored (host: h1)"
            ]
        );
    }

    #[test]
    fn become_password_goes_to_the_ssh_target_only_when_sudo_is_used() {
        let mut reach = reach();
        reach.become_password = Some(Secret::new("from-prompt".to_owned()));
        let c = connection(json!({"ansible_user": "deploy", "ansible_become": true}));
        let mut target = ssh_target("web-1", &c, &reach, &mut Warnings::default()).unwrap();
        let raised = elevation("web-1", &c, Some(&mut target), &reach).unwrap();
        assert_eq!(
            raised,
            Some(Become {
                user: "root".to_owned(),
                password: true
            })
        );
        assert_eq!(
            target.become_password.as_ref().map(Secret::expose),
            Some("from-prompt")
        );

        // The inventory's password wins over the prompt.
        let c = connection(json!({"ansible_user": "deploy", "ansible_become": true,
            "ansible_become_password": "from-vault"}));
        let mut target = ssh_target("web-1", &c, &reach, &mut Warnings::default()).unwrap();
        elevation("web-1", &c, Some(&mut target), &reach).unwrap();
        assert_eq!(
            target.become_password.as_ref().map(Secret::expose),
            Some("from-vault")
        );

        // Logged in as the become user already: no sudo, no password sent.
        let c = connection(json!({"ansible_user": "root", "ansible_become": true}));
        let mut target = ssh_target("web-1", &c, &reach, &mut Warnings::default()).unwrap();
        assert_eq!(elevation("web-1", &c, Some(&mut target), &reach), Ok(None));
        assert!(target.become_password.is_none());

        // A password of two lines cannot be given to sudo.
        let c = connection(json!({"ansible_become": true,
            "ansible_become_password": "a\nb"}));
        let mut target = ssh_target("web-1", &c, &reach, &mut Warnings::default()).unwrap();
        assert!(
            elevation("web-1", &c, Some(&mut target), &reach)
                .unwrap_err()
                .to_string()
                .contains("line break")
        );
    }

    #[test]
    fn ignored_variables_are_noted_and_honoured_ones_are_not() {
        let mut warnings = Warnings::default();
        let serde_json::Value::Object(vars) = json!({
            "ansible_host": "10.0.0.1",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_become_flags": "-H",
            "app_port": 8069
        }) else {
            panic!("an object");
        };
        note_ignored_variables("web-1", &vars, &mut warnings);
        assert_eq!(
            warnings.lines(),
            [
                "ansible_become_flags is set in the inventory but wsdeploy does not use it (host: web-1)",
                "ansible_python_interpreter is set in the inventory but wsdeploy does not use it (host: web-1)"
            ]
        );
    }
}
