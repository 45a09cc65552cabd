//! One property over every editor of `edit`: for a generated file (a random mix of LF and CRLF
//! line endings, with or without final newline, a BOM where the editor accepts one, unrelated
//! content around the part the edit changes), the edit applied twice gives the text it gives once,
//! the unrelated bytes before and after the edited part are unchanged, no new line break takes the
//! minority ending, and the final newline is kept (or kept missing).

use std::ops::Range;

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::Config;
use regex::Regex;
use serde_json::json;

use super::nginx::{Context, ContextKind, Effective};
use super::{compose, ini, json, nginx, text};

/// Generated files per run (each of the seven edits gets about a seventh of them).
const CASES: u32 = 1792;

#[derive(Debug, Clone, Copy)]
enum Editor {
    Line,
    Requirement,
    Ini,
    Json,
    Compose,
    Nginx,
    NginxServer,
}

/// A generated file in three parts: unrelated lines, the lines the edit may change, unrelated
/// lines. `appends` says the edit adds at the end of the file instead (nothing to change found).
#[derive(Debug, Clone)]
struct Layout {
    editor: Editor,
    before: Vec<String>,
    target: Vec<String>,
    after: Vec<String>,
    appends: bool,
    /// The line ending of line `i` is CRLF when `crlf[i % len]`.
    crlf: Vec<bool>,
    final_newline: bool,
    bom: bool,
}

impl Layout {
    /// The file's text and the byte range the edit may change.
    fn text(&self) -> (String, Range<usize>) {
        let parts = [&self.before, &self.target, &self.after];
        let count: usize = parts.iter().map(|p| p.len()).sum();
        // A last line without line break must have content, or it would not be a line.
        let last_is_empty = parts
            .iter()
            .rev()
            .find_map(|p| p.last())
            .is_none_or(String::is_empty);
        let final_newline = self.final_newline || last_is_empty;
        let mut text = String::new();
        if self.bom {
            text.push('\u{feff}');
        }
        let mut ends = [0; 3];
        let mut index = 0;
        for (part, end) in parts.iter().zip(&mut ends) {
            for line in part.iter() {
                text.push_str(line);
                index += 1;
                if index < count || final_newline {
                    let crlf = self.crlf[index % self.crlf.len()];
                    text.push_str(if crlf { "\r\n" } else { "\n" });
                }
            }
            *end = text.len();
        }
        let region = if self.appends {
            text.len()..text.len()
        } else {
            ends[0]..ends[1]
        };
        (text, region)
    }
}

const NGINX_SNIPPET: &str = "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\ngzip on;\n";
const NGINX_LOCATION: &str = "location /websocket {\n    proxy_pass http://odoochat;\n    \
    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    \
    proxy_set_header Connection \"upgrade\";\n}\n";

fn edit(editor: Editor, text: &str) -> Result<String, String> {
    match editor {
        Editor::Line => {
            let matches = Regex::new("^k=").map_err(|e| e.to_string())?;
            Ok(text::ensure_line(text, "k=9", Some(&matches)))
        }
        Editor::Requirement => Ok(text::ensure_lines_requirements(text, "uvicorn[standard]")),
        Editor::Ini => {
            let set = [
                ("proxy_mode", "True"),
                ("a", "5"),
                ("addons_path", "/p,\n/q"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
            ini::set_keys(text, "options", &set).map_err(|e| e.to_string())
        }
        Editor::Json => {
            let set = [
                ("a", json!(5)),
                ("socketio_port", json!(9000)),
                ("w", json!({"x": [1, 2]})),
            ]
            .map(|(k, v)| (k.to_owned(), v));
            json::set_keys(text, &set).map_err(|e| e.to_string())
        }
        Editor::Compose => {
            compose::bind_ports(text, "odoo", 8069, "127.0.0.1").map_err(|e| e.to_string())
        }
        Editor::Nginx => nginx::ensure(
            "/etc/nginx/nginx.conf",
            text,
            ContextKind::Main,
            &Context::Http,
            NGINX_SNIPPET,
            &Effective::empty(),
        )
        .map_err(|e| e.to_string()),
        Editor::NginxServer => nginx::ensure(
            "/etc/nginx/sites-enabled/odoo",
            text,
            ContextKind::Http,
            &Context::Server {
                server_name: None,
                listen: None,
                request: None,
            },
            NGINX_LOCATION,
            &Effective::empty(),
        )
        .map_err(|e| e.to_string()),
    }
}

type Units = &'static [&'static [&'static str]];

/// Some of `units`, in order, as lines.
fn some(units: Units) -> impl Strategy<Value = Vec<String>> {
    subsequence(units.to_vec(), 0..=units.len()).prop_map(|chosen| {
        chosen
            .into_iter()
            .flatten()
            .map(|line| (*line).to_owned())
            .collect()
    })
}

fn lines(fixed: &[&str], more: Vec<String>) -> Vec<String> {
    fixed.iter().map(|l| (*l).to_owned()).chain(more).collect()
}

fn line_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const UNRELATED: Units = &[
        &["# settings"],
        &["a = 1"],
        &[""],
        &["  indented"],
        &["Port 22"],
    ];
    const TARGET: &[&str] = &["k=1", "k=2", "k = 3", "y", "", "k=9"];
    (
        some(UNRELATED),
        prop::collection::vec(select(TARGET), 0..4),
        some(UNRELATED),
    )
        .prop_map(|(before, target, after)| {
            let appends = !target.iter().any(|l| l.starts_with("k="));
            let target = target.into_iter().map(str::to_owned).collect();
            (before, target, after, appends)
        })
}

fn requirement_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const UNRELATED: Units = &[
        &["# web"],
        &["fastapi==0.110"],
        &[""],
        &["-r base.txt"],
        &["uvicorn-worker"],
    ];
    const TARGET: &[&str] = &[
        "uvicorn==0.23",
        "Uvicorn",
        "uvicorn[foo]>=1  # pin",
        "uvicorn [standard]",
        "starlette",
    ];
    (
        some(UNRELATED),
        prop::collection::vec(select(TARGET), 0..4),
        some(UNRELATED),
    )
        .prop_map(|(before, target, after)| {
            let appends = !target
                .iter()
                .any(|l| l.to_lowercase().starts_with("uvicorn"));
            let target = target.into_iter().map(str::to_owned).collect();
            (before, target, after, appends)
        })
}

fn ini_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const BEFORE: Units = &[&["x = 1"], &["; comment"], &[""], &["y: 2"], &["# hash"]];
    const OPTIONS: Units = &[
        &["a = 1"],
        &["b=2"],
        &["; websocket_url = ws://old"],
        &[""],
        &["addons_path = /x,", "    /y"],
        &["proxy_mode = False"],
    ];
    const AFTER: Units = &[&["z = 3"], &["; tail"], &[""]];
    (
        some(BEFORE),
        any::<bool>(),
        some(OPTIONS),
        prop::option::of(some(AFTER)),
    )
        .prop_map(|(before, has_section, options, after)| {
            let before = lines(&["[before]"], before);
            let target = if has_section {
                lines(&["[options]"], options)
            } else {
                Vec::new()
            };
            let after = after.map_or_else(Vec::new, |more| lines(&["[after]"], more));
            (before, target, after, !has_section)
        })
}

fn json_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const BEFORE: Units = &[
        &["  \"db_name\": \"site\","],
        &["  \"nested\": {\"k\": [1, 2]},"],
        &["  \"s\": \"}\\\"\","],
        &[""],
    ];
    const TARGET: Units = &[
        &["  \"a\": 2,"],
        &["  \"b\": true,"],
        &[""],
        &["  \"c\": null,"],
    ];
    const AFTER: Units = &[&[""], &[""]];
    (some(BEFORE), some(TARGET), some(AFTER)).prop_map(|(before, target, after)| {
        let before = lines(&["{", "  \"x\": 1,"], before);
        let mut target = target;
        target.push("  \"z\": 0".to_owned());
        (before, target, lines(&["}"], after), false)
    })
}

fn compose_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const BEFORE: Units = &[&["  web:", "    image: nginx"], &["  # services"], &[""]];
    const PORTS: Units = &[
        &["      - \"8069:8069\""],
        &["      - 8072:8072"],
        &["      - \"10.0.0.5:8069:8069\""],
        &["      # a comment"],
        &["      - target: 8069", "        published: 8069"],
        &[
            "      - target: 8069",
            "        host_ip: 0.0.0.0",
            "        published: 8070",
        ],
        &["      - \"0.0.0.0:8069:8069/tcp\""],
    ];
    const AFTER: Units = &[
        &["  db:", "    image: postgres"],
        &["# trailing comment"],
        &["volumes:", "  data: {}"],
    ];
    (some(BEFORE), some(PORTS), some(AFTER)).prop_map(|(before, ports, after)| {
        let before = lines(&["services:"], before);
        let target = lines(&["  odoo:", "    image: odoo:17", "    ports:"], ports);
        (before, target, after, false)
    })
}

fn nginx_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const BEFORE: Units = &[
        &["# main config"],
        &["worker_processes 1;"],
        &["events {", "    worker_connections 64;", "}"],
        &[""],
    ];
    const HTTP: Units = &[
        &["    sendfile on;"],
        &["    # note"],
        &[""],
        &["    gzip off;"],
        &[
            "    server {",
            "        listen 80;",
            "        location / {",
            "            root /srv;",
            "        }",
            "    }",
        ],
    ];
    const AFTER: Units = &[&[""], &["# end"]];
    (some(BEFORE), some(HTTP), some(AFTER)).prop_map(|(before, body, after)| {
        let mut target = lines(&["http {"], body);
        target.push("}".to_owned());
        (before, target, after, false)
    })
}

fn nginx_server_layout() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, bool)> {
    const BEFORE: Units = &[
        &["# odoo site"],
        &["upstream odoochat {", "    server 127.0.0.1:8072;", "}"],
        &[""],
    ];
    const SERVER: Units = &[
        &["    listen 80;"],
        &["    server_name example.com;"],
        &["    proxy_set_header Host $host;"],
        &["    # c"],
        &[""],
        &[
            "    location / {",
            "        proxy_pass http://odoo;",
            "    }",
        ],
        &[
            "    location /websocket {",
            "        proxy_pass http://odoo;",
            "        proxy_set_header Host $http_host;",
            "    }",
        ],
    ];
    const AFTER: Units = &[&[""], &["# end"]];
    (some(BEFORE), some(SERVER), some(AFTER)).prop_map(|(before, body, after)| {
        let mut target = lines(&["server {"], body);
        target.push("}".to_owned());
        (before, target, after, false)
    })
}

fn layout() -> impl Strategy<Value = Layout> {
    let parts = prop_oneof![
        line_layout().prop_map(|p| (Editor::Line, p)),
        requirement_layout().prop_map(|p| (Editor::Requirement, p)),
        ini_layout().prop_map(|p| (Editor::Ini, p)),
        json_layout().prop_map(|p| (Editor::Json, p)),
        compose_layout().prop_map(|p| (Editor::Compose, p)),
        nginx_layout().prop_map(|p| (Editor::Nginx, p)),
        nginx_server_layout().prop_map(|p| (Editor::NginxServer, p)),
    ];
    (
        parts,
        prop::collection::vec(any::<bool>(), 1..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |((editor, (before, target, after, appends)), crlf, final_newline, bom)| Layout {
                editor,
                before,
                target,
                after,
                appends,
                crlf,
                final_newline,
                // Of these editors only the compose one reads a file that starts with a BOM.
                bom: bom && matches!(editor, Editor::Compose),
            },
        )
}

/// `(crlf, lf)`: how many line breaks of each kind.
fn breaks(text: &str) -> (usize, usize) {
    let crlf = text.matches("\r\n").count();
    (crlf, text.matches('\n').count() - crlf)
}

fn check(layout: &Layout) -> Result<(), TestCaseError> {
    let (text, region) = layout.text();
    let once = edit(layout.editor, &text)
        .map_err(|e| TestCaseError::fail(format!("edit refused {text:?}: {e}")))?;
    let twice = edit(layout.editor, &once)
        .map_err(|e| TestCaseError::fail(format!("second edit refused {once:?}: {e}")))?;
    prop_assert_eq!(&twice, &once, "editing twice differs from editing once");
    let head = &text[..region.start];
    let tail = &text[region.end..];
    prop_assert!(
        once.starts_with(head) && once.ends_with(tail) && head.len() + tail.len() <= once.len(),
        "bytes outside {region:?} changed: {text:?} became {once:?}"
    );
    let (crlf_before, lf_before) = breaks(&text);
    let (crlf_after, lf_after) = breaks(&once);
    if crlf_before > lf_before {
        prop_assert!(lf_after <= lf_before, "a new LF in a CRLF file: {once:?}");
    } else {
        prop_assert!(
            crlf_after <= crlf_before,
            "a new CRLF in an LF file: {once:?}"
        );
    }
    if !text.is_empty() {
        prop_assert_eq!(
            once.ends_with('\n'),
            text.ends_with('\n'),
            "final newline not kept: {:?} became {:?}",
            text,
            once
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: CASES, failure_persistence: None, ..Config::default() })]

    #[test]
    fn every_editor_is_idempotent_local_and_keeps_line_endings(layout in layout()) {
        check(&layout)?;
    }
}
