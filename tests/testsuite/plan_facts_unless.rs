//! Plan format: `facts:` and a command's `unless:` are checked before any host is
//! contacted (exit 3, file:line:col, nothing touched).

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use support::project::Project;

const INVENTORY: &str =
    "all:\n  children:\n    web:\n      hosts:\n        w1:\n          ansible_connection: local\n";

fn project(plan: &str) -> Project {
    let p = Project::with_own_state();
    p.file("inventories/x/hosts.yml", INVENTORY);
    p.file("plans/site.yml", plan);
    p
}

#[test]
fn unless_belongs_to_command_steps() {
    let p = project(concat!(
        "name: p\n",
        "hosts: web\n",
        "steps:\n",
        "  - id: check\n",
        "    verify: {command: {run: \"true\"}}\n",
        "    unless: \"false\"\n",
    ));
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:4:5: ")
        .stderr_has("`unless` applies to `command` steps");
}

#[test]
fn a_fact_needs_a_variable_name_and_a_key_once() {
    let base = "name: p\nhosts: web\nsteps:\n  - id: c\n    command: \"true\"\nfacts:\n";
    let p = project(&format!(
        "{base}  - {{name: 2port, json: /x.json, key: port, default: 1}}\n"
    ));
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:7:5: fact name `2port` is not a variable name");
    let p = project(&format!(
        "{base}  - {{name: port, json: /x.json, key: port, default: 1}}\n  - {{name: port, json: /y.json, key: port, default: 2}}\n"
    ));
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(3)
        .stderr_has("fact `port` is defined twice");
}

#[cfg(feature = "host-tests")]
#[test]
fn a_cmdline_fact_reads_a_long_option_by_its_name_and_is_one_source() {
    let base = "name: p\nhosts: web\nsteps:\n  - id: c\n    command: \"true\"\nfacts:\n";
    let p = project(&format!(
        "{base}  - {{name: w, cmdline: odoo, key: --workers, default: -1}}\n"
    ));
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:7:5: ")
        .stderr_has("`key` is its name without the dashes (e.g. `workers` for `--workers`), not `--workers`");
    let p = project(&format!(
        "{base}  - {{name: w, cmdline: odoo, ini: /etc/odoo/odoo.conf, section: options, key: workers, default: -1}}\n"
    ));
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(3)
        .stderr_has("give exactly one of `json:` (a JSON file), `ini:` (an INI file, with `section:`), `exists:` (a path) or `cmdline:` (a systemd unit)");
}

#[cfg(feature = "host-tests")]
#[test]
fn an_unless_check_that_fails_makes_the_command_run_on_an_otherwise_unchanged_host() {
    let p = Project::with_own_state();
    p.file("inventories/x/hosts.yml", INVENTORY);
    let marker = p.path().join("ran");
    p.file(
        "plans/site.yml",
        &format!(
            "name: p\nhosts: web\nsteps:\n  - id: fix\n    command: \"touch {m}\"\n    unless: \"test -e {m}\"\n",
            m = marker.display()
        ),
    );
    let dry = p.run(&["apply", "-i", "x", "--dry-run"]);
    dry.code(0)
        .stdout_has("would run: run `touch ")
        .stdout_has("1 would change");
    assert!(!marker.exists(), "a dry run ran the command");
    p.run(&["apply", "-i", "x"]).code(0).stdout_has("1 changed");
    assert!(marker.exists(), "the command did not run");
    p.run(&["apply", "-i", "x"]).code(0).stdout_has("1 in sync");
}

/// An `unless:` check is plan text that may hold a secret: it travels on stdin, like a
/// command's text, so no process's argv on the host (`ps`, `/proc/*/cmdline`, sudo's log)
/// shows it.
#[test]
fn an_unless_check_never_appears_in_any_process_argv() {
    let p = Project::with_own_state();
    p.file("inventories/x/hosts.yml", INVENTORY);
    let seen = p.path().join("seen");
    // While it runs, the check counts the processes whose argv holds the marker that its
    // own text ends with; grep's pattern (`TOKE[N]`) cannot match grep's own argv.
    p.file(
        "plans/site.yml",
        &format!(
            "name: p\nhosts: web\nsteps:\n  - id: fix\n    command: \"true\"\n    unless: >-\n      cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' ' | grep -c 'UNLESS-SECRET-TOKE[N]' > {s}; false # UNLESS-SECRET-TOKEN\n",
            s = seen.display()
        ),
    );
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(0)
        .stdout_has("1 would change");
    let count = std::fs::read_to_string(&seen).expect("the unless check ran");
    assert_eq!(
        count.trim(),
        "0",
        "the unless text was in some process's argv"
    );
}
