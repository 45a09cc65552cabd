//! Inventories in the other forms Ansible reads: the INI format (sections, children, ranges,
//! inline variables read as Python literals), found by content whatever the file is called,
//! directories of inventory files, executable inventory scripts, `-i host1,host2,` lists and
//! several `-i` merged; `apply --list-hosts`; and errors that name file, line and column.
//! (Agreement with Ansible itself on its own fixtures: `inventory_ansible_compat.rs`.)

use crate::support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::json;
use support::project::Project;
use wsdeploy::inventory::{Inventory, LoadOptions, load_inventory_arg, load_inventory_args};

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn load(root: &Path, args: &[&str]) -> Result<Inventory, String> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    load_inventory_args(&args, root, &LoadOptions::default()).map_err(|e| e.to_string())
}

fn names(inventory: &Inventory) -> Vec<&str> {
    inventory.hosts().iter().map(|h| h.name()).collect()
}

const FLEET_INI: &str = "\
# production fleet
bastion.example.com ansible_user=jump

[web]
web[01:03].example.com http_port=8080 motd='hello world' tls=True workers=4
db-[a:b]:2222 ansible_user=deploy   # inline comment

[web:vars]
ntp_server = ntp.example.com
mode = 0644
opts = {'gzip': True, 'level': 6}

[odoo]
odoo-1 ansible_host=203.0.113.10 ansible_become=yes

[prod:children]
web
odoo

[prod:vars]
env=production
http_port=80
";

#[test]
fn ini_sections_ranges_children_and_typed_values() {
    let dir = tempfile::tempdir().expect("temp");
    write(dir.path(), "inventories/production/hosts", FLEET_INI);
    let inv = load_inventory_arg("production", dir.path()).expect("loads");
    assert_eq!(
        names(&inv),
        [
            "bastion.example.com",
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db-a",
            "db-b",
            "odoo-1"
        ]
    );
    let bastion = inv.host("bastion.example.com").expect("bastion");
    assert_eq!(bastion.groups(), ["all", "ungrouped"]);
    let web = inv.host("web02.example.com").expect("web02");
    assert_eq!(web.groups(), ["all", "prod", "web"]);
    let vars = web.vars();
    // Inline values are Python literals; the child group's vars win over the parent's.
    assert_eq!(vars["http_port"], json!(8080));
    assert_eq!(vars["motd"], json!("hello world"));
    assert_eq!(vars["tls"], json!(true));
    assert_eq!(vars["workers"], json!(4));
    assert_eq!(vars["ntp_server"], json!("ntp.example.com"));
    assert_eq!(
        vars["mode"],
        json!("0644"),
        "not a Python literal: stays text"
    );
    assert_eq!(vars["opts"], json!({"gzip": true, "level": 6}));
    assert_eq!(vars["env"], json!("production"));
    let db = inv.host("db-b").expect("db-b");
    assert_eq!(db.vars()["ansible_port"], json!(2222));
    assert_eq!(db.vars()["http_port"], json!(80), "from [prod:vars]");
    let connection = db.connection().expect("connection");
    assert_eq!(
        (connection.port, connection.user.as_deref()),
        (2222, Some("deploy"))
    );
    let odoo = inv
        .host("odoo-1")
        .expect("odoo-1")
        .connection()
        .expect("connection");
    assert!(odoo.become_, "ansible_become=yes");
    assert_eq!(odoo.host, "203.0.113.10");
    assert_eq!(inv.group("prod").expect("prod").children(), ["web", "odoo"]);
}

#[test]
fn children_and_vars_may_name_groups_declared_later() {
    let dir = tempfile::tempdir().expect("temp");
    write(
        dir.path(),
        "hosts.ini",
        "[top:children]\nmiddle\n[middle:children]\nleaf\n[leaf:vars]\nx=1\n[leaf]\nh1\n",
    );
    let inv = load(dir.path(), &["hosts.ini"]).expect("loads");
    assert_eq!(
        inv.host("h1").expect("h1").groups(),
        ["all", "top", "middle", "leaf"]
    );
    assert_eq!(inv.host("h1").expect("h1").vars()["x"], json!(1));
}

#[test]
fn ini_errors_name_file_line_and_column() {
    let cases = [
        (
            "[web]\nh1\n[web:servers]\n",
            ":3:1: section [web:servers] has unknown type `servers`",
        ),
        (
            "[web server]\nh1\n",
            ":1:1: invalid section `[web server]`: a section is [group], [group:vars] or [group:children], with no spaces in the name",
        ),
        (
            "[web]\nh1 ansible_port 22\n",
            ":2:4: expected `key=value` after the host name, got `ansible_port`",
        ),
        (
            "[web]\nh1 x='open\n",
            ":2:6: cannot read the host line `h1 x='open`: a quote is not closed",
        ),
        (
            "[web]\n  h1:\n",
            ":2:3: `h1:`: a host name cannot end in `:`",
        ),
        (
            "[web]\nh[3:1]\n",
            ":2:1: `h[3:1]`: the range start is after its end",
        ),
        (
            "[web:vars]\nx=1\n",
            ":1:1: section [web:vars] is for group `web`, which is not declared",
        ),
        (
            "[all:children]\nmissing\n",
            ":2:1: section [all:children] names group `missing`, which is not declared",
        ),
        (
            "[web:vars]\n[web]\nh1\n[web:vars]\nnokey\n",
            ":5:1: expected `key=value` in [web:vars], got `nokey`",
        ),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().expect("temp");
        write(dir.path(), "hosts", text);
        let error = load(dir.path(), &["hosts"]).expect_err(text);
        let file = dir.path().join("hosts").display().to_string();
        assert!(
            error.starts_with(&format!("{file}{expected}")),
            "for {text:?}\n got: {error}\nwant: {file}{expected}"
        );
    }
    // The offending line is shown with a caret under the column.
    let dir = tempfile::tempdir().expect("temp");
    write(dir.path(), "hosts", "[web]\nh1 ansible_port 22\n");
    let error = load(dir.path(), &["hosts"]).expect_err("bad");
    assert!(
        error.ends_with(" 2 | h1 ansible_port 22\n   |    ^"),
        "{error}"
    );
}

#[test]
fn the_format_is_found_by_content() {
    let dir = tempfile::tempdir().expect("temp");
    // A YAML inventory without an extension, an INI one named .yml-less, a broken YAML one.
    write(
        dir.path(),
        "yaml-inventory",
        "all:\n  hosts:\n    y1:\n      a: 1\n",
    );
    write(dir.path(), "ini-inventory", "i1 a=1\n");
    write(dir.path(), "broken", "all:\n  hosts:\n    y1: [\n");
    assert_eq!(
        names(&load(dir.path(), &["yaml-inventory"]).expect("yaml")),
        ["y1"]
    );
    assert_eq!(
        names(&load(dir.path(), &["ini-inventory"]).expect("ini")),
        ["i1"]
    );
    write(
        dir.path(),
        "aws.yml",
        "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n",
    );
    let error = load(dir.path(), &["aws.yml"]).expect_err("plugin config");
    assert!(
        error.contains("aws.yml:1:1: this is the configuration of Ansible's `amazon.aws.aws_ec2` inventory plugin, which wsdeploy does not provide"),
        "{error}"
    );
    let error = load(dir.path(), &["broken"]).expect_err("broken YAML");
    assert!(
        error.contains("broken:3:9: unclosed bracket"),
        "the YAML error is shown: {error}"
    );
}

#[test]
fn a_directory_reads_every_inventory_file_and_its_vars() {
    let dir = tempfile::tempdir().expect("temp");
    write(dir.path(), "inv/01-web.ini", "[web]\nw1\n");
    write(
        dir.path(),
        "inv/02-odoo.yml",
        "all:\n  children:\n    odoo:\n      hosts:\n        o1:\n",
    );
    write(dir.path(), "inv/README.md", "# not an inventory\n");
    write(dir.path(), "inv/.hidden", "garbage [\n");
    write(dir.path(), "inv/group_vars/web.yml", "role: web\n");
    write(dir.path(), "inv/host_vars/o1/main.yml", "role: odoo\n");
    let inv = load(dir.path(), &["inv"]).expect("loads");
    assert_eq!(names(&inv), ["w1", "o1"]);
    assert_eq!(inv.host("w1").expect("w1").vars()["role"], json!("web"));
    assert_eq!(inv.host("o1").expect("o1").vars()["role"], json!("odoo"));
}

#[test]
fn executable_scripts_with_and_without_meta() {
    let dir = tempfile::tempdir().expect("temp");
    let script = dir.path().join("inventory.sh");
    write(
        dir.path(),
        "inventory.sh",
        r#"#!/bin/sh
case "$1" in
--list) cat <<'EOF'
{"web": {"hosts": ["w1", "w2"], "vars": {"http_port": 80}, "children": ["canary"]},
 "canary": ["w3"],
 "_meta": {"hostvars": {"w1": {"ansible_host": "192.0.2.1"}}}}
EOF
;;
*) exit 1 ;;
esac
"#,
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let inv = load(dir.path(), &["inventory.sh"]).expect("loads");
    assert_eq!(names(&inv), ["w1", "w2", "w3"]);
    assert_eq!(
        inv.host("w1").expect("w1").vars()["ansible_host"],
        json!("192.0.2.1")
    );
    assert_eq!(inv.host("w3").expect("w3").vars()["http_port"], json!(80));

    // Without `_meta`, each host's variables come from `--host NAME`.
    write(
        dir.path(),
        "inventory.sh",
        "#!/bin/sh\nif [ \"$1\" = --list ]; then echo '{\"web\": [\"w1\"]}'; else echo \"{\\\"asked\\\": \\\"$2\\\"}\"; fi\n",
    );
    let inv = load(dir.path(), &["inventory.sh"]).expect("loads");
    assert_eq!(inv.host("w1").expect("w1").vars()["asked"], json!("w1"));

    // An executable file without `#!` is an inventory file, not a script (as in Ansible).
    write(dir.path(), "inventory.sh", "[web]\nplain1\n");
    assert_eq!(
        names(&load(dir.path(), &["inventory.sh"]).expect("INI")),
        ["plain1"]
    );

    // A failing script: its stderr is shown.
    write(
        dir.path(),
        "inventory.sh",
        "#!/bin/sh\necho 'cloud API down' >&2\nexit 2\n",
    );
    let error = load(dir.path(), &["inventory.sh"]).expect_err("fails");
    assert!(
        error.contains("inventory.sh: `--list` failed (exit status: 2): cloud API down"),
        "{error}"
    );
}

#[test]
fn host_lists_and_several_sources_merge_in_order() {
    let dir = tempfile::tempdir().expect("temp");
    write(dir.path(), "a.ini", "[web]\nw1 color=red size=1\n");
    write(
        dir.path(),
        "b.yml",
        "all:\n  children:\n    web:\n      hosts:\n        w1:\n          color: blue\n        w2:\n",
    );
    let inv = load(dir.path(), &["a.ini", "b.yml", "extra:2200,w1,"]).expect("loads");
    assert_eq!(names(&inv), ["w1", "w2", "extra"]);
    let w1 = inv.host("w1").expect("w1");
    assert_eq!(w1.vars()["color"], json!("blue"), "the later source wins");
    assert_eq!(w1.vars()["size"], json!(1));
    assert_eq!(
        inv.host("extra").expect("extra").groups(),
        ["all", "ungrouped"]
    );
    assert_eq!(
        inv.host("extra").expect("extra").vars()["ansible_port"],
        json!(2200)
    );
}

#[test]
fn list_hosts_prints_the_targets_and_connects_to_nothing() {
    let p = Project::new();
    p.file("inventories/production/hosts", FLEET_INI);
    // Unreachable addresses: a connection attempt would fail or hang.
    p.file(
        "plans/site.yml",
        "name: p\nhosts: web\nsteps:\n  - command: \"true\"\n",
    );
    let run = p.run(&[
        "apply",
        "-i",
        "production",
        "--list-hosts",
        "--limit",
        "!db-a",
    ]);
    run.code(0);
    assert_eq!(
        run.stdout,
        "web01.example.com\nweb02.example.com\nweb03.example.com\ndb-b\n"
    );
    let run = p.run(&[
        "apply",
        "-i",
        "production",
        "-i",
        "extra1,",
        "--list-hosts",
        "--limit",
        "odoo-1:extra1",
    ]);
    run.code(0);
    assert_eq!(run.stdout, "", "the play targets web only");
    p.run(&[
        "apply",
        "-i",
        "production",
        "--list-hosts",
        "--limit",
        "nothere",
    ])
    .code(3)
    .stderr_has("no hosts matched --limit 'nothere'");
}

#[test]
fn inventory_list_prints_ansible_inventory_json() {
    let p = Project::new();
    p.file("inventories/production/hosts", FLEET_INI);
    let run = p.run(&["inventory", "--list", "-i", "production"]);
    run.code(0);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(listed["all"]["children"], json!(["ungrouped", "prod"]));
    assert_eq!(listed["prod"]["children"], json!(["web", "odoo"]));
    assert_eq!(listed["ungrouped"]["hosts"], json!(["bastion.example.com"]));
    assert_eq!(
        listed["_meta"]["hostvars"]["db-a"]["ansible_port"],
        json!(2222)
    );
}
