//! Which settings apply to one host, as OpenSSH 9.2's `readconf.c` and `ssh.c` decide:
//! the command line's options first, then every line in order (`Host` patterns against
//! the name as given, case-sensitively; `Match` criteria against the facts known so far; an
//! `Include` inside an inactive block never applies, and the block's state is restored
//! after it), the first value of each setting winning. `Match final` anywhere, or
//! `CanonicalizeHostname yes`/`always`, makes a second pass over the files with the host
//! name replaced by its `HostName` (no DNS canonicalization is done: `CanonicalDomains`
//! is reported by the route) in which `Host` matches that name and `final`/`canonical`
//! hold; values from the first pass keep winning.
//!
//! `Match exec` is never run: when every other criterion of its line holds and its
//! block would set something wsdeploy uses that nothing set before, the host is refused,
//! naming the line and those settings (deciding them in the inventory lifts it).

use super::error::{ExecRefusal, SshConfigError};
use super::match_line::{self, Facts, Outcome};
use super::parse::{Item, Location};
use super::pattern::{host_matches, pattern_list};
use super::{HostOptions, display_keyword};

/// Who is connecting where, before the config is read.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The name as given (`ansible_host`, or the inventory name).
    pub alias: &'a str,
    /// The remote user given before the config (the inventory's, as `ssh -l`).
    pub user: Option<&'a str>,
    pub local_user: &'a str,
}

/// The settings of `subject`: `front` (the host's ssh arguments), then each file of
/// `files` (the user's, the system's), each starting with its blocks active.
///
/// # Errors
/// A `Match exec` deciding a setting, or an unknown keyword, naming file and line.
pub fn options(
    files: &[&[Item]],
    front: &[Item],
    subject: &Subject<'_>,
) -> Result<HostOptions, SshConfigError> {
    let mut walk = Walk {
        subject,
        host: subject.alias.to_owned(),
        final_pass: false,
        options: HostOptions::default(),
    };
    walk.items(front, &mut true, false)?;
    for items in files {
        walk.items(items, &mut true, false)?;
    }
    let canonicalize = walk
        .options
        .canonicalize_hostname
        .as_ref()
        .is_some_and(|s| !matches!(s.first().to_ascii_lowercase().as_str(), "no" | "false"));
    if canonicalize || files.iter().any(|items| wants_final_pass(items)) {
        walk.final_pass = true;
        walk.host = final_host_name(&walk.options, subject.alias);
        for items in files {
            walk.items(items, &mut true, false)?;
        }
    }
    Ok(walk.options)
}

/// The name the final pass matches: `HostName` (`%h` expanded) or the alias,
/// lower-cased unless it is an address.
fn final_host_name(options: &HostOptions, alias: &str) -> String {
    let name = match &options.hostname {
        Some(setting) => expand_host(setting.first(), alias),
        None => alias.to_owned(),
    };
    if name.parse::<std::net::IpAddr>().is_ok() {
        name
    } else {
        name.to_ascii_lowercase()
    }
}

/// `%h` → `alias`, `%%` → `%` (what `Match host` and `ssh` expand in `HostName` first).
fn expand_host(text: &str, alias: &str) -> String {
    text.replace("%%", "\u{0}")
        .replace("%h", alias)
        .replace('\u{0}', "%")
}

fn wants_final_pass(items: &[Item]) -> bool {
    items.iter().any(|item| match item {
        Item::Match { criteria, .. } => match_line::wants_final_pass(criteria),
        Item::Include { files } => files.iter().any(|file| wants_final_pass(file)),
        _ => false,
    })
}

struct Walk<'a> {
    subject: &'a Subject<'a>,
    /// The name `Host` lines match in this pass.
    host: String,
    final_pass: bool,
    options: HostOptions,
}

impl Walk<'_> {
    /// Applies `items`; `never`: inside an `Include` of an inactive block.
    fn items(
        &mut self,
        items: &[Item],
        active: &mut bool,
        never: bool,
    ) -> Result<(), SshConfigError> {
        for (index, item) in items.iter().enumerate() {
            match item {
                Item::Host { patterns } => {
                    *active = !never && host_matches(patterns, &self.host);
                }
                Item::Match { criteria, text, at } => {
                    let host = self.match_host();
                    *active = !never
                        && match match_line::evaluate(criteria, &self.facts(&host)) {
                            Outcome::Matches => true,
                            Outcome::DoesNotMatch => false,
                            Outcome::DependsOn(what) => {
                                let decided = self.decided_by(&items[index + 1..]);
                                if decided.is_empty() {
                                    false
                                } else {
                                    return Err(SshConfigError::MatchExec(Box::new(ExecRefusal {
                                        at: at.clone(),
                                        text: text.clone(),
                                        what,
                                        decided,
                                        alias: self.subject.alias.to_owned(),
                                    })));
                                }
                            }
                        };
                }
                Item::Option { keyword, args, at } => {
                    if *active {
                        self.options.apply(keyword, args, at);
                    }
                }
                Item::Unknown { keyword, at } => self.check_unknown(keyword, at)?,
                Item::Include { files } => {
                    let saved = *active;
                    for file in files {
                        self.items(file, active, never || !saved)?;
                    }
                    *active = saved;
                }
            }
        }
        Ok(())
    }

    /// What `Match host` tests: in the first pass `HostName` (`%h` expanded) once it is
    /// set, else the alias; in the final pass the final name.
    fn match_host(&self) -> String {
        match (&self.options.hostname, self.final_pass) {
            (Some(setting), false) => {
                expand_host(setting.first(), self.subject.alias).to_ascii_lowercase()
            }
            _ => self.host.to_ascii_lowercase(),
        }
    }

    fn facts<'b>(&'b self, host: &'b str) -> Facts<'b> {
        Facts {
            host,
            original: self.subject.alias,
            user: self
                .subject
                .user
                .or_else(|| self.options.user.as_ref().map(super::Setting::first))
                .unwrap_or(self.subject.local_user),
            local_user: self.subject.local_user,
            final_pass: self.final_pass,
        }
    }

    /// The settings wsdeploy uses that the block starting at `rest` would set now, as
    /// `Keyword value (file:line)`.
    fn decided_by(&mut self, rest: &[Item]) -> Vec<String> {
        let mut decided = Vec::new();
        self.collect_block(rest, &mut decided);
        decided
    }

    fn collect_block(&mut self, rest: &[Item], decided: &mut Vec<String>) -> bool {
        for item in rest {
            match item {
                Item::Host { .. } | Item::Match { .. } => return true,
                Item::Option { keyword, args, at } if self.options.would_take(keyword) => {
                    decided.push(format!(
                        "{} {} ({at})",
                        display_keyword(keyword),
                        args.join(" ")
                    ));
                }
                Item::Include { files } => {
                    for file in files {
                        self.collect_block(file, decided);
                    }
                }
                _ => {}
            }
        }
        false
    }

    fn check_unknown(&self, keyword: &str, at: &Location) -> Result<(), SshConfigError> {
        let lower = keyword.to_ascii_lowercase();
        if let Some(ignored) = &self.options.ignore_unknown
            && pattern_list(ignored.first(), &lower, true)
        {
            return Ok(());
        }
        Err(SshConfigError::UnknownOption {
            at: at.clone(),
            keyword: keyword.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ssh_config::SshConfig;

    fn subject(alias: &str) -> Subject<'_> {
        Subject {
            alias,
            user: None,
            local_user: "me",
        }
    }

    fn options_of(config: &str, alias: &str) -> Result<HostOptions, SshConfigError> {
        SshConfig::from_text(config, "cfg")
            .unwrap()
            .options_for_subject(&subject(alias), &[])
    }

    #[test]
    fn host_patterns_are_case_sensitive_and_match_hosts_are_not() {
        let config =
            "Host Upper\n  User up\nHost web*\n  Port 2\nMatch host WEB*\n  User matched\n";
        assert_eq!(
            options_of(config, "Upper").unwrap().user.unwrap().first(),
            "up"
        );
        assert!(options_of(config, "upper").unwrap().user.is_none());
        let options = options_of(config, "WEB2").unwrap();
        assert!(options.port.is_none());
        assert_eq!(options.user.unwrap().first(), "matched");
    }

    #[test]
    fn match_host_tests_the_host_name_and_originalhost_the_alias() {
        let config = "Host web\n  HostName 10.0.0.5\nMatch host 10.0.0.* originalhost web\n  ProxyJump b1\nMatch host web\n  User never\n";
        let options = options_of(config, "web").unwrap();
        assert_eq!(options.proxy.unwrap().1.first(), "b1");
        assert!(options.user.is_none());
    }

    #[test]
    fn match_user_sees_the_user_set_so_far_and_localuser_the_local_one() {
        let config = "Match user me\n  Port 2\nUser bob\nMatch user bob\n  Port 3\nMatch localuser me\n  IdentityFile ~/.ssh/local\n";
        let options = options_of(config, "x").unwrap();
        assert_eq!(options.port.unwrap().first(), "2");
        assert_eq!(options.identity_files[0].first(), "~/.ssh/local");
    }

    #[test]
    fn match_final_reparses_with_host_matching_the_host_name() {
        let config = "Host web\n  HostName 10.0.0.5\nHost 10.0.0.*\n  ProxyJump b1\nMatch canonical\n  User c\nMatch final\n  User f\n";
        let options = options_of(config, "web").unwrap();
        assert_eq!(options.proxy.unwrap().1.first(), "b1");
        assert_eq!(options.user.unwrap().first(), "c");
        // Without `final`, there is no second pass.
        let options = options_of(
            "Host web\n  HostName 10.0.0.5\nHost 10.0.0.*\n  ProxyJump b1\n",
            "web",
        )
        .unwrap();
        assert!(options.proxy.is_none());
    }

    #[test]
    fn match_exec_is_refused_only_where_it_decides_something() {
        let config = "Host truenas\n  HostName 172.16.10.10\nHost quiet\n  HostName 172.16.10.11\n  ProxyJump none\nMatch host 172.16.0.*,172.16.10.* !Exec \"ping -c1 172.16.0.1\"\n  ProxyJump gw\n  ForwardAgent yes\n";
        let error = options_of(config, "truenas").unwrap_err().to_string();
        assert!(
            error.starts_with("cfg:6: `Match host 172.16.0.*,172.16.10.* !Exec \"ping -c1 172.16.0.1\"` would run `ping -c1 172.16.0.1` to decide, for truenas, ProxyJump gw (cfg:7)"),
            "{error}"
        );
        // ProxyJump already decided: the exec decides nothing wsdeploy uses.
        assert!(options_of(config, "quiet").is_ok());
        // Another host name: the exec is never consulted.
        assert!(options_of(config, "elsewhere").is_ok());
    }

    #[test]
    fn unknown_keywords_fail_unless_ignored() {
        let error = options_of("Host *\n  UseKeychain yes\n", "x")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cfg:2: `UseKeychain` is not an option OpenSSH knows"),
            "{error}"
        );
        assert!(
            options_of(
                "IgnoreUnknown UseKeychain,AddKeysToAgent\nHost *\n  UseKeychain yes\n",
                "x"
            )
            .is_ok()
        );
        // An IgnoreUnknown in a block that does not apply does not count.
        assert!(options_of("Host zz\n  IgnoreUnknown foo\nfoo bar\n", "x").is_err());
    }
}
