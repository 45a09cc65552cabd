//! A `listen` directive as nginx reads it: address, port and the flags that matter for picking a server.
//!
//! `listen 443 ssl http2;`, `listen [::]:443 ssl ipv6only=on;`, `listen 127.0.0.1:8443;`, `listen 80 default;`,
//! `listen localhost;` (port 80), `listen *:8080;`. A server without `listen` listens on `*:80`. `unix:` sockets are
//! not reachable by a host name and port, so they never match.

use super::tree::Directive;

/// One `listen` of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// The address, `None` for every address (`443`, `*:443`, `0.0.0.0:443`, `[::]:443`).
    pub address: Option<String>,
    pub port: u16,
    /// `default_server` (or the old `default`).
    pub default_server: bool,
    pub ssl: bool,
    pub http2: bool,
}

/// The port nginx listens on when a server has no `listen`, or a `listen` gives only an address.
pub const DEFAULT_PORT: u16 = 80;

impl Listen {
    /// Reads the words of a `listen` directive (`None` for a unix socket or a malformed address).
    pub fn parse(words: &[&str]) -> Option<Listen> {
        let (first, flags) = words.split_first()?;
        let (address, port) = address_and_port(first)?;
        let has = |flag: &str| flags.iter().any(|f| f.eq_ignore_ascii_case(flag));
        Some(Listen {
            address,
            port,
            default_server: has("default_server") || has("default"),
            ssl: has("ssl"),
            http2: has("http2"),
        })
    }

    /// Every `listen` of a server block (`*:80` when it has none).
    pub fn of_server(server: &Directive) -> Vec<Listen> {
        let directives: Vec<&Directive> = server
            .directives()
            .filter(|d| d.name() == "listen")
            .collect();
        if directives.is_empty() {
            return vec![Listen {
                address: None,
                port: DEFAULT_PORT,
                default_server: false,
                ssl: false,
                http2: false,
            }];
        }
        directives
            .iter()
            .filter_map(|d| {
                let words: Vec<&str> = d.args.iter().map(|w| w.value.as_str()).collect();
                Listen::parse(&words)
            })
            .collect()
    }

    /// Whether this listen satisfies `wanted` (an operator's selector such as `443`, `443 ssl`,
    /// `[::]:443`, `127.0.0.1:8443`): same port, same address when one is given, and every flag it names.
    pub fn satisfies(&self, wanted: &Listen) -> bool {
        self.port == wanted.port
            && wanted
                .address
                .as_ref()
                .is_none_or(|address| self.address.as_ref() == Some(address))
            && (!wanted.ssl || self.ssl)
            && (!wanted.http2 || self.http2)
            && (!wanted.default_server || self.default_server)
    }
}

/// `443` → every address, 443; `127.0.0.1:8443`; `[::1]:443`; `[::]` → every address, 80; `localhost` → 80.
fn address_and_port(word: &str) -> Option<(Option<String>, u16)> {
    if word.starts_with("unix:") {
        return None;
    }
    if let Some(rest) = word.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => DEFAULT_PORT,
            None => return None,
        };
        let address = (inside != "::").then(|| format!("[{inside}]"));
        return Some((address, port));
    }
    if word.bytes().all(|b| b.is_ascii_digit()) {
        return Some((None, word.parse().ok()?));
    }
    let (host, port) = match word.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (word, DEFAULT_PORT),
    };
    let address = (host != "*" && host != "0.0.0.0").then(|| host.to_ascii_lowercase());
    Some((address, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(text: &str) -> Listen {
        let words: Vec<&str> = text.split_whitespace().collect();
        Listen::parse(&words).unwrap()
    }

    #[test]
    fn reads_listen_as_nginx_does() {
        let l = listen("443 ssl http2");
        assert_eq!(
            (l.address.as_deref(), l.port, l.ssl, l.http2),
            (None, 443, true, true)
        );
        assert_eq!(listen("[::]:443 ssl ipv6only=on").address, None);
        assert_eq!(listen("[::1]:8443").address.as_deref(), Some("[::1]"));
        assert_eq!(listen("[::]").port, 80);
        let l = listen("127.0.0.1:8443");
        assert_eq!((l.address.as_deref(), l.port), (Some("127.0.0.1"), 8443));
        assert_eq!(listen("*:8080").address, None);
        assert_eq!(listen("0.0.0.0:80").address, None);
        assert_eq!(listen("localhost").port, 80);
        assert!(listen("80  default").default_server);
        assert!(listen("80 default_server").default_server);
        assert!(Listen::parse(&["unix:/run/nginx.sock"]).is_none());
        assert!(Listen::parse(&["example:port"]).is_none());
    }

    #[test]
    fn a_selector_matches_by_port_address_and_flags() {
        assert!(listen("443 ssl http2").satisfies(&listen("443 ssl")));
        assert!(listen("443 ssl http2").satisfies(&listen("443")));
        assert!(!listen("443").satisfies(&listen("443 ssl")));
        assert!(listen("[::]:443 ssl").satisfies(&listen("443")));
        assert!(listen("127.0.0.1:8443").satisfies(&listen("8443")));
        assert!(!listen("8443").satisfies(&listen("127.0.0.1:8443")));
        assert!(!listen("80").satisfies(&listen("443")));
    }
}
