//! End to end on the lab with the real Odoo 17 (`lab up --odoo real`: PostgreSQL and Odoo
//! from source with Debian 12's packages in the host's inner Docker engine, container
//! `opticserp_odoo`, 8069 on 0.0.0.0 and 8072 on 127.0.0.1 as in the field report): the
//! field report's failure before the apply, a real bus client after it, idempotence, both
//! process models, a second database, and the headers Odoo needs from nginx.

mod support;

use support::lab::{Lab, project_with_odoo_plan};
use support::odoo::bus_roundtrip;

fn ws_url(lab: &Lab, i: usize) -> String {
    format!("ws://{}/websocket?version=17.0-3", lab.ip(i))
}

fn origin(lab: &Lab, i: usize) -> String {
    format!("http://{}", lab.ip(i))
}

/// Sets odoo.conf keys (replacing or appending) and restarts Odoo, waiting for its health.
fn reconfigure_odoo(lab: &Lab, i: usize, settings: &[(&str, &str)]) {
    for (key, value) in settings {
        lab.ok(
            i,
            &format!(
                "f=/etc/opticserp/odoo.conf; if grep -q '^{key} *=' $f; then sed -i 's|^{key} *=.*|{key} = {value}|' $f; else echo '{key} = {value}' >> $f; fi"
            ),
        );
    }
    lab.ok(i, "docker restart opticserp_odoo >/dev/null");
    lab.wait_for(i, "curl -sf --max-time 2 http://127.0.0.1:8069/web/health");
}

/// The last `GET /websocket` line Odoo logged (the address is the one Odoo believes).
fn last_websocket_log_line(lab: &Lab, i: usize) -> String {
    lab.ok(
        i,
        "docker logs opticserp_odoo 2>&1 | grep 'GET /websocket' | tail -n 1",
    )
}

#[test]
fn real_odoo_prefork_field_failure_then_apply_then_bus_frames_then_in_sync() {
    let lab = Lab::up_real_odoo("odoo-real", 2);
    let before: Vec<String> = (1..=2)
        .map(|i| lab.tree_sums(i, support::lab::WATCHED))
        .collect();

    // The field report: the browser's WebSocket to ws://IP/websocket never opens.
    for i in 1..=2 {
        let r = bus_roundtrip(&lab, i, &ws_url(&lab, i), &origin(&lab, i), "odoo");
        assert!(
            !r.ok() && r.status != 101,
            "host {i} works before the apply: {r:?}"
        );
        // ... and users who open :8069 directly get Odoo's 500 for /websocket (prefork).
        let direct = lab.curl_handshake(
            i,
            "http://127.0.0.1:8069/websocket?version=17.0-3",
            &format!("-H 'Origin: {}'", origin(&lab, i)),
        );
        assert!(direct.contains(" 500 "), "host {i}: {direct}");
        lab.ok(
            i,
            "docker logs opticserp_odoo 2>&1 | grep -q \"Couldn't bind the websocket. Is the connection opened on the evented port (8072)?\"",
        );
    }

    // Dry run: diffs shown, nothing touched.
    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("+\tmap $http_upgrade $connection_upgrade {")
        .stdout_has("proxy_set_header X-Forwarded-Host $host;")
        .stdout_has("2 would change");
    for i in 1..=2 {
        assert_eq!(
            lab.tree_sums(i, support::lab::WATCHED),
            before[i - 1],
            "dry run changed host {i}"
        );
        lab.ok(i, "test ! -e /var/lib/wsdeploy");
    }

    // One apply: a real client completes the handshake through nginx and gets a bus frame.
    let first = lab.wsdeploy("apply", &[]);
    first
        .code(0)
        .stdout_has("2 changed")
        // The seed's root cause is reported, with what to do.
        .stdout_has("warning: Odoo's HTTP port 8069 is not published on every address")
        .stdout_has("publish \"127.0.0.1:8069:8069\" in docker-compose.yml");
    for i in 1..=2 {
        lab.assert_healthy(i);
        let r = bus_roundtrip(&lab, i, &ws_url(&lab, i), &origin(&lab, i), "odoo");
        assert!(r.ok(), "host {i}: {r:?}");
        // Odoo saw this machine's address (nginx's X-Forwarded-For, applied because the
        // location sends X-Forwarded-Host), not the Docker bridge's.
        let gateway = lab.ok(i, "ip route | awk '/^default/ { print $3 }'");
        let line = last_websocket_log_line(&lab, i);
        assert!(
            line.contains(&format!("longpolling: {} ", gateway.trim())) && line.contains(" 101 "),
            "host {i}: Odoo did not see the client's address: {line}"
        );
        assert_eq!(
            lab.ok(i, "grep -c '^websocket_url' /etc/opticserp/odoo.conf")
                .trim(),
            "1"
        );
    }

    // A second apply changes nothing, reloads nothing, restarts nothing.
    let pids: Vec<String> = (1..=2).map(|i| lab.nginx_pids(i)).collect();
    let starts: Vec<String> = (1..=2).map(|i| lab.odoo_started_at(i)).collect();
    let sums: Vec<String> = (1..=2)
        .map(|i| lab.tree_sums(i, support::lab::WATCHED))
        .collect();
    let second = lab.wsdeploy("apply", &[]);
    second.code(0).stdout_has("2 in sync");
    for i in 1..=2 {
        assert_eq!(lab.nginx_pids(i), pids[i - 1], "host {i}: nginx reloaded");
        assert_eq!(
            lab.odoo_started_at(i),
            starts[i - 1],
            "host {i}: Odoo restarted"
        );
        assert_eq!(
            lab.tree_sums(i, support::lab::WATCHED),
            sums[i - 1],
            "host {i}: files changed"
        );
    }
}

#[test]
fn without_x_forwarded_host_in_the_location_odoo_sees_the_proxy_not_the_client() {
    let lab = Lab::up_real_odoo("odoo-xfh", 1);
    let gateway = lab.ok(1, "ip route | awk '/^default/ { print $3 }'");
    let gateway = gateway.trim();
    // The plan as it was: the location sets its own headers, without X-Forwarded-Host.
    let old = project_with_odoo_plan(|p| {
        p.replace("            proxy_set_header X-Forwarded-Host $host;\n", "")
    });
    lab.wsdeploy_in(old.path(), "apply", &[]).code(0);
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo");
    assert!(r.ok(), "{r:?}");
    let line = last_websocket_log_line(&lab, 1);
    assert!(
        !line.contains(&format!("longpolling: {gateway} ")),
        "without X-Forwarded-Host Odoo 17 skips proxy_mode's fix, yet it saw the client: {line}"
    );
    // The plan: the location gets X-Forwarded-Host (only nginx reloads).
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 changed");
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo");
    assert!(r.ok(), "{r:?}");
    let line = last_websocket_log_line(&lab, 1);
    assert!(
        line.contains(&format!("longpolling: {gateway} ")),
        "Odoo did not see the client's address: {line}"
    );
}

#[test]
fn real_odoo_threaded_mode_gets_websocket_on_the_http_port() {
    let lab = Lab::up_real_odoo("odoo-threaded", 1);
    reconfigure_odoo(&lab, 1, &[("workers", "0")]);
    // Threaded mode: nothing listens on 8072.
    let (code, _) = lab.sh(1, "curl -s --max-time 2 http://127.0.0.1:8072/web/health");
    assert_ne!(code, 0, "something answers on 8072 in threaded mode");
    let sums = lab.config_sums(1);

    // The variables say prefork (the default), odoo.conf says threaded: stopped before
    // anything changes, saying what to set.
    let refused = lab.wsdeploy("apply", &[]);
    refused
        .code(1)
        .stdout_has("Set odoo_workers (0 for threaded mode)")
        .stdout_has("mode=threaded http_port=8069");
    assert_eq!(lab.config_sums(1), sums, "a refused run changed files");

    // With odoo_workers=0 the location goes to the HTTP port and works.
    lab.wsdeploy("apply", &["-e", "odoo_workers=0"])
        .code(0)
        .stdout_has("1 changed")
        .stdout_has("server 127.0.0.1:8069;");
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo");
    assert!(r.ok(), "{r:?}");
    lab.wsdeploy("apply", &["-e", "odoo_workers=0"])
        .code(0)
        .stdout_has("1 in sync");
}

#[test]
fn real_odoo_second_database_needs_a_dbfilter_and_checks_work_with_one() {
    let lab = Lab::up_real_odoo("odoo-dbfilter", 1);
    // A second database, copied from the first while no session uses it.
    lab.ok(
        1,
        "for n in 1 2 3 4 5 6 7 8 9 10; do docker exec opticserp_odoo runuser -u postgres -- psql -q -d postgres -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'odoo' AND pid <> pg_backend_pid()\" >/dev/null && docker exec opticserp_odoo runuser -u postgres -- psql -q -d postgres -c 'CREATE DATABASE odoo2 TEMPLATE odoo OWNER odoo' && exit 0; sleep 0.5; done; exit 1",
    );
    reconfigure_odoo(&lab, 1, &[]);
    let sums = lab.config_sums(1);
    let refused = lab.wsdeploy("apply", &[]);
    refused
        .code(1)
        .stdout_has("nothing was touched")
        .stdout_has("set dbfilter");
    assert_eq!(lab.config_sums(1), sums, "a refused run changed files");

    reconfigure_odoo(&lab, 1, &[("dbfilter", "^odoo2$")]);
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 changed");
    // The client's bus lives in odoo2 now.
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo2");
    assert!(r.ok(), "{r:?}");
}
