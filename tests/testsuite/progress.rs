//! Per-host progress from the first moment: a host's `connecting` line (text) or event
//! (`--json`) names where it is reached and through which jump host, and comes before
//! the SSH handshake completes (here: never, the servers accept and stay silent).

use std::io::BufRead as _;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support;

use support::project::Project;

const BIN: &str = env!("CARGO_BIN_EXE_wsdeploy");

/// A TCP server that accepts connections and never says a word (no SSH banner).
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn project(jump: u16, target: u16) -> Project {
    let p = Project::new();
    p.file(
        "plans/site.yml",
        "name: p\nhosts: web\nsteps:\n  - line: {file: /tmp/wsdeploy-never-written, line: a}\n",
    );
    p.file(
        "inventories/x/hosts.yml",
        &format!(
            "all:\n  children:\n    web:\n      hosts:\n        h1:\n          ansible_host: 127.0.0.1\n          ansible_port: {target}\n          ansible_user: deploy\n          ansible_ssh_common_args: -o ProxyJump=jumper@127.0.0.1:{jump}\n"
        ),
    );
    p
}

#[test]
fn a_host_says_it_is_connecting_and_through_which_jump_host_before_the_handshake() {
    let (jump, target) = (silent_server(), silent_server());
    let p = project(jump, target);
    let known_hosts = p.path().join("known_hosts");
    let mut child = std::process::Command::new(BIN)
        .arg("-C")
        .arg(p.path())
        .args([
            "apply",
            "-i",
            "x",
            "--json",
            "--connect-timeout",
            "20",
            "--known-hosts",
        ])
        .arg(&known_hosts)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wsdeploy starts");
    let started = Instant::now();
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    let first = first.expect("no event within 10 s of the start (the handshake hangs for 20 s)");
    assert!(started.elapsed() < Duration::from_secs(15));
    let event: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(
        event,
        serde_json::json!({
            "event": "connecting",
            "host": "h1",
            "to": format!("deploy@127.0.0.1:{target}"),
            "via": [format!("jumper@127.0.0.1:{jump}")],
        })
    );

    // In text: one line per host, on standard error, before the run ends unreachable.
    let run = p.run(&[
        "apply",
        "-i",
        "x",
        "--connect-timeout",
        "1",
        "--known-hosts",
        known_hosts.to_str().expect("utf-8"),
    ]);
    run.code(1)
        .stderr_has(&format!(
            "h1: connecting to deploy@127.0.0.1:{target} via jumper@127.0.0.1:{jump}\n"
        ))
        .stdout_has("1 unreachable");
}
