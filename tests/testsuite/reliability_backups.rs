//! Backups that nginx could load: a play without an nginx step does not know nginx's
//! include globs, yet its dated backup of a file in `sites-enabled/` must not land where
//! `include sites-enabled/*` loads it (a second `upstream` of the same name breaks
//! `nginx -t`). A run, applied or rolled back, leaves nothing nginx could load.

use crate::support;

use std::process::Command;

use serde_json::{Value, json};
use support::reliability::LocalHost;

fn plan(fail: bool) -> Value {
    let mut steps = vec![
        json!({"id": "app", "line": {"file": "{{ app_site }}", "line": "# managed by wsdeploy"}}),
        json!({"id": "test", "command": "nginx -t -c {{ nginx_conf | quote }}", "if_changed": ["app"]}),
    ];
    if fail {
        steps.push(json!({"id": "fail", "command": "exit 3", "if_changed": ["app"]}));
    }
    json!({"name": "no-nginx-step", "hosts": "odoo",
        "preflight": [{"id": "nginx_ok", "command": "nginx -t -c {{ nginx_conf | quote }}"}],
        "steps": steps})
}

fn nginx_t(host: &LocalHost) -> std::process::Output {
    Command::new("nginx")
        .arg("-t")
        .arg("-c")
        .arg(&host.nginx_conf)
        .output()
        .expect("nginx runs")
}

fn enabled(host: &LocalHost) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(host.site_enabled.parent().expect("dir"))
        .expect("sites-enabled")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn backups_of_files_in_an_nginx_tree_never_land_where_nginx_loads_them() {
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    let app = host.site_enabled.with_file_name("app");
    let original = "upstream app_backend {\n\tserver 127.0.0.1:8000;\n}\n";
    std::fs::write(&app, original).expect("app");
    host.var("app_site", json!(app.display().to_string()));
    let listed = enabled(&host);
    assert!(nginx_t(&host).status.success());

    // A failing run: rolled back, and nginx still loads exactly what it loaded before.
    host.plan_json(&plan(true));
    host.run("apply", &[])
        .code(1)
        .stdout_has("FAILED (rolled back)");
    assert_eq!(std::fs::read_to_string(&app).expect("app"), original);
    assert_eq!(enabled(&host), listed, "a file was left in sites-enabled");
    let t = nginx_t(&host);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));

    // A good run: changed, the backup kept under the state directory.
    host.plan_json(&plan(false));
    host.run("apply", &[]).code(0).stdout_has(&format!(
        "backup: /var/lib/wsdeploy/backups/{}{}",
        chrono::Utc::now().format("%Y-%m-%d"),
        app.display()
    ));
    assert_eq!(enabled(&host), listed, "a file was left in sites-enabled");
    assert!(nginx_t(&host).status.success());
}
