//! The `compose_ports` step applied through the local transport to copies of compose files,
//! judged by real YAML readers: Debian's `docker-compose` (v1) `config` for short-syntax
//! files and python3's `yaml.safe_load` for every file (docker-compose v1 rejects the long
//! syntax's `host_ip`, which Compose v2 reads). Both must be installed (tests/run-all does).

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::Path;
use std::process::Command;

use support::project::Project;

const PLAN: &str = "name: rebind
hosts: odoo
steps:
  - id: rebind
    compose_ports:
      file: \"{{ compose_file }}\"
      service: \"{{ compose_service }}\"
      container_port: \"{{ odoo_http_port }}\"
  - id: recreate
    command: \"echo recreated >> {{ marker }}\"
    if_changed: [rebind]
";

fn project(corpus: &str) -> (Project, std::path::PathBuf) {
    let p = Project::with_own_state();
    let file = p.corpus(corpus, "root/opt/opticserp/docker-compose.yml");
    let r = p.path().join("root").display().to_string();
    p.file(
        "inventories/production/hosts.yml",
        &format!(
            "all:\n  children:\n    odoo:\n      hosts:\n        odoo-prod-1:\n          ansible_connection: local\n      vars:\n        compose_file: {r}/opt/opticserp/docker-compose.yml\n        compose_service: odoo\n        odoo_http_port: 8069\n        marker: {r}/recreated\n"
        ),
    );
    p.file("plans/site.yml", PLAN);
    (p, file)
}

/// `docker-compose -f FILE config`: the normalised file, or a loud failure.
fn compose_config(file: &Path) -> String {
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(file)
        .arg("config")
        .env("DB_PASSWORD", "x")
        .output()
        .unwrap_or_else(|e| {
            panic!("docker-compose (Debian's package docker-compose, installed by tests/run-all) is the oracle of this test and cannot run: {e}")
        });
    assert!(
        out.status.success(),
        "docker-compose rejects {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The service's `ports` as python3's `yaml.safe_load` reads them (JSON).
fn safe_load_ports(file: &Path, service: &str) -> serde_json::Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg("import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(json.dumps(d['services'][sys.argv[2]].get('ports', [])))")
        .arg(file)
        .arg(service)
        .output()
        .unwrap_or_else(|e| panic!("python3 (with python3-yaml, installed by tests/run-all) is the oracle of this test and cannot run: {e}"));
    assert!(
        out.status.success(),
        "python3 yaml.safe_load fails on {} (is python3-yaml installed?): {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json from python")
}

fn recreated(p: &Project) -> usize {
    std::fs::read_to_string(p.path().join("root/recreated"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[cfg(feature = "host-tests")]
#[test]
fn short_syntax_is_bound_and_only_that_entry_changes() {
    let (p, file) = project("compose/opticserp.yml");
    let before = std::fs::read_to_string(&file).expect("read");
    let config = compose_config(&file);
    assert!(
        config.contains("- published: 8069\n      target: 8069\n"),
        "oracle sanity: before, 8069 is published on all addresses: {config}"
    );
    p.run(&["apply", "-i", "production"]).code(0);
    let after = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        after,
        before.replace(
            "      - \"8069:8069\"        # web\n",
            "      - \"127.0.0.1:8069:8069\"        # web\n"
        ),
        "every other byte unchanged"
    );
    let config = compose_config(&file);
    assert!(config.contains("- 127.0.0.1:8069:8069/tcp"), "{config}");
    assert!(config.contains("- 127.0.0.1:8072:8072/tcp"), "{config}");
    assert!(!config.contains("published: 8069"), "{config}");
    assert_eq!(
        safe_load_ports(&file, "odoo"),
        serde_json::json!(["127.0.0.1:8069:8069", "127.0.0.1:8072:8072"])
    );
    assert_eq!(recreated(&p), 1, "the container is recreated once");

    // A second apply is in sync: nothing written, nothing recreated.
    p.run(&["apply", "-i", "production"]).code(0);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), after);
    assert_eq!(recreated(&p), 1);
}

#[cfg(feature = "host-tests")]
#[test]
fn long_syntax_gets_host_ip() {
    let (p, file) = project("compose/long-syntax.yml");
    let before = std::fs::read_to_string(&file).expect("read");
    p.run(&["apply", "-i", "production"]).code(0);
    let after = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        after,
        before
            .replace(
                "        protocol: tcp   # web client\n",
                "        protocol: tcp   # web client\n        host_ip: 127.0.0.1\n"
            )
            .replace("host_ip: '0.0.0.0'", "host_ip: '127.0.0.1'")
    );
    let ports = safe_load_ports(&file, "odoo");
    let entries = ports.as_array().expect("list");
    assert_eq!(entries.len(), 3);
    for entry in entries {
        assert_eq!(entry["host_ip"], "127.0.0.1", "{entry}");
    }
    assert_eq!(entries[0]["target"], 8069);
    assert_eq!(entries[0]["published"], 8069);
    assert_eq!(entries[0]["protocol"], "tcp");
}

#[test]
fn interpolated_port_is_refused_with_its_position_and_nothing_changes() {
    let (p, file) = project("compose/opticserp.yml");
    let text = "services:\n  odoo:\n    ports:\n      - \"${ODOO_PORT}:8069\"\n";
    std::fs::write(&file, text).expect("write");
    let run = p.run(&["apply", "-i", "production"]);
    assert_ne!(run.code, 0, "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(&format!("{}:4:9:", file.display())) && all.contains("interpolation"),
        "{all}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), text);
    assert_eq!(recreated(&p), 0);
}
