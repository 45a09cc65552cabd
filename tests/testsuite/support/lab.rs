//! The lab fleet from a test: `tests/lab/lab up` a named set of real hosts (sshd, nginx,
//! Docker engine with the Odoo stand-in or the real Odoo 17), run commands on them, tear them down on drop.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// A running lab of N hosts: a lab of its own (`lab up`), or N hosts of a
/// [`SharedFleet`](super::shared_fleet::SharedFleet) that no other test has had (host `i` of this lab is host
/// `first + i` of the fleet, and is `lab-i` in [`Lab::inventory`]).
pub struct Lab {
    pub name: String,
    pub hosts: usize,
    pub outdir: PathBuf,
    /// Hosts of the lab `name` before this one's first (0 for a lab of its own).
    first: usize,
    /// Taken from a [`SharedFleet`](super::shared_fleet::SharedFleet): dropping it removes its hosts, not the lab.
    shared: bool,
}

fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab")
}

impl Lab {
    /// Starts `hosts` fresh hosts. Panics with the lab's own output if that fails.
    pub fn up(name: &str, hosts: usize) -> Self {
        Self::up_role(name, hosts, "odoo")
    }

    pub fn inventory(&self) -> PathBuf {
        self.outdir.join("hosts.yml")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.outdir.join("known_hosts")
    }

    /// Runs `sh -c script` on host `i` (1-based) and returns (exit code, stdout+stderr).
    pub fn sh(&self, i: usize, script: &str) -> (i32, String) {
        let out = Command::new(lab_script())
            .args(["exec", &self.name, &self.index(i), "sh", "-c", script])
            .output()
            .expect("lab exec runs");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    /// Like [`Lab::sh`] but panics unless the script succeeds; returns stdout+stderr.
    pub fn ok(&self, i: usize, script: &str) -> String {
        let (code, text) = self.sh(i, script);
        assert_eq!(
            code, 0,
            "on {} host {i}: `{script}` failed:\n{text}",
            self.name
        );
        text
    }

    pub fn ip(&self, i: usize) -> String {
        let out = Command::new(lab_script())
            .args(["ip", &self.name, &self.index(i)])
            .output()
            .expect("lab ip runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn container(&self, i: usize) -> String {
        format!("wsdeploy-lab-{}-{}", self.name, self.index(i))
    }

    /// The lab script's index of host `i` (1-based) of this lab.
    fn index(&self, i: usize) -> String {
        assert!(
            (1..=self.hosts).contains(&i),
            "host {i} of a lab of {} host(s)",
            self.hosts
        );
        (self.first + i).to_string()
    }

    /// sha256 of every regular file under the given directories, one line each, sorted.
    pub fn tree_sums(&self, i: usize, dirs: &str) -> String {
        self.ok(
            i,
            &format!("find {dirs} -xdev -type f -print0 | sort -z | xargs -0 sha256sum"),
        )
    }

    /// `wsdeploy` against this lab: `-C <repo> SUBCOMMAND -i <lab inventory> --known-hosts <lab>`.
    pub fn wsdeploy(&self, subcommand: &str, extra: &[&str]) -> super::project::Run {
        self.wsdeploy_in(Path::new(env!("CARGO_MANIFEST_DIR")), subcommand, extra)
    }

    /// Same, with another project directory (for test-specific plans).
    pub fn wsdeploy_in(
        &self,
        project: &Path,
        subcommand: &str,
        extra: &[&str],
    ) -> super::project::Run {
        let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary");
        cmd.arg("-C")
            .arg(project)
            .arg(subcommand)
            .arg("-i")
            .arg(self.inventory())
            .arg("--known-hosts")
            .arg(self.known_hosts())
            .args(extra)
            .env("NO_COLOR", "1");
        let out = cmd.output().expect("wsdeploy runs");
        super::project::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Directories holding what the Odoo plan edits.
pub const WATCHED: &str = "/etc/nginx /etc/opticserp";

impl Lab {
    /// sha256 of the watched files, leaving out dated backups (a rolled-back run keeps them).
    pub fn config_sums(&self, i: usize) -> String {
        self.ok(i, &format!("find {WATCHED} -xdev -type f ! -name '*.backup-*' -print0 | sort -z | xargs -0 sha256sum"))
    }

    /// A WebSocket handshake through the host's nginx, as curl sees it.
    pub fn handshake(&self, i: usize, origin: bool) -> String {
        let ip = self.ip(i);
        let origin = if origin {
            format!("-H 'Origin: http://{ip}'")
        } else {
            String::new()
        };
        self.sh(
            i,
            &format!(
                "curl -s -i --max-time 2 -H 'Host: {ip}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' {origin} 'http://127.0.0.1/websocket?version=17.0-3'"
            ),
        )
        .1
    }

    /// nginx accepts its config, Odoo answers, its container runs.
    pub fn assert_healthy(&self, i: usize) {
        self.ok(i, "nginx -t");
        self.ok(i, "for n in $(seq 1 30); do curl -sf --max-time 2 http://127.0.0.1:8069/web/health && exit 0; sleep 1; done; exit 1");
        self.ok(
            i,
            "test \"$(docker inspect -f '{{.State.Running}}' opticserp_odoo)\" = true",
        );
    }

    /// nginx master and worker pids.
    pub fn nginx_pids(&self, i: usize) -> String {
        self.ok(
            i,
            "cat /run/nginx.pid; pgrep -P \"$(cat /run/nginx.pid)\" | sort",
        )
    }

    /// When the Odoo container last started.
    pub fn odoo_started_at(&self, i: usize) -> String {
        self.ok(i, "docker inspect -f '{{.State.StartedAt}}' opticserp_odoo")
    }

    /// Waits (up to 60 s) until `script` succeeds on host `i`.
    pub fn wait_for(&self, i: usize, script: &str) {
        for _ in 0..120 {
            if self.sh(i, script).0 == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let (_, state) = self.sh(
            i,
            "cat /var/lib/wsdeploy/lock.holder 2>&1; ps -eo pid,ppid,etimes,stat,args 2>&1",
        );
        panic!(
            "on {} host {i}: `{script}` never succeeded; lock holder and processes:\n{state}",
            self.name
        );
    }

    /// `wsdeploy` against this lab, started in the background.
    pub fn spawn_wsdeploy(
        &self,
        project: &Path,
        subcommand: &str,
        extra: &[&str],
    ) -> std::process::Child {
        Command::new(assert_cmd::cargo::cargo_bin("wsdeploy"))
            .arg("-C")
            .arg(project)
            .arg(subcommand)
            .arg("-i")
            .arg(self.inventory())
            .arg("--known-hosts")
            .arg(self.known_hosts())
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("wsdeploy starts")
    }
}

/// Waits for a background wsdeploy and returns its result.
pub fn finish(child: std::process::Child) -> super::project::Run {
    let out = child.wait_with_output().expect("wsdeploy ends");
    super::project::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A project directory holding the repository's plans with `edit` applied to the Odoo plan.
pub fn project_with_odoo_plan(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let plans = dir.path().join("plans");
    std::fs::create_dir_all(&plans).expect("mkdir");
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/odoo-websocket.yml"),
    )
    .expect("plan");
    let edited = edit(original.clone());
    std::fs::write(plans.join("site.yml"), edited).expect("write plan");
    dir
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.shared {
            if std::env::var_os("WSDEPLOY_KEEP_LAB").is_none() {
                super::shared_fleet::remove_hosts(self);
            }
            names_in_use().remove(&self.outdir.display().to_string());
            return;
        }
        if std::env::var_os("WSDEPLOY_KEEP_LAB").is_none() {
            let _ = Command::new(lab_script())
                .args(["down", &self.name])
                .output();
        }
        names_in_use().remove(&self.name);
    }
}

/// Lab names up in this process. Every test module runs in the one `testsuite` process,
/// so the pid suffix alone does not keep names apart, and `up` starts with
/// `lab down NAME`: two tests sharing a name would tear down each other's hosts.
static NAMES_IN_USE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn names_in_use() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    NAMES_IN_USE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes `name` for one lab, or fails the test if another test of this process has it.
pub(super) fn claim(name: &str) {
    assert!(
        names_in_use().insert(name.to_owned()),
        "lab `{name}` is already up in this test process: give each test its own lab name"
    );
}

impl Lab {
    /// Starts `hosts` fresh hosts of a role (`odoo`, `fastapi` or `frappe`): `lab up ... --role`.
    /// Panics with the lab's own output if that fails.
    pub fn up_role(name: &str, hosts: usize, role: &str) -> Self {
        Self::up_with(name, hosts, &["--role", role])
    }

    /// Starts `hosts` fresh odoo hosts running the real Odoo 17 (`lab up ... --odoo real`).
    pub fn up_real_odoo(name: &str, hosts: usize) -> Self {
        Self::up_with(name, hosts, &["--role", "odoo", "--odoo", "real"])
    }

    /// Real Odoo behind HTTPS: the lab's CA (`ca_file()`), nginx on 443 with a certificate
    /// for the host's address and an 80 -> 443 redirect server (`lab up ... --https`).
    pub fn up_real_odoo_https(name: &str, hosts: usize) -> Self {
        Self::up_with(
            name,
            hosts,
            &["--role", "odoo", "--odoo", "real", "--https"],
        )
    }

    /// Light odoo hosts (`lab up ... --light`): sshd, nginx and the stand-in as a plain
    /// process, no inner Docker engine.
    pub fn up_light(name: &str, hosts: usize) -> Self {
        Self::up_with(name, hosts, &["--role", "odoo", "--light"])
    }

    /// The lab CA's certificate (PEM) of an `--https` lab.
    pub fn ca_file(&self) -> PathBuf {
        self.outdir.join("ca.pem")
    }

    /// `hosts` hosts of the lab `name` (started by a [`SharedFleet`](super::shared_fleet::SharedFleet)) from its host
    /// `first + 1` on, described by the inventory, key and known_hosts in `outdir`.
    pub(super) fn slice(name: &str, first: usize, hosts: usize, outdir: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            hosts,
            outdir,
            first,
            shared: true,
        }
    }

    /// The lab script, `tests/lab/lab`.
    pub fn script() -> PathBuf {
        lab_script()
    }

    fn up_with(name: &str, hosts: usize, options: &[&str]) -> Self {
        let name = format!("{name}-{}", std::process::id());
        claim(&name);
        let outdir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/lab/.run")
            .join(&name);
        // From here on, dropping `lab` (a failed `up` included) takes it down and frees
        // the name.
        let lab = Self {
            name,
            hosts,
            outdir,
            first: 0,
            shared: false,
        };
        let (name, outdir) = (&lab.name, &lab.outdir);
        let _ = Command::new(lab_script()).args(["down", name]).output();
        let out = Command::new(lab_script())
            .args([
                "up",
                name,
                &hosts.to_string(),
                &outdir.display().to_string(),
            ])
            .args(options)
            .output()
            .expect("tests/lab/lab runs");
        assert!(
            out.status.success(),
            "lab up {name} {hosts} {} failed:\n{}\n{}",
            options.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    /// sha256 of the regular files under `dirs`, leaving out dated backups.
    pub fn sums_without_backups(&self, i: usize, dirs: &str) -> String {
        self.ok(
            i,
            &format!(
                "find {dirs} -xdev -type f ! -name '*.backup-*' -print0 | sort -z | xargs -0 sha256sum"
            ),
        )
    }

    /// `PID START-TIME` of a supervisor program (`supervisorctl pid`, then `ps -o lstart`).
    pub fn supervised_process(&self, i: usize, program: &str) -> String {
        self.ok(
            i,
            &format!(
                "pid=$(supervisorctl pid {program}); test \"$pid\" -gt 0 && echo \"$pid $(ps -o lstart= -p \"$pid\")\""
            ),
        )
        .trim()
        .to_owned()
    }

    /// A WebSocket handshake (curl, RFC 6455 sample key) to `url` on host `i`, with extra
    /// curl arguments (headers); returns the response head and body.
    pub fn curl_handshake(&self, i: usize, url: &str, extra: &str) -> String {
        self.sh(
            i,
            &format!(
                "curl -s -i --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' {extra} '{url}'"
            ),
        )
        .1
    }
}

/// A project directory whose default plan (`plans/site.yml`) is the repository's
/// `plans/<plan>` with `edit` applied.
pub fn project_with_plan(plan: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let plans = dir.path().join("plans");
    std::fs::create_dir_all(&plans).expect("mkdir");
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plans")
            .join(plan),
    )
    .expect("plan");
    let edited = edit(original.clone());
    assert_ne!(edited, original, "the edit changed nothing in plans/{plan}");
    std::fs::write(plans.join("site.yml"), edited).expect("write plan");
    dir
}
