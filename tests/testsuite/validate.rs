//! `wsdeploy validate`: an offline lint that reports every problem of a plan with its
//! file:line:col and exits 0 (valid) or 3 (problems), contacting no host.

use crate::support;

use support::project::Project;

/// An inventory whose only host is an address nobody answers (TEST-NET-1): validate must
/// not try to reach it.
const INVENTORY: &str = "all:\n  children:\n    odoo:\n      hosts:\n        odoo-1:\n          ansible_host: 192.0.2.1\n          site_conf: /etc/nginx/sites-available/odoo.conf\n        odoo-2:\n          ansible_host: 192.0.2.2\n";

fn project_with(plan: &str) -> Project {
    let p = Project::new();
    p.file("inventories/production/hosts.yml", INVENTORY);
    p.file("plans/site.yml", plan);
    p
}

#[test]
fn the_shipped_plans_are_valid_with_and_without_the_inventory() {
    let root = env!("CARGO_MANIFEST_DIR");
    let start = std::time::Instant::now();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdeploy"))
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .expect("wsdeploy runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let out = run(&["validate"]);
    assert!(
        out.ends_with(" plans: valid (pass -i INV to check variables too)\n"),
        "{out}"
    );
    let out = run(&["validate", "-i", "production"]);
    assert!(
        out.ends_with("valid (variables checked against the inventory)\n"),
        "{out}"
    );
    assert!(
        start.elapsed().as_secs() < 10,
        "validate is offline and fast"
    );
}

#[test]
fn every_problem_is_reported_with_file_line_and_column() {
    let p = project_with(concat!(
        "name: bad\n",
        "hosts: odoo\n",
        "vars:\n",
        "  url: \"ws://{{ public_host }}/websocket\"\n",
        "  broken: \"{{ oops\"\n",
        "steps:\n",
        "  - id: site\n",
        "    nginx: {file: \"{{ site_conf }}\", context: server, ensure: \"location /ws { proxy_pass {{ url }}; }\"}\n",
        "  - id: token\n",
        "    file: {path: /etc/app/token, content: \"{{ lookup('env', 'TOKEN') }}\"}\n",
        "  - command: \"nginx -s reload {% if %}\"\n",
        "    if_changed: [site]\n",
    ));
    let run = p.run(&["validate"]);
    run.code(3)
        .stdout_has("plans/site.yml:5:3: `vars.broken`: template syntax error")
        .stdout_has(
            "plans/site.yml:9:5: step `token`: `file.content`: unsupported function `lookup(...)`",
        )
        .stdout_has("plans/site.yml:11:5: step `command-3`: `command`: template syntax error")
        .stdout_has("plans/site.yml: 3 problems");
    assert!(
        !run.stdout.contains("undefined variable `lookup`"),
        "{}",
        run.stdout
    );
    // With the inventory: variables too, naming the hosts that lack them.
    let run = p.run(&["validate", "-i", "production"]);
    run.code(3)
        .stdout_has("plans/site.yml:7:5: step `site`: `nginx.file`: undefined variable `site_conf`")
        .stdout_has("(host odoo-2)")
        .stdout_has("step `site`: `nginx.ensure`: undefined variable `public_host` (used by variable `url`)")
        .stdout_has("(hosts odoo-1, odoo-2)")
        .stdout_has("plans/site.yml: 5 problems");
    // -e fills the gap.
    let run = p.run(&[
        "validate",
        "-i",
        "production",
        "-e",
        "public_host=203.0.113.7",
        "-e",
        "site_conf=/etc/nginx/sites-available/x.conf",
    ]);
    run.code(3).stdout_has("plans/site.yml: 3 problems");
}

#[test]
fn load_errors_are_problems_too() {
    let p =
        project_with("name: x\nhosts: odoo\nsteps:\n  - command: nginx -t\n    if_chnged: [a]\n");
    p.run(&["validate", "plans/site.yml"])
        .code(3)
        .stdout_has("plans/site.yml:5:5: unknown field `if_chnged` (did you mean `if_changed`?), expected one of")
        // Read as the `if_changed` it was meant to be, it names no earlier step.
        .stdout_has("plans/site.yml:4:5: `if_changed: a` names no earlier step")
        .stdout_has("2 problems");
    let p = project_with(
        "name: x\nhosts: odoo\nsteps:\n  - command: nginx -s reload\n    if_changed: [map]\n",
    );
    p.run(&["validate"])
        .code(3)
        .stdout_has("plans/site.yml:4:5: `if_changed: map` names no earlier step");
}

#[test]
fn rendering_problems_show_with_an_inventory() {
    let p = project_with(
        "name: x\nhosts: odoo\nvars:\n  conf: odoo.conf\nsteps:\n  - ini: {file: \"{{ conf }}\", set: {a: b}}\n",
    );
    p.run(&["validate"]).code(0);
    p.run(&["validate", "-i", "production", "--limit", "odoo-1"])
        .code(3)
        .stdout_has("plans/site.yml:6:5: step `ini-1`: `ini.file` must be an absolute path without `..`, got `odoo.conf` (host odoo-1)");
}

#[test]
fn a_function_call_at_apply_time_is_named_as_a_function() {
    let p = project_with(
        "name: x\nhosts: odoo\nsteps:\n  - command: \"echo {{ lookup('env', 'HOME') }}\"\n",
    );
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("`command`: unsupported function `lookup(...)`");
}

#[test]
fn bad_inventory_is_bad_input() {
    let p = project_with("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n");
    p.run(&["validate", "-i", "nope"])
        .code(3)
        .stderr_has("inventory not found");
    let empty = Project::new();
    empty
        .run(&["validate"])
        .code(3)
        .stderr_has("no plan to validate");
}

#[test]
fn nginx_snippets_are_parsed_and_their_errors_placed_in_the_plan_file() {
    let p = project_with(concat!(
        "name: bad\n",
        "hosts: odoo\n",
        "steps:\n",
        "  - id: site\n",
        "    nginx:\n",
        "      file: \"{{ site_conf }}\"\n",
        "      context: server\n",
        "      ensure: |\n",
        "        location /websocket {\n",
        "            proxy_pass http://127.0.0.1:{{ port }}\n",
        "            proxy_http_version 1.1;\n",
        "        }\n",
        "  - id: other\n",
        "    nginx: {file: /etc/nginx/x.conf, context: server, ensure: \"location /x { return 204;\"}\n",
        "  - id: third\n",
        "    nginx:\n",
        "      file: /etc/nginx/y.conf\n",
        "      context: server\n",
        "      ensure: |\n",
        "        location /y {\n",
        "            return 204;\n",
        "        }}\n",
        "  - id: fine\n",
        "    nginx:\n",
        "      file: /etc/nginx/z.conf\n",
        "      context: server\n",
        "      ensure: |\n",
        "        location /z {\n",
        "            proxy_pass http://{{ upstream }}:{{ port }};\n",
        "            {% if tls %}proxy_ssl_server_name on;{% endif %}\n",
        "        }\n",
    ));
    let run = p.run(&["validate"]);
    run.code(3)
        // Right after `{{ port }}` on plan line 10: where the `;` is missing.
        .stdout_has("plans/site.yml:10:51: step `site`: `nginx.ensure`: nginx syntax: missing \";\" at the end of \"proxy_pass\": \"proxy_http_version\" on the next line is a directive of its own")
        .stdout_has("plans/site.yml:14:76: step `other`: `nginx.ensure`: nginx syntax: unclosed \"{\" of \"location\"")
        .stdout_has("plans/site.yml:22:10: step `third`: `nginx.ensure`: nginx syntax: unexpected \"}\"")
        .stdout_has("plans/site.yml: 3 problems");
    assert!(!run.stdout.contains("`fine`"), "{}", run.stdout);
    // Before any connection: the inventory's hosts answer nobody, and -i changes nothing.
    p.run(&["validate", "-i", "production"])
        .code(3)
        .stdout_has("plans/site.yml:10:51:");
}

#[test]
fn a_typo_gets_did_you_mean_and_ansible_words_say_what_to_do_instead() {
    let p = project_with(concat!(
        "name: typo\n",
        "hosts: odoo\n",
        "steps:\n",
        "  - id: site\n",
        "    ngnix: {file: /etc/nginx/x.conf, context: server, ensure: \"return 204;\"}\n",
    ));
    p.file(
        "plans/ansible.yml",
        "name: habits\nhosts: odoo\nsteps:\n  - id: conf\n    ini: {file: /etc/odoo.conf, set: {proxy_mode: \"True\"}}\n    notify: restart odoo\n",
    );
    p.file(
        "plans/become.yml",
        "name: habits\nhosts: odoo\nbecome: true\nsteps:\n  - command: \"true\"\n",
    );
    let run = p.run(&["validate"]);
    run.code(3)
        .stdout_has("plans/site.yml:5:5: unknown field `ngnix` (did you mean `nginx`?), expected one of")
        .stdout_has("plans/ansible.yml:6:5: unknown field `notify`, expected one of")
        .stdout_has("hint: `notify` is an Ansible keyword; wsdeploy has no handlers: a `command` step with `if_changed: [STEP_ID]` runs when that step changed something")
        .stdout_has("plans/become.yml:3:1: unknown field `become`")
        .stdout_has("hint: `become` is an Ansible keyword; become is set per host in the inventory (`ansible_become: true`, `ansible_become_user`), not in the plan")
        .stdout_has("3 plans: 3 problems");
    // apply says the same before any connection.
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(3)
        .stderr_has("unknown field `ngnix` (did you mean `nginx`?)");
}

#[test]
fn every_mistake_of_a_plan_is_reported_in_one_run() {
    let p = project_with(concat!(
        "name: many\n",
        "hosts: odoo\n",
        "become: true\n",
        "steps:\n",
        "  - id: site\n",
        "    ngnix:\n",
        "      file: /etc/nginx/x.conf\n",
        "      context: server\n",
        "      ensure: |\n",
        "        location /x {\n",
        "            return 204\n",
        "            proxy_pass http://b;\n",
        "        }\n",
        "  - id: conf\n",
        "    ini: {file: /etc/odoo.conf, set: {proxy_mode: \"True\"}}\n",
        "    notify: restart odoo\n",
        "  - comand: \"systemctl restart odoo\"\n",
        "    if_changed: [conf]\n",
        "    register: out\n",
        "  - id: later\n",
        "    file: {path: /etc/app/token, content: \"{{ lookup('env', 'TOKEN') }}\"}\n",
    ));
    let run = p.run(&["validate"]);
    run.code(3)
        .stdout_has("plans/site.yml:3:1: unknown field `become`")
        .stdout_has("plans/site.yml:6:5: unknown field `ngnix` (did you mean `nginx`?)")
        // The step is checked further as the `nginx:` it was meant to be.
        .stdout_has("plans/site.yml:11:23: step `site`: `nginx.ensure`: nginx syntax: missing \";\" at the end of \"return\"")
        .stdout_has("plans/site.yml:16:5: unknown field `notify`")
        .stdout_has("plans/site.yml:17:5: unknown field `comand` (did you mean `command`?)")
        .stdout_has("plans/site.yml:19:5: unknown field `register`")
        .stdout_has("plans/site.yml:20:5: step `later`: `file.content`: unsupported function `lookup(...)`")
        .stdout_has("plans/site.yml: 7 problems");
    // The plan file itself is untouched.
    let text = std::fs::read_to_string(p.path().join("plans/site.yml")).expect("read");
    assert!(text.contains("    ngnix:\n") && text.contains("    notify: restart odoo\n"));
}

#[test]
fn a_hosts_pattern_that_matches_nothing_is_a_warning_with_a_guess() {
    let p = project_with("name: site\nimport:\n  - web.yml\n  - typo.yml\n");
    p.file(
        "plans/web.yml",
        "name: web\nhosts: odoo\nsteps:\n  - command: \"true\"\n",
    );
    p.file(
        "plans/typo.yml",
        "name: typo\nhosts: odo\nsteps:\n  - command: \"true\"\n",
    );
    let run = p.run(&["validate", "-i", "production"]);
    run.code(0)
        .stdout_has("plans/typo.yml:2:1: warning: `hosts: odo`: `odo` matches no host or group of the inventory; the play skips it (did you mean `odoo`?)")
        .stdout_has("3 plans: valid (variables checked against the inventory)");
    assert_eq!(run.stdout.matches("warning:").count(), 1, "{}", run.stdout);
    p.run(&["apply", "-i", "production", "--list-hosts"])
        .code(0)
        .stdout_has("odoo-1\nodoo-2\n")
        .stderr_has("warning: play `typo` (")
        .stderr_has("`hosts: odo`: `odo` matches no host or group of the inventory; the play skips it (did you mean `odoo`?)");
}

#[test]
fn wrong_types_are_said_in_plain_words() {
    let p = project_with(
        "name: j\nhosts: odoo\nsteps:\n  - command: \"true\"\n    timeout: abc\n    if_changed: conf\n",
    );
    let run = p.run(&["validate"]);
    run.code(3)
        .stdout_has("plans/site.yml:5:14: expected a whole number of 0 or more, such as 30");
    assert!(
        !run.stdout.contains("invalid u64") && !run.stdout.contains("sequence start"),
        "{}",
        run.stdout
    );
    p.file(
        "plans/site.yml",
        "name: j\nhosts: odoo\nsteps:\n  - command: \"true\"\n    if_changed: conf\n",
    );
    p.run(&["validate"])
        .code(3)
        .stdout_has("plans/site.yml:5:17: expected a list: `[a, b]`, or one `- item` per line");
}

#[test]
fn unknown_filters_are_found_without_an_inventory_and_said_once_with_one() {
    let p = project_with(
        "name: f\nhosts: odoo\nvars:\n  x: \"1\"\nsteps:\n  - command: \"echo {{ x | to_nice_yaml }} {{ 'a|b' | quote }}\"\n",
    );
    let message = "plans/site.yml:6:5: step `command-1`: `command`: unknown filter `to_nice_yaml`: wsdeploy templates have MiniJinja's filters and `quote`";
    p.run(&["validate"])
        .code(3)
        .stdout_has(message)
        .stdout_has("plans/site.yml: 1 problem");
    p.run(&["validate", "-i", "production"])
        .code(3)
        .stdout_has(message)
        .stdout_has("plans/site.yml: 1 problem");
}

#[test]
fn a_rendering_problem_whose_value_says_unknown_filter_is_still_reported() {
    // Only a filter wsdeploy lacks is left to the check above; a value that merely reads
    // like one is a problem of its own.
    let p = project_with(
        "name: x\nhosts: odoo\nvars:\n  conf: unknown filter.conf\nsteps:\n  - ini: {file: \"{{ conf }}\", set: {a: b}}\n",
    );
    p.run(&["validate", "-i", "production", "--limit", "odoo-1"])
        .code(3)
        .stdout_has("plans/site.yml:6:5: step `ini-1`: `ini.file` must be an absolute path without `..`, got `unknown filter.conf` (host odoo-1)");
}

#[test]
fn ansible_magic_variables_say_what_to_use_instead() {
    let p = project_with(
        "name: g\nhosts: odoo\nsteps:\n  - command: \"echo {{ groups['odoo'] | length }} {{ ansible_hostname }}\"\n",
    );
    let run = p.run(&["validate", "-i", "production"]);
    run.code(3)
        .stdout_has("plans/site.yml:4:5: step `command-1`: `command`: `groups` is one of Ansible's magic variables, which wsdeploy templates do not have: each host's plan is rendered with that host's own variables only")
        .stdout_has("`ansible_hostname` is one of Ansible's magic variables, which wsdeploy templates do not have: wsdeploy gathers no facts");
    assert!(
        !run.stdout.contains("pass -e groups=VALUE"),
        "{}",
        run.stdout
    );
}

#[test]
fn reuse_upstream_outside_a_server_context_is_a_problem() {
    let p = project_with(
        "name: x\nhosts: odoo\nsteps:\n  - nginx:\n      file: /etc/nginx/conf.d/a.conf\n      context: http\n      \
         reuse_upstream: true\n      ensure: \"upstream a { server 127.0.0.1:1; }\"\n",
    );
    p.run(&["validate"])
        .code(3)
        .stdout_has("`reuse_upstream` reuses an upstream of the chosen server block: use it with `context: server`");
}

#[test]
fn a_step_that_can_never_run_is_a_warning() {
    let p = project_with(concat!(
        "name: x\n",
        "hosts: odoo\n",
        "steps:\n",
        "  - id: site\n",
        "    when: \"1 == 2\"\n",
        "    line: {file: /etc/app.env, line: \"A=1\"}\n",
        "  - id: reload\n",
        "    command: systemctl reload app\n",
        "    if_changed: [site]\n",
        "  - id: off\n",
        "    when: \"false\"\n",
        "    command: echo never\n",
    ));
    let run = p.run(&["validate"]);
    run.code(0)
        .stdout_has("plans/site.yml:4:5: warning: step `site` never runs: `when: 1 == 2` is false on every host")
        .stdout_has("plans/site.yml:7:5: warning: step `reload` never runs: its `if_changed` names only steps that never run (site)")
        .stdout_has("plans/site.yml:10:5: warning: step `off` never runs: `when: false` is false on every host")
        .stdout_has("plans/site.yml: valid");
    // Naming a step that edits no file can never make a command run: an error.
    let p = project_with(
        "name: x\nhosts: odoo\nsteps:\n  - id: check\n    command: \"true\"\n  - command: systemctl reload app\n    if_changed: [check]\n",
    );
    p.run(&["validate"])
        .code(3)
        .stdout_has("plans/site.yml:6:5: `if_changed: check` must name a step that edits a file");
}

#[test]
fn with_an_inventory_a_command_whose_if_changed_steps_are_skipped_wherever_it_runs_is_a_warning() {
    let p = project_with(concat!(
        "name: x\n",
        "hosts: odoo\n",
        "steps:\n",
        "  - id: site\n",
        "    when: site_conf is defined and inventory_hostname == 'odoo-2'\n",
        "    line: {file: /etc/app.env, line: \"A=1\"}\n",
        "  - id: reload\n",
        "    when: site_conf is defined\n",
        "    command: systemctl reload app\n",
        "    if_changed: [site]\n",
    ));
    // Offline, `when:` depends on the host: nothing to say.
    let run = p.run(&["validate"]);
    run.code(0);
    assert!(!run.stdout.contains("never runs"), "{}", run.stdout);
    // odoo-1 runs `reload` but skips `site`; odoo-2 skips both.
    p.run(&["validate", "-i", "production"])
        .code(0)
        .stdout_has("plans/site.yml:7:5: warning: step `reload` never runs on this inventory: wherever it runs, `when:` skips every step its `if_changed` names (site)")
        .stdout_has("plans/site.yml: valid");
}
