//! Hostile input: inventory, plan and `-e` values holding `'`, `"`, `$()`, backticks, `;`,
//! `|`, `&&`, `>` and newlines, in file paths (a whole directory tree named with them),
//! edit contents (nginx, ini, json, line, file), `server_name` selectors, HTTP header
//! values, the operator's name and `become_user`. Every value wsdeploy itself puts into a
//! shell script must stay inert: a canary file (`/tmp/wsdeploy-canary-<pid>-<tag>`) that
//! any evaluated payload would create never appears, and the values arrive byte-exact.
//!
//! `command:` steps are shell by design (like Ansible's shell module): there the
//! `{{ value | quote }}` filter is what keeps a value inert, and that is tested too.
//!
//! Paths with `..` are refused; a symlink pointing outside the expected tree is followed
//! and reported (`via`).

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::reliability::{Canary, LocalHost, only_report};

/// A directory name that runs the canary if any shell evaluates it unquoted.
fn hostile_dir(canary: &Canary) -> String {
    let c = canary.as_str();
    format!("h 'q\" $(touch {c}) `touch {c}`; touch {c} & x|y")
}

/// An HTTP server on 127.0.0.1 answering `200 ok` and keeping every request's head.
struct Recorder {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Serves at most `limit` connections, for at most 60 s.
    fn start(limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut served = 0;
            while served < limit && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        served += 1;
                        stream.set_nonblocking(false).expect("blocking");
                        stream
                            .set_read_timeout(Some(Duration::from_secs(5)))
                            .expect("timeout");
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                            match stream.read(&mut byte) {
                                Ok(1) => head.push(byte[0]),
                                _ => break,
                            }
                        }
                        seen.lock()
                            .expect("lock")
                            .push(String::from_utf8_lossy(&head).into_owned());
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Self { port, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

#[cfg(feature = "host-tests")]
#[test]
#[expect(clippy::too_many_lines, reason = "one end-to-end scenario in order")]
fn hostile_values_are_inert_in_paths_contents_headers_and_quoted_commands() {
    let canary = Canary::new("all");
    let c = canary.as_str().to_owned();
    let mut host = LocalHost::new(&hostile_dir(&canary));
    let _guard = host.guard();
    let one_line: String = canary
        .payloads()
        .into_iter()
        .filter(|p| !p.contains('\n'))
        .collect::<Vec<_>>()
        .join(" ");
    let combined = canary.combined();
    // No `$` (nginx would read a variable) and no newline inside an nginx string.
    let nginx_value = format!("a'b;c `touch {c}` |d && e");
    let root = host.root.display().to_string();
    let out_file = format!("{root}/out 'x' $(id -u) `id -u`; \"q\".txt");
    let new_file = format!("{root}/new `touch {c}`; $(touch {c}).conf");
    let recorder = Recorder::start(4);
    host.var("hostile", json!(combined))
        .var("hostile_line", json!(one_line))
        .var("out_file", json!(out_file))
        .var("new_file", json!(new_file))
        .var("extra_file", json!(format!("{root}/extra.txt")));
    let plan = json!({
        "name": "hostile",
        "hosts": "odoo",
        "steps": [
            {"id": "site", "nginx": {
                "file": "{{ site_conf }}",
                "context": "server",
                "ensure": format!("location /probe {{\n    add_header X-Probe \"{nginx_value}\";\n    return 204;\n}}\n"),
            }},
            {"id": "nginx_test", "command": "nginx -t -c {{ nginx_conf | quote }}", "if_changed": ["site"]},
            {"id": "odoo_conf", "ini": {
                "file": "{{ odoo_conf }}",
                "set": {"db_password": "{{ hostile_line }}", "dbfilter": "{{ hostile_from_cli }}"},
            }},
            {"id": "site_config", "json": {
                "file": "{{ site_config }}",
                "set": {"hostile": "{{ hostile }}", "also": ["{{ hostile_line }}"]},
            }},
            {"id": "line", "line": {"file": "{{ extra_file }}", "line": "{{ hostile_line }}"}},
            {"id": "file", "file": {"path": "{{ new_file }}", "content": "{{ hostile }}", "mode": "0640"}},
            {"id": "quoted", "command": "printf '%s' {{ hostile | quote }} > {{ out_file | quote }}"},
            {"id": "check", "verify": {"command": {
                "run": "printf '%s' {{ hostile | quote }}",
                "contains": "{{ hostile }}",
            }}, "retries": 1},
            {"id": "headers", "verify": {"http": {
                "url": format!("http://127.0.0.1:{}/probe", recorder.port),
                "headers": {"X-Probe": "{{ hostile_line }}"},
            }}, "retries": 1},
        ],
    });
    host.plan_json(&plan);
    std::fs::write(format!("{root}/extra.txt"), "first line\n").expect("extra");
    let cli_value = format!("'; touch {c}; echo ' $(touch {c}) `touch {c}`");
    let extra = json!({"hostile_from_cli": cli_value}).to_string();

    // The operator's name travels into the lock holder and the journal.
    let out = host
        .project
        .wsdeploy()
        .arg("-C")
        .arg(host.project.path())
        .args(["apply", "-i", "production", "--json", "-e", &extra])
        .env("NO_COLOR", "1")
        .env("USER", format!("o'p $(touch {c}) `touch {c}`"))
        .env_remove("SUDO_USER")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    canary.assert_absent("apply");
    assert_eq!(
        out.status.code(),
        Some(0),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let report = only_report(&stdout);
    assert_eq!(report["outcome"], "changed", "{report:#}");

    // Every value arrived byte-exact.
    let site = std::fs::read_to_string(&host.site_conf).expect("site");
    assert!(
        site.contains(&format!("add_header X-Probe \"{nginx_value}\";")),
        "{site}"
    );
    let odoo = std::fs::read_to_string(&host.odoo_conf).expect("odoo.conf");
    assert!(
        odoo.contains(&format!("db_password = {one_line}\n")),
        "{odoo}"
    );
    assert!(
        odoo.contains(&format!("dbfilter = {cli_value}\n")),
        "{odoo}"
    );
    let site_config: Value =
        serde_json::from_str(&std::fs::read_to_string(&host.site_config).expect("json"))
            .expect("site_config.json is still valid JSON");
    assert_eq!(site_config["hostile"], json!(combined));
    assert_eq!(site_config["also"], json!([one_line]));
    let extra_text = std::fs::read_to_string(format!("{root}/extra.txt")).expect("extra");
    assert_eq!(extra_text, format!("first line\n{one_line}\n"));
    assert_eq!(
        std::fs::read_to_string(&new_file).expect("new file"),
        combined
    );
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("out file"),
        combined
    );
    let requests = recorder.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].contains(&format!("\r\nX-Probe: {one_line}\r\n")),
        "{:?}",
        requests[0]
    );

    // The same hostile values are in sync the second time, and still inert.
    let again = host.run("apply", &["-e", &extra]);
    canary.assert_absent("second apply");
    again.code(0).stdout_has("1 in sync");
}

#[test]
fn newline_in_a_line_value_does_not_duplicate_or_inject_lines() {
    let canary = Canary::new("line");
    let c = canary.as_str();
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    let target = host.root.join("etc/hosts.extra");
    std::fs::write(&target, "127.0.0.1 localhost\n").expect("write");
    host.var("target", json!(target.display().to_string()))
        .var("value", json!(format!("10.0.0.1 db\ntouch {c}")));
    host.plan_json(&json!({
        "name": "line",
        "hosts": "odoo",
        "steps": [{"id": "line", "line": {"file": "{{ target }}", "line": "{{ value }}"}}],
    }));
    let first = host.run("apply", &[]);
    canary.assert_absent("first apply");
    match first.code {
        // Refused: the value cannot be one line.
        3 => {
            first.stderr_has("line");
            return;
        }
        0 => {}
        other => panic!(
            "unexpected exit {other}: {}\n{}",
            first.stdout, first.stderr
        ),
    }
    let after_first = std::fs::read_to_string(&target).expect("read");
    let second = host.run("apply", &[]);
    canary.assert_absent("second apply");
    second.code(0);
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        after_first,
        "a second apply changed the file again: a value with a newline is not idempotent ({})",
        second.stdout
    );
    second.stdout_has("1 in sync");
}

#[cfg(feature = "host-tests")]
#[test]
fn newline_in_an_ini_value_stays_one_key() {
    let canary = Canary::new("ini");
    let c = canary.as_str();
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var(
        "value",
        json!(format!("first\n[evil]\ntouch = {c}\nadmin_passwd = stolen")),
    );
    host.plan_json(&json!({
        "name": "ini",
        "hosts": "odoo",
        "steps": [{"id": "ini", "ini": {"file": "{{ odoo_conf }}", "set": {"dbfilter": "{{ value }}"}}}],
    }));
    let run = host.run("apply", &[]);
    canary.assert_absent("apply");
    if run.code == 0 {
        let text = std::fs::read_to_string(&host.odoo_conf).expect("read");
        let sections: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(
            sections,
            vec!["[options]"],
            "a value injected a section:\n{text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("admin_passwd = stolen")),
            "a value injected a key:\n{text}"
        );
        host.run("apply", &[]).code(0).stdout_has("1 in sync");
    } else {
        run.code(3);
    }
}

#[cfg(feature = "host-tests")]
#[test]
fn hostile_server_name_selector_is_inert() {
    let canary = Canary::new("server-name");
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var("selector", json!(canary.combined()));
    host.plan_json(&json!({
        "name": "sel",
        "hosts": "odoo",
        "steps": [{"id": "loc", "nginx": {
            "file": "{{ site_conf }}",
            "context": "server",
            "server_name": "{{ selector }}",
            "ensure": "location /x { return 204; }",
        }}],
    }));
    let before = host.sums();
    let run = host.run("apply", &[]);
    canary.assert_absent("apply");
    run.code(1)
        .stdout_has("FAILED (untouched)")
        .stdout_has("error in step `loc`");
    assert_eq!(host.sums(), before);
}

#[test]
fn header_value_with_crlf_is_refused_before_any_connection() {
    let canary = Canary::new("crlf");
    let mut host = LocalHost::new("root");
    host.var("v", json!("ok\r\nX-Injected: 1"));
    host.plan_json(&json!({
        "name": "h",
        "hosts": "odoo",
        "steps": [{"id": "h", "verify": {"http": {
            "url": "http://127.0.0.1:9/",
            "headers": {"X-Probe": "{{ v }}"},
        }}}],
    }));
    host.run("apply", &[])
        .code(3)
        .stderr_has("header names/values cannot contain newlines");
    canary.assert_absent("apply");
}

#[test]
fn hostile_become_user_is_one_quoted_word() {
    let canary = Canary::new("become");
    let c = canary.as_str();
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var("ansible_become", json!(true)).var(
        "ansible_become_user",
        json!(format!("x'; touch {c}; echo '$(touch {c})")),
    );
    host.plan_json(&json!({
        "name": "b",
        "hosts": "odoo",
        "steps": [{"id": "ini", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}}],
    }));
    let before = host.sums();
    let run = host.run("apply", &[]);
    canary.assert_absent("apply");
    run.code(1);
    assert_eq!(host.sums(), before, "{}", run.stdout);
}

#[cfg(feature = "host-tests")]
#[test]
fn quote_filter_keeps_every_payload_inert_in_a_command() {
    let canary = Canary::new("quote");
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    let out = host.root.join("quoted.out");
    let payloads = canary.payloads();
    host.var("payloads", json!(payloads))
        .var("out", json!(out.display().to_string()));
    let steps: Vec<Value> = (0..payloads.len())
        .map(|i| {
            json!({
                "id": format!("p{i}"),
                "command": format!("printf '%s\\0' {{{{ payloads[{i}] | quote }}}} >> {{{{ out | quote }}}}"),
            })
        })
        .collect();
    host.plan_json(&json!({"name": "q", "hosts": "odoo", "steps": steps}));
    // Commands run only with a file change; a `file` step provides one.
    let mut plan: Value = serde_json::from_str(
        &std::fs::read_to_string(host.project.path().join("plans/site.yml")).expect("plan"),
    )
    .expect("json");
    plan["steps"].as_array_mut().expect("steps").insert(
        0,
        json!({"id": "touch", "file": {"path": "{{ out }}.marker", "content": "x"}}),
    );
    host.plan_json(&plan);
    let run = host.run("apply", &[]);
    canary.assert_absent("apply");
    run.code(0);
    let written = std::fs::read(&out).expect("out");
    let got: Vec<String> = written
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert_eq!(got, payloads);
}

#[test]
fn dot_dot_in_a_rendered_path_is_refused() {
    let mut host = LocalHost::new("root");
    host.var("odoo_conf", json!("/etc/opticserp/../../etc/shadow"));
    host.plan_json(&json!({
        "name": "d",
        "hosts": "odoo",
        "steps": [{"id": "ini", "ini": {"file": "{{ odoo_conf }}", "set": {"a": "b"}}}],
    }));
    host.run("apply", &[]).code(3).stderr_has(
        "`ini.file` must be an absolute path without `..`, got `/etc/opticserp/../../etc/shadow`",
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn symlink_outside_the_tree_is_followed_and_reported() {
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    let outside = tempfile::tempdir().expect("outside");
    let real = outside.path().join("real-odoo.conf");
    std::fs::rename(&host.odoo_conf, &real).expect("move");
    std::os::unix::fs::symlink(&real, &host.odoo_conf).expect("symlink");
    let requested = host.odoo_conf.display().to_string();
    let real_path = real.display().to_string();
    host.var("odoo_conf", json!(requested));
    host.plan_json(&json!({
        "name": "s",
        "hosts": "odoo",
        "steps": [{"id": "ini", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}}],
    }));
    let dry = host.run("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has(&format!("   {requested} -> {real_path}"));
    let json_run = host.run("apply", &["--dry-run", "--json"]);
    let report = only_report(&json_run.stdout);
    assert_eq!(report["files"][0]["path"], json!(real_path));
    assert_eq!(report["files"][0]["via"], json!(requested));
    let run = host.run("apply", &[]);
    run.code(0)
        .stdout_has(&format!("{requested} -> {real_path}"));
    assert!(
        std::fs::symlink_metadata(&host.odoo_conf)
            .expect("meta")
            .file_type()
            .is_symlink(),
        "the symlink was replaced by a file"
    );
    assert!(
        std::fs::read_to_string(&real)
            .expect("real")
            .contains("proxy_mode = True")
    );
}

/// Host output (a command's output, in `ran` lines and in an error) and file contents
/// (in a diff) reach the operator's terminal without escape sequences or control
/// characters: no retitled window, cleared screen, or line hidden by `\r`.
#[cfg(feature = "host-tests")]
#[test]
fn terminal_escapes_from_the_host_are_removed_before_printing() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    let escapes = r"\033]0;PWNED\007\033[2J\033[31mred\033[0m\rhidden\b\n";
    std::fs::write(
        &host.odoo_conf,
        format!(
            "{}; \x1b]0;FROM-FILE\x07note\n",
            std::fs::read_to_string(&host.odoo_conf).expect("odoo.conf")
        ),
    )
    .expect("odoo.conf");
    host.plan_json(&json!({
        "name": "escapes", "hosts": "odoo",
        "steps": [
            {"id": "conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
            {"id": "noisy", "command": format!("printf '{escapes}'"), "if_changed": ["conf"]},
            {"id": "fail", "command": format!("printf '{escapes}'; exit 3"), "if_changed": ["conf"]},
        ],
    }));
    let run = host.run("apply", &[]);
    run.code(1).stdout_has("FAILED (rolled back)");
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .collect();
        assert!(
            bad.is_empty(),
            "{what} holds control characters {bad:?}:\n{text}"
        );
    }
    run.stderr_has("redhidden");
}
