//! Patching the operator's own location for a WebSocket instead of replacing it.
//!
//! The location that already answers the snippet's path is found as nginx finds it for that URI (top-level
//! locations of the server only): `location = /path`; else a `^~` prefix equal to the path; else the first regular
//! expression that matches the path (it would shadow a new prefix location); else a prefix equal to the path. A
//! `location /path/` (which does not match `/path?...`) counts too when nothing else does: its path is corrected.
//! A regular-expression snippet (`location ~ ^/ws/(.*)$`) is found only under its own words.
//!
//! The patch corrects what the WebSocket needs (`proxy_http_version 1.1`, `proxy_set_header Upgrade`,
//! `proxy_set_header Connection`) and adds what is missing: those, `proxy_pass` when the location has none, and a
//! header of the snippet that the location neither sets nor inherits (a header set to the client's own value,
//! `Origin $http_origin`, is a no-op and takes the snippet's value). Everything else (its upstream,
//! `set $upstream …; proxy_pass $upstream`, `Host $http_host`, `X-Frappe-Site-Name $host`, timeouts, other
//! headers) stays byte-identical. A new line goes where the snippet has it (before the next directive of the
//! snippet that the location has), else after the location's simple directives. A location that sets no header
//! of its own inherits the server's `proxy_set_header` lines; giving it its own would drop them, so they are
//! copied in first.

use regex::RegexBuilder;

use super::identity::identity;
use super::print::{Style, render_item};
use super::text::{line_indent, starts_its_line};
use super::tree::{Config, Directive, Node, directives_of};
use super::upstream::{common_port, server_port, target_address};
use crate::edit::lossless::{
    self, Splice, insert_lines, line_start, next_line_start, with_line_ending,
};

/// An existing location that answers the snippet's path.
#[derive(Debug, Clone, Copy)]
pub struct Existing<'c> {
    pub location: &'c Directive,
    /// `location /path/`: the path is set to the snippet's.
    pub fix_path: bool,
}

/// `(modifier, path)` of a location: `location = /a`, `location =/a`, `location ^~ /a`, `location ~* re`.
fn modifier_and_path(location: &Directive) -> Option<(&str, &str)> {
    match (location.arg(0), location.arg(1)) {
        (Some(modifier), Some(path)) => Some((modifier, path)),
        (Some(word), None) => Some(match word {
            _ if word.starts_with("^~") => ("^~", &word[2..]),
            _ if word.starts_with('=') => ("=", &word[1..]),
            _ => ("", word),
        }),
        _ => None,
    }
}

fn is_regex(modifier: &str) -> bool {
    modifier == "~" || modifier == "~*"
}

/// The location of `body` that answers the path of the snippet's `item`, if any.
pub fn existing_location<'c>(body: &'c [Node], item: &Directive) -> Option<Existing<'c>> {
    let locations: Vec<&'c Directive> = directives_of(body)
        .filter(|d| d.name() == "location" && d.is_block())
        .collect();
    let (modifier, path) = modifier_and_path(item)?;
    let found = |location: &'c Directive| {
        Some(Existing {
            location,
            fix_path: false,
        })
    };
    if is_regex(modifier) {
        let wanted = identity(item);
        return locations
            .into_iter()
            .find(|l| identity(l) == wanted)
            .and_then(found);
    }
    let parts: Vec<(&'c Directive, &str, &str)> = locations
        .iter()
        .filter_map(|l| modifier_and_path(l).map(|(m, p)| (*l, m, p)))
        .collect();
    let same = |wanted: &[&str]| {
        parts
            .iter()
            .find(|(_, m, p)| *p == path && wanted.contains(m))
            .map(|(l, _, _)| *l)
    };
    if let Some(exact) = same(&["="]) {
        return found(exact);
    }
    if let Some(prefix) = same(&["^~"]) {
        return found(prefix);
    }
    let regex = parts.iter().find(|(_, m, p)| {
        is_regex(m)
            && RegexBuilder::new(p)
                .case_insensitive(*m == "~*")
                .build()
                .is_ok_and(|re| re.is_match(path))
    });
    if let Some((location, _, _)) = regex {
        return found(location);
    }
    if let Some(prefix) = same(&[""]) {
        return found(prefix);
    }
    let with_slash = format!("{path}/");
    parts
        .iter()
        .find(|(_, m, p)| *p == with_slash && !is_regex(m))
        .map(|(location, _, _)| Existing {
            location,
            fix_path: true,
        })
}

/// What a directive of the snippet is to the WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Essential {
    Pass,
    HttpVersion,
    Upgrade,
    Connection,
}

fn essential(directive: &Directive) -> Option<Essential> {
    let header = directive.arg(0).map(str::to_ascii_lowercase);
    match (directive.name(), header.as_deref()) {
        ("proxy_pass", _) => Some(Essential::Pass),
        ("proxy_http_version", _) => Some(Essential::HttpVersion),
        ("proxy_set_header", Some("upgrade")) => Some(Essential::Upgrade),
        ("proxy_set_header", Some("connection")) => Some(Essential::Connection),
        _ => None,
    }
}

/// Whether an existing directive already does what the WebSocket needs.
fn already_right(kind: Essential, existing: &Directive) -> bool {
    let value = existing.arg(1).unwrap_or_default().to_ascii_lowercase();
    match kind {
        Essential::Pass => true,
        Essential::HttpVersion => existing.arg(0) == Some("1.1"),
        Essential::Upgrade => value == "$http_upgrade" || value == "websocket",
        Essential::Connection => value.contains("upgrade") || value == "$http_connection",
    }
}

/// What the location needs for one directive of the snippet.
enum Need<'c> {
    Nothing,
    Replace(&'c Directive),
    Add,
}

/// `proxy_set_header Origin $http_origin`: the client's own header, which nginx passes on anyway (not `Host`,
/// which nginx replaces by `$proxy_host`, nor the hop-by-hop `Connection`/`Upgrade`).
fn passes_through(header: &Directive) -> bool {
    let (Some(name), Some(value)) = (header.arg(0), header.arg(1)) else {
        return false;
    };
    let replaced_by_nginx = ["host", "connection", "upgrade", "keep-alive", "te"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h));
    !replaced_by_nginx && value.eq_ignore_ascii_case(&format!("$http_{}", name.replace('-', "_")))
}

/// The WebSocket essentials are added or corrected; `proxy_pass` is added when the location has none; a header
/// the location neither sets nor inherits is added, and one it sets to the client's own value (a no-op) takes the
/// snippet's value; everything else the location has stays.
fn need<'c>(
    wanted: &Directive,
    found: Option<&'c Directive>,
    location: &Directive,
    inherited: &[&Directive],
    wanted_port: Option<u16>,
) -> Need<'c> {
    match (essential(wanted), found) {
        (Some(Essential::Pass), Some(found))
            if wanted_port.is_some()
                && literal_port(found).is_some_and(|p| Some(p) != wanted_port) =>
        {
            Need::Replace(found)
        }
        (Some(Essential::Pass), _) if has_proxy_pass(location) => Need::Nothing,
        (Some(kind), Some(found)) if !already_right(kind, found) => Need::Replace(found),
        (Some(_), Some(_)) => Need::Nothing,
        (Some(_), None) => Need::Add,
        (None, _) if wanted.name() != "proxy_set_header" || passes_through(wanted) => Need::Nothing,
        (None, Some(found)) if passes_through(found) => Need::Replace(found),
        (None, Some(_)) => Need::Nothing,
        (None, None) => {
            let key = identity(wanted);
            if inherited.iter().any(|d| identity(d) == key) {
                Need::Nothing
            } else {
                Need::Add
            }
        }
    }
}

/// The port of a `proxy_pass http(s)://HOST:PORT…` that names its address literally (no variable, no upstream
/// name: those are the operator's to decide).
fn literal_port(proxy_pass: &Directive) -> Option<u16> {
    let address = target_address(proxy_pass.arg(0)?)?;
    let has_port = address.starts_with('[') && address.contains("]:")
        || !address.starts_with('[') && address.contains(':');
    if address.contains('$') || address.starts_with("unix:") || !has_port {
        return None;
    }
    server_port(address)
}

/// The port the snippet's `proxy_pass` reaches: its literal address's, or that of the snippet's own upstream it
/// names when all of that upstream's servers share one port.
fn snippet_port(snippet: &Config, item: &Directive) -> Option<u16> {
    let pass = item.directives().find(|d| d.name() == "proxy_pass")?;
    if let Some(port) = literal_port(pass) {
        return Some(port);
    }
    let name = target_address(pass.arg(0)?)?;
    let upstream = snippet
        .directives()
        .find(|d| d.name() == "upstream" && d.arg(0) == Some(name))?;
    common_port(upstream)
}

fn has_proxy_pass(block: &Directive) -> bool {
    block
        .directives()
        .any(|d| d.name() == "proxy_pass" || (d.is_block() && has_proxy_pass(d)))
}

/// The text with `existing` patched for the WebSocket from the snippet's `item` (equal to `text` when the location
/// already has everything). `server` is the body holding the location.
pub fn patch_location(
    text: &str,
    server: &[Node],
    existing: Existing<'_>,
    snippet: &Config,
    item: &Directive,
    style: &Style,
) -> String {
    let location = existing.location;
    let own: Vec<&Directive> = location.directives().collect();
    let child_indent = own
        .iter()
        .find(|d| starts_its_line(text, d.span.start))
        .map_or_else(
            || format!("{}{}", line_indent(text, location.span.start), style.unit),
            |d| line_indent(text, d.span.start).to_string(),
        );
    let inherited = inherited_headers(&own, server);
    let wanted_items: Vec<&Directive> = item.directives().filter(|d| !d.is_block()).collect();
    let own_match = |wanted: &Directive| {
        let key = identity(wanted);
        own.iter().find(|d| identity(d) == key).copied()
    };
    let wanted_port = snippet_port(snippet, item);
    let mut splices = Vec::new();
    let mut added: Vec<(usize, String)> = Vec::new();
    for (index, wanted) in wanted_items.iter().enumerate() {
        match need(wanted, own_match(wanted), location, &inherited, wanted_port) {
            Need::Nothing => {}
            Need::Replace(found) => splices.push(Splice::replace(
                found.span.start..found.span.end,
                render_item(snippet, wanted, line_indent(text, found.span.start), style),
            )),
            Need::Add => added.push((index, render_item(snippet, wanted, &child_indent, style))),
        }
    }
    let (before, at_end) = place(text, &own, &wanted_items, &inherited, added, style);
    splices.extend(before);
    if existing.fix_path
        && let Some((_, path)) = modifier_and_path(item)
        && let Some(word) = location.args.last()
    {
        splices.push(Splice::replace(word.span.start..word.span.end, path));
    }
    if !at_end.is_empty() {
        splices.push(insertion(
            text,
            location,
            &own,
            &child_indent,
            &at_end,
            style,
        ));
    }
    lossless::apply(text, splices)
}

/// Headers the location inherits from the server: all of the server's `proxy_set_header` lines when the location
/// sets none of its own (and includes no file that might).
fn inherited_headers<'c>(own: &[&Directive], server: &'c [Node]) -> Vec<&'c Directive> {
    let sets_headers = own
        .iter()
        .any(|d| d.name() == "proxy_set_header" || d.name() == "include");
    if sets_headers {
        return Vec::new();
    }
    directives_of(server)
        .filter(|d| d.name() == "proxy_set_header")
        .filter(|d| {
            !matches!(
                essential(d),
                Some(Essential::Upgrade | Essential::Connection)
            )
        })
        .collect()
}

/// Where the added lines go: each before the next directive of the snippet that the location has (on its own
/// line), the others (and the inherited headers copied in) after the location's simple directives.
fn place(
    text: &str,
    own: &[&Directive],
    wanted_items: &[&Directive],
    inherited: &[&Directive],
    added: Vec<(usize, String)>,
    style: &Style,
) -> (Vec<Splice>, Vec<String>) {
    let own_match = |wanted: &Directive| {
        let key = identity(wanted);
        own.iter().find(|d| identity(d) == key).copied()
    };
    let copy_inherited = !inherited.is_empty()
        && added
            .iter()
            .any(|(i, _)| wanted_items[*i].name() == "proxy_set_header");
    let mut at_end: Vec<String> = Vec::new();
    if copy_inherited {
        at_end.extend(
            inherited
                .iter()
                .map(|d| with_line_ending(&text[d.span.start..d.span.end], style.eol)),
        );
    }
    let mut before: Vec<(usize, String)> = Vec::new();
    for (index, rendered) in added {
        // Where the snippet has it: before the first later directive of the snippet that the location has.
        let anchor = wanted_items[index + 1..]
            .iter()
            .find_map(|later| own_match(later))
            .filter(|d| !copy_inherited && starts_its_line(text, d.span.start));
        match anchor {
            Some(next) => {
                let indent = line_indent(text, next.span.start);
                let line = format!("{indent}{rendered}{}", style.eol);
                let at = line_start(text, next.span.start);
                match before.iter_mut().find(|(offset, _)| *offset == at) {
                    Some((_, lines)) => lines.push_str(&line),
                    None => before.push((at, line)),
                }
            }
            None => at_end.push(rendered),
        }
    }
    let before = before
        .into_iter()
        .map(|(at, lines)| Splice::insert(at, lines))
        .collect();
    (before, at_end)
}

/// New lines after the location's last simple directive before its first block (or after its `{`).
fn insertion(
    text: &str,
    location: &Directive,
    own: &[&Directive],
    indent: &str,
    lines: &[String],
    style: &Style,
) -> Splice {
    let eol = style.eol;
    let body = lines
        .iter()
        .map(|line| format!("{indent}{line}"))
        .collect::<Vec<_>>()
        .join(eol);
    let after = own
        .iter()
        .take_while(|d| !d.is_block())
        .last()
        .map(|d| d.span.end);
    let after = after.or_else(|| location.braces().map(|(open, _)| open.end));
    let Some(after) = after else {
        return Splice::insert(location.span.end, "");
    };
    // The rest of that line (a trailing comment) stays on it.
    let line_end = next_line_start(text, after);
    let rest = text[after..line_end].trim();
    if rest.is_empty() || rest.starts_with('#') {
        insert_lines(text, line_end, &body, eol)
    } else {
        let closing_indent = line_indent(text, location.span.start);
        let gap = text[after..].len() - text[after..].trim_start().len();
        if text[after + gap..].starts_with('}') {
            return Splice::replace(
                after..after + gap,
                format!("{eol}{body}{eol}{closing_indent}"),
            );
        }
        Splice::insert(after, format!("{eol}{body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    const ODOO: &str = "location /websocket {\n    proxy_pass http://backend;\n    proxy_http_version 1.1;\n    \
                        proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection $connection_upgrade;\n    \
                        proxy_set_header Host $host;\n}\n";

    fn patched(site: &str, snippet: &str) -> String {
        let config = parse(site).unwrap();
        let snippet = parse(snippet).unwrap();
        let item = snippet.directives().next().unwrap();
        let server = config.directives().next().unwrap();
        let existing = existing_location(server.children(), item).expect("an existing location");
        let out = patch_location(
            site,
            server.children(),
            existing,
            &snippet,
            item,
            &Style::of(&config),
        );
        parse(&out).unwrap();
        out
    }

    #[test]
    fn finds_the_location_nginx_uses_for_the_path() {
        let find = |site: &str| {
            let config = parse(site).unwrap();
            let snippet = parse(ODOO).unwrap();
            let item = snippet.directives().next().unwrap();
            let server = config.directives().next().unwrap();
            existing_location(server.children(), item)
                .map(|e| (config.position(e.location.span.start).column, e.fix_path))
        };
        assert_eq!(
            find("server { location / {} location = /websocket {} }"),
            Some((24, false))
        );
        assert_eq!(
            find("server { location /websocket {} location ~ ^/web {} }"),
            Some((33, false))
        );
        assert_eq!(
            find("server { location ~* \\.js$ {} location ^~ /websocket {} }"),
            Some((31, false))
        );
        assert_eq!(find("server { location /websocket/ {} }"), Some((10, true)));
        assert_eq!(
            find("server { location / {} location /websocketx {} }"),
            None
        );
    }

    #[test]
    fn a_literal_proxy_pass_to_another_port_is_corrected_and_a_variable_or_upstream_name_is_kept() {
        let snippet = "location /websocket {\n    proxy_pass http://backend_odoo_longpolling;\n    \
                       proxy_http_version 1.1;\n}\nupstream backend_odoo_longpolling { server 127.0.0.1:8072; }\n";
        let wrong = "server {\n  location /websocket {\n    proxy_pass http://odoo:8069;\n    proxy_http_version 1.1;\n  }\n}\n";
        assert_eq!(
            patched(wrong, snippet),
            wrong.replace("http://odoo:8069", "http://backend_odoo_longpolling")
        );
        let right = wrong.replace("8069", "8072");
        assert_eq!(patched(&right, snippet), right);
        for kept in [
            "$upstream",
            "http://odoochat",
            "http://[::1]/x",
            "http://unix:/run/odoo.sock",
        ] {
            let site = wrong.replace("http://odoo:8069", kept);
            assert_eq!(patched(&site, snippet), site, "{kept}");
        }
        let literal = "location /websocket {\n    proxy_pass http://127.0.0.1:8072;\n}\n";
        let to_8069 =
            "server {\n  location /websocket {\n    proxy_pass http://[::1]:8069/;\n  }\n}\n";
        assert_eq!(
            patched(to_8069, literal),
            to_8069.replace("http://[::1]:8069/", "http://127.0.0.1:8072")
        );
    }

    #[test]
    fn keeps_the_operators_upstream_and_adds_only_what_the_websocket_needs() {
        let site = "server {\n  location /websocket {\n    set $upstream http://odoo:8072;\n    proxy_pass   \
                    $upstream;\n    proxy_set_header Host $http_host;\n    proxy_read_timeout 720s;\n  }\n}\n";
        assert_eq!(
            patched(site, ODOO),
            "server {\n  location /websocket {\n    set $upstream http://odoo:8072;\n    proxy_pass   $upstream;\n    \
             proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection \
             $connection_upgrade;\n    proxy_set_header Host $http_host;\n    proxy_read_timeout 720s;\n  }\n}\n"
        );
    }

    #[test]
    fn a_correct_location_stays_byte_identical_and_wrong_values_are_corrected_in_place() {
        let correct = "server {\n\tlocation = /websocket {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t\t\
                       proxy_http_version 1.1;\n\t\tproxy_set_header Upgrade $http_upgrade;\n\t\t\
                       proxy_set_header Connection \"upgrade\";\n\t\tproxy_set_header Host $http_host;\n\t}\n}";
        assert_eq!(patched(correct, ODOO), correct);
        let wrong = correct
            .replace("1.1", "1.0")
            .replace("\"upgrade\"", "close")
            .replace("= /websocket", "/websocket/");
        assert_eq!(
            patched(&wrong, ODOO),
            correct
                .replace("= /websocket", "/websocket")
                .replace("\"upgrade\"", "$connection_upgrade")
        );
    }

    #[test]
    fn a_missing_header_goes_where_the_snippet_has_it_and_a_pass_through_one_takes_the_snippets_value()
     {
        let snippet = "location /socket.io {\n    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    \
                       proxy_set_header Connection \"upgrade\";\n    proxy_set_header X-Frappe-Site-Name site1.local;\n    \
                       proxy_set_header Origin $scheme://$http_host;\n    proxy_set_header Host $host;\n\n    \
                       proxy_pass http://socketio;\n}\n";
        let bench = "server {\n\tlocation /socket.io {\n\t\tproxy_http_version 1.1;\n\t\tproxy_set_header Upgrade \
                     $http_upgrade;\n\t\tproxy_set_header Connection \"upgrade\";\n\t\tproxy_set_header X-Frappe-Site-Name \
                     site1.local;\n\t\tproxy_set_header Origin $scheme://$http_host;\n\t\tproxy_set_header Host $host;\n\n\t\t\
                     proxy_pass http://socketio;\n\t}\n}\n";
        let damaged = bench.replace(
            "\t\tproxy_set_header X-Frappe-Site-Name site1.local;\n\t\tproxy_set_header Origin $scheme://$http_host;",
            "\t\tproxy_set_header Origin $http_origin;",
        );
        assert_eq!(patched(&damaged, snippet), bench);
        // A multi-tenant bench's `$host` is the operator's choice and stays.
        let tenant = bench.replace("X-Frappe-Site-Name site1.local", "X-Frappe-Site-Name $host");
        assert_eq!(patched(&tenant, snippet), tenant);
    }

    #[test]
    fn a_location_without_headers_of_its_own_keeps_the_servers_headers() {
        let site = "server {\n    proxy_set_header Host $host;\n    proxy_set_header X-Real-IP $remote_addr;\n    \
                    location /websocket { proxy_pass http://odoochat; }\n}\n";
        assert_eq!(
            patched(site, ODOO),
            "server {\n    proxy_set_header Host $host;\n    proxy_set_header X-Real-IP $remote_addr;\n    \
             location /websocket { proxy_pass http://odoochat;\n        proxy_set_header Host $host;\n        \
             proxy_set_header X-Real-IP $remote_addr;\n        proxy_http_version 1.1;\n        \
             proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection $connection_upgrade;\n    \
             }\n}\n"
        );
    }
}
