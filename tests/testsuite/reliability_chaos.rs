//! Faults under load, on real lab hosts: a fleet applies the Odoo plan while random hosts
//! are killed (`docker kill`), frozen (`docker pause` for 20 s), cut off the network
//! (`docker network disconnect` for 60 s, longer than the SSH keepalive limit) or lose
//! their SSH session processes mid-run. Afterwards every host is either fully converged
//! or byte-identical to before (sha256 of every file under /etc/nginx and /etc/opticserp,
//! dated backups aside), and its journal says which: `committed`, `rolled_back`, or
//! `in_progress` with exact pre-images, which the next run rolls back before anything else.
//! Killed hosts stay down; their files and journal are read with `docker cp`.
//!
//! Also: the disk filling up while a file is written (a small tmpfs over /etc/opticserp)
//! rolls the host back with the original intact.
//!
//! `WSDEPLOY_CHAOS_HOSTS` (default 6) sets the fleet size, `WSDEPLOY_CHAOS_SEED` replays
//! a fault schedule. Every wait is bounded.
//!
//! The hosts run the lab's Odoo stand-in, not the real Odoo 17 (`tests/lab_odoo.rs`): the
//! faults are the host's, not Odoo's, and a 750 MB image loaded per host would dominate a
//! many-host run.

use crate::support;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::lab::Lab;
use support::reliability::host_reports;

fn repo() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// xorshift64*: a reproducible schedule from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    Pause,
    Disconnect,
    CutSsh,
}

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `path -> sha256` from `sha256sum` lines.
fn parse_sums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, path)| (path.to_owned(), sum.to_owned()))
        .collect()
}

/// Config sums and journal of a stopped container, read with `docker cp`.
struct Offline {
    sums: BTreeMap<String, String>,
    /// run id -> (state, manifest, pre-image sums by index)
    runs: BTreeMap<String, (String, Value, BTreeMap<String, String>)>,
}

fn offline(container: &str) -> Offline {
    let dir = tempfile::tempdir().expect("temp");
    for path in ["/etc/nginx", "/etc/opticserp", "/var/lib/wsdeploy"] {
        let target = dir.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        let (ok, text) = docker(&[
            "cp",
            &format!("{container}:{path}"),
            &target.display().to_string(),
        ]);
        assert!(
            ok || path == "/var/lib/wsdeploy",
            "docker cp {path}: {text}"
        );
    }
    let mut sums = BTreeMap::new();
    let mut runs = BTreeMap::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let p = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                let on_host = format!("/{}", p.strip_prefix(dir.path()).expect("prefix").display());
                if on_host.starts_with("/var/lib/wsdeploy") || on_host.contains(".backup-") {
                    continue;
                }
                let bytes = std::fs::read(&p).expect("read");
                sums.insert(on_host, wsdeploy::digest::sha256_hex(&bytes));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.path().join("var/lib/wsdeploy/runs")) {
        for entry in entries {
            let run = entry.expect("entry").path();
            // `.in_progress` is the index of unfinished runs (host::run_index), not a run.
            if run
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let state = std::fs::read_to_string(run.join("state")).unwrap_or_default();
            let manifest: Value = std::fs::read_to_string(run.join("manifest.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            let mut pre = BTreeMap::new();
            if let Ok(files) = std::fs::read_dir(run.join("pre")) {
                for f in files {
                    let f = f.expect("entry").path();
                    let bytes = std::fs::read(&f).expect("read pre");
                    pre.insert(
                        f.file_name().expect("name").to_string_lossy().into_owned(),
                        wsdeploy::digest::sha256_hex(&bytes),
                    );
                }
            }
            runs.insert(
                run.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                (state.trim().to_owned(), manifest, pre),
            );
        }
    }
    Offline { sums, runs }
}

/// Journal of a live host: run id -> (state, manifest, pre-image sums by index).
fn live_runs(lab: &Lab, i: usize) -> BTreeMap<String, (String, Value, BTreeMap<String, String>)> {
    let text = lab.ok(
        i,
        "for d in /var/lib/wsdeploy/runs/*/; do [ -f \"$d/state\" ] || continue; \
         printf 'RUN %s %s %s\\n' \"$(basename \"$d\")\" \"$(cat \"$d/state\")\" \"$(base64 -w0 < \"$d/manifest.json\")\"; \
         for p in \"$d\"pre/*; do [ -f \"$p\" ] && printf 'PRE %s %s\\n' \"$(basename \"$d\")\" \"$(sha256sum < \"$p\" | cut -d' ' -f1)$(basename \"$p\" | sed 's/^/ /')\"; done; done; true",
    );
    let mut runs: BTreeMap<String, (String, Value, BTreeMap<String, String>)> = BTreeMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["RUN", id, state, manifest] => {
                use base64::Engine as _;
                let manifest = base64::engine::general_purpose::STANDARD
                    .decode(manifest)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                runs.insert(
                    (*id).to_owned(),
                    ((*state).to_owned(), manifest, BTreeMap::new()),
                );
            }
            ["PRE", id, sum, index] => {
                if let Some(run) = runs.get_mut(*id) {
                    run.2.insert((*index).to_owned(), (*sum).to_owned());
                }
            }
            _ => {}
        }
    }
    runs
}

/// An interrupted run can be undone exactly: every file of its manifest existed with the
/// original bytes, and its pre-image holds exactly those bytes.
fn assert_recoverable(
    host: &str,
    run: &str,
    manifest: &Value,
    pre: &BTreeMap<String, String>,
    before: &BTreeMap<String, String>,
) {
    for f in manifest["files"].as_array().expect("manifest files") {
        let path = f["path"].as_str().expect("path");
        let sha = f["sha256"]
            .as_str()
            .expect("existing files only in this plan");
        assert_eq!(
            before.get(path).map(String::as_str),
            Some(sha),
            "{host} run {run}: manifest sha of {path} is not the original"
        );
        let index = f["index"].as_u64().expect("index").to_string();
        assert_eq!(
            pre.get(&index).map(String::as_str),
            Some(sha),
            "{host} run {run}: pre-image of {path} differs from the original"
        );
    }
}

#[derive(Debug)]
enum Verdict {
    Untouched,
    Committed,
    RolledBack,
    Interrupted,
}

/// Checks one host after the chaos and says what its journal and files show.
fn verdict(
    host: &str,
    sums: &BTreeMap<String, String>,
    before: &BTreeMap<String, String>,
    runs: &BTreeMap<String, (String, Value, BTreeMap<String, String>)>,
) -> Verdict {
    assert!(
        runs.len() <= 1,
        "{host}: one run expected in the journal, found {runs:?}"
    );
    let leftovers: Vec<&String> = sums.keys().filter(|k| k.contains("/.wsdeploy.")).collect();
    let Some((run, (state, manifest, pre))) = runs.iter().next() else {
        assert_eq!(sums, before, "{host}: no journal entry but files changed");
        assert!(leftovers.is_empty(), "{host}: {leftovers:?}");
        return Verdict::Untouched;
    };
    match state.as_str() {
        "committed" => Verdict::Committed,
        "rolled_back" => {
            assert_eq!(
                sums, before,
                "{host}: run {run} rolled back but files differ"
            );
            Verdict::RolledBack
        }
        "in_progress" => {
            assert_recoverable(host, run, manifest, pre, before);
            Verdict::Interrupted
        }
        other => panic!("{host}: run {run} ended `{other}` (files: {sums:?})"),
    }
}

#[expect(clippy::too_many_lines, reason = "one end-to-end scenario in order")]
fn chaos_fleet(hosts: usize, seed: u64) {
    let lab = Lab::up("chaos", hosts);
    let network = format!("wsdeploy-lab-{}", lab.name);
    let before: Vec<BTreeMap<String, String>> = (1..=hosts)
        .map(|i| parse_sums(&lab.config_sums(i)))
        .collect();
    let ips: Vec<String> = (1..=hosts).map(|i| lab.ip(i)).collect();

    // The schedule: about half the fleet (at least one of each fault) is hit 1-8 s in.
    let mut rng = Rng(seed | 1);
    let kinds = [Fault::Kill, Fault::Pause, Fault::Disconnect, Fault::CutSsh];
    let faulted = (hosts / 2).max(kinds.len().min(hosts));
    let mut order: Vec<usize> = (1..=hosts).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut schedule: Vec<(Duration, usize, Fault)> = order
        .iter()
        .take(faulted)
        .enumerate()
        .map(|(n, &host)| {
            let at = Duration::from_millis(1000 + rng.below(7000));
            (at, host, kinds[n % kinds.len()])
        })
        .collect();
    schedule.sort_by_key(|s| s.0);
    println!("chaos: {hosts} hosts, seed {seed}, schedule {schedule:?}");

    let child = lab.spawn_wsdeploy(
        repo(),
        "apply",
        &[
            "--json",
            "-e",
            r#"{"odoo_restart_cmd": "sleep 3; docker restart opticserp_odoo"}"#,
        ],
    );
    let started = Instant::now();
    let mut undo: Vec<(Instant, usize, Fault)> = Vec::new();
    for &(at, host, fault) in &schedule {
        if let Some(wait) = at.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let c = lab.container(host);
        match fault {
            Fault::Kill => {
                let (ok, out) = docker(&["kill", &c]);
                assert!(ok, "docker kill {c}: {out}");
            }
            Fault::Pause => {
                // The cgroup freezer gives up ("unable to freeze") while a task sits in
                // an uninterruptible wait (an fsync under load): try again shortly; a
                // host that cannot be frozen at all just runs on unpaused.
                let mut last = String::new();
                let paused = (0..10).any(|_| {
                    let (ok, out) = docker(&["pause", &c]);
                    if !ok {
                        last = out;
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    ok
                });
                if paused {
                    undo.push((Instant::now() + Duration::from_secs(20), host, fault));
                } else {
                    println!("chaos: {c} could not be paused, left running: {last}");
                }
            }
            Fault::Disconnect => {
                assert!(
                    docker(&["network", "disconnect", &network, &c]).0,
                    "disconnect {c}"
                );
                undo.push((Instant::now() + Duration::from_secs(60), host, fault));
            }
            Fault::CutSsh => {
                let _ = lab.sh(host, "pkill -9 -f 'sshd: roo[t]@'");
            }
        }
    }
    undo.sort_by_key(|u| u.0);
    for (when, host, fault) in undo {
        if let Some(wait) = when.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let c = lab.container(host);
        match fault {
            Fault::Pause => assert!(docker(&["unpause", &c]).0, "docker unpause {c}"),
            Fault::Disconnect => {
                let (ok, text) =
                    docker(&["network", "connect", "--ip", &ips[host - 1], &network, &c]);
                assert!(ok, "reconnect {c}: {text}");
            }
            _ => {}
        }
    }
    // The run ends by itself: dead peers are detected by SSH keepalives. Its output is
    // drained meanwhile (a full pipe would block it).
    let mut child = child;
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(420);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "wsdeploy did not finish within 420 s of the chaos\n--- stdout\n{}\n--- stderr\n{}",
                stdout.join().unwrap_or_default(),
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let run = support::project::Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    };
    println!(
        "chaos run exit {} after {:.0} s",
        run.code,
        started.elapsed().as_secs_f64()
    );
    assert!(
        [0, 1, 4].contains(&run.code),
        "unexpected exit {}\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr
    );

    let killed: Vec<usize> = schedule
        .iter()
        .filter(|s| s.2 == Fault::Kill)
        .map(|s| s.1)
        .collect();
    let mut verdicts = BTreeMap::new();
    for i in 1..=hosts {
        let name = format!("lab-{i}");
        let v = if killed.contains(&i) {
            let off = offline(&lab.container(i));
            verdict(&name, &off.sums, &before[i - 1], &off.runs)
        } else {
            lab.wait_for(i, "test -f /run/lab-ready");
            let sums = parse_sums(&lab.ok(
                i,
                "find /etc/nginx /etc/opticserp -xdev -type f ! -name '*.backup-*' -print0 | sort -z | xargs -0 sha256sum",
            ));
            verdict(&name, &sums, &before[i - 1], &live_runs(&lab, i))
        };
        verdicts.insert(i, v);
    }
    println!("chaos verdicts: {verdicts:?}");

    // The next run rolls interrupted runs back first, then converges every live host; a
    // committed host is already converged (in sync).
    let live: Vec<String> = (1..=hosts)
        .filter(|i| !killed.contains(i))
        .map(|i| format!("lab-{i}"))
        .collect();
    let limit = live.join(":");
    // A partitioned run's lock lives until its holder misses heartbeats for
    // `transport::LOCK_GIVE_UP` (40 s) or the lab's sshd drops the silent client (30 s),
    // whichever comes first: wait for it, bounded.
    for i in (1..=hosts).filter(|i| !killed.contains(i)) {
        // A host whose run never got as far as the lock has no lock file at all.
        lab.wait_for(i, "l=/var/lib/wsdeploy/lock; [ ! -e $l ] || flock -n $l true || { sleep 1; flock -n $l true; }");
    }
    let next = lab.wsdeploy("apply", &["--json", "--limit", &limit]);
    for report in host_reports(&next.stdout) {
        let name = report["host"].as_str().expect("host").to_owned();
        let i: usize = name.trim_start_matches("lab-").parse().expect("index");
        let outcome = report["outcome"].as_str().expect("outcome");
        match verdicts[&i] {
            Verdict::Committed => assert_eq!(
                outcome, "in_sync",
                "{name} committed but not converged: {report:#}"
            ),
            _ => {
                assert!(
                    outcome == "changed" || outcome == "in_sync",
                    "{name}: {outcome}: {report:#}"
                );
                for f in report["files"].as_array().expect("files") {
                    let path = f["path"].as_str().expect("path");
                    assert_eq!(
                        f["pre_sha256"].as_str(),
                        before[i - 1].get(path).map(String::as_str),
                        "{name}: {path} did not have its original bytes when the next run started"
                    );
                }
            }
        }
        if matches!(verdicts[&i], Verdict::Interrupted) {
            let notes = report["notes"].to_string();
            assert!(
                notes.contains("recovered interrupted run"),
                "{name}: {notes}"
            );
        }
    }
    next.code(0);
    let last = lab.wsdeploy("apply", &["--limit", &limit]);
    last.code(0).stdout_has(&format!("{} in sync", live.len()));
    for i in (1..=hosts).filter(|i| !killed.contains(i)) {
        lab.assert_healthy(i);
        assert!(
            lab.handshake(i, true).contains("101 Switching Protocols"),
            "host {i}"
        );
    }
}

#[test]
fn fleet_under_kill_pause_disconnect_and_cut_sessions_converges_or_rolls_back() {
    let hosts: usize = std::env::var("WSDEPLOY_CHAOS_HOSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("WSDEPLOY_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(7)
        });
    chaos_fleet(hosts, seed);
}

#[test]
fn disk_full_during_the_write_rolls_back_with_the_original_intact() {
    let lab = Lab::up("diskfull", 1);
    // A 64 KiB tmpfs over /etc/opticserp holding odoo.conf, filled so that exactly one page
    // is left: the dated backup fits, the new odoo.conf's temporary file does not.
    lab.ok(
        1,
        "cp -a /etc/opticserp /root/opticserp.orig && \
         mount -t tmpfs -o size=64k,mode=755 tmpfs /etc/opticserp && \
         cp -a /root/opticserp.orig/. /etc/opticserp/ && \
         { dd if=/dev/zero of=/etc/opticserp/filler bs=4096 2>/dev/null; true; } && \
         truncate -s -4096 /etc/opticserp/filler && sync && df -B1 /etc/opticserp",
    );
    let before = lab.config_sums(1);
    let run = lab.wsdeploy("apply", &[]);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has("No space left on device")
        .stdout_has("rolled back: every file is back to its exact previous bytes");
    assert_eq!(
        lab.config_sums(1),
        before,
        "files differ after the rollback"
    );
    lab.ok(1, "! ls -a /etc/opticserp | grep -q '^.wsdeploy'");
    lab.ok(1, "grep -qx rolled_back /var/lib/wsdeploy/runs/*/state");
    lab.assert_healthy(1);
    assert!(
        !lab.handshake(1, true).contains("101 Switching"),
        "the websocket change survived the rollback"
    );
}
