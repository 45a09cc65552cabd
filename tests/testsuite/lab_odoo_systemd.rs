//! End to end on the lab with the real Odoo 17 laid out as the official .deb does, under
//! systemd and without Docker (`lab up --role odoo-systemd`: user `odoo`,
//! `/etc/odoo/odoo.conf`, `odoo.service` running `/usr/bin/odoo --config
//! /etc/odoo/odoo.conf --logfile /var/log/odoo/odoo-server.log`, Debian's PostgreSQL and
//! nginx on the same host, systemd as PID 1).
//!
//! The inventory is an operator's: `public_host` is the site's domain, and only
//! `public_host`, `public_scheme` and the site file's path are set. The default plan finds
//! the runtime (systemd), the process model and the ports in odoo.conf itself:
//! - threaded (no `workers`): `/websocket` → 8069;
//! - prefork (`workers = 2`, `gevent_port` unset): `/websocket` → 8072;
//!
//! each with a real handshake through nginx (101 from Odoo), nginx reloaded once by
//! `systemctl reload nginx` and Odoo restarted once by `systemctl restart odoo` (a new
//! MainPID, one more start in the journal and in Odoo's log), and a second apply in sync
//! without a reload or a restart. Options in the unit's `ExecStart`
//! (`--workers=2 --gevent-port 8073`) override a threaded odoo.conf, as in Odoo: the plan
//! reads the running command line and routes to 8073. A restart that fails rolls the host
//! back to its exact bytes, and Odoo serves again.

use crate::support;

use std::path::Path;

use support::lab::Lab;
use support::project::Run;
use support::shared_fleet::SharedFleet;

/// The hosts of every test here (4: one each), started together; each test takes
/// fresh ones.
static FLEET: SharedFleet = SharedFleet::new("odoo-sd", 4, &["--role", "odoo-systemd"]);

/// What the plan edits on an odoo-systemd host.
const WATCHED: &str = "/etc/nginx /etc/odoo";
const SITE: &str = "/etc/nginx/sites-available/odoo";
const DOMAIN: &str = "erp.example.test";

/// An inventory as an operator writes it for host `i`: the site's domain, the scheme and
/// where the site file is; nothing about Odoo's runtime, workers or ports.
fn operator_inventory(lab: &Lab, i: usize, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("hosts.yml");
    let key = lab.outdir.join("id_ed25519");
    std::fs::write(
        &path,
        format!(
            "all:\n  children:\n    odoo:\n      hosts:\n        erp:\n          ansible_host: {ip}\n          ansible_user: root\n          ansible_ssh_private_key_file: {key}\n          public_host: {DOMAIN}\n          public_scheme: http\n          site_conf: {SITE}\n",
            ip = lab.ip(i),
            key = key.display()
        ),
    )
    .expect("write inventory");
    path
}

/// `wsdeploy apply` with the repository's default plan and the operator's inventory.
fn apply(lab: &Lab, inventory: &Path) -> Run {
    let out = assert_cmd::Command::cargo_bin("wsdeploy")
        .expect("binary")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg("apply")
        .arg("-i")
        .arg(inventory)
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .env("NO_COLOR", "1")
        .output()
        .expect("wsdeploy runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A browser's WebSocket handshake to `http://DOMAIN/websocket` through the host's nginx.
fn handshake_through_nginx(lab: &Lab, i: usize) -> String {
    lab.curl_handshake(
        i,
        "http://127.0.0.1/websocket?version=17.0-3",
        &format!("-H 'Host: {DOMAIN}' -H 'Origin: http://{DOMAIN}'"),
    )
}

/// Odoo's MainPID as systemd knows it.
fn main_pid(lab: &Lab, i: usize) -> String {
    let pid = lab
        .ok(i, "systemctl show -p MainPID --value odoo")
        .trim()
        .to_owned();
    assert!(
        pid.parse::<u32>().is_ok_and(|p| p > 0),
        "odoo.service has no main process: {pid:?}"
    );
    pid
}

/// How often Odoo has started: systemd's `Started odoo.service` journal lines and Odoo's
/// own lines for its HTTP server in its logfile (prefork's gevent process logs its own).
fn starts(lab: &Lab, i: usize) -> (usize, usize) {
    let count = |script: &str| -> usize {
        lab.ok(i, script)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("`{script}`: {e}"))
    };
    (
        count("journalctl -u odoo --no-pager -o cat | grep -c '^Started odoo.service' || true"),
        count("grep -c 'HTTP service (werkzeug) running on' /var/log/odoo/odoo-server.log || true"),
    )
}

/// How often systemd has reloaded nginx (`Reloaded nginx.service` in the journal).
fn nginx_reloads(lab: &Lab, i: usize) -> usize {
    lab.ok(
        i,
        "journalctl -u nginx --no-pager -o cat | grep -c '^Reloaded nginx.service' || true",
    )
    .trim()
    .parse()
    .expect("a count")
}

/// The `server` line of the upstream `location /websocket` proxies to in the site file (the
/// site's own `upstream odoo` when it is on the right port, else the plan's).
fn websocket_upstream(lab: &Lab, i: usize) -> String {
    lab.ok(
        i,
        &format!(
            "name=$(sed -n '/location \\/websocket/,/}}/p' {SITE} | sed -n 's|^ *proxy_pass http://\\([A-Za-z0-9_.-]*\\);.*|\\1|p' | head -n 1)\n\
             test -n \"$name\"\n\
             sed -n \"/upstream $name {{/,/}}/p\" {SITE} | grep -E '^ *server '"
        ),
    )
    .trim()
    .to_owned()
}

/// Odoo answers on 8069 (and, in prefork, 8072) and systemd has it active.
fn wait_for_odoo(lab: &Lab, i: usize, prefork: bool) {
    lab.wait_for(i, "curl -sf --max-time 2 http://127.0.0.1:8069/web/health");
    if prefork {
        lab.wait_for(
            i,
            "curl -s -o /dev/null --max-time 2 http://127.0.0.1:8072/web/health",
        );
    }
    lab.ok(i, "systemctl is-active odoo");
}

/// The whole story on one host: not working before, converged with `expected_upstream`
/// after one restart by systemd, in sync (and not restarted) the second time.
fn converges(lab: &Lab, expected_upstream: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let inventory = operator_inventory(lab, 1, dir.path());
    let before = handshake_through_nginx(lab, 1);
    assert!(
        !before.contains(" 101 "),
        "the WebSocket works through nginx before the apply:\n{before}"
    );
    let pid_before = main_pid(lab, 1);
    let starts_before = starts(lab, 1);
    let reloads_before = nginx_reloads(lab, 1);

    let first = apply(lab, &inventory);
    first.code(0).stdout_has("1 changed");
    assert_eq!(websocket_upstream(lab, 1), expected_upstream);
    lab.ok(1, "grep -Fx 'proxy_mode = True' /etc/odoo/odoo.conf");
    lab.ok(1, "nginx -t");
    let after = handshake_through_nginx(lab, 1);
    assert!(
        after.contains("HTTP/1.1 101 SWITCHING PROTOCOLS")
            && after.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "no 101 from Odoo through nginx after the apply:\n{after}\n--- apply:\n{}",
        first.stdout
    );
    let pid_after = main_pid(lab, 1);
    assert_ne!(pid_after, pid_before, "Odoo was not restarted");
    let starts_after = starts(lab, 1);
    assert_eq!(
        (
            starts_after.0 - starts_before.0,
            starts_after.1 - starts_before.1
        ),
        (1, 1),
        "Odoo must start exactly once more (journal, logfile): before {starts_before:?}, after {starts_after:?}"
    );
    let reloads_after = nginx_reloads(lab, 1);
    assert_eq!(
        reloads_after,
        reloads_before + 1,
        "nginx must be reloaded once by systemctl"
    );

    let sums = lab.sums_without_backups(1, WATCHED);
    let second = apply(lab, &inventory);
    second.code(0).stdout_has("1 in sync");
    assert_eq!(lab.sums_without_backups(1, WATCHED), sums);
    assert_eq!(
        main_pid(lab, 1),
        pid_after,
        "the second apply restarted Odoo"
    );
    assert_eq!(starts(lab, 1), starts_after);
    assert_eq!(nginx_reloads(lab, 1), reloads_after);
    assert!(handshake_through_nginx(lab, 1).contains(" 101 "));
}

#[test]
fn threaded_odoo_under_systemd_converges_with_websocket_on_the_http_port() {
    let lab = FLEET.take("threaded", 1);
    // The .deb's odoo.conf has no workers (threaded); the site serves every name (`_`).
    lab.ok(1, "! grep -E '^ *workers' /etc/odoo/odoo.conf");
    lab.ok(1, &format!("grep -F 'server_name _;' {SITE}"));
    wait_for_odoo(&lab, 1, false);
    converges(&lab, "server 127.0.0.1:8069;");
}

#[test]
fn prefork_odoo_under_systemd_converges_with_websocket_on_the_gevent_port() {
    let lab = FLEET.take("prefork", 1);
    lab.ok(
        1,
        &format!(
            "echo 'workers = 2' >> /etc/odoo/odoo.conf && sed -i 's/server_name _;/server_name {DOMAIN};/' {SITE} \
             && systemctl reload nginx && systemctl restart odoo"
        ),
    );
    wait_for_odoo(&lab, 1, true);
    converges(&lab, "server 127.0.0.1:8072;");
}

#[test]
fn failed_systemctl_restart_rolls_back_to_exact_bytes_and_odoo_serves_again() {
    let lab = FLEET.take("rollback", 1);
    // Odoo's next start fails once (a drop-in the operator might have: a pre-start check).
    lab.ok(
        1,
        "mkdir -p /etc/systemd/system/odoo.service.d && printf '%s\\n' '[Service]' \
         \"ExecStartPre=+/bin/sh -c 'if [ -e /run/odoo-fail-next-start ]; then rm -f /run/odoo-fail-next-start; echo this start fails; exit 1; fi'\" \
         >/etc/systemd/system/odoo.service.d/fail-once.conf && systemctl daemon-reload && touch /run/odoo-fail-next-start",
    );
    wait_for_odoo(&lab, 1, false);
    let before = lab.sums_without_backups(1, WATCHED);
    let dir = tempfile::tempdir().expect("temp dir");
    let inventory = operator_inventory(&lab, 1, dir.path());

    let run = apply(&lab, &inventory);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stderr_has("failed: run `systemctl restart 'odoo'`")
        .stderr_has("rollback: re-ran `systemctl restart 'odoo'`")
        .stderr_has("rolled back: every file is back to its exact previous bytes");
    lab.ok(1, "test ! -e /run/odoo-fail-next-start");
    assert_eq!(lab.sums_without_backups(1, WATCHED), before);
    lab.ok(1, "nginx -t");
    // Odoo serves again, under systemd, with the restored odoo.conf.
    wait_for_odoo(&lab, 1, false);
    lab.ok(1, "! grep -F proxy_mode /etc/odoo/odoo.conf");
    lab.ok(
        1,
        "test \"$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: erp.example.test' http://127.0.0.1/web/login)\" = 200",
    );
}

/// Options on Odoo's command line override odoo.conf: a drop-in whose ExecStart adds
/// `--workers=2 --gevent-port 8073` makes a threaded odoo.conf's Odoo a prefork one with
/// its evented port on 8073; the plan reads the running command line and routes there.
#[test]
fn command_line_options_of_the_running_odoo_override_odoo_conf() {
    let lab = FLEET.take("cmdline", 1);
    lab.ok(
        1,
        "mkdir -p /etc/systemd/system/odoo.service.d && printf '%s\\n' '[Service]' 'ExecStart=' \
         'ExecStart=/usr/bin/odoo --config /etc/odoo/odoo.conf --logfile /var/log/odoo/odoo-server.log --workers=2 --gevent-port 8073' \
         >/etc/systemd/system/odoo.service.d/workers.conf && systemctl daemon-reload && systemctl restart odoo",
    );
    lab.ok(
        1,
        "! grep -E '^ *(workers|gevent_port)' /etc/odoo/odoo.conf",
    );
    wait_for_odoo(&lab, 1, false);
    lab.wait_for(
        1,
        "curl -s -o /dev/null --max-time 2 http://127.0.0.1:8073/web/health",
    );
    converges(&lab, "server 127.0.0.1:8073;");
}
