//! docs/plans.md cannot rot: every ```yaml example in it is a plan that `wsdeploy
//! validate` accepts (alone, and with an inventory defining the variables it uses), every
//! field of the plan schema is documented there, and docs/plan.schema.json is what
//! `wsdeploy schema` prints.

#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::Path;

use support::project::Project;

const BIN: &str = env!("CARGO_BIN_EXE_wsdeploy");

/// `(info string, first line number, body)` of every fenced block.
fn fenced_blocks(text: &str) -> Vec<(String, usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some((rest.trim().to_owned(), index + 1, String::new())),
            }
        } else if let Some((_, _, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    assert!(current.is_none(), "docs/plans.md: unclosed code block");
    blocks
}

fn docs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plans.md"))
        .expect("docs/plans.md exists")
}

const INVENTORY: &str = "all:\n  vars:\n    public_host: 203.0.113.10\n    app_kind: odoo\n    api_token: s3cret\n  children:\n    app: {hosts: {app-1: {}}}\n    web: {hosts: {web-1: {}}}\n    odoo: {hosts: {odoo-1: {site_conf: /etc/nginx/sites-available/odoo.conf}}}\n    frappe: {hosts: {frappe-1: {app_kind: frappe, tls_cert: /etc/ssl/f.pem, site_conf: /etc/nginx/sites-available/frappe.conf, common_site_config: /home/frappe/bench/sites/common_site_config.json}}}\n    fastapi: {hosts: {fastapi-1: {site_conf: /etc/nginx/sites-available/api.conf, backend_dir: /srv/api/backend}}}\n";

#[test]
fn every_yaml_example_validates() {
    let text = docs();
    let p = Project::new();
    p.file("inventories/docs/hosts.yml", INVENTORY);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    for entry in std::fs::read_dir(&shipped).expect("plans/") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        p.file(
            &format!("plans/{name}"),
            &std::fs::read_to_string(&path).expect("read plan"),
        );
    }
    let blocks = fenced_blocks(&text);
    for (info, _, body) in &blocks {
        if let Some(path) = info.strip_prefix("jinja ") {
            p.file(&format!("plans/{}", path.trim()), body);
        }
    }
    let mut examples = 0;
    for (info, line, body) in &blocks {
        if info != "yaml" {
            continue;
        }
        examples += 1;
        let file = format!("plans/docs-example-{line}.yml");
        p.file(&file, body);
        for extra in [&[][..], &["-i", "docs"][..]] {
            let out = std::process::Command::new(BIN)
                .arg("-C")
                .arg(p.path())
                .arg("validate")
                .args(extra)
                .arg(&file)
                .output()
                .expect("wsdeploy runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "docs/plans.md:{line}: the example does not validate ({extra:?}):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(examples >= 12, "only {examples} yaml examples");
    let kinds = wsdeploy::plan::Kind::ALL.map(|kind| format!("{}:", kind.key()));
    let others = [
        "when:",
        "content_from:",
        "import:",
        "preflight:",
        "secrets:",
    ];
    for kind in kinds.iter().map(String::as_str).chain(others) {
        assert!(
            blocks
                .iter()
                .any(|(info, _, body)| info == "yaml" && body.contains(kind)),
            "no example uses `{kind}`"
        );
    }
}

#[test]
fn every_schema_field_is_documented() {
    let text = docs();
    let schema: serde_json::Value =
        serde_json::from_str(&wsdeploy::plan::schema::plan_schema()).expect("schema");
    let mut fields: Vec<String> = Vec::new();
    let mut collect = |props: &serde_json::Value| {
        if let Some(map) = props.as_object() {
            fields.extend(map.keys().cloned());
        }
    };
    collect(&schema["properties"]);
    for def in schema["$defs"].as_object().expect("$defs").values() {
        collect(&def["properties"]);
    }
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !text.contains(&format!("`{f}`")) && !text.contains(&format!(".{f}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "undocumented in docs/plans.md: {missing:?}"
    );
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json"),
    )
    .expect("docs/plan.schema.json exists");
    let out = std::process::Command::new(BIN)
        .arg("schema")
        .output()
        .expect("wsdeploy runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "docs/plan.schema.json is stale: run `wsdeploy schema > docs/plan.schema.json`"
    );
}

/// A tiny HTTP server on 127.0.0.1: answers every request `200 OK` and hands each
/// request's head to the returned channel.
fn health_server() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            if tx
                .send(String::from_utf8_lossy(&head).into_owned())
                .is_err()
            {
                return;
            }
        }
    });
    (port, rx)
}

/// The `my-app` example is a play whose only step is a command without a condition: it
/// runs on every apply (with the secret from the inventory), and the host stays in sync.
#[cfg(feature = "host-tests")]
#[test]
fn the_my_app_example_runs_its_command_on_every_apply() {
    let _guard = support::reliability::local_host_guard();
    let text = docs();
    let (_, _, body) = fenced_blocks(&text)
        .into_iter()
        .find(|(info, _, body)| info == "yaml" && body.starts_with("name: my-app\n"))
        .expect("docs/plans.md has the my-app example");
    let p = Project::new();
    p.file(
        "inventories/docs/hosts.yml",
        "all:\n  vars:\n    api_token: s3cret\n  children:\n    app:\n      hosts:\n        app-1: {ansible_connection: local}\n",
    );
    p.file("plans/my-app.yml", &body);
    let (port, requests) = health_server();
    let port_var = format!("app_port={port}");
    for run in 1..=2 {
        let args = [
            "apply",
            "-i",
            "docs",
            "plans/my-app.yml",
            "-e",
            port_var.as_str(),
            "-e",
            "nginx_test_cmd=true",
        ];
        let out = p.run(&args);
        out.code(0)
            .stdout_has("1 in sync (commands ran on 1)")
            .stderr_has("app-1: ran: run `curl -fsS http://127.0.0.1:");
        assert!(
            !out.stdout.contains("s3cret") && !out.stderr.contains("s3cret"),
            "the secret was printed:\n{}{}",
            out.stdout,
            out.stderr
        );
        let head = requests
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("apply {run} did not run the example's command"));
        assert!(head.starts_with("GET /health "), "{head}");
        assert!(head.contains("Authorization: Bearer s3cret"), "{head}");
    }
}
