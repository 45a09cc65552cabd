//! `apply --reviewed` applies exactly what was reviewed: the review binds the files'
//! hashes and also the rendered commands and checks, `become`, the dump command and the
//! plan files. A command edited after the review does not run; flags that would change
//! the target (`-i`, a plan, `-e`, `--limit`) are refused, not ignored.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use serde_json::{Value, json};
use support::reliability::{Canary, LocalHost, local_host_guard};

fn plan(command: &str) -> Value {
    json!({
        "name": "review", "hosts": "odoo",
        "steps": [
            {"id": "conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
            {"id": "after", "command": command, "if_changed": ["conf"]},
        ],
    })
}

#[cfg(feature = "host-tests")]
#[test]
fn a_review_binds_commands_and_refuses_other_targets() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    let reviewed_marker = Canary::new("reviewed-command");
    let injected = Canary::new("edited-command");
    let review = host.project.path().join("review.json");
    let review_arg = review.display().to_string();
    host.plan_json(&plan(&format!("touch {}", reviewed_marker.as_str())));
    host.run("apply", &["--dry-run", "--save", &review_arg])
        .code(0);
    let before = host.sums();

    // The plan's command edited after the review (the files' change is the same).
    host.plan_json(&plan(&format!("touch {}", injected.as_str())));
    host.project
        .run(&["apply", "--reviewed", &review_arg])
        .code(3)
        .stderr_has("differ from what was reviewed: nothing was applied; review again");
    injected.assert_absent("a command edited after the review ran");
    assert_eq!(host.sums(), before, "the host was changed");

    // Targeting flags with --reviewed: refused, naming them.
    host.plan_json(&plan(&format!("touch {}", reviewed_marker.as_str())));
    for (args, named) in [
        (vec!["-i", "production"], "remove -i"),
        (vec!["plans/site.yml"], "remove PLAN"),
        (vec!["--limit", "local-1"], "remove --limit"),
        (vec!["-e", "x=1"], "remove -e"),
    ] {
        let mut all = vec!["apply", "--reviewed", &review_arg];
        all.extend(args);
        host.project
            .run(&all)
            .code(3)
            .stderr_has("--reviewed applies exactly what the review names")
            .stderr_has(named);
    }
    assert_eq!(host.sums(), before, "the host was changed");

    // The reviewed plan again: applied, and the reviewed command ran.
    host.project
        .run(&["apply", "--reviewed", &review_arg])
        .code(0);
    assert!(
        reviewed_marker.path.exists(),
        "the reviewed command did not run"
    );
    assert!(
        std::fs::read_to_string(&host.odoo_conf)
            .expect("odoo.conf")
            .contains("proxy_mode = True")
    );
}

/// The facts read on the host are part of what was reviewed: a command that uses a fact
/// does not run with a value other than the reviewed one (the files' change is the same).
#[cfg(feature = "host-tests")]
#[test]
fn a_review_binds_the_facts_read_on_the_host() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    let reviewed = Canary::new("fact-9000");
    let changed = Canary::new("fact-9001");
    let base = reviewed.as_str().trim_end_matches("9000").to_owned();
    let review = host.project.path().join("review.json");
    let review_arg = review.display().to_string();
    let ports = host.project.path().join("ports.json");
    std::fs::write(&ports, r#"{"port": 9000}"#).expect("ports");
    host.plan_json(&json!({
        "name": "review", "hosts": "odoo",
        "facts": [{"name": "port", "json": ports.display().to_string(), "key": "port",
                   "default": 8000}],
        "steps": [
            {"id": "conf", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
            {"id": "after", "command": format!("touch {base}{{{{ port }}}}"), "if_changed": ["conf"]},
        ],
    }));
    host.run("apply", &["--dry-run", "--save", &review_arg])
        .code(0);
    let before = host.sums();

    // The bench user changes the value after the review.
    std::fs::write(&ports, r#"{"port": 9001}"#).expect("ports");
    let run = host.project.run(&["apply", "--reviewed", &review_arg]);
    run.code(1)
        .stdout_has("fact `review.port` was 9000 when reviewed and is 9001 now: review again");
    changed.assert_absent("a command ran with a fact other than the reviewed one");
    assert_eq!(host.sums(), before, "the host was changed");

    std::fs::write(&ports, r#"{"port": 9000}"#).expect("ports");
    host.project
        .run(&["apply", "--reviewed", &review_arg])
        .code(0);
    assert!(reviewed.path.exists(), "the reviewed command did not run");
}

/// The inventory's connection target is part of what was reviewed: a host the inventory
/// now reaches elsewhere is not applied.
#[test]
fn a_review_binds_the_connection_target() {
    let _guard = local_host_guard();
    let mut host = LocalHost::new("root");
    let marker = Canary::new("target-command");
    let review = host.project.path().join("review.json");
    let review_arg = review.display().to_string();
    host.plan_json(&plan(&format!("touch {}", marker.as_str())));
    host.run("apply", &["--dry-run", "--save", &review_arg])
        .code(0);
    host.reach_as(
        "local-1",
        json!({"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}),
    );
    host.project
        .run(&["apply", "--reviewed", &review_arg])
        .code(3)
        .stderr_has("the connection target, plan files, commands, checks, become or dump command for local-1 differ from what was reviewed");
    marker.assert_absent("applied to another target");
}
