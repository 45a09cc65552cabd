//! The real nginx sites in front of FastAPI of `tests/corpus/real-world/nginx-fastapi/`
//! (provenance and what a correct tool does in its SOURCES.md) on one lab host running a
//! real FastAPI app under uvicorn (plain `uvicorn`, no WebSocket library yet), one case
//! after another (the host is put back between cases), each applied with the shipped
//! plans/site.yml and an inventory an operator writes.
//!
//! Each case's nginx file goes where its nginx reads it, its TLS certificates are made by a
//! CA the test makes, and its upstream reaches the lab's backend as the case names it: a
//! compose service name in `/etc/hosts` (`fastapi:8000`; `sam`, port 80, forwarded to the
//! backend's port by a NAT rule as Docker publishes ports), or the unix socket gunicorn
//! listens on (uvicorn started with `--uds` there). Then: one apply fixes the backend and
//! adds the WebSocket location to the server nginx uses for the site, `nginx -t`, a real
//! handshake through nginx with the site's domain as Host and SNI gets uvicorn's 101,
//! untouched files byte-identical, and a second apply in sync without a reload or restart.

use crate::support;
use crate::support::nginx_shape::{locations_by_server, maps};

use serde_json::{Value, json};

use support::lab::Lab;
use support::real_world_lab as rw;

const BACKEND: &str = "nodemon-backend";
const REQUIREMENTS: &str = "/opt/nodemon/backend/requirements.txt";
const SUPERVISOR: &str = "/etc/supervisor/conf.d/nodemon.conf";
/// What a case may change, and what is put back after it.
const STATE: &[&str] = &[
    "/etc/nginx",
    "/etc/hosts",
    "/etc/supervisor",
    "/opt/nodemon/backend",
    "/opt/nodemon/venv",
];
const WATCHED: &str = "/etc/nginx /etc/supervisor /opt/nodemon/backend";
const WS_LOCATION: &str = "~ ^/ws/(.*)$";
/// RFC 6455's sample key's answer.
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The inventory's variables: the case's site, and the backend's own commands (the lab's
/// app: where it lives, how it is rebuilt, its Python and log; the host has no systemd).
fn operator_vars(public_host: &str, public_scheme: &str, site_conf: &str, upstream: &str) -> Value {
    json!({
        "public_host": public_host,
        "public_scheme": public_scheme,
        "site_conf": site_conf,
        "backend_upstream": upstream,
        "backend_dir": "/opt/nodemon/backend",
        "backend_rebuild_cmd": "/opt/nodemon/rebuild.sh",
        "backend_python_cmd": "/opt/nodemon/venv/bin/python",
        "backend_log_cmd": "tac /var/log/nodemon/backend.log | sed '/Started server process/q' | tac",
        "nginx_reload_cmd": "nginx -s reload",
    })
}

fn apply(lab: &Lab, vars: &Value) -> support::project::Run {
    let inventory = rw::inventory(lab, 1, "fastapi", vars);
    rw::wsdeploy(lab, inventory.path(), "apply", &[])
}

/// A WebSocket handshake to the backend's route through nginx, as a browser on
/// `origin` (`https://api.example.com`) sends it, the name resolved to the host.
fn handshake(lab: &Lab, origin: &str, port: u16) -> String {
    let host = origin.split("://").nth(1).expect("origin");
    lab.curl_handshake(
        1,
        &format!("{origin}/ws/ssh/node-7"),
        // A browser opens a WebSocket over HTTP/1.1 (nginx 1.22 has no WebSocket over h2).
        &format!("--http1.1 --resolve {host}:{port}:127.0.0.1 -H 'Origin: {origin}'"),
    )
}

fn wait_backend(lab: &Lab, check: &str) {
    lab.ok(
        1,
        &format!(
            "for n in $(seq 1 30); do curl -sf --max-time 2 {check}/debug/websocket-test >/dev/null && exit 0; sleep 1; done; exit 1"
        ),
    );
}

/// The run fixed the backend and the site: exactly `expected` files changed (besides
/// dated backups), the backend restarted once, nginx accepts the result.
fn assert_first_apply(lab: &Lab, vars: &Value, expected: &[&str]) -> support::project::Run {
    let before = rw::sums(lab, 1, WATCHED);
    let backend = lab.supervised_process(1, BACKEND);
    let run = apply(lab, vars);
    run.code(0)
        .stdout_has("1 changed")
        .stderr_has("lab-1: ran: run `/opt/nodemon/rebuild.sh`")
        .stderr_has("lab-1: passed: WebSocket handshake to /ws/ssh/test through nginx returns 101");
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(rw::changed(&before, &rw::sums(lab, 1, WATCHED)), expected);
    assert_ne!(lab.supervised_process(1, BACKEND), backend, "not rebuilt");
    lab.ok(1, "nginx -t");
    run
}

/// A second apply: in sync, no file changed, no reload, no restart.
fn assert_second_apply_in_sync(lab: &Lab, vars: &Value) {
    let sums = rw::sums(lab, 1, WATCHED);
    let nginx = rw::nginx_pids(lab, 1);
    let backend = lab.supervised_process(1, BACKEND);
    apply(lab, vars).code(0).stdout_has("1 in sync");
    assert_eq!(
        rw::changed(&sums, &rw::sums(lab, 1, WATCHED)),
        Vec::<String>::new()
    );
    assert_eq!(rw::nginx_pids(lab, 1), nginx, "nginx was reloaded");
    assert_eq!(
        lab.supervised_process(1, BACKEND),
        backend,
        "backend restarted"
    );
}

fn assert_upgraded(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    assert!(answer.contains(ACCEPT), "{answer}");
}

/// Installs `file` of `case` at `path` with certificates for `name`, and reloads nginx.
fn install(lab: &Lab, case: &str, file: &str, path: &str, name: &str) -> String {
    let bytes = rw::case_file(case, file);
    rw::put(lab, 1, path, &bytes);
    let text = String::from_utf8(bytes).expect("UTF-8");
    for (cert, key) in rw::certificate_paths(&text) {
        rw::certificate(lab, 1, name, &cert, &key);
    }
    text
}

/// janelia: compose mounts docker/nginx.conf as /etc/nginx/conf.d/sam.conf; map on top,
/// the same server_name on 80 and 443 (default_server both), `proxy_pass http://sam` to the
/// compose service (port 80), no upstream block. https: the 443 server gets the location.
fn same_name_on_80_and_443(lab: &Lab, ca: &std::path::Path) {
    let case = "nginx-fastapi/janelia-sam-compose-map-on-root-no-upstream";
    let site = "/etc/nginx/conf.d/sam.conf";
    let host = "samservice-dev.int.janelia.org";
    install(lab, case, "docker/nginx.conf", site, host);
    rw::add_hosts(lab, 1, &[("127.0.0.2", "sam")]);
    lab.ok(
        1,
        "iptables -t nat -A OUTPUT -d 127.0.0.2/32 -p tcp --dport 80 -j DNAT --to-destination 127.0.0.1:8000 \
         && nginx -t && nginx -s reload",
    );
    wait_backend(lab, "http://sam");
    let mut vars = operator_vars(host, "https", site, "sam:80");
    vars["check_ca_file"] = json!(ca.display().to_string());
    // The run says which of the two servers named alike got the location.
    assert_first_apply(lab, &vars, &[site, REQUIREMENTS]).stdout_has(
        "note: step `location`: /etc/nginx/conf.d/sam.conf line 28 (server_name samservice-dev.int.janelia.org; \
         listen 443 ssl default_server): the server nginx uses for samservice-dev.int.janelia.org on port 443 \
         (its server_name)",
    );
    let text = lab.ok(1, &format!("cat {site}"));
    assert_eq!(
        locations_by_server(&text, WS_LOCATION),
        [
            ("80 default_server".to_owned(), 0),
            ("443 ssl default_server".to_owned(), 1)
        ]
    );
    assert_eq!(text.matches("proxy_pass http://sam;").count(), 2, "{text}");
    assert_eq!(maps(&[text, lab.ok(1, "cat /etc/nginx/nginx.conf")]), 1);
    assert_upgraded(&handshake(lab, &format!("https://{host}"), 443));
    assert_second_apply_in_sync(lab, &vars);
    lab.ok(
        1,
        "iptables -t nat -D OUTPUT -d 127.0.0.2/32 -p tcp --dport 80 -j DNAT --to-destination 127.0.0.1:8000",
    );
}

/// foxavier: placeholder server_name, 80 -> 443 redirect, `listen 443 ssl http2`, upgrade
/// headers on `/` with a literal "Upgrade", `proxy_pass http://fastapi:8000` (compose
/// service), no final newline. Installed as conf.d/api.conf (compose's mount of the file
/// over the conf.d directory cannot start). https: the 443 server gets the location.
fn placeholder_name_with_redirect(lab: &Lab, ca: &std::path::Path) {
    let case = "nginx-fastapi/foxavier-conf.d-is-a-file-https";
    let site = "/etc/nginx/conf.d/api.conf";
    let host = "api.example.com";
    install(lab, case, "deploy/conf/conf.d", site, host);
    rw::add_hosts(lab, 1, &[("127.0.0.1", "fastapi")]);
    lab.ok(1, "nginx -t && nginx -s reload");
    let mut vars = operator_vars(host, "https", site, "fastapi:8000");
    vars["check_ca_file"] = json!(ca.display().to_string());
    assert_first_apply(lab, &vars, &[site, "/etc/nginx/nginx.conf", REQUIREMENTS])
        .stdout_has("the server nginx uses for");
    let text = lab.ok(1, &format!("cat {site}"));
    assert_eq!(
        locations_by_server(&text, WS_LOCATION),
        [("80".to_owned(), 0), ("443 ssl http2".to_owned(), 1)]
    );
    assert!(!text.ends_with('\n'), "{text}");
    assert_eq!(maps(&[text, lab.ok(1, "cat /etc/nginx/nginx.conf")]), 1);
    assert_upgraded(&handshake(lab, &format!("https://{host}"), 443));
    assert_second_apply_in_sync(lab, &vars);
}

/// mart337i: gunicorn (uvicorn workers) on a unix socket under /home/pi, the only
/// proxy_pass inside an `if` of `location /`. The backend listens on that socket.
fn unix_socket_proxy_pass_in_if(lab: &Lab) {
    let case = "nginx-fastapi/mart337i-gunicorn-sock-proxy-pass-in-if";
    let site = "/etc/nginx/sites-enabled/Nginx.conf";
    let app = "/home/pi/code/fastapi-nginx-gunicorn";
    let socket = format!("{app}/run/gunicorn.sock");
    let before = install(lab, case, "external_config/Nginx.conf", site, "meo.local");
    lab.ok(
        1,
        &format!(
            "mkdir -p {app}/run {app}/logs && chown nodemon: {app}/run && \
             sed -i 's|--host 127.0.0.1 --port 8000|--uds {socket}|' {SUPERVISOR} && grep -q -- '--uds' {SUPERVISOR} && \
             supervisorctl update >/dev/null && nginx -t && nginx -s reload"
        ),
    );
    wait_backend(lab, &format!("--unix-socket {socket} http://localhost"));
    let vars = operator_vars("meo.local", "http", site, &format!("unix:{socket}"));
    assert_first_apply(lab, &vars, &[site, "/etc/nginx/nginx.conf", REQUIREMENTS])
        .stdout_has("the server nginx uses for");
    let text = lab.ok(1, &format!("cat {site}"));
    assert_eq!(
        locations_by_server(&text, WS_LOCATION),
        [("80".to_owned(), 1)]
    );
    let location_start = before.find("    location / {").expect("location /");
    assert!(
        text.contains(&before[location_start..before.len() - 1]),
        "{text}"
    );
    assert_upgraded(&handshake(lab, "http://meo.local", 80));
    assert_second_apply_in_sync(lab, &vars);
    lab.ok(1, "rm -rf /home/pi");
}

/// What installs and checks a case on the host.
type Case<'a> = &'a dyn Fn(&Lab);

#[test]
fn real_world_fastapi_sites_one_after_another_on_one_lab_host() {
    let started = std::time::Instant::now();
    let lab = Lab::up_role("rw-fastapi", 1, "fastapi");
    rw::report_time("fastapi: lab up", started);
    let ca = rw::make_trusted_ca(&lab, 1);
    // The case's site is the host's site: the lab's own goes.
    lab.ok(
        1,
        "rm /etc/nginx/sites-enabled/nodemon.conf && nginx -t && nginx -s reload",
    );
    rw::snapshot(&lab, 1, STATE);

    let cases: [(&str, Case<'_>); 3] = [
        ("janelia-sam-compose-map-on-root-no-upstream", &|lab| {
            same_name_on_80_and_443(lab, ca.path())
        }),
        ("foxavier-conf.d-is-a-file-https", &|lab| {
            placeholder_name_with_redirect(lab, ca.path())
        }),
        (
            "mart337i-gunicorn-sock-proxy-pass-in-if",
            &unix_socket_proxy_pass_in_if,
        ),
    ];
    for (name, case) in cases {
        let case_started = std::time::Instant::now();
        case(&lab);
        rw::restore(&lab, 1, STATE);
        lab.ok(
            1,
            &format!("supervisorctl update >/dev/null; supervisorctl restart {BACKEND} >/dev/null && nginx -t && nginx -s reload"),
        );
        wait_backend(&lab, "http://127.0.0.1:8000");
        rw::report_time(&format!("fastapi: {name}"), case_started);
    }
    rw::report_time("fastapi: in all", started);
}
