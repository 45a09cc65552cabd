//! Work that outlives timeouts: every exec runs under a host-side bound (`timeout -k`, in
//! its own process group, all of it killed on timeout) with a controller-side backstop,
//! through `ansible_connection: local`.
//!
//! - An nginx include that is a FIFO nobody writes stalls `nginx -T`: the run ends within
//!   the gather's bound with a clear error, nothing written, the lock free, no `nginx -T`
//!   left behind.
//! - A command step with `timeout: 2` running `sleep 30; touch MARK`: the run fails within
//!   seconds, the host is rolled back, and MARK never appears (the sleep was killed).
//! - A rollback repeats an `if_changed` command that hangs: the repeat ends within the
//!   step's `timeout` and the run reports NEEDS ATTENTION.
//! - The recovery of an interrupted run repeats its commands exactly as a rollback does:
//!   judged by the step's `expect_exit`, and a repeat that hangs ends within the step's
//!   `timeout` with NEEDS ATTENTION (the run goes no further).

use crate::support;

use std::path::Path;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::project::Run;
use support::reliability::{LOCAL_RUNS, LocalHost, local_host_guard, only_report};

/// `wsdeploy apply --json`, killed (and the test failed) when it outlives `limit`;
/// retried while another run on this machine holds the lock.
fn apply_within(host: &LocalHost, limit: Duration) -> (Run, Duration) {
    for _ in 0..20 {
        let started = Instant::now();
        let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary built");
        cmd.arg("-C")
            .arg(host.project.path())
            .args(["apply", "-i", "production", "--json"])
            .env("NO_COLOR", "1")
            .timeout(limit);
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("wsdeploy did not end within {limit:?}: {e}"));
        let elapsed = started.elapsed();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            elapsed < limit,
            "wsdeploy took {elapsed:?}, more than {limit:?}\n{}\n{}",
            run.stdout,
            run.stderr
        );
        if run.stdout.contains("another wsdeploy run holds the lock")
            || run.stderr.contains("another wsdeploy run holds the lock")
        {
            std::thread::sleep(Duration::from_secs(3));
            continue;
        }
        return (run, elapsed);
    }
    panic!("this machine's run lock stayed busy");
}

/// Processes whose command line holds every one of `words`.
fn processes_with(words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        panic!("cannot list /proc");
    };
    for entry in entries.filter_map(Result::ok) {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if words.iter().all(|w| line.contains(w)) {
            found.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// Whether this machine's run lock can be taken within a few seconds (other runs on
/// this machine hold it only briefly).
fn lock_is_free() -> bool {
    StdCommand::new("flock")
        .args(["-w", "20", "/var/lib/wsdeploy/lock", "true"])
        .status()
        .expect("flock runs")
        .success()
}

/// An edit of the site followed by `command` (extra keys merged into the command step).
fn plan_with(command: Value) -> Value {
    json!({
        "name": "site",
        "hosts": "odoo",
        "steps": [
            {"id": "site", "nginx": {"file": "{{ site_conf }}", "context": "server",
                "ensure": "location /probe {\n    return 204;\n}\n"}},
            command,
        ],
    })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn a_fifo_in_an_nginx_include_ends_the_run_within_the_gather_bound() {
    // No `local_host_guard`: this run stalls in the gather, which comes before the run
    // lock and the journal, and ends there. It takes no lock and writes nothing on this
    // machine (no other test's run can see it), and what it checks is its own (its
    // `nginx -T`, its files; the lock check waits for other runs), so the other local
    // tests go on during its 60 s instead of waiting for them.
    let host = LocalHost::new("host");
    let fifo = host.root.join("etc/nginx/conf.d/a.conf");
    let status = StdCommand::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    host.plan_json(&plan_with(json!({
        "id": "test", "command": "nginx -t -c {{ nginx_conf | quote }}", "if_changed": ["site"]
    })));
    let before = read(&host.site_conf);
    // Gather bound 60 s, KILL 5 s later; the controller's backstop 5 s after that.
    let (run, elapsed) = apply_within(&host, Duration::from_secs(90));
    eprintln!("FIFO include: run ended after {elapsed:?}");
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = only_report(&run.stdout);
    let error = report["error"].to_string();
    assert!(
        error.contains("did not finish within 60s") && error.contains("FIFO"),
        "unclear error: {report}"
    );
    assert_eq!(read(&host.site_conf), before, "the site was written");
    let conf = host.nginx_conf.display().to_string();
    assert_eq!(
        processes_with(&["nginx", "-T", &conf]),
        Vec::<String>::new(),
        "an `nginx -T` outlived the run"
    );
    assert!(lock_is_free(), "the run lock is still held");
    let _ = std::fs::remove_file(&fifo);
}

#[test]
fn a_command_that_outlives_its_timeout_is_killed_and_the_host_rolled_back() {
    let guard = local_host_guard();
    let pid = std::process::id();
    let host = LocalHost::new("host");
    let mark = std::env::temp_dir().join(format!("wsdeploy-timeout-mark-{pid}"));
    let _ = std::fs::remove_file(&mark);
    // A unique duration, to find the process by its command line.
    let sleep = format!("30.{pid}");
    host.plan_json(&plan_with(json!({
        "id": "slow",
        "command": format!("sleep {sleep}; touch {}", mark.display()),
        "timeout": 2,
    })));
    let before = read(&host.site_conf);
    let started = Instant::now();
    let (run, elapsed) = apply_within(&host, Duration::from_secs(25));
    eprintln!("command timeout 2 s: run ended after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(15),
        "took {elapsed:?}\n{}",
        run.stdout
    );
    let left = processes_with(&["sleep", &sleep]);
    assert_eq!(
        left,
        Vec::<String>::new(),
        "the command outlived its timeout"
    );
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = only_report(&run.stdout);
    assert_eq!(report["outcome"], json!("rolled_back"), "{report}");
    assert!(
        report
            .to_string()
            .contains("did not finish within its timeout of 2s"),
        "unclear error: {report}"
    );
    assert_eq!(
        read(&host.site_conf),
        before,
        "the site was not rolled back"
    );
    // What is left to check is the mark, in this test's own temporary path: the other
    // local tests need not wait for the sleep's 30 s.
    drop(guard);
    std::thread::sleep(Duration::from_secs(35).saturating_sub(started.elapsed()));
    assert!(!mark.exists(), "the timed-out command went on to the end");
    assert_eq!(processes_with(&["sleep", &sleep]), Vec::<String>::new());
}

#[test]
fn a_rollback_whose_repeated_command_hangs_ends_within_its_timeout() {
    let _guard = local_host_guard();
    let pid = std::process::id();
    let host = LocalHost::new("host");
    let sleep = format!("31.{pid}");
    // Times out in the run, and again when the rollback repeats it.
    host.plan_json(&plan_with(json!({
        "id": "reload",
        "command": format!("sleep {sleep}"),
        "timeout": 2,
        "if_changed": ["site"],
    })));
    let before = read(&host.site_conf);
    let (run, elapsed) = apply_within(&host, Duration::from_secs(25));
    eprintln!("hanging repeat in the rollback: run ended after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(15),
        "took {elapsed:?}\n{}",
        run.stdout
    );
    let report = only_report(&run.stdout);
    assert_eq!(report["outcome"], json!("rollback_failed"), "{report}");
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("NEEDS ATTENTION"), "{text}");
    assert!(text.contains("re-running `sleep"), "{text}");
    assert_eq!(read(&host.site_conf), before, "the site was not restored");
    assert_eq!(processes_with(&["sleep", &sleep]), Vec::<String>::new());
}

/// Plants an interrupted run of the plan `site` in this machine's journal: `file` was
/// written (its pre-image holds `pre`), and the command at position 1 started.
struct PlantedRun {
    dir: std::path::PathBuf,
}

impl PlantedRun {
    fn new(file: &Path, pre: &str, command: &str) -> Self {
        let id = wsdeploy::host::RunId::new().to_string();
        let dir = Path::new(LOCAL_RUNS).join(&id);
        std::fs::create_dir_all(dir.join("pre")).expect("mkdir");
        std::fs::write(dir.join("pre/0"), pre).expect("pre");
        let manifest = json!({
            "run_id": id, "plan": "site", "operator": "test@host",
            "started": "2026-11-23T00:00:00Z", "host": "local-1", "kind": "apply",
            "files": [{"index": 0, "path": file.display().to_string(), "existed": true,
                       "sha256": wsdeploy::digest::sha256_hex(pre.as_bytes()),
                       "backup": null}],
            "commands": [{"index": 1, "run": command, "rerun_on_rollback": true}],
        });
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest).expect("json"),
        )
        .expect("manifest");
        std::fs::write(dir.join("ran"), "1\n").expect("ran");
        std::fs::write(dir.join("state"), "in_progress\n").expect("state");
        Self { dir }
    }

    fn state(&self) -> String {
        read(&self.dir.join("state")).trim().to_owned()
    }
}

impl Drop for PlantedRun {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_recovery_repeats_commands_as_a_rollback_does() {
    let _guard = local_host_guard();
    let pid = std::process::id();
    let host = LocalHost::new("host");
    let fast = host.root.join("fast");
    let sleep = format!("32.{pid}");
    // Exits 3, which the step expects; hangs unless `fast` exists.
    let command = format!(
        "test -e {} || sleep {sleep}; exit 3",
        wsdeploy::host::quote(&fast.display().to_string())
    );
    host.plan_json(&plan_with(json!({
        "id": "reload", "command": command, "timeout": 2, "expect_exit": [3],
        "if_changed": ["site"],
    })));
    std::fs::write(&fast, "").expect("flag");
    let (run, _) = apply_within(&host, Duration::from_secs(25));
    assert_eq!(
        only_report(&run.stdout)["outcome"],
        json!("changed"),
        "{}",
        run.stdout
    );

    // An expected exit is a successful repeat, as in a rollback.
    let planted = PlantedRun::new(&host.odoo_conf, "[options]\nplanted = 1\n", &command);
    let (run, _) = apply_within(&host, Duration::from_secs(25));
    let report = only_report(&run.stdout);
    assert_eq!(report["outcome"], json!("in_sync"), "{report}");
    assert!(
        report["notes"]
            .to_string()
            .contains("recovery: re-ran `test -e"),
        "{report}"
    );
    assert_eq!(planted.state(), "rolled_back");
    assert_eq!(
        read(&host.odoo_conf),
        "[options]\nplanted = 1\n",
        "not restored"
    );
    drop(planted);

    // A repeat that hangs ends within the step's timeout; the recovery is incomplete and
    // the run stops there: NEEDS ATTENTION, nothing else done.
    std::fs::remove_file(&fast).expect("flag");
    let planted = PlantedRun::new(&host.odoo_conf, "[options]\nplanted = 2\n", &command);
    let (run, elapsed) = apply_within(&host, Duration::from_secs(25));
    eprintln!("hanging repeat in a recovery: run ended after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let report = only_report(&run.stdout);
    assert_eq!(report["outcome"], json!("rollback_failed"), "{report}");
    let error = report["error"].to_string();
    assert!(
        error.contains("re-running `test -e") && error.contains("timeout of 2s"),
        "{report}"
    );
    assert_eq!(planted.state(), "rollback_failed");
    assert_eq!(
        read(&host.odoo_conf),
        "[options]\nplanted = 2\n",
        "not restored"
    );
    assert_eq!(processes_with(&["sleep", &sleep]), Vec::<String>::new());
}
