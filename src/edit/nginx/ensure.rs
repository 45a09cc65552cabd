//! `ensure`: make each directive or block of a snippet exist exactly once, equal to the snippet, in a context.
//!
//! For every item of the snippet, in order:
//! 1. its place is chosen: the context asked for, except that http-only items (`map`, `upstream`, `geo`,
//!    `split_clients`, `limit_req_zone`, ...) given with a server context go to the http body around that server;
//!    items that cannot live in the context (`map` in main, `location` in http, `server`/`http` blocks) are errors;
//! 2. a `location` going into a server that already has a location answering its path (see `patch`) is patched in
//!    place: the operator's upstream, variables and headers stay, only what the WebSocket needs is added or corrected;
//!    any other item with the same identity (see `identity`) in that body is left alone when equal token-wise
//!    (whitespace, comments and quoting ignored) and replaced in place otherwise (keeping the original's indentation);
//! 3. when absent, the effective configuration (`others`) is searched for the same identity in the same effective
//!    context in another file: equal means nothing to do, different is an error naming that file and line;
//! 4. otherwise it is inserted:
//!    - in an `http { }` block: right after the `http {` line (before everything else, so maps and upstreams come
//!      before the includes of site files);
//!    - at the top of a site file included from http: before the first directive and the comment lines directly
//!      above it (after the file's header comments);
//!    - a simple directive elsewhere: after the last simple directive that precedes the first block (or at the
//!      start of the body);
//!    - a block elsewhere (a `location` in a server): before the closing `}` of the body (or at the end of a file
//!      whose top level is the body), separated by a blank line.
//!
//! New text uses the file's line ending and indentation unit; bytes outside the edited span stay as they were, and
//! a file without a final newline keeps none. Ensuring the same snippet twice gives the same text as once.

use super::context::{Context, ContextKind, Request as PublicRequest};
use super::dump::Effective;
use super::error::EditError;
use super::identity::{Identity, identity, same_tokens};
use super::parse::parse;
use super::patch::{existing_location, patch_location};
use super::print::{Style, render_item};
use super::target::{Container, ServerChoice, Target, http_target, main_target, server_target};
use super::text::{is_blank_line, line_indent, starts_its_line};
use super::tree::{Config, Directive, Node, directives_of};
use super::upstream::reuse_in_snippet;
use crate::edit::lossless::{
    self, Splice, ends_open, insert_lines, line_content_end, line_start, next_line_start,
};

/// Directives that hold a whole context; they are not ensured as one item.
const NOT_ENSURED: &[&str] = &["server", "http"];

/// Directives nginx accepts only in http (some also in stream, which `ensure` does not target).
const HTTP_ONLY: &[&str] = &[
    "map",
    "upstream",
    "geo",
    "split_clients",
    "limit_req_zone",
    "limit_conn_zone",
    "proxy_cache_path",
    "fastcgi_cache_path",
    "uwsgi_cache_path",
    "scgi_cache_path",
    "log_format",
    "server_names_hash_bucket_size",
    "server_names_hash_max_size",
    "map_hash_bucket_size",
    "map_hash_max_size",
    "variables_hash_bucket_size",
    "variables_hash_max_size",
];

/// Directives nginx accepts only in a server (or deeper).
const SERVER_ONLY: &[&str] = &["location", "listen", "server_name"];

/// Directives nginx accepts only at the top level of the main configuration.
const MAIN_ONLY: &[&str] = &[
    "user",
    "worker_processes",
    "worker_rlimit_nofile",
    "worker_cpu_affinity",
    "worker_priority",
    "worker_shutdown_timeout",
    "pid",
    "load_module",
    "daemon",
    "master_process",
    "env",
    "pcre_jit",
    "thread_pool",
    "events",
    "stream",
    "mail",
];

/// The body kind an item goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Main,
    Http,
    Server,
}

/// What stays the same for every item of one `ensure` call.
struct Request<'a> {
    path: &'a str,
    file_top: ContextKind,
    context: &'a Context,
    snippet: &'a Config,
    others: &'a Effective,
}

/// Ensures every directive/block of `snippet` exists once, as given, in `context` of the file `path` (whose text is
/// `text` and whose top level nginx loads in `file_top`). Returns the new text (equal to `text` when nothing had to
/// change).
///
/// `others` is the effective configuration (from `nginx -T`), used to avoid defining an item a second time in
/// another file loaded in the same context; `path` must be the path nginx loads the file by (as `nginx -T` prints
/// it). A file of `others` with exactly the edited text is taken to be the edited file under another name (a
/// symlink) and is not searched.
pub fn ensure(
    path: &str,
    text: &str,
    file_top: ContextKind,
    context: &Context,
    snippet: &str,
    others: &Effective,
) -> Result<String, EditError> {
    let snippet_config = parse(snippet).map_err(|source| EditError::Snippet { source })?;
    let items: Vec<&Directive> = snippet_config.directives().collect();
    if items.is_empty() {
        return Err(EditError::EmptySnippet);
    }
    parse(text).map_err(|source| EditError::Parse {
        path: path.to_string(),
        source,
    })?;
    let placements = items
        .iter()
        .map(|item| placement(&snippet_config, item, context))
        .collect::<Result<Vec<_>, _>>()?;
    let request = Request {
        path,
        file_top,
        context,
        snippet: &snippet_config,
        others,
    };
    let mut current = text.to_string();
    for (item, placement) in items.into_iter().zip(placements) {
        current = ensure_item(&request, &current, placement, item)?;
    }
    Ok(current)
}

/// [`ensure`], with each `upstream` of the snippet reused from the operator's configuration when the server block
/// `context` picks already proxies to one that reaches the same port (the rule is in `upstream`): the upstream is
/// then not defined and the snippet's `proxy_pass` lines name the existing one.
pub fn ensure_reusing_upstreams(
    path: &str,
    text: &str,
    file_top: ContextKind,
    context: &Context,
    snippet: &str,
    others: &Effective,
) -> Result<String, EditError> {
    let snippet = reuse_in_snippet(path, text, file_top, context, snippet, others);
    ensure(path, text, file_top, context, &snippet, others)
}

fn placement(
    snippet: &Config,
    item: &Directive,
    context: &Context,
) -> Result<Placement, EditError> {
    let name = item.name();
    let wrong = |hint: &str| {
        let at = snippet.position(item.span.start);
        Err(EditError::WrongContext {
            directive: name.to_string(),
            line: at.line,
            column: at.column,
            context: context.to_string(),
            hint: hint.to_string(),
        })
    };
    if NOT_ENSURED.contains(&name) {
        return wrong(
            "a block that holds a whole context is not ensured as one item; ensure the directives inside it \
             (context: server with server_name/listen for a server, context: http for the http block)",
        );
    }
    if HTTP_ONLY.contains(&name) {
        return match context {
            Context::Main => wrong("it belongs in the http block; set context: http"),
            Context::Http | Context::Server { .. } => Ok(Placement::Http),
        };
    }
    if SERVER_ONLY.contains(&name) {
        return match context {
            Context::Server { .. } => Ok(Placement::Server),
            Context::Main | Context::Http => wrong(
                "it belongs in a server block; set context: server (with server_name or listen to pick the server)",
            ),
        };
    }
    if MAIN_ONLY.contains(&name) {
        return match context {
            Context::Main => Ok(Placement::Main),
            Context::Http | Context::Server { .. } => {
                wrong("it belongs at the top level of the main nginx.conf; set context: main")
            }
        };
    }
    Ok(match context {
        Context::Main => Placement::Main,
        Context::Http => Placement::Http,
        Context::Server { .. } => Placement::Server,
    })
}

fn ensure_item(
    request: &Request<'_>,
    text: &str,
    placement: Placement,
    item: &Directive,
) -> Result<String, EditError> {
    let path = request.path;
    let config = parse(text).map_err(|source| EditError::Parse {
        path: path.to_string(),
        source,
    })?;
    let (target, server_lines) = resolve(request, &config, placement, item)?;
    let style = Style::of(&config);
    if placement == Placement::Server
        && item.name() == "location"
        && let Some(existing) = existing_location(target.nodes(&config), item)
    {
        let new_text = patch_location(
            text,
            target.nodes(&config),
            existing,
            request.snippet,
            item,
            &style,
        );
        parse(&new_text).map_err(|source| EditError::EditBroke {
            path: path.to_string(),
            source,
        })?;
        return Ok(new_text);
    }
    let wanted = identity(item);
    let existing: Vec<&Directive> = directives_of(target.nodes(&config))
        .filter(|directive| identity(directive) == wanted)
        .collect();
    let new_text = match existing.as_slice() {
        [found] if same_tokens(&config, found, request.snippet, item) => {
            return Ok(text.to_string());
        }
        [found] => {
            let indent = line_indent(text, found.span.start);
            let rendered = render_item(request.snippet, item, indent, &style);
            lossless::splice(text, found.span.start..found.span.end, &rendered)
        }
        [] => {
            if let Some(result) =
                check_elsewhere(request, text, target.kind, server_lines, &wanted, item)
            {
                return result.map(|()| text.to_string());
            }
            let anchor = choose_anchor(&config, target, item);
            let indent = anchor_indent(text, &config, anchor, &style);
            let rendered = render_item(request.snippet, item, &indent, &style);
            let insertion = insertion(
                text,
                anchor,
                &format!("{indent}{rendered}"),
                &style,
                item.is_block(),
            );
            lossless::apply(text, vec![insertion])
        }
        several => {
            return Err(EditError::AlreadyDuplicated {
                identity: wanted.to_string(),
                path: path.to_string(),
                count: several.len(),
                lines: several
                    .iter()
                    .map(|d| config.position(d.span.start).line.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    parse(&new_text).map_err(|source| EditError::EditBroke {
        path: path.to_string(),
        source,
    })?;
    Ok(new_text)
}

/// The body the item goes into, and the line range of the chosen server (for server items).
fn resolve<'c>(
    request: &Request<'_>,
    config: &'c Config,
    placement: Placement,
    item: &Directive,
) -> Result<(Target<'c>, Option<(usize, usize)>), EditError> {
    let path = request.path;
    let file_top = request.file_top;
    let others = request.others;
    let server =
        |server_name: &Option<String>, listen: &Option<String>, request: &Option<PublicRequest>| {
            server_target(
                path,
                config,
                file_top,
                ServerChoice::of(server_name, listen, request),
                others,
            )
        };
    match (placement, request.context) {
        (Placement::Main, _) => Ok((main_target(path, file_top)?, None)),
        (
            Placement::Http,
            Context::Server {
                server_name,
                listen,
                request: public,
            },
        ) => {
            let chosen = server(server_name, listen, public)?;
            let http = chosen.http.ok_or_else(|| EditError::FileContext {
                path: path.to_string(),
                context: request.context.to_string(),
                file_top: file_top.to_string(),
                hint: format!(
                    "\"{}\" belongs in http, and this file is included inside a server; ensure it with context: \
                     http in the site file or in nginx.conf",
                    item.name()
                ),
            })?;
            Ok((http, None))
        }
        (Placement::Http, _) => Ok((http_target(path, config, file_top)?, None)),
        (
            Placement::Server,
            Context::Server {
                server_name,
                listen,
                request: public,
            },
        ) => {
            let chosen = server(server_name, listen, public)?;
            Ok((chosen.server, Some(chosen.lines)))
        }
        (Placement::Server, Context::Main | Context::Http) => Err(EditError::FileContext {
            path: path.to_string(),
            context: request.context.to_string(),
            file_top: file_top.to_string(),
            hint: "set context: server".to_string(),
        }),
    }
}

/// Looks for the item in other files loaded in the same effective context.
/// `Some(Ok(()))`: present and equal there; `Some(Err(..))`: present but different; `None`: absent.
fn check_elsewhere(
    request: &Request<'_>,
    text: &str,
    kind: ContextKind,
    server_lines: Option<(usize, usize)>,
    wanted: &Identity,
    item: &Directive,
) -> Option<Result<(), EditError>> {
    for file in request.others.files() {
        if file.path == request.path || file.config.source() == text {
            continue;
        }
        let Some(role) = &file.role else {
            continue;
        };
        let bodies: Vec<&[Node]> = match (kind, role.context) {
            (ContextKind::Http, ContextKind::Http) | (ContextKind::Main, ContextKind::Main) => {
                vec![file.config.nodes()]
            }
            (ContextKind::Http, ContextKind::Main) => file
                .config
                .directives()
                .filter(|d| d.name() == "http")
                .map(Directive::children)
                .collect(),
            (ContextKind::Server, ContextKind::Server) => {
                let inside_our_server = role.included_from.as_ref().is_some_and(|site| {
                    site.path == request.path
                        && server_lines
                            .is_some_and(|(first, last)| first <= site.line && site.line <= last)
                });
                if inside_our_server {
                    vec![file.config.nodes()]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        let found = bodies
            .into_iter()
            .flat_map(directives_of)
            .find(|directive| identity(directive) == *wanted);
        if let Some(found) = found {
            if same_tokens(&file.config, found, request.snippet, item) {
                return Some(Ok(()));
            }
            let at = file.config.position(found.span.start);
            return Some(Err(EditError::ConflictElsewhere {
                identity: wanted.to_string(),
                path: request.path.to_string(),
                other_path: file.path.clone(),
                line: at.line,
                column: at.column,
                context: kind.to_string(),
            }));
        }
    }
    None
}

/// Where a new item goes.
#[derive(Debug, Clone, Copy)]
enum Anchor<'c> {
    /// On the line after the block's `{`.
    BodyStart(&'c Directive),
    /// On the line before the block's `}`.
    BeforeClose(&'c Directive),
    /// On the line after this directive.
    After(&'c Directive),
    /// Before this directive and the comment lines directly above it.
    Before(&'c Directive),
    /// At the end of the file.
    FileEnd,
}

fn choose_anchor<'c>(config: &'c Config, target: Target<'c>, item: &Directive) -> Anchor<'c> {
    let directives: Vec<&'c Directive> = directives_of(target.nodes(config)).collect();
    let at_start = || match target.container {
        Container::Block(block) => Anchor::BodyStart(block),
        Container::File => directives
            .first()
            .map_or(Anchor::FileEnd, |first| Anchor::Before(first)),
    };
    if target.kind == ContextKind::Http {
        return at_start();
    }
    if !item.is_block() {
        return match directives.iter().take_while(|d| !d.is_block()).last() {
            Some(last_simple) => Anchor::After(last_simple),
            None => at_start(),
        };
    }
    match target.container {
        Container::Block(block) => Anchor::BeforeClose(block),
        Container::File => Anchor::FileEnd,
    }
}

fn anchor_indent(text: &str, config: &Config, anchor: Anchor<'_>, style: &Style) -> String {
    match anchor {
        Anchor::After(directive) | Anchor::Before(directive) => {
            let indent = line_indent(text, directive.span.start);
            if starts_its_line(text, directive.span.start) {
                indent.to_string()
            } else {
                format!("{indent}{}", style.unit)
            }
        }
        Anchor::BodyStart(block) | Anchor::BeforeClose(block) => block
            .directives()
            .find(|child| starts_its_line(text, child.span.start))
            .map_or_else(
                || format!("{}{}", line_indent(text, block.span.start), style.unit),
                |child| line_indent(text, child.span.start).to_string(),
            ),
        Anchor::FileEnd => config
            .directives()
            .filter(|d| starts_its_line(text, d.span.start))
            .last()
            .map_or_else(String::new, |d| line_indent(text, d.span.start).to_string()),
    }
}

/// The insertion of `line` (the indented item, without line ending) at `anchor`.
fn insertion(text: &str, anchor: Anchor<'_>, line: &str, style: &Style, is_block: bool) -> Splice {
    let eol = style.eol;
    let rest_is_trivia = |from: usize| {
        let rest = text[from..line_content_end(text, from)].trim_start();
        rest.is_empty() || rest.starts_with('#')
    };
    match anchor {
        Anchor::BodyStart(block) => {
            let Some((open, close)) = block.braces() else {
                return Splice::insert(block.span.end, "");
            };
            if rest_is_trivia(open.end) {
                let at = next_line_start(text, open.end);
                let closes_here =
                    starts_its_line(text, close.start) && line_start(text, close.start) == at;
                let blank_after = is_block && !closes_here && !is_blank_line(text, at);
                Splice::insert(
                    at,
                    format!("{line}{eol}{}", if blank_after { eol } else { "" }),
                )
            } else {
                let parent = line_indent(text, block.span.start);
                Splice::insert(open.end, format!("{eol}{line}{eol}{parent}"))
            }
        }
        Anchor::BeforeClose(block) => {
            let Some((open, close)) = block.braces() else {
                return Splice::insert(block.span.end, "");
            };
            if starts_its_line(text, close.start) {
                let at = line_start(text, close.start);
                let after_content =
                    at > 0 && !is_blank_line(text, at - 1) && line_start(text, at - 1) > open.start;
                let blank_before = is_block && after_content;
                Splice::insert(
                    at,
                    format!("{}{line}{eol}", if blank_before { eol } else { "" }),
                )
            } else {
                let parent = line_indent(text, close.start);
                Splice::insert(close.start, format!("{eol}{line}{eol}{parent}"))
            }
        }
        Anchor::After(directive) => {
            if rest_is_trivia(directive.span.end) {
                insert_lines(text, next_line_start(text, directive.span.end), line, eol)
            } else {
                Splice::insert(directive.span.end, format!("{eol}{line}"))
            }
        }
        Anchor::Before(directive) => {
            let directive_line = line_start(text, directive.span.start);
            let group = comment_group_start(text, directive_line);
            let at = if group == 0 { directive_line } else { group };
            Splice::insert(
                at,
                format!("{line}{eol}{}", if is_block { eol } else { "" }),
            )
        }
        Anchor::FileEnd => {
            let blank_before = is_block
                && if ends_open(text) {
                    !text.is_empty() && !is_blank_line(text, text.len() - 1)
                } else {
                    true
                };
            let block = format!("{}{line}", if blank_before { eol } else { "" });
            insert_lines(text, text.len(), &block, eol)
        }
    }
}

/// The start of the run of comment lines directly above the line starting at `line`.
fn comment_group_start(text: &str, line: usize) -> usize {
    let mut current = line;
    while current > 0 {
        let previous = line_start(text, current - 1);
        if text[previous..line_content_end(text, previous)]
            .trim()
            .starts_with('#')
        {
            current = previous;
        } else {
            break;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str =
        "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n";
    const LOCATION: &str =
        "location /websocket {\n    proxy_pass http://odoochat;\n    proxy_http_version 1.1;\n}\n";

    fn server(name: Option<&str>, listen: Option<&str>) -> Context {
        Context::Server {
            server_name: name.map(str::to_string),
            listen: listen.map(str::to_string),
            request: None,
        }
    }

    fn run(text: &str, top: ContextKind, context: &Context, snippet: &str) -> String {
        let once = ensure(
            "/etc/nginx/x.conf",
            text,
            top,
            context,
            snippet,
            &Effective::empty(),
        )
        .unwrap();
        let twice = ensure(
            "/etc/nginx/x.conf",
            &once,
            top,
            context,
            snippet,
            &Effective::empty(),
        )
        .unwrap();
        assert_eq!(once, twice, "ensuring twice must equal ensuring once");
        once
    }

    #[test]
    fn map_goes_right_after_the_http_line_with_the_file_indentation() {
        let text =
            "user www-data;\nhttp {\n\n\tsendfile on;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n";
        assert_eq!(
            run(text, ContextKind::Main, &Context::Http, MAP),
            "user www-data;\nhttp {\n\tmap $http_upgrade $connection_upgrade {\n\t\tdefault upgrade;\n\t\t''      \
             close;\n\t}\n\n\tsendfile on;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n"
        );
    }

    #[test]
    fn a_different_item_is_replaced_in_place() {
        let text = "http {\n  gzip on;\n  map $http_upgrade $connection_upgrade { default upgrade; } # old\n}\n";
        assert_eq!(
            run(text, ContextKind::Main, &Context::Http, MAP),
            "http {\n  gzip on;\n  map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      \
             close;\n  } # old\n}\n"
        );
        let equal =
            "http {\n  map $http_upgrade $connection_upgrade {default upgrade; \"\" close;}\n}\n";
        assert_eq!(run(equal, ContextKind::Main, &Context::Http, MAP), equal);
    }

    #[test]
    fn location_goes_before_the_server_end_keeping_crlf_and_no_final_newline() {
        let text =
            "# site\r\nserver {\r\n  listen 80;\r\n  location / {\r\n    root /srv;\r\n  }\r\n}";
        assert_eq!(
            run(text, ContextKind::Http, &server(None, None), LOCATION),
            "# site\r\nserver {\r\n  listen 80;\r\n  location / {\r\n    root /srv;\r\n  }\r\n\r\n  location \
             /websocket {\r\n    proxy_pass http://odoochat;\r\n    proxy_http_version 1.1;\r\n  }\r\n}"
        );
    }

    #[test]
    fn upstream_with_a_server_context_goes_to_the_top_of_a_site_file() {
        let text = "# header\n\n# the site\nserver {\n\tlisten 80;\n}\n";
        let snippet = format!("upstream odoochat {{ server 127.0.0.1:8072; }}\n{LOCATION}");
        assert_eq!(
            run(text, ContextKind::Http, &server(None, Some("80")), &snippet),
            "# header\n\nupstream odoochat { server 127.0.0.1:8072; }\n\n# the site\nserver {\n\tlisten 80;\n\n\t\
             location /websocket {\n\t\tproxy_pass http://odoochat;\n\t\tproxy_http_version 1.1;\n\t}\n}\n"
        );
    }

    #[test]
    fn simple_directives_go_after_the_leading_simple_directives() {
        let text = "server {\n    listen 80;\n    location / { }\n}\n";
        assert_eq!(
            run(
                text,
                ContextKind::Http,
                &server(None, None),
                "client_max_body_size 100m;"
            ),
            "server {\n    listen 80;\n    client_max_body_size 100m;\n    location / { }\n}\n"
        );
    }

    #[test]
    fn servers_are_picked_by_name_or_listen() {
        let text = "server { listen 80; server_name a.example; }\nserver { listen 8080; server_name b.example; }\n";
        let error = ensure(
            "/s",
            text,
            ContextKind::Http,
            &server(None, None),
            LOCATION,
            &Effective::empty(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "/s has 2 server blocks and no server_name/listen was given to pick one; set server_name or listen in \
             the context. Servers: line 1 (server_name a.example; listen 80); line 2 (server_name b.example; listen \
             8080)"
        );
        let edited = run(
            text,
            ContextKind::Http,
            &server(Some("b.example"), None),
            "gzip on;",
        );
        assert_eq!(
            edited,
            "server { listen 80; server_name a.example; }\nserver { listen 8080; server_name b.example;\n    gzip \
             on; }\n"
        );
        let error = ensure(
            "/s",
            text,
            ContextKind::Http,
            &server(Some("c.example"), None),
            LOCATION,
            &Effective::empty(),
        );
        assert!(matches!(error, Err(EditError::NoMatchingServer { .. })));
    }

    #[test]
    fn items_in_the_wrong_context_are_refused() {
        let error = ensure(
            "/n",
            "http { }\n",
            ContextKind::Main,
            &Context::Main,
            MAP,
            &Effective::empty(),
        );
        assert_eq!(
            error.unwrap_err().to_string(),
            "\"map\" (line 1, column 1 of the configuration to ensure) cannot go into main context: it belongs in the \
             http block; set context: http"
        );
        let error = ensure(
            "/n",
            "http { }\n",
            ContextKind::Main,
            &Context::Http,
            LOCATION,
            &Effective::empty(),
        );
        assert!(matches!(error, Err(EditError::WrongContext { .. })));
        let error = ensure(
            "/n",
            "",
            ContextKind::Http,
            &server(None, None),
            "server { listen 1; }",
            &Effective::empty(),
        );
        assert!(matches!(error, Err(EditError::WrongContext { .. })));
    }

    #[test]
    fn an_item_defined_in_another_file_of_the_same_context_is_not_added_again() {
        let main = "http {\n    include /etc/nginx/sites-enabled/*;\n}\n".to_string();
        let site = format!("{MAP}server {{ listen 80; }}\n");
        let others = Effective::from_files(vec![
            ("/etc/nginx/nginx.conf".to_string(), main.clone()),
            ("/etc/nginx/sites-enabled/odoo".to_string(), site),
        ])
        .unwrap();
        let same = ensure(
            "/etc/nginx/nginx.conf",
            &main,
            ContextKind::Main,
            &Context::Http,
            MAP,
            &others,
        )
        .unwrap();
        assert_eq!(same, main);
        let different = MAP.replace("close", "keep-alive");
        let error = ensure(
            "/etc/nginx/nginx.conf",
            &main,
            ContextKind::Main,
            &Context::Http,
            &different,
            &others,
        );
        assert_eq!(
            error.unwrap_err().to_string(),
            "\"map $connection_upgrade\" is already defined differently at /etc/nginx/sites-enabled/odoo:1:1, which \
             nginx loads in the same http context as /etc/nginx/nginx.conf; adding it to \
             /etc/nginx/nginx.conf would define it twice. Edit or remove it in /etc/nginx/sites-enabled/odoo (or \
             point this step's file at /etc/nginx/sites-enabled/odoo)"
        );
    }

    /// Unchanged by the shared line-ending rule (nginx already took the majority): new lines take
    /// the majority ending, LF on a tie, CRLF when most lines are CRLF.
    #[test]
    fn new_lines_take_the_majority_ending() {
        assert_eq!(
            run(
                "http {\r\n}\n",
                ContextKind::Main,
                &Context::Http,
                "gzip on;"
            ),
            "http {\r\n    gzip on;\n}\n"
        );
        assert_eq!(
            run(
                "http {\r\n}\r\n\n",
                ContextKind::Main,
                &Context::Http,
                "gzip on;"
            ),
            "http {\r\n    gzip on;\r\n}\r\n\n"
        );
    }

    #[test]
    fn empty_files_and_files_without_final_newline() {
        assert_eq!(
            run("", ContextKind::Http, &Context::Http, "gzip on;"),
            "gzip on;\n"
        );
        assert_eq!(
            run(
                "server { listen 80; }",
                ContextKind::Server,
                &server(None, None),
                LOCATION
            ),
            "server { listen 80; }\n\nlocation /websocket {\n    proxy_pass http://odoochat;\n    proxy_http_version \
             1.1;\n}"
        );
    }
}
