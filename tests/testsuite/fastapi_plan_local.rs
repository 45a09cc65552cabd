//! The FastAPI plan's checks follow the site's layout: scheme, address and port come from
//! variables (the seed serves nginx on :8080 from Docker Compose, with the backend as
//! service `backend`), and the rebuild also depends on a check inside the backend's
//! environment.

use std::path::Path;

use serde_json::{Map, Value};
use wsdeploy::plan::{Action, Probe};

fn render(vars: &[(&str, &str)]) -> wsdeploy::plan::HostPlan {
    let plan = wsdeploy::plan::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/fastapi-websocket.yml"),
    )
    .expect("plan loads");
    let play = &plan.plays[0];
    let mut host = Map::new();
    for (k, v) in vars {
        host.insert((*k).into(), Value::String((*v).into()));
    }
    let merged = wsdeploy::plan::merge_vars(play, "nodes", &host, &Map::new());
    wsdeploy::plan::render_play(
        play,
        "nodes",
        wsdeploy::plan::Inputs {
            vars: merged,
            ..Default::default()
        },
    )
    .expect("renders")
}

fn probe<'a>(plan: &'a wsdeploy::plan::HostPlan, id: &str) -> &'a Probe {
    let step = plan
        .steps
        .iter()
        .chain(&plan.preflight)
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"));
    match &step.action {
        Action::Verify(check) => &check.probe,
        other => panic!("{id} is not a check: {other:?}"),
    }
}

#[test]
fn check_urls_are_built_from_the_sites_scheme_address_and_port() {
    let plan = render(&[
        ("public_host", "nodes.linkti.info"),
        ("site_conf", "/opt/nodemon/nginx.conf"),
        ("public_port", "8080"),
        ("check_address", "10.0.0.5"),
        ("backend_upstream", "backend:8000"),
        (
            "backend_check_url",
            "http://127.0.0.1:8000/debug/websocket-test",
        ),
    ]);
    let Probe::Http {
        target, headers, ..
    } = probe(&plan, "health_through_nginx")
    else {
        panic!("not http")
    };
    assert_eq!((target.host.as_str(), target.port), ("10.0.0.5", 8080));
    assert!(headers.contains(&("Host".to_owned(), "nodes.linkti.info".to_owned())));
    let Probe::WebSocket {
        target,
        origin,
        host_header,
        ..
    } = probe(&plan, "websocket_handshake")
    else {
        panic!("not websocket")
    };
    assert_eq!(
        (target.host.as_str(), target.port, target.path.as_str()),
        ("10.0.0.5", 8080, "/ws/ssh/test")
    );
    assert_eq!(origin.as_deref(), Some("http://nodes.linkti.info:8080"));
    assert_eq!(host_header.as_deref(), Some("nodes.linkti.info"));
    // The backend's own health check goes where the host reaches it, not to `backend:8000`.
    let Probe::Http { target, .. } = probe(&plan, "backend_up_before") else {
        panic!("not http")
    };
    assert_eq!((target.host.as_str(), target.port), ("127.0.0.1", 8000));
}

#[test]
fn the_rebuild_also_runs_when_the_running_backend_lacks_a_websocket_library() {
    let plan = render(&[
        ("public_host", "nodes.linkti.info"),
        ("site_conf", "/opt/nodemon/nginx.conf"),
    ]);
    let rebuild = plan
        .steps
        .iter()
        .find(|s| s.id == "backend_rebuild")
        .expect("backend_rebuild");
    let Action::Command(c) = &rebuild.action else {
        panic!("not a command")
    };
    let unless = c.unless.as_deref().expect("an unless check");
    assert!(
        unless.starts_with(
            "docker compose -f /opt/nodemon/backend/../docker-compose.yml exec -T backend python -c "
        ),
        "{unless}"
    );
    assert!(unless.contains("find_spec('websockets')"), "{unless}");
}

#[test]
fn with_https_the_checks_speak_tls_to_nginx_with_sni_public_host() {
    let plan = render(&[
        ("public_host", "nodes.linkti.info"),
        ("site_conf", "/opt/nodemon/nginx.conf"),
        ("public_scheme", "https"),
        ("public_port", "8080"),
        ("check_ca_file", "/etc/wsdeploy/lab-ca.pem"),
    ]);
    for id in ["health_through_nginx", "websocket_handshake"] {
        let target = match probe(&plan, id) {
            Probe::Http { target, .. } | Probe::WebSocket { target, .. } => target,
            Probe::Command { .. } => panic!("{id} is a command check"),
        };
        assert_eq!(
            (target.host.as_str(), target.port),
            ("127.0.0.1", 8080),
            "{id}"
        );
        let tls = target
            .tls
            .as_ref()
            .unwrap_or_else(|| panic!("{id}: no TLS"));
        assert_eq!(tls.server_name, "nodes.linkti.info", "{id}");
        assert_eq!(
            tls.ca_file.as_deref(),
            Some("/etc/wsdeploy/lab-ca.pem"),
            "{id}"
        );
    }
    let Probe::WebSocket { origin, .. } = probe(&plan, "websocket_handshake") else {
        panic!("not websocket")
    };
    assert_eq!(origin.as_deref(), Some("https://nodes.linkti.info:8080"));
}

#[test]
fn a_backend_on_a_unix_socket_is_checked_through_the_socket() {
    // gunicorn/uvicorn bound to a socket, as in mart337i/fastapi-nginx-gunicorn.
    let socket = "/home/pi/code/fastapi-nginx-gunicorn/run/gunicorn.sock";
    let plan = render(&[
        ("public_host", "meo.local"),
        ("site_conf", "/etc/nginx/sites-enabled/Nginx.conf"),
        ("backend_upstream", &format!("unix:{socket}")),
    ]);
    for id in ["backend_socket_up_before", "backend_socket_up"] {
        let Probe::Command { run, .. } = probe(&plan, id) else {
            panic!("{id} is not a command check")
        };
        assert_eq!(
            run,
            &format!(
                "curl -fsS -o /dev/null --unix-socket {socket} http://localhost/debug/websocket-test"
            ),
            "{id}"
        );
    }
    let ids: Vec<&str> = plan
        .preflight
        .iter()
        .chain(&plan.steps)
        .map(|s| s.id.as_str())
        .collect();
    assert!(
        !ids.contains(&"backend_up_before") && !ids.contains(&"backend_up"),
        "no TCP check of a socket: {ids:?}"
    );
    let upstream = plan
        .steps
        .iter()
        .find(|s| s.id == "upstream")
        .expect("upstream");
    assert!(
        format!("{:?}", upstream.action).contains(&format!("server unix:{socket};")),
        "{:?}",
        upstream.action
    );
}

/// Starts a real process whose command line is `python3 <dir>/<name> main:app --host 0.0.0.0 <extra>`.
fn backend_process(
    dir: &Path,
    name: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Child {
    let script = dir.join(name);
    std::fs::write(&script, "import time\ntime.sleep(60)\n").expect("write script");
    std::process::Command::new("python3")
        .arg(&script)
        .args(["main:app", "--host", "0.0.0.0", "--port", "8000"])
        .args(extra)
        .envs(env.iter().copied())
        .spawn()
        .expect("python3 runs")
}

/// Runs the plan's proxy-trust check as the host would (`sh -c`), with the backend's
/// Python being this machine's.
fn trust_check(plan: &wsdeploy::plan::HostPlan) -> std::process::Output {
    let Probe::Command { run, .. } = probe(plan, "backend_trusts_proxy_headers") else {
        panic!("not a command check")
    };
    std::process::Command::new("sh")
        .args(["-c", run])
        .output()
        .expect("sh runs")
}

#[test]
fn uvicorn_that_trusts_forwarded_headers_only_from_loopback_is_refused_behind_compose_nginx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = format!("uvicorn-trust-{}", std::process::id());
    let vars = |upstream: &'static str| {
        vec![
            ("public_host", "nodes.linkti.info"),
            ("site_conf", "/opt/nodemon/nginx.conf"),
            ("backend_upstream", upstream),
            ("backend_python_cmd", "python3"),
        ]
    };
    let mut compose = vars("backend:8000");
    let pattern = format!("/{name} ");
    compose.push(("backend_process_match", &pattern));
    let plan = render(&compose);
    // No such process: refused, saying what to set.
    let out = trust_check(&plan);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no process matches backend_process_match"),
        "{out:?}"
    );
    // uvicorn's defaults: X-Forwarded-* trusted only from 127.0.0.1.
    let mut child = backend_process(dir.path(), &name, &[], &[]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = trust_check(&plan);
    let _ = child.kill();
    let _ = child.wait();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("trusts X-Forwarded-* only from 127.0.0.1") && stderr.contains(&name),
        "{stderr}"
    );
    let step = plan
        .preflight
        .iter()
        .find(|s| s.id == "backend_trusts_proxy_headers")
        .expect("step");
    let hint = step.hint.as_deref().expect("hint");
    assert!(
        hint.contains("--forwarded-allow-ips='*'")
            && hint.contains("/opt/nodemon/backend/../docker-compose.yml")
            && hint.contains("ExecStart="),
        "{hint}"
    );
    // The flag on the command line, or the variable in its environment: accepted.
    for (extra, env) in [
        (vec!["--forwarded-allow-ips", "*"], vec![]),
        (vec!["--forwarded-allow-ips=172.18.0.0/16"], vec![]),
        (vec![], vec![("FORWARDED_ALLOW_IPS", "*")]),
    ] {
        let mut child = backend_process(dir.path(), &name, &extra, &env);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let out = trust_check(&plan);
        let _ = child.kill();
        let _ = child.wait();
        assert!(out.status.success(), "{extra:?} {env:?}: {out:?}");
    }
    // A name that is loopback where the backend runs (an /etc/hosts alias): the default
    // trust is right, with or without a matching process.
    let mut aliased = vars("127.0.0.2:8000");
    aliased.push(("backend_process_match", &pattern));
    let out = trust_check(&render(&aliased));
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("127.0.0.2 is loopback here"),
        "{out:?}"
    );
    // nginx on the same host over loopback or a socket: uvicorn's default is right.
    for upstream in ["127.0.0.1:8000", "unix:/run/app.sock"] {
        let plan = render(&vars(upstream));
        assert!(
            !plan
                .preflight
                .iter()
                .any(|s| s.id == "backend_trusts_proxy_headers"),
            "{upstream}"
        );
    }
}
