//! OpenSSH client configuration (`~/.ssh/config` then `/etc/ssh/ssh_config`, or the file
//! of `-F` alone): which settings apply to a host, as `ssh` (OpenSSH 9.2) picks them.
//!
//! Read: `Host` blocks (wildcards, `!` negation), `Match` blocks (`all`, `canonical`,
//! `final`, `host`, `originalhost`, `user`, `localuser`, negation; `exec` is never run:
//! a block it would decide a setting of is refused for that host), `Include`, and the
//! final pass `Match final` or `CanonicalizeHostname` asks for. Acted on: `HostName`,
//! `User`, `Port`, `IdentityFile` (repeatable, `~` and `%d %h %r %p %u %n %%`),
//! `IdentitiesOnly`, `IdentityAgent`, `ProxyJump`, `ProxyCommand` (the `ssh -W %h:%p`
//! bastion form), `UserKnownHostsFile`, `StrictHostKeyChecking`, `HostKeyAlias`,
//! `ConnectTimeout`, `AddressFamily`. For each setting the first value obtained wins, as
//! in `ssh`. Other keywords OpenSSH knows do not change how wsdeploy connects; a keyword
//! it does not know is an error unless `IgnoreUnknown` names it, as in `ssh`.

mod args;
mod error;
mod evaluate;
mod forward;
mod keywords;
mod match_line;
mod numbers;
mod parse;
mod pattern;
mod route;

use std::path::{Path, PathBuf};

pub use super::home::{default_known_hosts, home_dir};
pub use args::{SshArgs, parse_ssh_args};
pub use error::SshConfigError;
pub use evaluate::Subject;
pub use parse::{Item, Location, ParseError, expand_tilde};
pub use pattern::{host_matches, wildcard};
pub use route::{Route, RouteDefaults, RouteRequest, resolve_route, resolve_target};

/// A setting's value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: Vec<String>,
    pub at: Location,
}

impl Setting {
    /// The first argument.
    #[must_use]
    pub fn first(&self) -> &str {
        self.value.first().map_or("", String::as_str)
    }

    /// All arguments joined by a space (for `ProxyCommand`).
    #[must_use]
    pub fn joined(&self) -> String {
        self.value.join(" ")
    }
}

/// The settings that apply to one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOptions {
    pub hostname: Option<Setting>,
    pub user: Option<Setting>,
    pub port: Option<Setting>,
    pub identity_files: Vec<Setting>,
    pub identities_only: Option<Setting>,
    pub identity_agent: Option<Setting>,
    /// `ProxyJump` or `ProxyCommand`, whichever came first (the other is then ignored).
    pub proxy: Option<(ProxyKind, Setting)>,
    pub user_known_hosts_file: Option<Setting>,
    pub strict_host_key_checking: Option<Setting>,
    pub host_key_alias: Option<Setting>,
    pub connect_timeout: Option<Setting>,
    pub address_family: Option<Setting>,
    pub canonicalize_hostname: Option<Setting>,
    pub canonical_domains: Option<Setting>,
    pub ignore_unknown: Option<Setting>,
}

/// Which proxy keyword was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Jump,
    Command,
}

impl HostOptions {
    /// Records `keyword`'s value unless an earlier one won.
    fn apply(&mut self, keyword: &str, args: &[String], at: &Location) {
        let setting = || Setting {
            value: args.to_vec(),
            at: at.clone(),
        };
        if keyword == "identityfile" {
            if !self.identity_files.iter().any(|s| s.value == args) {
                self.identity_files.push(setting());
            }
            return;
        }
        if keyword == "proxyjump" || keyword == "proxycommand" {
            if self.proxy.is_none() {
                let kind = if keyword == "proxyjump" {
                    ProxyKind::Jump
                } else {
                    ProxyKind::Command
                };
                self.proxy = Some((kind, setting()));
            }
            return;
        }
        if let Some(slot) = self.slot(keyword)
            && slot.is_none()
        {
            *slot = Some(setting());
        }
    }

    /// The single-valued setting `keyword` fills, if wsdeploy reads it.
    fn slot(&mut self, keyword: &str) -> Option<&mut Option<Setting>> {
        Some(match keyword {
            "hostname" => &mut self.hostname,
            "user" => &mut self.user,
            "port" => &mut self.port,
            "identitiesonly" => &mut self.identities_only,
            "identityagent" => &mut self.identity_agent,
            "userknownhostsfile" => &mut self.user_known_hosts_file,
            "stricthostkeychecking" => &mut self.strict_host_key_checking,
            "hostkeyalias" => &mut self.host_key_alias,
            "connecttimeout" => &mut self.connect_timeout,
            "addressfamily" => &mut self.address_family,
            "canonicalizehostname" => &mut self.canonicalize_hostname,
            "canonicaldomains" => &mut self.canonical_domains,
            "ignoreunknown" => &mut self.ignore_unknown,
            _ => return None,
        })
    }

    /// Whether a value of `keyword` read now would still change a setting wsdeploy uses.
    fn would_take(&mut self, keyword: &str) -> bool {
        match keyword {
            "identityfile" => true,
            "proxyjump" | "proxycommand" => self.proxy.is_none(),
            _ if SUPPORTED_KEYWORDS.contains(&keyword) => {
                self.slot(keyword).is_some_and(|slot| slot.is_none())
            }
            _ => false,
        }
    }
}

/// The keywords that change how wsdeploy reaches a host (with their usual spelling).
pub const SUPPORTED_KEYWORDS: [&str; 15] = [
    "hostname",
    "user",
    "port",
    "identityfile",
    "identitiesonly",
    "identityagent",
    "proxyjump",
    "proxycommand",
    "userknownhostsfile",
    "stricthostkeychecking",
    "hostkeyalias",
    "connecttimeout",
    "addressfamily",
    "canonicalizehostname",
    "include",
];

/// `ProxyJump` for `proxyjump`: the spelling of `man ssh_config`.
#[must_use]
pub fn display_keyword(keyword: &str) -> &str {
    const NAMES: [&str; 16] = [
        "HostName",
        "User",
        "Port",
        "IdentityFile",
        "IdentitiesOnly",
        "IdentityAgent",
        "ProxyJump",
        "ProxyCommand",
        "UserKnownHostsFile",
        "StrictHostKeyChecking",
        "HostKeyAlias",
        "ConnectTimeout",
        "AddressFamily",
        "CanonicalizeHostname",
        "CanonicalDomains",
        "IgnoreUnknown",
    ];
    NAMES
        .iter()
        .find(|name| name.eq_ignore_ascii_case(keyword))
        .copied()
        .unwrap_or(keyword)
}

/// The system-wide client configuration `ssh` reads after the user's (not with `-F`).
pub const SYSTEM_CONFIG: &str = "/etc/ssh/ssh_config";
/// Environment variable naming another system-wide file (for tests; empty: none).
pub const SYSTEM_CONFIG_ENV: &str = "WSDEPLOY_SYSTEM_SSH_CONFIG";

/// A loaded configuration (possibly empty).
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    items: Vec<Item>,
    /// The system-wide file's items, read after `items` with their own block state.
    system: Vec<Item>,
    /// The file it came from, for messages.
    pub path: Option<PathBuf>,
}

impl SshConfig {
    /// No configuration at all.
    #[must_use]
    pub fn empty() -> SshConfig {
        SshConfig::default()
    }

    /// Reads `path` alone (`-F`), or, as `ssh` does without `-F`, `~/.ssh/config` and
    /// then `/etc/ssh/ssh_config`, each when it exists.
    ///
    /// # Errors
    /// The file (or an included one) cannot be read, or OpenSSH would refuse it.
    pub fn load(path: Option<&Path>) -> Result<SshConfig, ParseError> {
        if let Some(path) = path {
            return Ok(SshConfig {
                items: parse::read_file(path)?,
                system: Vec::new(),
                path: Some(path.to_path_buf()),
            });
        }
        let user = home_dir().join(".ssh").join("config");
        let mut config = SshConfig::empty();
        if user.is_file() {
            config.items = parse::read_file(&user)?;
            config.path = Some(user);
        }
        let system = match std::env::var_os(SYSTEM_CONFIG_ENV) {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(SYSTEM_CONFIG),
        };
        if system.is_file() {
            let include_dir = system
                .parent()
                .map_or_else(|| PathBuf::from("/etc/ssh"), Path::to_path_buf);
            config.system = parse::read_system_file(&system, &include_dir)?;
        }
        Ok(config)
    }

    /// A configuration from text (`source` names it in messages).
    ///
    /// # Errors
    /// As [`SshConfig::load`].
    pub fn from_text(text: &str, source: &str) -> Result<SshConfig, ParseError> {
        Ok(SshConfig {
            items: parse::parse_text(text, source, 0)?,
            system: Vec::new(),
            path: None,
        })
    }

    /// The settings for `alias` (the name as given: `ansible_host`, or the inventory
    /// name), with `front` (command-line `-o` options) taking precedence.
    ///
    /// # Errors
    /// A `Match exec` block that would decide one of these settings, or a keyword
    /// OpenSSH does not know (and no `IgnoreUnknown` names), naming file and line.
    pub fn options_for(&self, alias: &str, front: &[Item]) -> Result<HostOptions, SshConfigError> {
        self.options_for_subject(
            &Subject {
                alias,
                user: None,
                local_user: &local_user(),
            },
            front,
        )
    }

    /// [`SshConfig::options_for`] with the user known before the config is read (the
    /// inventory's, as `ssh -l`) and the local user, which `Match user`/`localuser` test.
    ///
    /// # Errors
    /// As [`SshConfig::options_for`].
    pub fn options_for_subject(
        &self,
        subject: &Subject<'_>,
        front: &[Item],
    ) -> Result<HostOptions, SshConfigError> {
        evaluate::options(&[&self.items, &self.system], front, subject)
    }
}

/// The local user name as `ssh` takes it (the passwd entry of this process's uid), else
/// `$USER`, else `root`.
#[must_use]
pub fn local_user() -> String {
    use std::os::unix::fs::MetadataExt as _;
    let from_passwd = std::fs::metadata("/proc/self").ok().and_then(|meta| {
        let uid = meta.uid().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)? == uid).then(|| name.to_owned())
        })
    });
    from_passwd
        .or_else(|| std::env::var("USER").ok().filter(|user| !user.is_empty()))
        .unwrap_or_else(|| "root".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
Host bastion
  HostName 203.0.113.1
  User jump
Host web-* !web-internal
  User deploy
  IdentityFile ~/.ssh/web
Host *
  User nobody
  IdentityFile ~/.ssh/default
  Port 2200
Match host foo
  User matched
";

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let web = config.options_for("web-1", &[]).unwrap();
        assert_eq!(web.user.as_ref().unwrap().first(), "deploy");
        assert_eq!(web.user.as_ref().unwrap().at.to_string(), "cfg:5");
        let files: Vec<&str> = web.identity_files.iter().map(Setting::first).collect();
        assert_eq!(files, ["~/.ssh/web", "~/.ssh/default"]);
        assert_eq!(web.port.unwrap().first(), "2200");
        let internal = config.options_for("web-internal", &[]).unwrap();
        assert_eq!(internal.user.unwrap().first(), "nobody");
        let bastion = config.options_for("bastion", &[]).unwrap();
        assert_eq!(bastion.hostname.unwrap().first(), "203.0.113.1");
    }

    #[test]
    fn match_blocks_apply_in_order() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        // `Host *` set User first; the Match block comes too late for foo.
        assert_eq!(
            config
                .options_for("foo", &[])
                .unwrap()
                .user
                .unwrap()
                .first(),
            "nobody"
        );
        let config =
            SshConfig::from_text("Match host foo\n  User matched\nHost *\n  User x\n", "cfg")
                .unwrap();
        assert_eq!(
            config
                .options_for("foo", &[])
                .unwrap()
                .user
                .unwrap()
                .first(),
            "matched"
        );
    }

    #[test]
    fn front_options_win() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let front = parse::parse_text("User override\n", "args", 0).unwrap();
        assert_eq!(
            config
                .options_for("web-1", &front)
                .unwrap()
                .user
                .unwrap()
                .first(),
            "override"
        );
    }

    #[test]
    fn proxy_jump_and_command_first_one_wins() {
        let config = SshConfig::from_text(
            "Host a\n  ProxyCommand ssh -W %h:%p b\nHost *\n  ProxyJump c\n",
            "cfg",
        )
        .unwrap();
        let (kind, setting) = config.options_for("a", &[]).unwrap().proxy.unwrap();
        assert_eq!(kind, ProxyKind::Command);
        assert_eq!(setting.joined(), "ssh -W %h:%p b");
        let (kind, _) = config.options_for("z", &[]).unwrap().proxy.unwrap();
        assert_eq!(kind, ProxyKind::Jump);
    }
}
