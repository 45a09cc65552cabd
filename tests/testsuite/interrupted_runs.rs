//! Interrupted runs on a host with a long run history (`connection: local`, a state
//! directory of the test's own): a run killed before its commit is recovered by the next
//! apply, whose gathers read the host's index of unfinished runs instead of every run's
//! `state` (opens counted by `strace`, on the real binary); runs left `in_progress` by a
//! wsdeploy that kept no index, before the index exists and after it, are still found.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::project::Run;
use crate::support::reliability::LocalHost;

/// Committed runs planted in the host's journal.
const HISTORY: usize = 2000;

/// The planted runs' ids share this prefix (the form `RunId` makes).
const PLANTED: &str = "20200101T000000Z-";

fn plant_history(runs: &Path) {
    for i in 0..HISTORY {
        let dir = runs.join(format!("{PLANTED}{i:06x}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("state"), "committed\n").expect("state");
    }
}

fn host() -> LocalHost {
    let host = LocalHost::new("host");
    assert!(
        host.project.state.is_some(),
        "these tests need a state directory of their own (run as root)"
    );
    host.plan_json(&json!({
        "name": "site",
        "hosts": "odoo",
        "steps": [
            {"id": "site", "nginx": {"file": "{{ site_conf }}", "context": "server",
                "ensure": "location /probe {\n    return 204;\n}\n"}},
            {"id": "test", "command": "nginx -t -c {{ nginx_conf | quote }}", "if_changed": ["site"]},
        ],
    }));
    plant_history(&host.runs_dir());
    host
}

/// An `mv` first on `PATH` that kills the script calling it and the `wsdeploy` above it
/// (SIGKILL) on its `kill_at`-th call.
fn killing_mv(kill_at: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("spy dir");
    let log = dir.path().join("calls.log");
    let script = format!(
        "#!/bin/sh\nlog='{log}'\necho mv >> \"$log\"\n\
         if [ \"$(wc -l < \"$log\")\" -eq {kill_at} ]; then\n\
         \x20 p=$PPID\n\
         \x20 while [ \"$p\" -gt 1 ] && [ \"$(cat /proc/$p/comm)\" != wsdeploy ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done\n\
         \x20 kill -KILL \"$p\" \"$PPID\"; exit 1\n\
         fi\nexec /bin/mv \"$@\"\n",
        log = log.display()
    );
    let spy = dir.path().join("mv");
    std::fs::write(&spy, script).expect("spy");
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// `apply` under `strace` (opens written to `trace`), again while the killed run's lock
/// holder is still going away.
fn traced_apply(host: &LocalHost, trace: &Path) -> Run {
    let state = host.project.state.as_ref().expect("own state");
    for _ in 0..20 {
        let out = state
            .command(Path::new("strace"))
            .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
            .arg(trace)
            .arg(assert_cmd::cargo::cargo_bin("wsdeploy"))
            .arg("-C")
            .arg(host.project.path())
            .args(["apply", "-i", "production"])
            .env("NO_COLOR", "1")
            .output()
            .expect("strace must be installed (apt-get install strace)");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        if !format!("{}{}", run.stdout, run.stderr).contains("holds the lock") {
            return run;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("the killed run's lock was never released");
}

fn state_of(host: &LocalHost, run: &str) -> String {
    std::fs::read_to_string(host.runs_dir().join(run).join("state"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn a_run_killed_before_its_commit_among_thousands_is_recovered_reading_only_the_index() {
    let host = host();
    let before = host.runs();
    let spy = killing_mv(3);
    let path = format!(
        "{}:{}",
        spy.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let killed = host
        .project
        .run_with_env(&["apply", "-i", "production"], &[("PATH", path.as_str())]);
    assert_eq!(
        killed.code, -1,
        "killed before the commit's rename: {killed:?}"
    );
    let new: Vec<String> = host.runs().difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let run = &new[0];
    assert_eq!(state_of(&host, run), "in_progress");
    assert!(
        std::fs::read_to_string(&host.site_conf)
            .expect("site")
            .contains("/probe"),
        "the killed run had replaced the file"
    );

    let trace = host.project.path().join("opens.trace");
    let next = traced_apply(&host, &trace);
    next.code(0)
        .stderr_has(&format!("recovered interrupted run {run}"))
        .stdout_has("1 changed");
    assert_eq!(state_of(&host, run), "rolled_back");
    let trace = std::fs::read_to_string(&trace).expect("strace output");
    let opened: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(&format!("/runs/{PLANTED}")))
        .collect();
    assert!(
        opened.is_empty(),
        "the apply opened {} files of the {HISTORY} planted runs, e.g. {:?}",
        opened.len(),
        opened.first()
    );
}

/// A journal entry as a wsdeploy that keeps no index leaves it: `in_progress`, the
/// pre-image of `victim` ("before"), no index entry.
fn plant_legacy_run(runs: &Path, victim: &Path) -> String {
    let id = wsdeploy::host::RunId::new().to_string();
    let dir = runs.join(&id);
    std::fs::create_dir_all(dir.join("pre")).expect("mkdir");
    std::fs::write(dir.join("pre/0"), "before\n").expect("pre");
    let manifest = json!({
        "run_id": id, "plan": "site", "operator": "ops@control",
        "started": "2026-11-23T00:00:00Z", "host": "local-1", "kind": "apply",
        "files": [{"index": 0, "path": victim.display().to_string(), "existed": true,
                   "sha256": wsdeploy::digest::sha256_hex(b"before\n"), "backup": null}],
        "commands": [],
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).expect("json"),
    )
    .expect("manifest");
    std::fs::write(dir.join("state"), "in_progress\n").expect("state");
    std::fs::write(victim, "after\n").expect("victim");
    id
}

#[test]
fn runs_left_in_progress_by_a_wsdeploy_without_the_index_are_found_before_and_after_it() {
    let host = host();
    let victim: PathBuf = host.root.join("etc/legacy.conf");
    // A host whose history predates the index.
    let first = plant_legacy_run(&host.runs_dir(), &victim);
    // A dry run finds it and writes nothing on the host, the index neither.
    host.run("apply", &["--dry-run"])
        .stdout_has(&first)
        .stdout_has("interrupted");
    assert!(
        !host.runs_dir().join(".in_progress").exists(),
        "a dry run wrote the index"
    );
    let run = host.run("apply", &[]);
    run.code(0)
        .stderr_has(&format!("recovered interrupted run {first}"))
        .stdout_has("1 changed");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "before\n"
    );
    assert_eq!(state_of(&host, &first), "rolled_back");
    assert!(
        host.runs_dir().join(".in_progress/.indexed").is_file(),
        "the apply's journal left the index marked complete"
    );
    // The index is complete; an older wsdeploy then leaves a run `in_progress`.
    let second = plant_legacy_run(&host.runs_dir(), &victim);
    let run = host.run("apply", &[]);
    run.code(0)
        .stderr_has(&format!("recovered interrupted run {second}"));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "before\n"
    );
    assert_eq!(state_of(&host, &second), "rolled_back");
}
