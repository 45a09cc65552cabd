//! OpenSSH client configuration (`~/.ssh/config`, or the file of `-F`): which settings
//! apply to a host, as `ssh` would pick them.
//!
//! Supported: `Host` blocks (wildcards, `!` negation), `Include`, and the settings
//! `HostName`, `User`, `Port`, `IdentityFile` (repeatable, `~` and `%d %h %r %p %u %n %%`),
//! `IdentitiesOnly`, `ProxyJump`, `ProxyCommand` (the `ssh -W %h:%p` bastion form),
//! `UserKnownHostsFile`, `StrictHostKeyChecking`. For each setting the first value
//! obtained wins, as in `ssh`. `Match` blocks are ignored with a warning. Other keywords
//! do not change how wsdeploy connects and are ignored.

mod args;
mod parse;
mod pattern;
mod route;

use std::path::{Path, PathBuf};

pub use args::{SshArgs, parse_ssh_args};
pub use parse::{Item, Location, ParseError, default_known_hosts, expand_tilde, home_dir};
pub use pattern::{host_matches, wildcard};
pub use route::{RouteDefaults, RouteRequest, resolve_target};

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
    /// `ProxyJump` or `ProxyCommand`, whichever came first (the other is then ignored).
    pub proxy: Option<(ProxyKind, Setting)>,
    pub user_known_hosts_file: Option<Setting>,
    pub strict_host_key_checking: Option<Setting>,
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
        let first = |slot: &mut Option<Setting>| {
            if slot.is_none() {
                *slot = Some(setting());
            }
        };
        match keyword {
            "hostname" => first(&mut self.hostname),
            "user" => first(&mut self.user),
            "port" => first(&mut self.port),
            "identityfile" => self.identity_files.push(setting()),
            "identitiesonly" => first(&mut self.identities_only),
            "proxyjump" if self.proxy.is_none() => self.proxy = Some((ProxyKind::Jump, setting())),
            "proxycommand" if self.proxy.is_none() => {
                self.proxy = Some((ProxyKind::Command, setting()));
            }
            "userknownhostsfile" => first(&mut self.user_known_hosts_file),
            "stricthostkeychecking" => first(&mut self.strict_host_key_checking),
            _ => {}
        }
    }
}

/// The keywords wsdeploy acts on (others are ignored).
pub const SUPPORTED_KEYWORDS: [&str; 10] = [
    "hostname",
    "user",
    "port",
    "identityfile",
    "identitiesonly",
    "proxyjump",
    "proxycommand",
    "userknownhostsfile",
    "stricthostkeychecking",
    "include",
];

/// A loaded configuration (possibly empty).
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    items: Vec<Item>,
    /// The file it came from, for messages.
    pub path: Option<PathBuf>,
}

impl SshConfig {
    /// No configuration at all.
    #[must_use]
    pub fn empty() -> SshConfig {
        SshConfig::default()
    }

    /// Reads `path`, or `~/.ssh/config` when `path` is `None` and that file exists.
    ///
    /// # Errors
    /// The file (or an included one) cannot be read or parsed.
    pub fn load(path: Option<&Path>) -> Result<SshConfig, ParseError> {
        let path = match path {
            Some(path) => path.to_path_buf(),
            None => {
                let default = home_dir().join(".ssh").join("config");
                if !default.is_file() {
                    return Ok(SshConfig::empty());
                }
                default
            }
        };
        Ok(SshConfig {
            items: parse::read_file(&path)?,
            path: Some(path),
        })
    }

    /// A configuration from text (`source` names it in messages).
    ///
    /// # Errors
    /// As [`SshConfig::load`].
    pub fn from_text(text: &str, source: &str) -> Result<SshConfig, ParseError> {
        Ok(SshConfig {
            items: parse::parse_text(text, source, 0)?,
            path: None,
        })
    }

    /// Warnings about the configuration itself: each ignored `Match` block.
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        let mut found = Vec::new();
        collect_matches(&self.items, &mut found);
        found
            .into_iter()
            .map(|at| {
                format!(
                    "{at}: `Match` blocks are not supported by wsdeploy; this block is ignored (its settings apply to no host; use `Host` patterns instead)"
                )
            })
            .collect()
    }

    /// The settings for `alias` (the name as given: `ansible_host`, or the inventory
    /// name), with `front` (command-line `-o` options) taking precedence.
    #[must_use]
    pub fn options_for(&self, alias: &str, front: &[Item]) -> HostOptions {
        let mut options = HostOptions::default();
        let mut active = true;
        evaluate(front, alias, &mut active, false, &mut options);
        let mut active = true;
        evaluate(&self.items, alias, &mut active, false, &mut options);
        options
    }
}

fn collect_matches(items: &[Item], found: &mut Vec<Location>) {
    for item in items {
        match item {
            Item::Match { at } => found.push(at.clone()),
            Item::Include { files } => {
                for file in files {
                    collect_matches(file, found);
                }
            }
            _ => {}
        }
    }
}

/// Applies `items` as OpenSSH's `readconf.c` does: a `Host` line switches the block on
/// for matching hosts; an `Include` inside an inactive block never matches, and the
/// block's state is restored after it.
fn evaluate(items: &[Item], alias: &str, active: &mut bool, never: bool, out: &mut HostOptions) {
    for item in items {
        match item {
            Item::Host { patterns } => *active = !never && host_matches(patterns, alias),
            Item::Match { .. } => *active = false,
            Item::Option { keyword, args, at } => {
                if *active {
                    out.apply(keyword, args, at);
                }
            }
            Item::Include { files } => {
                let saved = *active;
                for file in files {
                    evaluate(file, alias, active, never || !saved, out);
                }
                *active = saved;
            }
        }
    }
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
        let web = config.options_for("web-1", &[]);
        assert_eq!(web.user.as_ref().unwrap().first(), "deploy");
        assert_eq!(web.user.as_ref().unwrap().at.to_string(), "cfg:5");
        let files: Vec<&str> = web.identity_files.iter().map(Setting::first).collect();
        assert_eq!(files, ["~/.ssh/web", "~/.ssh/default"]);
        assert_eq!(web.port.unwrap().first(), "2200");
        let internal = config.options_for("web-internal", &[]);
        assert_eq!(internal.user.unwrap().first(), "nobody");
        let bastion = config.options_for("bastion", &[]);
        assert_eq!(bastion.hostname.unwrap().first(), "203.0.113.1");
    }

    #[test]
    fn match_blocks_are_skipped_with_a_warning() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        assert_eq!(
            config.options_for("foo", &[]).user.unwrap().first(),
            "nobody"
        );
        let warnings = config.warnings();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("cfg:11: `Match` blocks are not supported"));
    }

    #[test]
    fn front_options_win() {
        let config = SshConfig::from_text(CONFIG, "cfg").unwrap();
        let front = parse::parse_text("User override\n", "args", 0).unwrap();
        assert_eq!(
            config.options_for("web-1", &front).user.unwrap().first(),
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
        let (kind, setting) = config.options_for("a", &[]).proxy.unwrap();
        assert_eq!(kind, ProxyKind::Command);
        assert_eq!(setting.joined(), "ssh -W %h:%p b");
        let (kind, _) = config.options_for("z", &[]).proxy.unwrap();
        assert_eq!(kind, ProxyKind::Jump);
    }
}
