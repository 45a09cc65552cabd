//! `apply --dry-run` on a `connection: local` inventory whose files are copies of real
//! configurations: the diffs are printed and not one byte changes anywhere.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use support::history::recorded;
use support::project::Project;
use support::reliability::tree_sums;

/// A project whose inventory drives the Odoo plan against copies under `<project>/root`.
fn odoo_project() -> Project {
    odoo_project_with_site(
        "server {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n",
    )
}

/// The same with another site file.
fn odoo_project_with_site(site: &str) -> Project {
    let p = Project::with_own_state();
    let root = support::project::debian_nginx_with_site(&p, site);
    p.corpus("odoo/odoo-debian-odoo.conf", "root/etc/opticserp/odoo.conf");
    let r = root.display();
    p.file(
        "inventories/production/hosts.yml",
        &format!(
            "all:\n  children:\n    odoo:\n      hosts:\n        odoo-prod-1:\n          ansible_connection: local\n      vars:\n        public_host: 203.0.113.10\n        nginx_conf: {r}/etc/nginx/nginx.conf\n        site_conf: {r}/etc/nginx/sites-available/odoo.conf\n        odoo_conf: {r}/etc/opticserp/odoo.conf\n        nginx_dump_cmd: nginx -T -c {r}/etc/nginx/nginx.conf\n        nginx_test_cmd: nginx -t -c {r}/etc/nginx/nginx.conf\n"
        ),
    );
    p.file(
        "plans/odoo-websocket.yml",
        &support::project::odoo_plan_with_only_its_nginx_preflight(),
    );
    p.file(
        "plans/site.yml",
        "name: site\nimport:\n  - odoo-websocket.yml\n",
    );
    p
}

#[cfg(feature = "host-tests")]
#[test]
fn dry_run_prints_the_diffs_and_changes_nothing() {
    let p = odoo_project();
    let before = tree_sums(p.path());
    let runs_before = p.run_ids();
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
        p.run_ids(),
        runs_before,
        "a dry run created a journal entry"
    );
    assert_eq!(recorded(&p), ["dry-run exit=0 odoo-prod-1=would_change"]);
}

#[cfg(feature = "host-tests")]
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

/// The lines of the site file's diff from its `@@` header to the added location.
fn site_hunk(stdout: &str) -> String {
    let start = stdout
        .find("+++ b/")
        .and_then(|i| stdout[i..].find("odoo.conf").map(|_| i))
        .expect("site diff");
    let text = &stdout[start..];
    let site = text
        .split("--- a/")
        .find(|part| {
            part.contains("sites-available/odoo.conf") && part.contains("location /websocket")
        })
        .expect("site file diff");
    let end = site
        .find("+\tlocation /websocket {")
        .expect("location added");
    site[..end].to_owned()
}

#[cfg(feature = "host-tests")]
#[test]
fn two_servers_converge_on_the_one_named_public_host() {
    let site = "server {\n\tlisten 80;\n\tserver_name other.example;\n\treturn 404;\n}\n\nserver {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n";
    let p = odoo_project_with_site(site);
    let run = p.run(&["apply", "-i", "production", "--dry-run"]);
    run.code(0).stdout_has("1 would change");
    let hunk = site_hunk(&run.stdout);
    assert!(
        hunk.contains("proxy_pass http://127.0.0.1:8069;") && !hunk.contains("return 404;"),
        "the location went elsewhere than server 203.0.113.10:\n{hunk}"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_redirect_server_and_a_tls_server_converge_on_the_tls_one() {
    let certs = tempfile::tempdir().expect("temp dir");
    let (crt, key) = (certs.path().join("odoo.crt"), certs.path().join("odoo.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=203.0.113.10",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(made.status.success(), "openssl: {made:?}");
    let site = format!(
        "server {{\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\treturn 301 https://$host$request_uri;\n}}\n\nserver {{\n\tlisten 443 ssl;\n\tserver_name 203.0.113.10;\n\tssl_certificate {};\n\tssl_certificate_key {};\n\n\tlocation / {{\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}}\n}}\n",
        crt.display(),
        key.display()
    );
    let p = odoo_project_with_site(&site);
    // Plain scheme: nginx answers port 80 with the server that only redirects to https.
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(1)
        .stdout_has("server_name 203.0.113.10")
        .stdout_has("which only redirects to https; set public_scheme: https");
    let run = p.run(&[
        "apply",
        "-i",
        "production",
        "--dry-run",
        "-e",
        "public_scheme=https",
    ]);
    run.code(0)
        .stdout_has("+websocket_url = wss://203.0.113.10/websocket")
        .stdout_has("1 would change");
    let hunk = site_hunk(&run.stdout);
    assert!(
        hunk.contains("proxy_pass http://127.0.0.1:8069;") && !hunk.contains("return 301"),
        "the location went elsewhere than the 443 server:\n{hunk}"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn nginx_warnings_on_standard_error_do_not_make_the_dump_unreadable() {
    // `text/html` is sub_filter's default type: nginx warns "duplicate MIME type" on every -t/-T.
    let site = "server {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\tsub_filter_types text/html;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n";
    let p = odoo_project_with_site(site);
    let before = tree_sums(p.path());
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(0)
        .stdout_has("+\tlocation /websocket {")
        .stdout_has("1 would change");
    assert_eq!(tree_sums(p.path()), before);
}

#[cfg(feature = "host-tests")]
#[test]
fn a_non_default_public_port_picks_its_server_and_stays_in_websocket_url() {
    let site = "server {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\treturn 404;\n}\n\nserver {\n\tlisten 8080;\n\tserver_name 203.0.113.10;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n";
    let p = odoo_project_with_site(site);
    let run = p.run(&[
        "apply",
        "-i",
        "production",
        "--dry-run",
        "-e",
        "public_port=8080",
    ]);
    run.code(0)
        .stdout_has("+websocket_url = ws://203.0.113.10:8080/websocket")
        .stdout_has("1 would change");
    let hunk = site_hunk(&run.stdout);
    assert!(
        hunk.contains("proxy_pass http://127.0.0.1:8069;") && !hunk.contains("return 404;"),
        "the location went elsewhere than the 8080 server:\n{hunk}"
    );
    // No server on the port users reach: refused, naming the port.
    p.run(&[
        "apply",
        "-i",
        "production",
        "--dry-run",
        "-e",
        "public_port=8443",
    ])
    .code(1)
    .stdout_has("listens on port 8443");
}

#[cfg(feature = "host-tests")]
#[test]
fn opt_in_rebind_of_the_http_port_edits_the_compose_file_and_recreates_the_container() {
    let p = odoo_project();
    let compose = p.corpus(
        "compose/opticserp.yml",
        "root/opt/opticserp/docker-compose.yml",
    );
    let file_var = format!("compose_file={}", compose.display());
    let base = [
        "apply",
        "-i",
        "production",
        "--dry-run",
        "-v",
        "-e",
        &file_var,
    ];
    let before = tree_sums(p.path());
    // Off by default, and off with a string "false" from `-e`.
    for extra in [None, Some("odoo_rebind_http=false")] {
        let mut args = base.to_vec();
        if let Some(e) = extra {
            args.extend(["-e", e]);
        }
        let run = p.run(&args);
        run.code(0);
        assert!(
            !run.stdout.contains("127.0.0.1:8069:8069")
                && !run.stdout.contains("would run: recreate odoo")
                && run.stdout.contains("skipped: recreate odoo"),
            "{extra:?}: {}",
            run.stdout
        );
    }
    let mut args = base.to_vec();
    args.extend(["-e", "odoo_rebind_http=true"]);
    let run = p.run(&args);
    run.code(0)
        .stdout_has("-      - \"8069:8069\"        # web")
        .stdout_has("+      - \"127.0.0.1:8069:8069\"        # web")
        .stdout_has("would run: recreate odoo so the new port binding takes effect");
    assert!(
        !run.stdout.contains("+      - \"127.0.0.1:8072"),
        "only the 8069 entry changes: {}",
        run.stdout
    );
    assert_eq!(tree_sums(p.path()), before, "a dry run changed files");
}

#[test]
fn dry_run_reports_a_host_whose_preflight_fails_as_refused() {
    let p = Project::with_own_state();
    let root = p.path().join("root");
    p.file("root/site.conf", "listen 80;\n");
    p.file(
        "inventories/production/hosts.yml",
        "all:\n  children:\n    web:\n      hosts:\n        web-1:\n          ansible_connection: local\n",
    );
    p.file(
        "plans/site.yml",
        &format!(
            concat!(
                "name: preflight\nhosts: web\nvars:\n  root: {}\n",
                "preflight:\n",
                "  - id: backend_ready\n",
                "    command: \"test -e {{{{ root }}}}/ready\"\n",
                "    hint: \"the backend is not ready: create {{{{ root }}}}/ready\"\n",
                "steps:\n",
                "  - id: site\n",
                "    file: {{path: \"{{{{ root }}}}/site.conf\", content: \"listen 8080;\\n\"}}\n",
            ),
            root.display()
        ),
    );
    let before = tree_sums(p.path());
    let runs_before = p.run_ids();
    let run = p.run(&["apply", "-i", "production", "--dry-run"]);
    run.code(1)
        .stdout_has("web-1")
        .stdout_has("pre-flight check failed: an apply would refuse this host")
        .stdout_has(&format!(
            "`test -e {}/ready` ended with exit 1",
            root.display()
        ))
        .stdout_has("the backend is not ready");
    assert!(
        !run.stdout.contains("would change"),
        "a host the apply refuses is not \"would change\": {}",
        run.stdout
    );
    assert_eq!(tree_sums(p.path()), before, "a dry run changed files");
    assert_eq!(
        p.run_ids(),
        runs_before,
        "a dry run created a journal entry"
    );
    // Once the check passes, the same dry run shows the change.
    p.file("root/ready", "");
    p.run(&["apply", "-i", "production", "--dry-run"])
        .code(0)
        .stdout_has("+listen 8080;")
        .stdout_has("1 would change");
}
