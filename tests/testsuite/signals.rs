//! Ctrl-C during a real apply on `connection: local` hosts: the real binary in its own
//! process group, the signal sent to the whole group as a terminal sends it, while the
//! first host's command (a `sleep`) runs inside its transaction. The first interrupt lets
//! that host finish, starts no other host, prints the summary and exits 130; a second one
//! exits at once naming the host the next apply recovers, and that apply does.

use crate::support;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::project::{Project, Run};

const ORIGINAL: &str = "[options]\nworkers = 2\n";
const HOSTS: [&str; 3] = ["web1", "web2", "web3"];

/// Three local hosts (this machine's run lock is shared, so `--forks 1` runs them one
/// after the other); the command after the edit marks that it started, then sleeps.
fn project(sleep: u32) -> Project {
    let p = Project::new();
    let root = p.path().join("root");
    let mut inv = String::from("all:\n  children:\n    web:\n      hosts:\n");
    for h in HOSTS {
        inv.push_str(&format!(
            "        {h}:\n          ansible_connection: local\n"
        ));
        p.file(&format!("root/{h}/app.conf"), ORIGINAL);
    }
    inv.push_str(&format!("      vars:\n        root: {}\n", root.display()));
    p.file("inventories/test/hosts.yml", &inv);
    p.file("plans/site.yml", &plan(sleep));
    p
}

fn plan(sleep: u32) -> String {
    format!(
        "name: slow\nhosts: web\nsteps:\n  - id: conf\n    ini: {{file: \"{{{{ root }}}}/{{{{ inventory_hostname }}}}/app.conf\", set: {{proxy_mode: \"True\"}}}}\n  - id: restart\n    command: \"touch {{{{ root }}}}/{{{{ inventory_hostname }}}}/started && sleep {sleep}\"\n    if_changed: [conf]\n"
    )
}

/// Removes, at the end of a test (passed or failed), this machine's journal entries of
/// runs on the project's files: an interrupted run left behind would be every later local
/// test's recovery to do.
struct ForgetRuns(PathBuf);

impl Drop for ForgetRuns {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(support::reliability::LOCAL_RUNS) else {
            return;
        };
        let ours = self.0.to_string_lossy().into_owned();
        for entry in entries.flatten() {
            let manifest = std::fs::read_to_string(entry.path().join("manifest.json"));
            if manifest.is_ok_and(|m| m.contains(&ours)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn conf(p: &Project, host: &str) -> String {
    std::fs::read_to_string(p.path().join(format!("root/{host}/app.conf"))).expect("read conf")
}

fn started(p: &Project, host: &str) -> PathBuf {
    p.path().join(format!("root/{host}/started"))
}

/// `wsdeploy apply` in a process group of its own (as a shell's foreground job).
fn spawn_apply(p: &Project) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wsdeploy"))
        .arg("-C")
        .arg(p.path())
        .args(["apply", "-i", "test", "--forks", "1"])
        .env("NO_COLOR", "1")
        .env_remove("WSDEPLOY_TODAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start wsdeploy")
}

/// SIGINT to the whole process group, as Ctrl-C at a terminal.
fn ctrl_c(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT failed");
}

/// SIGTERM to wsdeploy alone, as `kill PID` or a supervisor sends it.
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
}

fn wait_for(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear within {within:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the child to end (at most `within`), returning its output and how long it took.
fn finish(child: Child, within: Duration) -> (Run, Duration) {
    let pid = child.id();
    let begun = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(within) else {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("wsdeploy did not exit within {within:?} of the interrupt");
    };
    let out = out.expect("wait for wsdeploy");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, begun.elapsed())
}

#[test]
fn ctrl_c_lets_the_host_in_flight_finish_starts_no_other_and_exits_130() {
    stops_cleanly(ctrl_c);
}

#[test]
fn sigterm_stops_the_run_as_ctrl_c_does() {
    stops_cleanly(sigterm);
}

fn stops_cleanly(signal: fn(&Child)) {
    let _guard = support::reliability::local_host_guard();
    let p = project(3);
    let _forget = ForgetRuns(p.path().to_owned());
    let child = spawn_apply(&p);
    // web1's command is running: its file is written, its transaction open.
    wait_for(&started(&p, "web1"), Duration::from_secs(60));
    signal(&child);
    let (run, _) = finish(child, Duration::from_secs(60));
    run.code(130)
        .stderr_has("interrupted: starting no new host")
        .stdout_has("web1 (changed)")
        .stdout_has("1 changed, 2 not run (interrupted)");
    // web1 finished its transaction: fully applied, and committed (nothing to recover).
    assert_eq!(
        conf(&p, "web1"),
        "[options]\nworkers = 2\nproxy_mode = True\n"
    );
    // No other host started: exact bytes, and their command never ran.
    for h in ["web2", "web3"] {
        assert_eq!(conf(&p, h), ORIGINAL, "{h} was changed after the interrupt");
        assert!(!started(&p, h).exists(), "{h} started after the interrupt");
    }
    let check = p.run(&["apply", "-i", "test", "--dry-run"]);
    check.code(0);
    assert!(
        !check.stdout.contains("interrupted run"),
        "a run was left in progress:\n{}",
        check.stdout
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once_naming_the_host_the_next_apply_recovers() {
    let _guard = support::reliability::local_host_guard();
    let p = project(20);
    let _forget = ForgetRuns(p.path().to_owned());
    let child = spawn_apply(&p);
    wait_for(&started(&p, "web1"), Duration::from_secs(60));
    ctrl_c(&child);
    std::thread::sleep(Duration::from_millis(500));
    ctrl_c(&child);
    let (run, took) = finish(child, Duration::from_secs(10));
    eprintln!("the second interrupt ended the run after {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "second interrupt took {took:?}"
    );
    run.code(130)
        .stderr_has("interrupted again: exiting now; in the middle of a change: web1")
        .stderr_has("the next `wsdeploy apply` on it rolls the interrupted run back");
    // The interrupted host is half-changed only until the next apply, which rolls the
    // run back from its journal (to the exact bytes) before changing anything.
    assert_eq!(
        conf(&p, "web1"),
        "[options]\nworkers = 2\nproxy_mode = True\n"
    );
    for h in ["web2", "web3"] {
        assert_eq!(conf(&p, h), ORIGINAL, "{h} was changed after the interrupt");
    }
    // The run's own command sleeps on (a host command outlives a vanished controller
    // until its timeout); the next apply does not wait for it.
    p.file("plans/site.yml", &plan(0));
    let dry = p.run(&["apply", "-i", "test", "--dry-run", "-l", "web1"]);
    dry.code(0).stdout_has("interrupted run(s)");
    let next = p.run(&["apply", "-i", "test", "-l", "web1", "--json"]);
    next.code(0).stdout_has("recovered interrupted run");
    let report = next
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "host_report")
        .expect("host report");
    // The recovery put the original bytes back: the new apply changed them from there.
    let pre = report["report"]["files"][0]["pre_sha256"]
        .as_str()
        .expect("pre_sha256");
    assert_eq!(pre, sha256_hex(ORIGINAL.as_bytes()));
}

fn sha256_hex(bytes: &[u8]) -> String {
    wsdeploy::digest::sha256_hex(bytes)
}
