//! The Frappe plan against a bench laid out as `bench setup nginx` / `bench init` leave it
//! (copies on this machine, `connection: local`, dry runs: nothing is written): it repairs
//! bench's own `location /socket.io` in place, keeps a pristine bench in sync, takes
//! `socketio_port` from the bench's common_site_config.json (the realtime server's default
//! when unset), and its CONNECT check sends a cookie.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::Path;

use support::project::Project;
use support::reliability::tree_sums;

/// The nginx file `bench setup nginx` writes for site1.local (the lab's copy).
fn bench_nginx() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/lab/roles/frappe/bench/config/nginx.conf"),
    )
    .expect("bench nginx.conf")
}

/// A project whose `frappe` host is this machine with a bench under `<project>/root`:
/// `nginx_file` as bench/config/nginx.conf (loaded through conf.d, as `bench setup
/// production` links it) and `common_site_config` as the bench's config.
fn bench_project(nginx_file: &str, common_site_config: &str, extra_vars: &str) -> Project {
    // Its dry runs see a journal of their own (`host_state`), not this machine's.
    let p = Project::with_own_state();
    let root = p.path().join("root");
    let r = root.display();
    p.file(
        "root/etc/nginx/nginx.conf",
        &format!("events {{}}\nhttp {{\n\tinclude {r}/etc/nginx/conf.d/*.conf;\n}}\n"),
    );
    p.file("root/frappe-bench/config/nginx.conf", nginx_file);
    p.file(
        "root/frappe-bench/sites/common_site_config.json",
        common_site_config,
    );
    // A Frappe v15 bench: its realtime server and the version the plan's preflight reads.
    p.file("root/frappe-bench/apps/frappe/realtime/index.js", "");
    p.file(
        "root/frappe-bench/apps/frappe/frappe/__init__.py",
        "import os\n\n__version__ = \"15.45.2\"\n__title__ = \"Frappe Framework\"\n",
    );
    std::fs::create_dir_all(root.join("etc/nginx/conf.d")).expect("mkdir");
    std::os::unix::fs::symlink(
        root.join("frappe-bench/config/nginx.conf"),
        root.join("etc/nginx/conf.d/frappe-bench.conf"),
    )
    .expect("symlink");
    p.file(
        "inventories/bench/hosts.yml",
        &format!(
            "all:\n  children:\n    frappe:\n      hosts:\n        erp-1:\n          ansible_connection: local\n      vars:\n        public_host: 203.0.113.20\n        site_name: site1.local\n        bench_dir: {r}/frappe-bench\n        site_conf: {r}/etc/nginx/conf.d/frappe-bench.conf\n        nginx_dump_cmd: nginx -T -c {r}/etc/nginx/nginx.conf\n        nginx_test_cmd: nginx -t -c {r}/etc/nginx/nginx.conf\n        realtime_status_cmd: echo frappe-bench-node-socketio RUNNING\n{extra_vars}"
        ),
    );
    let plan = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/frappe-socketio.yml"),
    )
    .expect("plan");
    p.file("plans/site.yml", &plan);
    p
}

const CONFIG_9000: &str = "{\n \"default_site\": \"site1.local\",\n \"socketio_port\": 9000,\n \"webserver_port\": 8000\n}";

#[cfg(feature = "host-tests")]
#[test]
fn a_pristine_bench_is_in_sync() {
    let p = bench_project(&bench_nginx(), CONFIG_9000, "");
    let before = tree_sums(p.path());
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(0)
        .stdout_has("1 in sync");
    assert_eq!(tree_sums(p.path()), before);
}

#[cfg(feature = "host-tests")]
#[test]
fn a_socketio_block_without_the_site_name_is_repaired_in_place_as_bench_writes_it() {
    // The field's block: Origin passed through from the browser, no X-Frappe-Site-Name.
    let damaged = bench_nginx().replace(
        "\t\tproxy_set_header X-Frappe-Site-Name site1.local;\n\t\tproxy_set_header Origin $scheme://$http_host;\n",
        "\t\tproxy_set_header Origin $http_origin;\n",
    );
    assert_ne!(damaged, bench_nginx());
    let p = bench_project(&damaged, CONFIG_9000, "");
    let run = p.run(&["apply", "-i", "bench", "--dry-run"]);
    run.code(0)
        .stdout_has("-\t\tproxy_set_header Origin $http_origin;")
        .stdout_has("+\t\tproxy_set_header X-Frappe-Site-Name site1.local;")
        .stdout_has("+\t\tproxy_set_header Origin $scheme://$http_host;")
        .stdout_has("1 would change");
    // In place: one location /socket.io, where bench put it, and nothing else changed.
    assert!(
        !run.stdout.contains("+\tlocation /socket.io"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("map $http_upgrade"), "{}", run.stdout);
}

#[cfg(feature = "host-tests")]
#[test]
fn an_operators_socketio_block_keeps_its_headers_and_gets_only_what_it_lacks() {
    // A multi-tenant bench's site header and no Upgrade header: only the Upgrade line is
    // added, where bench has it; the operator's `$host` stays.
    let edited = bench_nginx()
        .replace(
            "proxy_set_header X-Frappe-Site-Name site1.local;",
            "proxy_set_header X-Frappe-Site-Name $host;",
        )
        .replace("\t\tproxy_set_header Upgrade $http_upgrade;\n", "");
    assert_ne!(edited, bench_nginx());
    let p = bench_project(&edited, CONFIG_9000, "");
    let run = p.run(&["apply", "-i", "bench", "--dry-run"]);
    run.code(0)
        .stdout_has("+\t\tproxy_set_header Upgrade $http_upgrade;")
        .stdout_has("1 would change");
    assert!(
        !run.stdout.contains("X-Frappe-Site-Name site1.local")
            && !run
                .stdout
                .contains("-\t\tproxy_set_header X-Frappe-Site-Name $host;")
            && !run.stdout.contains("+\tlocation /socket.io"),
        "{}",
        run.stdout
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn socketio_port_comes_from_common_site_config() {
    let moved = "{\n \"default_site\": \"site1.local\",\n \"socketio_port\": 9050,\n \"webserver_port\": 8000\n}";
    let p = bench_project(&bench_nginx(), moved, "");
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(0)
        .stdout_has("-    server 127.0.0.1:9000 fail_timeout=0;")
        .stdout_has("+\tserver 127.0.0.1:9050 fail_timeout=0;")
        .stdout_has("1 would change");
    // Set in the inventory, the value wins and the file is not consulted.
    let p = bench_project(&bench_nginx(), moved, "        socketio_port: 9000\n");
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(0)
        .stdout_has("1 in sync");
}

#[cfg(feature = "host-tests")]
#[test]
fn an_unset_socketio_port_is_the_realtime_servers_default() {
    // Frappe's node_utils.js listens on 3000 when common_site_config.json has no
    // socketio_port (bench init always writes 9000).
    let unset = "{\n \"default_site\": \"site1.local\",\n \"webserver_port\": 8000\n}";
    let p = bench_project(&bench_nginx(), unset, "");
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(0)
        .stdout_has("+\tserver 127.0.0.1:3000 fail_timeout=0;");
}

#[test]
fn a_common_site_config_that_is_not_json_fails_the_host_naming_the_file() {
    let p = bench_project(&bench_nginx(), "{ \"socketio_port\": ", "");
    let run = p.run(&["apply", "-i", "bench", "--dry-run"]);
    run.code(1)
        .stdout_has("fact `socketio_port`: ")
        .stdout_has("frappe-bench/sites/common_site_config.json: not JSON");
}

#[test]
fn the_connect_check_sends_a_cookie_and_the_site_name() {
    let plan = wsdeploy::plan::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/frappe-socketio.yml"),
    )
    .expect("plan loads");
    let play = &plan.plays[0];
    let mut vars = serde_json::Map::new();
    for (k, v) in [
        ("public_host", "203.0.113.20"),
        ("site_conf", "/etc/nginx/conf.d/frappe-bench.conf"),
        ("site_name", "site1.local"),
        ("socketio_port", "9000"),
        ("developer_mode", "0"),
        ("webserver_port", "8000"),
    ] {
        vars.insert(k.into(), serde_json::Value::String(v.into()));
    }
    let vars = wsdeploy::plan::merge_vars(play, "erp-1", &vars, &serde_json::Map::new());
    let host = wsdeploy::plan::render_play(
        play,
        "erp-1",
        wsdeploy::plan::Inputs {
            vars,
            ..Default::default()
        },
    )
    .expect("renders");
    let connect = host
        .steps
        .iter()
        .find(|s| s.id == "socketio_connect")
        .expect("socketio_connect step");
    let wsdeploy::plan::Action::Verify(check) = &connect.action else {
        panic!("not a check")
    };
    let wsdeploy::plan::Probe::Command { run, contains, .. } = &check.probe else {
        panic!("not a command check")
    };
    assert!(run.contains("-b 'sid=Guest'"), "{run}");
    assert!(run.contains("--data-binary '40/site1.local,'"), "{run}");
    assert!(
        run.contains("--resolve '203.0.113.20:80:127.0.0.1'"),
        "{run}"
    );
    assert_eq!(contains.as_deref(), Some("40/site1.local,{\"sid\""));
}

#[test]
fn with_https_the_checks_speak_tls_with_sni_public_host() {
    let plan = wsdeploy::plan::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/frappe-socketio.yml"),
    )
    .expect("plan loads");
    let play = &plan.plays[0];
    let mut vars = serde_json::Map::new();
    for (k, v) in [
        ("public_host", "erp.example.com"),
        ("site_conf", "/etc/nginx/conf.d/frappe-bench.conf"),
        ("socketio_port", "9000"),
        ("developer_mode", "0"),
        ("webserver_port", "8000"),
        ("public_scheme", "https"),
        ("check_ca_file", "/etc/wsdeploy/ca.pem"),
        (
            "check_host_ca_file",
            "/usr/local/share/ca-certificates/lab.crt",
        ),
    ] {
        vars.insert(k.into(), serde_json::Value::String(v.into()));
    }
    let vars = wsdeploy::plan::merge_vars(play, "erp-1", &vars, &serde_json::Map::new());
    let host = wsdeploy::plan::render_play(
        play,
        "erp-1",
        wsdeploy::plan::Inputs {
            vars,
            ..Default::default()
        },
    )
    .expect("renders");
    let probe = |id: &str| {
        let step = host.steps.iter().find(|s| s.id == id).expect("step");
        let wsdeploy::plan::Action::Verify(check) = &step.action else {
            panic!("not a check")
        };
        check.probe.clone()
    };
    for id in ["polling_handshake", "websocket_upgrade"] {
        let target = match probe(id) {
            wsdeploy::plan::Probe::Http { target, .. }
            | wsdeploy::plan::Probe::WebSocket { target, .. } => target,
            wsdeploy::plan::Probe::Command { .. } => panic!("command"),
        };
        assert_eq!(
            (target.host.as_str(), target.port),
            ("127.0.0.1", 443),
            "{id}"
        );
        let tls = target.tls.expect("TLS");
        assert_eq!(tls.server_name, "erp.example.com");
        assert_eq!(tls.ca_file.as_deref(), Some("/etc/wsdeploy/ca.pem"));
    }
    let wsdeploy::plan::Probe::Command { run, .. } = probe("socketio_connect") else {
        panic!("not a command check")
    };
    assert!(
        run.contains("base='https://erp.example.com:443/socket.io/?EIO=4&transport=polling'"),
        "{run}"
    );
    assert!(
        run.contains("--resolve 'erp.example.com:443:127.0.0.1'"),
        "{run}"
    );
    assert!(
        run.contains("--cacert '/usr/local/share/ca-certificates/lab.crt'"),
        "{run}"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_frappe_v14_bench_is_refused_by_the_dry_run_naming_the_version() {
    // The realtime server moved to 9001: a change, so the preflight runs.
    let config = CONFIG_9000.replace("9000", "9001");
    let p = bench_project(&bench_nginx(), &config, "");
    let root = p.path().join("root");
    // Frappe v14: socketio.js at the app's root, one namespace.
    std::fs::remove_dir_all(root.join("frappe-bench/apps/frappe/realtime")).expect("rm");
    p.file("root/frappe-bench/apps/frappe/socketio.js", "");
    p.file(
        "root/frappe-bench/apps/frappe/frappe/__init__.py",
        "__version__ = '14.82.1'\n",
    );
    let before = tree_sums(p.path());
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(1)
        .stdout_has("Frappe major version 14")
        .stdout_has("Frappe v14 and older serve one namespace");
    assert_eq!(tree_sums(p.path()), before);
}

#[cfg(feature = "host-tests")]
#[test]
fn a_bench_without_a_realtime_server_is_refused_and_gets_no_upstream() {
    let p = bench_project(&bench_nginx(), "{}", "");
    let root = p.path().join("root");
    std::fs::remove_dir_all(root.join("frappe-bench/apps/frappe/realtime")).expect("rm");
    let before = tree_sums(p.path());
    for args in [
        &["apply", "-i", "bench", "--dry-run"][..],
        &["apply", "-i", "bench"],
    ] {
        let run = p.run(args);
        run.code(1).stdout_has("has no realtime server");
        assert!(!run.stdout.contains("would change"), "{}", run.stdout);
    }
    assert_eq!(tree_sums(p.path()), before);
}

#[cfg(feature = "host-tests")]
#[test]
fn a_bench_with_only_the_v15_realtime_layout_passes_the_version_check() {
    let config = CONFIG_9000.replace("9000", "9001");
    let p = bench_project(&bench_nginx(), &config, "");
    // No apps/frappe/frappe/__init__.py (only the realtime server is installed, as in the
    // lab): apps/frappe/realtime/index.js is v15's layout.
    std::fs::remove_file(
        p.path()
            .join("root/frappe-bench/apps/frappe/frappe/__init__.py"),
    )
    .expect("rm");
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(0)
        .stdout_has("1 would change");
}

#[cfg(feature = "host-tests")]
#[test]
fn developer_mode_is_refused_unless_the_web_server_answers_where_realtime_asks() {
    // developer_mode 1 (the field report's config): the realtime server asks get_user_info
    // at http://<public_host>:<webserver_port>, here a port nothing listens on.
    let config = "{\n \"developer_mode\": 1,\n \"socketio_port\": 9001,\n \"webserver_port\": 9\n}";
    let p = bench_project(&bench_nginx(), config, "");
    let before = tree_sums(p.path());
    let run = p.run(&[
        "apply",
        "-i",
        "bench",
        "--dry-run",
        "-e",
        "public_host=127.0.0.1",
    ]);
    run.code(1)
        .stdout_has("developer_mode is 1 in ")
        .stdout_has("http://127.0.0.1:9 (the bench's web server directly, not nginx)")
        .stdout_has("bench set-config -g developer_mode 0");
    assert!(!run.stdout.contains("would change"), "{}", run.stdout);
    assert_eq!(tree_sums(p.path()), before);
    // Off (or set to 0 in the inventory), the preflight does not ask.
    let p = bench_project(&bench_nginx(), config, "        developer_mode: 0\n");
    p.run(&[
        "apply",
        "-i",
        "bench",
        "--dry-run",
        "-e",
        "public_host=127.0.0.1",
    ])
    .code(0)
    .stdout_has("1 would change");
}

/// `bench_project` with plans/frappe-socketio-port.yml as its plan, the bench's supervisor
/// program (as `bench setup supervisor` writes it) and the nginx file the plan writes
/// under the project's root.
fn port_project(common_site_config: &str) -> Project {
    let p = bench_project(&bench_nginx(), common_site_config, "");
    let r = p.path().join("root").display().to_string();
    p.file(
        "root/etc/supervisor/conf.d/frappe-bench.conf",
        "[program:frappe-bench-node-socketio]\ncommand=/usr/bin/node /home/frappe/frappe-bench/apps/frappe/socketio.js\n",
    );
    let plan = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/frappe-socketio-port.yml"),
    )
    .expect("plan");
    p.file("plans/site.yml", &plan);
    let inventory =
        std::fs::read_to_string(p.path().join("inventories/bench/hosts.yml")).expect("inventory");
    p.file(
        "inventories/bench/hosts.yml",
        &format!(
            "{inventory}        supervisor_conf: {r}/etc/supervisor/conf.d/frappe-bench.conf\n        socketio_server_conf: {r}/etc/nginx/conf.d/frappe-bench-socketio-port.conf\n"
        ),
    );
    p
}

#[cfg(feature = "host-tests")]
#[test]
fn the_port_plans_server_serves_socketio_and_realtimes_calls_and_nothing_else() {
    let p = port_project(CONFIG_9000);
    let run = p.run(&["apply", "-i", "bench", "--dry-run"]);
    run.code(0)
        .stdout_has("+    listen 9000;")
        .stdout_has("+    location /socket.io {")
        .stdout_has("+    location ^~ /api/method/frappe.realtime. {")
        .stdout_has("+    location / {\n+        return 404;\n+    }")
        .stdout_has("1 would change");
    // The web server is reached from one location only (the realtime calls).
    assert_eq!(
        run.stdout
            .matches("proxy_pass http://127.0.0.1:8000;")
            .count(),
        1,
        "{}",
        run.stdout
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn the_port_plan_refuses_frappe_v14_and_developer_mode_it_cannot_serve() {
    let p = port_project(CONFIG_9000);
    p.file(
        "root/frappe-bench/apps/frappe/frappe/__init__.py",
        "__version__ = '14.82.1'\n",
    );
    let before = tree_sums(p.path());
    p.run(&["apply", "-i", "bench", "--dry-run"])
        .code(1)
        .stdout_has("Frappe major version 14")
        .stdout_has("Frappe v14 and older serve one namespace");
    assert_eq!(tree_sums(p.path()), before);

    let config = "{\n \"developer_mode\": 1,\n \"socketio_port\": 9000,\n \"webserver_port\": 9\n}";
    let p = port_project(config);
    let before = tree_sums(p.path());
    p.run(&[
        "apply",
        "-i",
        "bench",
        "--dry-run",
        "-e",
        "public_host=127.0.0.1",
    ])
    .code(1)
    .stdout_has("developer_mode is 1 in ")
    .stdout_has("http://127.0.0.1:9 (the bench's web server directly, not nginx)");
    assert_eq!(tree_sums(p.path()), before);
}

#[test]
fn the_port_url_is_credited_to_frappe_react_sdk_not_frappe_js_sdk() {
    // Raven's frontend gets `http://<host>:9000/<site>` from frappe-react-sdk's SocketIO
    // class (given Raven's build-time VITE_SOCKET_PORT); frappe-js-sdk builds no socket URL.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "plans/frappe-socketio.yml",
        "plans/frappe-socketio-port.yml",
        "docs/shipped-plans.md",
        "tests/lab/README.md",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("read");
        assert!(
            !text.contains("frappe-js-sdk"),
            "{file} names frappe-js-sdk"
        );
        assert!(
            text.contains("frappe-react-sdk") && text.contains("VITE_SOCKET_PORT"),
            "{file} does not name frappe-react-sdk and VITE_SOCKET_PORT"
        );
    }
}
