//! `wsdeploy.toml` in the project directory holds defaults for flags; the command line
//! wins; unknown keys and wrong types are bad input naming file:line:col.

use crate::support;

use support::project::Project;

fn project() -> Project {
    let p = Project::with_own_state();
    p.file(
        "inventories/production/hosts.yml",
        "all:\n  children:\n    odoo:\n      hosts:\n        h1:\n          ansible_connection: local\n",
    );
    p.file(
        "plans/site.yml",
        "name: x\nhosts: odoo\nsteps:\n  - command: \"true\"\n",
    );
    p
}

#[test]
fn config_values_are_defaults_and_flags_win() {
    let p = project();
    p.file(
        "wsdeploy.toml",
        "# project defaults\ninventory = \"production\"\nforks = 9\nconnect_timeout = 4\nknown_hosts = \"ssh/known_hosts\"\naccept_new_host_keys = true\n",
    );
    let kh = p.path().join("ssh/known_hosts");
    p.run(&["schedule", "--every", "15m"]).code(0).stdout_has(&format!(
        " drift -i production --known-hosts {} --forks 9 --connect-timeout 4 --accept-new-host-keys\n",
        kh.display()
    ));
    p.run(&[
        "schedule",
        "--every",
        "15m",
        "--forks",
        "3",
        "--known-hosts",
        "/etc/ssh/ssh_known_hosts",
    ])
    .code(0)
    .stdout_has(
        " drift -i production --known-hosts /etc/ssh/ssh_known_hosts --forks 3 --connect-timeout 4 --accept-new-host-keys\n",
    );
    // The default inventory is used by every command.
    p.run(&["apply", "--check"]).code(0).stdout_has("1 in sync");
    p.run(&["validate"])
        .code(0)
        .stdout_has("valid (variables checked against the inventory)");
}

#[test]
fn unknown_keys_name_file_line_and_column() {
    let p = project();
    p.file("wsdeploy.toml", "forks = 5\nfork = 3\n");
    p.run(&["apply", "-i", "production", "--check"])
        .code(3)
        .stderr_has("wsdeploy.toml:2:1: unknown field `fork`, expected one of")
        .stderr_has("nothing was changed on any host.");
    p.file("wsdeploy.toml", "connect_timeout = \"soon\"\n");
    p.run(&["validate"])
        .code(3)
        .stderr_has("wsdeploy.toml:1:19: invalid type: string \"soon\", expected u64");
    p.file("wsdeploy.toml", "forks = [\n");
    p.run(&["drift", "-i", "production"])
        .code(3)
        .stderr_has("wsdeploy.toml:");
}
