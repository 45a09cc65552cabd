//! Reusing the operator's upstream: a snippet's `upstream` is not defined when the chosen server already
//! proxies to an upstream that reaches the same port.
//!
//! The rule, for each `upstream NAME { server …; }` of the snippet whose servers all name one port P:
//! - when NAME is already defined in a file nginx loads (or in the edited file), nothing is reused (the snippet is
//!   ensured as given);
//! - the candidates are the upstreams defined in `http` in any file of the include graph (`nginx -T`, with the
//!   edited file's current text in place of its dumped one) that the chosen server block names in a
//!   `proxy_pass http://NAME…` / `https://NAME…` (in any of its locations), whose every `server` is on port P
//!   (`host:P`, `[v6]:P`, a bare host is port 80; `unix:` never matches) and whose name is a plain word;
//! - exactly one candidate: the snippet's upstream is dropped and its `proxy_pass http://NAME…` name the
//!   candidate; none: the snippet is ensured as given; several: the snippet is ensured as given, with a comment in
//!   the new upstream naming them (the operator picks by editing the location).
//!
//! An upstream of another site that the chosen server does not use is never taken, even on the same port: nginx
//! may serve several applications that listen on the same port on other hosts.

use super::context::{Context, ContextKind};
use super::dump::Effective;
use super::parse::parse;
use super::target::{Container, ServerChoice, server_target};
use super::tree::{Config, Directive, directives_of};

/// The snippet with each of its `upstream` blocks reused (see the module's rule) for the server block `context`
/// picks in the file at `path` (text `text`). Unchanged when `context` is not a server or when the file or the
/// snippet does not parse or no server is picked (`ensure` then reports it).
#[must_use]
pub fn reuse_in_snippet(
    path: &str,
    text: &str,
    file_top: ContextKind,
    context: &Context,
    snippet: &str,
    others: &Effective,
) -> String {
    let Context::Server {
        server_name,
        listen,
        request,
    } = context
    else {
        return snippet.to_owned();
    };
    let (Ok(config), Ok(parsed)) = (parse(text), parse(snippet)) else {
        return snippet.to_owned();
    };
    let choice = ServerChoice::of(server_name, listen, request);
    let Ok(chosen) = server_target(path, &config, file_top, choice, others) else {
        return snippet.to_owned();
    };
    let Container::Block(server) = chosen.server.container else {
        return snippet.to_owned();
    };
    let names: Vec<String> = parsed
        .directives()
        .filter(|d| d.name() == "upstream" && d.is_block())
        .filter_map(|d| d.arg(0).map(str::to_owned))
        .collect();
    let mut current = snippet.to_owned();
    for name in names {
        let Ok(parsed) = parse(&current) else {
            break;
        };
        let Some(wanted) = parsed
            .directives()
            .find(|d| d.name() == "upstream" && d.is_block() && d.arg(0) == Some(name.as_str()))
        else {
            continue;
        };
        let reuse = decide(path, &config, file_top, server, wanted, others);
        current = apply(&parsed, wanted, &reuse);
    }
    current
}

/// An `upstream` block defined in http, with the ports of its servers (`None` for one that has no TCP port).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Defined {
    name: String,
    ports: Vec<Option<u16>>,
}

/// The port of an upstream `server` address: `host:port`, `[v6]:port`, a bare host or `[v6]` (80); `None` for
/// `unix:` sockets and what is not an address.
#[must_use]
pub fn server_port(address: &str) -> Option<u16> {
    if address.starts_with("unix:") || address.is_empty() {
        return None;
    }
    let after_host = if let Some(rest) = address.strip_prefix('[') {
        &rest[rest.find(']')? + 1..]
    } else {
        match address.rfind(':') {
            Some(colon) => &address[colon..],
            None => "",
        }
    };
    match after_host.strip_prefix(':') {
        Some(port) => port.parse().ok().filter(|p| *p > 0),
        None if after_host.is_empty() => Some(80),
        None => None,
    }
}

/// The upstream a `proxy_pass` target names (`http://NAME`, `https://NAME/uri`), when it names one: no port, no
/// variable.
fn upstream_of_target(target: &str) -> Option<&str> {
    let name = target_address(target)?;
    plain_name(name).then_some(name)
}

/// What a `proxy_pass` target names after its scheme and before its URI (`http://odoo:8069/x` → `odoo:8069`);
/// `None` for a target that is neither `http://` nor `https://`.
pub(super) fn target_address(target: &str) -> Option<&str> {
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))?;
    Some(rest.split('/').next().unwrap_or_default())
}

/// The one port every `server` of an `upstream` block is on, if there is one.
pub(super) fn common_port(upstream: &Directive) -> Option<u16> {
    defined(upstream)?.common_port()
}

impl Defined {
    fn common_port(&self) -> Option<u16> {
        match self.ports.as_slice() {
            [Some(first), rest @ ..] if rest.iter().all(|p| *p == Some(*first)) => Some(*first),
            _ => None,
        }
    }
}

/// A name that can stand as one nginx word anywhere (the only names reused).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn defined(upstream: &Directive) -> Option<Defined> {
    let name = upstream.arg(0)?.to_owned();
    let ports = upstream
        .directives()
        .filter(|d| d.name() == "server")
        .map(|d| d.arg(0).and_then(server_port))
        .collect();
    Some(Defined { name, ports })
}

/// The upstream blocks a file defines in http (its top level when nginx loads it in http, else its `http` blocks).
fn upstreams_of(config: &Config, file_top: ContextKind) -> Vec<Defined> {
    let in_body = |nodes| {
        directives_of(nodes)
            .filter(|d| d.name() == "upstream" && d.is_block())
            .filter_map(defined)
            .collect::<Vec<_>>()
    };
    match file_top {
        ContextKind::Http => in_body(config.nodes()),
        ContextKind::Main => config
            .directives()
            .filter(|d| d.name() == "http" && d.is_block())
            .flat_map(|http| in_body(http.children()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every upstream nginx loads: the edited file's (from its current text) and those of the other files of `others`.
fn every_upstream(
    path: &str,
    config: &Config,
    file_top: ContextKind,
    others: &Effective,
) -> Vec<Defined> {
    let mut all = upstreams_of(config, file_top);
    for file in others.files() {
        let Some(role) = &file.role else { continue };
        if file.path == path || file.config.source() == config.source() {
            continue;
        }
        all.extend(upstreams_of(&file.config, role.context));
    }
    all
}

/// The upstream names a server's `proxy_pass` lines name, anywhere in it.
fn proxied_names(block: &Directive, out: &mut Vec<String>) {
    for directive in block.directives() {
        if directive.name() == "proxy_pass"
            && let Some(name) = directive.arg(0).and_then(upstream_of_target)
            && !out.iter().any(|known| known == name)
        {
            out.push(name.to_owned());
        } else if directive.is_block() {
            proxied_names(directive, out);
        }
    }
}

/// What to do with one upstream of the snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    /// Ensure it as given.
    Keep,
    /// Do not define it; name this upstream instead.
    Existing(String),
    /// Ensure it as given: these upstreams of the server all reach its port.
    Ambiguous(Vec<String>),
}

/// What to do with the snippet's `upstream` block `wanted`, for the server block `server` of the file at `path`.
#[must_use]
pub fn decide(
    path: &str,
    config: &Config,
    file_top: ContextKind,
    server: &Directive,
    wanted: &Directive,
    others: &Effective,
) -> Reuse {
    let Some(own) = defined(wanted) else {
        return Reuse::Keep;
    };
    let Some(port) = own.common_port() else {
        return Reuse::Keep;
    };
    let all = every_upstream(path, config, file_top, others);
    if all.iter().any(|u| u.name == own.name) {
        return Reuse::Keep;
    }
    let mut used = Vec::new();
    proxied_names(server, &mut used);
    let mut found: Vec<String> = Vec::new();
    for upstream in &all {
        let reaches = !upstream.ports.is_empty() && upstream.ports.iter().all(|p| *p == Some(port));
        if reaches
            && used.contains(&upstream.name)
            && plain_name(&upstream.name)
            && !found.contains(&upstream.name)
        {
            found.push(upstream.name.clone());
        }
    }
    match found.len() {
        0 => Reuse::Keep,
        1 => Reuse::Existing(found.remove(0)),
        _ => Reuse::Ambiguous(found),
    }
}

/// The snippet's text with the decision applied to its upstream `wanted`: when reused, the upstream's text is
/// removed and each `proxy_pass` naming it names the existing one; when ambiguous, a comment in the upstream
/// names the candidates.
#[must_use]
pub fn apply(snippet: &Config, wanted: &Directive, reuse: &Reuse) -> String {
    let source = snippet.source();
    let Some(name) = wanted.arg(0) else {
        return source.to_owned();
    };
    let mut splices: Vec<(usize, usize, String)> = Vec::new();
    match reuse {
        Reuse::Keep => {}
        Reuse::Ambiguous(names) => {
            if let Some((open, _)) = wanted.braces() {
                let port = wanted
                    .directives()
                    .find(|d| d.name() == "server")
                    .and_then(|d| d.arg(0))
                    .and_then(server_port)
                    .map_or_else(String::new, |p| format!(" {p}"));
                splices.push((
                    open.end,
                    open.end,
                    format!(
                        "\n# the server already proxies to several upstreams on port{port} ({}): \
                         this one is added; name yours in the location to use it instead",
                        names.join(", ")
                    ),
                ));
            }
        }
        Reuse::Existing(existing) => {
            let mut end = wanted.span.end;
            while source[end..].starts_with([' ', '\t', '\r']) {
                end += 1;
            }
            if source[end..].starts_with('\n') {
                end += 1;
            }
            splices.push((wanted.span.start, end, String::new()));
            for item in snippet.directives() {
                rename_targets(item, name, existing, &mut splices);
            }
        }
    }
    splices.sort_by_key(|splice| std::cmp::Reverse(splice.0));
    let mut out = source.to_owned();
    for (start, end, text) in splices {
        out.replace_range(start..end, &text);
    }
    out
}

/// Splices renaming `http://from…` to `http://to…` in every `proxy_pass` of `block` (itself included).
fn rename_targets(
    block: &Directive,
    from: &str,
    to: &str,
    splices: &mut Vec<(usize, usize, String)>,
) {
    if block.name() == "proxy_pass"
        && let Some(word) = block.args.first()
        && upstream_of_target(&word.value) == Some(from)
    {
        let (scheme, rest) = word.value.split_at(word.value.find("://").unwrap_or(0) + 3);
        let uri = &rest[from.len()..];
        splices.push((word.span.start, word.span.end, format!("{scheme}{to}{uri}")));
    }
    for child in block.directives() {
        rename_targets(child, from, to, splices);
    }
}

#[cfg(test)]
mod tests {
    use super::super::context::Request;
    use super::super::ensure::ensure_reusing_upstreams;
    use super::*;

    const SNIPPET: &str = "upstream backend_odoo_longpolling {\n    server 127.0.0.1:8072;\n}\nlocation /websocket {\n    \
                           proxy_pass http://backend_odoo_longpolling;\n    proxy_http_version 1.1;\n}\n";
    const SITE: &str = "/etc/nginx/conf.d/odoo.conf";

    fn for_host(host: &str) -> Context {
        Context::Server {
            server_name: None,
            listen: None,
            request: Some(Request {
                host: host.to_owned(),
                port: 80,
            }),
        }
    }

    /// nginx.conf (with `http_extra` in its http block) including the site file `site`, as `nginx -T` shows them.
    fn graph(http_extra: &str, site: &str) -> Effective {
        Effective::from_files(vec![
            (
                "/etc/nginx/nginx.conf".to_owned(),
                format!(
                    "events {{}}\nhttp {{\n{http_extra}    include /etc/nginx/conf.d/*.conf;\n}}\n"
                ),
            ),
            (SITE.to_owned(), site.to_owned()),
        ])
        .expect("graph")
    }

    /// The site edited with the snippet, checked to be in sync on a second run.
    fn edit(http_extra: &str, site: &str) -> String {
        let once = ensure_reusing_upstreams(
            SITE,
            site,
            ContextKind::Http,
            &for_host("erp.example.com"),
            SNIPPET,
            &graph(http_extra, site),
        )
        .expect("edit");
        let twice = ensure_reusing_upstreams(
            SITE,
            &once,
            ContextKind::Http,
            &for_host("erp.example.com"),
            SNIPPET,
            &graph(http_extra, &once),
        )
        .expect("edit again");
        assert_eq!(twice, once, "a second edit changed the text");
        once
    }

    const USES_LONGPOLLING: &str = "server {\n    listen 80;\n    server_name erp.example.com;\n    \
                                    location /longpolling {\n        proxy_pass http://odoo_longpolling;\n    }\n}\n";

    #[test]
    fn names_the_upstream_of_nginx_conf_the_server_already_uses_and_defines_none() {
        let nginx_conf = "    upstream odoo_longpolling {\n        server odoo:8072 max_fails=3 fail_timeout=30s;\n        \
             keepalive 32;\n    }\n";
        let out = edit(nginx_conf, USES_LONGPOLLING);
        assert_eq!(
            out,
            "server {\n    listen 80;\n    server_name erp.example.com;\n    location /longpolling {\n        \
             proxy_pass http://odoo_longpolling;\n    }\n\n    location /websocket {\n        \
             proxy_pass http://odoo_longpolling;\n        proxy_http_version 1.1;\n    }\n}\n"
        );
    }

    #[test]
    fn keeps_the_snippets_upstream_when_no_upstream_of_the_server_reaches_the_port() {
        for upstream in [
            // Another port.
            "    upstream odoo_longpolling {\n        server odoo:8069;\n    }\n",
            // A unix socket never matches, nor an upstream with one server elsewhere.
            "    upstream odoo_longpolling {\n        server unix:/run/odoo.sock;\n    }\n",
            "    upstream odoo_longpolling {\n        server odoo:8072;\n        server odoo2:8069;\n    }\n",
            // The right port, but the chosen server does not use it (another site's).
            "    upstream other_site {\n        server other:8072;\n    }\n",
        ] {
            let out = edit(upstream, USES_LONGPOLLING);
            assert!(
                out.starts_with(
                    "upstream backend_odoo_longpolling {\n    server 127.0.0.1:8072;\n}\n"
                ),
                "{upstream}: {out}"
            );
            assert!(
                out.contains("proxy_pass http://backend_odoo_longpolling;"),
                "{out}"
            );
        }
    }

    #[test]
    fn an_upstream_already_defined_under_the_snippets_name_is_kept() {
        let site = format!(
            "upstream backend_odoo_longpolling {{\n    server 127.0.0.1:8072;\n}}\n{USES_LONGPOLLING}"
        );
        let out = edit(
            "    upstream odoo_longpolling {\n        server odoo:8072;\n    }\n",
            &site,
        );
        assert!(
            out.contains(
                "location /websocket {\n        proxy_pass http://backend_odoo_longpolling;"
            ),
            "{out}"
        );
        assert_eq!(out.matches("upstream ").count(), 1, "{out}");
    }

    #[test]
    fn several_upstreams_of_the_server_on_the_port_keep_the_snippets_and_say_so() {
        let site = "upstream chat_a {\n    server a:8072;\n}\nupstream chat_b {\n    server [::1]:8072;\n}\n\
                    server {\n    listen 80;\n    location /a {\n        proxy_pass http://chat_a/a;\n    }\n    \
                    location /b {\n        proxy_pass https://chat_b;\n    }\n}\n";
        let out = edit("", site);
        assert!(
            out.starts_with(
                "upstream backend_odoo_longpolling {\n    # the server already proxies to several upstreams on port 8072 \
                 (chat_a, chat_b): this one is added; name yours in the location to use it instead\n    \
                 server 127.0.0.1:8072;\n}\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_uri_after_the_upstream_name_is_kept() {
        let snippet =
            parse("upstream new {\n    server h:9000;\n}\nlocation /x {\n    proxy_pass https://new/ws/;\n}\n").expect("parse");
        let wanted = snippet.directives().next().expect("upstream");
        assert_eq!(
            apply(&snippet, wanted, &Reuse::Existing("old".to_owned())),
            "location /x {\n    proxy_pass https://old/ws/;\n}\n"
        );
    }

    #[test]
    fn reads_the_port_of_an_upstream_server_address() {
        assert_eq!(server_port("odoo:8072"), Some(8072));
        assert_eq!(server_port("127.0.0.1:8072"), Some(8072));
        assert_eq!(server_port("[::1]:8072"), Some(8072));
        assert_eq!(server_port("[::1]"), Some(80));
        assert_eq!(server_port("odoo"), Some(80));
        assert_eq!(server_port("unix:/run/odoo.sock"), None);
        assert_eq!(server_port("odoo:http"), None);
        assert_eq!(server_port("odoo:0"), None);
    }

    #[test]
    fn reads_the_upstream_a_proxy_pass_names() {
        assert_eq!(upstream_of_target("http://odoochat"), Some("odoochat"));
        assert_eq!(upstream_of_target("https://odoo/web/health"), Some("odoo"));
        assert_eq!(upstream_of_target("http://odoo:8072"), None);
        assert_eq!(upstream_of_target("$upstream"), None);
        assert_eq!(upstream_of_target("http://$host"), None);
        assert_eq!(upstream_of_target("http://unix:/tmp/a.sock"), None);
    }
}
