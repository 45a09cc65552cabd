//! `apply --dry-run` on a `connection: local` inventory whose files are copies of real
//! configurations: the diffs are printed and not one byte changes anywhere.

mod support;

use std::path::Path;

use support::project::Project;
use support::reliability::{local_runs, tree_sums};

/// A project whose inventory drives the Odoo plan against copies under `<project>/root`.
fn odoo_project() -> Project {
    let p = Project::new();
    let root = p.path().join("root");
    let nginx_conf = p.corpus(
        "nginx/debian-bookworm-nginx.conf",
        "root/etc/nginx/nginx.conf",
    );
    let text = std::fs::read_to_string(&nginx_conf).expect("read nginx.conf");
    let text = text
        .replace(
            "/etc/nginx/conf.d/",
            &format!("{}/etc/nginx/conf.d/", root.display()),
        )
        .replace(
            "/etc/nginx/sites-enabled/",
            &format!("{}/etc/nginx/sites-enabled/", root.display()),
        );
    std::fs::write(&nginx_conf, text).expect("write nginx.conf");
    std::fs::create_dir_all(root.join("etc/nginx/conf.d")).expect("mkdir");
    p.file(
        "root/etc/nginx/sites-available/odoo.conf",
        "server {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n",
    );
    std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).expect("mkdir");
    std::os::unix::fs::symlink(
        root.join("etc/nginx/sites-available/odoo.conf"),
        root.join("etc/nginx/sites-enabled/odoo.conf"),
    )
    .expect("symlink");
    p.corpus("odoo/odoo-debian-odoo.conf", "root/etc/opticserp/odoo.conf");
    let r = root.display();
    p.file(
        "inventories/production/hosts.yml",
        &format!(
            "all:\n  children:\n    odoo:\n      hosts:\n        odoo-prod-1:\n          ansible_connection: local\n      vars:\n        public_host: 203.0.113.10\n        nginx_conf: {r}/etc/nginx/nginx.conf\n        site_conf: {r}/etc/nginx/sites-available/odoo.conf\n        odoo_conf: {r}/etc/opticserp/odoo.conf\n        nginx_dump_cmd: nginx -T -c {r}/etc/nginx/nginx.conf\n        nginx_test_cmd: nginx -t -c {r}/etc/nginx/nginx.conf\n"
        ),
    );
    let plan = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/odoo-websocket.yml"),
    )
    .expect("plan");
    p.file("plans/odoo-websocket.yml", &plan);
    p.file(
        "plans/site.yml",
        "name: site\nimport:\n  - odoo-websocket.yml\n",
    );
    p
}

#[test]
fn dry_run_prints_the_diffs_and_changes_nothing() {
    let p = odoo_project();
    let before = tree_sums(p.path());
    let runs_before = local_runs();
    let run = p.run(&["apply", "-i", "production", "--dry-run"]);
    run.code(0)
        .stdout_has("── odoo-prod-1 (would change)")
        .stdout_has("+\tmap $http_upgrade $connection_upgrade {")
        .stdout_has("+\tlocation /websocket {")
        .stdout_has("+\t\tproxy_set_header Origin $http_origin;")
        .stdout_has("+websocket_url = ws://203.0.113.10/websocket")
        .stdout_has("+proxy_mode = True")
        .stdout_has("would run: run `nginx -t -c ")
        .stdout_has("1 would change");
    assert_eq!(tree_sums(p.path()), before, "a dry run changed files");
    assert_eq!(
        local_runs(),
        runs_before,
        "a dry run created a journal entry"
    );
}

#[test]
fn dry_run_json_reports_the_same_changes() {
    let p = odoo_project();
    let before = tree_sums(p.path());
    let run = p.run(&["apply", "-i", "production", "--dry-run", "--json"]);
    run.code(0);
    let reports: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "host_report")
        .collect();
    assert_eq!(reports.len(), 1, "{}", run.stdout);
    let report = &reports[0]["report"];
    assert_eq!(report["outcome"], "would_change");
    let files: Vec<&str> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(
        files.len(),
        3,
        "nginx.conf, the site file and odoo.conf: {files:?}"
    );
    assert_eq!(tree_sums(p.path()), before);
}
