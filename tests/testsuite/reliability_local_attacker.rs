//! A local attacker: an unprivileged user (uid 65534, `nobody`, through `setpriv`) on a
//! host where root runs wsdeploy (`ansible_connection: local`). Nothing such a user can
//! write or read may turn a run into root access.
//!
//! - Forged journal sections: the user owns a directory nginx includes. A FIFO there
//!   stalls `nginx -T` while the user searches every process's command line for the
//!   gather's section boundary, then writes a file the dump shows next with a fake `J`
//!   section naming a run id `../../../../tmp/...` whose "journal" the user wrote: a
//!   command (`id > canary`) and a pre-image for a root-only file. Root must never run
//!   the command or restore the file.
//! - A planted journal entry (as if a root-owned run were damaged): an interrupted run
//!   whose pre-image does not match its manifest is not restored, and a command that the
//!   current plan does not have is not run.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use serde_json::{Value, json};
use support::reliability::{LOCAL_RUNS, LocalHost, only_report};

const NOBODY: u32 = 65534;

/// Runs `script` as uid/gid 65534 without supplementary groups (`setpriv`), in the
/// background.
fn as_nobody(script: &str, args: &[&str]) -> Child {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(args)
        .spawn()
        .expect("setpriv runs (util-linux)")
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).expect("chown");
}

/// Lets other users reach `path` through every directory above it (r-x, not writable).
fn traversable(path: &Path) {
    for dir in path.ancestors().skip(1) {
        if dir == Path::new("/tmp") || dir == Path::new("/") {
            break;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// The content of a root-only file (0600) the attacker wants to replace (an INI file, so
/// that an `ini` step led to it would edit it).
const VICTIM: &str = "[options]\nroot_only = yes\n";

/// A root-only file the attacker wants to replace.
struct Victim {
    path: PathBuf,
}

impl Victim {
    /// In `/tmp`.
    fn new(tag: &str) -> Self {
        Self::new_in(Path::new("/tmp"), tag)
    }

    fn new_in(dir: &Path, tag: &str) -> Self {
        let path = dir.join(format!("wsdeploy-victim-{}-{tag}", std::process::id()));
        std::fs::write(&path, VICTIM).expect("victim");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        Self { path }
    }

    fn assert_intact(&self) {
        let meta = std::fs::symlink_metadata(&self.path).expect("victim exists");
        assert!(meta.file_type().is_file(), "the victim is no longer a file");
        assert_eq!(
            std::fs::read_to_string(&self.path).expect("read victim"),
            VICTIM,
            "a root-only file was replaced"
        );
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A fake run journal: manifest, `pre/0` (for `victim`), `ran`, `state`.
fn write_journal(dir: &Path, run_id: &str, victim: &Path, command: &str, pre_sha: Option<&str>) {
    std::fs::create_dir_all(dir.join("pre")).expect("mkdir");
    let pre = b"planted by the attacker\n";
    std::fs::write(dir.join("pre/0"), pre).expect("pre");
    let sha = pre_sha.map_or_else(|| wsdeploy::digest::sha256_hex(pre), str::to_owned);
    let manifest = json!({
        "run_id": run_id, "plan": "attack", "operator": "nobody@host",
        "started": "2026-11-23T00:00:00Z", "host": "local-1", "kind": "apply",
        "files": [{"index": 0, "path": victim.display().to_string(), "existed": true,
                   "sha256": sha, "backup": null}],
        "commands": [{"index": 0, "run": command, "rerun_on_rollback": true}],
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).expect("json"),
    )
    .expect("manifest");
    std::fs::write(dir.join("ran"), "0\n").expect("ran");
    std::fs::write(dir.join("state"), "in_progress\n").expect("state");
}

/// A plan that edits the site (so `nginx -T` runs) and runs `nginx -t` when it changed.
fn site_plan() -> Value {
    json!({
        "name": "site",
        "hosts": "odoo",
        "steps": [
            {"id": "site", "nginx": {"file": "{{ site_conf }}", "context": "server",
                "ensure": "location /probe {\n    return 204;\n}\n"}},
            {"id": "test", "command": "nginx -t -c {{ nginx_conf | quote }}", "if_changed": ["site"]},
        ],
    })
}

/// The attacker. `nginx -T` opening the FIFO `a.conf` blocks until a writer opens it, so
/// the dump stalls there for as long as the attacker likes. Meanwhile it searches the
/// command line and environment of every process (not its own) working on this host tree
/// for the gather's boundary, writes `b.conf` (which the dump shows next) with a `J`
/// section naming its fake run, and only then opens the FIFO (`<>` never blocks) to let
/// the dump go on, leaving a plain `a.conf` for later `nginx -t`s. Reports what it saw.
const ATTACKER: &str = r#"set -u
d=$1; evil=$2; report=$3; marker=$4
seen=; since=; end=$(( $(date +%s) + 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
  for c in $(grep -laF -- "$marker" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${c%/cmdline}
    [ -O "$p" ] && continue
    [ -n "$since" ] || since=$(date +%s)
    seen=$(cat "$p/cmdline" "$p/environ" 2>/dev/null | tr '\0' '\n' | grep -o -e '--WSD-[0-9a-f-]\{16,\}' | head -n 1)
    [ -z "$seen" ] || break 2
  done
  [ -z "$since" ] || [ $(( $(date +%s) - since )) -lt 3 ] || break
done
printf '%s\n' "${seen:-none}" > "$report"
b=${seen:---WSD-unknown}
printf 'map $host $wsd_probe {\n\tdefault "\n%s J\n%s\n";\n}\n' "$b" "$evil" > "$d/b.conf"
exec 3<> "$d/a.conf"
rm -f "$d/a.conf"; : > "$d/a.conf"
exec 3>&-
"#;

#[test]
fn a_user_who_controls_an_included_file_cannot_forge_an_interrupted_run() {
    let pid = std::process::id();
    let host = LocalHost::new("host");
    let _guard = host.guard();
    let victim = Victim::new("forge");
    let canary = PathBuf::from(format!("/tmp/wsdeploy-canary-{pid}-pwned"));
    let _ = std::fs::remove_file(&canary);
    // The attacker's own journal, reached as `runs/../../../../tmp/...`.
    let evil = PathBuf::from(format!("/tmp/wsdeploy-evil-{pid}"));
    let _ = std::fs::remove_dir_all(&evil);
    write_journal(
        &evil,
        "attack",
        &victim.path,
        &format!("id > {}", canary.display()),
        None,
    );
    for entry in ["", "pre", "pre/0", "manifest.json", "ran", "state"] {
        chown(&evil.join(entry), NOBODY);
    }
    // conf.d (included by nginx.conf in `http`) belongs to the attacker.
    let conf_d = host.root.join("etc/nginx/conf.d");
    traversable(&conf_d);
    chown(&conf_d, NOBODY);
    let fifo = conf_d.join("a.conf");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    std::fs::write(conf_d.join("b.conf"), "").expect("b.conf");
    chown(&fifo, NOBODY);
    chown(&conf_d.join("b.conf"), NOBODY);
    let report = evil.join("seen");
    let evil_id = format!("../../../..{}", evil.display());
    let marker = host.root.display().to_string();
    host.plan_json(&site_plan());
    let mut attacker = as_nobody(
        ATTACKER,
        &[
            conf_d.to_str().expect("utf-8"),
            &evil_id,
            report.to_str().expect("utf-8"),
            &marker,
        ],
    );
    let run = host.run("apply", &["--json"]);
    let _ = attacker.kill();
    let _ = attacker.wait();
    let seen = std::fs::read_to_string(&report).unwrap_or_default();
    let canary_exists = canary.exists();
    let _ = std::fs::remove_file(&canary);
    assert!(
        !canary_exists,
        "root ran the attacker's command (boundary seen: {seen:?})\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    victim.assert_intact();
    assert_eq!(
        seen.trim(),
        "none",
        "a local user read the gather's boundary"
    );
    run.code(0);
    let reports = only_report(&run.stdout);
    assert_eq!(reports["outcome"], json!("changed"), "{reports}");
    assert_eq!(
        std::fs::read_to_string(evil.join("state")).expect("state"),
        "in_progress\n",
        "the attacker's journal was acted on"
    );
    let _ = std::fs::remove_dir_all(&evil);
}

/// Plants an interrupted run in this machine's journal (as only root can); removed on drop.
struct PlantedRun {
    dir: PathBuf,
}

impl PlantedRun {
    fn new(
        host: &LocalHost,
        victim: &Path,
        command: &str,
        pre_sha: Option<&str>,
    ) -> (Self, String) {
        // A fresh id of the form wsdeploy makes.
        let id = wsdeploy::host::RunId::new().to_string();
        let dir = host.runs_dir().join(&id);
        write_journal(&dir, &id, victim, command, pre_sha);
        (Self { dir }, id)
    }

    fn state(&self) -> String {
        std::fs::read_to_string(self.dir.join("state"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

impl Drop for PlantedRun {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn recovery_restores_only_matching_pre_images_and_runs_only_the_plans_commands() {
    let pid = std::process::id();
    let host = LocalHost::new("host");
    let _guard = host.guard();
    host.plan_json(&site_plan());
    let canary = PathBuf::from(format!("/tmp/wsdeploy-canary-{pid}-planted"));
    let _ = std::fs::remove_file(&canary);

    // A pre-image that is not what the manifest recorded: nothing restored, nothing run,
    // the host is not changed, NEEDS ATTENTION (exit 4).
    let victim = Victim::new("mismatch");
    let (planted, id) = PlantedRun::new(
        &host,
        &victim.path,
        &format!("touch {}", canary.display()),
        Some(&wsdeploy::digest::sha256_hex(b"something else\n")),
    );
    let before = host.sums();
    let run = host.run("apply", &[]);
    victim.assert_intact();
    assert!(!canary.exists(), "a command of an untrusted journal ran");
    assert_eq!(host.sums(), before, "the host was changed");
    run.code(4).stdout_has(&format!(
        "run {id} was not restored: its journal cannot be trusted (a pre-image is not the bytes its manifest recorded)"
    ));
    assert_eq!(
        planted.state(),
        "in_progress",
        "an untrusted journal is left for a human"
    );
    drop(planted);

    // A consistent journal whose command the current plan does not have: the files are
    // restored (they are the run's own pre-images), the command is not run.
    // (In a directory only root controls: a file straight in sticky /tmp is refused.)
    let victim = Victim::new_in(&host.root.join("etc"), "not-in-plan");
    let (planted, _id) = PlantedRun::new(
        &host,
        &victim.path,
        &format!("touch {}", canary.display()),
        None,
    );
    let run = host.run("apply", &[]);
    let ran = canary.exists();
    let _ = std::fs::remove_file(&canary);
    assert!(!ran, "a command the current plan does not have ran as root");
    run.code(0).stderr_has(&format!(
        "not repeating `touch {}`: the current plan has no such command",
        canary.display()
    ));
    assert_eq!(
        std::fs::read_to_string(&victim.path).expect("victim"),
        "planted by the attacker\n",
        "a consistent root journal is restored"
    );
    assert_eq!(planted.state(), "rolled_back");
}

/// The racer: renames a symlink to `$2` over every `.wsdeploy.*` temp file that appears
/// in `$1` (a directory it owns), as fast as it can, for up to 120 s.
const RACER: &str = r#"
my ($d, $v) = @ARGV; my $end = time + 120; my $won = 0;
while (time < $end) {
  opendir(my $h, $d) or next;
  for my $n (readdir $h) {
    next unless $n =~ /^\.wsdeploy\./;
    my $t = "$d/$n"; next if -l $t;
    my $l = "$d/.evil$$"; unlink $l;
    symlink($v, $l) and rename($l, $t) and $won++;
  }
  closedir $h;
}
"#;

fn meta(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).expect("metadata");
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// A directory of uid 65534 under the host tree (every directory above it root's,
/// reachable by that user) holding `app.conf` (an odoo.conf, 65534:65534, 0640), like a
/// Frappe bench's `sites/`.
fn user_dir(host: &mut LocalHost) -> (PathBuf, PathBuf) {
    let dir = host.root.join("srv/app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    traversable(&dir.join("x"));
    chown(&dir, NOBODY);
    let conf = dir.join("app.conf");
    std::fs::copy(&host.odoo_conf, &conf).expect("copy");
    chown(&conf, NOBODY);
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    host.var("app_conf", json!(conf.display().to_string()));
    (dir, conf)
}

fn ini_plan(extra: Option<Value>) -> Value {
    let mut steps = vec![json!({"id": "conf", "ini": {"file": "{{ app_conf }}",
        "set": {"workers": "{{ n }}"}}})];
    steps.extend(extra);
    json!({"name": "user-dir", "hosts": "odoo", "defaults": {"n": "3"}, "steps": steps})
}

#[test]
fn a_racing_user_cannot_turn_writes_in_their_directory_against_root_files() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (dir, _conf) = user_dir(&mut host);
    let victim = Victim::new_in(&host.root.join("etc"), "race");
    host.plan_json(&ini_plan(None));
    let mut racer = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "perl",
            "-e",
            RACER,
        ])
        .arg(&dir)
        .arg(&victim.path)
        .spawn()
        .expect("setpriv + perl");
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    let mut broken = None;
    for i in 0..20 {
        let run = host.run("apply", &["-e", &format!("n={}", 10 + i), "--json"]);
        let outcome = only_report(&run.stdout)["outcome"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        *outcomes.entry(outcome).or_default() += 1;
        let intact = std::fs::read_to_string(&victim.path).ok().as_deref() == Some(VICTIM)
            && meta(&victim.path) == (0, 0, 0o600);
        if !intact {
            broken = Some((i, run));
            break;
        }
    }
    let _ = racer.kill();
    let _ = racer.wait();
    eprintln!("outcomes of 20 applies under the racer: {outcomes:?}");
    if let Some((i, run)) = broken {
        panic!(
            "apply {i} under the racer changed the root-only file: {:?} (uid, gid, mode) {:?}\n--- stdout\n{}",
            std::fs::read_to_string(&victim.path),
            meta(&victim.path),
            run.stdout
        );
    }
    victim.assert_intact();
    // A run that failed while journaling (a backup the racer broke) touched no target: it
    // must not leave a journal that says `in_progress`, or the next run would try to
    // recover it.
    let root = host.root.display().to_string();
    let left: Vec<String> = std::fs::read_dir(host.runs_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|run| {
                    std::fs::read_to_string(run.join("state"))
                        .is_ok_and(|s| s.trim() == "in_progress")
                        && std::fs::read_to_string(run.join("manifest.json"))
                            .is_ok_and(|m| m.contains(&root))
                })
                .map(|run| run.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "runs left in progress: {left:?}");
}

#[test]
fn a_users_file_is_written_as_that_user_and_unsafe_targets_are_refused() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (dir, conf) = user_dir(&mut host);
    host.plan_json(&ini_plan(None));
    // Written (and backed up) by its owner: owner, group and mode stay; nothing of root's
    // appears in the user's directory.
    host.run("apply", &[]).code(0);
    assert!(
        std::fs::read_to_string(&conf)
            .expect("conf")
            .contains("workers = 3")
    );
    assert_eq!(meta(&conf), (NOBODY, NOBODY, 0o640));
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        assert_eq!(meta(entry), (NOBODY, NOBODY, 0o640), "{}", entry.display());
    }
    // A failure after the write: rolled back by the same user, byte-exact.
    let before = std::fs::read(&conf).expect("conf");
    host.plan_json(&ini_plan(Some(
        json!({"id": "fail", "command": "exit 3", "if_changed": ["conf"]}),
    )));
    host.run("apply", &["-e", "n=7"])
        .code(1)
        .stdout_has("FAILED (rolled back)");
    assert_eq!(std::fs::read(&conf).expect("conf"), before);
    assert_eq!(meta(&conf), (NOBODY, NOBODY, 0o640));
    host.plan_json(&ini_plan(None));

    let refused = |host: &LocalHost, message: &str| {
        let sums = host.sums();
        host.run("apply", &["-e", "n=9"])
            .code(1)
            .stdout_has("refusing to write through a path another user could swap under root, nothing was touched")
            .stdout_has(message);
        assert_eq!(host.sums(), sums, "the host was changed");
    };
    // A root-only file in the user's directory.
    let root_file = dir.join("root.conf");
    std::fs::copy(&host.odoo_conf, &root_file).expect("copy");
    std::fs::set_permissions(&root_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    host.var("app_conf", json!(root_file.display().to_string()));
    refused(
        &host,
        &format!(
            "{} belongs to uid 0 but its directory is controlled by uid 65534",
            root_file.display()
        ),
    );
    // A root directory anyone may write to (no sticky bit).
    let open = host.root.join("etc/open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let open_file = open.join("app.conf");
    std::fs::copy(&host.odoo_conf, &open_file).expect("copy");
    host.var("app_conf", json!(open_file.display().to_string()));
    refused(
        &host,
        &format!("{} is writable by other users (mode 777)", open.display()),
    );
    // A user's symlink (in a root directory) to a root file.
    let link = host.root.join("etc/app-link.conf");
    std::os::unix::fs::symlink(&host.odoo_conf, &link).expect("symlink");
    std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).expect("lchown");
    host.var("app_conf", json!(link.display().to_string()));
    refused(
        &host,
        &format!(
            "{} is a symlink uid 65534 controls, pointing at a file it does not control",
            link.display()
        ),
    );
}

/// Runs `script` as uid/gid 65534 and waits for it to succeed.
fn as_nobody_now(script: &str, args: &[&str]) {
    let status = as_nobody(script, args).wait().expect("wait");
    assert!(status.success(), "`{script}` as uid 65534 failed");
}

/// `wsdeploy` against `host` with `WSDEPLOY_TODAY` set.
fn run_on(host: &LocalHost, today: &str, args: &[&str]) -> support::project::Run {
    let mut all = args.to_vec();
    all.extend(["-i", "production"]);
    host.project
        .run_with_env(&all, &[("WSDEPLOY_TODAY", today)])
}

#[test]
fn a_root_symlink_to_a_users_symlink_cannot_lead_root_to_a_root_file() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (_dir, conf) = user_dir(&mut host);
    let victim = Victim::new_in(&host.root.join("etc"), "chain");
    // Root's symlink in a root directory points at the user's file (the bench layout:
    // /etc/supervisor/conf.d/<bench>.conf -> the bench's config)...
    let link = host.root.join("etc/app.conf");
    std::os::unix::fs::symlink(&conf, &link).expect("symlink");
    host.var("app_conf", json!(link.display().to_string()));
    host.plan_json(&ini_plan(None));
    // ...which the user swaps for a symlink to a root-only file.
    as_nobody_now(
        "ln -sfn \"$1\" \"$2\"",
        &[
            victim.path.to_str().expect("utf-8"),
            conf.to_str().expect("utf-8"),
        ],
    );
    let sums = host.sums();
    let run = host.run("apply", &[]);
    victim.assert_intact();
    assert_eq!(host.sums(), sums, "the host was changed");
    run.code(1)
        .stdout_has("refusing to write through a path another user could swap under root")
        .stdout_has(&format!(
            "{} is a symlink uid 65534 controls, pointing at a file it does not control",
            conf.display()
        ));
}

#[test]
fn a_directory_symlink_is_judged_by_its_target_and_by_who_controls_it() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    // Root's directory symlink to a root directory: a plain root write.
    let real_dir = host.root.join("etc/app-real");
    std::fs::create_dir_all(&real_dir).expect("mkdir");
    std::fs::copy(&host.odoo_conf, real_dir.join("app.conf")).expect("copy");
    let dir_link = host.root.join("etc/app");
    std::os::unix::fs::symlink(&real_dir, &dir_link).expect("symlink");
    host.var(
        "app_conf",
        json!(dir_link.join("app.conf").display().to_string()),
    );
    host.plan_json(&ini_plan(None));
    host.run("apply", &[]).code(0).stdout_has("changed");
    assert!(
        std::fs::read_to_string(real_dir.join("app.conf"))
            .expect("conf")
            .contains("workers = 3")
    );
    // The user's directory symlink (in their own directory) into a root directory:
    // refused, whatever the mode of the symlink itself.
    let (dir, _conf) = user_dir(&mut host);
    let user_link = dir.join("etc");
    as_nobody_now(
        "ln -s \"$1\" \"$2\"",
        &[
            real_dir.to_str().expect("utf-8"),
            user_link.to_str().expect("utf-8"),
        ],
    );
    host.var(
        "app_conf",
        json!(user_link.join("app.conf").display().to_string()),
    );
    let sums = host.sums();
    host.run("apply", &["-e", "n=5"])
        .code(1)
        .stdout_has(&format!(
            "{} is a symlink uid 65534 controls, pointing at a file it does not control",
            user_link.display()
        ));
    assert_eq!(host.sums(), sums, "the host was changed");
}

/// A root-only file holding a secret line.
const SECRET: &str = "[options]\nroot_only = private-key-material\n";

#[test]
fn a_users_symlink_to_a_root_file_is_not_read_by_dry_run_or_drift() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (_dir, conf) = user_dir(&mut host);
    let secret = host.root.join("etc/secret.conf");
    std::fs::write(&secret, SECRET).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    host.plan_json(&ini_plan(None));
    as_nobody_now(
        "ln -sfn \"$1\" \"$2\"",
        &[
            secret.to_str().expect("utf-8"),
            conf.to_str().expect("utf-8"),
        ],
    );
    for args in [
        vec!["apply", "--dry-run"],
        vec!["apply", "--dry-run", "--json"],
        vec!["drift", "--diff"],
        vec!["apply"],
    ] {
        let run = host.run(args[0], &args[1..]);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains("private-key-material"),
            "{args:?} showed a root-only file's content:\n{all}"
        );
        assert_ne!(run.code, 0, "{args:?} did not refuse:\n{all}");
        assert!(
            all.contains("is a symlink uid 65534 controls, pointing at a file it does not control"),
            "{args:?}:\n{all}"
        );
    }
    assert_eq!(std::fs::read_to_string(&secret).expect("secret"), SECRET);
}

#[test]
fn rollback_by_date_never_restores_a_planted_backup() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (dir, conf) = user_dir(&mut host);
    let secret = host.root.join("etc/secret.conf");
    std::fs::write(&secret, SECRET).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    host.plan_json(&ini_plan(None));
    let day = "2031-01-02";
    // The backups wsdeploy made are restored, in a root directory and in the user's.
    for file in [host.odoo_conf.clone(), conf.clone()] {
        host.var("app_conf", json!(file.display().to_string()));
        let original = std::fs::read_to_string(&file).expect("conf");
        run_on(&host, day, &["apply"]).code(0);
        run_on(&host, day, &["rollback", "--date", day]).code(0);
        assert_eq!(std::fs::read_to_string(&file).expect("conf"), original);
    }
    run_on(&host, day, &["apply"]).code(0);
    let backup = dir.join(format!("app.conf.backup-{day}"));
    assert!(
        std::fs::symlink_metadata(&backup).is_ok(),
        "the apply made no backup beside the file"
    );
    let applied = std::fs::read_to_string(&conf).expect("conf");
    // The user swaps the backup for a symlink to a root-only file.
    as_nobody_now(
        "ln -sfn \"$1\" \"$2\"",
        &[
            secret.to_str().expect("utf-8"),
            backup.to_str().expect("utf-8"),
        ],
    );
    let run = run_on(&host, day, &["rollback", "--date", day]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.contains("private-key-material"),
        "the rollback showed a root-only file's content:\n{all}"
    );
    assert_eq!(
        std::fs::read_to_string(&conf).expect("conf"),
        applied,
        "the rollback wrote into the user's file:\n{all}"
    );
    assert_ne!(run.code, 0, "{all}");
    // A regular file the user wrote there is no backup wsdeploy made either.
    as_nobody_now(
        "rm -f \"$1\" && printf '[options]\\nplanted = yes\\n' > \"$1\"",
        &[backup.to_str().expect("utf-8")],
    );
    let run = run_on(&host, day, &["rollback", "--date", day]);
    assert_eq!(
        std::fs::read_to_string(&conf).expect("conf"),
        applied,
        "a planted backup was restored:\n{}",
        run.stdout
    );
    run.code(1).stdout_has("does not hold the bytes");
    assert_eq!(std::fs::read_to_string(&secret).expect("secret"), SECRET);
}

#[test]
fn a_user_writes_with_their_primary_group_never_root() {
    use std::os::unix::fs::MetadataExt;
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (dir, conf) = user_dir(&mut host);
    // The user's file has group root.
    std::os::unix::fs::chown(&conf, Some(NOBODY), Some(0)).expect("chown");
    host.plan_json(&ini_plan(None));
    run_on(&host, "2031-01-03", &["apply"]).code(0);
    let backup = dir.join("app.conf.backup-2031-01-03");
    for path in [&conf, &backup] {
        let m = std::fs::symlink_metadata(path).expect("metadata");
        assert_eq!(
            (m.uid(), m.gid()),
            (NOBODY, NOBODY),
            "{} was written with group root",
            path.display()
        );
    }
}

#[test]
fn a_failed_commit_mark_is_a_failure_never_changed() {
    let host = LocalHost::new("host");
    let _guard = host.guard();
    let root = host.root.display().to_string();
    // The last command breaks this run's state file (a directory where `state.tmp` goes),
    // so marking the run committed fails.
    let breaker = format!(
        "for d in {runs}/*/; do grep -qF {root} \"$d/manifest.json\" 2>/dev/null && grep -qx in_progress \"$d/state\" && mkdir \"$d/state.tmp\"; done; true",
        // The journal as the run sees it (its own state directory is mounted there).
        runs = LOCAL_RUNS,
        root = wsdeploy::host::quote(&root)
    );
    host.plan_json(&json!({
        "name": "commit", "hosts": "odoo",
        "steps": [
            {"id": "conf", "ini": {"file": "{{ odoo_conf }}", "set": {"workers": "4"}}},
            {"id": "break", "command": breaker, "if_changed": ["conf"]},
        ],
    }));
    let before = std::fs::read(&host.odoo_conf).expect("conf");
    let run = host.run("apply", &["--json"]);
    // Clean up the broken run whatever happened (no later apply may find it).
    if let Ok(entries) = std::fs::read_dir(host.runs_dir()) {
        for run_dir in entries.filter_map(Result::ok).map(|e| e.path()) {
            if std::fs::read_to_string(run_dir.join("manifest.json"))
                .is_ok_and(|m| m.contains(&root))
            {
                let _ = std::fs::remove_dir_all(&run_dir);
            }
        }
    }
    let report = only_report(&run.stdout);
    assert_ne!(report["outcome"], json!("changed"), "{report}");
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("committed failed"),
        "no clear message: {}",
        run.stdout
    );
    assert_eq!(
        std::fs::read(&host.odoo_conf).expect("conf"),
        before,
        "the uncommitted change was left in place"
    );
}

#[test]
fn a_fact_is_never_read_through_a_users_symlink_to_a_root_file() {
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (dir, _conf) = user_dir(&mut host);
    let secret = host.root.join("etc/secret.json");
    std::fs::write(&secret, "{\"note\": \"private-key-material\"}\n").expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let facts = dir.join("app.json");
    host.var("app_json", json!(facts.display().to_string()));
    host.plan_json(&json!({
        "name": "facts", "hosts": "odoo",
        "facts": [{"name": "note", "json": "{{ app_json }}", "key": "note", "default": "none"}],
        "steps": [{"id": "conf", "ini": {"file": "{{ app_conf }}", "set": {"note": "{{ note }}"}}}],
    }));
    as_nobody_now(
        "ln -sfn \"$1\" \"$2\"",
        &[
            secret.to_str().expect("utf-8"),
            facts.to_str().expect("utf-8"),
        ],
    );
    let run = host.run("apply", &["--dry-run"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.contains("private-key-material"),
        "a root-only file's value reached the output:\n{all}"
    );
    assert_ne!(run.code, 0, "{all}");
    assert!(
        all.contains("is a symlink uid 65534 controls, pointing at a file it does not control"),
        "{all}"
    );
}

/// `mv` as the attacker sees it: the real one, then, at the `$WSDT_SWAP_AT`-th move by a
/// user other than root to a name matching `$WSDT_SWAP_MATCH`, that name (`$WSDT_SWAP`
/// is `file`) or its directory (`dir`) becomes a symlink to `$WSDT_TARGET` (counting in
/// `$WSDT_COUNT`).
const SWAPPING_MV: &str = r#"#!/bin/sh
/usr/bin/mv "$@" || exit
[ "$(id -u)" != 0 ] || exit 0
for last; do :; done
case $last in $WSDT_SWAP_MATCH) ;; *) exit 0 ;; esac
echo x >> "$WSDT_COUNT"
[ "$(wc -l < "$WSDT_COUNT")" -eq "$WSDT_SWAP_AT" ] || exit 0
v=$last; [ "$WSDT_SWAP" = file ] || v=${last%/*}
/usr/bin/mv -- "$v" "$v.away" && ln -s -- "$WSDT_TARGET" "$v"
exit 0
"#;

/// Runs `args` while a user swaps, right after their own write, the written name or its
/// directory for a symlink to a root-only FIFO (as to a root-only device: the user cannot
/// open it); returns whether root (its `sync FILE`) opened that FIFO.
fn root_opens_a_swapped_name(
    host: &LocalHost,
    swap: &str,
    matching: &str,
    at: &str,
    args: &[&str],
) -> bool {
    let bin = host.root.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    traversable(&bin.join("x"));
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mv = bin.join("mv");
    std::fs::write(&mv, SWAPPING_MV).expect("mv");
    std::fs::set_permissions(&mv, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Root's FIFO, in a directory only root may enter, and a writer of root's already
    // waiting on it: the writer gets through only when someone opens it for reading.
    let private = host.root.join("private");
    std::fs::create_dir_all(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let fifo = private.join("fifo");
    let opened = private.join("opened");
    let made = Command::new("mkfifo")
        .arg("-m600")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success(), "mkfifo");
    let mut writer = Command::new("sh")
        .args(["-c", "exec 3> \"$1\"; : > \"$2\"", "sh"])
        .arg(&fifo)
        .arg(&opened)
        .spawn()
        .expect("sh");
    let count = host.root.join("srv/app/count");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (fifo_s, count_s) = (fifo.display().to_string(), count.display().to_string());
    let mut all = vec![args[0], "-i", "production"];
    all.extend_from_slice(&args[1..]);
    let run = host.project.run_with_env(
        &all,
        &[
            ("PATH", path.as_str()),
            ("WSDT_SWAP", swap),
            ("WSDT_SWAP_MATCH", matching),
            ("WSDT_SWAP_AT", at),
            ("WSDT_TARGET", fifo_s.as_str()),
            ("WSDT_COUNT", count_s.as_str()),
        ],
    );
    let moves = std::fs::read_to_string(&count).unwrap_or_default();
    let mut was_opened = false;
    for _ in 0..20 {
        if opened.exists() {
            was_opened = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = writer.kill();
    let _ = writer.wait();
    assert!(
        moves.lines().count() >= at.parse::<usize>().expect("a number"),
        "the user never made the move to swap ({matching}):\n{}{}",
        run.stdout,
        run.stderr
    );
    was_opened
}

#[test]
fn root_never_flushes_a_name_a_user_swapped_after_their_write() {
    // The backup beside a user's file, swapped once the user renamed it into place.
    let mut host = LocalHost::new("host");
    let _guard = host.guard();
    let (_dir, _conf) = user_dir(&mut host);
    host.plan_json(&ini_plan(None));
    let mut opened = Vec::new();
    if root_opens_a_swapped_name(&host, "file", "*.backup-*", "1", &["apply"]) {
        opened.push("the backup");
    }
    // The user's directory of a written (or rolled back) file, swapped right after.
    for (what, plan, at, args) in [
        ("write", ini_plan(None), "1", vec!["apply"]),
        (
            "rollback",
            ini_plan(Some(
                json!({"id": "fail", "command": "exit 3", "if_changed": ["conf"]}),
            )),
            "2",
            vec!["apply"],
        ),
    ] {
        let mut host = LocalHost::new("host");
        let _guard = host.guard();
        let (dir, conf) = user_dir(&mut host);
        let sites = dir.join("sites");
        std::fs::create_dir(&sites).expect("mkdir");
        chown(&sites, NOBODY);
        let nested = sites.join("app.conf");
        std::fs::rename(&conf, &nested).expect("rename");
        host.var("app_conf", json!(nested.display().to_string()));
        host.plan_json(&plan);
        if root_opens_a_swapped_name(&host, "dir", "*/sites/app.conf", at, &args) {
            opened.push(what);
        }
    }
    assert!(
        opened.is_empty(),
        "root opened the FIFO a user put in place (after {opened:?})"
    );
}
