//! Rebinding a published port of a docker-compose service to one address (`127.0.0.1`),
//! as a splice into the original text.
//!
//! Only the bytes of the edited `ports:` entries change: comments, quoting, indentation and
//! key order stay as written. A short-syntax entry (`"8069:8069"`, `8069:8069/tcp`,
//! `"0.0.0.0:8069:8069"`, `"8069"`) gets the address in front (`"127.0.0.1:8069:8069"`,
//! `"127.0.0.1::8069"`); a long-syntax entry (`target: 8069`) gets its `host_ip` value
//! replaced, or a `host_ip:` line added after its last key. An entry already bound to an
//! address is left alone, so a second run changes nothing.
//!
//! The locator reads block-style YAML line by line (the layout of compose files); whatever
//! it cannot rewrite safely is refused with its line and column: anchors, aliases and merge
//! keys in the service, `extends:`, flow-style `ports: [...]` or `{...}` entries, port ranges that cover
//! the port, `${VAR}` interpolation in an entry for the port, tags and block scalars. As a
//! last guard the result is parsed again (serde-saphyr) and must equal the original
//! everywhere outside the service's `ports`.

use std::net::IpAddr;

use serde_json::Value;

use crate::edit::lossless::{self, Line, Splice, insert_lines_after};

/// Why a compose file was not edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ComposeError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// What the editor reads from a line of block-style YAML.
trait YamlLine {
    /// The number of leading spaces.
    fn indent(&self) -> usize;
    /// Whether the line holds something other than blanks or a comment.
    fn is_content(&self) -> bool;
}

impl YamlLine for Line<'_> {
    fn indent(&self) -> usize {
        self.content.len() - self.content.trim_start_matches(' ').len()
    }
    fn is_content(&self) -> bool {
        let t = self.content.trim();
        !t.is_empty() && !t.starts_with('#')
    }
}

fn fail(line: usize, column: usize, message: impl Into<String>) -> ComposeError {
    ComposeError {
        line: line + 1,
        column: column + 1,
        message: message.into(),
    }
}

const ANCHOR: &str = "an anchor, alias, tag, block scalar or flow value in a `ports` entry: the value may be shared with other entries or services, so it is not rewritten; write the entry out as a plain or quoted value, then run again";

/// Binds every entry of `service`'s `ports:` that publishes `container_port` on all
/// addresses to `bind`, and returns the new text (equal to `text` when nothing needs it).
///
/// # Errors
/// A [`ComposeError`] (line and column in `text`) when the file is not YAML, the service is
/// missing, or an entry for the port is written in a form this editor does not rewrite.
pub fn bind_ports(
    text: &str,
    service: &str,
    container_port: u16,
    bind: &str,
) -> Result<String, ComposeError> {
    let bind_ip: IpAddr = bind.parse().map_err(|_| {
        fail(
            0,
            0,
            format!("`bind: {bind}` is not an IP address (use 127.0.0.1)"),
        )
    })?;
    let before = parse(text)?;
    let lines = lossless::lines(text);
    let newline = lossless::line_ending(text);
    let (first, last, child_indent) = service_block(&lines, service)?;
    let mut splices = Vec::new();
    let mut ports = None;
    for (i, line) in lines.iter().enumerate().take(last).skip(first) {
        if !line.is_content() {
            continue;
        }
        if line.indent() != child_indent {
            continue;
        }
        let Some((key, rest, _)) = key_of(line.content.trim_start()) else {
            continue;
        };
        if key == "extends" {
            return Err(fail(
                i,
                line.indent(),
                format!(
                    "service `{service}` uses `extends:`, whose service's ports are added to these and are not edited here: bind the port in the extended service (or write the service out), then run again"
                ),
            ));
        }
        if key == "<<" {
            return Err(fail(
                i,
                line.indent(),
                format!(
                    "service `{service}` uses a merge key (`<<:`), which may bring in `ports`: write the service's ports out in it, then run again"
                ),
            ));
        }
        if key == "ports" {
            let rest_col = line.content.len() - rest.len();
            let value = strip_comment(rest).trim();
            if value == "[]" {
                continue;
            }
            if !value.is_empty() {
                return Err(fail(
                    i,
                    rest_col + (rest.len() - rest.trim_start().len()),
                    format!(
                        "`ports:` of `{service}` is written as `{value}` (flow style, anchor or alias), which this edit does not rewrite: write it as a block list (`- \"{container_port}:{container_port}\"` lines), then run again"
                    ),
                ));
            }
            ports = Some(i);
        }
    }
    if let Some(ports_line) = ports {
        let items = port_items(&lines, ports_line, last, child_indent)?;
        for item in items {
            rewrite_item(
                &lines,
                &item,
                container_port,
                bind_ip,
                newline,
                &mut splices,
            )?;
        }
    }
    if splices.is_empty() {
        return Ok(text.to_owned());
    }
    let out = lossless::apply(text, splices);
    let after = parse(&out).map_err(|e| {
        fail(
            0,
            0,
            format!("internal: the edited file does not parse ({e}); the file was left as is"),
        )
    })?;
    let count = |doc: &Value| {
        doc.get("services")
            .and_then(|s| s.get(service))
            .and_then(|s| s.get("ports"))
            .and_then(Value::as_array)
            .map(Vec::len)
    };
    if count(&before) != count(&after)
        || strip_ports(before, service) != strip_ports(after, service)
    {
        return Err(fail(
            0,
            0,
            "internal: the edit changed more than the service's ports; the file was left as is",
        ));
    }
    Ok(out)
}

fn parse(text: &str) -> Result<Value, ComposeError> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
        ComposeError {
            line,
            column,
            message: format!(
                "not valid YAML: {}",
                e.to_string().lines().next().unwrap_or_default()
            ),
        }
    })
}

fn strip_ports(mut doc: Value, service: &str) -> Value {
    if let Some(svc) = doc
        .get_mut("services")
        .and_then(|s| s.get_mut(service))
        .and_then(Value::as_object_mut)
    {
        svc.remove("ports");
    }
    doc
}

/// The lines `first..last` of the service's mapping and the indentation of its keys.
fn service_block(lines: &[Line<'_>], service: &str) -> Result<(usize, usize, usize), ComposeError> {
    let services = lines
        .iter()
        .position(|l| {
            l.is_content()
                && l.indent() == 0
                && key_of(l.content.trim_start_matches('\u{feff}'))
                    .is_some_and(|k| k.0 == "services")
        })
        .ok_or_else(|| {
            fail(
                0,
                0,
                "no top-level `services:` key: is this a docker-compose file?",
            )
        })?;
    let (_, rest, _) =
        key_of(lines[services].content.trim_start_matches('\u{feff}')).unwrap_or(("", "", 0));
    let value = strip_comment(rest).trim();
    if !value.is_empty() {
        return Err(fail(
            services,
            lines[services].content.len() - rest.trim_start().len(),
            format!(
                "`services:` is written as `{value}` (flow style, anchor or alias): write the services as a block mapping, then run again"
            ),
        ));
    }
    let end = block_end(lines, services + 1, 0);
    let svc_indent = lines[services + 1..end]
        .iter()
        .find(|l| l.is_content())
        .map(Line::indent)
        .ok_or_else(|| {
            fail(
                services,
                0,
                format!("`services:` is empty: there is no service `{service}`"),
            )
        })?;
    let mut names = Vec::new();
    for i in services + 1..end {
        let l = &lines[i];
        if !l.is_content() || l.indent() != svc_indent {
            continue;
        }
        let Some((key, rest, _)) = key_of(l.content.trim_start()) else {
            continue;
        };
        if key != service {
            names.push(key.to_owned());
            continue;
        }
        let value = strip_comment(rest).trim();
        if !value.is_empty() {
            return Err(fail(
                i,
                l.content.len() - rest.trim_start().len(),
                format!(
                    "service `{service}` is written as `{value}` (an anchor, alias or flow mapping): write it as a block mapping, then run again"
                ),
            ));
        }
        let last = block_end(lines, i + 1, svc_indent);
        let child = lines[i + 1..last]
            .iter()
            .find(|l| l.is_content())
            .map_or(svc_indent + 2, Line::indent);
        return Ok((i + 1, last, child));
    }
    Err(fail(
        services,
        0,
        format!(
            "no service `{service}` under `services:` (found: {}): set the service name",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// The end (exclusive) of the block that starts at `from` and holds lines indented more
/// than `parent`; trailing comments and blank lines are left outside.
fn block_end(lines: &[Line<'_>], from: usize, parent: usize) -> usize {
    let mut end = from;
    for (i, l) in lines.iter().enumerate().skip(from) {
        if !l.is_content() {
            continue;
        }
        if l.indent() <= parent {
            break;
        }
        end = i + 1;
    }
    end
}

/// `key: rest` at the start of `s` (plain or quoted key): the key, the text after the
/// colon, and the length of `key:`.
fn key_of(s: &str) -> Option<(&str, &str, usize)> {
    let (key, after) = if let Some(q @ ('"' | '\'')) = s.chars().next() {
        let close = s[1..].find(q)? + 1;
        (&s[1..close], &s[close + 1..])
    } else {
        let colon = s.find(':')?;
        let key = &s[..colon];
        if key.contains(['#', '{', '[', '"', '\'']) || key.trim() != key || key.is_empty() {
            return None;
        }
        (key, &s[colon..])
    };
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, rest, s.len() - rest.len()))
}

/// The text before a ` #` comment (quotes respected).
fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev_space => return &s[..i],
            None => {}
        }
        prev_space = c == ' ' || c == '\t';
    }
    s
}

/// One entry of the `ports:` list: its lines `first..last` and the column after `- `.
struct Item {
    first: usize,
    last: usize,
    value_col: usize,
}

fn port_items(
    lines: &[Line<'_>],
    ports_line: usize,
    end: usize,
    child_indent: usize,
) -> Result<Vec<Item>, ComposeError> {
    let mut items: Vec<Item> = Vec::new();
    let mut item_indent = None;
    for (i, l) in lines.iter().enumerate().take(end).skip(ports_line + 1) {
        if !l.is_content() {
            continue;
        }
        let indent = l.indent();
        let body = &l.content[indent..];
        let is_dash = body == "-" || body.starts_with("- ");
        if indent < child_indent || (indent == child_indent && !is_dash) {
            break;
        }
        let own = *item_indent.get_or_insert(indent);
        if indent == own {
            if !is_dash {
                return Err(fail(
                    i,
                    indent,
                    "expected a `- ` list entry under `ports:` (flow-style or other layouts are not rewritten): write one `- ` entry per line, then run again",
                ));
            }
            let after = &body[1..];
            let value_col = indent + 1 + (after.len() - after.trim_start().len());
            items.push(Item {
                first: i,
                last: i + 1,
                value_col,
            });
        } else if indent > own {
            if let Some(item) = items.last_mut() {
                item.last = i + 1;
            }
        } else {
            break;
        }
    }
    Ok(items)
}

fn rewrite_item(
    lines: &[Line<'_>],
    item: &Item,
    port: u16,
    bind: IpAddr,
    newline: &str,
    splices: &mut Vec<Splice>,
) -> Result<(), ComposeError> {
    let head = &lines[item.first];
    let value = &head.content[item.value_col.min(head.content.len())..];
    if value.trim().is_empty() || value.trim_start().starts_with('#') {
        return Err(fail(
            item.first,
            item.value_col,
            "a `-` entry with its value on the next lines: write the entry on the dash's line, then run again",
        ));
    }
    if value.starts_with(['&', '*']) {
        return Err(fail(item.first, item.value_col, ANCHOR));
    }
    if let Some(c) = value
        .chars()
        .next()
        .filter(|c| matches!(c, '{' | '[' | '!' | '|' | '>'))
    {
        return Err(fail(
            item.first,
            item.value_col,
            format!(
                "a `ports` entry starting with `{c}` (flow style, tag or block scalar) is not rewritten: write it as \"HOST:CONTAINER\" or as a block mapping with `target:`, then run again"
            ),
        ));
    }
    if key_of(value).is_some() {
        return rewrite_long(lines, item, port, bind, newline, splices);
    }
    let scalar = scalar_at(item.first, item.value_col, value)?;
    if item.last > item.first + 1 {
        return Err(fail(
            item.first + 1,
            lines[item.first + 1].indent(),
            "a `ports` entry that continues on the next line is not rewritten: write it on one line, then run again",
        ));
    }
    let Some(new) =
        rewrite_short(&scalar.text, port, bind).map_err(|m| fail(item.first, item.value_col, m))?
    else {
        return Ok(());
    };
    let start = head.start + item.value_col + scalar.inner.0;
    splices.push(Splice::replace(
        start..head.start + item.value_col + scalar.inner.1,
        new,
    ));
    Ok(())
}

/// A scalar as written: its value and the byte range of the value inside the quotes.
struct Scalar {
    text: String,
    inner: (usize, usize),
}

fn scalar_at(line: usize, col: usize, s: &str) -> Result<Scalar, ComposeError> {
    if let Some(q @ ('"' | '\'')) = s.chars().next() {
        let close = s[1..]
            .find(q)
            .map(|c| c + 1)
            .ok_or_else(|| fail(line, col, "unterminated quoted value"))?;
        let inner = &s[1..close];
        if (q == '"' && inner.contains('\\')) || (q == '\'' && s[close + 1..].starts_with('\'')) {
            return Err(fail(
                line,
                col,
                "a quoted `ports` value with escapes is not rewritten: write it without escapes, then run again",
            ));
        }
        let rest = s[close + 1..].trim_start();
        if !(rest.is_empty() || rest.starts_with('#')) {
            return Err(fail(
                line,
                col + close + 1,
                format!("unexpected `{rest}` after the quoted value"),
            ));
        }
        return Ok(Scalar {
            text: inner.to_owned(),
            inner: (1, close),
        });
    }
    let plain = strip_comment(s).trim_end();
    Ok(Scalar {
        text: plain.to_owned(),
        inner: (0, plain.len()),
    })
}

fn all_addresses(ip: &str) -> bool {
    matches!(ip, "" | "0.0.0.0" | "::" | "[::]")
}

fn has_port(part: &str, port: u16, what: &str) -> Result<bool, String> {
    if part.contains('$') {
        return Err(format!(
            "the {what} `{part}` uses variable interpolation, so the entry may publish {port}: write the port out (or bind the address in the file yourself), then run again"
        ));
    }
    if let Some((lo, hi)) = part.split_once('-') {
        let (lo, hi) = (lo.trim().parse::<u16>(), hi.trim().parse::<u16>());
        return match (lo, hi) {
            (Ok(lo), Ok(hi)) if (lo..=hi).contains(&port) => Err(format!(
                "the {what} `{part}` is a port range that covers {port}: split out a single entry for {port}, then run again"
            )),
            (Ok(_), Ok(_)) => Ok(false),
            _ => Err(format!(
                "cannot read the {what} `{part}` as a port or port range"
            )),
        };
    }
    part.trim()
        .parse::<u16>()
        .map(|p| p == port)
        .map_err(|_| format!("cannot read the {what} `{part}` as a port"))
}

/// The short-syntax value with the address bound, or `None` when the entry is not for the
/// port or is bound to an address already.
fn rewrite_short(value: &str, port: u16, bind: IpAddr) -> Result<Option<String>, String> {
    let (spec, proto) = match value.split_once('/') {
        Some((s, p)) => (s, Some(p)),
        None => (value, None),
    };
    let (ip, rest) = if let Some(v6) = spec.strip_prefix('[') {
        let (ip, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("cannot read `{value}`: unterminated `[`"))?;
        let after = after
            .strip_prefix(':')
            .ok_or_else(|| format!("cannot read `{value}`: expected `:` after `]`"))?;
        (Some(ip.to_owned()), after.to_owned())
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() >= 3 {
            let n = parts.len();
            (Some(parts[..n - 2].join(":")), parts[n - 2..].join(":"))
        } else {
            (None, spec.to_owned())
        }
    };
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (Some(h), c),
        None => (None, rest.as_str()),
    };
    if !has_port(container, port, "container port")? {
        return Ok(None);
    }
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        if h.contains('$') {
            return Err(format!(
                "the published port `{h}` uses variable interpolation: write the port out (or bind the address in the file yourself), then run again"
            ));
        }
        if h.contains('-') {
            return Err(format!(
                "the published port `{h}` is a port range: write a single published port for {port}, then run again"
            ));
        }
        if h.parse::<u16>().is_err() {
            return Err(format!(
                "cannot read `{h}` in `{value}` as a published port (the forms are PORT, HOST:PORT and IP:HOST:PORT): fix the entry, then run again"
            ));
        }
    }
    match ip.as_deref() {
        Some(a) if a.contains('$') => {
            return Err(format!(
                "the address `{a}` uses variable interpolation: write it out, then run again"
            ));
        }
        Some(a) if !all_addresses(a) => return Ok(None),
        _ => {}
    }
    let addr = match bind {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    let proto = proto.map(|p| format!("/{p}")).unwrap_or_default();
    Ok(Some(format!(
        "{addr}:{}:{container}{proto}",
        host.unwrap_or("")
    )))
}

fn rewrite_long(
    lines: &[Line<'_>],
    item: &Item,
    port: u16,
    bind: IpAddr,
    newline: &str,
    splices: &mut Vec<Splice>,
) -> Result<(), ComposeError> {
    let key_col = item.value_col;
    let mut target = None;
    let mut host_ip = None;
    let mut last_key = item.first;
    for (i, l) in lines.iter().enumerate().take(item.last).skip(item.first) {
        if !l.is_content() {
            continue;
        }
        let col = if i == item.first { key_col } else { l.indent() };
        if col != key_col {
            return Err(fail(
                i,
                col,
                "unexpected indentation inside a long-syntax `ports` entry: align its keys under the first one, then run again",
            ));
        }
        let body = &l.content[col..];
        let Some((key, rest, key_len)) = key_of(body) else {
            return Err(fail(
                i,
                col,
                "expected `key: value` inside a long-syntax `ports` entry",
            ));
        };
        last_key = i;
        let lead = rest.len() - rest.trim_start().len();
        let value_col = col + key_len + lead;
        if rest
            .trim_start()
            .starts_with(['&', '*', '!', '|', '>', '{', '['])
        {
            return Err(fail(i, value_col, ANCHOR));
        }
        let scalar = scalar_at(i, value_col, rest.trim_start())?;
        match key {
            "target" => target = Some((i, value_col, scalar)),
            "host_ip" => host_ip = Some((i, value_col, scalar)),
            "published" => check_published(i, value_col, &scalar)?,
            _ => {}
        }
    }
    let Some((ti, tcol, t)) = target else {
        return Err(fail(
            item.first,
            key_col,
            "a long-syntax `ports` entry without `target:`",
        ));
    };
    if !has_port(&t.text, port, "target").map_err(|m| fail(ti, tcol, m))? {
        return Ok(());
    }
    let addr = bind.to_string();
    match host_ip {
        Some((hi, hcol, h)) => set_host_ip(lines, hi, hcol, &h, addr, splices),
        None => {
            splices.push(add_host_ip(&lines[last_key], key_col, &addr, newline));
            Ok(())
        }
    }
}

/// A long-syntax `published:` the file can keep: one port written out.
fn check_published(i: usize, value_col: usize, scalar: &Scalar) -> Result<(), ComposeError> {
    if scalar.text.contains('$') {
        return Err(fail(
            i,
            value_col,
            format!(
                "`published: {}` uses variable interpolation: write the port out (or bind the address in the file yourself), then run again",
                scalar.text
            ),
        ));
    }
    if scalar.text.contains('-') {
        return Err(fail(
            i,
            value_col,
            format!(
                "`published: {}` is a port range: write a single published port, then run again",
                scalar.text
            ),
        ));
    }
    Ok(())
}

/// Replaces the value of an existing `host_ip:` (at line `hi`, column `hcol`) with `addr`,
/// unless it already names a single address.
fn set_host_ip(
    lines: &[Line<'_>],
    hi: usize,
    hcol: usize,
    h: &Scalar,
    addr: String,
    splices: &mut Vec<Splice>,
) -> Result<(), ComposeError> {
    if h.text.contains('$') {
        return Err(fail(
            hi,
            hcol,
            format!(
                "`host_ip: {}` uses variable interpolation: write it out, then run again",
                h.text
            ),
        ));
    }
    if !all_addresses(&h.text) {
        return Ok(());
    }
    let start = lines[hi].start + hcol;
    if h.text.is_empty() && h.inner == (0, 0) {
        splices.push(Splice::insert(start, addr));
    } else {
        splices.push(Splice::replace(start + h.inner.0..start + h.inner.1, addr));
    }
    Ok(())
}

/// Adds `host_ip: addr` after the entry's last key `l`, at the keys' column.
fn add_host_ip(l: &Line<'_>, key_col: usize, addr: &str, newline: &str) -> Splice {
    let line = format!("{}host_ip: {addr}", " ".repeat(key_col));
    insert_lines_after(l, &line, newline)
}

#[cfg(test)]
mod tests {
    use super::{ComposeError, bind_ports};

    const OPTICSERP: &str = include_str!("../../tests/corpus/compose/opticserp.yml");
    const PLAIN: &str = include_str!("../../tests/corpus/compose/plain-ports.yml");
    const LONG: &str = include_str!("../../tests/corpus/compose/long-syntax.yml");
    const BOUND: &str = include_str!("../../tests/corpus/compose/bound.yml");

    fn bind(text: &str, service: &str) -> Result<String, ComposeError> {
        bind_ports(text, service, 8069, "127.0.0.1")
    }

    fn refused(text: &str, line: usize) -> String {
        let e = bind(text, "odoo").unwrap_err();
        assert_eq!(e.line, line, "{e}");
        e.to_string()
    }

    #[test]
    fn quoted_short_syntax_keeps_comments_and_other_services() {
        let out = bind(OPTICSERP, "odoo").unwrap();
        assert_eq!(
            out,
            OPTICSERP.replace(
                "- \"8069:8069\"        # web",
                "- \"127.0.0.1:8069:8069\"        # web"
            )
        );
        assert_eq!(
            bind(&out, "odoo").unwrap(),
            out,
            "a second run changes nothing"
        );
        // db publishes 5432, not 8069: untouched.
        assert_eq!(
            bind_ports(OPTICSERP, "db", 8069, "127.0.0.1").unwrap(),
            OPTICSERP
        );
    }

    #[test]
    fn plain_entries_all_address_forms_and_protocols() {
        let out = bind(PLAIN, "odoo").unwrap();
        let want = PLAIN
            .replace("- 8069:8069/tcp", "- 127.0.0.1:8069:8069/tcp")
            .replace("- '8069'", "- '127.0.0.1::8069'");
        assert_eq!(out, want);
        assert_eq!(bind(&out, "odoo").unwrap(), out);
        let out = bind_ports(PLAIN, "odoo", 8072, "127.0.0.1").unwrap();
        assert_eq!(
            out,
            PLAIN.replace("- 0.0.0.0:8072:8072", "- 127.0.0.1:8072:8072")
        );
        // The web service publishes host port 80 from container port 8069.
        let out = bind(PLAIN, "web").unwrap();
        assert_eq!(out, PLAIN.replace("- 80:8069", "- 127.0.0.1:80:8069"));
    }

    #[test]
    fn long_syntax_gets_host_ip_added_or_replaced() {
        let out = bind(LONG, "odoo").unwrap();
        let want = LONG
            .replace(
                "        protocol: tcp   # web client\n",
                "        protocol: tcp   # web client\n        host_ip: 127.0.0.1\n",
            )
            .replace("host_ip: '0.0.0.0'", "host_ip: '127.0.0.1'");
        assert_eq!(out, want);
        assert_eq!(bind(&out, "odoo").unwrap(), out);
    }

    #[test]
    fn bound_entries_are_in_sync() {
        assert_eq!(bind(BOUND, "odoo").unwrap(), BOUND);
        // Another specific address is not "all addresses": left as written.
        let t = "services:\n  odoo:\n    ports:\n      - \"10.0.0.5:8069:8069\"\n";
        assert_eq!(bind(t, "odoo").unwrap(), t);
        // No ports at all: nothing is published, nothing to do.
        let t = "services:\n  odoo:\n    image: odoo:17\n";
        assert_eq!(bind(t, "odoo").unwrap(), t);
    }

    /// Changed by the shared line-ending rule: a line added after a last line without final
    /// newline used to get LF even in a CRLF file, and otherwise copied the previous line's
    /// ending; it now takes the file's majority ending, as every editor does.
    #[test]
    fn added_host_ip_takes_the_majority_ending() {
        let t =
            "services:\r\n  odoo:\r\n    ports:\r\n      - target: 8069\r\n        published: 8069";
        assert_eq!(
            bind(t, "odoo").unwrap(),
            format!("{t}\r\n        host_ip: 127.0.0.1")
        );
        let t = "services:\r\n  odoo:\r\n    ports:\r\n      - target: 8069\n";
        assert_eq!(
            bind(t, "odoo").unwrap(),
            format!("{t}        host_ip: 127.0.0.1\r\n")
        );
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        let t = "services:\r\n  odoo:\r\n    ports:\r\n      - \"8069:8069\"\r\n";
        assert_eq!(
            bind(t, "odoo").unwrap(),
            t.replace("\"8069:", "\"127.0.0.1:8069:")
        );
        let t = "services:\r\n  odoo:\r\n    ports:\r\n      - target: 8069\r\n    image: x\r\n";
        assert_eq!(
            bind(t, "odoo").unwrap(),
            t.replace("8069\r\n", "8069\r\n        host_ip: 127.0.0.1\r\n")
        );
    }

    #[test]
    fn ipv6_bind_and_unspecified_v6_address() {
        let t = "services:\n  odoo:\n    ports:\n      - \"[::]:8069:8069\"\n";
        assert_eq!(
            bind_ports(t, "odoo", 8069, "::1").unwrap(),
            t.replace("[::]", "[::1]")
        );
    }

    #[test]
    fn refuses_what_it_cannot_rewrite_safely() {
        let m = refused(
            "services:\n  odoo:\n    ports:\n      - \"${ODOO_PORT}:8069\"\n",
            4,
        );
        assert!(m.starts_with("4:9: ") && m.contains("interpolation"), "{m}");
        let m = refused(
            "services:\n  odoo:\n    ports:\n      - \"8060-8070:8060-8070\"\n",
            4,
        );
        assert!(m.contains("range"), "{m}");
        let m = refused("services:\n  odoo:\n    ports: [\"8069:8069\"]\n", 3);
        assert!(m.starts_with("3:12: ") && m.contains("flow style"), "{m}");
        let m = refused(
            "services:\n  odoo:\n    ports:\n      - {target: 8069}\n",
            4,
        );
        assert!(m.contains("flow style"), "{m}");
        let m = refused(
            "x: &p\n  - \"8069:8069\"\nservices:\n  odoo:\n    ports: *p\n",
            5,
        );
        assert!(m.contains("alias"), "{m}");
        let m = refused(
            "x-base: &base\n  ports:\n    - \"8069:8069\"\nservices:\n  odoo:\n    <<: *base\n    image: odoo\n",
            6,
        );
        assert!(m.contains("merge key"), "{m}");
        let m = refused(
            "services:\n  odoo:\n    ports:\n      - &web \"8069:8069\"\n",
            4,
        );
        assert!(m.contains("anchor"), "{m}");
        let m = refused("services:\n  odoo: &odoo\n    image: x\n", 2);
        assert!(m.contains("anchor"), "{m}");
        let m = refused("services:\n  db:\n    image: postgres\n", 1);
        assert!(
            m.contains("no service `odoo`") && m.contains("found: db"),
            "{m}"
        );
        let m = refused("services:\n  odoo:\n    ports:\n      - target: ${P}\n", 4);
        assert!(m.contains("interpolation"), "{m}");
        let m = refused("services: [\n", 1);
        assert!(m.contains("YAML") || m.contains("flow"), "{m}");
        assert!(bind_ports("services:\n  odoo: {}\n", "odoo", 8069, "localhost").is_err());
        let m = refused(
            "services:\n  odoo:\n    extends:\n      service: base\n    ports:\n      - \"8069:8069\"\n",
            3,
        );
        assert!(m.contains("extends"), "{m}");
        let m = refused(
            "services:\n  odoo:\n    ports:\n      - \"127.0.0.1:8069\"\n",
            4,
        );
        assert!(m.contains("published port"), "{m}");
        let t = "services:\n  odoo:\n    ports: []  # none\n";
        assert_eq!(bind(t, "odoo").unwrap(), t);
        let t = "\u{feff}services:\n  odoo:\n    ports:\n      - 8069:8069\n";
        assert_eq!(
            bind(t, "odoo").unwrap(),
            t.replace("- 8069", "- 127.0.0.1:8069")
        );
        // An unrelated range or interpolated host port for another container port is fine.
        let t = "services:\n  odoo:\n    ports:\n      - \"9000-9010:9000-9010\"\n      - \"${X}:5432\"\n      - \"8069:8069\"\n";
        assert_eq!(
            bind(t, "odoo").unwrap(),
            t.replace("\"8069:", "\"127.0.0.1:8069:")
        );
    }
}
