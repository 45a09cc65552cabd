//! `when:` conditions and `content_from:` template files, through a real dry run on a
//! `connection: local` host (nothing is written: no lock, no journal).

use crate::support;

use support::project::Project;

const INVENTORY: &str = "all:\n  children:\n    odoo:\n      hosts:\n        h1:\n          ansible_connection: local\n          app_kind: odoo\n        h2:\n          ansible_connection: local\n          app_kind: frappe\n          tls_cert: /etc/ssl/h2.pem\n";

fn project(plan_steps: &str) -> Project {
    let p = Project::with_own_state();
    p.file("inventories/production/hosts.yml", INVENTORY);
    let root = p.path().join("root");
    p.file("root/.keep", "");
    p.file(
        "plans/templates/site.conf.j2",
        "# {{ inventory_hostname }} ({{ app_kind }})\n{% if tls_cert is defined %}ssl_certificate {{ tls_cert }};\n{% endif %}listen {{ port }};\n",
    );
    p.file(
        "plans/site.yml",
        &format!(
            "name: conditions\nhosts: odoo\nvars:\n  root: {}\n  port: 8080\nsteps:\n{plan_steps}",
            root.display()
        ),
    );
    p
}

const STEPS: &str = concat!(
    "  - id: site\n",
    "    file: {path: \"{{ root }}/{{ inventory_hostname }}.conf\", content_from: templates/site.conf.j2}\n",
    "  - id: odoo-only\n",
    "    name: odoo websocket_url\n",
    "    when: app_kind == \"odoo\"\n",
    "    file: {path: \"{{ root }}/odoo.conf\", content: \"websocket_url = ws://x/websocket\\n\"}\n",
    "  - id: frappe-tls\n",
    "    when: [app_kind == \"frappe\", tls_cert is defined]\n",
    "    file: {path: \"{{ root }}/tls.conf\", content: \"cert {{ tls_cert }}\\n\"}\n",
    "  - command: \"echo reload\"\n",
    "    if_changed: [frappe-tls]\n",
);

#[test]
fn false_conditions_skip_steps_and_the_report_says_so() {
    let p = project(STEPS);
    let root = p.path().join("root");
    // By default, a host's skipped steps are one line; -v lists each with its reason.
    let run = p.run(&["apply", "-i", "production", "--check"]);
    run.code(0)
        .stdout_has("   skipped: 1 step (-v shows each and why)")
        .stderr_has("h1: skipped: 1 step (-v shows each and why)")
        .stderr_has("h2: would run: run `echo reload`");
    assert!(
        !run.stderr.contains("h1: skipped: file step")
            && !run.stdout.contains("skipped: file step"),
        "skipped steps listed one by one without -v:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let run = p.run(&["apply", "-i", "production", "--check", "-v"]);
    run.code(0)
        .stdout_has("+# h1 (odoo)\n+listen 8080;\n")
        .stdout_has("+# h2 (frappe)\n+ssl_certificate /etc/ssl/h2.pem;\n+listen 8080;\n")
        .stdout_has(&format!("+++ b{}/odoo.conf", root.display()))
        .stdout_has("skipped: odoo websocket_url (when: app_kind == \"odoo\" is false)")
        .stdout_has("skipped: file step `frappe-tls` (when: app_kind == \"frappe\" is false)")
        .stderr_has("h1: skipped: file step `frappe-tls` — when: app_kind == \"frappe\" is false")
        .stderr_has("h2: would run: run `echo reload`")
        .stderr_has("h1: skipped: run `echo reload` — nothing it depends on changes");
    assert!(
        !std::fs::exists(root.join("h1.conf")).expect("stat"),
        "a dry run wrote a file"
    );
    // h1 never gets tls.conf, h2 never gets odoo.conf.
    let json = p.run(&["apply", "-i", "production", "--check", "--json"]);
    json.code(0);
    for line in json.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        if v["event"] != "host_report" {
            continue;
        }
        let report = &v["report"];
        let host = report["host"].as_str().expect("host");
        let files: Vec<&str> = report["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["path"].as_str().expect("path"))
            .collect();
        let skipped: Vec<&str> = report["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .filter(|a| a["status"] == "skipped")
            .map(|a| a["step"].as_str().expect("step"))
            .collect();
        match host {
            "h1" => {
                assert_eq!(files.len(), 2, "{files:?}");
                assert!(skipped.contains(&"frappe-tls"), "{skipped:?}");
            }
            "h2" => {
                assert_eq!(files.len(), 2, "{files:?}");
                assert!(skipped.contains(&"odoo-only"), "{skipped:?}");
            }
            other => panic!("unexpected host {other}"),
        }
    }
    p.run(&["validate", "-i", "production"])
        .code(0)
        .stdout_has("valid (variables checked against the inventory)");
}

#[test]
fn a_condition_using_an_undefined_variable_is_bad_input() {
    let p = project("  - when: app_flavour == \"odoo\"\n    command: \"true\"\n");
    p.run(&["apply", "-i", "production", "--check"])
        .code(3)
        .stderr_has("plans/site.yml:7:5: step `command-1` for host h1: `when: app_flavour == \"odoo\"`: undefined variable `app_flavour`");
    p.run(&["validate", "-i", "production"])
        .code(3)
        .stdout_has("plans/site.yml:7:5: step `command-1`: `when: app_flavour == \"odoo\"`: undefined variable `app_flavour`")
        .stdout_has("(hosts h1, h2)");
    let p = project("  - when: app_kind ==\n    command: \"true\"\n");
    p.run(&["validate"]).code(3).stdout_has(
        "plans/site.yml:7:5: step `command-1`: `when: app_kind ==`: template syntax error",
    );
}

#[test]
fn content_from_errors_name_the_step_and_the_file() {
    let p = project("  - file: {path: /tmp/x, content_from: templates/missing.j2}\n");
    p.run(&["apply", "-i", "production", "--check"])
        .code(3)
        .stderr_has("plans/site.yml:7:5: `content_from: templates/missing.j2`: cannot read ")
        .stderr_has("(the path is relative to the plan file)");
    let p = project("  - file: {path: /tmp/x, content: a, content_from: templates/site.conf.j2}\n");
    p.run(&["validate"])
        .code(3)
        .stdout_has("plans/site.yml:7:5: `file` takes `content` or `content_from`, not both");
    let p = project("  - file: {path: /tmp/x}\n");
    p.run(&["validate"])
        .code(3)
        .stdout_has("plans/site.yml:7:5: `file` needs `content` (the text) or `content_from`");
    p.file("plans/templates/bad.j2", "{% if %}\n");
    p.file(
        "plans/site.yml",
        "name: x\nhosts: odoo\nsteps:\n  - file: {path: /tmp/x, content_from: templates/bad.j2}\n",
    );
    p.run(&["apply", "-i", "production", "--check"])
        .code(3)
        .stderr_has("`file.content_from (templates/bad.j2)`: template syntax error");
    p.run(&["validate"])
        .code(3)
        .stdout_has("plans/site.yml:4:5: step `file-1`: `file.content_from (templates/bad.j2)`: template syntax error");
}
