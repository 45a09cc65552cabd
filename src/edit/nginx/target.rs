//! Finding the block an edit goes into: the file's top level, its `http { }` block, or one of its servers.

use super::context::{ContextKind, Request};
use super::dump::Effective;
use super::error::EditError;
use super::listen::Listen;
use super::select::{Candidate, Reason, listens_on, only_redirects_to_https, pick};
use super::tree::{Config, Directive, Node};

/// The body an edit goes into.
#[derive(Debug, Clone, Copy)]
pub enum Container<'c> {
    /// The top level of the file.
    File,
    /// The body of this block directive.
    Block(&'c Directive),
}

/// A body to edit and the context nginx loads it in.
#[derive(Debug, Clone, Copy)]
pub struct Target<'c> {
    pub container: Container<'c>,
    pub kind: ContextKind,
}

impl<'c> Target<'c> {
    /// The nodes of the body.
    pub fn nodes(&self, config: &'c Config) -> &'c [Node] {
        match self.container {
            Container::File => config.nodes(),
            Container::Block(directive) => directive.children(),
        }
    }
}

/// A server block chosen for an edit, with the http body around it.
#[derive(Debug, Clone, Copy)]
pub struct ServerTarget<'c> {
    pub server: Target<'c>,
    /// The http body holding the server (`None` when the file itself is included inside a server).
    pub http: Option<Target<'c>>,
    /// First and last line of the server block (the whole file for a file included inside a server).
    pub lines: (usize, usize),
    /// Why nginx uses this server for the public request (`None`: chosen by the overrides, or the file's only one).
    pub reason: Option<Reason>,
}

/// The top level of a main configuration file.
pub fn main_target<'c>(path: &str, file_top: ContextKind) -> Result<Target<'c>, EditError> {
    if file_top == ContextKind::Main {
        Ok(Target {
            container: Container::File,
            kind: ContextKind::Main,
        })
    } else {
        Err(EditError::FileContext {
            path: path.to_string(),
            context: "main".to_string(),
            file_top: file_top.to_string(),
            hint: "main-context directives belong in the main nginx.conf; point file: at it"
                .to_string(),
        })
    }
}

/// The http body of a file: its `http { }` block, or its top level when the file is included from http.
pub fn http_target<'c>(
    path: &str,
    config: &'c Config,
    file_top: ContextKind,
) -> Result<Target<'c>, EditError> {
    match file_top {
        ContextKind::Http => Ok(Target {
            container: Container::File,
            kind: ContextKind::Http,
        }),
        ContextKind::Main => {
            let blocks: Vec<&Directive> = config
                .directives()
                .filter(|d| d.name() == "http" && d.is_block())
                .collect();
            match blocks.as_slice() {
                [http] => Ok(Target {
                    container: Container::Block(http),
                    kind: ContextKind::Http,
                }),
                [] => Err(EditError::NoHttpBlock {
                    path: path.to_string(),
                    file_top: file_top.to_string(),
                }),
                several => Err(EditError::SeveralHttpBlocks {
                    path: path.to_string(),
                    count: several.len(),
                    lines: lines_of(config, several),
                }),
            }
        }
        ContextKind::Server | ContextKind::Location | ContextKind::Other => {
            Err(EditError::NoHttpBlock {
                path: path.to_string(),
                file_top: file_top.to_string(),
            })
        }
    }
}

/// How the server block to edit is chosen.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerChoice<'a> {
    /// Override: the server whose `server_name` has this name.
    pub server_name: Option<&'a str>,
    /// Override: the server with a `listen` satisfying this one (`443`, `443 ssl`, `127.0.0.1:8443`).
    pub listen: Option<&'a str>,
    /// The request nginx must route to the server (used when there is no override).
    pub request: Option<&'a Request>,
}

impl<'a> ServerChoice<'a> {
    /// The choice a server context's fields (`Context::Server`) make.
    #[must_use]
    pub fn of(
        server_name: &'a Option<String>,
        listen: &'a Option<String>,
        request: &'a Option<Request>,
    ) -> Self {
        Self {
            server_name: server_name.as_deref(),
            listen: listen.as_deref(),
            request: request.as_ref(),
        }
    }
}

/// The server block to edit: the one the overrides pick, else the one nginx uses for the request (looking at every
/// server of the effective configuration `others`), else the file's only one.
pub fn server_target<'c>(
    path: &str,
    config: &'c Config,
    file_top: ContextKind,
    choice: ServerChoice<'_>,
    others: &Effective,
) -> Result<ServerTarget<'c>, EditError> {
    let candidates = match file_top {
        ContextKind::Server => {
            let last_line = config.position(config.source().len()).line;
            return Ok(ServerTarget {
                server: Target {
                    container: Container::File,
                    kind: ContextKind::Server,
                },
                http: None,
                lines: (1, last_line),
                reason: None,
            });
        }
        ContextKind::Http | ContextKind::Main => server_candidates(config, file_top),
        ContextKind::Location | ContextKind::Other => {
            return Err(EditError::FileContext {
                path: path.to_string(),
                context: "server".to_string(),
                file_top: file_top.to_string(),
                hint: "point file: at the site file or nginx.conf that holds the server block"
                    .to_string(),
            });
        }
    };
    if candidates.is_empty() {
        return Err(EditError::NoServer {
            path: path.to_string(),
        });
    }
    let ((server, http), reason) = match (
        choice.server_name.is_some() || choice.listen.is_some(),
        choice.request,
    ) {
        (false, Some(request)) => {
            let (chosen, reason) = nginx_choice(path, config, &candidates, request, others)?;
            (chosen, Some(reason))
        }
        _ => (pick_server(path, config, &candidates, choice)?, None),
    };
    Ok(ServerTarget {
        server: Target {
            container: Container::Block(server),
            kind: ContextKind::Server,
        },
        http: Some(http),
        lines: (
            config.position(server.span.start).line,
            config.position(server.span.end).line,
        ),
        reason,
    })
}

/// Appends this file's servers to the candidates.
fn push_local<'a>(
    all: &mut Vec<Candidate<'a>>,
    local_index: &mut Vec<Option<usize>>,
    path: &'a str,
    config: &'a Config,
    local: &[(&'a Directive, Target<'a>)],
) {
    for (i, (server, _)) in local.iter().enumerate() {
        all.push(Candidate {
            path,
            config,
            server,
        });
        local_index.push(Some(i));
    }
}

/// The server nginx uses for `request`, among every server block nginx loads; an error when it is not one of this
/// file's (naming the one nginx uses) or when it only redirects to https.
fn nginx_choice<'c>(
    path: &str,
    config: &'c Config,
    local: &[(&'c Directive, Target<'c>)],
    request: &Request,
    others: &Effective,
) -> Result<((&'c Directive, Target<'c>), Reason), EditError> {
    let mut all: Vec<Candidate<'_>> = Vec::new();
    let mut local_index: Vec<Option<usize>> = Vec::new();
    let mut seen_self = false;
    for file in others.files() {
        let Some(role) = &file.role else { continue };
        if file.path == path || file.config.source() == config.source() {
            if !seen_self {
                push_local(&mut all, &mut local_index, path, config, local);
                seen_self = true;
            }
            continue;
        }
        for (server, _) in server_candidates(&file.config, role.context) {
            all.push(Candidate {
                path: &file.path,
                config: &file.config,
                server,
            });
            local_index.push(None);
        }
    }
    if !seen_self {
        push_local(&mut all, &mut local_index, path, config, local);
    }
    let describe_local = || {
        local
            .iter()
            .map(|(server, _)| describe_server(config, server))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let Some((chosen, reason)) = pick(&all, &request.host, request.port) else {
        return Err(EditError::NoServerForRequest {
            path: path.to_string(),
            host: request.host.clone(),
            port: request.port,
            servers: describe_local(),
        });
    };
    let Some(i) = local_index[chosen] else {
        let other = all[chosen];
        return Err(EditError::ServerElsewhere {
            path: path.to_string(),
            request: format!("{} on port {}", request.host, request.port),
            other_path: other.path.to_string(),
            other: describe_server(other.config, other.server),
            reason: reason.describe().to_string(),
        });
    };
    let (server, http) = local[i];
    if only_redirects_to_https(server) {
        return Err(EditError::RedirectOnly {
            path: path.to_string(),
            host: request.host.clone(),
            port: request.port,
            server: describe_server(config, server),
        });
    }
    Ok(((server, http), reason))
}

/// Every server block of a site file (top level) or of a main file (inside `http`), with its http body.
fn server_candidates(config: &Config, file_top: ContextKind) -> Vec<(&Directive, Target<'_>)> {
    if file_top == ContextKind::Http {
        let http = Target {
            container: Container::File,
            kind: ContextKind::Http,
        };
        return servers_in(config.directives())
            .map(|server| (server, http))
            .collect();
    }
    config
        .directives()
        .filter(|d| d.name() == "http")
        .flat_map(|http| {
            let body = Target {
                container: Container::Block(http),
                kind: ContextKind::Http,
            };
            servers_in(http.directives()).map(move |server| (server, body))
        })
        .collect()
}

/// The one candidate the selector picks (the only one when there is no selector).
fn pick_server<'c>(
    path: &str,
    config: &Config,
    candidates: &[(&'c Directive, Target<'c>)],
    choice: ServerChoice<'_>,
) -> Result<(&'c Directive, Target<'c>), EditError> {
    let ServerChoice {
        server_name,
        listen,
        request,
    } = choice;
    let describe_all = |list: &[(&Directive, Target<'_>)]| {
        list.iter()
            .map(|(server, _)| describe_server(config, server))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let selector = describe_selector(server_name, listen);
    if selector.is_empty() {
        return match candidates {
            [only] => Ok(*only),
            several => Err(EditError::AmbiguousServer {
                path: path.to_string(),
                count: several.len(),
                servers: describe_all(several),
            }),
        };
    }
    let mut matching: Vec<_> = candidates
        .iter()
        .copied()
        .filter(|(server, _)| server_matches(server, server_name, listen))
        .collect();
    // An 80 -> 443 redirect server has the same server_name as the server that serves the site.
    if matching.len() > 1 {
        matching.retain(|(server, _)| !only_redirects_to_https(server));
    }
    if let (true, Some(request)) = (matching.len() > 1, request) {
        matching.retain(|(server, _)| listens_on(server, request.port));
    }
    match matching.as_slice() {
        [only] => Ok(*only),
        [] => Err(EditError::NoMatchingServer {
            path: path.to_string(),
            selector,
            servers: describe_all(candidates),
        }),
        several => Err(EditError::SeveralMatchingServers {
            path: path.to_string(),
            selector,
            count: several.len(),
            servers: describe_all(several),
        }),
    }
}

fn servers_in<'c>(
    directives: impl Iterator<Item = &'c Directive>,
) -> impl Iterator<Item = &'c Directive> {
    directives.filter(|d| d.name() == "server" && d.is_block())
}

fn server_matches(server: &Directive, server_name: Option<&str>, listen: Option<&str>) -> bool {
    let name_ok = server_name.is_none_or(|wanted| {
        server
            .directives()
            .filter(|d| d.name() == "server_name")
            .flat_map(|d| d.args.iter())
            .any(|arg| arg.value.eq_ignore_ascii_case(wanted))
    });
    let listen_ok = listen.is_none_or(|wanted| {
        let words: Vec<&str> = wanted.split_whitespace().collect();
        match Listen::parse(&words) {
            Some(wanted) => Listen::of_server(server)
                .iter()
                .any(|listen| listen.satisfies(&wanted)),
            None => server
                .directives()
                .filter(|d| d.name() == "listen")
                .filter_map(|d| d.arg(0))
                .any(|address| address == wanted),
        }
    });
    name_ok && listen_ok
}

fn describe_selector(server_name: Option<&str>, listen: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(name) = server_name {
        parts.push(format!("server_name {name}"));
    }
    if let Some(listen) = listen {
        parts.push(format!("listen {listen}"));
    }
    parts.join(" and ")
}

/// `line 12 (server_name a.example b.example; listen 80, [::]:80)`.
pub fn describe_server(config: &Config, server: &Directive) -> String {
    let line = config.position(server.span.start).line;
    let names: Vec<&str> = server
        .directives()
        .filter(|d| d.name() == "server_name")
        .flat_map(|d| {
            d.args.iter().map(|arg| {
                if arg.value.is_empty() {
                    "\"\""
                } else {
                    arg.value.as_str()
                }
            })
        })
        .collect();
    let listens: Vec<String> = server
        .directives()
        .filter(|d| d.name() == "listen")
        .map(|d| {
            d.args
                .iter()
                .map(|w| w.value.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let names = if names.is_empty() {
        "-".to_string()
    } else {
        names.join(" ")
    };
    let listens = if listens.is_empty() {
        "-".to_string()
    } else {
        listens.join(", ")
    };
    format!("line {line} (server_name {names}; listen {listens})")
}

fn lines_of(config: &Config, directives: &[&Directive]) -> String {
    directives
        .iter()
        .map(|d| config.position(d.span.start).line.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    const BENCH: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-frappe/nateabowman-4-sites-mixed-https/config/nginx.conf"
    );
    const ANTIUN_REDIRECT: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-odoo/antiun-split-files-ssl-on/files/nginx/odoo"
    );
    const ANTIUN_TLS: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-odoo/antiun-split-files-ssl-on/files/nginx/odoo-ssl"
    );
    const INSIGHTPULSE: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-odoo/insightpulse-upstreams-in-nginxconf-longpolling/nginx/conf.d/odoo.conf"
    );
    const MESSY: &str =
        include_str!("../../../tests/corpus/real-world/nginx-crossplane/messy/nginx.conf");
    const SIMPLE: &str =
        include_str!("../../../tests/corpus/real-world/nginx-crossplane/simple/nginx.conf");
    const GLOBBED_MAIN: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-crossplane/includes-globbed/nginx.conf"
    );
    const GLOBBED_HTTP: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-crossplane/includes-globbed/http.conf"
    );
    const GLOBBED_1: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-crossplane/includes-globbed/servers/server1.conf"
    );
    const GLOBBED_2: &str = include_str!(
        "../../../tests/corpus/real-world/nginx-crossplane/includes-globbed/servers/server2.conf"
    );

    fn request(host: &str, port: u16) -> Request {
        Request {
            host: host.to_string(),
            port,
        }
    }

    /// The first line of the server nginx picks for `host:port` in `text`, or the error.
    fn chosen(
        path: &str,
        text: &str,
        top: ContextKind,
        host: &str,
        port: u16,
        others: &Effective,
    ) -> Result<usize, String> {
        let config = parse(text).unwrap();
        let wanted = request(host, port);
        let choice = ServerChoice {
            request: Some(&wanted),
            ..ServerChoice::default()
        };
        server_target(path, &config, top, choice, others)
            .map(|target| target.lines.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_multi_site_bench_gets_the_tls_server_of_the_host_not_the_redirect_nor_the_first() {
        let pick = |host: &str, port: u16| {
            chosen(
                "/b",
                BENCH,
                ContextKind::Http,
                host,
                port,
                &Effective::empty(),
            )
        };
        assert_eq!(pick("prod.nexelya.com", 443), Ok(284));
        assert_eq!(pick("PROD.nexelya.com.", 443), Ok(284));
        assert_eq!(pick("demo.nexelya.com", 80), Ok(16));
        let error = pick("prod.nexelya.com", 80).unwrap_err();
        assert!(error.contains("only redirects to https"), "{error}");
        assert!(error.contains("set public_scheme: https"), "{error}");
        // A name no server has: nginx's first server on the port.
        assert_eq!(pick("other.example", 443), Ok(139));
        let error = pick("prod.nexelya.com", 8443).unwrap_err();
        assert!(
            error.contains("no server block in /b listens on port 8443"),
            "{error}"
        );
    }

    #[test]
    fn a_redirect_in_one_file_and_the_tls_server_in_another() {
        let main = "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n";
        let others = Effective::from_files(vec![
            ("/etc/nginx/nginx.conf".to_string(), main.to_string()),
            (
                "/etc/nginx/sites-enabled/odoo".to_string(),
                ANTIUN_REDIRECT.to_string(),
            ),
            (
                "/etc/nginx/sites-enabled/odoo-ssl".to_string(),
                ANTIUN_TLS.to_string(),
            ),
        ])
        .unwrap();
        let redirect = "/etc/nginx/sites-enabled/odoo";
        let tls = "/etc/nginx/sites-enabled/odoo-ssl";
        let error = chosen(
            redirect,
            ANTIUN_REDIRECT,
            ContextKind::Http,
            "odoo.example.com",
            443,
            &others,
        )
        .unwrap_err();
        assert!(
            error.starts_with(
                "a request for odoo.example.com on port 443 does not reach any server block of \
                 /etc/nginx/sites-enabled/odoo: nginx uses the server at /etc/nginx/sites-enabled/odoo-ssl line 5 \
                 (server_name odoo.example.com; listen 443, [::]:443 ipv6only=on), because its server_name"
            ),
            "{error}"
        );
        assert_eq!(
            chosen(
                tls,
                ANTIUN_TLS,
                ContextKind::Http,
                "odoo.example.com",
                443,
                &others
            ),
            Ok(5)
        );
        // The edited text of the file (after an earlier step) still counts as that file.
        let edited = format!("# edited\n{ANTIUN_TLS}");
        assert_eq!(
            chosen(
                tls,
                &edited,
                ContextKind::Http,
                "odoo.example.com",
                443,
                &others
            ),
            Ok(6)
        );
    }

    #[test]
    fn crossplane_configs_servers_by_port_across_globbed_includes() {
        let others = Effective::from_files(vec![
            (
                "/etc/nginx/nginx.conf".to_string(),
                GLOBBED_MAIN.to_string(),
            ),
            ("/etc/nginx/http.conf".to_string(), GLOBBED_HTTP.to_string()),
            (
                "/etc/nginx/servers/server1.conf".to_string(),
                GLOBBED_1.to_string(),
            ),
            (
                "/etc/nginx/servers/server2.conf".to_string(),
                GLOBBED_2.to_string(),
            ),
        ])
        .unwrap();
        let one = "/etc/nginx/servers/server1.conf";
        assert_eq!(
            chosen(one, GLOBBED_1, ContextKind::Http, "a.test", 8080, &others),
            Ok(1)
        );
        let error = chosen(one, GLOBBED_1, ContextKind::Http, "a.test", 8081, &others).unwrap_err();
        assert!(
            error.contains("nginx uses the server at /etc/nginx/servers/server2.conf line 1"),
            "{error}"
        );
        // Quoted words, several servers on one line, a server without listen (port 80).
        let pick = |port| {
            chosen(
                "/m",
                MESSY,
                ContextKind::Main,
                "a.test",
                port,
                &Effective::empty(),
            )
        };
        assert_eq!(pick(8083), Ok(8));
        assert_eq!(pick(8080), Ok(12));
        assert_eq!(pick(80), Ok(24));
        // `listen 127.0.0.1:8080`, `server_name default_server` (a name, not the flag).
        assert_eq!(
            chosen(
                "/s",
                SIMPLE,
                ContextKind::Main,
                "default_server",
                8080,
                &Effective::empty()
            ),
            Ok(6)
        );
    }

    #[test]
    fn overrides_compare_listen_as_nginx_reads_it() {
        let config = parse(INSIGHTPULSE).unwrap();
        let pick = |name: Option<&str>, listen: Option<&str>| {
            let choice = ServerChoice {
                server_name: name,
                listen,
                request: None,
            };
            server_target(
                "/o",
                &config,
                ContextKind::Http,
                choice,
                &Effective::empty(),
            )
            .map(|target| target.lines.0)
            .map_err(|e| e.to_string())
        };
        assert_eq!(pick(None, Some("443 ssl")), Ok(23));
        assert_eq!(pick(None, Some("[::]:443")), Ok(23));
        assert_eq!(pick(None, Some("80")), Ok(5));
        // The name alone: the 80 server only redirects, so the 443 one.
        assert_eq!(pick(Some("www.insightpulseai.net"), None), Ok(23));
        assert!(pick(None, Some("127.0.0.1:443")).is_err());
    }
}
