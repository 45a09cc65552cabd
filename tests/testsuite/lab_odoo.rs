//! End to end on the lab with the real Odoo 17 (`lab up --odoo real`: PostgreSQL and Odoo
//! from source with Debian 12's packages in the host's inner Docker engine, container
//! `opticserp_odoo`, 8069 on 0.0.0.0 and 8072 on 127.0.0.1 as in the field report): the
//! field report's failure before the apply, a real bus client after it, idempotence, both
//! process models, a second database, and the headers Odoo needs from nginx.

use crate::support;

use support::lab::{Lab, project_with_odoo_plan};
use support::odoo::{bus_roundtrip, bus_roundtrip_tls};

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

/// How many `GET /websocket` lines Odoo has logged.
fn websocket_log_lines(lab: &Lab, i: usize) -> usize {
    lab.ok(
        i,
        "docker logs opticserp_odoo 2>&1 | grep -c 'GET /websocket' || true",
    )
    .trim()
    .parse()
    .unwrap_or(0)
}

/// The first `GET /websocket` line logged after the first `seen` ones (Odoo logs a
/// WebSocket request when it closes); its address is the one Odoo believes.
fn next_websocket_log_line(lab: &Lab, i: usize, seen: usize) -> String {
    lab.wait_for(
        i,
        &format!(
            "test \"$(docker logs opticserp_odoo 2>&1 | grep -c 'GET /websocket')\" -gt {seen}"
        ),
    );
    lab.ok(
        i,
        &format!(
            "docker logs opticserp_odoo 2>&1 | grep 'GET /websocket' | sed -n '{}p'",
            seen + 1
        ),
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
        let seen = websocket_log_lines(&lab, i);
        let r = bus_roundtrip(&lab, i, &ws_url(&lab, i), &origin(&lab, i), "odoo");
        assert!(r.ok(), "host {i}: {r:?}");
        // Odoo saw this machine's address (nginx's X-Forwarded-For, applied because the
        // location sends X-Forwarded-Host), not the Docker bridge's.
        let gateway = lab.ok(i, "ip route | awk '/^default/ { print $3 }'");
        let line = next_websocket_log_line(&lab, i, seen);
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
    let seen = websocket_log_lines(&lab, 1);
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo");
    assert!(r.ok(), "{r:?}");
    let line = next_websocket_log_line(&lab, 1, seen);
    assert!(
        !line.contains(&format!("longpolling: {gateway} ")),
        "without X-Forwarded-Host Odoo 17 skips proxy_mode's fix, yet it saw the client: {line}"
    );
    // The plan: the location gets X-Forwarded-Host (only nginx reloads).
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 changed");
    let seen = websocket_log_lines(&lab, 1);
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo");
    assert!(r.ok(), "{r:?}");
    let line = next_websocket_log_line(&lab, 1, seen);
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

    // odoo.conf says threaded and nothing in the inventory says otherwise: the plan reads
    // it, and the location goes to the HTTP port and works.
    lab.wsdeploy("apply", &[])
        .code(0)
        .stdout_has("1 changed")
        .stdout_has("server 127.0.0.1:8069;");
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo");
    assert!(r.ok(), "{r:?}");
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 in sync");
    // odoo_workers=0 in the inventory or -e still works (an override that agrees).
    lab.wsdeploy("apply", &["-e", "odoo_workers=0"])
        .code(0)
        .stdout_has("1 in sync");
}

#[test]
fn real_odoo_image_layer_comes_read_only_from_the_shared_store_and_its_container_restarts() {
    let lab = Lab::up_real_odoo("odoo-store", 1);
    // The image is in the host's own engine, its one layer a read-only bind mount of the
    // lab's store (tests/lab/odoo17.sh, build_odoo17_store), not a copy loaded per host.
    lab.ok(
        1,
        "docker image inspect wsdeploy-lab-odoo17:latest >/dev/null",
    );
    let layer = lab.ok(
        1,
        "d=/var/lib/docker/overlay2/$(cat /opt/lab/odoo17-store/layer-id)/diff; \
         awk -v d=\"$d\" '$2 == d && $4 ~ /^ro(,|$)/ { print $2 }' /proc/mounts",
    );
    assert!(
        layer.trim().ends_with("/diff"),
        "the image layer is not a read-only mount: {layer:?}"
    );
    let (code, out) = lab.sh(1, &format!("touch {}/lab-write-probe", layer.trim()));
    assert_ne!(code, 0, "the shared layer is writable: {out}");
    // The product's restart is a real one: a new start of the same container, Odoo answers.
    let before = lab.odoo_started_at(1);
    lab.ok(1, "docker restart opticserp_odoo >/dev/null");
    lab.wait_for(1, "curl -sf --max-time 2 http://127.0.0.1:8069/web/health");
    assert_ne!(
        lab.odoo_started_at(1),
        before,
        "the container did not restart"
    );
    lab.assert_healthy(1);
}

#[test]
fn real_odoo_second_database_needs_a_dbfilter_and_checks_work_with_one_and_a_logfile() {
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

    // Odoo now also logs to a file: the checks do not read its log.
    reconfigure_odoo(
        &lab,
        1,
        &[
            ("dbfilter", "^odoo2$"),
            ("logfile", "/var/lib/odoo/odoo.log"),
        ],
    );
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 changed");
    lab.ok(
        1,
        "docker exec opticserp_odoo grep -q 'Evented Service (longpolling) running' /var/lib/odoo/odoo.log",
    );
    // The client's bus lives in odoo2 now.
    let r = bus_roundtrip(&lab, 1, &ws_url(&lab, 1), &origin(&lab, 1), "odoo2");
    assert!(r.ok(), "{r:?}");
}

#[test]
fn real_odoo_behind_https_with_a_redirect_server() {
    let lab = Lab::up_real_odoo_https("odoo-https", 1);
    let ip = lab.ip(1);
    let ca = lab.ca_file();
    let ca = ca.to_str().expect("utf-8 path");
    let wss = format!("wss://{ip}/websocket?version=17.0-3");
    let origin = format!("https://{ip}");
    // Port 80 only redirects; before the apply the browser's wss:// WebSocket fails.
    let redirect = lab.ok(1, "curl -s -i --max-time 3 http://127.0.0.1/web/login");
    assert!(redirect.contains("301"), "{redirect}");
    let r = bus_roundtrip_tls(&lab, 1, &wss, &origin, "odoo", Some(ca));
    assert!(!r.ok() && r.status != 101, "works before the apply: {r:?}");

    // The inventory says public_scheme: https and check_ca_file: <the lab CA>: the location
    // goes into the 443 server and the checks speak TLS with SNI = public_host.
    lab.wsdeploy("apply", &[])
        .code(0)
        .stdout_has("+websocket_url = wss://")
        .stdout_has("1 changed")
        .stderr_has(&format!(
            "passed: WebSocket handshake through nginx returns 101 — 101 Switching Protocols (Sec-WebSocket-Accept verified; over TLS, SNI {ip}, certificate verified against {ca})"
        ));
    let server_80 = lab.ok(
        1,
        "awk '/listen 80;/,/^}/' /etc/nginx/sites-available/odoo.conf",
    );
    assert!(
        !server_80.contains("location /websocket"),
        "the redirect server got the location:\n{server_80}"
    );
    let r = bus_roundtrip_tls(&lab, 1, &wss, &origin, "odoo", Some(ca));
    assert!(r.ok(), "{r:?}");
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 in sync");

    // The checks verify the certificate: trusting only the Mozilla roots, they fail.
    let untrusted = lab.wsdeploy("verify", &["-e", "check_ca_file="]);
    assert_ne!(untrusted.code, 0, "{}", untrusted.stdout);
    untrusted.stdout_has("TLS handshake with SNI `");
    let trusted = lab.wsdeploy("verify", &[]);
    trusted.code(0);
}

/// Headless Chromium logs in through nginx (`/web/login`, admin/admin), stays on the web
/// client for a while, and closes; returns the page's text and the status nginx logged for
/// each of the browser's `/websocket` requests.
fn browse_odoo(lab: &Lab, i: usize) -> (String, Vec<String>) {
    let ip = lab.ip(i);
    lab.ok(i, ": > /var/log/nginx/odoo.access.log");
    let mut browser = support::chromium::Browser::start();
    browser.navigate(&format!("http://{ip}/web/login"));
    assert!(
        browser.wait_for(
            "document.querySelector('form.oe_login_form input[name=password]')",
            std::time::Duration::from_secs(60)
        ),
        "no login form at http://{ip}/web/login: {}",
        browser.text()
    );
    browser.eval(
        "document.querySelector('input[name=login]').value = 'admin'; \
         document.querySelector('input[name=password]').value = 'admin'; \
         document.querySelector('form.oe_login_form').submit(); true",
    );
    assert!(
        browser.wait_for(
            "location.pathname === '/web' && document.querySelector('.o_main_navbar')",
            std::time::Duration::from_secs(90)
        ),
        "the web client did not load after the login: {}",
        browser.text()
    );
    // The bus service's worker connects (and, when refused, retries) meanwhile.
    std::thread::sleep(std::time::Duration::from_secs(10));
    let text = browser.text();
    drop(browser);
    // nginx logs an upgraded connection when it closes.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let log = lab.ok(
        i,
        "grep 'GET /websocket' /var/log/nginx/odoo.access.log | grep HeadlessChrome || true",
    );
    let statuses = log
        .lines()
        .filter_map(|l| l.split('"').nth(2))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    (text, statuses)
}

#[test]
fn chromium_gets_odoo_bus_websocket_through_nginx_only_after_the_apply() {
    let lab = Lab::up_real_odoo("odoo-chromium", 1);
    let (_, before) = browse_odoo(&lab, 1);
    assert!(
        !before.is_empty(),
        "the browser's bus never tried /websocket through nginx"
    );
    assert!(
        !before.iter().any(|s| s == "101"),
        "the bus WebSocket was established before the apply: {before:?}"
    );

    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 changed");
    let (text, after) = browse_odoo(&lab, 1);
    assert!(
        after.iter().any(|s| s == "101"),
        "no established bus WebSocket after the apply: {after:?}"
    );
    assert!(
        !text.to_lowercase().contains("connection lost"),
        "the web client shows a lost connection:\n{text}"
    );
}
