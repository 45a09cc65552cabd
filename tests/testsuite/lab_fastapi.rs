//! End to end on the lab: the FastAPI WebSocket plan applied over real SSH to real hosts
//! (sshd, nginx, a FastAPI app served by uvicorn from PyPI wheels under supervisor). Before
//! the run the hosts show the field report's symptoms (404 on /ws/ssh/<node> and uvicorn's
//! `No supported WebSocket library detected`); one apply fixes them, a second changes
//! nothing, and a failing rebuild or check rolls a host back to its exact bytes with the
//! backend running on its old environment.

use crate::support;

use support::lab::{self, Lab};
use support::shared_fleet::SharedFleet;

/// The hosts of every test here (9: one each, two for the first), started together; each test takes
/// fresh ones.
static FLEET: SharedFleet = SharedFleet::new("fastapi", 9, &["--role", "fastapi"]);

/// What the plan edits on a fastapi host.
const WATCHED: &str = "/etc/nginx /opt/nodemon/backend";
const BACKEND: &str = "nodemon-backend";
const WARNING: &str = "No supported WebSocket library detected";

fn repo() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A handshake sent straight to uvicorn on 8000.
fn direct_handshake(lab: &Lab, i: usize) -> String {
    lab.curl_handshake(i, "http://127.0.0.1:8000/ws/ssh/test", "")
}

/// A handshake through the host's nginx, as a browser on the site sends it.
fn nginx_handshake(lab: &Lab, i: usize) -> String {
    let ip = lab.ip(i);
    lab.curl_handshake(
        i,
        "http://127.0.0.1/ws/ssh/107.174.144.193",
        &format!("-H 'Host: {ip}' -H 'Origin: http://{ip}'"),
    )
}

/// The backend's log since its last start.
fn log_since_start(lab: &Lab, i: usize) -> String {
    lab.ok(
        i,
        "tac /var/log/nodemon/backend.log | sed '/Started server process/q' | tac",
    )
}

/// A whole WebSocket conversation through nginx with the `websockets` client now installed
/// in the backend's environment: greeting, then an echo.
fn websocket_conversation(lab: &Lab, i: usize) -> String {
    let ip = lab.ip(i);
    lab.ok(
        i,
        &format!(
            r#"/opt/nodemon/venv/bin/python - <<'EOF'
import asyncio, websockets
async def main():
    async with websockets.connect("ws://{ip}/ws/ssh/node-7", origin="http://{ip}") as ws:
        print(await ws.recv())
        await ws.send("echo me")
        print(await ws.recv())
asyncio.run(main())
EOF"#
        ),
    )
}

fn assert_backend_healthy(lab: &Lab, i: usize) {
    lab.ok(i, "nginx -t");
    lab.ok(
        i,
        "for n in $(seq 1 30); do curl -sf --max-time 2 http://127.0.0.1:8000/debug/websocket-test && exit 0; sleep 1; done; exit 1",
    );
    lab.ok(
        i,
        &format!("supervisorctl status {BACKEND} | grep -q RUNNING"),
    );
}

#[test]
#[expect(clippy::too_many_lines, reason = "one end-to-end scenario in order")]
fn seed_symptoms_then_one_apply_fixes_them_and_a_second_changes_nothing() {
    let lab = FLEET.take("main", 2);
    let before: Vec<String> = (1..=2).map(|i| lab.tree_sums(i, WATCHED)).collect();

    // The field report's symptoms, on every host.
    for i in 1..=2 {
        let direct = direct_handshake(&lab, i);
        assert!(direct.starts_with("HTTP/1.1 404"), "host {i}: {direct}");
        assert!(
            log_since_start(&lab, i).contains(WARNING),
            "host {i}: uvicorn did not warn about the missing WebSocket library"
        );
        let proxied = nginx_handshake(&lab, i);
        assert!(proxied.starts_with("HTTP/1.1 404"), "host {i}: {proxied}");
    }

    // Dry run: the diff, nothing touched.
    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("+uvicorn[standard]==0.34.0")
        .stdout_has("+websockets")
        .stdout_has("+    location ~ ^/ws/(.*)$ {")
        .stdout_has("2 would change");
    for i in 1..=2 {
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            before[i - 1],
            "dry run changed host {i}"
        );
        lab.ok(i, "test ! -e /var/lib/wsdeploy");
    }

    let pids_before: Vec<String> = (1..=2)
        .map(|i| lab.supervised_process(i, BACKEND))
        .collect();
    let first = lab.wsdeploy("apply", &[]);
    first
        .code(0)
        .stdout_has("2 changed")
        .stderr_has("lab-1: ran: run `/opt/nodemon/rebuild.sh`")
        .stderr_has("lab-2: passed: WebSocket handshake to /ws/ssh/test through nginx returns 101");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for i in 1..=2 {
        assert_backend_healthy(&lab, i);
        assert_ne!(
            lab.supervised_process(i, BACKEND),
            pids_before[i - 1],
            "host {i}: the backend was not restarted on the new requirements"
        );
        let ok = nginx_handshake(&lab, i);
        assert!(ok.starts_with("HTTP/1.1 101"), "host {i}: {ok}");
        assert!(
            ok.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "host {i}: {ok}"
        );
        let conversation = websocket_conversation(&lab, i);
        assert!(
            conversation.contains("connected to node-7\necho me"),
            "host {i}: {conversation}"
        );
        assert!(direct_handshake(&lab, i).starts_with("HTTP/1.1 101"));
        let log = log_since_start(&lab, i);
        assert!(!log.contains(WARNING), "host {i}: {log}");
        assert!(
            log.contains("WebSocket connection accepted for node: node-7"),
            "host {i}: {log}"
        );
        // requirements.txt: the two requirements once each, everything else kept in place.
        assert_eq!(
            lab.ok(i, "cat /opt/nodemon/backend/requirements.txt"),
            "# nodemon backend\nfastapi==0.115.6\nuvicorn[standard]==0.34.0\npydantic>=2,<3\nwebsockets\n"
        );
        let packages = lab.ok(i, "/opt/nodemon/venv/bin/pip list --format=freeze");
        for dist in [
            "websockets==14.1",
            "httptools==",
            "uvloop==",
            "uvicorn==0.34.0",
        ] {
            assert!(
                packages.contains(dist),
                "host {i}: {dist} missing from\n{packages}"
            );
        }
        let health = lab.ok(
            i,
            &format!(
                "curl -sf -H 'Host: {}' http://127.0.0.1/debug/websocket-test",
                lab.ip(i)
            ),
        );
        assert!(health.contains("\"status\":\"ok\""), "host {i}: {health}");
        // Backups hold the exact pre-run bytes.
        for file in [
            "/etc/nginx/nginx.conf",
            "/etc/nginx/sites-available/nodemon.conf",
            "/opt/nodemon/backend/requirements.txt",
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

    // Second apply: nothing changes, nothing reloads, nothing restarts.
    let nginx: Vec<String> = (1..=2).map(|i| lab.nginx_pids(i)).collect();
    let backend: Vec<String> = (1..=2)
        .map(|i| lab.supervised_process(i, BACKEND))
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
            lab.supervised_process(i, BACKEND),
            backend[i - 1],
            "host {i}: the backend was restarted"
        );
        assert_eq!(
            lab.tree_sums(i, WATCHED),
            sums[i - 1],
            "host {i}: files changed"
        );
    }
}

/// Applies and expects a rollback to the exact previous bytes with the backend running on
/// its previous environment (plain uvicorn: the warning comes back on a direct handshake).
fn expect_rollback(
    lab: &Lab,
    project: &std::path::Path,
    extra: &[&str],
    step: &str,
    evidence: &str,
) {
    let before = lab.sums_without_backups(1, WATCHED);
    let venv = lab.ok(1, "readlink /opt/nodemon/venv");
    let run = lab.wsdeploy_in(project, "apply", extra);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has(&format!("error in step `{step}`"))
        .stdout_has(evidence)
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.sums_without_backups(1, WATCHED),
        before,
        "files differ after the rollback"
    );
    assert_backend_healthy(lab, 1);
    assert_eq!(
        lab.ok(1, "readlink /opt/nodemon/venv"),
        venv,
        "the backend's environment was not switched back"
    );
    let proxied = nginx_handshake(lab, 1);
    assert!(
        proxied.starts_with("HTTP/1.1 404"),
        "the change survived: {proxied}"
    );
    let direct = direct_handshake(lab, 1);
    assert!(direct.starts_with("HTTP/1.1 404"), "{direct}");
    assert!(log_since_start(lab, 1).contains(WARNING));
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
}

#[test]
fn requirement_missing_from_the_wheelhouse_rolls_back() {
    // pip cannot install the new requirements.txt: the rebuild fails before the backend is
    // touched; requirements.txt comes back and the rebuild runs again on it.
    let lab = FLEET.take("pip", 1);
    let project = lab::project_with_plan("fastapi-websocket.yml", |plan| {
        plan.replace("        - websockets\n", "        - websockets==99.0\n")
    });
    expect_rollback(
        &lab,
        project.path(),
        &[],
        "backend_rebuild",
        "No matching distribution found for websockets==99.0",
    );
}

#[test]
fn failing_websocket_check_after_the_rebuild_rolls_back_and_restarts_the_old_backend() {
    // Everything is applied and the backend restarted on uvicorn[standard], then a check
    // fails: the rollback restores the files, rebuilds on the old requirements (the old
    // environment, plain uvicorn) and reloads nginx; preflight proves the backend healthy.
    let lab = FLEET.take("verify", 1);
    let started = lab.supervised_process(1, BACKEND);
    expect_rollback(
        &lab,
        repo(),
        &["-e", "ws_test_path=/ws/no-such-route"],
        "websocket_handshake",
        "returned 403",
    );
    assert_ne!(
        lab.supervised_process(1, BACKEND),
        started,
        "the backend was not restarted by the rollback"
    );
}

#[test]
fn a_backend_running_without_a_websocket_library_is_rebuilt_although_requirements_txt_is_right() {
    // The seed's second trap: requirements.txt is already fixed (git pull), but the running
    // image was built before it. Files show nothing to do; the check inside the backend's
    // environment does, and makes the rebuild run.
    let lab = FLEET.take("stale", 1);
    let old_venv = lab.ok(1, "readlink /opt/nodemon/venv").trim().to_owned();
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 changed");
    lab.ok(
        1,
        &format!("ln -sfn {old_venv} /opt/nodemon/venv && supervisorctl restart {BACKEND}"),
    );
    assert_backend_healthy(&lab, 1);
    let stale = nginx_handshake(&lab, 1);
    assert!(stale.starts_with("HTTP/1.1 404"), "{stale}");
    let sums = lab.sums_without_backups(1, WATCHED);

    let dry = lab.wsdeploy("apply", &["--dry-run"]);
    dry.code(0)
        .stdout_has("would run: run `/opt/nodemon/rebuild.sh`")
        .stdout_has("1 would change");
    let run = lab.wsdeploy("apply", &[]);
    run.code(0)
        .stderr_has("lab-1: ran: run `/opt/nodemon/rebuild.sh`")
        .stderr_has("lab-1: passed: the running backend's environment has a WebSocket library");
    assert_eq!(lab.sums_without_backups(1, WATCHED), sums, "files changed");
    assert_ne!(lab.ok(1, "readlink /opt/nodemon/venv").trim(), old_venv);
    let ok = nginx_handshake(&lab, 1);
    assert!(ok.starts_with("HTTP/1.1 101"), "{ok}");

    let backend = lab.supervised_process(1, BACKEND);
    lab.wsdeploy("apply", &[]).code(0).stdout_has("1 in sync");
    assert_eq!(lab.supervised_process(1, BACKEND), backend, "rebuilt again");
}

#[test]
fn the_seeds_layout_tls_on_8080_with_the_backend_as_a_service_name() {
    // Seed 001's nginx serves https://nodes.linkti.info:8080 and proxies to `backend:8000`
    // (its compose service). The checks go where that nginx listens (public_scheme,
    // public_port), speak TLS with SNI = public_host trusting the site's CA, and reach the
    // backend's health where the host can (backend_check_url), not at the service name.
    let lab = FLEET.take("seed", 1);
    lab.ok(1, "/opt/lab/role/seed-layout.sh");
    let ca = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(ca.path(), lab.ok(1, "cat /etc/nginx/tls/ca.pem")).expect("write CA");
    let handshake = |lab: &Lab| {
        lab.curl_handshake(
            1,
            "https://nodes.linkti.info:8080/ws/ssh/107.174.144.193",
            "--cacert /etc/nginx/tls/ca.pem --resolve nodes.linkti.info:8080:127.0.0.1 -H 'Origin: https://nodes.linkti.info:8080'",
        )
    };
    let before = handshake(&lab);
    assert!(before.starts_with("HTTP/1.1 404"), "{before}");
    let ca_var = format!("check_ca_file={}", ca.path().display());
    let layout = [
        "-e",
        "public_host=nodes.linkti.info",
        "-e",
        "public_scheme=https",
        "-e",
        "public_port=8080",
        "-e",
        &ca_var,
        "-e",
        "backend_upstream=backend:8000",
        "-e",
        "backend_check_url=http://127.0.0.1:8000/debug/websocket-test",
    ];
    let run = lab.wsdeploy("apply", &layout);
    run.code(0)
        .stdout_has("server backend:8000;")
        .stdout_has("1 changed")
        .stderr_has("lab-1: passed: GET /debug/websocket-test answers through nginx")
        .stderr_has("lab-1: passed: WebSocket handshake to /ws/ssh/test through nginx returns 101");
    let after = handshake(&lab);
    assert!(after.starts_with("HTTP/1.1 101"), "{after}");
    lab.wsdeploy("apply", &layout)
        .code(0)
        .stdout_has("1 in sync");
}

/// The compose project of `compose-layout.sh` on a lab host.
const COMPOSE: &str = "docker compose -f /opt/nodemon/docker-compose.yml";
const PROJECT: &str = "/opt/nodemon/docker-compose.yml /opt/nodemon/nginx.conf /opt/nodemon/backend/requirements.txt /opt/nodemon/backend/Dockerfile";

/// An inventory for the seed's compose layout on host 1 (the lab's key and known_hosts),
/// with the CA of its nginx: what a user of that layout writes (docs/shipped-plans.md, FastAPI).
/// nginx.conf is bind-mounted into the nginx service as a file and wsdeploy replaces files
/// by rename (a new inode), so nginx is tested in a fresh container (`run --rm`) and
/// reloaded by restarting its container, which mounts the file anew.
fn compose_inventory(lab: &Lab) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, lab.ok(1, "cat /opt/nodemon/certs/ca.pem")).expect("write CA");
    let out = lab.outdir.display();
    let inventory = format!(
        r#"all:
  children:
    fastapi:
      hosts:
        lab-1: {{ansible_host: {ip}, ansible_user: root, ansible_ssh_private_key_file: {out}/id_ed25519, public_host: nodes.linkti.info}}
      vars:
        ansible_ssh_common_args: "-o UserKnownHostsFile={out}/known_hosts"
        compose_file: /opt/nodemon/docker-compose.yml
        backend_dir: /opt/nodemon/backend
        nginx_conf: /opt/nodemon/nginx.conf
        site_conf: /opt/nodemon/nginx.conf
        backend_upstream: backend:8000
        backend_check_url: http://127.0.0.1:8000/debug/websocket-test
        nginx_test_cmd: {COMPOSE} run --rm --no-deps -T nginx nginx -t
        nginx_reload_cmd: {COMPOSE} restart nginx
        nginx_dump_cmd: {COMPOSE} run --rm --no-deps -T nginx sh -c 'nginx -T 2>&1'
        public_scheme: https
        public_port: 8080
        check_ca_file: {ca}
"#,
        ip = lab.ip(1),
        ca = ca.display(),
    );
    std::fs::write(dir.path().join("hosts.yml"), inventory).expect("write inventory");
    dir
}

/// `wsdeploy apply` of the FastAPI plan with the compose inventory.
fn apply_compose(inventory: &std::path::Path, lab: &Lab, extra: &[&str]) -> support::project::Run {
    let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary");
    cmd.arg("-C")
        .arg(repo())
        .arg("apply")
        .arg("-i")
        .arg(inventory.join("hosts.yml"))
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .arg("plans/fastapi-websocket.yml")
        .args(extra)
        .env("NO_COLOR", "1");
    let out = cmd.output().expect("wsdeploy runs");
    support::project::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A handshake through the compose nginx, as the seed's browser sends it
/// (https://nodes.linkti.info:8080, the nginx container's published port).
fn compose_nginx_handshake(lab: &Lab) -> String {
    lab.curl_handshake(
        1,
        "https://nodes.linkti.info:8080/ws/ssh/107.174.144.193",
        "--cacert /opt/nodemon/certs/ca.pem --resolve nodes.linkti.info:8080:127.0.0.1 -H 'Origin: https://nodes.linkti.info:8080'",
    )
}

/// Image id, container id and start time of the compose services (what a rebuild or a
/// restart changes).
fn compose_state(lab: &Lab) -> String {
    lab.ok(
        1,
        "docker inspect -f '{{.Name}} {{.Image}} {{.Id}} {{.State.StartedAt}}' nodemon-backend nodemon-nginx",
    )
}

fn backend_image(lab: &Lab) -> String {
    lab.ok(1, "docker inspect -f '{{.Image}}' nodemon-backend")
        .trim()
        .to_owned()
}

/// A whole WebSocket conversation with the real `websockets` client, run in the backend's
/// container against the nginx service over TLS (SNI nodes.linkti.info, the site's CA).
fn compose_conversation(lab: &Lab) -> String {
    lab.ok(
        1,
        &format!(
            r#"{COMPOSE} exec -T -e CA="$(cat /opt/nodemon/certs/ca.pem)" backend python - <<'EOF'
import asyncio, os, ssl, websockets
async def main():
    ctx = ssl.create_default_context(cadata=os.environ["CA"])
    async with websockets.connect("wss://nginx:8080/ws/ssh/node-7", ssl=ctx,
            server_hostname="nodes.linkti.info", origin="https://nodes.linkti.info:8080") as ws:
        print(await ws.recv())
        await ws.send("echo me")
        print(await ws.recv())
asyncio.run(main())
EOF"#
        ),
    )
}

/// Prints the layout script's timings (engine, base image, image build, `up`).
fn report_layout(output: &str, started: std::time::Instant) {
    for line in output.lines().filter(|l| l.starts_with("compose layout:")) {
        eprintln!("{line}");
    }
    eprintln!(
        "compose layout: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_seeds_compose_layout_is_fixed_with_docker_compose_and_a_second_apply_changes_nothing() {
    // Seed 001 as it ran: nginx and the FastAPI backend are compose services on one host,
    // nginx publishes TLS on :8080 and proxies to `backend:8000`, the backend's image is
    // built from a Dockerfile and requirements.txt (plain uvicorn). Real Docker engine and
    // Docker Compose v2 on the lab host; no registry (see compose-layout.sh).
    let lab = FLEET.take("compose", 1);
    let started = std::time::Instant::now();
    let layout = lab.ok(1, "bash /opt/lab/role/compose-layout.sh");
    report_layout(&layout, started);

    // The seed's symptoms, in that layout.
    let before = compose_nginx_handshake(&lab);
    assert!(before.starts_with("HTTP/1.1 404"), "{before}");
    let direct = direct_handshake(&lab, 1);
    assert!(direct.starts_with("HTTP/1.1 404"), "{direct}");
    let log = lab.ok(1, &format!("{COMPOSE} logs --no-log-prefix backend"));
    assert!(log.contains(WARNING), "{log}");
    let (code, missing) = lab.sh(
        1,
        &format!("{COMPOSE} exec -T backend python -c 'import websockets'"),
    );
    assert_ne!(code, 0, "{missing}");
    assert!(
        missing.contains("No module named 'websockets'"),
        "{missing}"
    );
    // Only the compose services answer: the host's own nginx (:80) and backend are stopped.
    lab.ok(1, "! ss -Hltn 'sport = :80' | grep -q . && ! supervisorctl status nodemon-backend | grep -q RUNNING");

    let inventory = compose_inventory(&lab);
    let image_before = backend_image(&lab);
    let started = std::time::Instant::now();
    let run = apply_compose(inventory.path(), &lab, &[]);
    eprintln!(
        "compose layout: first apply {:.1} s",
        started.elapsed().as_secs_f64()
    );
    run.code(0)
        .stdout_has("+uvicorn[standard]==0.34.0")
        .stdout_has("+            proxy_pass http://fastapi_backend/ws/$1$is_args$args;")
        .stdout_has("server backend:8000;")
        .stdout_has("1 changed")
        .stderr_has(&format!(
            "lab-1: ran: run `{COMPOSE} up -d --build --wait backend`"
        ))
        .stderr_has(&format!("lab-1: ran: run `{COMPOSE} restart nginx`"))
        .stderr_has("lab-1: passed: WebSocket handshake to /ws/ssh/test through nginx returns 101")
        .stderr_has("lab-1: passed: the running backend's environment has a WebSocket library");
    assert_ne!(
        backend_image(&lab),
        image_before,
        "the backend's image was not rebuilt"
    );
    let after = compose_nginx_handshake(&lab);
    assert!(after.starts_with("HTTP/1.1 101"), "{after}");
    assert!(after.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{after}");
    let conversation = compose_conversation(&lab);
    assert!(
        conversation.contains("connected to node-7\necho me"),
        "{conversation}"
    );
    let packages = lab.ok(
        1,
        &format!("{COMPOSE} exec -T backend pip list --format=freeze"),
    );
    for dist in [
        "websockets==14.1",
        "httptools==",
        "uvloop==",
        "uvicorn==0.34.0",
    ] {
        assert!(packages.contains(dist), "{dist} missing from\n{packages}");
    }
    let log = lab.ok(1, &format!("{COMPOSE} logs --no-log-prefix backend"));
    assert!(!log.contains(WARNING), "{log}");
    assert!(
        log.contains("WebSocket connection accepted for node: node-7"),
        "{log}"
    );
    // The nginx container runs the new nginx.conf (the file mounted anew by the restart).
    let inside = lab.ok(1, "docker exec nodemon-nginx cat /etc/nginx/nginx.conf");
    assert_eq!(inside, lab.ok(1, "cat /opt/nodemon/nginx.conf"));
    assert!(inside.contains("location ~ ^/ws/(.*)$"), "{inside}");

    // Second apply: nothing rebuilt, recreated or restarted, no file touched.
    let state = compose_state(&lab);
    let sums = lab.sums_without_backups(1, PROJECT);
    let started = std::time::Instant::now();
    let second = apply_compose(inventory.path(), &lab, &[]);
    eprintln!(
        "compose layout: second apply {:.1} s",
        started.elapsed().as_secs_f64()
    );
    second.code(0).stdout_has("1 in sync");
    assert_eq!(
        compose_state(&lab),
        state,
        "a container was rebuilt or restarted"
    );
    assert_eq!(lab.sums_without_backups(1, PROJECT), sums, "files changed");
}

#[test]
fn a_container_built_before_requirements_txt_was_fixed_is_rebuilt_by_docker_compose() {
    // The seed's trap in its own layout: `git pull` brought the fixed requirements.txt but
    // the running image was built before it. requirements.txt needs no change; the check
    // inside the running container (`docker compose exec -T backend python`) finds no
    // WebSocket library and makes `docker compose up -d --build` run.
    let lab = FLEET.take("cstale", 1);
    lab.ok(1, "bash /opt/lab/role/compose-layout.sh --stale");
    let requirements = lab.ok(1, "sha256sum /opt/nodemon/backend/requirements.txt");
    assert!(
        lab.ok(1, "cat /opt/nodemon/backend/requirements.txt")
            .contains("uvicorn[standard]"),
        "the layout did not write the fixed requirements.txt"
    );
    let (code, _) = lab.sh(
        1,
        &format!("{COMPOSE} exec -T backend python -c 'import websockets'"),
    );
    assert_ne!(code, 0, "the stale image already has websockets");
    let inventory = compose_inventory(&lab);
    let image_before = backend_image(&lab);

    let dry = apply_compose(inventory.path(), &lab, &["--dry-run"]);
    dry.code(0)
        .stdout_has(&format!(
            "would run: run `{COMPOSE} up -d --build --wait backend`"
        ))
        .stdout_has("no WebSocket library (websockets, wsproto) in the running backend")
        .stdout_has("1 would change");
    assert_eq!(backend_image(&lab), image_before, "the dry run rebuilt");

    let run = apply_compose(inventory.path(), &lab, &[]);
    run.code(0)
        .stderr_has(&format!(
            "lab-1: ran: run `{COMPOSE} up -d --build --wait backend`"
        ))
        .stderr_has("lab-1: passed: the running backend's environment has a WebSocket library");
    assert!(
        !run.stdout.contains("requirements.txt.backup"),
        "requirements.txt was rewritten:\n{}",
        run.stdout
    );
    assert_eq!(
        lab.ok(1, "sha256sum /opt/nodemon/backend/requirements.txt"),
        requirements
    );
    assert_ne!(
        backend_image(&lab),
        image_before,
        "the image was not rebuilt"
    );
    lab.ok(
        1,
        &format!("{COMPOSE} exec -T backend python -c 'import websockets'"),
    );
    let ok = compose_nginx_handshake(&lab);
    assert!(ok.starts_with("HTTP/1.1 101"), "{ok}");

    let state = compose_state(&lab);
    apply_compose(inventory.path(), &lab, &[])
        .code(0)
        .stdout_has("1 in sync");
    assert_eq!(compose_state(&lab), state, "rebuilt or restarted again");
}

#[test]
fn nginx_reloaded_inside_its_container_keeps_the_old_bind_mounted_file_and_the_run_rolls_back() {
    // The pitfall of nginx in compose: nginx.conf is bind-mounted as a file and wsdeploy
    // replaces files by rename, so `exec nginx nginx -s reload` reloads the old inode. The
    // handshake check catches it (404), and the rollback puts every file back, rebuilds the
    // backend on the old requirements.txt (`docker compose up -d --build`) and reloads.
    let lab = FLEET.take("cmount", 1);
    lab.ok(1, "bash /opt/lab/role/compose-layout.sh");
    let inventory = compose_inventory(&lab);
    let sums = lab.sums_without_backups(1, PROJECT);
    let image_before = backend_image(&lab);
    let in_place = format!(
        r#"{{"nginx_test_cmd": "{COMPOSE} exec -T nginx nginx -t", "nginx_reload_cmd": "{COMPOSE} exec -T nginx nginx -s reload", "ws_test_path": "/ws/ssh/107.174.144.193"}}"#
    );
    let run = apply_compose(inventory.path(), &lab, &["-e", &in_place]);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("error in step `websocket_handshake`")
        .stdout_has("returned 404 Not Found, expected 101")
        .stdout_has(&format!(
            "rollback: re-ran `{COMPOSE} up -d --build --wait backend`"
        ))
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.sums_without_backups(1, PROJECT),
        sums,
        "files differ after the rollback"
    );
    let (code, _) = lab.sh(
        1,
        &format!("{COMPOSE} exec -T backend python -c 'import websockets'"),
    );
    assert_ne!(code, 0, "the backend still runs the new requirements");
    assert_eq!(
        backend_image(&lab),
        image_before,
        "not the old image (layer cache) after the rollback"
    );
    let handshake = compose_nginx_handshake(&lab);
    assert!(handshake.starts_with("HTTP/1.1 404"), "{handshake}");
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
}
