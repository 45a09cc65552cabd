//! Bad input, case by case: malformed or mistyped plans, inventories and `-e` values are
//! refused before any connection (exit 3, file:line:column named); bad files on a host
//! (empty, binary, 50 MB, nginx configs nginx itself rejects, an odoo.conf without
//! `[options]`, invalid JSON) fail that host before anything is written (exit 1, host and
//! step named). In every case not one byte changes: sha256 and mode of every file of the
//! "host" are compared before and after, and no journal entry or temporary file appears.
//!
//! The host is a set of temporary copies of real configurations reached through
//! `ansible_connection: local`: a real shell, a real `nginx -T -c`.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use support::project::Run;
use support::reliability::{LocalHost, tree_diff};

/// Runs `apply` (for real, not a dry run) and checks that nothing changed anywhere
/// (the host's journal included: its own, or this machine's held meanwhile).
fn apply_changes_nothing(host: &LocalHost, args: &[&str]) -> Run {
    let _guard = host.guard();
    let before = host.sums();
    let runs_before = host.runs();
    let run = host.run("apply", args);
    eprintln!("--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr);
    let after = host.sums();
    assert!(
        before == after,
        "files changed: {:#?}\n--- stdout\n{}\n--- stderr\n{}",
        tree_diff(&before, &after),
        run.stdout,
        run.stderr
    );
    assert_eq!(host.runs(), runs_before, "a journal entry was created");
    assert!(host.temp_leftovers().is_empty());
    run
}

/// Exit 3 before any host is contacted, with every `needles` in stderr.
fn refused_as_bad_input(host: &LocalHost, args: &[&str], needles: &[&str]) {
    let run = apply_changes_nothing(host, args);
    run.code(3).stderr_has("nothing was changed on any host.");
    for n in needles {
        run.stderr_has(n);
    }
    assert!(
        run.stdout.trim().is_empty(),
        "bad input must not reach the hosts:\n{}",
        run.stdout
    );
}

/// Exit 1, the host reported untouched, with every `needles` in stdout.
fn host_fails_untouched(host: &LocalHost, needles: &[&str]) {
    let run = apply_changes_nothing(host, &[]);
    run.code(1)
        .stdout_has("── local-1 (FAILED (untouched))")
        .stdout_has("1 failed");
    for n in needles {
        run.stdout_has(n);
    }
}

fn host_with_plan(plan: &str) -> LocalHost {
    let host = LocalHost::new("root");
    host.plan(plan);
    host
}

const INI_PLAN: &str = "name: ini\nhosts: odoo\nsteps:\n  - id: odoo_conf\n    ini:\n      file: \"{{ odoo_conf }}\"\n      set: {proxy_mode: \"True\"}\n";

// ---------------------------------------------------------------- plans (exit 3)

#[test]
fn plan_malformed_yaml_unclosed_quote() {
    let host = host_with_plan(
        "name: x\nhosts: odoo\nsteps:\n  - command: \"nginx -t\n  - command: true\n",
    );
    refused_as_bad_input(&host, &[], &["plans/site.yml:"]);
}

#[test]
fn plan_malformed_yaml_bad_indentation() {
    let host = host_with_plan("name: x\nhosts: odoo\nsteps:\n  - id: a\n     command: true\n");
    refused_as_bad_input(&host, &[], &["plans/site.yml:5:"]);
}

#[test]
fn plan_wrong_type_timeout() {
    let host =
        host_with_plan("name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n    timeout: ten\n");
    refused_as_bad_input(&host, &[], &["plans/site.yml:5:"]);
}

#[test]
fn plan_wrong_type_steps_is_a_string() {
    let host = host_with_plan("name: x\nhosts: odoo\nsteps: \"nginx -t\"\n");
    refused_as_bad_input(&host, &[], &["plans/site.yml:3:"]);
}

#[test]
fn plan_wrong_type_ini_set_is_a_list() {
    let host = host_with_plan(
        "name: x\nhosts: odoo\nsteps:\n  - ini:\n      file: /etc/x.conf\n      set: [proxy_mode]\n",
    );
    refused_as_bad_input(&host, &[], &["plans/site.yml:6:"]);
}

#[test]
fn plan_unknown_nested_key() {
    let host = host_with_plan(
        "name: x\nhosts: odoo\nsteps:\n  - ini:\n      file: /etc/x.conf\n      sett: {a: b}\n",
    );
    refused_as_bad_input(&host, &[], &["plans/site.yml:6:7: unknown field `sett`"]);
}

#[test]
fn plan_undefined_variable_inside_an_nginx_snippet() {
    let host = host_with_plan(
        "name: x\nhosts: odoo\nsteps:\n  - id: up\n    nginx:\n      file: \"{{ site_conf }}\"\n      context: http\n      ensure: \"upstream u { server {{ upstream_host }}:8072; }\"\n",
    );
    refused_as_bad_input(
        &host,
        &[],
        &[
            "plans/site.yml:4:5",
            "step `up` for host local-1",
            "undefined variable `upstream_host`",
        ],
    );
}

#[test]
fn plan_empty_file() {
    let host = host_with_plan("");
    refused_as_bad_input(&host, &[], &["plans/site.yml"]);
}

#[test]
fn plan_binary_file() {
    let host = host_with_plan("");
    std::fs::write(
        host.project.path().join("plans/site.yml"),
        [
            0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0xff, 0xfe, 0x00, 0x9c, b'\n',
        ],
    )
    .expect("write");
    refused_as_bad_input(&host, &[], &["plans/site.yml"]);
}

#[test]
fn plan_import_of_a_missing_file() {
    let host = host_with_plan("name: site\nimport:\n  - nothere.yml\n");
    refused_as_bad_input(&host, &[], &["plans/site.yml:3:", "nothere.yml"]);
}

// ---------------------------------------------------------------- inventories (exit 3)

fn write_inventory(host: &LocalHost, text: &str) {
    host.project.file("inventories/production/hosts.yml", text);
}

#[test]
fn inventory_malformed_yaml() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    write_inventory(
        &host,
        "all:\n  hosts:\n    local-1: {ansible_connection: local\n",
    );
    refused_as_bad_input(
        &host,
        &[],
        &["inventories/production/hosts.yml:3:14: unclosed bracket"],
    );
}

#[test]
fn inventory_wrong_type_hosts_is_a_list() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    write_inventory(&host, "all:\n  hosts:\n    - local-1\n");
    refused_as_bad_input(
        &host,
        &[],
        &["inventories/production/hosts.yml:2:3: `hosts` must be a mapping"],
    );
}

#[test]
fn inventory_wrong_type_port_is_text() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    let inventory = serde_json::json!({"all": {"children": {"odoo": {
        "hosts": {"web-1": {"ansible_host": "192.0.2.1", "ansible_port": "twenty-two"}},
        "vars": serde_json::Value::Object(host.vars.clone()),
    }}}});
    write_inventory(&host, &inventory.to_string());
    refused_as_bad_input(&host, &[], &["ansible_port", "web-1"]);
}

#[test]
fn inventory_unknown_group_key() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    write_inventory(
        &host,
        "all:\n  childs:\n    odoo:\n      hosts:\n        local-1: {ansible_connection: local}\n",
    );
    refused_as_bad_input(
        &host,
        &[],
        &["inventories/production/hosts.yml:2:3: unknown key `childs`"],
    );
}

#[test]
fn inventory_empty_file() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    write_inventory(&host, "");
    refused_as_bad_input(&host, &[], &["inventories/production/hosts.yml"]);
}

#[test]
fn inventory_binary_file() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    std::fs::write(
        host.project.path().join("inventories/production/hosts.yml"),
        [0u8, 159, 146, 150, 0xff, b'\n', 0],
    )
    .expect("write");
    refused_as_bad_input(&host, &[], &["inventories/production/hosts.yml"]);
}

#[test]
fn group_vars_malformed_yaml() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    host.project.file(
        "inventories/production/group_vars/odoo.yml",
        "public_host: [203.0.113.10\nlongpolling_port: 8072\n",
    );
    refused_as_bad_input(&host, &[], &["group_vars/odoo.yml"]);
}

// ---------------------------------------------------------------- -e (exit 3)

#[test]
fn extra_vars_malformed_json() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    refused_as_bad_input(&host, &["-e", "{\"public_host\": "], &["invalid -e"]);
}

#[test]
fn extra_vars_missing_file() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    refused_as_bad_input(
        &host,
        &["-e", "@/nonexistent/wsdeploy-vars.yml"],
        &["/nonexistent/wsdeploy-vars.yml"],
    );
}

#[test]
fn extra_vars_file_with_malformed_yaml() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    let vars = host.project.path().join("vars.yml");
    std::fs::write(&vars, "public_host: \"unclosed\nx: 1\n").expect("write");
    let arg = format!("@{}", vars.display());
    refused_as_bad_input(&host, &["-e", &arg], &["vars.yml"]);
}

#[test]
fn extra_vars_wrong_type_for_a_path() {
    let host = LocalHost::new("root");
    host.plan(INI_PLAN);
    refused_as_bad_input(
        &host,
        &["-e", "{\"odoo_conf\": 5}"],
        &["`ini.file` must be an absolute path", "local-1"],
    );
}

#[test]
fn extra_vars_path_with_dot_dot_is_refused() {
    let host = LocalHost::new("root");
    host.plan(INI_PLAN);
    refused_as_bad_input(
        &host,
        &["-e", "odoo_conf=/etc/opticserp/../shadow"],
        &["`ini.file` must be an absolute path without `..`"],
    );
}

// ---------------------------------------------------------------- files on the host (exit 1)

#[test]
fn empty_odoo_conf() {
    let host = host_with_plan(INI_PLAN);
    std::fs::write(&host.odoo_conf, "").expect("write");
    host_fails_untouched(
        &host,
        &[
            "error in step `odoo_conf`",
            &host.odoo_conf.display().to_string(),
            "no [options] section",
        ],
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn empty_site_file() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    std::fs::write(&host.site_conf, "").expect("write");
    host_fails_untouched(
        &host,
        &[
            "error in step `location`",
            &host.site_conf.display().to_string(),
        ],
    );
}

#[test]
fn empty_nginx_conf_is_refused_by_nginx_itself() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    std::fs::write(&host.nginx_conf, "").expect("write");
    host_fails_untouched(&host, &["fails before any change", "nginx says"]);
}

#[test]
fn binary_odoo_conf() {
    let host = host_with_plan(INI_PLAN);
    let mut bytes = std::fs::read(&host.odoo_conf).expect("read");
    bytes.extend_from_slice(&[0, 0xff, 0xfe, 0x80, b'\n']);
    std::fs::write(&host.odoo_conf, bytes).expect("write");
    host_fails_untouched(
        &host,
        &[
            &host.odoo_conf.display().to_string(),
            "is not UTF-8 text (binary file?)",
        ],
    );
}

#[test]
fn fifty_megabyte_odoo_conf_is_refused() {
    let host = host_with_plan(INI_PLAN);
    let mut text = std::fs::read_to_string(&host.odoo_conf).expect("read");
    let line = "; padding comment line that makes this file fifty megabytes long.......\n";
    text.reserve(50 * 1024 * 1024);
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(line);
    }
    std::fs::write(&host.odoo_conf, text).expect("write");
    host_fails_untouched(
        &host,
        &[
            &host.odoo_conf.display().to_string(),
            "is larger than 8 MiB: refusing to edit it",
        ],
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn nginx_conf_without_http() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    std::fs::write(
        &host.nginx_conf,
        "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\n\nevents {\n\tworker_connections 768;\n}\n",
    )
    .expect("write");
    host_fails_untouched(
        &host,
        &[
            "error in step `map`",
            &host.nginx_conf.display().to_string(),
            "http",
        ],
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn nginx_conf_with_unbalanced_braces_is_refused_by_nginx_itself() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    let text = std::fs::read_to_string(&host.nginx_conf).expect("read");
    let broken = text.replacen("events {", "events {\n\tmulti_accept on; {", 1);
    std::fs::write(&host.nginx_conf, broken).expect("write");
    host_fails_untouched(
        &host,
        &[
            "fails before any change",
            "nginx says",
            "[emerg]",
            "unexpected \"{\"",
        ],
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn site_file_with_unbalanced_braces_names_line_and_column() {
    // nginx does not load this file (no sites-enabled link): wsdeploy's own parser must
    // refuse it, naming the place.
    let host = LocalHost::new("root");
    host.odoo_plan();
    std::fs::remove_file(&host.site_enabled).expect("unlink");
    std::fs::write(
        &host.site_conf,
        "server {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n}\n",
    )
    .expect("write");
    host_fails_untouched(&host, &[&format!("{}:", host.site_conf.display())]);
}

#[cfg(feature = "host-tests")]
#[test]
fn map_outside_http_is_refused_by_nginx_before_any_change() {
    let host = LocalHost::new("root");
    host.odoo_plan();
    let text = std::fs::read_to_string(&host.nginx_conf).expect("read");
    std::fs::write(
        &host.nginx_conf,
        format!("map $http_upgrade $connection_upgrade {{\n\tdefault upgrade;\n\t''      close;\n}}\n{text}"),
    )
    .expect("write");
    host_fails_untouched(
        &host,
        &[
            "pre-flight: `nginx -T -c",
            "fails before any change",
            "nginx says",
            "\"map\" directive is not allowed here",
        ],
    );
}

#[test]
fn odoo_conf_without_options_section() {
    let host = host_with_plan(INI_PLAN);
    let text = std::fs::read_to_string(&host.odoo_conf).expect("read");
    std::fs::write(&host.odoo_conf, text.replace("[options]", "[server]")).expect("write");
    host_fails_untouched(
        &host,
        &[
            "error in step `odoo_conf`",
            &host.odoo_conf.display().to_string(),
            "no [options] section",
            "create_section: true",
        ],
    );
}

#[test]
fn odoo_conf_with_a_line_before_any_section() {
    let host = host_with_plan(INI_PLAN);
    let text = std::fs::read_to_string(&host.odoo_conf).expect("read");
    std::fs::write(&host.odoo_conf, format!("admin_passwd = x\n{text}")).expect("write");
    host_fails_untouched(
        &host,
        &[
            "error in step `odoo_conf`",
            &format!(
                "{}:1: `admin_passwd = x` comes before any [section] header",
                host.odoo_conf.display()
            ),
        ],
    );
}

#[test]
fn invalid_json_site_config() {
    let host = host_with_plan(
        "name: json\nhosts: odoo\nsteps:\n  - id: site_config\n    json:\n      file: \"{{ site_config }}\"\n      set: {socketio_port: 9000}\n",
    );
    let text = std::fs::read_to_string(&host.site_config).expect("read");
    // A trailing comma after the last member, as people leave them.
    let broken = text.trim_end().trim_end_matches('}').trim_end().to_owned() + ",\n}\n";
    std::fs::write(&host.site_config, broken).expect("write");
    host_fails_untouched(
        &host,
        &[
            "error in step `site_config`",
            &format!("{}:", host.site_config.display()),
            ": invalid JSON: trailing comma; fix the syntax first",
        ],
    );
}

#[test]
fn target_that_is_a_directory() {
    let host = host_with_plan(INI_PLAN);
    std::fs::remove_file(&host.odoo_conf).expect("rm");
    std::fs::create_dir(&host.odoo_conf).expect("mkdir");
    host_fails_untouched(
        &host,
        &[
            &host.odoo_conf.display().to_string(),
            "is not a regular file",
        ],
    );
}

#[test]
fn missing_target_file() {
    let host = host_with_plan(INI_PLAN);
    std::fs::remove_file(&host.odoo_conf).expect("rm");
    host_fails_untouched(
        &host,
        &[
            &host.odoo_conf.display().to_string(),
            "does not exist on the host",
        ],
    );
}
