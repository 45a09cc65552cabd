//! End to end on the lab: the Frappe Socket.IO plan applied over real SSH to real hosts
//! (sshd, nginx, a frappe-bench's realtime server on npm's socket.io behind Frappe's
//! authentication middleware, under supervisor). Before the run the hosts show the field
//! report's symptoms (no Socket.IO through nginx, `Invalid origin` on the realtime port);
//! one apply fixes them, a second changes nothing, and a realtime server that cannot start
//! after the change rolls a host back to its exact bytes with the old server running.

mod support;

use support::lab::{self, Lab};

/// What the plan edits on a frappe host.
const WATCHED: &str = "/etc/nginx /home/frappe/frappe-bench/sites";
const REALTIME: &str = "frappe-bench-web:frappe-bench-node-socketio";
const POLLING: &str = "/socket.io/?EIO=4&transport=polling";

/// A Socket.IO CONNECT to the site's namespace over long-polling on `base` (e.g.
/// `http://127.0.0.1` for nginx) with the given curl header arguments; returns the server's
/// answer to the CONNECT packet (`40/<site>,{"sid":...}` or `44/<site>,{"message":...}`).
fn socketio_connect(lab: &Lab, i: usize, base: &str, headers: &str) -> String {
    let site = lab.ip(i);
    lab.ok(
        i,
        &format!(
            "sid=$(curl -fsS --max-time 2 {headers} '{base}{POLLING}' | sed -n 's/.*\"sid\":\"\\([^\"]*\\)\".*/\\1/p'); \
             test -n \"$sid\" || {{ echo 'no Engine.IO session'; exit 1; }}; \
             curl -fsS --max-time 2 {headers} --data-binary '40/{site},' \"{base}{POLLING}&sid=$sid\" >/dev/null && \
             curl -fsS --max-time 2 {headers} \"{base}{POLLING}&sid=$sid\""
        ),
    )
}

/// The headers a browser on the site sends through nginx.
fn site_headers(lab: &Lab, i: usize) -> String {
    let ip = lab.ip(i);
    format!("-H 'Host: {ip}' -H 'Origin: http://{ip}'")
}

fn realtime_log(lab: &Lab, i: usize) -> String {
    lab.ok(i, "cat /home/frappe/frappe-bench/logs/node-socketio.log")
}

fn assert_bench_healthy(lab: &Lab, i: usize) {
    lab.ok(i, "nginx -t");
    lab.ok(
        i,
        &format!(
            "for n in $(seq 1 30); do curl -sf --max-time 2 'http://127.0.0.1:9000{POLLING}' | grep -q '\"sid\"' && exit 0; sleep 1; done; exit 1"
        ),
    );
    lab.ok(
        i,
        &format!("supervisorctl status {REALTIME} | grep -q RUNNING"),
    );
    lab.ok(i, "curl -sf http://127.0.0.1:8000/api/method/ping");
}

#[test]
fn seed_symptoms_then_one_apply_fixes_them_and_a_second_changes_nothing() {
    let lab = Lab::up_role("frappe", 2, "frappe");
    let before: Vec<String> = (1..=2).map(|i| lab.tree_sums(i, WATCHED)).collect();

    for i in 1..=2 {
        let ip = lab.ip(i);
        // Through nginx, /socket.io reaches the Frappe web server: no handshake at all.
        let polling = lab.sh(
            i,
            &format!(
                "curl -s -i --max-time 2 {} 'http://127.0.0.1{POLLING}'",
                site_headers(&lab, i)
            ),
        );
        assert!(
            polling.1.starts_with("HTTP/1.1 404"),
            "host {i}: {}",
            polling.1
        );
        let upgrade = lab.curl_handshake(
            i,
            "http://127.0.0.1/socket.io/?EIO=4&transport=websocket",
            &site_headers(&lab, i),
        );
        assert!(!upgrade.contains(" 101 "), "host {i}: {upgrade}");
        // On the realtime port, as the report's client connected (Host: localhost, no Origin).
        let refused = socketio_connect(&lab, i, "http://127.0.0.1:9000", "-H 'Host: localhost'");
        assert!(
            refused.contains(&format!("44/{ip},{{\"message\":\"Invalid origin\"}}")),
            "host {i}: {refused}"
        );
        assert!(realtime_log(&lab, i).contains("authentication failed: Invalid origin"));
    }

    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("+    location /socket.io {")
        .stdout_has("+ \"socketio_port\": 9000")
        .stdout_has("2 would change");
    for i in 1..=2 {
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            before[i - 1],
            "dry run changed host {i}"
        );
        lab.ok(i, "test ! -e /var/lib/wsdeploy");
    }

    let realtime_before: Vec<String> = (1..=2)
        .map(|i| lab.supervised_process(i, REALTIME))
        .collect();
    let first = lab.wsdeploy("apply", &[]);
    first
        .code(0)
        .stdout_has("2 changed")
        .stderr_has(
            "lab-1: ran: run `supervisorctl restart frappe-bench-web:frappe-bench-node-socketio`",
        )
        .stderr_has("lab-2: passed: Engine.IO polling handshake through nginx")
        .stderr_has("lab-2: passed: WebSocket upgrade of /socket.io through nginx returns 101")
        .stderr_has("lab-2: passed: Socket.IO CONNECT to namespace");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for i in 1..=2 {
        let ip = lab.ip(i);
        assert_bench_healthy(&lab, i);
        assert_ne!(
            lab.supervised_process(i, REALTIME),
            realtime_before[i - 1],
            "host {i}: the realtime server was not restarted after socketio_port changed"
        );
        let polling = lab.ok(
            i,
            &format!(
                "curl -sf --max-time 2 {} 'http://127.0.0.1{POLLING}'",
                site_headers(&lab, i)
            ),
        );
        assert!(polling.starts_with("0{\"sid\":\""), "host {i}: {polling}");
        let upgrade = lab.curl_handshake(
            i,
            "http://127.0.0.1/socket.io/?EIO=4&transport=websocket",
            &site_headers(&lab, i),
        );
        assert!(upgrade.starts_with("HTTP/1.1 101"), "host {i}: {upgrade}");
        assert!(
            upgrade.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "host {i}: {upgrade}"
        );
        let accepted = socketio_connect(&lab, i, "http://127.0.0.1", &site_headers(&lab, i));
        assert!(
            accepted.starts_with(&format!("40/{ip},{{\"sid\":\"")),
            "host {i}: {accepted}"
        );
        // The middleware still protects the site through nginx: a Host that is not the
        // Origin's hostname is refused, and so is a foreign Origin (its site is not this one).
        let mismatched = socketio_connect(
            &lab,
            i,
            "http://127.0.0.1",
            &format!("-H 'Host: localhost' -H 'Origin: http://{ip}'"),
        );
        assert!(
            mismatched.contains(&format!("44/{ip},{{\"message\":\"Invalid origin\"}}")),
            "host {i}: {mismatched}"
        );
        let foreign = socketio_connect(
            &lab,
            i,
            "http://127.0.0.1",
            &format!("-H 'Host: {ip}' -H 'Origin: http://evil.example'"),
        );
        assert!(
            foreign.starts_with(&format!("44/{ip},")),
            "host {i}: {foreign}"
        );
        // common_site_config.json: one new member, a number, everything else byte-identical.
        let config = lab.ok(
            i,
            "cat /home/frappe/frappe-bench/sites/common_site_config.json",
        );
        let parsed: serde_json::Value = serde_json::from_str(&config).expect("valid JSON");
        assert_eq!(
            parsed["socketio_port"],
            serde_json::json!(9000),
            "host {i}: {config}"
        );
        assert!(
            config.ends_with(" \"webserver_port\": 8000,\n \"socketio_port\": 9000\n}"),
            "host {i}: {config:?}"
        );
        for file in [
            "/etc/nginx/nginx.conf",
            "/etc/nginx/sites-available/frappe-bench.conf",
            "/home/frappe/frappe-bench/sites/common_site_config.json",
        ] {
            let sum = lab.ok(
                i,
                &format!("sha256sum < {file}.backup-{today} | cut -d' ' -f1"),
            );
            assert!(
                before[i - 1].contains(&format!("{}  {file}", sum.trim())),
                "host {i}: the backup of {file} differs from its pre-run bytes"
            );
        }
    }

    let nginx: Vec<String> = (1..=2).map(|i| lab.nginx_pids(i)).collect();
    let realtime: Vec<String> = (1..=2)
        .map(|i| lab.supervised_process(i, REALTIME))
        .collect();
    let sums: Vec<String> = (1..=2).map(|i| lab.tree_sums(i, WATCHED)).collect();
    let second = lab.wsdeploy("apply", &[]);
    second.code(0).stdout_has("2 in sync");
    for i in 1..=2 {
        assert_eq!(
            lab.nginx_pids(i),
            nginx[i - 1],
            "host {i}: nginx was reloaded"
        );
        assert_eq!(
            lab.supervised_process(i, REALTIME),
            realtime[i - 1],
            "host {i}: the realtime server was restarted"
        );
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            sums[i - 1],
            "host {i}: files changed"
        );
    }
}

#[test]
fn realtime_server_that_cannot_start_after_the_change_is_rolled_back() {
    // The new socketio_port is taken (nginx listens on 80): node exits with EADDRINUSE.
    // Supervisor reports a spawn error when node dies within startsecs, otherwise the
    // realtime check finds nothing on the port; either way the rollback restores every
    // file, restarts the realtime server on the old configuration and preflight proves it
    // running.
    let lab = Lab::up_role("frappe-fault", 1, "frappe");
    let project = lab::project_with_plan("frappe-socketio.yml", |plan| {
        plan.replace(
            "        socketio_port: 9000\n",
            "        socketio_port: 80\n",
        )
    });
    let before = lab.sums_without_backups(1, WATCHED);
    let run = lab.wsdeploy_in(project.path(), "apply", &[]);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("error in step `realtime_")
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.sums_without_backups(1, WATCHED),
        before,
        "files differ after the rollback"
    );
    assert_bench_healthy(&lab, 1);
    assert!(
        run.stdout.contains("error in step `realtime_restart`")
            && run.stdout.contains("spawn error")
            || run.stdout.contains("error in step `realtime_up`"),
        "{}",
        run.stdout
    );
    assert!(realtime_log(&lab, 1).contains("EADDRINUSE"));
    let polling = lab.sh(
        1,
        &format!(
            "curl -s -i --max-time 2 {} 'http://127.0.0.1{POLLING}'",
            site_headers(&lab, 1)
        ),
    );
    assert!(
        polling.1.starts_with("HTTP/1.1 404"),
        "the change survived: {}",
        polling.1
    );
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
}
