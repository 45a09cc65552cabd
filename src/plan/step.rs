//! Concrete, per-host steps: every template rendered, every value typed.
//!
//! This is what the engine executes; it never sees raw plan YAML.

use std::time::Duration;

use serde_json::Value;

/// One rendered step of a host's run.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    /// Human label: the step's `name`, or its kind and target.
    pub label: String,
    pub hint: Option<String>,
    /// `plans/x.yml:12` — where the step is written.
    pub origin: String,
    pub action: Action,
}

/// A step whose `when:` condition is false for this host: not rendered, not run, and
/// reported as skipped.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub id: String,
    pub label: String,
    /// `plans/x.yml:12`.
    pub origin: String,
    /// `when: app_kind == "odoo" is false`.
    pub reason: String,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Edit(FileEdit),
    Command(CommandAction),
    Verify(Check),
}

/// A structural edit of one file.
#[derive(Debug, Clone)]
pub struct FileEdit {
    /// Absolute path as written in the plan (symlinks are followed when gathering).
    pub path: String,
    pub kind: EditKind,
}

/// The editor to use and its arguments.
#[derive(Debug, Clone)]
pub enum EditKind {
    Nginx {
        context: NginxContext,
        ensure: String,
        /// The snippet's `upstream` is replaced by the chosen server's own upstream to the same port, if it has one.
        reuse_upstream: bool,
    },
    Ini {
        section: String,
        set: Vec<(String, String)>,
        create_section: bool,
    },
    Json {
        set: Vec<(String, Value)>,
    },
    Whole {
        content: String,
        mode: Option<u32>,
    },
    Line {
        line: String,
        matches: Option<String>,
    },
    Requirements {
        ensure: Vec<String>,
    },
    /// Bind a docker-compose service's published port to one address.
    ComposePorts {
        service: String,
        container_port: u16,
        bind: String,
    },
}

/// Where in an nginx file a snippet belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NginxContext {
    Main,
    Http,
    Server {
        server_name: Option<String>,
        listen: Option<String>,
        /// The host name and port users request: the server nginx uses for them is edited (when neither
        /// `server_name` nor `listen` is given).
        request: Option<(String, u16)>,
    },
}

/// A command run on the host: on every apply when it has no condition (`if_changed`,
/// `unless`, `creates`), else only when its condition says so.
#[derive(Debug, Clone)]
pub struct CommandAction {
    pub run: String,
    /// Runs only when one of these steps changed a file in this run.
    pub if_changed: Vec<String>,
    /// Also runs when this check command fails on the host (run at gather time).
    pub unless: Option<String>,
    /// Runs only when this path does not exist on the host (checked at gather time).
    pub creates: Option<String>,
    pub expect_exit: Vec<i32>,
    pub timeout: Duration,
}

impl CommandAction {
    /// Whether it has a condition; one without runs on every apply and never makes its
    /// host count as changed.
    #[must_use]
    pub fn is_conditional(&self) -> bool {
        !self.if_changed.is_empty() || self.unless.is_some() || self.creates.is_some()
    }
}

/// A health check with its retry policy.
#[derive(Debug, Clone)]
pub struct Check {
    pub probe: Probe,
    pub retries: u32,
    pub delay: Duration,
    pub timeout: Duration,
    /// A failure is a warning in the report, not a stop.
    pub warn_only: bool,
}

/// What a check looks at.
#[derive(Debug, Clone)]
pub enum Probe {
    WebSocket {
        target: Endpoint,
        origin: Option<String>,
        host_header: Option<String>,
        headers: Vec<(String, String)>,
        status: u16,
    },
    Http {
        target: Endpoint,
        headers: Vec<(String, String)>,
        status: u16,
        contains: Option<String>,
    },
    Command {
        run: String,
        contains: Option<String>,
        not_contains: Option<String>,
        expect_exit: Vec<i32>,
    },
}

/// A URL split into what a TCP connection and a request line need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// TLS on top of the TCP connection (`https://`, `wss://`).
    pub tls: Option<TlsTarget>,
}

/// How a check speaks TLS: the name it sends as SNI and verifies the certificate for, and
/// the CA certificates it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsTarget {
    /// SNI and certificate name (a DNS name or an IP address).
    pub server_name: String,
    /// PEM file on the machine running wsdeploy; `None`: the Mozilla root store.
    pub ca_file: Option<String>,
}

impl Endpoint {
    /// Parses `http://host[:port]/path?query` (also `ws://`, and `https://`/`wss://` with
    /// TLS whose server name is the URL's host until the caller sets another).
    ///
    /// # Errors
    /// A URL that is not `http`, `ws`, `https` or `wss`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}` is not a URL (expected http://host[:port]/path)"))?;
        let (default_port, tls) = match scheme {
            "http" | "ws" => (80, false),
            "https" | "wss" => (443, true),
            other => {
                return Err(format!(
                    "`{url}`: scheme `{other}` is not supported for checks (use http://, https://, ws:// or wss://, as seen from the host)"
                ));
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let (h, after) = stripped
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: unterminated IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("`{url}`: bad port `{p}`"))?,
                None => default_port,
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_owned(),
                    p.parse().map_err(|_| format!("`{url}`: bad port `{p}`"))?,
                ),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(format!("`{url}`: no host"));
        }
        let tls = tls.then(|| TlsTarget {
            server_name: host.clone(),
            ca_file: None,
        });
        Ok(Self {
            url: url.to_owned(),
            host,
            port,
            path: path.to_owned(),
            tls,
        })
    }

    /// `host` or `host:port` for a `Host` header.
    #[must_use]
    pub fn authority(&self) -> String {
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        if self.port == default_port {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn parses_urls_as_seen_from_the_host() {
        let e = Endpoint::parse("http://127.0.0.1/websocket?version=17.0-3").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 80, "/websocket?version=17.0-3")
        );
        let e = Endpoint::parse("ws://localhost:9000").unwrap();
        assert_eq!((e.port, e.path.as_str()), (9000, "/"));
        let e = Endpoint::parse("https://127.0.0.1/websocket").unwrap();
        assert_eq!((e.port, e.authority().as_str()), (443, "127.0.0.1"));
        assert_eq!(e.tls.unwrap().server_name, "127.0.0.1");
        assert!(Endpoint::parse("wss://x:8443/").unwrap().tls.is_some());
        assert!(Endpoint::parse("ftp://x/").is_err());
        assert!(Endpoint::parse("x/y").is_err());
    }
}
