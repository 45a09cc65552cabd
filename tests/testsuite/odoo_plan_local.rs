//! The shipped Odoo plan against copies of an Odoo host's files on this machine
//! (`connection: local`, dry runs: nothing is written, no command runs): the process model
//! comes from odoo.conf itself (Odoo 17's rules: `workers` > 0 → the evented port,
//! `gevent_port` unless a non-zero `longpolling_port` overrides it; `workers` 0/unset → the
//! HTTP port), the inventory's `odoo_*` variables override it, the .deb/systemd layout gets
//! `systemctl restart odoo`, and the site's `location /` is made to send the
//! `X-Forwarded-*` headers `proxy_mode` needs.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::Path;

use support::project::Project;
use support::reliability::tree_sums;

/// The site nginx serves Odoo from: one server, `location /` to the HTTP port.
const SITE: &str = "server {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n";

/// A project whose `odoo` host is this machine, its files under `<project>/root`: nginx
/// as Debian lays it out with `site` enabled, `odoo_conf` at `conf_path` (relative to the
/// root), the systemd unit of the .deb when `systemd_unit`, and `extra_vars` (YAML lines
/// indented for the group's vars) in the inventory.
fn odoo_host(
    site: &str,
    conf_path: &str,
    odoo_conf: &str,
    systemd_unit: bool,
    extra_vars: &str,
) -> Project {
    let p = Project::with_own_state();
    let root = support::project::debian_nginx_with_site(&p, site);
    p.file(&format!("root/{conf_path}"), odoo_conf);
    if systemd_unit {
        // The unit the odoo .deb installs (its first lines).
        p.file(
            "root/lib/systemd/system/odoo.service",
            "[Unit]\nDescription=Odoo Open Source ERP and CRM\n\n[Service]\nType=simple\nUser=odoo\nExecStart=/usr/bin/odoo --config /etc/odoo/odoo.conf --logfile /var/log/odoo/odoo-server.log\n",
        );
    }
    let r = root.display();
    p.file(
        "inventories/production/hosts.yml",
        &format!(
            "all:\n  children:\n    odoo:\n      hosts:\n        odoo-prod-1:\n          ansible_connection: local\n      vars:\n        public_host: 203.0.113.10\n        nginx_conf: {r}/etc/nginx/nginx.conf\n        site_conf: {r}/etc/nginx/sites-available/odoo.conf\n        odoo_conf: {r}/{conf_path}\n        odoo_systemd_unit: {r}/lib/systemd/system/odoo.service\n        compose_file: {r}/opt/opticserp/docker-compose.yml\n        nginx_dump_cmd: nginx -T -c {r}/etc/nginx/nginx.conf\n        nginx_test_cmd: nginx -t -c {r}/etc/nginx/nginx.conf\n{extra_vars}"
        ),
    );
    p.file(
        "plans/site.yml",
        &support::project::odoo_plan_with_only_its_nginx_preflight(),
    );
    p
}

/// `apply --dry-run` on the project: exit 0, and not one byte changed.
fn dry_run(p: &Project) -> support::project::Run {
    let before = tree_sums(p.path());
    let run = p.run(&["apply", "-i", "production", "--dry-run"]);
    assert_eq!(tree_sums(p.path()), before, "a dry run changed files");
    run
}

#[cfg(feature = "host-tests")]
#[test]
fn threaded_odoo_found_from_odoo_conf_gets_websocket_on_the_http_port() {
    // `workers = 0` and no `workers` at all are both threaded; the HTTP port comes from
    // odoo.conf too.
    for conf in [
        "[options]\nworkers = 0\nhttp_port = 8069\ngevent_port = 8072\n",
        "[options]\ndb_user = odoo\n",
        "[options]\nworkers = False\n",
    ] {
        let p = odoo_host(SITE, "etc/opticserp/odoo.conf", conf, false, "");
        dry_run(&p)
            .code(0)
            .stdout_has("+\tserver 127.0.0.1:8069;")
            .stdout_has("1 would change");
    }
    let p = odoo_host(
        SITE,
        "etc/opticserp/odoo.conf",
        "[options]\nhttp_port = 8169\n",
        false,
        "",
    );
    let run = dry_run(&p);
    run.code(0).stdout_has("+\tserver 127.0.0.1:8169;");
    assert!(!run.stdout.contains(":8072;"), "{}", run.stdout);
}

#[cfg(feature = "host-tests")]
#[test]
fn prefork_odoo_found_from_odoo_conf_gets_websocket_on_the_evented_port() {
    for (conf, port) in [
        ("[options]\nworkers = 4\n", "8072"),
        ("[options]\nworkers = 4\ngevent_port = 8075\n", "8075"),
        // Odoo 17: a non-zero longpolling_port (the deprecated name) overrides gevent_port.
        (
            "[options]\nworkers = 4\ngevent_port = 8075\nlongpolling_port = 8090\n",
            "8090",
        ),
        (
            "[options]\nworkers = 4\ngevent_port = 8075\nlongpolling_port = False\n",
            "8075",
        ),
    ] {
        let p = odoo_host(SITE, "etc/opticserp/odoo.conf", conf, false, "");
        let run = dry_run(&p);
        run.code(0)
            .stdout_has(&format!("+\tserver 127.0.0.1:{port};"))
            .stdout_has("1 would change");
        assert!(
            !run.stdout.contains("+\tserver 127.0.0.1:8069;"),
            "{conf}: {}",
            run.stdout
        );
    }
}

#[cfg(feature = "host-tests")]
#[test]
fn the_inventorys_odoo_variables_override_odoo_conf() {
    // Options given on Odoo's command line override odoo.conf: the operator says so.
    let p = odoo_host(
        SITE,
        "etc/opticserp/odoo.conf",
        "[options]\nworkers = 0\n",
        false,
        "        odoo_workers: 2\n        longpolling_port: 8072\n",
    );
    dry_run(&p).code(0).stdout_has("+\tserver 127.0.0.1:8072;");
}

#[test]
fn a_value_in_odoo_conf_that_is_not_a_port_fails_the_host_naming_the_file_and_key() {
    let p = odoo_host(
        SITE,
        "etc/opticserp/odoo.conf",
        "[options]\nworkers = 2\ngevent_port = 8072; include /etc/shadow\n",
        false,
        "",
    );
    dry_run(&p)
        .code(1)
        .stdout_has("fact `odoo_conf_gevent_port`: ")
        .stdout_has("etc/opticserp/odoo.conf: [options] `gevent_port`: ")
        .stdout_has("is not a port");
}

#[cfg(feature = "host-tests")]
#[test]
fn the_deb_systemd_layout_is_restarted_with_systemctl() {
    // The odoo .deb: /etc/odoo/odoo.conf (threaded by default) and its systemd unit. The
    // dry run shows the restart it would run; no command runs here.
    let p = odoo_host(
        SITE,
        "etc/odoo/odoo.conf",
        "[options]\n; This is the password that allows database operations:\n; admin_passwd = admin\ndb_host = False\ndb_port = False\ndb_user = odoo\ndb_password = False\n",
        true,
        "",
    );
    let run = dry_run(&p);
    run.code(0)
        .stdout_has("+\tserver 127.0.0.1:8069;")
        .stdout_has("+proxy_mode = True")
        .stdout_has("would run: run `systemctl restart 'odoo'`");
    for docker in ["docker restart", "docker compose -f", "docker port"] {
        assert!(!run.stdout.contains(docker), "{docker}: {}", run.stdout);
    }
    // Without the unit, a compose file makes it Compose, else plain Docker.
    let p = odoo_host(SITE, "etc/odoo/odoo.conf", "[options]\n", false, "");
    dry_run(&p)
        .code(0)
        .stdout_has("would run: run `docker restart 'opticserp_odoo'`");
}

#[cfg(feature = "host-tests")]
#[test]
fn proxy_mode_comes_with_forwarded_headers_on_the_sites_location() {
    // Odoo applies proxy_mode only to requests that carry X-Forwarded-Host: the site's
    // `location /` must send it (and -Proto, -For), not only /websocket.
    let p = odoo_host(SITE, "etc/opticserp/odoo.conf", "[options]\n", false, "");
    let run = dry_run(&p);
    run.code(0).stdout_has("+proxy_mode = True");
    // Each once in the new location /websocket and once added to location /.
    for header in [
        "+\t\tproxy_set_header X-Forwarded-Host $host;",
        "+\t\tproxy_set_header X-Forwarded-Proto $scheme;",
        "+\t\tproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    ] {
        assert_eq!(
            run.stdout.matches(header).count(),
            2,
            "{header}: {}",
            run.stdout
        );
    }
    // In place: the operator's location / keeps its proxy_pass, no second one.
    assert_eq!(
        run.stdout.matches("location / {").count(),
        1,
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout
            .contains("-\t\tproxy_pass http://127.0.0.1:8069;"),
        "{}",
        run.stdout
    );
}

/// The Odoo plan rendered for one host with `vars` (inventory) and `facts` (read on the
/// host): (ids of preflight checks that run, ids of steps that run, the plan).
fn rendered(
    vars: &[(&str, serde_json::Value)],
    facts: &[(&str, serde_json::Value)],
) -> (Vec<String>, Vec<String>, wsdeploy::plan::HostPlan) {
    let plan = wsdeploy::plan::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/odoo-websocket.yml"),
    )
    .expect("plan loads");
    let play = &plan.plays[0];
    let mut inventory = serde_json::Map::new();
    inventory.insert("public_host".into(), "erp.example.com".into());
    inventory.insert("site_conf".into(), "/etc/nginx/sites-available/odoo".into());
    for (k, v) in vars {
        inventory.insert((*k).into(), v.clone());
    }
    let vars = wsdeploy::plan::merge_vars(play, "erp-1", &inventory, &serde_json::Map::new());
    let mut read: serde_json::Map<String, serde_json::Value> = play
        .facts
        .iter()
        .map(|f| (f.name.clone(), f.default.clone()))
        .collect();
    for (k, v) in facts {
        read.insert((*k).into(), v.clone());
    }
    let host = wsdeploy::plan::render_play(
        play,
        "erp-1",
        wsdeploy::plan::Inputs {
            vars,
            facts: read,
            ..Default::default()
        },
    )
    .expect("renders");
    let ids = |steps: &[wsdeploy::plan::Step]| steps.iter().map(|s| s.id.clone()).collect();
    (ids(&host.preflight), ids(&host.steps), host)
}

#[test]
fn an_override_that_differs_from_odoo_conf_is_a_loud_warning_and_one_that_agrees_is_silent() {
    use serde_json::json;
    // No override: nothing to say.
    let (preflight, _, _) = rendered(&[], &[("odoo_conf_workers", json!(4))]);
    assert!(
        !preflight.contains(&"odoo_process_model".to_owned()),
        "{preflight:?}"
    );
    // The lab's inventory: longpolling_port 8072, as odoo.conf's gevent_port says.
    let (preflight, _, _) = rendered(
        &[("longpolling_port", json!(8072))],
        &[("odoo_conf_workers", json!(2))],
    );
    assert!(
        !preflight.contains(&"odoo_process_model".to_owned()),
        "{preflight:?}"
    );
    // odoo.conf says threaded, the inventory says prefork (Odoo's command line, maybe).
    let (preflight, _, host) = rendered(&[("odoo_workers", json!(2))], &[]);
    assert!(
        preflight.contains(&"odoo_process_model".to_owned()),
        "{preflight:?}"
    );
    let check = host
        .preflight
        .iter()
        .find(|s| s.id == "odoo_process_model")
        .expect("the check");
    let hint = check.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("says workers=2, evented port 8072, http_port=8069")
            && hint.contains("says workers=0, evented port 8072, http_port=8069")
            && hint.contains("Odoo's command line"),
        "{hint}"
    );
}

#[test]
fn the_running_command_line_overrides_odoo_conf_and_is_no_override_to_warn_about() {
    use serde_json::json;
    // odoo.conf: threaded; `odoo.service` runs `--workers=2 --gevent-port 8073`.
    let facts = [
        ("odoo_systemd_unit_found", json!(true)),
        ("odoo_conf_workers", json!(0)),
        ("odoo_cmdline_workers", json!(2)),
        ("odoo_cmdline_gevent_port", json!(8073)),
    ];
    let (preflight, _, host) = rendered(&[], &facts);
    assert!(
        !preflight.contains(&"odoo_process_model".to_owned()),
        "{preflight:?}"
    );
    let plan = format!("{host:?}");
    assert!(plan.contains("server 127.0.0.1:8073;"), "{plan}");
    // `--workers=0` on the command line makes a prefork odoo.conf threaded: the HTTP port.
    let facts = [
        ("odoo_conf_workers", json!(4)),
        ("odoo_cmdline_workers", json!(0)),
        ("odoo_cmdline_http_port", json!(8080)),
    ];
    let plan = format!("{:?}", rendered(&[], &facts).2);
    assert!(plan.contains("server 127.0.0.1:8080;"), "{plan}");
    // An inventory value still wins, and the warning names the command line under systemd.
    let facts = [
        ("odoo_systemd_unit_found", json!(true)),
        ("odoo_cmdline_workers", json!(2)),
    ];
    let (preflight, _, host) = rendered(&[("odoo_workers", json!(0))], &facts);
    assert!(
        preflight.contains(&"odoo_process_model".to_owned()),
        "{preflight:?}"
    );
    let hint = host
        .preflight
        .iter()
        .find(|s| s.id == "odoo_process_model")
        .and_then(|s| s.hint.clone())
        .unwrap_or_default();
    assert!(
        hint.contains("the running odoo's command line say workers=2"),
        "{hint}"
    );
}

#[test]
fn the_runtime_picks_the_port_checks() {
    use serde_json::json;
    let (_, steps, _) = rendered(&[], &[("odoo_systemd_unit_found", json!(true))]);
    assert!(
        steps.contains(&"http_port_private_systemd".to_owned()),
        "{steps:?}"
    );
    assert!(
        !steps.contains(&"longpolling_localhost_only".to_owned()),
        "{steps:?}"
    );
    assert!(
        !steps.contains(&"http_port_private".to_owned()),
        "{steps:?}"
    );
    let (_, steps, host) = rendered(&[], &[("odoo_compose_file_found", json!(true))]);
    assert!(
        steps.contains(&"longpolling_localhost_only".to_owned()),
        "{steps:?}"
    );
    assert!(
        !steps.contains(&"http_port_private_systemd".to_owned()),
        "{steps:?}"
    );
    let restart = host
        .steps
        .iter()
        .find(|s| s.id == "odoo_restart")
        .expect("restart");
    assert!(
        format!("{:?}", restart.action)
            .contains("docker compose -f '/opt/opticserp/docker-compose.yml' restart 'odoo'"),
        "{:?}",
        restart.action
    );
    // nginx in a container reaches Odoo by its service name.
    let (_, _, host) = rendered(&[("odoo_upstream_host", json!("odoo"))], &[]);
    let site = host
        .steps
        .iter()
        .find(|s| s.id == "location")
        .expect("location");
    assert!(
        format!("{:?}", site.action).contains("server odoo:8069;"),
        "{:?}",
        site.action
    );
}

#[test]
fn a_plain_process_runtime_gets_the_listening_check_and_the_inventorys_restart() {
    use serde_json::json;
    // Odoo as a plain process (no container, no systemd): no `docker port` check can
    // hold; what listens where is read with ss, and the restart is the inventory's.
    let (_, steps, host) = rendered(
        &[
            ("odoo_runtime", json!("process")),
            ("odoo_restart_cmd", json!("/opt/lab-light/odoo-restart")),
        ],
        &[],
    );
    for docker_only in ["longpolling_localhost_only", "http_port_private"] {
        assert!(!steps.contains(&docker_only.to_owned()), "{steps:?}");
    }
    assert!(
        steps.contains(&"http_port_private_systemd".to_owned()),
        "{steps:?}"
    );
    let restart = host
        .steps
        .iter()
        .find(|s| s.id == "odoo_restart")
        .expect("restart");
    assert!(
        format!("{:?}", restart.action).contains("/opt/lab-light/odoo-restart"),
        "{:?}",
        restart.action
    );
}
