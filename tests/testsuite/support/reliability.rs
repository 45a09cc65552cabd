//! Shared pieces of the reliability suite: checksums of file trees, canary files that
//! prove a shell never ran an injected command, a "host" made of temporary copies of
//! real configurations driven through `ansible_connection: local`, this machine's
//! journal, and the `--json` host reports.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};

use super::project::Project;

/// This machine's run journal (a `connection: local` apply keeps its journal here).
pub const LOCAL_RUNS: &str = "/var/lib/wsdeploy/runs";

/// This machine as a host (`connection: local`, or the test sshd logging in as the
/// current user) has one run lock, one journal, one dump cache and one backup tree, and
/// every test module runs in the one `testsuite` process: a test that makes wsdeploy
/// contact this machine, or that looks at its journal, holds [`local_host_guard`] from
/// before its first such run to its last check of this machine, so that no other test's
/// run is in flight (a dry run reports the in-progress runs it sees, an apply would find
/// the lock taken). Set-up and waits that touch none of this (starting a database
/// server, waiting out a sleep in a file of the test's own) are better done outside it:
/// every other local test waits meanwhile. A test whose runs have a state directory of
/// their own (`host_state`: `LocalHost`, `Project::with_own_state`) needs none of this
/// ([`LocalHost::guard`] takes it only when they do not).
static LOCAL_HOST: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread (one test) already holds [`LOCAL_HOST`].
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// This machine's "host", held for one test: released on drop; a failed test does not
/// poison it for the others. Besides the lock of this process, it holds an exclusive
/// `flock` of [`LOCAL_HOST_LOCK_FILE`] in the temporary directory, so that two test
/// processes on one machine (two `cargo test` at once) take turns too.
pub struct LocalHostGuard {
    _file: std::fs::File,
    _lock: MutexGuard<'static, ()>,
}

/// The file whose `flock` [`local_host_guard`] holds (in `std::env::temp_dir()`).
pub const LOCAL_HOST_LOCK_FILE: &str = "wsdeploy-tests-local-host.lock";

impl Drop for LocalHostGuard {
    fn drop(&mut self) {
        HELD.with(|held| held.set(false));
    }
}

/// Holds this machine's "host" for one test. Take it once, at the top of the test: the
/// lock is not re-entrant, so a second take on the same thread panics (instead of
/// waiting for itself forever).
pub fn local_host_guard() -> LocalHostGuard {
    assert!(
        !HELD.with(Cell::get),
        "local_host_guard taken twice by one test: take it once, at the top of the test"
    );
    let lock = LOCAL_HOST.lock().unwrap_or_else(PoisonError::into_inner);
    let path = std::env::temp_dir().join(LOCAL_HOST_LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("flock {}: {e}", path.display()));
    HELD.with(|held| held.set(true));
    LocalHostGuard {
        _file: file,
        _lock: lock,
    }
}

/// `path -> "sha256 mode"` for every regular file under `root`, `-> target` for symlinks
/// (`root/.wsdeploy`, the controller's run history, excepted).
pub fn tree_sums(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path == root.join(".wsdeploy") {
                // The controller's run history, which every run (a dry run too) writes.
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                out.insert(
                    path.display().to_string(),
                    format!("-> {}", std::fs::read_link(&path).expect("link").display()),
                );
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.insert(
                    path.display().to_string(),
                    format!(
                        "{} {:o}",
                        wsdeploy::digest::sha256_hex(&bytes),
                        meta.permissions().mode() & 0o7777
                    ),
                );
            }
        }
    }
    out
}

/// Files of a tree that differ between two [`tree_sums`] (added, removed or changed).
pub fn tree_diff(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            format!(
                "{k}: {} -> {}",
                before.get(k).map_or("(none)", String::as_str),
                after.get(k).map_or("(none)", String::as_str)
            )
        })
        .collect()
}

/// Run ids in this machine's journal (not the index of unfinished runs, `.in_progress`).
pub fn local_runs() -> BTreeSet<String> {
    std::fs::read_dir(LOCAL_RUNS)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// The `state` of a run in this machine's journal.
pub fn local_run_state(run: &str) -> String {
    std::fs::read_to_string(Path::new(LOCAL_RUNS).join(run).join("state"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Every `host_report` of a `--json` run.
pub fn host_reports(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "host_report")
        .map(|v| v["report"].clone())
        .collect()
}

/// The one host report of a single-host `--json` run.
pub fn only_report(stdout: &str) -> Value {
    let reports = host_reports(stdout);
    assert_eq!(reports.len(), 1, "expected one host report in:\n{stdout}");
    reports.into_iter().next().expect("one report")
}

/// A file whose existence proves that an injected command ran.
pub struct Canary {
    pub path: PathBuf,
}

impl Canary {
    /// `/tmp/wsdeploy-canary-<pid>-<tag>`, removed now and when dropped.
    pub fn new(tag: &str) -> Self {
        let path = PathBuf::from(format!("/tmp/wsdeploy-canary-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Self { path }
    }

    pub fn as_str(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }

    /// Values that create the canary if any shell evaluates them.
    pub fn payloads(&self) -> Vec<String> {
        let c = self.as_str();
        vec![
            format!("x'; touch {c}; echo '"),
            format!("x\"; touch {c}; echo \""),
            format!("$(touch {c})"),
            format!("`touch {c}`"),
            format!("x; touch {c}"),
            format!("x && touch {c} ||"),
            format!("x\ntouch {c}\n"),
            format!("x | touch {c}"),
            format!("x > {c}"),
        ]
    }

    /// One value combining every payload.
    pub fn combined(&self) -> String {
        self.payloads().join(" ")
    }

    pub fn assert_absent(&self, context: &str) {
        assert!(
            !self.path.exists(),
            "shell injection: {} was created ({context})",
            self.path.display()
        );
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A "host" made of temporary copies of real configurations (Debian's stock nginx.conf
/// including the site, an Odoo site, odoo.conf, a Frappe site_config.json) in a project
/// whose inventory reaches it with `ansible_connection: local`. The inventory is written
/// as JSON (valid YAML) so any value survives unescaped.
pub struct LocalHost {
    pub project: Project,
    /// The directory holding `etc/...` (its name may be hostile).
    pub root: PathBuf,
    pub nginx_conf: PathBuf,
    pub site_conf: PathBuf,
    pub site_enabled: PathBuf,
    pub odoo_conf: PathBuf,
    pub site_config: PathBuf,
    pub vars: serde_json::Map<String, Value>,
    /// The inventory's one host: its name and connection variables.
    pub host: (String, Value),
}

impl LocalHost {
    /// Copies under `<project>/<root_name>`.
    pub fn new(root_name: &str) -> Self {
        let project = Project::with_own_state();
        let root = project.path().join(root_name);
        let nginx_conf = root.join("etc/nginx/nginx.conf");
        let site_conf = root.join("etc/nginx/sites-available/odoo.conf");
        let site_enabled = root.join("etc/nginx/sites-enabled/odoo.conf");
        let odoo_conf = root.join("etc/opticserp/odoo.conf");
        let site_config = root.join("srv/frappe/sites/site1.local/site_config.json");
        for dir in [
            "etc/nginx/conf.d",
            "etc/nginx/sites-available",
            "etc/nginx/sites-enabled",
            "etc/opticserp",
            "srv/frappe/sites/site1.local",
        ] {
            std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        }
        let stock = std::fs::read_to_string(
            super::project::corpus_dir().join("nginx/debian-bookworm-nginx.conf"),
        )
        .expect("corpus nginx.conf");
        // Quoted include paths: the root may hold spaces, quotes and `;`.
        let conf_d = format!("{}/etc/nginx/conf.d/*.conf", root.display());
        let enabled = format!("{}/etc/nginx/sites-enabled/*", root.display());
        let stock = stock
            .replace(
                "include /etc/nginx/conf.d/*.conf;",
                &format!("include {};", nginx_quote(&conf_d)),
            )
            .replace(
                "include /etc/nginx/sites-enabled/*;",
                &format!("include {};", nginx_quote(&enabled)),
            );
        std::fs::write(&nginx_conf, stock).expect("write nginx.conf");
        std::fs::write(
            &site_conf,
            "# Odoo site\nserver {\n\tlisten 80;\n\tserver_name 203.0.113.10;\n\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}\n}\n",
        )
        .expect("write site");
        std::os::unix::fs::symlink(&site_conf, &site_enabled).expect("symlink");
        std::fs::copy(
            super::project::corpus_dir().join("odoo/odoo-debian-odoo.conf"),
            &odoo_conf,
        )
        .expect("copy odoo.conf");
        std::fs::copy(
            super::project::corpus_dir().join("frappe/frappe-ci-site_config.json"),
            &site_config,
        )
        .expect("copy site_config.json");
        let mut vars = serde_json::Map::new();
        vars.insert("public_host".into(), json!("203.0.113.10"));
        vars.insert("nginx_conf".into(), json!(nginx_conf.display().to_string()));
        vars.insert("site_conf".into(), json!(site_conf.display().to_string()));
        vars.insert("odoo_conf".into(), json!(odoo_conf.display().to_string()));
        vars.insert(
            "site_config".into(),
            json!(site_config.display().to_string()),
        );
        vars.insert(
            "nginx_dump_cmd".into(),
            json!("nginx -T -c {{ nginx_conf | quote }}"),
        );
        vars.insert(
            "nginx_test_cmd".into(),
            json!("nginx -t -c {{ nginx_conf | quote }}"),
        );
        let host = Self {
            project,
            root,
            nginx_conf,
            site_conf,
            site_enabled,
            odoo_conf,
            site_config,
            vars,
            host: ("local-1".to_owned(), json!({"ansible_connection": "local"})),
        };
        host.write_inventory();
        host
    }

    /// Sets an inventory variable (group `odoo`) and rewrites the inventory.
    pub fn var(&mut self, name: &str, value: Value) -> &mut Self {
        self.vars.insert(name.to_owned(), value);
        self.write_inventory();
        self
    }

    /// Reaches the same files over SSH to this machine: `sshd` as `user` with its client key,
    /// under the inventory name `ssh-1`.
    pub fn reach_through_sshd(&mut self, sshd: &super::sshd::Sshd, user: &str) -> &mut Self {
        self.reach_as(
            "ssh-1",
            json!({
                "ansible_host": "127.0.0.1",
                "ansible_port": sshd.port,
                "ansible_user": user,
                "ansible_ssh_private_key_file": sshd.client_key.display().to_string(),
            }),
        )
    }

    /// Reaches the same files through another connection (e.g. SSH to this machine).
    pub fn reach_as(&mut self, name: &str, connection: Value) -> &mut Self {
        if connection.get("ansible_connection") != Some(&json!("local")) {
            // A session of the test sshd is not in the namespace of the test's own state.
            self.project.state = None;
        }
        self.host = (name.to_owned(), connection);
        self.write_inventory();
        self
    }

    fn write_inventory(&self) {
        let mut hosts = serde_json::Map::new();
        hosts.insert(self.host.0.clone(), self.host.1.clone());
        let inventory = json!({
            "all": {"children": {"odoo": {
                "hosts": Value::Object(hosts),
                "vars": Value::Object(self.vars.clone()),
            }}}
        });
        self.project.file(
            "inventories/production/hosts.yml",
            &serde_json::to_string_pretty(&inventory).expect("json"),
        );
    }

    /// Writes `plans/site.yml`.
    pub fn plan(&self, text: &str) -> &Self {
        self.project.file("plans/site.yml", text);
        self
    }

    /// Writes `plans/site.yml` from a JSON value (any string value survives as is).
    pub fn plan_json(&self, plan: &Value) -> &Self {
        self.plan(&serde_json::to_string_pretty(plan).expect("json"))
    }

    /// The repository's Odoo plan as `plans/site.yml`.
    pub fn odoo_plan(&self) -> &Self {
        let plan = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/odoo-websocket.yml"),
        )
        .expect("plan");
        self.plan(&plan)
    }

    /// `wsdeploy -C <project> <subcommand> -i production ARGS...`
    pub fn run(&self, subcommand: &str, args: &[&str]) -> super::project::Run {
        let mut all = vec![subcommand, "-i", "production"];
        all.extend_from_slice(args);
        self.project.run(&all)
    }

    /// This machine held for the test ([`local_host_guard`]) unless the host's runs have a
    /// state directory of their own (`host_state`): take it before the first run.
    #[must_use]
    pub fn guard(&self) -> Option<LocalHostGuard> {
        self.project.state.is_none().then(local_host_guard)
    }

    /// Run ids in the journal this host's runs write (the test's own, or this machine's).
    pub fn runs(&self) -> BTreeSet<String> {
        self.project
            .state
            .as_ref()
            .map_or_else(local_runs, super::host_state::PrivateState::run_ids)
    }

    /// The directory of that journal.
    pub fn runs_dir(&self) -> PathBuf {
        self.project.state.as_ref().map_or_else(
            || PathBuf::from(LOCAL_RUNS),
            super::host_state::PrivateState::runs,
        )
    }

    pub fn sums(&self) -> BTreeMap<String, String> {
        tree_sums(&self.root)
    }

    /// Temporary files of an interrupted write left in the tree.
    pub fn temp_leftovers(&self) -> Vec<String> {
        self.sums()
            .keys()
            .filter(|k| k.contains("/.wsdeploy."))
            .cloned()
            .collect()
    }
}

/// An nginx word in double quotes (`\` and `"` escaped).
pub fn nginx_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[test]
fn a_second_local_host_guard_in_one_test_fails_instead_of_waiting_for_itself() {
    let _guard = local_host_guard();
    let second = std::panic::catch_unwind(local_host_guard);
    assert!(second.is_err(), "a second take on one thread must panic");
}

#[test]
fn another_process_cannot_take_this_machine_while_a_test_holds_it() {
    let _guard = local_host_guard();
    let path = std::env::temp_dir().join(LOCAL_HOST_LOCK_FILE);
    let status = std::process::Command::new("flock")
        .arg("-n")
        .arg(&path)
        .arg("true")
        .status()
        .expect("flock (util-linux) runs");
    assert_eq!(status.code(), Some(1), "flock -n took {}", path.display());
}
