//! Integration tests of the inventory: loading from disk, variable precedence, host patterns,
//! extra vars, connection settings, and the exact wording of errors.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wsdeploy::inventory::{
    BecomeMethod, Connection, ConnectionKind, Host, Inventory, InventoryError,
    connection_from_vars, load_inventory_arg, parse_extra_vars, parse_extra_vars_with,
    resolve_inventory_arg,
};

// ---------------------------------------------------------------- helpers

fn inventory(hosts_yml: &str) -> Inventory {
    Inventory::from_sources(hosts_yml, "hosts.yml", &[], &[])
        .unwrap_or_else(|error| panic!("inventory should load, got: {error}"))
}

fn error_of(hosts_yml: &str) -> String {
    match Inventory::from_sources(hosts_yml, "hosts.yml", &[], &[]) {
        Ok(_) => panic!("inventory should be rejected:\n{hosts_yml}"),
        Err(error) => error.to_string(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn file(owner: &str, yaml: &str, name: &str) -> (String, String, String) {
    (owner.to_owned(), yaml.to_owned(), name.to_owned())
}

fn names(hosts: &[&Host]) -> Vec<String> {
    hosts.iter().map(|host| host.name().to_owned()).collect()
}

fn all_host_names(inventory: &Inventory) -> Vec<&str> {
    inventory.hosts().iter().map(Host::name).collect()
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("relative path has a parent")).unwrap();
    fs::write(path, text).unwrap();
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

// ---------------------------------------------------------------- the seed's fleet

const SEED_FLEET: &str = "\
all:
  vars:
    ansible_python_interpreter: /usr/bin/python3
  children:
    odoo:
      hosts:
        odoo-prod-1:
          ansible_host: 203.0.113.10
          ansible_user: deploy
          ansible_become: true
        odoo-prod-2:
          ansible_host: 203.0.113.11
          ansible_user: deploy
          ansible_port: 2222
    nginx:
      hosts:
        odoo-prod-1:
        edge-1:
          ansible_host: 203.0.113.20
          ansible_user: ops
";

const SEED_ODOO_VARS: &str = "\
nginx_conf: /etc/nginx/nginx.conf
site_conf: /etc/nginx/sites-available/203.0.113.10.conf
odoo_conf: /etc/opticserp/odoo.conf
public_host: 203.0.113.10
longpolling_port: 8072
odoo_container: opticserp_odoo
odoo_restart_cmd: cd /opt/opticserp && docker compose restart odoo
mode: 0644
";

#[test]
fn seed_fleet_loads_from_a_project_directory() {
    let project = tempfile::tempdir().unwrap();
    write(
        project.path(),
        "inventories/production/hosts.yml",
        SEED_FLEET,
    );
    write(
        project.path(),
        "inventories/production/group_vars/odoo.yml",
        SEED_ODOO_VARS,
    );
    write(
        project.path(),
        "inventories/production/group_vars/all.yml",
        "ntp_server: ntp.example.com\n",
    );
    write(
        project.path(),
        "inventories/production/host_vars/edge-1.yml",
        "public_host: edge.example.com\n",
    );

    let inventory = load_inventory_arg("production", project.path()).unwrap();
    assert!(
        inventory.warnings().is_empty(),
        "{:?}",
        inventory.warnings()
    );
    assert_eq!(
        all_host_names(&inventory),
        ["odoo-prod-1", "odoo-prod-2", "edge-1"]
    );

    let prod1 = inventory.host("odoo-prod-1").unwrap();
    assert_eq!(prod1.groups(), ["all", "nginx", "odoo"]);
    assert_eq!(prod1.var("odoo_container"), Some(&json!("opticserp_odoo")));
    assert_eq!(prod1.var("longpolling_port"), Some(&json!(8072)));
    assert_eq!(
        prod1.var("mode"),
        Some(&json!("0644")),
        "octal-looking values stay strings"
    );
    assert_eq!(prod1.var("ntp_server"), Some(&json!("ntp.example.com")));
    assert_eq!(
        prod1.var("ansible_python_interpreter"),
        Some(&json!("/usr/bin/python3"))
    );
    assert_eq!(
        prod1.connection().unwrap(),
        Connection {
            host: "203.0.113.10".into(),
            port: 22,
            port_given: false,
            user: Some("deploy".into()),
            private_key_file: None,
            kind: ConnectionKind::Ssh,
            become_: true,
            become_user: Some("root".into()),
            become_method: BecomeMethod::Sudo,
            ssh_args: Vec::new(),
            password: None,
            become_password: None,
        }
    );
    let prod2 = inventory.host("odoo-prod-2").unwrap().connection().unwrap();
    assert_eq!(
        (prod2.port, prod2.become_, prod2.become_user),
        (2222, false, None)
    );

    let edge = inventory.host("edge-1").unwrap();
    assert_eq!(edge.groups(), ["all", "nginx"]);
    assert_eq!(edge.var("odoo_conf"), None, "edge-1 is not in odoo");
    assert_eq!(edge.var("public_host"), Some(&json!("edge.example.com")));

    assert_eq!(
        names(&inventory.select("odoo", None).unwrap()),
        ["odoo-prod-1", "odoo-prod-2"]
    );
    assert_eq!(
        names(&inventory.select("nginx", None).unwrap()),
        ["odoo-prod-1", "edge-1"]
    );
    assert_eq!(
        names(&inventory.select("odoo", Some("odoo-prod-2")).unwrap()),
        ["odoo-prod-2"]
    );
}

#[test]
fn shipped_production_inventory_matches_the_variable_contract() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory = load_inventory_arg("production", project).unwrap();
    assert!(
        inventory.warnings().is_empty(),
        "{:?}",
        inventory.warnings()
    );
    let hosts = inventory.select("odoo", None).unwrap();
    assert_eq!(names(&hosts), ["odoo-prod-1"]);
    let host = hosts[0];
    assert!(host.in_group("nginx"));
    let connection = host.connection().unwrap();
    assert_eq!(connection.host, "194.87.235.33");
    assert_eq!(connection.user.as_deref(), Some("deploy"));
    assert!(connection.become_);
    for (var, value) in [
        ("nginx_conf", json!("/etc/nginx/nginx.conf")),
        (
            "site_conf",
            json!("/etc/nginx/sites-available/194.87.235.33.conf"),
        ),
        ("odoo_conf", json!("/etc/opticserp/odoo.conf")),
        ("public_host", json!("194.87.235.33")),
        ("longpolling_port", json!(8072)),
        ("odoo_container", json!("opticserp_odoo")),
        (
            "odoo_restart_cmd",
            json!("cd /opt/opticserp && docker compose restart odoo"),
        ),
    ] {
        assert_eq!(host.var(var), Some(&value), "{var}");
    }
    assert_eq!(
        host.var("websocket_url"),
        None,
        "the plan computes websocket_url"
    );
}

// ---------------------------------------------------------------- structure

#[test]
fn top_level_groups_ungrouped_and_group_order() {
    let inventory = inventory(
        "\
all:
  hosts:
    lonely:
    shared:
  children:
    web:
      children:
        web_eu:
          hosts:
            shared:
db:
  hosts:
    db1:
",
    );
    assert_eq!(all_host_names(&inventory), ["lonely", "shared", "db1"]);
    assert_eq!(
        inventory.host("lonely").unwrap().groups(),
        ["all", "ungrouped"]
    );
    assert_eq!(
        inventory.host("shared").unwrap().groups(),
        ["all", "web", "web_eu"]
    );
    assert_eq!(inventory.host("db1").unwrap().groups(), ["all", "db"]);
    assert_eq!(inventory.group("db").unwrap().parents(), ["all"]);
    assert_eq!(inventory.group("web_eu").unwrap().depth(), 2);
    assert_eq!(
        names(&inventory.select("ungrouped", None).unwrap()),
        ["lonely"]
    );
}

#[test]
fn host_ranges_and_ports_in_names() {
    let inventory = inventory(
        "\
web:
  hosts:
    web[01:03].example.com:
    db.example.com:2200:
",
    );
    assert_eq!(
        all_host_names(&inventory),
        [
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db.example.com"
        ]
    );
    assert_eq!(
        inventory
            .host("db.example.com")
            .unwrap()
            .connection()
            .unwrap()
            .port,
        2200
    );
}

#[test]
fn yaml_scalars_follow_ansible_habits() {
    let inventory = inventory(
        "\
all:
  hosts:
    h:
      mode: 0644
      quoted_mode: \"0755\"
      enabled: yes
      letter: y
      port: 8080
      ratio: 0.5
      nothing: ~
      list: [a, 1]
      nested: {a: {b: off}}
",
    );
    let vars = Value::Object(inventory.host("h").unwrap().vars().clone());
    assert_eq!(
        vars,
        json!({
            "mode": "0644", "quoted_mode": "0755", "enabled": true, "letter": "y", "port": 8080,
            "ratio": 0.5, "nothing": null, "list": ["a", 1], "nested": {"a": {"b": false}}
        })
    );
}

// ---------------------------------------------------------------- precedence

/// Level `i` sets `p<j>` for every `j >= i`, so `p<j>` must end up with level `j`'s value:
/// each level beats every level below it.
#[test]
fn precedence_table_covers_each_level() {
    const LEVELS: [&str; 7] = [
        "all_inventory",
        "group_inventory",
        "all_group_vars_file",
        "group_vars_file",
        "host_inventory",
        "host_vars_file",
        "extra_vars",
    ];
    let vars_for = |level: usize| -> String {
        let mut text = String::new();
        for target in level..LEVELS.len() {
            text.push('p');
            text.push_str(&target.to_string());
            text.push_str(": ");
            text.push_str(LEVELS[level]);
            text.push('\n');
        }
        text
    };
    let indent = |text: &str, by: usize| -> String {
        let mut indented = String::new();
        for line in text.lines() {
            indented.push_str(&" ".repeat(by));
            indented.push_str(line);
            indented.push('\n');
        }
        indented
    };
    let hosts_yml = format!(
        "all:\n  vars:\n{}  children:\n    web:\n      vars:\n{}      hosts:\n        h1:\n{}",
        indent(&vars_for(0), 4),
        indent(&vars_for(1), 8),
        indent(&vars_for(4), 10),
    );
    let group_vars = [
        file("web", &vars_for(3), "group_vars/web.yml"),
        file("all", &vars_for(2), "group_vars/all.yml"),
    ];
    let host_vars = [file("h1", &vars_for(5), "host_vars/h1.yml")];
    let inventory =
        Inventory::from_sources(&hosts_yml, "hosts.yml", &group_vars, &host_vars).unwrap();
    let extra = parse_extra_vars(
        &[vars_for(6).replace(": ", "=").replace('\n', " ")],
        Path::new("."),
    )
    .unwrap();

    let host = inventory.host("h1").unwrap();
    let merged = host.vars_with_extra(&extra);
    for (index, level) in LEVELS.iter().enumerate() {
        let var = format!("p{index}");
        if index < 6 {
            assert_eq!(
                host.var(&var),
                Some(&json!(level)),
                "{var} without extra vars"
            );
        }
        assert_eq!(merged.get(&var), Some(&json!(level)), "{var}");
    }
}

#[test]
fn deeper_groups_then_priority_then_name_win() {
    let hosts_yml = "\
all:
  children:
    parent:
      vars: {by_depth: parent}
      children:
        child:
          vars: {by_depth: child}
          hosts: {h1: }
    alpha:
      vars: {by_name: alpha, by_priority: alpha, ansible_group_priority: 5}
      hosts: {h1: }
    beta:
      vars: {by_name: beta, by_priority: beta}
      hosts: {h1: }
";
    let inventory = inventory(hosts_yml);
    let host = inventory.host("h1").unwrap();
    assert_eq!(host.var("by_depth"), Some(&json!("child")));
    assert_eq!(
        host.var("by_name"),
        Some(&json!("alpha")),
        "alpha has the higher priority"
    );
    assert_eq!(host.var("by_priority"), Some(&json!("alpha")));
    assert_eq!(
        host.var("ansible_group_priority"),
        None,
        "it orders groups, it is not a variable"
    );
    assert_eq!(host.groups(), ["all", "beta", "parent", "alpha", "child"]);

    let same_priority = inventory_without_priority(hosts_yml);
    assert_eq!(
        same_priority.host("h1").unwrap().var("by_name"),
        Some(&json!("beta"))
    );
}

fn inventory_without_priority(hosts_yml: &str) -> Inventory {
    inventory(&hosts_yml.replace(", ansible_group_priority: 5", ""))
}

#[test]
fn group_vars_files_beat_every_inventory_group_var_and_merge_replaces() {
    let inventory = Inventory::from_sources(
        "\
all:
  vars: {opts: {a: 1, b: 2}, level: all_inventory}
  children:
    web:
      vars: {level: web_inventory}
      hosts: {h1: {}}
",
        "hosts.yml",
        &[file(
            "all",
            "level: all_file\nopts: {c: 3}\n",
            "group_vars/all.yml",
        )],
        &[],
    )
    .unwrap();
    let host = inventory.host("h1").unwrap();
    assert_eq!(
        host.var("level"),
        Some(&json!("all_file")),
        "Ansible: groups_inventory < all_plugins_inventory"
    );
    assert_eq!(
        host.var("opts"),
        Some(&json!({"c": 3})),
        "replace, not deep merge"
    );
}

#[test]
fn host_vars_in_several_groups_later_declaration_wins() {
    let inventory =
        inventory("web:\n  hosts:\n    h1: {x: 1, y: 1}\ndb:\n  hosts:\n    h1: {x: 2}\n");
    let host = inventory.host("h1").unwrap();
    assert_eq!(
        (host.var("x"), host.var("y")),
        (Some(&json!(2)), Some(&json!(1)))
    );
}

#[test]
fn group_vars_directory_files_merge_in_name_order_and_strays_warn() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    write(root, "hosts.yml", "web:\n  hosts:\n    h1:\n");
    write(root, "group_vars/web/20-late.yml", "x: late\n");
    write(root, "group_vars/web/10-early.yaml", "x: early\ny: early\n");
    write(root, "group_vars/web/README.md", "x: ignored\n");
    write(root, "group_vars/web/.hidden.yml", "x: ignored\n");
    write(root, "group_vars/web.yml", "x: shadowed\n");
    write(root, "group_vars/wbe.yml", "x: typo\n");
    write(root, "host_vars/h1", "z: no extension\n");

    let inventory = Inventory::load(&root.join("hosts.yml")).unwrap();
    let host = inventory.host("h1").unwrap();
    assert_eq!(host.var("x"), Some(&json!("late")));
    assert_eq!(host.var("y"), Some(&json!("early")));
    assert_eq!(host.var("z"), Some(&json!("no extension")));
    let warnings = inventory.warnings().join("\n");
    assert!(
        warnings.contains("group_vars/web.yml is ignored"),
        "{warnings}"
    );
    assert!(
        warnings.contains("group_vars/wbe.yml is ignored: the inventory has no group of that name"),
        "{warnings}"
    );
}

// ---------------------------------------------------------------- patterns

const FLEET: &str = "\
all:
  hosts:
    bastion:
  children:
    web:
      hosts:
        web1:
        web2:
        web3:
    db:
      hosts:
        db1:
        web3:
    prod:
      children:
        web:
      hosts:
        db1:
";

#[test]
fn patterns_follow_ansible_semantics() {
    let inventory = inventory(FLEET);
    let cases: &[(&str, &[&str])] = &[
        ("all", &["bastion", "web1", "web2", "web3", "db1"]),
        ("*", &["bastion", "web1", "web2", "web3", "db1"]),
        ("web1", &["web1"]),
        ("db", &["web3", "db1"]),
        ("db:web", &["web1", "web2", "web3", "db1"]),
        ("db,web1", &["web1", "web3", "db1"]),
        ("web:&db", &["web3"]),
        ("web:!db", &["web1", "web2"]),
        ("prod:!web2:&web", &["web1", "web3"]),
        ("!web", &["bastion", "db1"]),
        ("web*", &["web1", "web2", "web3"]),
        ("we?2", &["web2"]),
        ("d*", &["web3", "db1"]),
        ("~web[12]", &["web1", "web2"]),
        ("~(db|bas)", &["bastion", "web3", "db1"]),
        ("web[0]", &["web1"]),
        ("web[-1]", &["web3"]),
        ("web[1:]", &["web2", "web3"]),
        ("ungrouped", &["bastion"]),
        ("nosuchthing", &[]),
        ("web1,web1, web1", &["web1"]),
    ];
    for (pattern, expected) in cases {
        let selected = inventory.select(pattern, None).unwrap();
        assert_eq!(names(&selected), strings(expected), "pattern {pattern}");
    }
}

#[test]
fn unmatched_target_terms_are_reported_for_warnings() {
    let inventory = inventory(FLEET);
    assert_eq!(
        inventory.unmatched_terms("web:wbe:!nope").unwrap(),
        ["wbe", "!nope"]
    );
    assert!(inventory.unmatched_terms("web,db1").unwrap().is_empty());
}

#[test]
fn anchors_and_merge_keys_work_in_inventories() {
    let inventory = inventory(
        "\
all:
  hosts:
    a: &defaults {ansible_user: deploy, ansible_port: 2222}
    b:
      <<: *defaults
      ansible_port: 2223
",
    );
    let b = inventory.host("b").unwrap().connection().unwrap();
    assert_eq!((b.user.as_deref(), b.port), (Some("deploy"), 2223));
}

#[test]
fn limit_narrows_the_target() {
    let inventory = inventory(FLEET);
    assert_eq!(
        names(&inventory.select("web", Some("web2,db1")).unwrap()),
        ["web2"]
    );
    assert_eq!(
        names(&inventory.select("all", Some("prod:!db")).unwrap()),
        ["web1", "web2"]
    );
    assert!(
        inventory.select("db", Some("web1")).unwrap().is_empty(),
        "limit outside the target"
    );
}

#[test]
fn limit_matching_nothing_is_an_error() {
    let inventory = inventory(FLEET);
    let groups = "known groups: all, db, prod, ungrouped, web";
    let error = |limit: &str| {
        inventory
            .select("all", Some(limit))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error("wbe"),
        format!("no hosts matched --limit 'wbe'; {groups}")
    );
    assert_eq!(
        error("web1,wbe2"),
        format!("no hosts matched --limit 'web1,wbe2' (nothing matches 'wbe2'); {groups}")
    );
    assert_eq!(
        error("all:!typo"),
        format!("no hosts matched --limit 'all:!typo' (nothing matches '!typo'); {groups}")
    );
    assert_eq!(
        error("web:&db1"),
        format!("no hosts matched --limit 'web:&db1'; {groups}")
    );
}

#[test]
fn invalid_patterns_are_errors() {
    let inventory = inventory(FLEET);
    assert_eq!(
        inventory
            .select("~web(", None)
            .unwrap_err()
            .to_string()
            .lines()
            .next()
            .unwrap(),
        "invalid host pattern '~web(': `~web(` is not a valid regular expression: regex parse error:"
    );
    assert_eq!(
        inventory.select(" , ", None).unwrap_err().to_string(),
        "invalid host pattern ' , ': the pattern is empty; use `all` for every host"
    );
    assert_eq!(
        inventory.select("web:!", None).unwrap_err().to_string(),
        "invalid host pattern 'web:!': `!` names nothing after `&` or `!`"
    );
}

// ---------------------------------------------------------------- YAML errors

#[test]
fn malformed_yaml_names_file_line_column_and_shows_the_line() {
    assert_eq!(
        error_of("all:\n  hosts: [a\n"),
        "hosts.yml:2:10: unclosed bracket '['\n 2 |   hosts: [a\n   |          ^"
    );
    assert_eq!(
        first_line(&error_of("all:\n  hosts:\n    a:\n    a:\n")),
        "hosts.yml:4:5: duplicate mapping key `a` is not allowed here"
    );
    assert_eq!(
        first_line(&error_of("all:\n\thosts:\n")),
        "hosts.yml:2:2: tabs disallowed within this context (block indentation)"
    );
}

#[test]
fn wrong_structure_is_explained() {
    let cases: &[(&str, &str)] = &[
        (
            "all:\n  children:\n    odoo:\n      hosts:\n        - odoo-prod-1\n",
            "hosts.yml:4:7: `hosts` must be a mapping of host names to variables (got a sequence)",
        ),
        (
            "all:\n  children: [web]\n",
            "hosts.yml:2:3: `children` must be a mapping of group names to groups (got a sequence)",
        ),
        (
            "all:\n  vars: debug\n",
            "hosts.yml:2:3: `vars` must be a mapping of variable names to values (got a string)",
        ),
        (
            "web: [a, b]\n",
            "hosts.yml:1:1: group `web` must be a mapping with `hosts:`, `children:` and/or `vars:` (got a sequence)",
        ),
        (
            "all:\n  host:\n    a:\n",
            "hosts.yml:2:3: unknown key `host` in group `all`; a group has only `hosts:`, `children:` and `vars:`",
        ),
        (
            "all:\n  hosts:\n    a: [x]\n",
            "hosts.yml:3:8: the variables of host `a` must be a mapping (got a sequence); write `a:` alone for a host without variables",
        ),
        (
            "- all\n",
            "hosts.yml:1:1: the inventory must be a mapping of group names (such as `all:`) to groups (got a sequence)",
        ),
        (
            "# nothing\n",
            "hosts.yml:2:1: the inventory is empty; expected a mapping of groups such as `all:` with `hosts:`, `children:` and `vars:`",
        ),
        (
            "web:\n  vars:\n    ansible_group_priority: high\n",
            "hosts.yml:3:29: `ansible_group_priority` must be an integer (got a string)",
        ),
        (
            "web:\n  children:\n    all:\n",
            "hosts.yml:3:5: group `all` contains every host and cannot be a child of `web`",
        ),
        (
            "web:\n  hosts:\n    \"w:x\":\n",
            "hosts.yml:3:5: `w:x`: the part after `:` must be a port number 1-65535 (got `x`)",
        ),
    ];
    for (yaml, expected) in cases {
        assert_eq!(first_line(&error_of(yaml)), *expected, "for:\n{yaml}");
    }
}

#[test]
fn group_cycles_are_rejected() {
    assert_eq!(
        error_of("a:\n  children:\n    b:\n      children:\n        a:\n"),
        "hosts.yml: group `a` is its own ancestor (a -> b -> a); remove one of these `children:` entries"
    );
}

#[test]
fn vars_file_errors_name_the_file() {
    let error = Inventory::from_sources(
        "web:\n  hosts:\n    h1:\n",
        "hosts.yml",
        &[file("web", "- a\n- b\n", "group_vars/web.yml")],
        &[],
    )
    .unwrap_err();
    assert_eq!(
        first_line(&error.to_string()),
        "group_vars/web.yml:1:1: a variables file must be a mapping of variable names to values (got a sequence)"
    );
    let error = Inventory::from_sources(
        "web:\n  hosts:\n    h1:\n",
        "hosts.yml",
        &[],
        &[file("h1", "a: 'x\n", "host_vars/h1.yml")],
    )
    .unwrap_err();
    assert!(
        first_line(&error.to_string()).starts_with("host_vars/h1.yml:1:4: "),
        "{error}"
    );
}

// ---------------------------------------------------------------- -i

#[test]
fn inventory_argument_resolution() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    write(
        root,
        "inventories/lab/hosts.yml",
        "all:\n  hosts:\n    lab1:\n",
    );
    write(root, "custom.yml", "all:\n  hosts:\n    c1:\n");
    assert_eq!(
        resolve_inventory_arg("lab", root),
        root.join("inventories/lab/hosts.yml")
    );
    assert_eq!(
        resolve_inventory_arg("prod", root),
        root.join("inventories/prod/hosts.yml")
    );
    assert_eq!(
        resolve_inventory_arg("custom.yml", root),
        root.join("custom.yml")
    );
    assert_eq!(
        resolve_inventory_arg("x/hosts.yml", root),
        root.join("x/hosts.yml")
    );
    assert_eq!(
        resolve_inventory_arg("/abs/hosts.yml", root),
        PathBuf::from("/abs/hosts.yml")
    );
    assert_eq!(
        load_inventory_arg("custom.yml", root).unwrap().hosts()[0].name(),
        "c1"
    );
    assert_eq!(
        load_inventory_arg("inventories/lab", root).unwrap().hosts()[0].name(),
        "lab1",
        "a directory means its hosts.yml"
    );
}

#[test]
fn missing_inventory_lists_the_available_ones() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    write(root, "inventories/production/hosts.yml", "all:\n");
    write(root, "inventories/lab/hosts.yml", "all:\n");
    fs::create_dir_all(root.join("inventories/notes")).unwrap();
    let error = load_inventory_arg("prod", root).unwrap_err();
    assert!(
        matches!(error, InventoryError::NotFound { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "inventory not found: inventories/prod/hosts.yml (from -i prod); available: lab, production"
    );
    let missing = root.join("elsewhere/hosts.yml");
    assert_eq!(
        Inventory::load(&missing).unwrap_err().to_string(),
        format!("inventory not found: {}", missing.display())
    );
}

// ---------------------------------------------------------------- -e

#[test]
fn extra_vars_in_every_accepted_form() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "vars.yml",
        "from_yaml: 1\nshared: yaml\nmode: 0640\n",
    );
    write(
        dir.path(),
        "vars.json",
        "{\"from_json\": [1, 2], \"shared\": \"json\"}",
    );
    let args = strings(&[
        "a=1 b='two words' c=\"x=y\"",
        "{\"obj\": {\"k\": true}, \"shared\": \"inline\"}",
        "@vars.yml",
        "@vars.json",
        "{flow: yes}",
        "last=wins last=really",
    ]);
    let vars = parse_extra_vars(&args, dir.path()).unwrap();
    assert_eq!(
        Value::Object(vars),
        json!({
            "a": "1", "b": "two words", "c": "x=y", "obj": {"k": true}, "shared": "json",
            "from_yaml": 1, "mode": "0640", "from_json": [1, 2], "flow": true, "last": "really"
        })
    );
}

#[test]
fn bad_extra_vars_quote_the_argument_and_the_accepted_forms() {
    let forms = "accepted forms: -e key=value (several pairs separated by spaces), -e '{\"key\": \"value\"}' (a JSON object), -e @vars.yml or -e @vars.json (a file holding a mapping)";
    let no_files =
        |_: &Path| -> std::io::Result<String> { Err(std::io::ErrorKind::NotFound.into()) };
    let error = |arg: &str| {
        parse_extra_vars_with(&[arg.to_owned()], Path::new("/project"), &no_files)
            .unwrap_err()
            .to_string()
    };
    let cases: &[(&str, &str)] = &[
        (
            "=v",
            "invalid -e '=v': `=v` has no variable name before `=`",
        ),
        ("k", "invalid -e 'k': `k` is not key=value"),
        ("a=1 k", "invalid -e 'a=1 k': `k` is not key=value"),
        (
            "my-var=1",
            "invalid -e 'my-var=1': `my-var` is not a valid variable name (letters, digits and `_`, not starting with a digit)",
        ),
        (
            "@missing.yml",
            "invalid -e '@missing.yml': cannot read /project/missing.yml: no such file",
        ),
        ("@", "invalid -e '@': no file name after `@`"),
        ("", "invalid -e '': the argument is empty"),
        (
            "[1, 2]",
            "invalid -e '[1, 2]': a list is not a set of variables; give a JSON object such as {\"key\": \"value\"}",
        ),
        (
            "{\"a\": ",
            "invalid -e '{\"a\": ': not a valid JSON object: EOF while parsing a value at line 1 column 5",
        ),
        (
            "k='open",
            "invalid -e 'k='open': a single quote (') is not closed",
        ),
    ];
    for (arg, expected) in cases {
        assert_eq!(error(arg), format!("{expected}; {forms}"), "for -e {arg}");
    }
}

#[test]
fn extra_vars_file_with_bad_yaml_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vars.yml", "- not\n- a mapping\n");
    let error = parse_extra_vars(&strings(&["@vars.yml"]), dir.path()).unwrap_err();
    assert_eq!(
        first_line(&error.to_string()),
        "vars.yml:1:1: a variables file must be a mapping of variable names to values (got a sequence)"
    );
}

// ---------------------------------------------------------------- connection

fn connection_error(host_vars: &str) -> String {
    let inventory = inventory(&format!("all:\n  hosts:\n    odoo-prod-1: {host_vars}\n"));
    inventory.hosts()[0].connection().unwrap_err().to_string()
}

#[test]
fn connection_settings_and_defaults() {
    let inventory = inventory(
        "\
all:
  hosts:
    plain:
    local-box: {ansible_connection: local}
    full:
      ansible_host: 198.51.100.7
      ansible_port: \"2201\"
      ansible_user: admin
      ansible_ssh_private_key_file: ~/.ssh/id_ed25519
      ansible_connection: paramiko
      ansible_become: \"yes\"
      ansible_become_user: odoo
      ansible_become_method: sudo
",
    );
    let plain = inventory.host("plain").unwrap().connection().unwrap();
    assert_eq!(
        (plain.host.as_str(), plain.port, plain.user, plain.kind),
        ("plain", 22, None, ConnectionKind::Ssh)
    );
    assert!(!plain.become_);
    assert_eq!(
        inventory
            .host("local-box")
            .unwrap()
            .connection()
            .unwrap()
            .kind,
        ConnectionKind::Local
    );
    let full = inventory.host("full").unwrap().connection().unwrap();
    assert_eq!(
        full,
        Connection {
            host: "198.51.100.7".into(),
            port: 2201,
            port_given: true,
            user: Some("admin".into()),
            private_key_file: Some(PathBuf::from("~/.ssh/id_ed25519")),
            kind: ConnectionKind::Ssh,
            become_: true,
            become_user: Some("odoo".into()),
            become_method: BecomeMethod::Sudo,
            ssh_args: Vec::new(),
            password: None,
            become_password: None,
        }
    );
}

#[test]
fn connection_errors_name_host_and_variable() {
    let cases: &[(&str, &str)] = &[
        (
            "{ansible_port: \"abc\"}",
            "host `odoo-prod-1`: variable `ansible_port` must be a port number 1-65535 (got \"abc\")",
        ),
        (
            "{ansible_port: 70000}",
            "host `odoo-prod-1`: variable `ansible_port` must be a port number 1-65535 (got 70000)",
        ),
        (
            "{ansible_connection: winrm}",
            "host `odoo-prod-1`: ansible_connection `winrm` is not supported; use `ssh` (also spelled `paramiko` or `smart`) or `local`",
        ),
        (
            "{ansible_become: true, ansible_become_method: su}",
            "host `odoo-prod-1`: ansible_become_method `su` is not supported; only `sudo` is (su reads its password from a terminal, never from stdin; give the user a sudo rule instead, with or without NOPASSWD: wsdeploy passes the become password to `sudo -S` on stdin)",
        ),
        (
            "{ansible_become: true, ansible_become_method: pbrun}",
            "host `odoo-prod-1`: ansible_become_method `pbrun` is not supported; only `sudo` is",
        ),
        (
            "{ansible_become: maybe}",
            "host `odoo-prod-1`: variable `ansible_become` must be a boolean (true/false, yes/no) (got \"maybe\")",
        ),
        (
            "{ansible_user: [a]}",
            "host `odoo-prod-1`: variable `ansible_user` must be a non-empty string (got a list)",
        ),
    ];
    for (vars, expected) in cases {
        assert_eq!(connection_error(vars), *expected, "for {vars}");
    }
}

#[test]
fn extra_vars_can_override_connection_settings() {
    let inventory = inventory("all:\n  hosts:\n    h1: {ansible_user: deploy}\n");
    let extra = parse_extra_vars(&strings(&["ansible_user=admin"]), Path::new(".")).unwrap();
    let host = inventory.host("h1").unwrap();
    let connection = connection_from_vars(host.name(), &host.vars_with_extra(&extra)).unwrap();
    assert_eq!(connection.user.as_deref(), Some("admin"));
}
