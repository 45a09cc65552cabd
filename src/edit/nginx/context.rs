//! nginx contexts: where a file's top level is loaded (`ContextKind`, `FileRole`) and where an edit goes (`Context`).

use std::fmt;

use super::tree::{Config, Directive};

/// A kind of nginx context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKind {
    /// The top level of the main nginx.conf (and of files included there, such as `modules-enabled/*.conf`).
    Main,
    /// Inside `http { }` (site files from `sites-enabled/*` and `conf.d/*.conf`).
    Http,
    /// Inside `server { }` (snippets included from a server).
    Server,
    /// Inside `location { }` (or `if`/`limit_except` inside it).
    Location,
    /// Anything else (`events`, `stream`, `upstream`, `map`, third-party blocks).
    Other,
}

impl ContextKind {
    /// The context that a block named `name` opens, seen from inside `self`.
    #[must_use]
    pub fn of_block(self, name: &str) -> ContextKind {
        match (self, name) {
            (ContextKind::Main, "http") => ContextKind::Http,
            (ContextKind::Http, "server") => ContextKind::Server,
            (ContextKind::Server | ContextKind::Location, "location" | "if" | "limit_except") => {
                ContextKind::Location
            }
            _ => ContextKind::Other,
        }
    }
}

impl fmt::Display for ContextKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextKind::Main => "main",
            ContextKind::Http => "http",
            ContextKind::Server => "server",
            ContextKind::Location => "location",
            ContextKind::Other => "other",
        })
    }
}

/// Where an edit goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// The top level of the main nginx.conf.
    Main,
    /// The `http { }` block of the file, or the top level of a site file included from `http`.
    Http,
    /// A `server { }` block: the one `server_name` and/or `listen` pick when given (an operator's override), else
    /// the one nginx uses for `request`, else the file's only server.
    Server {
        server_name: Option<String>,
        listen: Option<String>,
        request: Option<Request>,
    },
}

/// The request users send: the host name they open and the port they reach nginx on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub host: String,
    pub port: u16,
}

impl Context {
    /// The kind of context this is.
    pub fn kind(&self) -> ContextKind {
        match self {
            Context::Main => ContextKind::Main,
            Context::Http => ContextKind::Http,
            Context::Server { .. } => ContextKind::Server,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Main => f.write_str("main"),
            Context::Http => f.write_str("http"),
            Context::Server {
                server_name,
                listen,
                request,
            } => {
                f.write_str("server")?;
                if let Some(request) = request {
                    write!(f, " (for {}:{})", request.host, request.port)?;
                }
                if let Some(name) = server_name {
                    write!(f, " (server_name {name})")?;
                }
                if let Some(listen) = listen {
                    write!(f, " (listen {listen})")?;
                }
                Ok(())
            }
        }
    }
}

/// The `include` directive that loads a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeSite {
    /// The file holding the `include`.
    pub path: String,
    /// Its 1-based line.
    pub line: usize,
    /// The include pattern made absolute.
    pub pattern: String,
}

/// How nginx loads a file: the context of its top level and the include that brings it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRole {
    pub context: ContextKind,
    /// `None` for the main nginx.conf.
    pub included_from: Option<IncludeSite>,
}

/// Directives that only the main context holds at its top level.
const MAIN_MARKERS: &[&str] = &[
    "http",
    "events",
    "stream",
    "mail",
    "user",
    "worker_processes",
    "pid",
    "load_module",
    "worker_rlimit_nofile",
];

/// Directives that only a server (or location) holds.
const SERVER_MARKERS: &[&str] = &[
    "location",
    "listen",
    "server_name",
    "root",
    "try_files",
    "return",
    "rewrite",
];

/// Guesses the context a file's top level is loaded in from its content, for files the effective configuration
/// does not load (e.g. a site in `sites-available` that is not enabled yet): `main` when it holds `http`,
/// `events`, `user`, ...; `server` when it holds `location`, `listen`, `server_name`, ... but no `server` block;
/// `http` otherwise (site files and `conf.d` snippets).
pub fn guess_file_top(config: &Config) -> ContextKind {
    let names: Vec<&str> = config.directives().map(Directive::name).collect();
    if names.iter().any(|name| MAIN_MARKERS.contains(name)) {
        ContextKind::Main
    } else if !names.contains(&"server") && names.iter().any(|name| SERVER_MARKERS.contains(name)) {
        ContextKind::Server
    } else {
        ContextKind::Http
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    #[test]
    fn guesses_the_top_level_context_from_the_content() {
        let guess = |text: &str| guess_file_top(&parse(text).unwrap());
        assert_eq!(
            guess("user www-data;\nevents {}\nhttp {}\n"),
            ContextKind::Main
        );
        assert_eq!(
            guess("upstream a { server 127.0.0.1:1; }\nserver { listen 80; }\n"),
            ContextKind::Http
        );
        assert_eq!(guess("location /x { return 404; }\n"), ContextKind::Server);
        assert_eq!(guess("gzip on;\n"), ContextKind::Http);
        assert_eq!(ContextKind::Main.of_block("http"), ContextKind::Http);
        assert_eq!(ContextKind::Http.of_block("server"), ContextKind::Server);
        assert_eq!(
            ContextKind::Server.of_block("location"),
            ContextKind::Location
        );
        assert_eq!(ContextKind::Main.of_block("events"), ContextKind::Other);
    }
}
