//! End to end on the lab: the Frappe plans applied over real SSH to real hosts running
//! Frappe's own realtime server (apps/frappe/realtime from frappe, npm socket.io, a real
//! Redis) behind the nginx file `bench setup nginx` writes, under supervisor. The one
//! simulated piece is the web server's `frappe.realtime.get_user_info` answer.
//!
//! - A bench whose `/socket.io` block lost X-Frappe-Site-Name and bench's Origin, and
//!   whose realtime server moved to another socketio_port, is repaired in place (its site,
//!   site1.local, is not the name browsers use); a pristine bench is left alone; a second
//!   apply changes nothing; a failing check rolls a host back.
//! - The field report's topology (page through nginx on :8005, realtime on :9000, a
//!   client that builds `http://host:9000/<site>`) fails with a real Socket.IO client,
//!   and works after `plans/frappe-socketio-port.yml`, whose server on :9000 serves only
//!   realtime (the site's `/app` is a 404 there); a supervisor file that `bench setup
//!   supervisor` wrote back without the port override is reported by drift and repaired,
//!   also once the realtime server failed to bind.
//! - A bench with `developer_mode: 1` is refused before any change with the reason (the
//!   realtime server asks `get_user_info` at `http://<host>:<webserver_port>`, past nginx)
//!   and converges once it is off.

use crate::support;

use support::lab::Lab;
use support::shared_fleet::SharedFleet;

/// The hosts of every test here (6: one each, two for the first), started together; each test takes
/// fresh ones.
static FLEET: SharedFleet = SharedFleet::new("frappe", 6, &["--role", "frappe"]);

/// What the plans edit on a frappe host.
const WATCHED: &str =
    "/etc/nginx /etc/supervisor /home/frappe/frappe-bench/config /home/frappe/frappe-bench/sites";
const REALTIME: &str = "frappe-bench-web:frappe-bench-node-socketio";
const POLLING: &str = "/socket.io/?EIO=4&transport=polling";
const SITE: &str = "site1.local";
const BENCH_NGINX: &str = "/home/frappe/frappe-bench/config/nginx.conf";
const CONFIG: &str = "/home/frappe/frappe-bench/sites/common_site_config.json";
const SUPERVISOR_CONF: &str = "/etc/supervisor/conf.d/frappe-bench.conf";

/// A Socket.IO CONNECT to site1.local's namespace over long-polling on `base` (e.g.
/// `http://127.0.0.1` for nginx) with the given curl arguments; returns the server's answer
/// to the CONNECT packet (`40/<site>,{"sid":...}` or `44/<site>,{"message":...}`).
fn socketio_connect(lab: &Lab, i: usize, base: &str, args: &str) -> String {
    lab.ok(
        i,
        &format!(
            "sid=$(curl -fsS --max-time 2 {args} '{base}{POLLING}' | sed -n 's/.*\"sid\":\"\\([^\"]*\\)\".*/\\1/p'); \
             test -n \"$sid\" || {{ echo 'no Engine.IO session'; exit 1; }}; \
             curl -fsS --max-time 2 {args} --data-binary '40/{SITE},' \"{base}{POLLING}&sid=$sid\" >/dev/null && \
             curl -fsS --max-time 5 {args} \"{base}{POLLING}&sid=$sid\""
        ),
    )
}

/// What a browser on the site sends through nginx: its Host, its session cookie.
fn browser(lab: &Lab, i: usize) -> String {
    format!("-H 'Host: {}' -b sid=Guest", lab.ip(i))
}

/// A project directory whose default plan is the repository's `plans/<plan>`.
fn project_with(plan: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("plans")).expect("mkdir");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plans")
            .join(plan),
        dir.path().join("plans/site.yml"),
    )
    .expect("copy plan");
    dir
}

fn realtime_log(lab: &Lab, i: usize) -> String {
    lab.ok(i, "cat /home/frappe/frappe-bench/logs/node-socketio.log")
}

/// The lab's Raven-like browser client (npm socket.io-client, browser headers) opening
/// `page`; returns its JSON line and exit code.
fn raven_client(lab: &Lab, i: usize, page: &str) -> (i32, String) {
    lab.sh(
        i,
        &format!(
            "cd /tmp && NODE_PATH=/home/frappe/frappe-bench/apps/frappe/node_modules node --no-warnings /opt/lab/role/raven-client.js '{page}'"
        ),
    )
}

fn assert_bench_healthy(lab: &Lab, i: usize, port: u16) {
    lab.ok(i, "nginx -t");
    lab.ok(
        i,
        &format!(
            "for n in $(seq 1 30); do curl -sf --max-time 2 'http://127.0.0.1:{port}{POLLING}' | grep -q '\"sid\"' && exit 0; sleep 1; done; exit 1"
        ),
    );
    lab.ok(
        i,
        &format!("supervisorctl status {REALTIME} | grep -q RUNNING"),
    );
}

/// Host `i` becomes a bench whose realtime server listens on 9050 (common_site_config.json
/// changed, realtime restarted, nginx not regenerated) and whose `/socket.io` block is the
/// one field guides give: Origin passed through, no X-Frappe-Site-Name.
fn damage(lab: &Lab, i: usize) {
    lab.ok(
        i,
        &format!(
            "sed -i 's/\"socketio_port\": 9000/\"socketio_port\": 9050/' {CONFIG} && \
             sed -i -e '/X-Frappe-Site-Name {SITE};/{{N;s/.*\\n\\(.*\\)Origin .*/\\1Origin $http_origin;/}}' {BENCH_NGINX} && \
             grep -q 'Origin $http_origin;' {BENCH_NGINX} && \
             supervisorctl restart {REALTIME} && nginx -t"
        ),
    );
    assert_bench_healthy(lab, i, 9050);
}

/// Port 9000 serves realtime only: the site's pages and API are not there over plain
/// http, the calls the realtime server makes to Frappe are.
fn assert_port_serves_realtime_only(lab: &Lab, ip: &str) {
    for path in ["/app", "/api/method/frappe.auth.get_logged_user"] {
        let (_, answer) = lab.sh(
            1,
            &format!("curl -s -i --max-time 2 -b sid=Guest -H 'Host: {ip}:9000' 'http://127.0.0.1:9000{path}'"),
        );
        assert!(
            answer.starts_with("HTTP/1.1 404") && answer.contains("Server: nginx"),
            "{path}: {answer}"
        );
    }
    let user_info = lab.ok(
        1,
        &format!("curl -sf --max-time 2 -b sid=Guest -H 'Host: {ip}:9000' 'http://127.0.0.1:9000/api/method/frappe.realtime.get_user_info'"),
    );
    assert!(user_info.contains("\"user\": \"Guest\""), "{user_info}");
}

/// `bench setup supervisor` writes the realtime program back without the environment
/// line (`supervisor_before`, the file as it was before the plan): drift shows it and
/// apply puts it back, also once supervisor loaded it and the server failed to bind.
fn supervisor_conf_rewritten_by_bench_is_reported_and_repaired(
    lab: &Lab,
    project: &tempfile::TempDir,
    page: &str,
    supervisor_before: &str,
) {
    // Written back, not loaded yet: drift shows it, and apply puts it back with the
    // realtime server still on 9010.
    lab.ok(
        1,
        &format!("cat > {SUPERVISOR_CONF} <<'WSDEPLOY_EOF'\n{supervisor_before}\nWSDEPLOY_EOF"),
    );
    let drift = lab.wsdeploy_in(project.path(), "drift", &[]);
    drift.code(2).stdout_has("1 would change");
    assert!(
        drift
            .stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains("environment=FRAPPE_SOCKETIO_PORT=\"9010\"")),
        "{}",
        drift.stdout
    );
    lab.wsdeploy_in(project.path(), "apply", &[])
        .code(0)
        .stdout_has("1 changed")
        .stderr_has("lab-1: passed: Socket.IO CONNECT to /site1.local on port 9000, with a cookie, is accepted");
    lab.wsdeploy_in(project.path(), "drift", &[])
        .code(0)
        .stdout_has("1 in sync");
    let (code, again) = raven_client(lab, 1, page);
    assert_eq!(code, 0, "{again}");

    // Written back and loaded (`supervisorctl update`, as a reboot would): the realtime
    // server returns to 9000, which nginx holds, and fails to bind. A real bench's program
    // then ends FATAL (startsecs 1, startretries 3); here, where node can take longer than
    // startsecs to fail, it is stopped after its first EADDRINUSE: not running either way.
    // apply still repairs it.
    lab.ok(
        1,
        &format!(
            "cat > {SUPERVISOR_CONF} <<'WSDEPLOY_EOF'\n{supervisor_before}\nWSDEPLOY_EOF\n\
             : > /home/frappe/frappe-bench/logs/node-socketio.log; \
             supervisorctl update frappe-bench-web; \
             for n in $(seq 1 60); do grep -q EADDRINUSE /home/frappe/frappe-bench/logs/node-socketio.log && break; sleep 0.5; done; \
             supervisorctl stop {REALTIME}; grep -q EADDRINUSE /home/frappe/frappe-bench/logs/node-socketio.log"
        ),
    );
    lab.wsdeploy_in(project.path(), "apply", &[])
        .code(0)
        .stdout_has("1 changed")
        .stderr_has("has no FRAPPE_SOCKETIO_PORT=\"9010\" (rewritten by bench setup supervisor?)")
        .stderr_has("lab-1: passed: Socket.IO CONNECT to /site1.local on port 9000, with a cookie, is accepted");
    let (code, again) = raven_client(lab, 1, page);
    assert_eq!(code, 0, "{again}");
}

#[test]
fn damaged_bench_is_repaired_in_place_a_pristine_one_left_alone_and_a_second_apply_changes_nothing()
{
    let lab = FLEET.take("main", 2);
    let pristine = lab.ok(1, &format!("cat {BENCH_NGINX}"));
    damage(&lab, 2);

    // Bench's own file works with Frappe's realtime server: a browser's request (with its
    // cookie) is accepted, one without a cookie is refused as the server does.
    let accepted = socketio_connect(&lab, 1, "http://127.0.0.1", &browser(&lab, 1));
    assert!(
        accepted.starts_with(&format!("40/{SITE},{{\"sid\":\"")),
        "{accepted}"
    );
    let no_cookie = socketio_connect(
        &lab,
        1,
        "http://127.0.0.1",
        &format!("-H 'Host: {}'", lab.ip(1)),
    );
    assert!(
        no_cookie.contains(&format!(
            "44/{SITE},{{\"message\":\"No cookie transmitted.\"}}"
        )),
        "{no_cookie}"
    );
    // The damaged bench: nothing behind the upstream (502), and once the realtime server
    // is reached, the namespace is refused.
    let polling = lab.sh(
        2,
        &format!(
            "curl -s -i --max-time 2 -H 'Host: {}' 'http://127.0.0.1{POLLING}'",
            lab.ip(2)
        ),
    );
    assert!(polling.1.starts_with("HTTP/1.1 502"), "{}", polling.1);

    let before: Vec<String> = (1..=2).map(|i| lab.tree_sums(i, WATCHED)).collect();
    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("+\tserver 127.0.0.1:9050 fail_timeout=0;")
        .stdout_has("+\t\tproxy_set_header X-Frappe-Site-Name site1.local;")
        .stdout_has("1 would change, 1 in sync");
    for i in 1..=2 {
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            before[i - 1],
            "dry run changed host {i}"
        );
    }

    let nginx_1 = lab.nginx_pids(1);
    let first = lab.wsdeploy("apply", &[]);
    first
        .code(0)
        .stdout_has("1 changed, 1 in sync")
        .stderr_has("lab-2: passed: the realtime server answers an Engine.IO handshake on port 9050")
        .stderr_has("lab-2: passed: WebSocket upgrade of /socket.io through nginx returns 101")
        .stderr_has("lab-2: passed: Socket.IO CONNECT to namespace /site1.local through nginx, with a cookie, is accepted");
    assert_eq!(
        lab.nginx_pids(1),
        nginx_1,
        "the pristine bench was reloaded"
    );
    assert_eq!(
        lab.tree_sums(1, WATCHED),
        before[0],
        "the pristine bench changed"
    );
    // Repaired in place: bench's file, byte for byte, with the realtime server's port.
    assert_eq!(
        lab.ok(2, &format!("cat {BENCH_NGINX}")),
        pristine
            .replace(
                "127.0.0.1:9000 fail_timeout=0;",
                "127.0.0.1:9050 fail_timeout=0;"
            )
            .replacen("    server 127.0.0.1:9050", "\tserver 127.0.0.1:9050", 1)
    );
    let accepted = socketio_connect(&lab, 2, "http://127.0.0.1", &browser(&lab, 2));
    assert!(
        accepted.starts_with(&format!("40/{SITE},{{\"sid\":\"")),
        "{accepted}"
    );
    let upgrade = lab.curl_handshake(
        2,
        "http://127.0.0.1/socket.io/?EIO=4&transport=websocket",
        &format!("-H 'Host: {}'", lab.ip(2)),
    );
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");
    assert!(
        lab.ok(2, "cat /home/frappe/frappe-bench/logs/web.log")
            .contains("get_user_info site=site1.local cookie='sid=Guest'")
    );

    // Both hosts pass every check of the plan (the pristine one was never touched).
    lab.wsdeploy("verify", &[]).code(0);

    let nginx: Vec<String> = (1..=2).map(|i| lab.nginx_pids(i)).collect();
    let sums: Vec<String> = (1..=2).map(|i| lab.tree_sums(i, WATCHED)).collect();
    lab.wsdeploy("apply", &[]).code(0).stdout_has("2 in sync");
    for i in 1..=2 {
        assert_eq!(
            lab.nginx_pids(i),
            nginx[i - 1],
            "host {i}: nginx was reloaded"
        );
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            sums[i - 1],
            "host {i}: files changed"
        );
    }
}

#[test]
fn a_check_the_realtime_server_fails_rolls_the_host_back() {
    // socketio_port set by hand to a port nothing listens on: nginx is repaired to it, the
    // realtime check fails, every file comes back and nginx is reloaded on them.
    let lab = FLEET.take("fault", 1);
    damage(&lab, 1);
    let before = lab.sums_without_backups(1, WATCHED);
    let run = lab.wsdeploy("apply", &["-e", "socketio_port=9099"]);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("error in step `realtime_up`")
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.sums_without_backups(1, WATCHED),
        before,
        "files differ after the rollback"
    );
    assert_bench_healthy(&lab, 1, 9050);
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
}

#[test]
fn seed_topology_a_client_that_connects_to_port_9000_works_once_nginx_listens_there() {
    let lab = FLEET.take("seed", 1);
    let ip = lab.ip(1);
    lab.ok(1, "/opt/lab/role/seed-topology.sh");
    let page = format!("http://{ip}:8005/raven");

    // The report: the page comes through nginx on :8005, the client goes to :9000 itself,
    // and Frappe's realtime server refuses it (the site is not the page's host name).
    let (code, before) = raven_client(&lab, 1, &page);
    assert_eq!(code, 2, "{before}");
    assert!(
        before.contains(&format!(
            "{{\"url\":\"http://{ip}:9000/site1.local\",\"connected\":false,\"error\":\"Invalid namespace\"}}"
        )),
        "{before}"
    );
    // The report's debug evidence (`host: 'localhost', origin: undefined`) is refused too.
    let evidence = socketio_connect(
        &lab,
        1,
        "http://127.0.0.1:9000",
        "-H 'Host: localhost' -b sid=Guest",
    );
    assert!(evidence.contains("Invalid origin"), "{evidence}");
    assert!(realtime_log(&lab, 1).contains("listening on:  9000"));

    let supervisor_before = lab.ok(1, &format!("cat {SUPERVISOR_CONF}"));
    let project = project_with("frappe-socketio-port.yml");
    let first = lab.wsdeploy_in(project.path(), "apply", &[]);
    first
        .code(0)
        .stdout_has("+    listen 9000;")
        .stdout_has("1 changed")
        .stderr_has("lab-1: passed: the realtime server answers on port 9010")
        .stderr_has("lab-1: passed: Socket.IO CONNECT to /site1.local on port 9000, with a cookie, is accepted");

    let (code, after) = raven_client(&lab, 1, &page);
    assert_eq!(code, 0, "{after}");
    assert!(
        after.contains(&format!(
            "{{\"url\":\"http://{ip}:9000/site1.local\",\"connected\":true,\"transport\":\"websocket\"}}"
        )),
        "{after}"
    );
    // nginx holds 9000, the realtime server 9010; the page still comes through :8005 and
    // the boot still says 9000.
    let listening = lab.ok(1, "ss -Hltnp");
    assert!(
        listening.contains("0.0.0.0:9000") && listening.contains("\"nginx\""),
        "{listening}"
    );
    assert!(
        listening.contains(":9010") && listening.contains("\"node\""),
        "{listening}"
    );
    let boot = lab.ok(1, &format!("curl -sf '{page}'"));
    assert!(boot.contains("\"socketio_port\": 9000"), "{boot}");

    assert_port_serves_realtime_only(&lab, &ip);

    let second = lab.wsdeploy_in(project.path(), "apply", &[]);
    second.code(0).stdout_has("1 in sync");

    supervisor_conf_rewritten_by_bench_is_reported_and_repaired(
        &lab,
        &project,
        &page,
        &supervisor_before,
    );
}

#[test]
fn developer_mode_is_refused_with_the_reason_until_it_is_off() {
    // developer_mode 1 (the field report's common_site_config.json): Frappe's realtime
    // server asks get_user_info at http://<Origin host>:8000, where the bench's web server
    // (127.0.0.1 only) does not answer, so every connection through nginx is refused.
    let lab = FLEET.take("devmode", 1);
    damage(&lab, 1);
    lab.ok(
        1,
        &format!(
            "python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c[\"developer_mode\"]=1; open(sys.argv[1],\"w\").write(json.dumps(c, indent=1))' {CONFIG} && supervisorctl restart {REALTIME}"
        ),
    );
    assert_bench_healthy(&lab, 1, 9050);
    let before = lab.tree_sums(1, WATCHED);
    let run = lab.wsdeploy("apply", &[]);
    run.code(1)
        .stdout_has(
            "developer_mode is 1 in /home/frappe/frappe-bench/sites/common_site_config.json",
        )
        .stdout_has(&format!(
            "http://{}:8000 (the bench's web server directly, not nginx)",
            lab.ip(1)
        ))
        .stdout_has("bench set-config -g developer_mode 0");
    assert_eq!(lab.tree_sums(1, WATCHED), before, "a refused host changed");
    // The real server does what the refusal says, with the headers bench's location sends
    // (here straight to it on 9050): `Unauthorized`.
    let ip = lab.ip(1);
    let refused = socketio_connect(
        &lab,
        1,
        "http://127.0.0.1:9050",
        &format!(
            "-H 'Host: {ip}' -H 'Origin: http://{ip}' -H 'X-Frappe-Site-Name: {SITE}' -b sid=Guest"
        ),
    );
    assert!(refused.contains("Unauthorized"), "{refused}");

    // The fix the hint names: developer_mode off and the realtime server restarted.
    lab.ok(
        1,
        &format!(
            "sed -i 's/\"developer_mode\": 1/\"developer_mode\": 0/' {CONFIG} && supervisorctl restart {REALTIME}"
        ),
    );
    assert_bench_healthy(&lab, 1, 9050);
    lab.wsdeploy("apply", &[])
        .code(0)
        .stdout_has("1 changed")
        .stderr_has("lab-1: passed: Socket.IO CONNECT to namespace /site1.local through nginx, with a cookie, is accepted");
}

#[test]
fn seed_topology_a_failing_check_puts_the_realtime_server_back_on_its_port() {
    // The CONNECT check sends a cookie without `sid` (Frappe refuses it: "No authentication
    // method used"), after the realtime server moved and nginx took 9000. The rollback
    // restores the files, reloads nginx (freeing 9000) before supervisor restarts the
    // realtime server there, and preflight proves it running: the report's state again.
    let lab = FLEET.take("seed-fault", 1);
    let ip = lab.ip(1);
    lab.ok(1, "/opt/lab/role/seed-topology.sh");
    let before = lab.sums_without_backups(1, WATCHED);
    let project = project_with("frappe-socketio-port.yml");
    let run = lab.wsdeploy_in(project.path(), "apply", &["-e", "check_cookie=lang=en"]);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("error in step `direct_port_connect`")
        .stdout_has("No authentication method used")
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.sums_without_backups(1, WATCHED),
        before,
        "files differ after the rollback"
    );
    assert_bench_healthy(&lab, 1, 9000);
    let listening = lab.ok(1, "ss -Hltnp");
    assert!(
        listening.contains(":9000") && !listening.contains(":9010"),
        "{listening}"
    );
    let (code, again) = raven_client(&lab, 1, &format!("http://{ip}:8005/raven"));
    assert_eq!(code, 2, "{again}");
    assert!(again.contains("Invalid namespace"), "{again}");
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
}
