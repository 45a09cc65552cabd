//! Corpus tests of the nginx parser and editor, through the public API.
//!
//! - every valid corpus file prints back byte for byte; the invalid ones give a clean error or a round trip;
//! - ensuring the websocket map, an upstream and a `location /websocket` in every valid file: idempotent, bytes
//!   outside the edit unchanged, line endings and final newline kept, no duplicate identities;
//! - `nginx -t` accepts the edited complete configs (and site/server files wrapped in a minimal config) and
//!   rejects a `map` put outside http;
//! - crossplane (Python) finds the ensured items exactly once, in the right block, and the same tree as ours;
//! - pinned error messages; `nginx -T` dumps.
//!
//! Needs: the test corpus (`tests/corpus/nginx`), nginx at `/usr/sbin/nginx` (or
//! `WSDEPLOY_NGINX`) run as root with the Debian nginx package's `/etc/nginx`, and a Python with crossplane
//! (`WSDEPLOY_CROSSPLANE_PYTHON`, default `python3`).

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use wsdeploy::edit::nginx as ng;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use ng::{Context, ContextKind, EditError, Effective};

const MAP: &str =
    "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n";
const UPSTREAM: &str = "upstream odoochat {\n    server 127.0.0.1:8072;\n}\n";
const LOCATION: &str = "location /websocket {
    proxy_pass http://odoochat;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $host;
    proxy_set_header Origin $http_origin;
    proxy_buffering off;
    proxy_read_timeout 3600s;
}
";

/// Corpus files whose top level is the main context.
const MAIN_FILES: &[&str] = &[
    "debian-bookworm-nginx.conf",
    "h5bp-nginx.conf",
    "nextcloud-fpm-regex-locations.conf",
    "nginx-org-default-nginx.conf",
    "nicegui-fastapi-websocket-subpath.conf",
    "rtmp-win32-trailing-ws.conf",
];

/// Corpus files included inside a server block.
const SERVER_FILES: &[&str] = &[
    "h5bp-location-security_file_access.conf",
    "wp-pothi-quoted-regex-braces.conf",
    "wp-pothi-wp-super-cache-if-oneliners.conf",
];

// ---------------------------------------------------------------------------------------------------------------
// Helpers

fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/nginx");
    assert!(
        dir.is_dir(),
        "the nginx corpus is missing at {}: these tests need tests/corpus/nginx",
        dir.display()
    );
    dir
}

fn files_in(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = fs::read(&path).unwrap();
            let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
            (name, text)
        })
        .collect();
    files.sort();
    files
}

fn valid_files() -> Vec<(String, String)> {
    let files: Vec<_> = files_in(&corpus_dir())
        .into_iter()
        .filter(|(name, _)| Path::new(name).extension().is_some_and(|ext| ext == "conf"))
        .collect();
    assert!(
        files.len() >= 29,
        "expected the 29 valid corpus files, found {}",
        files.len()
    );
    files
}

fn corpus_file(name: &str) -> String {
    fs::read_to_string(corpus_dir().join(name)).unwrap()
}

fn file_top(name: &str) -> ContextKind {
    if MAIN_FILES.contains(&name) {
        ContextKind::Main
    } else if SERVER_FILES.contains(&name) {
        ContextKind::Server
    } else {
        ContextKind::Http
    }
}

fn server_context(server_name: Option<&str>, listen: Option<&str>) -> Context {
    Context::Server {
        server_name: server_name.map(str::to_string),
        listen: listen.map(str::to_string),
        request: None,
    }
}

fn snippet_identity(snippet: &str) -> ng::Identity {
    let config = ng::parse(snippet).unwrap();
    ng::identity(config.directives().next().unwrap())
}

/// Calls `visit(parent name, body)` for the top level (parent `None`) and every block body.
fn walk_bodies<'c>(
    nodes: &'c [ng::Node],
    parent: Option<&'c ng::Directive>,
    visit: &mut dyn FnMut(Option<&'c ng::Directive>, &'c [ng::Node]),
) {
    visit(parent, nodes);
    for node in nodes {
        if let ng::Node::Directive(directive) = node {
            walk_bodies(directive.children(), Some(directive), visit);
        }
    }
}

/// How many directives with `wanted` identity the whole file holds, and the most found in one body.
fn identity_counts(config: &ng::Config, wanted: &ng::Identity) -> (usize, usize) {
    let mut total = 0;
    let mut most = 0;
    walk_bodies(config.nodes(), None, &mut |_, body| {
        let here = body
            .iter()
            .filter(|node| matches!(node, ng::Node::Directive(d) if ng::identity(d) == *wanted))
            .count();
        total += here;
        most = most.max(here);
    });
    (total, most)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &str, b: &str, limit: usize) -> usize {
    a.bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count()
        .min(limit)
}

fn bare_lf_count(text: &str) -> usize {
    text.bytes()
        .enumerate()
        .filter(|&(i, b)| b == b'\n' && (i == 0 || text.as_bytes()[i - 1] != b'\r'))
        .count()
}

/// Ensures `snippet` and checks the editor's promises on the result; returns the new text.
fn ensure_checked(
    name: &str,
    before: &str,
    top: ContextKind,
    context: &Context,
    snippet: &str,
) -> Result<String, EditError> {
    let after = ng::ensure(name, before, top, context, snippet, &Effective::empty())?;
    let again = ng::ensure(name, &after, top, context, snippet, &Effective::empty()).unwrap();
    assert_eq!(
        again, after,
        "{name}: ensuring {snippet:?} twice differs from once"
    );

    let wanted = snippet_identity(snippet);
    let before_config = ng::parse(before).unwrap();
    let after_config =
        ng::parse(&after).unwrap_or_else(|e| panic!("{name}: edited text does not parse: {e}"));
    assert_eq!(after_config.to_text(), after);

    // Bytes outside the edited span are unchanged.
    let prefix = common_prefix(before, &after);
    let suffix = common_suffix(before, &after, before.len().min(after.len()) - prefix);
    let removed = (prefix, before.len() - suffix);
    if removed.0 < removed.1 {
        let mut inside_replaced_item = false;
        walk_bodies(before_config.nodes(), None, &mut |_, body| {
            for node in body {
                if let ng::Node::Directive(d) = node
                    && ng::identity(d) == wanted
                    && d.span.start <= removed.0
                    && removed.1 <= d.span.end
                {
                    inside_replaced_item = true;
                }
            }
        });
        assert!(
            inside_replaced_item,
            "{name}: bytes {}..{} changed outside the replaced \"{wanted}\"",
            removed.0, removed.1
        );
    }

    // Line endings and the final newline are kept.
    if bare_lf_count(before) == 0 && before.contains('\n') {
        assert_eq!(
            bare_lf_count(&after),
            0,
            "{name}: CRLF file got LF line endings"
        );
    }
    if !before.contains("\r\n") {
        assert!(
            !after.contains("\r\n"),
            "{name}: LF file got CRLF line endings"
        );
    }
    assert_eq!(
        before.ends_with('\n'),
        after.ends_with('\n'),
        "{name}: final newline changed"
    );

    // No duplicate identities.
    let (total_before, _) = identity_counts(&before_config, &wanted);
    let (total_after, most_in_one_body) = identity_counts(&after_config, &wanted);
    assert!(
        most_in_one_body <= 1,
        "{name}: \"{wanted}\" appears twice in one block"
    );
    // A pure insertion adds the item, or patches the one already there (a location).
    let inserted = after != before && removed.0 == removed.1;
    assert!(
        total_after == total_before || (inserted && total_after == total_before + 1),
        "{name}: unexpected number of \"{wanted}\": {total_before} before, {total_after} after"
    );
    Ok(after)
}

fn has_http_block(text: &str) -> bool {
    ng::parse(text)
        .unwrap()
        .directives()
        .any(|d| d.name() == "http")
}

/// Server selectors to try for a file: none first, then each server's first `server_name` and/or `listen`.
fn server_selectors(text: &str, top: ContextKind) -> Vec<Context> {
    let config = ng::parse(text).unwrap();
    let servers: Vec<&ng::Directive> = match top {
        ContextKind::Main => config
            .directives()
            .filter(|d| d.name() == "http")
            .flat_map(|http| http.directives().filter(|d| d.name() == "server"))
            .collect(),
        _ => config
            .directives()
            .filter(|d| d.name() == "server")
            .collect(),
    };
    let mut selectors = vec![server_context(None, None)];
    for server in servers {
        let first = |name: &str| {
            server
                .directives()
                .find(|d| d.name() == name)
                .and_then(|d| d.arg(0))
                .map(str::to_string)
        };
        let (server_name, listen) = (first("server_name"), first("listen"));
        selectors.push(server_context(server_name.as_deref(), None));
        selectors.push(server_context(None, listen.as_deref()));
        selectors.push(server_context(server_name.as_deref(), listen.as_deref()));
    }
    selectors
}

fn file_has_servers(text: &str, top: ContextKind) -> bool {
    top == ContextKind::Server || server_selectors(text, top).len() > 1
}

/// The result of ensuring map, upstream and location in one corpus file.
struct Edited {
    text: String,
    /// Map and upstream went in (the file has an http body).
    http: bool,
    /// The location went in (the file has a server).
    location: bool,
}

fn edit_corpus_file(name: &str, text: &str) -> Edited {
    let top = file_top(name);
    let http = top == ContextKind::Http || (top == ContextKind::Main && has_http_block(text));
    let mut current = text.to_string();
    for snippet in [MAP, UPSTREAM] {
        match ensure_checked(name, &current, top, &Context::Http, snippet) {
            Ok(next) => {
                assert!(
                    http,
                    "{name}: an http item went into a file without http body"
                );
                current = next;
            }
            Err(EditError::NoHttpBlock { .. }) if !http => {}
            Err(error) => panic!("{name}: {error}"),
        }
    }
    let location = file_has_servers(text, top);
    if location {
        let mut last_error = None;
        let mut done = false;
        for selector in server_selectors(&current, top) {
            match ensure_checked(name, &current, top, &selector, LOCATION) {
                Ok(next) => {
                    current = next;
                    done = true;
                    break;
                }
                Err(
                    error @ (EditError::AmbiguousServer { .. }
                    | EditError::SeveralMatchingServers { .. }),
                ) => {
                    last_error = Some(error);
                }
                Err(error) => panic!("{name}: {error}"),
            }
        }
        assert!(done, "{name}: no server selector worked: {last_error:?}");
    }
    Edited {
        text: current,
        http,
        location,
    }
}

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn temp_dir(label: &str) -> TempDir {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir =
        std::env::temp_dir().join(format!("wsdeploy-nginx-{}-{label}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Round trip

#[test]
fn every_valid_corpus_file_prints_back_byte_for_byte() {
    let files = valid_files();
    for (name, text) in &files {
        let config = ng::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.to_text(), *text, "{name}: round trip differs");
        assert!(
            config.directives().count() > 0,
            "{name}: no directives found"
        );
    }
    let special = [
        "frappe-docker-envsubst-template-crlf.conf",
        "swag-copyparty-crlf-noeol.conf",
        "odoo-compose-escaped-dollar-noeol.conf",
    ];
    for name in special {
        assert!(
            files.iter().any(|(n, _)| n == name),
            "{name} missing from the corpus"
        );
    }
}

#[test]
fn invalid_templates_give_a_clean_error_or_a_round_trip() {
    let files = files_in(&corpus_dir().join("invalid"));
    assert_eq!(files.len(), 3, "expected 3 invalid corpus files");
    let mut errors = 0;
    for (name, text) in &files {
        match ng::parse(text) {
            Ok(config) => assert_eq!(config.to_text(), *text, "{name}: round trip differs"),
            Err(error) => {
                errors += 1;
                assert!(error.line >= 1 && error.column >= 1, "{name}: {error}");
                assert!(!error.message.is_empty());
            }
        }
    }
    // nginx itself rejects all three; so does this parser.
    assert_eq!(errors, 3);
}

#[test]
fn damaged_corpus_files_never_panic() {
    // Deterministic pseudo-random damage: delete or insert one delimiter-like byte at many places.
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap()
    };
    let inserts = ["{", "}", ";", "\"", "'", "#", "\\", "$", "\r\n", "é"];
    let mut parsed = 0;
    let mut rejected = 0;
    for (name, text) in valid_files() {
        for _ in 0..60 {
            let mut damaged = text.clone();
            let mut at = next() % (damaged.len() + 1);
            while !damaged.is_char_boundary(at) {
                at -= 1;
            }
            if next() % 2 == 0 && at < damaged.len() {
                damaged.remove(at);
            } else {
                damaged.insert_str(at, inserts[next() % inserts.len()]);
            }
            match ng::parse(&damaged) {
                Ok(config) => {
                    parsed += 1;
                    assert_eq!(
                        config.to_text(),
                        damaged,
                        "{name}: round trip of damaged text"
                    );
                    let top = file_top(&name);
                    let _ = ng::ensure(
                        &name,
                        &damaged,
                        top,
                        &Context::Http,
                        MAP,
                        &Effective::empty(),
                    );
                    let _ = ng::ensure(
                        &name,
                        &damaged,
                        top,
                        &server_context(None, None),
                        LOCATION,
                        &Effective::empty(),
                    );
                }
                Err(error) => {
                    rejected += 1;
                    assert!(error.line >= 1 && error.column >= 1);
                }
            }
        }
    }
    eprintln!(
        "damaged corpus texts: {parsed} parsed and round-tripped, {rejected} rejected with an error"
    );
    assert!(
        parsed > 0 && rejected > 0,
        "parsed {parsed}, rejected {rejected}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Ensure on every valid file

#[test]
fn ensuring_websocket_items_keeps_every_promise_on_every_file() {
    let mut http_files = 0;
    let mut location_files = 0;
    for (name, text) in valid_files() {
        let edited = edit_corpus_file(&name, &text);
        http_files += usize::from(edited.http);
        location_files += usize::from(edited.location);
        // The whole set again is a no-op.
        let again = edit_corpus_file(&name, &edited.text);
        assert_eq!(
            again.text, edited.text,
            "{name}: second run changed the file"
        );
    }
    eprintln!("ensure: {http_files} files got map + upstream, {location_files} got the location");
    assert!(
        http_files >= 20,
        "only {http_files} files got the http items"
    );
    assert!(
        location_files >= 15,
        "only {location_files} files got the location"
    );
}

#[test]
fn upstream_and_location_in_one_snippet_with_a_server_context() {
    let name = "debian-bookworm-sites-available-default.conf";
    let text = corpus_file(name);
    let snippet = format!("{UPSTREAM}{LOCATION}");
    let context = server_context(None, None);
    let once = ng::ensure(
        name,
        &text,
        ContextKind::Http,
        &context,
        &snippet,
        &Effective::empty(),
    )
    .unwrap();
    let twice = ng::ensure(
        name,
        &once,
        ContextKind::Http,
        &context,
        &snippet,
        &Effective::empty(),
    )
    .unwrap();
    assert_eq!(once, twice);
    let config = ng::parse(&once).unwrap();
    let top: Vec<&str> = config.directives().map(ng::Directive::name).collect();
    assert_eq!(
        top,
        ["upstream", "server"],
        "upstream goes to the top of the site file"
    );
    let server = config.directives().nth(1).unwrap();
    let last = server.directives().last().unwrap();
    assert_eq!((last.name(), last.arg(0)), ("location", Some("/websocket")));
    assert!(
        once.contains("\n\tlocation /websocket {\n\t\tproxy_pass http://odoochat;\n"),
        "tab indentation kept"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 3. nginx -t oracle

fn nginx_binary() -> String {
    let nginx = std::env::var("WSDEPLOY_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".to_string());
    assert!(
        Path::new(&nginx).exists(),
        "nginx not found at {nginx}: install nginx (Debian package) or set WSDEPLOY_NGINX; these tests run `nginx -t`"
    );
    nginx
}

/// Runs `nginx -t` on `conf`; `Err(output)` when nginx rejects it.
fn nginx_test(conf: &Path) -> Result<(), String> {
    let text = fs::read_to_string(conf).unwrap();
    let has_pid =
        ng::parse(&text).is_ok_and(|config| config.directives().any(|d| d.name() == "pid"));
    let mut command = Command::new(nginx_binary());
    command.arg("-t").arg("-c").arg(conf);
    if !has_pid {
        // nginx refuses a -g pid when the file sets one itself.
        command.arg("-g").arg(format!(
            "pid {}/nginx.pid;",
            conf.parent().unwrap().display()
        ));
    }
    let output = command.output().expect("cannot run nginx");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Writes empty files for the relative, non-glob includes of `text` that `dir` does not have yet.
fn stub_relative_includes(dir: &Path, text: &str) {
    let config = ng::parse(text).unwrap();
    walk_bodies(config.nodes(), None, &mut |_, body| {
        for node in body {
            if let ng::Node::Directive(d) = node
                && d.name() == "include"
                && let Some(pattern) = d.arg(0)
                && !pattern.starts_with('/')
                && !ng::is_glob(pattern)
            {
                let path = dir.join(pattern);
                if !path.exists() {
                    fs::create_dir_all(path.parent().unwrap()).unwrap();
                    fs::write(&path, "").unwrap();
                }
            }
        }
    });
}

/// Lays out `text` (the corpus file `name`, or its edited form) as a testable config; returns the nginx.conf path.
fn layout_for_nginx(dir: &Path, name: &str, text: &str, wrapper_http: &str) -> PathBuf {
    let conf = dir.join("nginx.conf");
    fs::write(
        dir.join("mime.types"),
        corpus_file("nginx-org-mime.types.conf"),
    )
    .unwrap();
    match file_top(name) {
        ContextKind::Main => {
            if name == "h5bp-nginx.conf" {
                let target = dir.join("h5bp/web_performance/cache_expiration.conf");
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                fs::write(
                    target,
                    corpus_file("h5bp-web_performance-cache_expiration.conf"),
                )
                .unwrap();
            }
            fs::write(&conf, text).unwrap();
        }
        ContextKind::Server => {
            let site = dir.join("site.conf");
            fs::write(&site, text).unwrap();
            fs::write(
                &conf,
                format!(
                    "events {{}}\nhttp {{\n{wrapper_http}server {{\nlisten 127.0.0.1:8080;\ninclude {};\n}}\n}}\n",
                    site.display()
                ),
            )
            .unwrap();
        }
        _ => {
            let site = dir.join("site.conf");
            fs::write(&site, text).unwrap();
            fs::write(
                &conf,
                format!(
                    "events {{}}\nhttp {{\n{wrapper_http}include {};\n}}\n",
                    site.display()
                ),
            )
            .unwrap();
        }
    }
    stub_relative_includes(dir, text);
    conf
}

/// Corpus files that nginx 1.22 accepts as laid out here (complete configs, or wrapped in a minimal one); the
/// others need missing certificates, unresolvable upstream hosts or third-party modules.
const NGINX_ORACLE_FILES: &[&str] = &[
    "debian-bookworm-nginx.conf",
    "nginx-org-default-nginx.conf",
    "h5bp-nginx.conf",
    "debian-bookworm-sites-available-default.conf",
    "h5bp-web_performance-cache_expiration.conf",
    "nginx-org-koi-utf-charset-map.conf",
    "nginx-org-mime.types.conf",
    "trimstray-geo-acl.conf",
    "trimstray-rate-limiting-aligned.conf",
    "wp-pothi-common-oneline-maps.conf",
    "h5bp-location-security_file_access.conf",
    "wp-pothi-quoted-regex-braces.conf",
    "wp-pothi-wp-super-cache-if-oneliners.conf",
];

#[cfg(feature = "host-tests")]
#[test]
fn nginx_accepts_every_edited_config() {
    nginx_binary();
    let mut checked = 0;
    for name in NGINX_ORACLE_FILES {
        let original = corpus_file(name);
        // A server-level file cannot hold the map/upstream its location needs: the wrapper's http provides them.
        let wrapper_http = if file_top(name) == ContextKind::Server {
            format!("{MAP}{UPSTREAM}")
        } else {
            String::new()
        };
        let before_dir = temp_dir("before");
        let before = layout_for_nginx(&before_dir, name, &original, &wrapper_http);
        nginx_test(&before).unwrap_or_else(|e| {
            panic!("{name}: nginx rejects the unedited file, fix the test setup:\n{e}")
        });

        let edited = edit_corpus_file(name, &original);
        assert!(
            edited.text != original || name.contains("websocket"),
            "{name}: nothing was edited"
        );
        let after_dir = temp_dir("after");
        let after = layout_for_nginx(&after_dir, name, &edited.text, &wrapper_http);
        checked += 1;
        nginx_test(&after).unwrap_or_else(|e| {
            panic!(
                "{name}: nginx rejects the edited file:\n{e}\n{}",
                edited.text
            )
        });
    }
    eprintln!("nginx -t: {checked} edited configs accepted");
    assert_eq!(checked, NGINX_ORACLE_FILES.len());
}

#[cfg(feature = "host-tests")]
#[test]
fn nginx_rejects_a_map_outside_http() {
    let name = "debian-bookworm-nginx.conf";
    let original = corpus_file(name);
    let wrong = format!("{MAP}{original}");
    let dir = temp_dir("wrong");
    let conf = layout_for_nginx(&dir, name, &wrong, "");
    let error = nginx_test(&conf).expect_err("nginx accepted a map in main context");
    assert!(
        error.contains("\"map\" directive is not allowed here"),
        "{error}"
    );
    // The editor refuses to make that edit.
    let refused = ng::ensure(
        name,
        &original,
        ContextKind::Main,
        &Context::Main,
        MAP,
        &Effective::empty(),
    );
    assert!(matches!(refused, Err(EditError::WrongContext { .. })));
}

// ---------------------------------------------------------------------------------------------------------------
// 4. crossplane oracle

fn crossplane_python() -> String {
    let python =
        std::env::var("WSDEPLOY_CROSSPLANE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = Command::new(&python)
        .args(["-c", "import crossplane"])
        .output();
    match probe {
        Ok(output) if output.status.success() => python,
        Ok(output) => panic!(
            "`{python} -c 'import crossplane'` failed: {}; install crossplane (python3 -m venv venv && venv/bin/pip \
             install crossplane) and set WSDEPLOY_CROSSPLANE_PYTHON=venv/bin/python",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => panic!(
            "cannot run {python}: {error}; set WSDEPLOY_CROSSPLANE_PYTHON to a Python with crossplane"
        ),
    }
}

/// A directive as crossplane reports it: name, args, nested block (`None` for `;` directives).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plain {
    name: String,
    args: Vec<String>,
    block: Option<Vec<Plain>>,
}

/// Parses the files with crossplane (one Python run) and returns each file's directives.
fn crossplane_parse(python: &str, paths: &[PathBuf]) -> Vec<Vec<Plain>> {
    const SCRIPT: &str = r#"
import sys, crossplane
def emit(items, depth):
    for d in items:
        block = d.get("block")
        print("D", depth, "B" if block is not None else "S", len(d["args"]))
        print(d["directive"].encode("unicode_escape").decode())
        for a in d["args"]:
            print(a.encode("unicode_escape").decode())
        if block is not None:
            emit(block, depth + 1)
for path in sys.argv[1:]:
    result = crossplane.parse(path, single=True, check_ctx=False, check_args=False, catch_errors=False, comments=False)
    print("F")
    emit(result["config"][0]["parsed"], 0)
"#;
    let output = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .args(paths)
        .output()
        .expect("cannot run crossplane");
    assert!(
        output.status.success(),
        "crossplane failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    let mut files = Vec::new();
    // Stack of open bodies; entries record the depth of their directives.
    let mut stack: Vec<Vec<Plain>> = Vec::new();
    let mut depths: Vec<usize> = Vec::new();
    let close_to = |stack: &mut Vec<Vec<Plain>>, depths: &mut Vec<usize>, depth: usize| {
        while depths.len() > depth + 1 {
            depths.pop();
            let body = stack.pop().unwrap();
            stack.last_mut().unwrap().last_mut().unwrap().block = Some(body);
        }
    };
    while let Some(line) = lines.next() {
        if line == "F" {
            if !stack.is_empty() {
                close_to(&mut stack, &mut depths, 0);
                files.push(stack.pop().unwrap());
                depths.clear();
            }
            stack.push(Vec::new());
            depths.push(0);
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        let depth: usize = parts[1].parse().unwrap();
        let is_block = parts[2] == "B";
        let nargs: usize = parts[3].parse().unwrap();
        close_to(&mut stack, &mut depths, depth);
        let name = python_unescape(lines.next().unwrap());
        let args = (0..nargs)
            .map(|_| python_unescape(lines.next().unwrap()))
            .collect();
        stack.last_mut().unwrap().push(Plain {
            name,
            args,
            block: None,
        });
        if is_block {
            stack.last_mut().unwrap().last_mut().unwrap().block = Some(Vec::new());
            stack.push(Vec::new());
            depths.push(depth + 1);
        }
    }
    if !stack.is_empty() {
        close_to(&mut stack, &mut depths, 0);
        files.push(stack.pop().unwrap());
    }
    files
}

/// The inverse of Python's `unicode_escape`.
fn python_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex_digits = |chars: &mut std::str::Chars<'_>, n: usize| {
            let hex: String = chars.take(n).collect();
            char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap()
        };
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('x') => out.push(hex_digits(&mut chars, 2)),
            Some('u') => out.push(hex_digits(&mut chars, 4)),
            Some('U') => out.push(hex_digits(&mut chars, 8)),
            Some('\\') | None => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// Our tree in crossplane's shape (crossplane strips the parentheses of `if` and gives Lua code as one argument).
fn plain_of(config: &ng::Config, nodes: &[ng::Node]) -> Vec<Plain> {
    let mut out = Vec::new();
    for node in nodes {
        let ng::Node::Directive(d) = node else {
            continue;
        };
        let mut args: Vec<String> = d.args.iter().map(|w| w.value.clone()).collect();
        if d.name() == "if"
            && args.first().is_some_and(|a| a.starts_with('('))
            && args.last().is_some_and(|a| a.ends_with(')'))
        {
            args[0] = args[0][1..].trim_start().to_string();
            let last = args.len() - 1;
            args[last] = args[last][..args[last].len() - 1].trim_end().to_string();
            let start = usize::from(args[0].is_empty());
            let end = args.len() - usize::from(args[last].is_empty());
            args = args[start..end.max(start)].to_vec();
        }
        let block = match &d.body {
            ng::Body::Semicolon(_) => None,
            ng::Body::Raw(raw) => {
                args.push(config.slice(raw.content).to_string());
                None
            }
            ng::Body::Block(block) => Some(plain_of(config, &block.children)),
        };
        out.push(Plain {
            name: d.name.value.clone(),
            args,
            block,
        });
    }
    out
}

/// Compares two trees, ignoring backslashes (crossplane keeps them where nginx drops some) and whitespace around
/// Lua code.
fn same_tree(ours: &[Plain], theirs: &[Plain]) -> Result<(), String> {
    let norm = |s: &str| {
        s.replace('\\', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    if ours.len() != theirs.len() {
        return Err(format!(
            "{} directives vs {}: {:?} / {:?}",
            ours.len(),
            theirs.len(),
            ours.iter().map(|p| &p.name).collect::<Vec<_>>(),
            theirs.iter().map(|p| &p.name).collect::<Vec<_>>()
        ));
    }
    for (a, b) in ours.iter().zip(theirs) {
        let a_args: Vec<String> = a.args.iter().map(|s| norm(s)).collect();
        let b_args: Vec<String> = b.args.iter().map(|s| norm(s)).collect();
        // crossplane's lexer glues `${VAR} next` into one argument; nginx splits it (it reports
        // `host not found in upstream "${BACKEND}"` for `server ${BACKEND} fail_timeout=0;`).
        let crossplane_glued = b_args
            .iter()
            .any(|arg| arg.contains("${") && arg.contains("} "));
        let args_agree =
            a_args == b_args || (crossplane_glued && a_args.join(" ") == b_args.join(" "));
        if a.name != b.name || !args_agree {
            return Err(format!(
                "{} {:?} vs {} {:?}",
                a.name, a_args, b.name, b_args
            ));
        }
        match (&a.block, &b.block) {
            (None, None) => {}
            (Some(x), Some(y)) => {
                same_tree(x, y).map_err(|e| format!("in {} {:?}: {e}", a.name, a_args))?;
            }
            _ => return Err(format!("{}: block vs no block", a.name)),
        }
    }
    Ok(())
}

/// Where crossplane finds `name` with `args` (the parent block names), searching the whole tree.
fn parents_of(tree: &[Plain], name: &str, args: &[&str], parent: &str, out: &mut Vec<String>) {
    for item in tree {
        if item.name == name
            && item
                .args
                .iter()
                .map(String::as_str)
                .eq(args.iter().copied())
        {
            out.push(parent.to_string());
        }
        if let Some(block) = &item.block {
            parents_of(block, name, args, &item.name, out);
        }
    }
}

#[cfg(feature = "host-tests")]
#[test]
fn crossplane_sees_the_same_trees_and_each_ensured_item_once_in_its_block() {
    let python = crossplane_python();
    let dir = temp_dir("crossplane");
    let mut cases = Vec::new();
    for (name, text) in valid_files() {
        let edited = edit_corpus_file(&name, &text);
        let original_path = dir.join(format!("original-{name}"));
        let edited_path = dir.join(format!("edited-{name}"));
        fs::write(&original_path, &text).unwrap();
        fs::write(&edited_path, &edited.text).unwrap();
        cases.push((name, text, edited, original_path, edited_path));
    }
    let paths: Vec<PathBuf> = cases
        .iter()
        .flat_map(|c| [c.3.clone(), c.4.clone()])
        .collect();
    let parsed = crossplane_parse(&python, &paths);
    assert_eq!(parsed.len(), paths.len());
    let mut checked = BTreeMap::new();
    for (index, (name, text, edited, _, _)) in cases.iter().enumerate() {
        let theirs_before = &parsed[2 * index];
        let theirs_after = &parsed[2 * index + 1];
        let ours_before = ng::parse(text).unwrap();
        let ours_after = ng::parse(&edited.text).unwrap();
        same_tree(&plain_of(&ours_before, ours_before.nodes()), theirs_before)
            .unwrap_or_else(|e| panic!("{name} (original): {e}"));
        same_tree(&plain_of(&ours_after, ours_after.nodes()), theirs_after)
            .unwrap_or_else(|e| panic!("{name} (edited): {e}"));

        let top = file_top(name);
        let http_parent = if top == ContextKind::Main { "http" } else { "" };
        if edited.http {
            let mut where_map = Vec::new();
            parents_of(
                theirs_after,
                "map",
                &["$http_upgrade", "$connection_upgrade"],
                "",
                &mut where_map,
            );
            assert_eq!(where_map, [http_parent], "{name}: map placement");
            let mut where_upstream = Vec::new();
            parents_of(
                theirs_after,
                "upstream",
                &["odoochat"],
                "",
                &mut where_upstream,
            );
            assert_eq!(where_upstream, [http_parent], "{name}: upstream placement");
        }
        if edited.location {
            let mut before = Vec::new();
            parents_of(theirs_before, "location", &["/websocket"], "", &mut before);
            let mut after = Vec::new();
            parents_of(theirs_after, "location", &["/websocket"], "", &mut after);
            let server_parent = if top == ContextKind::Server {
                ""
            } else {
                "server"
            };
            assert!(
                after.iter().all(|p| p == server_parent),
                "{name}: location /websocket outside a server: {after:?}"
            );
            assert!(
                after.len() == before.len() || after.len() == before.len() + 1,
                "{name}: {before:?} -> {after:?}"
            );
            assert!(!after.is_empty());
        }
        checked.insert(name.clone(), (edited.http, edited.location));
    }
    eprintln!(
        "crossplane: {} files compared before and after the edit",
        checked.len()
    );
    assert!(checked.len() >= 29);
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Pinned error messages

#[test]
fn error_messages_are_pinned() {
    let no_http = ng::ensure(
        "/etc/nginx/nginx.conf",
        "user www-data;\nevents {\n}\n",
        ContextKind::Main,
        &Context::Http,
        MAP,
        &Effective::empty(),
    )
    .unwrap_err();
    assert_eq!(
        no_http.to_string(),
        "no http block in /etc/nginx/nginx.conf: the file has no \"http {\" block and its top level is loaded in main \
         context (is this the main nginx.conf? set context: http only for the file that holds \"http {\", or for a \
         site file included from http; use context: server to edit a server block)"
    );

    let missing = ng::parse("http {\n    server {\n        listen 80;\n}\n").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "1:6: unclosed \"{\" of \"http\" (unbalanced braces): the file ends before its closing \"}\"; add \
         the missing \"}\" (check the blocks inside it too)"
    );
    assert_eq!((missing.line, missing.column), (1, 6));

    let extra = ng::parse("http {\n    gzip on;\n}\n}\n").unwrap_err();
    assert_eq!(
        extra.to_string(),
        "4:1: unexpected \"}\" (unbalanced braces): it closes no open block; remove it or add the missing \
         \"{\""
    );

    let quote = ng::parse("server {\n    return 200 \"hello;\n}\n").unwrap_err();
    assert_eq!(
        quote.to_string(),
        "2:16: unterminated quoted string (missing closing \"): the string starting here runs to the end \
         of the file; close it with \""
    );

    let in_file = ng::ensure(
        "/etc/nginx/sites-enabled/x",
        "server {\r\n  listen 80;\r\n",
        ContextKind::Http,
        &Context::Http,
        MAP,
        &Effective::empty(),
    )
    .unwrap_err();
    assert_eq!(
        in_file.to_string(),
        "/etc/nginx/sites-enabled/x:1:8: unclosed \"{\" of \"server\" (unbalanced braces): \
         the file ends before its closing \"}\"; add the missing \"}\" (check the blocks inside it too)"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 6. nginx -T dumps

fn dump_of(files: &[(&str, &str)]) -> String {
    let mut dump =
        String::from("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n");
    for (path, text) in files {
        write!(dump, "# configuration file {path}:\n{text}\n").unwrap();
    }
    dump
}

#[test]
fn dump_gives_contexts_include_globs_and_cross_file_checks() {
    let main = corpus_file("debian-bookworm-nginx.conf");
    let mime = corpus_file("nginx-org-mime.types.conf");
    let site = corpus_file("odoo-websocket-odoochat-envsubst.conf");
    let site_path = "/etc/nginx/sites-enabled/odoo";
    let dump = dump_of(&[
        ("/etc/nginx/nginx.conf", &main),
        ("/etc/nginx/mime.types", &mime),
        (site_path, &site),
    ]);
    let effective = Effective::from_dump(&dump).unwrap();
    assert_eq!(effective.files().len(), 3);
    assert_eq!(
        effective.file(site_path).unwrap().config.to_text(),
        site,
        "dump sections are exact"
    );
    assert_eq!(
        effective.context_of("/etc/nginx/nginx.conf"),
        Some(ContextKind::Main)
    );
    assert_eq!(
        effective.context_of("/etc/nginx/mime.types"),
        Some(ContextKind::Http)
    );
    assert_eq!(effective.context_of(site_path), Some(ContextKind::Http));
    assert_eq!(
        effective.context_of("/etc/nginx/sites-available/odoo"),
        None
    );
    assert_eq!(
        effective.include_globs(),
        [
            "/etc/nginx/modules-enabled/*.conf",
            "/etc/nginx/conf.d/*.conf",
            "/etc/nginx/sites-enabled/*"
        ]
    );
    assert!(
        effective
            .include_globs()
            .iter()
            .any(|g| ng::glob_match(g, site_path))
    );
    assert!(
        !effective
            .include_globs()
            .iter()
            .any(|g| ng::glob_match(g, "/etc/nginx/nginx.conf.backup-2025-12-31"))
    );
    assert!(
        effective
            .include_globs()
            .iter()
            .any(|g| ng::glob_match(g, "/etc/nginx/sites-enabled/odoo.backup-2025-12-31"))
    );

    // The site already defines the same map: nothing to do in nginx.conf.
    let unchanged = ng::ensure(
        "/etc/nginx/nginx.conf",
        &main,
        ContextKind::Main,
        &Context::Http,
        MAP,
        &effective,
    )
    .unwrap();
    assert_eq!(unchanged, main);
    // Without the dump the map would be added.
    let added = ng::ensure(
        "/etc/nginx/nginx.conf",
        &main,
        ContextKind::Main,
        &Context::Http,
        MAP,
        &Effective::empty(),
    )
    .unwrap();
    assert_ne!(added, main);

    // The site defines it differently: error naming the file and line.
    let different = site.replace("''      close;", "''      keep-alive;");
    let dump = dump_of(&[("/etc/nginx/nginx.conf", &main), (site_path, &different)]);
    let effective = Effective::from_dump(&dump).unwrap();
    let error = ng::ensure(
        "/etc/nginx/nginx.conf",
        &main,
        ContextKind::Main,
        &Context::Http,
        MAP,
        &effective,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"map $connection_upgrade\" is already defined differently at /etc/nginx/sites-enabled/odoo:7:1, which \
         nginx loads in the same http context as /etc/nginx/nginx.conf; adding it to \
         /etc/nginx/nginx.conf would define it twice. Edit or remove it in /etc/nginx/sites-enabled/odoo (or point \
         this step's file at /etc/nginx/sites-enabled/odoo)"
    );

    // And the other way round: the site is edited while nginx.conf's http already has the upstream.
    let main_with_upstream = ng::ensure(
        "/etc/nginx/nginx.conf",
        &main,
        ContextKind::Main,
        &Context::Http,
        UPSTREAM,
        &Effective::empty(),
    )
    .unwrap();
    let plain_site = corpus_file("debian-bookworm-sites-available-default.conf");
    let dump = dump_of(&[
        ("/etc/nginx/nginx.conf", &main_with_upstream),
        ("/etc/nginx/sites-enabled/default", &plain_site),
    ]);
    let effective = Effective::from_dump(&dump).unwrap();
    let snippet = format!("{UPSTREAM}{LOCATION}");
    let edited = ng::ensure(
        "/etc/nginx/sites-enabled/default",
        &plain_site,
        ContextKind::Http,
        &server_context(None, None),
        &snippet,
        &effective,
    )
    .unwrap();
    let config = ng::parse(&edited).unwrap();
    assert!(
        !config.directives().any(|d| d.name() == "upstream"),
        "upstream must not be duplicated into the site"
    );
    assert!(edited.contains("location /websocket"));
}

#[cfg(feature = "host-tests")]
#[test]
fn real_nginx_dump_of_this_machine() {
    let output = Command::new(nginx_binary())
        .arg("-T")
        .output()
        .expect("cannot run nginx -T");
    assert!(
        output.status.success(),
        "nginx -T failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dump = String::from_utf8(output.stdout).unwrap();
    let effective = Effective::from_dump(&dump).unwrap();
    assert_eq!(effective.files()[0].path, "/etc/nginx/nginx.conf");
    assert_eq!(
        effective.context_of("/etc/nginx/nginx.conf"),
        Some(ContextKind::Main)
    );
    for file in effective.files() {
        let on_disk = fs::read_to_string(&file.path).unwrap();
        assert_eq!(
            file.config.to_text(),
            on_disk,
            "{}: dump section differs from the file",
            file.path
        );
        assert!(
            file.role.is_some(),
            "{} is in the dump but no include loads it",
            file.path
        );
    }
    let globs = effective.include_globs();
    assert!(
        globs.iter().any(|g| g == "/etc/nginx/sites-enabled/*"),
        "{globs:?}"
    );
    if Path::new("/etc/nginx/sites-enabled/default").exists() {
        assert_eq!(
            effective.context_of("/etc/nginx/sites-enabled/default"),
            Some(ContextKind::Http)
        );
    }
}
