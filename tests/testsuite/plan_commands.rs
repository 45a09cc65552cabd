//! When a `command` step runs, one rule: without a condition (`if_changed`, `unless`,
//! `creates`) on every apply, reported as `ran` while the host stays in sync; with one,
//! only when it says so. Driven against this machine (`connection: local`).

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

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[cfg(feature = "host-tests")]
#[test]
fn a_command_without_a_condition_runs_on_every_apply_and_leaves_the_host_in_sync() {
    let p = Project::with_own_state();
    p.file("inventories/x/hosts.yml", INVENTORY);
    let counter = p.path().join("counter");
    let conf = p.path().join("app.env");
    p.file(
        "plans/site.yml",
        &format!(
            "name: p\nhosts: web\nsteps:\n  - id: env\n    line: {{file: {c}, line: \"A=1\", match: \"^A=\"}}\n  - id: health\n    command: \"echo run >> {n}\"\n",
            c = conf.display(),
            n = counter.display()
        ),
    );
    p.run(&["apply", "-i", "x"]).code(0).stdout_has("1 changed");
    assert_eq!(
        lines(&counter),
        1,
        "the first apply did not run the command"
    );
    let second = p.run(&["apply", "-i", "x"]);
    second
        .code(0)
        .stdout_has("1 in sync (commands ran on 1)")
        .stderr_has("w1: ran: run `echo run >> ");
    assert_eq!(
        lines(&counter),
        2,
        "the second apply did not run the command"
    );

    let json = p.run(&["apply", "-i", "x", "--json"]);
    json.code(0);
    assert_eq!(lines(&counter), 3);
    let report: serde_json::Value = json
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "host_report")
        .expect("a host_report");
    assert_eq!(report["report"]["outcome"], "in_sync", "{report}");
    assert_eq!(report["report"]["actions"][0]["status"], "ran", "{report}");
    assert_eq!(report["report"]["actions"][0]["step"], "health", "{report}");

    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(0)
        .stdout_has("1 in sync (commands would run on 1)")
        .stderr_has("w1: would run: run `echo run >> ");
    assert_eq!(lines(&counter), 3, "a dry run ran the command");
    let drift = p.run(&["drift", "-i", "x"]);
    drift.code(0).stdout_has("1 in sync\n");
    assert!(!drift.stderr.contains("would run"), "{}", drift.stderr);
    p.run(&["drift", "-i", "x", "--repair"])
        .code(0)
        .stdout_has("1 in sync\n");
    assert_eq!(lines(&counter), 3, "drift or its repair ran the command");
}

#[cfg(feature = "host-tests")]
#[test]
fn creates_runs_a_command_until_its_path_exists() {
    let p = Project::with_own_state();
    p.file("inventories/x/hosts.yml", INVENTORY);
    let made = p.path().join("made");
    let counter = p.path().join("counter");
    p.file(
        "plans/site.yml",
        &format!(
            "name: p\nhosts: web\nsteps:\n  - id: init\n    command: \"echo run >> {n} && touch {m}\"\n    creates: {m}\n",
            m = made.display(),
            n = counter.display()
        ),
    );
    p.run(&["apply", "-i", "x", "--dry-run"])
        .code(0)
        .stdout_has("1 would change")
        .stderr_has("does not exist, so `echo run");
    assert!(!made.exists(), "a dry run ran the command");
    p.run(&["apply", "-i", "x"]).code(0).stdout_has("1 changed");
    assert!(made.exists(), "the command did not run");
    p.run(&["apply", "-i", "x"])
        .code(0)
        .stdout_has("1 in sync\n");
    assert_eq!(
        lines(&counter),
        1,
        "the command ran although its path exists"
    );
}

#[test]
fn creates_is_a_commands_only_condition_and_names_an_absolute_path() {
    let base = "name: p\nhosts: web\nsteps:\n  - id: conf\n    line: {file: /tmp/x, line: a}\n";
    project(&format!(
        "{base}  - command: \"true\"\n    creates: /tmp/y\n    unless: \"true\"\n"
    ))
    .run(&["apply", "-i", "x", "--dry-run"])
    .code(3)
    .stderr_has("plans/site.yml:6:5: `creates` is a command's only condition");
    project(&format!(
        "{base}  - line: {{file: /tmp/z, line: b}}\n    creates: /tmp/y\n"
    ))
    .run(&["apply", "-i", "x", "--dry-run"])
    .code(3)
    .stderr_has("`creates` applies to `command` steps");
    project(&format!(
        "{base}  - command: \"true\"\n    creates: relative/y\n"
    ))
    .run(&["apply", "-i", "x", "--dry-run"])
    .code(3)
    .stderr_has("`creates: relative/y` must be an absolute path");
}

#[cfg(feature = "host-tests")]
#[test]
fn an_unless_is_a_condition_of_its_own_a_file_change_does_not_run_the_command() {
    let p = Project::with_own_state();
    p.file("inventories/x/hosts.yml", INVENTORY);
    let conf = p.path().join("app.env");
    let marker = p.path().join("ran");
    p.file(
        "plans/site.yml",
        &format!(
            "name: p\nhosts: web\nsteps:\n  - id: env\n    line: {{file: {c}, line: \"A=1\"}}\n  - command: \"touch {m}\"\n    unless: \"true\"\n",
            c = conf.display(),
            m = marker.display()
        ),
    );
    p.run(&["apply", "-i", "x"]).code(0).stdout_has("1 changed");
    assert!(conf.exists());
    assert!(
        !marker.exists(),
        "the command ran although its `unless` check passed"
    );
}
