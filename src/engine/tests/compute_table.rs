//! `compute` as the pure function it is: gathered files (built here, no host) and a plan
//! → the steps that change something, the files to write, their backups and diffs, or
//! the error that refuses the host.

use super::super::compute::compute;
use super::super::flat_steps;
use super::{CONF, job, today};
use crate::host::gather::{Dump, FileState, Gathered, HostFile};

/// What `compute` must find.
enum Expect {
    /// Nothing to write.
    InSync,
    /// One file changed: its path as reported, `via` (the path the plan named when it
    /// is a symlink), its backup, and lines its diff must have.
    Changed {
        path: &'static str,
        via: Option<&'static str>,
        backup: Option<&'static str>,
        diff: &'static [&'static str],
    },
    /// Refused: words of the error.
    Refused(String),
}

struct Case {
    name: &'static str,
    plan: String,
    files: Vec<HostFile>,
    dumps: Vec<Dump>,
    expect: Expect,
}

fn file_plan(content: &str) -> String {
    format!(
        "name: t\nhosts: all\nsteps:\n  - id: conf\n    file: {{path: {CONF}, content: {content:?}}}\n"
    )
}

fn ini_plan() -> String {
    format!(
        "name: t\nhosts: all\nsteps:\n  - id: conf\n    ini: {{file: {CONF}, section: options, set: {{proxy_mode: true}}}}\n"
    )
}

/// An nginx step adding the WebSocket `map` at the http level of `file`.
fn nginx_plan(file: &str) -> String {
    format!(
        "name: t\nhosts: all\nsteps:\n  - id: conf\n    nginx:\n      file: {file}\n      context: http\n      ensure: |\n        map $http_upgrade $connection_upgrade {{\n            default upgrade;\n            ''      close;\n        }}\n"
    )
}

const NGINX_CONF: &str = "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf*;\n}\n";
const SITE: &str = "/etc/nginx/conf.d/app.conf";
const SITE_CONF: &str = "server {\n    listen 80;\n}\n";

/// `nginx -T` of `NGINX_CONF`, which loads `SITE` (its include glob also matches
/// `app.conf.backup-…`).
fn nginx_dump() -> Dump {
    Dump {
        command: "nginx -T".to_owned(),
        exit: 0,
        output: format!(
            "# configuration file /etc/nginx/nginx.conf:\n{NGINX_CONF}\n# configuration file {SITE}:\n{SITE_CONF}\n"
        ),
        cached_for: None,
    }
}

fn nginx_case(name: &'static str, path: &'static str, content: &str, expect: Expect) -> Case {
    Case {
        name,
        plan: nginx_plan(path),
        files: vec![HostFile {
            requested: path.to_owned(),
            real: path.to_owned(),
            state: present(content.as_bytes()),
        }],
        dumps: vec![nginx_dump()],
        expect,
    }
}

fn nginx_cases() -> Vec<Case> {
    vec![
        nginx_case(
            "nginx: the map right after `http {`, the backup beside (no include loads it)",
            "/etc/nginx/nginx.conf",
            NGINX_CONF,
            Expect::Changed {
                path: "/etc/nginx/nginx.conf",
                via: None,
                backup: Some("/etc/nginx/nginx.conf.backup-2026-12-06"),
                diff: &["+    map $http_upgrade $connection_upgrade {"],
            },
        ),
        nginx_case(
            "nginx: a file an include glob loads, its backup out of nginx's reach",
            SITE,
            SITE_CONF,
            Expect::Changed {
                path: SITE,
                via: None,
                backup: Some("/var/lib/wsdeploy/backups/2026-12-06/etc/nginx/conf.d/app.conf"),
                diff: &["+map $http_upgrade $connection_upgrade {"],
            },
        ),
    ]
}

fn at(real: &str, state: FileState) -> HostFile {
    HostFile {
        requested: CONF.to_owned(),
        real: real.to_owned(),
        state,
    }
}

fn present(content: &[u8]) -> FileState {
    FileState::Present {
        mode: 0o640,
        uid: 0,
        gid: 0,
        content: content.to_vec(),
    }
}

fn case(name: &'static str, plan: String, state: FileState, expect: Expect) -> Case {
    Case {
        name,
        plan,
        files: vec![at(CONF, state)],
        dumps: Vec::new(),
        expect,
    }
}

fn refused(words: &str) -> Expect {
    Expect::Refused(words.to_owned())
}

fn whole_file_cases() -> Vec<Case> {
    let new = file_plan("port = 8080\n");
    vec![
        case(
            "absent: created, no backup",
            new.clone(),
            FileState::Absent,
            Expect::Changed {
                path: CONF,
                via: None,
                backup: None,
                diff: &["+port = 8080"],
            },
        ),
        case(
            "present and equal: in sync",
            new.clone(),
            present(b"port = 8080\n"),
            Expect::InSync,
        ),
        case(
            "present and different: backed up beside it",
            new.clone(),
            present(b"port = 80\n"),
            Expect::Changed {
                path: CONF,
                via: None,
                backup: Some("/etc/app/app.conf.backup-2026-12-06"),
                diff: &["-port = 80", "+port = 8080"],
            },
        ),
        case(
            "binary",
            new.clone(),
            present(b"port\0= 80\n"),
            refused("/etc/app/app.conf is not UTF-8 text (binary file?)"),
        ),
        case(
            "not UTF-8",
            new.clone(),
            present(b"port = \xff\n"),
            refused("is not UTF-8 text"),
        ),
        case(
            "too large",
            new.clone(),
            present(&vec![b'#'; super::super::MAX_FILE_BYTES + 1]),
            refused("/etc/app/app.conf is larger than 8 MiB"),
        ),
        case(
            "a directory",
            new.clone(),
            FileState::NotAFile,
            refused("/etc/app/app.conf exists but is not a regular file"),
        ),
        case(
            "unreadable",
            new.clone(),
            FileState::Unreadable,
            refused("cannot be read on the host (permissions? set ansible_become)"),
        ),
        case(
            "a path another user could swap",
            new,
            FileState::Unsafe("/etc/app is group-writable".to_owned()),
            refused("/etc/app is group-writable"),
        ),
    ]
}

fn other_cases() -> Vec<Case> {
    let new = file_plan("port = 8080\n");
    let failed_dump = Dump {
        command: "nginx -T".to_owned(),
        exit: 1,
        output: "nginx: [emerg] unknown directive \"x\"".to_owned(),
        cached_for: None,
    };
    vec![
        Case {
            name: "a symlink: the real file is edited, reported via the link",
            plan: new.clone(),
            files: vec![at("/srv/app/app.conf", present(b"port = 80\n"))],
            dumps: Vec::new(),
            expect: Expect::Changed {
                path: "/srv/app/app.conf",
                via: Some(CONF),
                backup: Some("/srv/app/app.conf.backup-2026-12-06"),
                diff: &["+port = 8080"],
            },
        },
        Case {
            name: "a failing nginx -T refuses the host before any edit",
            plan: new.clone(),
            files: vec![at(CONF, present(b"port = 80\n"))],
            dumps: vec![failed_dump],
            expect: refused(
                "pre-flight: `nginx -T` fails before any change (exit 1), so nothing was touched; nginx says:\nnginx: [emerg] unknown directive",
            ),
        },
        Case {
            name: "a file that was not gathered",
            plan: new,
            files: Vec::new(),
            dumps: Vec::new(),
            expect: refused("internal: /etc/app/app.conf was not gathered"),
        },
        case(
            "ini: one key set in its section",
            ini_plan(),
            present(b"[options]\nproxy_mode = False\nworkers = 2\n"),
            Expect::Changed {
                path: CONF,
                via: None,
                backup: Some("/etc/app/app.conf.backup-2026-12-06"),
                diff: &["-proxy_mode = False", "+proxy_mode = True", " workers = 2"],
            },
        ),
        case(
            "ini: already set",
            ini_plan(),
            present(b"[options]\nproxy_mode = True\n"),
            Expect::InSync,
        ),
        case(
            "ini: a file configparser rejects, named with its line",
            ini_plan(),
            present(b"[options\nproxy_mode = False\n"),
            refused("/etc/app/app.conf:1: `[options` comes before any [section] header"),
        ),
    ]
}

fn assert_case(c: &Case) {
    let job = job(&c.plan);
    let (flat, _) = flat_steps(&job);
    let gathered = Gathered {
        files: c.files.clone(),
        dumps: c.dumps.clone(),
        ..Gathered::default()
    };
    let name = c.name;
    let result = compute(&flat, &gathered, today());
    match (&c.expect, result) {
        (Expect::InSync, Ok(change)) => {
            assert!(
                change.is_empty() && change.changed.is_empty(),
                "{name}: not in sync"
            );
        }
        (
            Expect::Changed {
                path,
                via,
                backup,
                diff,
            },
            Ok(change),
        ) => {
            let changed: Vec<String> = change.changed.iter().map(ToString::to_string).collect();
            assert_eq!(changed, ["0:conf"], "{name}: changed steps");
            let files = change.file_changes(&[]);
            let [file] = files.as_slice() else {
                panic!("{name}: {} changed files", files.len());
            };
            assert_eq!(
                (
                    file.path.as_str(),
                    file.via.as_deref(),
                    file.backup.as_deref()
                ),
                (*path, *via, *backup),
                "{name}"
            );
            for line in *diff {
                assert!(
                    file.diff.lines().any(|l| l == *line),
                    "{name}: no {line:?} in\n{}",
                    file.diff
                );
            }
        }
        (Expect::Refused(words), Err(failure)) => {
            assert!(
                failure.message.contains(words.as_str()),
                "{name}: {:?} does not say {words:?}",
                failure.message
            );
        }
        (_, Ok(_)) => panic!("{name}: computed a change, expected a refusal"),
        (_, Err(failure)) => panic!("{name}: refused: {}", failure.message),
    }
}

#[test]
fn compute_turns_gathered_files_and_a_plan_into_the_change_or_a_refusal() {
    for c in whole_file_cases()
        .iter()
        .chain(&other_cases())
        .chain(&nginx_cases())
    {
        assert_case(c);
    }
}
