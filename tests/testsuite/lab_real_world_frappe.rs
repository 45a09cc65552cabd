//! The real Frappe benches of `tests/corpus/real-world/nginx-frappe/` (provenance and what a
//! correct tool does in its SOURCES.md) on one lab bench running Frappe's own realtime
//! server, one case after another (the host is put back between cases), each applied with
//! the shipped plans/site.yml and an inventory an operator writes.
//!
//! Each case's nginx file goes where bench puts it (`<bench>/config/nginx.conf`, linked
//! from `/etc/nginx/conf.d/<bench>.conf`), its sites exist in the bench, its TLS
//! certificates are made by a CA the test makes and the host trusts (as it trusts Let's
//! Encrypt: the system store, and NODE_EXTRA_CA_CERTS for the realtime server, which asks
//! `get_user_info` at the page's https origin), its domains resolve to the host. Then: the
//! plan's verdict, the server blocks' `/socket.io` locations, `nginx -t`, a real Socket.IO
//! CONNECT and WebSocket upgrade through nginx with the site's domain as Host and SNI,
//! untouched files byte-identical, and a second apply in sync without a reload.

use crate::support;
use crate::support::nginx_shape::locations_by_server;

use serde_json::{Value, json};

use support::lab::Lab;
use support::real_world_lab::{self as rw, HOST_CA};

const BENCH: &str = "/home/frappe/frappe-bench";
const BENCH_NGINX: &str = "/home/frappe/frappe-bench/config/nginx.conf";
const SITE_CONF: &str = "/etc/nginx/conf.d/frappe-bench.conf";
const REALTIME: &str = "frappe-bench-web:frappe-bench-node-socketio";
const POLLING: &str = "/socket.io/?EIO=4&transport=polling";
/// What a case may change, and what is put back after it.
const STATE: &[&str] = &[
    "/etc/nginx",
    "/etc/hosts",
    "/home/frappe/frappe-bench/config",
    "/home/frappe/frappe-bench/sites",
];
const WATCHED: &str =
    "/etc/nginx /etc/supervisor /home/frappe/frappe-bench/config /home/frappe/frappe-bench/sites";

/// What every operator of these benches sets beyond the case: the lab host has no systemd.
fn operator_vars(public_host: &str, public_scheme: &str) -> Value {
    json!({
        "public_host": public_host,
        "public_scheme": public_scheme,
        "site_conf": SITE_CONF,
        "nginx_reload_cmd": "nginx -s reload",
    })
}

/// A Socket.IO CONNECT to `/<site>` over long-polling through nginx at `origin`
/// (`https://prod.nexelya.com`), the name resolved to the host, as a browser with a session
/// cookie sends it; returns the server's answer to the CONNECT packet.
fn socketio_connect(lab: &Lab, origin: &str, port: u16, site: &str) -> String {
    let host = origin.split("://").nth(1).expect("origin");
    lab.ok(
        1,
        &format!(
            "set -- -fsS --max-time 5 --resolve {host}:{port}:127.0.0.1 -b sid=Guest; \
             sid=$(curl \"$@\" '{origin}{POLLING}' | sed -n 's/.*\"sid\":\"\\([^\"]*\\)\".*/\\1/p'); \
             test -n \"$sid\" || {{ echo 'no Engine.IO session'; exit 1; }}; \
             curl \"$@\" --data-binary '40/{site},' \"{origin}{POLLING}&sid=$sid\" >/dev/null && \
             curl \"$@\" \"{origin}{POLLING}&sid=$sid\""
        ),
    )
}

fn assert_realtime_up(lab: &Lab) {
    lab.ok(
        1,
        &format!(
            "for n in $(seq 1 30); do curl -sf --max-time 2 'http://127.0.0.1:9000{POLLING}' | grep -q '\"sid\"' && exit 0; sleep 1; done; exit 1"
        ),
    );
    lab.ok(
        1,
        &format!("supervisorctl status {REALTIME} | grep -q RUNNING"),
    );
}

/// Makes `sites/<name>/site_config.json` for each site (what `bench new-site` leaves).
fn make_sites(lab: &Lab, names: &[&str]) {
    for name in names {
        lab.ok(
            1,
            &format!(
                "mkdir -p {BENCH}/sites/{name} && echo '{{}}' > {BENCH}/sites/{name}/site_config.json && chown -R frappe: {BENCH}/sites/{name}"
            ),
        );
    }
}

/// Certificates for every `ssl_certificate` of `text`, named after their Let's Encrypt
/// directory (`live/<domain>[-NNNN]/`).
fn make_certificates(lab: &Lab, text: &str) {
    let renewal_suffix = regex::Regex::new(r"-\d{4}$").expect("regex");
    for (cert, key) in rw::certificate_paths(text) {
        let dir = cert.rsplit('/').nth(1).expect("live/<domain>/");
        let domain = renewal_suffix.replace(dir, "").into_owned();
        rw::certificate(lab, 1, &domain, &cert, &key);
    }
}

fn apply(lab: &Lab, vars: &Value) -> support::project::Run {
    let inventory = rw::inventory(lab, 1, "frappe", vars);
    rw::wsdeploy(lab, inventory.path(), "apply", &[])
}

fn verify(lab: &Lab, vars: &Value) -> support::project::Run {
    let inventory = rw::inventory(lab, 1, "frappe", vars);
    rw::wsdeploy(lab, inventory.path(), "verify", &[])
}

/// A second apply: in sync, no file, no nginx process changed.
fn assert_second_apply_in_sync(lab: &Lab, vars: &Value) {
    let sums = rw::sums(lab, 1, WATCHED);
    let nginx = rw::nginx_pids(lab, 1);
    let realtime = lab.supervised_process(1, REALTIME);
    apply(lab, vars).code(0).stdout_has("1 in sync");
    assert_eq!(
        rw::changed(&sums, &rw::sums(lab, 1, WATCHED)),
        Vec::<String>::new()
    );
    assert_eq!(rw::nginx_pids(lab, 1), nginx, "nginx was reloaded");
    assert_eq!(
        lab.supervised_process(1, REALTIME),
        realtime,
        "realtime restarted"
    );
}

/// nateabowman: bench-generated dns_multitenant config, 4 sites, 3 of them HTTPS with a
/// separate redirect server each. `public_host = prod.nexelya.com`.
fn four_site_bench(lab: &Lab, ca: &std::path::Path) {
    let case = "nginx-frappe/nateabowman-4-sites-mixed-https";
    let bytes = rw::case_file(case, "config/nginx.conf");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    rw::put(lab, 1, BENCH_NGINX, &bytes);
    make_certificates(lab, &text);
    let domains = [
        "demo.nexelya.com",
        "agri-demo.nexelya.com",
        "prod.nexelya.com",
        "apps.heinigesons.com",
    ];
    make_sites(lab, &domains);
    let hosts: Vec<(&str, &str)> = domains.iter().map(|d| ("127.0.0.1", *d)).collect();
    rw::add_hosts(lab, 1, &hosts);
    let mut vars = operator_vars("prod.nexelya.com", "https");
    vars["check_ca_file"] = json!(ca.display().to_string());

    // As found on Debian's stock nginx.conf: `access_log ... main` has no log_format main,
    // nginx -t fails before any change; refused, nothing touched.
    let before = rw::sums(lab, 1, WATCHED);
    apply(lab, &vars)
        .code(1)
        .stdout_has("fails before any change")
        .stdout_has("unknown log format \"main\"");
    assert_eq!(
        rw::changed(&before, &rw::sums(lab, 1, WATCHED)),
        Vec::<String>::new()
    );

    // The operator's nginx.conf has its log_format main: the site is live as found.
    let stock = lab.ok(1, "cat /etc/nginx/nginx.conf");
    assert!(stock.contains("\taccess_log "), "{stock}");
    let with_main = stock.replacen(
        "\taccess_log ",
        "\tlog_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status';\n\taccess_log ",
        1,
    );
    rw::put(lab, 1, "/etc/nginx/nginx.conf", with_main.as_bytes());
    lab.ok(1, "nginx -t && nginx -s reload");
    let before = rw::sums(lab, 1, WATCHED);
    let nginx = rw::nginx_pids(lab, 1);
    apply(lab, &vars).code(0).stdout_has("1 in sync");
    // In sync: the run checks nothing; `verify` runs every check of the plan.
    verify(lab, &vars)
        .code(0)
        .stderr_has("lab-1: passed: WebSocket upgrade of /socket.io through nginx returns 101")
        .stderr_has(
            "lab-1: passed: Socket.IO CONNECT to namespace /prod.nexelya.com through nginx, with a cookie, is accepted",
        );
    assert_eq!(
        rw::changed(&before, &rw::sums(lab, 1, WATCHED)),
        Vec::<String>::new()
    );
    assert_eq!(rw::nginx_pids(lab, 1), nginx, "nginx was reloaded");
    let now = lab.ok(1, &format!("cat {BENCH_NGINX}"));
    assert_eq!(
        locations_by_server(&now, "/socket.io"),
        [
            ("80".to_owned(), 1),
            ("443 ssl".to_owned(), 1),
            ("80".to_owned(), 0),
            ("443 ssl".to_owned(), 1),
            ("80".to_owned(), 0),
            ("443 ssl".to_owned(), 1),
            ("80".to_owned(), 0),
        ]
    );
    lab.ok(1, "nginx -t");
    // A browser on https://prod.nexelya.com: TLS with SNI, the site's namespace accepted by
    // Frappe's realtime server (which asked get_user_info at https://prod.nexelya.com).
    let connect = socketio_connect(lab, "https://prod.nexelya.com", 443, "prod.nexelya.com");
    assert!(
        connect.starts_with("40/prod.nexelya.com,{\"sid\":\""),
        "{connect}"
    );
    let upgrade = lab.curl_handshake(
        1,
        "https://prod.nexelya.com/socket.io/?EIO=4&transport=websocket",
        "--resolve prod.nexelya.com:443:127.0.0.1",
    );
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");
    assert!(
        lab.ok(1, &format!("cat {BENCH}/logs/web.log"))
            .contains("get_user_info site=prod.nexelya.com cookie='sid=Guest'")
    );
    // The plain-HTTP site of the same bench works too (its name is the Host).
    let demo = socketio_connect(lab, "http://demo.nexelya.com", 80, "demo.nexelya.com");
    assert!(
        demo.starts_with("40/demo.nexelya.com,{\"sid\":\""),
        "{demo}"
    );
    assert_second_apply_in_sync(lab, &vars);
}

/// ferum: bench config re-indented by hand (2 spaces, tabs left, Cyrillic comment, no final
/// newline) with its common_site_config.json (placeholders for Redis, socketio_port 9000).
fn hand_edited_bench(lab: &Lab) {
    let case = "nginx-frappe/ferum-hand-edited-2space-cyrillic-noeol";
    rw::put(
        lab,
        1,
        BENCH_NGINX,
        &rw::case_file(case, "frappe-bench/config/nginx.conf"),
    );
    rw::put(
        lab,
        1,
        &format!("{BENCH}/sites/common_site_config.json"),
        &rw::case_file(case, "frappe-bench/sites/common_site_config.json"),
    );
    make_sites(lab, &["erp.ferumrus.ru"]);
    rw::add_hosts(lab, 1, &[("127.0.0.1", "erp.ferumrus.ru")]);
    lab.ok(1, "nginx -t && nginx -s reload");
    let vars = operator_vars("erp.ferumrus.ru", "http");
    let before = rw::sums(lab, 1, WATCHED);
    let nginx = rw::nginx_pids(lab, 1);
    apply(lab, &vars).code(0).stdout_has("1 in sync");
    verify(lab, &vars)
        .code(0)
        .stderr_has("lab-1: passed: the realtime server answers an Engine.IO handshake on port 9000")
        .stderr_has(
            "lab-1: passed: Socket.IO CONNECT to namespace /erp.ferumrus.ru through nginx, with a cookie, is accepted",
        );
    assert_eq!(
        rw::changed(&before, &rw::sums(lab, 1, WATCHED)),
        Vec::<String>::new()
    );
    assert_eq!(rw::nginx_pids(lab, 1), nginx, "nginx was reloaded");
    let now = lab.ok(1, &format!("cat {BENCH_NGINX}"));
    assert_eq!(
        locations_by_server(&now, "/socket.io"),
        [("80".to_owned(), 1)]
    );
    let connect = socketio_connect(lab, "http://erp.ferumrus.ru", 80, "erp.ferumrus.ru");
    assert!(
        connect.starts_with("40/erp.ferumrus.ru,{\"sid\":\""),
        "{connect}"
    );
    let upgrade = lab.curl_handshake(
        1,
        "http://erp.ferumrus.ru/socket.io/?EIO=4&transport=websocket",
        "--resolve erp.ferumrus.ru:80:127.0.0.1",
    );
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");
    assert_second_apply_in_sync(lab, &vars);
}

/// gsi: a 2014 bench (no realtime server, no socketio_port) at /home/sigma/frappe-bench,
/// linked from conf.d as bench does. Refused before any change.
fn ancient_bench(lab: &Lab) {
    let case = "nginx-frappe/gsi-ancient-bench-no-socketio";
    let old_bench = "/home/sigma/frappe-bench";
    rw::put(
        lab,
        1,
        &format!("{old_bench}/config/nginx.conf"),
        &rw::case_file(case, "frappe-bench/config/nginx.conf"),
    );
    lab.ok(
        1,
        &format!("mkdir -p {old_bench}/sites && ln -sfn {old_bench}/config/nginx.conf {SITE_CONF} && nginx -t && nginx -s reload"),
    );
    let mut vars = operator_vars("128.199.253.52", "http");
    vars["bench_dir"] = json!(old_bench);
    let watched = format!("{WATCHED} /home/sigma");
    let before = rw::sums(lab, 1, &watched);
    let nginx = rw::nginx_pids(lab, 1);
    // A dry run runs the same read-only preflight and says the same.
    let inventory = rw::inventory(lab, 1, "frappe", &vars);
    rw::wsdeploy(lab, inventory.path(), "apply", &["--dry-run"])
        .code(1)
        .stdout_has("has no realtime server");
    apply(lab, &vars)
        .code(1)
        .stdout_has("has no realtime server")
        .stdout_has("no upstream to port 3000 is added");
    assert_eq!(
        rw::changed(&before, &rw::sums(lab, 1, &watched)),
        Vec::<String>::new()
    );
    assert_eq!(rw::nginx_pids(lab, 1), nginx, "nginx was reloaded");
    lab.ok(1, "rm -rf /home/sigma");
}

/// What installs and checks a case on the host.
type Case<'a> = &'a dyn Fn(&Lab);

#[test]
fn real_world_frappe_benches_one_after_another_on_one_lab_bench() {
    let started = std::time::Instant::now();
    let lab = Lab::up_role("rw-frappe", 1, "frappe");
    rw::report_time("frappe: lab up", started);
    let ca = rw::make_trusted_ca(&lab, 1);
    // The realtime server trusts the CA as it trusts a public one.
    lab.ok(
        1,
        &format!(
            "sed -i '/^\\[program:frappe-bench-node-socketio\\]/a environment=NODE_EXTRA_CA_CERTS=\"{HOST_CA}\"' \
             /etc/supervisor/conf.d/frappe-bench.conf && supervisorctl update >/dev/null"
        ),
    );
    assert_realtime_up(&lab);
    rw::snapshot(&lab, 1, STATE);

    let cases: [(&str, Case<'_>); 3] = [
        ("nateabowman-4-sites-mixed-https", &|lab| {
            four_site_bench(lab, ca.path())
        }),
        (
            "ferum-hand-edited-2space-cyrillic-noeol",
            &hand_edited_bench,
        ),
        ("gsi-ancient-bench-no-socketio", &ancient_bench),
    ];
    for (name, case) in cases {
        let case_started = std::time::Instant::now();
        case(&lab);
        rw::restore(&lab, 1, STATE);
        lab.ok(1, "nginx -t && nginx -s reload");
        rw::report_time(&format!("frappe: {name}"), case_started);
    }
    rw::report_time("frappe: in all", started);
}
