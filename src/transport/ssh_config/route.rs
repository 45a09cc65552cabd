//! From a host's connection settings (inventory variables, its ssh arguments) and the
//! `ssh_config` to a complete [`SshTarget`]: address, user, port, keys, known_hosts,
//! host-key policy and the chain of jump hosts in front of it.
//!
//! Precedence, as with Ansible's ssh connection: inventory variables (`ansible_host`,
//! `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`), then the host's
//! `ansible_ssh_common_args`/`ansible_ssh_extra_args`, then `ssh_config`, then the
//! defaults. `--known-hosts` and `--accept-new-host-keys` on the command line win over
//! `UserKnownHostsFile` and `StrictHostKeyChecking`.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{JumpSpec, parse_proxy_command, parse_proxy_jump};
use super::error::{MAX_HOPS, SshConfigError};
use super::numbers::seconds;
use super::parse::{Item, expand_tilde};
use super::{HostOptions, ProxyKind, Setting, SshConfig, Subject};
use crate::transport::home::{default_known_hosts, home_dir};
use crate::transport::secret::Secret;
use crate::transport::ssh::{AddressFamily, IdentityAgent, SshTarget};

/// What the inventory says about one host.
#[derive(Debug, Clone, Default)]
pub struct RouteRequest {
    /// The name `ssh_config` `Host` patterns are matched against: `ansible_host`, or the
    /// inventory name.
    pub alias: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub key_file: Option<PathBuf>,
    /// Options from the host's ssh arguments (they win over `ssh_config`).
    pub front: Vec<Item>,
    /// Login password (`ansible_password`), for the target only.
    pub password: Option<Secret>,
}

/// Run-wide settings.
#[derive(Debug, Clone)]
pub struct RouteDefaults {
    /// `--known-hosts`, if given.
    pub known_hosts: Option<PathBuf>,
    /// `--accept-new-host-keys`.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// Whether `connect_timeout` was chosen (`--connect-timeout`, `wsdeploy.toml`): it
    /// then wins over `ConnectTimeout`.
    pub connect_timeout_chosen: bool,
    /// The local user name, the login name when nothing else says.
    pub local_user: String,
}

/// A host's target and what the operator should know about how it was resolved (one
/// line each, without the host's name).
#[derive(Debug, Clone)]
pub struct Route {
    pub target: SshTarget,
    pub notes: Vec<String>,
}

/// The complete target of a host.
///
/// # Errors
/// A setting that cannot be used (bad port, unknown `%` token, an unsupported
/// `ProxyCommand`, a jump loop), naming where it was written.
pub fn resolve_target(
    config: &SshConfig,
    request: &RouteRequest,
    defaults: &RouteDefaults,
) -> Result<SshTarget, SshConfigError> {
    resolve_route(config, request, defaults).map(|route| route.target)
}

/// [`resolve_target`], with the notes about it.
///
/// # Errors
/// As [`resolve_target`].
pub fn resolve_route(
    config: &SshConfig,
    request: &RouteRequest,
    defaults: &RouteDefaults,
) -> Result<Route, SshConfigError> {
    let options = options_of(config, request, defaults)?;
    let mut notes = Vec::new();
    let mut target = endpoint(request, &options, defaults, &mut notes)?;
    target.password.clone_from(&request.password);
    target.jumps = jumps_of(config, &options, defaults, 0, &request.alias, &mut notes)?;
    notes.dedup();
    Ok(Route { target, notes })
}

fn options_of(
    config: &SshConfig,
    request: &RouteRequest,
    defaults: &RouteDefaults,
) -> Result<HostOptions, SshConfigError> {
    config.options_for_subject(
        &Subject {
            alias: &request.alias,
            user: request.user.as_deref(),
            local_user: &defaults.local_user,
        },
        &request.front,
    )
}

/// The hops in front of a host whose settings are `options`, in connection order.
fn jumps_of(
    config: &SshConfig,
    options: &HostOptions,
    defaults: &RouteDefaults,
    depth: usize,
    alias: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<SshTarget>, SshConfigError> {
    let Some((kind, setting)) = &options.proxy else {
        return Ok(Vec::new());
    };
    let specs = match kind {
        ProxyKind::Jump => parse_proxy_jump(setting.first(), &setting.at)?,
        ProxyKind::Command => parse_proxy_command(&setting.joined(), &setting.at)?
            .into_iter()
            .collect(),
    };
    let Some((last, before)) = specs.split_last() else {
        return Ok(Vec::new());
    };
    hop_chain(
        config,
        last,
        Some(before),
        defaults,
        depth + 1,
        alias,
        notes,
    )
}

/// `spec`'s own hops followed by `spec` itself. As `ssh -J a,b`: `b` is reached through
/// `a`; a single hop's own `ProxyJump` (from `ssh_config`) applies.
fn hop_chain(
    config: &SshConfig,
    spec: &JumpSpec,
    before: Option<&[JumpSpec]>,
    defaults: &RouteDefaults,
    depth: usize,
    origin: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<SshTarget>, SshConfigError> {
    if depth > MAX_HOPS {
        return Err(SshConfigError::JumpLoop {
            origin: origin.to_owned(),
        });
    }
    let request = RouteRequest {
        alias: spec.host.clone(),
        user: spec.user.clone(),
        port: spec.port,
        key_file: None,
        front: spec.front.clone(),
        password: None,
    };
    let options = options_of(config, &request, defaults)?;
    let hop = endpoint(&request, &options, defaults, notes)?;
    let forced: Vec<JumpSpec> = before
        .filter(|b| !b.is_empty())
        .map(<[JumpSpec]>::to_vec)
        .unwrap_or_else(|| spec.chain.clone());
    let mut chain = match forced.split_last() {
        None => jumps_of(config, &options, defaults, depth, origin, notes)?,
        Some((last, rest)) => {
            hop_chain(config, last, Some(rest), defaults, depth + 1, origin, notes)?
        }
    };
    chain.push(hop);
    Ok(chain)
}

/// Address, user, port, keys and host-key policy of one host (no jumps).
fn endpoint(
    request: &RouteRequest,
    options: &HostOptions,
    defaults: &RouteDefaults,
    notes: &mut Vec<String>,
) -> Result<SshTarget, SshConfigError> {
    let alias = request.alias.as_str();
    let host = match &options.hostname {
        Some(setting) => expand_tokens(setting.first(), setting, &Tokens::host_only(alias))?,
        None => alias.to_owned(),
    };
    // As ssh: names are lower-cased, addresses kept as written.
    let host = if host.parse::<std::net::IpAddr>().is_ok() {
        host
    } else {
        host.to_ascii_lowercase()
    };
    let user = match (&request.user, &options.user) {
        (Some(user), _) => user.clone(),
        (None, Some(setting)) => setting.first().to_owned(),
        (None, None) => defaults.local_user.clone(),
    };
    let port = match (request.port, &options.port) {
        (Some(port), _) => port,
        (None, Some(setting)) => setting
            .first()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                SshConfigError::refused(
                    &setting.at,
                    format!("Port `{}` is not a port number 1-65535", setting.first()),
                )
            })?,
        (None, None) => 22,
    };
    let tokens = Tokens {
        alias: alias.to_owned(),
        host: host.clone(),
        user: user.clone(),
        port,
        local_user: defaults.local_user.clone(),
    };
    let mut key_files: Vec<PathBuf> = request
        .key_file
        .iter()
        .map(|path| expand_tilde(&path.to_string_lossy()))
        .collect();
    for setting in &options.identity_files {
        if setting.first().eq_ignore_ascii_case("none") {
            continue;
        }
        let path = expand_tilde(&expand_tokens(setting.first(), setting, &tokens)?);
        if !key_files.contains(&path) {
            key_files.push(path);
        }
    }
    let identities_only = match &options.identities_only {
        Some(setting) => yes_no(setting)?,
        None => false,
    };
    let known_hosts = match (&defaults.known_hosts, &options.user_known_hosts_file) {
        (Some(path), _) => path.clone(),
        (None, Some(setting)) => expand_tilde(&expand_tokens(setting.first(), setting, &tokens)?),
        (None, None) => default_known_hosts(),
    };
    let accept_new = defaults.accept_new_host_keys
        || match &options.strict_host_key_checking {
            None => false,
            Some(setting) => strict_host_key_checking(setting, notes)?,
        };
    let mut target = SshTarget::new(host, user);
    target.port = port;
    target.key_files = key_files;
    target.identities_only = identities_only;
    target.known_hosts = known_hosts;
    target.accept_new_host_keys = accept_new;
    target.connect_timeout = connect_timeout(options, defaults);
    if let Some(setting) = &options.identity_agent {
        target.identity_agent = identity_agent(setting, &tokens)?;
    }
    target.host_key_alias = options
        .host_key_alias
        .as_ref()
        .filter(|s| !s.first().eq_ignore_ascii_case("none"))
        .map(|s| s.first().to_owned());
    target.address_family = address_family(options);
    note_canonical_domains(options, notes);
    Ok(target)
}

fn address_family(options: &HostOptions) -> AddressFamily {
    match options
        .address_family
        .as_ref()
        .map(|s| s.first().to_ascii_lowercase())
        .as_deref()
    {
        Some("inet") => AddressFamily::Inet,
        Some("inet6") => AddressFamily::Inet6,
        _ => AddressFamily::Any,
    }
}

/// DNS canonicalization through `CanonicalDomains` is not done: said once.
fn note_canonical_domains(options: &HostOptions, notes: &mut Vec<String>) {
    if let (Some(canonicalize), Some(domains)) =
        (&options.canonicalize_hostname, &options.canonical_domains)
        && !matches!(
            canonicalize.first().to_ascii_lowercase().as_str(),
            "no" | "false"
        )
    {
        notes.push(format!(
            "CanonicalizeHostname ({}) with CanonicalDomains {} ({}): wsdeploy does not look host names up in those domains; names are used as written (write the full name in HostName or ansible_host)",
            canonicalize.at,
            domains.joined(),
            domains.at
        ));
    }
}

/// `StrictHostKeyChecking`: whether unknown keys are recorded. `no` is read as
/// `accept-new` (a changed key is always refused), and said so.
fn strict_host_key_checking(
    setting: &Setting,
    notes: &mut Vec<String>,
) -> Result<bool, SshConfigError> {
    match setting.first().to_ascii_lowercase().as_str() {
        "yes" | "ask" | "true" => Ok(false),
        "accept-new" => Ok(true),
        value @ ("no" | "off" | "false") => {
            notes.push(format!(
                "StrictHostKeyChecking={value} ({}) is treated as accept-new: an unknown host key is recorded in the known_hosts file, a changed one is still refused",
                setting.at
            ));
            Ok(true)
        }
        other => Err(SshConfigError::refused(
            &setting.at,
            format!("StrictHostKeyChecking `{other}`: expected yes, no, accept-new or ask"),
        )),
    }
}

/// `--connect-timeout` (or `wsdeploy.toml`) when chosen, else `ConnectTimeout` (not
/// `none` or 0), else the default.
fn connect_timeout(options: &HostOptions, defaults: &RouteDefaults) -> Duration {
    if defaults.connect_timeout_chosen {
        return defaults.connect_timeout;
    }
    options
        .connect_timeout
        .as_ref()
        .and_then(|s| seconds(s.first()))
        .filter(|seconds| *seconds > 0)
        .map_or(defaults.connect_timeout, Duration::from_secs)
}

/// `IdentityAgent`: `none`, `SSH_AUTH_SOCK`, `$VARIABLE`, or a socket path (`~` and `%`
/// tokens expanded).
fn identity_agent(setting: &Setting, tokens: &Tokens) -> Result<IdentityAgent, SshConfigError> {
    let value = setting.first();
    if value.eq_ignore_ascii_case("none") {
        return Ok(IdentityAgent::Disabled);
    }
    if value == "SSH_AUTH_SOCK" {
        return Ok(IdentityAgent::Environment);
    }
    if let Some(variable) = value.strip_prefix('$') {
        return match std::env::var_os(variable) {
            Some(path) if !path.is_empty() => Ok(IdentityAgent::Socket(PathBuf::from(path))),
            _ => Err(SshConfigError::refused(
                &setting.at,
                format!("IdentityAgent {value}: the environment variable {variable} is not set"),
            )),
        };
    }
    Ok(IdentityAgent::Socket(expand_tilde(&expand_tokens(
        value, setting, tokens,
    )?)))
}

fn yes_no(setting: &Setting) -> Result<bool, SshConfigError> {
    match setting.first().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        other => Err(SshConfigError::refused(
            &setting.at,
            format!("expected yes or no, got `{other}`"),
        )),
    }
}

/// Values of the `%` tokens of `IdentityFile`, `UserKnownHostsFile` and `HostName`.
struct Tokens {
    alias: String,
    host: String,
    user: String,
    port: u16,
    local_user: String,
}

impl Tokens {
    fn host_only(alias: &str) -> Tokens {
        Tokens {
            alias: alias.to_owned(),
            host: alias.to_owned(),
            user: String::new(),
            port: 0,
            local_user: String::new(),
        }
    }
}

/// Expands `%%`, `%d` (home), `%h` (host name), `%n` (alias), `%p`, `%r` (remote user),
/// `%u` (local user).
fn expand_tokens(text: &str, setting: &Setting, tokens: &Tokens) -> Result<String, SshConfigError> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('d') => out.push_str(&home_dir().to_string_lossy()),
            Some('h') => out.push_str(&tokens.host),
            Some('n') => out.push_str(&tokens.alias),
            Some('p') if tokens.port != 0 => out.push_str(&tokens.port.to_string()),
            Some('r') if !tokens.user.is_empty() => out.push_str(&tokens.user),
            Some('u') if !tokens.local_user.is_empty() => out.push_str(&tokens.local_user),
            other => {
                return Err(SshConfigError::refused(
                    &setting.at,
                    format!(
                        "`%{}` in `{text}` is not a token wsdeploy expands here (supported: %% %d %h %n %p %r %u)",
                        other.map(String::from).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;

    fn defaults() -> RouteDefaults {
        RouteDefaults {
            known_hosts: None,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(5),
            connect_timeout_chosen: false,
            local_user: "me".to_owned(),
        }
    }

    fn request(alias: &str) -> RouteRequest {
        RouteRequest {
            alias: alias.to_owned(),
            ..RouteRequest::default()
        }
    }

    const CONFIG: &str = "\
Host outer
  HostName 198.51.100.1
  User hop
  Port 2201
Host inner
  HostName 10.0.0.5
  ProxyJump outer
Host app-*
  HostName %h.internal
  User app
  IdentityFile /keys/%r@%h:%p
  IdentitiesOnly yes
  ProxyJump inner
  StrictHostKeyChecking accept-new
  UserKnownHostsFile /kh/%n
Host loop-a
  ProxyJump loop-b
Host loop-b
  ProxyJump loop-a
";

    #[test]
    fn config_resolution_with_nested_jumps() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let target = resolve_target(&config, &request("app-1"), &defaults()).unwrap();
        assert_eq!(target.host, "app-1.internal");
        assert_eq!(target.user, "app");
        assert_eq!(
            target.key_files,
            [PathBuf::from("/keys/app@app-1.internal:22")]
        );
        assert!(target.identities_only);
        assert!(target.accept_new_host_keys);
        assert_eq!(target.known_hosts, PathBuf::from("/kh/app-1"));
        let hops: Vec<(String, u16, String)> = target
            .jumps
            .iter()
            .map(|j| (j.host.clone(), j.port, j.user.clone()))
            .collect();
        assert_eq!(
            hops,
            [
                ("198.51.100.1".to_owned(), 2201, "hop".to_owned()),
                ("10.0.0.5".to_owned(), 22, "me".to_owned()),
            ]
        );
    }

    #[test]
    fn inventory_values_win_and_explicit_chains_override_hop_config() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let mut req = request("app-2");
        req.user = Some("root".to_owned());
        req.port = Some(2022);
        req.front = super::super::parse_ssh_args("-J x@outer,inner:2222 -o User=ignored", "args")
            .unwrap()
            .front;
        let target = resolve_target(&config, &req, &defaults()).unwrap();
        assert_eq!((target.user.as_str(), target.port), ("root", 2022));
        let hops: Vec<(String, u16, String)> = target
            .jumps
            .iter()
            .map(|j| (j.host.clone(), j.port, j.user.clone()))
            .collect();
        // `inner`'s own ProxyJump is replaced by the explicit chain.
        assert_eq!(
            hops,
            [
                ("198.51.100.1".to_owned(), 2201, "x".to_owned()),
                ("10.0.0.5".to_owned(), 2222, "me".to_owned()),
            ]
        );
    }

    #[test]
    fn loops_and_bad_values_are_reported_with_their_place() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let err = resolve_target(&config, &request("loop-a"), &defaults()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the jump hosts of loop-a form a chain longer than 8 hops (a ProxyJump loop in ssh_config?)"
        );
        // A bad port fails the file, as in ssh, whichever host it is for.
        assert_eq!(
            SshConfig::from_text("Host other\n  Port ssh\n", "cfg")
                .unwrap_err()
                .to_string(),
            "cfg:2: `Port ssh`: `ssh` is not a port number 1-65535 (OpenSSH: Bad port)"
        );
        let config =
            SshConfig::from_text("Host *\n  Port 22\n  IdentityFile ~/%C\n", "cfg").unwrap();
        let err = resolve_target(&config, &request("h"), &defaults()).unwrap_err();
        assert!(
            matches!(&err, SshConfigError::Refused { at, .. } if *at == Location::line("cfg", 3)),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("cfg:3: `%C`"), "{err}");
    }

    #[test]
    fn command_line_known_hosts_wins() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let mut d = defaults();
        d.known_hosts = Some(PathBuf::from("/cli/known_hosts"));
        let target = resolve_target(&config, &request("app-3"), &d).unwrap();
        assert_eq!(target.known_hosts, PathBuf::from("/cli/known_hosts"));
        assert!(
            target
                .jumps
                .iter()
                .all(|j| j.known_hosts == d.known_hosts.clone().unwrap())
        );
    }
}
