//! Bad input is refused before any host is touched, with exit code 3 and a message that
//! names the file, line and column (or the host and step) and says what to do.

use crate::support;

use support::project::Project;

const INVENTORY: &str = "all:\n  children:\n    odoo:\n      hosts:\n        local-1:\n          ansible_connection: local\n";

fn project_with(plan: &str) -> Project {
    let p = Project::new();
    p.file("inventories/production/hosts.yml", INVENTORY);
    p.file("plans/site.yml", plan);
    p
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let p = project_with("name: broken\nhosts: odoo\nsteps:\n  - command: [unclosed\n");
    let run = p.run(&["apply", "-i", "production", "--dry-run"]);
    run.code(3)
        .stderr_has("plans/site.yml:4:")
        .stderr_has("nothing was changed on any host.");
}

#[test]
fn unknown_key_lists_the_expected_keys() {
    let p =
        project_with("name: x\nhosts: odoo\nsteps:\n  - command: nginx -t\n    if_chnged: [a]\n");
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:5:5: unknown field `if_chnged` (did you mean `if_changed`?), expected one of");
}

#[test]
fn unknown_step_kind_is_refused() {
    let p =
        project_with("name: x\nhosts: odoo\nsteps:\n  - id: a\n    template: {src: a, dest: b}\n");
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:5:5: unknown field `template`, expected one of");
}

#[test]
fn step_without_kind_says_which_kinds_exist() {
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - id: lonely\n");
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:4:5: step 1 has no kind: give it exactly one of nginx, ini, json, file, line, requirements, compose_ports, command, verify");
}

#[test]
fn undefined_variable_names_variable_host_and_step() {
    let p = project_with(
        "name: x\nhosts: odoo\nsteps:\n  - id: conf\n    ini: {file: \"{{ odoo_conf }}\", set: {proxy_mode: \"True\"}}\n",
    );
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("plans/site.yml:4:5: step `conf` for host local-1: `ini.file`: undefined variable `odoo_conf`");
}

#[test]
fn if_changed_must_name_an_earlier_file_step() {
    let p = project_with(
        "name: x\nhosts: odoo\nsteps:\n  - command: nginx -s reload\n    if_changed: [map]\n",
    );
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("`if_changed: map` names no earlier step; earlier file steps: none");
}

#[test]
fn relative_paths_are_refused() {
    let p =
        project_with("name: x\nhosts: odoo\nsteps:\n  - ini: {file: \"odoo.conf\", set: {a: b}}\n");
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("`ini.file` must be an absolute path without `..`, got `odoo.conf`");
}

#[test]
fn missing_plan_file_is_named() {
    let p = Project::new();
    p.file("inventories/production/hosts.yml", INVENTORY);
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("cannot read plan")
        .stderr_has("plans/site.yml");
}

#[test]
fn rollback_needs_a_valid_date() {
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n");
    p.run(&["rollback", "-i", "production", "--date", "31-12-2025"])
        .code(3)
        .stderr_has("--date `31-12-2025`: expected YYYY-MM-DD");
}

#[test]
fn missing_inventory_lists_the_available_ones() {
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n");
    p.run(&["apply", "-i", "prod", "--dry-run"])
        .code(3)
        .stderr_has("error: inventory not found: inventories/prod/hosts.yml (from -i prod); available: production");
}

#[test]
fn bad_extra_vars_show_the_accepted_forms() {
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n");
    p.run(&["apply", "-i", "production", "-e", "k", "--dry-run"])
        .code(3)
        .stderr_has("error: invalid -e 'k': `k` is not key=value; accepted forms: -e key=value");
}

#[test]
fn limit_matching_nothing_is_an_error() {
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n");
    p.run(&["apply", "-i", "production", "--limit", "web", "--dry-run"])
        .code(3)
        .stderr_has("no hosts matched --limit 'web'; known groups: all, odoo, ungrouped");
}

#[test]
fn out_of_range_flags_are_refused_before_anything_runs() {
    // Accepted, these runs would use this machine as their (local) host.
    let _guard = support::reliability::local_host_guard();
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n");
    p.run(&["apply", "-i", "production", "--forks", "0"])
        .code(3)
        .stderr_has("--forks `0`: at least 1 host must run at a time")
        .stderr_has("nothing was changed on any host.");
    p.run(&["drift", "-i", "production", "--connect-timeout", "0"])
        .code(3)
        .stderr_has("--connect-timeout `0`: give at least 1 second");
    p.run(&["apply", "-i", "production", "--max-fail", "30"])
        .code(3)
        .stderr_has(
            "--max-fail `30`: write the percentage with its sign, such as `--max-fail 30%`",
        );
    p.run(&["rollback", "-i", "production", "--date", "2099-01-01"])
        .code(3)
        .stderr_has("--date `2099-01-01` is in the future (today is ")
        .stderr_has("`wsdeploy backups` lists the days that have some");
    // The same refusal when the value comes from wsdeploy.toml.
    p.file("wsdeploy.toml", "forks = 0\n");
    p.run(&["verify", "-i", "production"])
        .code(3)
        .stderr_has("`forks` in wsdeploy.toml");
}

#[test]
fn the_exit_codes_are_one_table_in_the_docs_and_the_man_page() {
    let table = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exit-codes.md"))
        .expect("read docs/exit-codes.md");
    let man = Project::new().run(&["man"]);
    man.code(0);
    let exit_status = man
        .stdout
        .split(".SH \"EXIT STATUS\"")
        .nth(1)
        .expect("the man page has EXIT STATUS");
    for (code, meaning) in wsdeploy::exit::TABLE {
        let row = format!("| {code} | {meaning} |");
        assert!(
            table.contains(&row),
            "docs/exit-codes.md lacks the row\n{row}"
        );
        assert!(
            exit_status.contains(&format!("\\fB{code}\\fR\n")),
            "EXIT STATUS lacks {code}"
        );
    }
    for section in ["ENVIRONMENT", "FILES"] {
        assert!(
            man.stdout.contains(&format!(".SH \"{section}\"")),
            "the man page lacks {section}"
        );
    }
    assert!(man.stdout.contains("WSDEPLOY_BECOME_PASSWORD"));
    assert!(man.stdout.contains("/var/lib/wsdeploy/runs/RUN_ID/"));
}

/// The one JSON object `--json` prints on standard output for bad input.
fn json_error(run: &support::project::Run) -> serde_json::Value {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout is not one JSON line:\n{}",
        run.stdout
    );
    let value: serde_json::Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout));
    assert_eq!(value["event"], "error", "{value}");
    assert_eq!(value["exit"], 3, "{value}");
    assert_eq!(value["schema_version"], 1, "{value}");
    value
}

/// `e` places its error at `file` (a path ending so), `line` and `column`, and its message
/// (without the place) starts with `message`.
fn assert_placed(e: &serde_json::Value, file: &str, line: u64, column: u64, message: &str) {
    assert!(e["file"].as_str().is_some_and(|f| f.ends_with(file)), "{e}");
    assert_eq!(e["line"], line, "{e}");
    assert_eq!(e["column"], column, "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(message)),
        "{e}"
    );
}

#[test]
fn with_json_a_plan_error_names_its_file_even_with_a_space_in_its_path() {
    // The place comes with the error, not read back from its text.
    let p = project_with("name: x\nhosts: odoo\nsteps: []\n");
    p.file(
        "plans/my site.yml",
        "name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n    notify: reload\n",
    );
    let run = p.run(&["apply", "-i", "production", "plans/my site.yml", "--json"]);
    run.code(3)
        .stderr_has("plans/my site.yml:5:5: unknown field `notify`");
    let e = json_error(&run);
    assert_placed(&e, "plans/my site.yml", 5, 5, "unknown field `notify`");
}

#[test]
fn with_json_a_vaulted_value_names_its_file_even_with_a_space_in_its_path() {
    // The place comes with the error, not read back from its text.
    let p = project_with("name: x\nhosts: odoo\nsteps: []\n");
    p.file(
        "inventories/my site/hosts.yml",
        "all:\n  hosts:\n    local-1:\n      ansible_connection: local\n      secret: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          3338\n",
    );
    let run = p.run(&["apply", "-i", "my site", "--json"]);
    run.code(3).stderr_has(
        "inventories/my site/hosts.yml:5:7: variable `secret`: not a valid Ansible Vault text",
    );
    let e = json_error(&run);
    assert_eq!(e["kind"], "vault", "{e}");
    assert_placed(
        &e,
        "inventories/my site/hosts.yml",
        5,
        7,
        "variable `secret`: not a valid Ansible Vault text",
    );
}

#[test]
fn with_json_a_saved_review_that_is_not_one_names_its_place_even_with_a_space_in_its_path() {
    let p = project_with("name: x\nhosts: odoo\nsteps: []\n");
    p.file("my review.json", "{\"format\": \"x\",\n  oops}\n");
    let review = p.path().join("my review.json");
    let review = review.to_str().expect("a UTF-8 temporary path");
    let run = p.run(&["apply", "--reviewed", review, "--json"]);
    run.code(3)
        .stderr_has("my review.json:2:3: not a wsdeploy review: ");
    let e = json_error(&run);
    assert_eq!(e["kind"], "usage", "{e}");
    assert_placed(&e, "my review.json", 2, 3, "not a wsdeploy review: ");
}

#[test]
fn with_json_bad_input_is_one_json_error_object_on_stdout() {
    let p =
        project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n    notify: reload\n");
    let run = p.run(&["apply", "-i", "production", "--json"]);
    run.code(3)
        .stderr_has("plans/site.yml:5:5: unknown field `notify`");
    let e = json_error(&run);
    assert_eq!(e["kind"], "plan", "{e}");
    assert_placed(&e, "plans/site.yml", 5, 5, "unknown field `notify`");
    assert!(
        e["hint"]
            .as_str()
            .is_some_and(|h| h.contains("no handlers")),
        "{e}"
    );

    p.file(
        "inventories/broken/hosts.yml",
        "all:\n  hosts:\n    h1: {a: [}\n",
    );
    let e = json_error(p.run(&["drift", "-i", "broken", "--json"]).code(3));
    assert_eq!(e["kind"], "inventory", "{e}");
    assert_eq!(e["line"], 3, "{e}");

    let e = json_error(
        p.run(&[
            "apply",
            "-i",
            "production",
            "--json",
            "--vault-password-file",
            "/nonexistent/pass",
        ])
        .code(3),
    );
    assert_eq!(e["kind"], "vault", "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("/nonexistent/pass")),
        "{e}"
    );

    let e = json_error(
        p.run(&["apply", "-i", "production", "--json", "--forks", "0"])
            .code(3),
    );
    assert_eq!(e["kind"], "usage", "{e}");
    assert_eq!(e["file"], serde_json::Value::Null, "{e}");
    assert_eq!(e["problems"], serde_json::json!([]), "{e}");

    let e = json_error(
        p.run(&["apply", "-i", "production", "--json", "--no-such-flag"])
            .code(3),
    );
    assert_eq!(e["kind"], "usage", "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("--no-such-flag")),
        "{e}"
    );

    // Without --json, nothing on stdout.
    let run = p.run(&["apply", "-i", "production", "--forks", "0"]);
    run.code(3);
    assert_eq!(run.stdout, "");
}

#[test]
fn apply_and_dry_run_name_every_problem_of_the_plan_at_once() {
    // Two load errors: each at its file:line:col, in one run.
    let p = project_with(concat!(
        "name: x\n",
        "hosts: odoo\n",
        "steps:\n",
        "  - id: a\n",
        "    command: \"true\"\n",
        "    notify: reload\n",
        "  - command: \"true\"\n",
        "    if_changed: [nothing]\n",
    ));
    for args in [
        &["apply", "-i", "production", "--dry-run"][..],
        &["apply", "-i", "production"][..],
    ] {
        p.run(args)
            .code(3)
            .stderr_has("plans/site.yml:6:5: unknown field `notify`")
            .stderr_has("the plan has 1 more problem (as `wsdeploy validate` reports them):\n")
            .stderr_has("plans/site.yml:7:5: `if_changed: nothing` names no earlier step")
            .stderr_has("nothing was changed on any host.");
    }
    // With --json: the first as the error, the others in `problems`.
    let e = json_error(p.run(&["apply", "-i", "production", "--json"]).code(3));
    assert_eq!(
        (&e["kind"], &e["line"], &e["column"]),
        (&"plan".into(), &6.into(), &5.into()),
        "{e}"
    );
    let problems = e["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{e}");
    assert!(
        problems[0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("plans/site.yml")),
        "{e}"
    );
    assert_eq!(
        (&problems[0]["line"], &problems[0]["column"]),
        (&7.into(), &5.into()),
        "{e}"
    );
    assert!(
        problems[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("`if_changed: nothing` names no earlier step")),
        "{e}"
    );
    // Two undefined variables in two steps: both, with the hosts that lack them.
    let p = project_with(concat!(
        "name: x\n",
        "hosts: odoo\n",
        "steps:\n",
        "  - command: \"echo {{ first_missing }}\"\n",
        "  - line: {file: \"{{ second_missing }}\", line: a}\n",
        "  - command: \"echo {{ third_missing }}\"\n",
    ));
    let run = p.run(&["apply", "-i", "production", "--dry-run"]);
    run.code(3)
        .stderr_has("undefined variable `first_missing`")
        .stderr_has("the plan has 2 more problems")
        .stderr_has(
            "plans/site.yml:5:5: step `line-2`: `line.file`: undefined variable `second_missing`",
        )
        .stderr_has(
            "plans/site.yml:6:5: step `command-3`: `command`: undefined variable `third_missing`",
        );
    assert_eq!(
        run.stderr
            .matches("undefined variable `first_missing`")
            .count(),
        1,
        "the first problem is said once:\n{}",
        run.stderr
    );
}
