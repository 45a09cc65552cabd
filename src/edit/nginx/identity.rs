//! What makes two directives "the same item" (identity) and when two items are equal (token-wise).
//!
//! Identity rules:
//! - `map` and `split_clients`: the variable they define (second argument); `geo`: its variable (last argument);
//! - `location`, `if`, `limit_except`, `charset_map`: all arguments (modifier and path, condition, ...);
//! - `limit_req_zone` / `limit_conn_zone`: the zone name from `zone=name:size`;
//! - `error_page`: everything but the target (the status codes);
//! - directives that may appear several times with different keys (`upstream`, `proxy_set_header`, `add_header`,
//!   `set`, `fastcgi_param`, `include`, `listen`, `log_format`, ...): name and first argument (header names compare
//!   case-insensitively);
//! - every other directive: its name alone (it is set once per block).

use std::fmt;

use super::tree::{Body, Config, Directive, directives_of};

/// The identity of a directive within its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub key: Vec<String>,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for part in &self.key {
            write!(f, " {part}")?;
        }
        Ok(())
    }
}

const KEYED_BY_ALL_ARGS: &[&str] = &["location", "if", "limit_except", "charset_map"];

const KEYED_BY_HEADER_NAME: &[&str] = &[
    "proxy_set_header",
    "add_header",
    "add_trailer",
    "grpc_set_header",
    "proxy_hide_header",
    "proxy_pass_header",
    "fastcgi_hide_header",
    "fastcgi_pass_header",
    "uwsgi_hide_header",
    "uwsgi_pass_header",
    "scgi_hide_header",
    "scgi_pass_header",
    "more_set_headers",
    "more_clear_headers",
    "more_set_input_headers",
];

const KEYED_BY_FIRST_ARG: &[&str] = &[
    "upstream",
    "set",
    "fastcgi_param",
    "uwsgi_param",
    "scgi_param",
    "include",
    "load_module",
    "env",
    "listen",
    "access_log",
    "error_log",
    "log_format",
    "rewrite",
    "proxy_cache_path",
    "fastcgi_cache_path",
    "uwsgi_cache_path",
    "scgi_cache_path",
    "lua_shared_dict",
    "match",
    "set_by_lua_block",
];

/// The identity of `directive`.
pub fn identity(directive: &Directive) -> Identity {
    let name = directive.name().to_string();
    let args: Vec<&str> = directive
        .args
        .iter()
        .map(|word| word.value.as_str())
        .collect();
    let key: Vec<String> = match name.as_str() {
        "map" | "split_clients" => args
            .get(1)
            .map_or_else(|| all(&args), |var| vec![(*var).to_string()]),
        "geo" => args
            .last()
            .map(|var| vec![(*var).to_string()])
            .unwrap_or_default(),
        "limit_req_zone" | "limit_conn_zone" => args
            .iter()
            .find_map(|arg| arg.strip_prefix("zone="))
            .map_or_else(
                || all(&args),
                |zone| vec![zone.split(':').next().unwrap_or(zone).to_string()],
            ),
        "error_page" => all(&args[..args.len().saturating_sub(1)]),
        n if KEYED_BY_ALL_ARGS.contains(&n) => all(&args),
        n if KEYED_BY_HEADER_NAME.contains(&n) => args
            .first()
            .map(|h| vec![h.to_ascii_lowercase()])
            .unwrap_or_default(),
        n if KEYED_BY_FIRST_ARG.contains(&n) => args
            .first()
            .map(|a| vec![(*a).to_string()])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Identity { name, key }
}

fn all(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_string()).collect()
}

/// True when two directives have the same words and the same nested directives,
/// ignoring whitespace, comments and quoting.
pub fn same_tokens(
    left_config: &Config,
    left: &Directive,
    right_config: &Config,
    right: &Directive,
) -> bool {
    if left.name.value != right.name.value
        || left.args.len() != right.args.len()
        || left
            .args
            .iter()
            .zip(&right.args)
            .any(|(a, b)| a.value != b.value)
    {
        return false;
    }
    match (&left.body, &right.body) {
        (Body::Semicolon(_), Body::Semicolon(_)) => true,
        (Body::Raw(a), Body::Raw(b)) => {
            let a = left_config.slice(a.content).split_whitespace();
            let b = right_config.slice(b.content).split_whitespace();
            a.eq(b)
        }
        (Body::Block(a), Body::Block(b)) => {
            let mut a = directives_of(&a.children);
            let mut b = directives_of(&b.children);
            loop {
                match (a.next(), b.next()) {
                    (None, None) => return true,
                    (Some(x), Some(y)) if same_tokens(left_config, x, right_config, y) => {}
                    _ => return false,
                }
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn first_identity(text: &str) -> String {
        identity(parse(text).unwrap().directives().next().unwrap()).to_string()
    }

    #[test]
    fn identities_follow_the_rules() {
        assert_eq!(
            first_identity("map $http_upgrade $connection_upgrade { }"),
            "map $connection_upgrade"
        );
        assert_eq!(first_identity("upstream odoochat { }"), "upstream odoochat");
        assert_eq!(
            first_identity("location ~* \\.php$ { }"),
            "location ~* \\.php$"
        );
        assert_eq!(
            first_identity("location \"/websocket\" { }"),
            "location /websocket"
        );
        assert_eq!(
            first_identity("proxy_set_header Host $host;"),
            "proxy_set_header host"
        );
        assert_eq!(first_identity("geo $remote_addr $acl { }"), "geo $acl");
        assert_eq!(
            first_identity("limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;"),
            "limit_req_zone one"
        );
        assert_eq!(
            first_identity("error_page 500 502 /50x.html;"),
            "error_page 500 502"
        );
        assert_eq!(
            first_identity("proxy_read_timeout 3600s;"),
            "proxy_read_timeout"
        );
    }

    #[test]
    fn equality_ignores_layout_comments_and_quotes() {
        let a = parse("map $a $b {\n    default upgrade;\n    ''      close;\n}").unwrap();
        let b = parse("map $a $b { # why\n default \"upgrade\"; \"\" close; }").unwrap();
        let c = parse("map $a $b { default upgrade; '' keep-alive; }").unwrap();
        let first = |config: &Config| config.directives().next().unwrap().clone();
        assert!(same_tokens(&a, &first(&a), &b, &first(&b)));
        assert!(!same_tokens(&a, &first(&a), &c, &first(&c)));
    }
}
