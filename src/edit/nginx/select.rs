//! Which server block nginx uses for a request to a host name on a port.
//!
//! nginx's own order ("How nginx processes a request", `server_name` docs): among the servers listening on the
//! port, the exact `server_name`; else the longest leading wildcard (`*.example.com`, `.example.com`); else the
//! longest trailing wildcard (`www.example.*`); else the first regular expression (`~...`, in configuration order)
//! that matches; else the `default_server` of that port; else the first server listening on it. Names compare
//! case-insensitively; `_`, an IP address or no `server_name` are names that simply do not match a domain.
//!
//! Listen addresses as nginx binds them: a request to an IP address some server listens on explicitly goes to those
//! servers; a request to a name (its address unknown here) goes to the servers listening on every address, or,
//! when the port has none, to every server on it.

use std::net::IpAddr;

use regex::RegexBuilder;

use super::listen::Listen;
use super::tree::{Config, Directive};

/// A server block of the effective configuration.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'c> {
    /// The file holding it (as `nginx -T` names it).
    pub path: &'c str,
    pub config: &'c Config,
    pub server: &'c Directive,
}

/// Why nginx picks a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ExactName,
    LeadingWildcard,
    TrailingWildcard,
    Regex,
    DefaultServer,
    FirstOnPort,
}

impl Reason {
    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::ExactName => "its server_name",
            Reason::LeadingWildcard => "its leading wildcard server_name",
            Reason::TrailingWildcard => "its trailing wildcard server_name",
            Reason::Regex => "its regular-expression server_name",
            Reason::DefaultServer => {
                "it is the default_server of the port (no server_name matches)"
            }
            Reason::FirstOnPort => {
                "it is the first server on the port (no server_name matches, no default_server)"
            }
        }
    }
}

/// Whether the server listens on `port`.
pub fn listens_on(server: &Directive, port: u16) -> bool {
    Listen::of_server(server).iter().any(|l| l.port == port)
}

/// The index of the server nginx uses for `host` on `port`, and why; `None` when no server listens on the port.
pub fn pick(candidates: &[Candidate<'_>], host: &str, port: u16) -> Option<(usize, Reason)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let in_group = address_group(candidates, &host, port);
    let on_port: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            Listen::of_server(candidates[i].server)
                .iter()
                .any(|l| l.port == port && in_group(l))
        })
        .collect();
    let names = |i: usize| server_names(candidates[i].server);
    if let Some(&i) = on_port.iter().find(|&&i| names(i).contains(&host)) {
        return Some((i, Reason::ExactName));
    }
    let longest = |matcher: fn(&str, &str) -> Option<usize>| {
        on_port
            .iter()
            .filter_map(|&i| {
                names(i)
                    .iter()
                    .filter_map(|n| matcher(n, &host))
                    .max()
                    .map(|len| (len, i))
            })
            .fold(None, |best: Option<(usize, usize)>, (len, i)| match best {
                Some((best_len, _)) if best_len >= len => best,
                _ => Some((len, i)),
            })
            .map(|(_, i)| i)
    };
    if let Some(i) = longest(leading_wildcard) {
        return Some((i, Reason::LeadingWildcard));
    }
    if let Some(i) = longest(trailing_wildcard) {
        return Some((i, Reason::TrailingWildcard));
    }
    if let Some(&i) = on_port
        .iter()
        .find(|&&i| names(i).iter().any(|n| regex_matches(n, &host)))
    {
        return Some((i, Reason::Regex));
    }
    if let Some(&i) = on_port.iter().find(|&&i| {
        Listen::of_server(candidates[i].server)
            .iter()
            .any(|l| l.port == port && in_group(l) && l.default_server)
    }) {
        return Some((i, Reason::DefaultServer));
    }
    on_port.first().map(|&i| (i, Reason::FirstOnPort))
}

/// Which listens receive the request, as nginx binds them: a request to an IP address that some server listens on
/// explicitly (`listen 203.0.113.10:80`) goes to those servers only; a request to a name goes to the servers
/// listening on every address (`listen 80`, `[::]:80`) when there are any, else to every server on the port.
fn address_group(candidates: &[Candidate<'_>], host: &str, port: u16) -> impl Fn(&Listen) -> bool {
    let listens: Vec<Listen> = candidates
        .iter()
        .flat_map(|c| Listen::of_server(c.server))
        .filter(|l| l.port == port)
        .collect();
    let address = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Some(ip.to_string()),
        Ok(IpAddr::V6(ip)) => Some(format!("[{ip}]")),
        Err(_) => None,
    };
    let explicit = address.filter(|a| listens.iter().any(|l| l.address.as_ref() == Some(a)));
    let any_wildcard = listens.iter().any(|l| l.address.is_none());
    move |listen: &Listen| match (&explicit, any_wildcard) {
        (Some(address), _) => listen.address.as_ref() == Some(address),
        (None, true) => listen.address.is_none(),
        (None, false) => true,
    }
}

/// The server's names, lowercased (regular expressions as written).
pub fn server_names(server: &Directive) -> Vec<String> {
    server
        .directives()
        .filter(|d| d.name() == "server_name")
        .flat_map(|d| d.args.iter())
        .map(|w| {
            if w.value.starts_with('~') {
                w.value.clone()
            } else {
                w.value.to_ascii_lowercase()
            }
        })
        .collect()
}

/// `*.example.com` / `.example.com` matching `host`: the length of the fixed part.
fn leading_wildcard(name: &str, host: &str) -> Option<usize> {
    let suffix = name
        .strip_prefix("*.")
        .map(|s| (s, false))
        .or_else(|| name.strip_prefix('.').map(|s| (s, true)));
    let (base, matches_base) = suffix?;
    if base.is_empty() || base.contains('*') {
        return None;
    }
    let matched = (matches_base && host == base)
        || host
            .strip_suffix(base)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.'));
    matched.then_some(base.len())
}

/// `www.example.*` matching `host`: the length of the fixed part.
fn trailing_wildcard(name: &str, host: &str) -> Option<usize> {
    let base = name.strip_suffix(".*")?;
    if base.is_empty() || base.contains('*') {
        return None;
    }
    host.strip_prefix(base)
        .is_some_and(|tail| tail.len() > 1 && tail.starts_with('.'))
        .then_some(base.len())
}

fn regex_matches(name: &str, host: &str) -> bool {
    let Some(pattern) = name.strip_prefix('~') else {
        return false;
    };
    // PCRE's `(?<name>...)` and `(?P<name>...)` are both understood by the regex crate.
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .is_ok_and(|re| re.is_match(host))
}

/// Whether the server only sends clients to https (`return 301 https://…`, `rewrite … https://… permanent`,
/// also inside a server-level `if` or `location /`) and proxies nothing: such a server is never the one to edit.
pub fn only_redirects_to_https(server: &Directive) -> bool {
    let redirects = |d: &Directive| match d.name() {
        "return" => {
            d.arg(0)
                .is_some_and(|code| ["301", "302", "303", "307", "308"].contains(&code))
                && d.arg(1).is_some_and(|url| url.starts_with("https://"))
        }
        "rewrite" => d.arg(1).is_some_and(|url| url.starts_with("https://")),
        _ => false,
    };
    let redirect_here = server.directives().any(|d| {
        redirects(d)
            || (d.name() == "if" && d.directives().any(redirects))
            || (d.name() == "location" && d.arg(0) == Some("/") && d.directives().any(redirects))
    });
    redirect_here && !proxies(server)
}

/// Whether a block or anything nested in it hands requests to a backend.
fn proxies(block: &Directive) -> bool {
    block.directives().any(|d| {
        matches!(
            d.name(),
            "proxy_pass" | "fastcgi_pass" | "uwsgi_pass" | "scgi_pass" | "grpc_pass"
        ) || (d.is_block() && proxies(d))
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn picked(text: &str, host: &str, port: u16) -> Option<(usize, Reason)> {
        let config = parse(text).unwrap();
        let servers: Vec<Candidate<'_>> = config
            .directives()
            .filter(|d| d.name() == "server")
            .map(|server| Candidate {
                path: "/s",
                config: &config,
                server,
            })
            .collect();
        pick(&servers, host, port)
    }

    #[test]
    fn exact_then_wildcards_then_regex_then_default_then_first() {
        let text = "server { listen 80; server_name ~^w.*\\.example\\.com$; }\n\
                    server { listen 80; server_name www.example.*; }\n\
                    server { listen 80; server_name *.example.com; }\n\
                    server { listen 80; server_name *.www.example.com; }\n\
                    server { listen 80 default_server; server_name _; }\n\
                    server { listen 80; server_name WWW.example.com; }\n";
        assert_eq!(
            picked(text, "www.example.com", 80),
            Some((5, Reason::ExactName))
        );
        assert_eq!(
            picked(text, "a.www.example.com", 80),
            Some((3, Reason::LeadingWildcard))
        );
        assert_eq!(
            picked(text, "web.example.com", 80),
            Some((2, Reason::LeadingWildcard))
        );
        assert_eq!(
            picked(text, "www.example.org", 80),
            Some((1, Reason::TrailingWildcard))
        );
        assert_eq!(
            picked(text, "wx.example.com.", 80),
            Some((2, Reason::LeadingWildcard))
        );
        assert_eq!(
            picked(text, "other.test", 80),
            Some((4, Reason::DefaultServer))
        );
        assert_eq!(picked(text, "other.test", 443), None);
        let regex_only = "server { listen 80; server_name a.test; }\n\
                          server { listen 80; server_name ~^(?<sub>.+)\\.example\\.net$; }\n";
        assert_eq!(
            picked(regex_only, "x.example.net", 80),
            Some((1, Reason::Regex))
        );
        assert_eq!(
            picked(regex_only, "example.net", 80),
            Some((0, Reason::FirstOnPort))
        );
    }

    #[test]
    fn a_request_goes_to_the_servers_of_its_listen_address() {
        let text = "server { listen 127.0.0.1:80; server_name a.test; }\n\
                    server { listen 80; server_name b.test; }\n\
                    server { listen 80 default_server; server_name c.test; }\n\
                    server { listen 203.0.113.10:80; server_name d.test; }\n";
        // A name arrives at an address nobody binds explicitly: the wildcard servers.
        assert_eq!(picked(text, "a.test", 80), Some((2, Reason::DefaultServer)));
        assert_eq!(picked(text, "b.test", 80), Some((1, Reason::ExactName)));
        // An IP bound explicitly: its own servers only.
        assert_eq!(
            picked(text, "203.0.113.10", 80),
            Some((3, Reason::FirstOnPort))
        );
        assert_eq!(
            picked(text, "127.0.0.1", 80),
            Some((0, Reason::FirstOnPort))
        );
        // Only address-specific listens on the port: all of them.
        let local = "server { listen 127.0.0.1:8080; server_name a.test; }\n";
        assert_eq!(picked(local, "a.test", 8080), Some((0, Reason::ExactName)));
    }

    #[test]
    fn servers_are_filtered_by_port_and_servers_without_listen_are_on_80() {
        let text = "server { server_name _; }\nserver { listen 443 ssl; server_name a.test; }\n\
                    server { listen [::]:8443 ssl default_server; }\n";
        assert_eq!(picked(text, "a.test", 80), Some((0, Reason::FirstOnPort)));
        assert_eq!(picked(text, "a.test", 443), Some((1, Reason::ExactName)));
        assert_eq!(
            picked(text, "a.test", 8443),
            Some((2, Reason::DefaultServer))
        );
        let dot = "server { listen 80; server_name .example.com; }\n";
        assert_eq!(
            picked(dot, "example.com", 80),
            Some((0, Reason::LeadingWildcard))
        );
    }
}
