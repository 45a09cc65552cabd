//! `ssh` command-line options as Ansible users write them in `ansible_ssh_common_args`
//! and `ansible_ssh_extra_args` (`-o Key=Value`, `-J`, `-p`, `-l`, `-i`), and the bastion
//! forms of `ProxyJump` (`[user@]host[:port],...`) and `ProxyCommand` (`ssh -W %h:%p
//! [options] [user@]host`, or `... host nc %h %p`).

use super::error::SshConfigError;
use super::parse::{Item, Location, parse_text, split_args};

/// What a host's ssh arguments say: settings taking precedence over `ssh_config`, and
/// options wsdeploy ignores (for one warning per run).
#[derive(Debug, Clone, Default)]
pub struct SshArgs {
    pub front: Vec<Item>,
    pub ignored: Vec<String>,
}

/// One hop of a jump chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// Options given for this hop only (`ProxyCommand`'s `ssh -o ... -i ...`).
    pub front: Vec<Item>,
    /// Hops before this one named on its own command (`ProxyCommand="ssh -J a -W ..."`).
    pub chain: Vec<JumpSpec>,
}

/// `-x` flags without an argument that mean nothing for wsdeploy's connections.
const FLAGS: &str = "46AaCfGgKkMNnqsTtVvXxYy";
/// Options taking an argument that wsdeploy does not act on.
const IGNORED_WITH_ARG: &str = "BbcDEeIILmOQRSWw";

/// Parses ssh arguments; `source` names them in messages (`ansible_ssh_common_args of
/// host web-1`).
///
/// # Errors
/// Unbalanced quotes, an option without its argument, `-F` (use wsdeploy's `-F`), a
/// stray argument, or an unusable `-o` value.
pub fn parse_ssh_args(text: &str, source: &str) -> Result<SshArgs, SshConfigError> {
    let at = Location::file(source);
    let refused = |why: String| SshConfigError::refused(&at, why);
    let words = split_args(text).map_err(|_| refused(format!("unclosed quote in `{text}`")))?;
    let mut parsed = SshArgs::default();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let Some(option) = word.strip_prefix('-').filter(|o| !o.is_empty()) else {
            return Err(refused(format!(
                "unexpected argument `{word}` (only ssh options such as `-o Key=Value` or `-J bastion` belong here)"
            )));
        };
        let letter = option.chars().next().unwrap_or('-');
        let attached = &option[letter.len_utf8()..];
        if FLAGS.contains(letter) && attached.chars().all(|c| FLAGS.contains(c)) {
            continue;
        }
        let mut value = || -> Result<String, SshConfigError> {
            if attached.is_empty() {
                words
                    .next()
                    .ok_or_else(|| refused(format!("`-{letter}` needs a value")))
            } else {
                Ok(attached.to_owned())
            }
        };
        match letter {
            'o' => {
                let value = value()?;
                let items = parse_text(&value, source, 0)
                    .map_err(|e| refused(format!("`-o {value}`: {}", e.message)))?;
                for item in items {
                    match &item {
                        Item::Option { keyword, .. }
                            if super::SUPPORTED_KEYWORDS.contains(&keyword.as_str())
                                && keyword != "include" =>
                        {
                            parsed.front.push(relocate(item, &at));
                        }
                        Item::Unknown { keyword, .. } => {
                            return Err(refused(format!(
                                "`-o {value}`: `{keyword}` is not an option OpenSSH knows (ssh refuses it: Bad configuration option)"
                            )));
                        }
                        Item::Host { .. } | Item::Match { .. } => {
                            return Err(refused(format!(
                                "`-o {value}`: `Host` and `Match` cannot be given as options (ssh refuses them too); write them in the ssh_config file"
                            )));
                        }
                        _ => parsed.ignored.push(format!("-o {value}")),
                    }
                }
            }
            'J' => parsed.front.push(option_item("proxyjump", value()?, &at)),
            'p' => parsed.front.push(option_item("port", value()?, &at)),
            'l' => parsed.front.push(option_item("user", value()?, &at)),
            'i' => parsed
                .front
                .push(option_item("identityfile", value()?, &at)),
            'F' => {
                return Err(refused(
                    "`-F` cannot be given per host; pass the file to wsdeploy's command instead: `wsdeploy apply -F FILE ...` (also drift, verify, rollback, backups, ssh-config)"
                        .to_owned(),
                ));
            }
            other if IGNORED_WITH_ARG.contains(other) => {
                let value = value()?;
                parsed.ignored.push(format!("-{other} {value}"));
            }
            _ => {
                return Err(refused(format!(
                    "unknown ssh option `{word}` (see `man ssh`; wsdeploy honours -o, -J, -p, -l, -i)"
                )));
            }
        }
    }
    Ok(parsed)
}

fn option_item(keyword: &str, value: String, at: &Location) -> Item {
    Item::Option {
        keyword: keyword.to_owned(),
        args: vec![value],
        at: at.clone(),
    }
}

fn relocate(item: Item, at: &Location) -> Item {
    match item {
        Item::Option { keyword, args, .. } => Item::Option {
            keyword,
            args,
            at: at.clone(),
        },
        other => other,
    }
}

/// The hops of a `ProxyJump` value (`none`: no hop).
///
/// # Errors
/// An empty hop or a bad port, naming `at`.
pub fn parse_proxy_jump(value: &str, at: &Location) -> Result<Vec<JumpSpec>, SshConfigError> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|hop| parse_destination(hop.trim(), at))
        .collect()
}

/// `[ssh://][user@]host[:port]` (IPv6 in brackets).
fn parse_destination(text: &str, at: &Location) -> Result<JumpSpec, SshConfigError> {
    let bad = |why: &str| SshConfigError::refused(at, format!("jump host `{text}`: {why}"));
    let rest = text.strip_prefix("ssh://").unwrap_or(text);
    let (user, rest) = match rest.rsplit_once('@') {
        Some((user, rest)) if !user.is_empty() => (Some(user.to_owned()), rest),
        Some(_) => return Err(bad("empty user name before `@`")),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        match inner.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, port)) => (host, port.strip_prefix(':').map(str::to_owned)),
            None => return Err(bad("unclosed `[`")),
        }
    } else if rest.matches(':').count() == 1 {
        let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
        (host, Some(port.to_owned()))
    } else {
        (rest, None)
    };
    if host.is_empty() {
        return Err(bad("no host name"));
    }
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(&format!("`{port}` is not a port number")))?,
        ),
    };
    Ok(JumpSpec {
        user,
        host: host.to_owned(),
        port,
        front: Vec::new(),
        chain: Vec::new(),
    })
}

/// The bastion of a `ProxyCommand` of the form `ssh [options] -W %h:%p [user@]host` (or
/// `ssh [options] [user@]host nc %h %p`); `none` gives `None`.
///
/// # Errors
/// Any other command, explained, naming `at`.
pub fn parse_proxy_command(value: &str, at: &Location) -> Result<Option<JumpSpec>, SshConfigError> {
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let refuse = |why: &str| {
        SshConfigError::refused(
            at,
            format!(
                "ProxyCommand `{value}` is not supported ({why}): wsdeploy understands the bastion form `ssh -W %h:%p [options] [user@]bastion`; or write `ProxyJump [user@]bastion[:port]`"
            ),
        )
    };
    let words = split_args(value).map_err(|_| refuse("unclosed quote"))?;
    let mut words = words.into_iter();
    let program = words.next().unwrap_or_default();
    if program.rsplit('/').next() != Some("ssh") {
        return Err(refuse("the command is not `ssh`"));
    }
    let mut forward = false;
    let mut destination: Option<String> = None;
    let mut options = Vec::new();
    let mut chain = Vec::new();
    let mut after_destination = Vec::new();
    let mut user = None;
    let mut port = None;
    while let Some(word) = words.next() {
        if destination.is_some() {
            after_destination.push(word);
            continue;
        }
        let Some(option) = word.strip_prefix('-').filter(|o| !o.is_empty()) else {
            destination = Some(word);
            continue;
        };
        let letter = option.chars().next().unwrap_or('-');
        let attached = &option[letter.len_utf8()..];
        if FLAGS.contains(letter) && attached.chars().all(|c| FLAGS.contains(c)) {
            continue;
        }
        let mut value = || -> Result<String, SshConfigError> {
            if attached.is_empty() {
                words
                    .next()
                    .ok_or_else(|| refuse(&format!("`-{letter}` without a value")))
            } else {
                Ok(attached.to_owned())
            }
        };
        match letter {
            'W' => {
                let target = value()?;
                if target != "%h:%p" && target != "[%h]:%p" {
                    return Err(refuse(&format!("`-W {target}` instead of `-W %h:%p`")));
                }
                forward = true;
            }
            'o' => options.push(format!("-o {}", shell_quote(&value()?))),
            'i' => options.push(format!("-i {}", shell_quote(&value()?))),
            'p' => port = Some(value()?),
            'l' => user = Some(value()?),
            'J' => chain = parse_proxy_jump(&value()?, at)?,
            other => return Err(refuse(&format!("option `-{other}`"))),
        }
    }
    let Some(destination) = destination else {
        return Err(refuse("no bastion host named"));
    };
    let nc = after_destination
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>();
    let nc_form = matches!(nc.as_slice(), ["nc" | "netcat" | "ncat", "%h", "%p"])
        || matches!(nc.as_slice(), ["--", "nc" | "netcat" | "ncat", "%h", "%p"]);
    let forwards = if forward { nc.is_empty() } else { nc_form };
    if !forwards {
        return Err(refuse("it does not forward to %h:%p"));
    }
    let mut spec = parse_destination(&destination, at)?;
    if spec.user.is_none() {
        spec.user = user;
    }
    if let Some(port) = port {
        spec.port = Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| refuse(&format!("`-p {port}` is not a port number")))?,
        );
    }
    if !options.is_empty() {
        let parsed = parse_ssh_args(&options.join(" "), &at.to_string())?;
        spec.front = parsed.front;
    }
    spec.chain = chain;
    Ok(Some(spec))
}

fn shell_quote(text: &str) -> String {
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Location {
        Location::file("test")
    }

    fn keywords(args: &SshArgs) -> Vec<(String, String)> {
        args.front
            .iter()
            .filter_map(|item| match item {
                Item::Option { keyword, args, .. } => Some((keyword.clone(), args.join(" "))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn common_args_of_the_field() {
        let args = parse_ssh_args(
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o 'ProxyCommand=ssh -W %h:%p -q admin@bastion' -o ControlMaster=auto -q -C -J j1,j2 -p2222",
            "args",
        )
        .unwrap();
        assert_eq!(
            keywords(&args),
            [
                ("stricthostkeychecking".to_owned(), "no".to_owned()),
                ("userknownhostsfile".to_owned(), "/dev/null".to_owned()),
                (
                    "proxycommand".to_owned(),
                    "ssh -W %h:%p -q admin@bastion".to_owned()
                ),
                ("proxyjump".to_owned(), "j1,j2".to_owned()),
                ("port".to_owned(), "2222".to_owned()),
            ]
        );
        assert_eq!(args.ignored, ["-o ControlMaster=auto"]);
    }

    #[test]
    fn bad_args_are_explained() {
        assert!(
            parse_ssh_args("-F other", "x")
                .unwrap_err()
                .to_string()
                .contains("`wsdeploy apply -F FILE ...`")
        );
        assert!(
            parse_ssh_args("bastion", "x")
                .unwrap_err()
                .to_string()
                .contains("unexpected argument `bastion`")
        );
        assert!(
            parse_ssh_args("-o", "x")
                .unwrap_err()
                .to_string()
                .contains("needs a value")
        );
    }

    #[test]
    fn proxy_jump_lists() {
        let hops = parse_proxy_jump("a, bob@b:2200,ssh://c@[::1]:22", &at()).unwrap();
        assert_eq!(hops.len(), 3);
        assert_eq!(
            (hops[1].user.as_deref(), hops[1].port),
            (Some("bob"), Some(2200))
        );
        assert_eq!(hops[2].host, "::1");
        assert!(parse_proxy_jump("none", &at()).unwrap().is_empty());
        assert!(
            parse_proxy_jump("a:x", &at())
                .unwrap_err()
                .to_string()
                .contains("not a port")
        );
    }

    #[test]
    fn proxy_command_bastion_forms() {
        let spec = parse_proxy_command("ssh -W %h:%p -q -p 2201 -i ~/k admin@bastion", &at())
            .unwrap()
            .unwrap();
        assert_eq!(
            (spec.user.as_deref(), spec.host.as_str(), spec.port),
            (Some("admin"), "bastion", Some(2201))
        );
        assert_eq!(spec.front.len(), 1);
        let nc = parse_proxy_command("/usr/bin/ssh -l u b nc %h %p", &at())
            .unwrap()
            .unwrap();
        assert_eq!((nc.user.as_deref(), nc.host.as_str()), (Some("u"), "b"));
        assert!(parse_proxy_command("none", &at()).unwrap().is_none());
        for bad in [
            "nc -X 5 -x proxy:1080 %h %p",
            "ssh -W other:22 bastion",
            "ssh bastion",
            "ssh -W %h:%p",
        ] {
            let err = parse_proxy_command(bad, &at()).unwrap_err().to_string();
            assert!(err.contains("is not supported"), "{bad}: {err}");
        }
    }
}
