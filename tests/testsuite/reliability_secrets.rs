//! Secrets: values of variables a plan lists under `secrets:` never appear in stdout,
//! stderr, diffs, `--json`, or the host's journal (`/var/lib/wsdeploy/runs/*/manifest.json`),
//! in the forms wsdeploy itself produces (raw, shell-quoted by `| quote`, JSON-escaped in a
//! diff of a JSON file); the journal is private (0700); temporary files are 0600 from
//! their creation, before any content is written, whatever the caller's umask.
//!
//! The host is `ansible_connection: local` over temporary copies (a real shell); the
//! temp-file modes are observed from inside the real write script, through a `base64`
//! wrapper first on `PATH` that records the mode of the file it writes into.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};
use support::project::Run;
use support::reliability::{LocalHost, host_reports};

/// A plan using `secret` in every place a value can travel: ini, json, a command (quoted
/// and raw), a command check, a hint, a step name.
fn secret_plan(failing: bool) -> Value {
    let mut steps = vec![
        json!({"id": "odoo_conf", "name": "admin password {{ db_secret }}", "ini": {
            "file": "{{ odoo_conf }}", "set": {"admin_passwd": "{{ db_secret }}"}}}),
        json!({"id": "site_config", "json": {
            "file": "{{ site_config }}", "set": {"db_password": "{{ db_secret }}"}}}),
        json!({"id": "use", "command": "printf 'using %s\\n' {{ db_secret | quote }}; echo raw={{ db_secret_plain }}",
            "if_changed": ["odoo_conf"], "hint": "the password is {{ db_secret }}"}),
        json!({"id": "check", "verify": {"command": {
            "run": "printf '%s' {{ db_secret | quote }}", "contains": "{{ db_secret }}"}},
            "retries": 1}),
    ];
    if failing {
        steps.push(json!({"id": "fail", "command": "printf 'failing with %s\\n' {{ db_secret | quote }}; exit 3",
            "hint": "secret {{ db_secret }} in a hint"}));
    }
    json!({
        "name": "secrets",
        "hosts": "odoo",
        "secrets": ["db_secret", "db_secret_plain"],
        "steps": steps,
    })
}

/// Every form of `secret` that must not leak: raw, as `| quote` writes it, JSON-escaped.
fn leaked_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned(), wsdeploy::host::quote(secret)];
    let json = serde_json::to_string(secret).expect("json");
    forms.push(json.trim_matches('"').to_owned());
    forms.sort();
    forms.dedup();
    forms
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        for form in leaked_forms(secret) {
            assert!(
                !text.contains(&form),
                "secret leaked in {what} (as {form:?}):\n{text}"
            );
        }
    }
}

/// Every decoded string of a `--json` stream.
fn json_strings(stdout: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in stdout.lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            walk(&v, &mut out);
        }
    }
    out
}

fn check_run(what: &str, run: &Run, secrets: &[&str]) {
    assert_no_secret(&format!("{what} stdout"), &run.stdout, secrets);
    assert_no_secret(&format!("{what} stderr"), &run.stderr, secrets);
    for s in json_strings(&run.stdout) {
        assert_no_secret(&format!("{what} --json value"), &s, secrets);
    }
}

/// The journal entries created by a run: no secret in any manifest, private modes.
fn check_journal(host: &LocalHost, new_runs: &BTreeSet<String>, secrets: &[&str]) {
    assert!(!new_runs.is_empty(), "the apply left no journal entry");
    let runs = host.runs_dir();
    for dir in [runs.parent().expect("state dir"), runs.as_path()] {
        let mode = std::fs::metadata(dir)
            .expect("state dir")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
    }
    for run in new_runs {
        let dir = runs.join(run);
        let mode = std::fs::metadata(&dir)
            .expect("run dir")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
        let manifest = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
        assert_no_secret(
            &format!("{}/manifest.json", dir.display()),
            &manifest,
            secrets,
        );
        let decoded: Value = serde_json::from_str(&manifest).expect("manifest is JSON");
        for s in json_strings(&decoded.to_string()) {
            assert_no_secret("manifest value", &s, secrets);
        }
        for name in ["state", "ran"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                assert_no_secret(name, &text, secrets);
            }
        }
    }
}

fn run_secret_scenario(secret: &str) {
    let plain = format!("plainsecret{}x", std::process::id());
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var("db_secret", json!(secret))
        .var("db_secret_plain", json!(plain));
    let secrets = [secret, plain.as_str()];
    std::fs::set_permissions(&host.odoo_conf, std::fs::Permissions::from_mode(0o640))
        .expect("chmod");

    host.plan_json(&secret_plan(false));
    check_run("dry run", &host.run("apply", &["--dry-run"]), &secrets);
    check_run(
        "dry run --json",
        &host.run("apply", &["--dry-run", "--json"]),
        &secrets,
    );

    let runs_before = host.runs();
    let apply = host.run("apply", &["--json"]);
    check_run("apply --json", &apply, &secrets);
    apply.code(0);
    let reports = host_reports(&apply.stdout);
    assert_eq!(reports[0]["outcome"], "changed", "{}", apply.stdout);
    let new_runs: BTreeSet<String> = host.runs().difference(&runs_before).cloned().collect();
    check_journal(&host, &new_runs, &secrets);
    // The file holding the secret kept its private mode.
    let mode = std::fs::metadata(&host.odoo_conf)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    assert!(
        std::fs::read_to_string(&host.odoo_conf)
            .expect("read")
            .contains(&format!("admin_passwd = {secret}"))
    );

    // A change that fails after the writes: error messages, hints, notes, rollback.
    let text = std::fs::read_to_string(&host.odoo_conf).expect("read");
    std::fs::write(
        &host.odoo_conf,
        text.replace("admin_passwd", "old_admin_passwd"),
    )
    .expect("write");
    host.plan_json(&secret_plan(true));
    let runs_before = host.runs();
    let failed = host.run("apply", &[]);
    check_run("failing apply", &failed, &secrets);
    failed.code(1).stdout_has("FAILED (rolled back)");
    let new_runs: BTreeSet<String> = host.runs().difference(&runs_before).cloned().collect();
    check_journal(&host, &new_runs, &secrets);
    let failed_json = host.run("apply", &["--json"]);
    check_run("failing apply --json", &failed_json, &secrets);
}

#[cfg(feature = "host-tests")]
#[test]
fn plain_secret_never_leaks() {
    run_secret_scenario(&format!("Zq9alpha{}Kw", std::process::id()));
}

#[cfg(feature = "host-tests")]
#[test]
fn secret_with_quotes_and_backslash_never_leaks_in_any_form() {
    // `| quote` turns ' into '\'' and a JSON diff escapes " and \: masking must cover them.
    run_secret_scenario(&format!("p'w\"d\\{}$x", std::process::id()));
}

/// A directory whose `base64` records `<mode> <path>` of the regular file it writes into
/// (the temporary file of a write), then runs the real `base64`.
fn mode_spy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("spy dir");
    let log = dir.path().join("modes.log");
    let real = ["/usr/bin/base64", "/bin/base64"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("coreutils base64 is installed");
    let script = format!(
        "#!/bin/sh\nif [ -f /proc/$$/fd/1 ]; then printf '%s %s\\n' \"$(stat -L -c %a /proc/$$/fd/1)\" \"$(readlink /proc/$$/fd/1)\" >> '{}'; fi\nexec {real} \"$@\"\n",
        log.display()
    );
    let spy = dir.path().join("base64");
    std::fs::write(&spy, script).expect("spy");
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (dir, log)
}

fn logged_modes(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect()
}

#[cfg(feature = "host-tests")]
#[test]
fn write_script_creates_temp_files_0600_before_writing_whatever_the_umask() {
    let (spy, log) = mode_spy();
    let target_dir = tempfile::tempdir().expect("target");
    let existing = target_dir.path().join("odoo.conf");
    std::fs::write(&existing, "old\n").expect("write");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let new = target_dir.path().join("sub/new.conf");
    let existing_s = existing.display().to_string();
    let new_s = new.display().to_string();
    let run_id = wsdeploy::host::RunId::parse("20261123T000000Z-00ab12").expect("a run id");
    let script = wsdeploy::host::write::write_script(
        &run_id,
        &[
            wsdeploy::host::write::FileContent {
                path: &existing_s,
                content: b"admin_passwd = s3cret\n",
                new_mode: 0o644,
                expected: Some(wsdeploy::digest::sha256_hex(b"old\n")),
            },
            wsdeploy::host::write::FileContent {
                path: &new_s,
                content: b"token = s3cret\n",
                new_mode: 0o600,
                expected: None,
            },
        ],
    );
    let path = format!(
        "{}:{}",
        spy.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = std::process::Command::new("sh")
        .args(["-c", "umask 000; exec sh -s"])
        .env("PATH", path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), script.as_bytes())
        .expect("script");
    let out = child.wait_with_output().expect("sh ends");
    assert!(out.status.success());
    let modes = logged_modes(&log);
    assert_eq!(modes.len(), 2, "{modes:?}");
    for (mode, file) in &modes {
        assert_eq!(
            mode, "600",
            "{file} was {mode} while its content was written"
        );
        assert!(file.contains("/.wsdeploy."), "{file}");
        assert!(!Path::new(file).exists(), "{file} was left behind");
    }
    let mode_of = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(
        mode_of(&existing),
        0o640,
        "the existing file's mode was not kept"
    );
    assert_eq!(mode_of(&new), 0o600);
    assert_eq!(
        std::fs::read(&existing).expect("read"),
        b"admin_passwd = s3cret\n"
    );
}

#[cfg(feature = "host-tests")]
#[test]
fn a_real_apply_writes_through_0600_temp_files() {
    let (spy, log) = mode_spy();
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var("db_secret", json!("s3cret-value"));
    host.plan_json(&json!({
        "name": "t",
        "hosts": "odoo",
        "secrets": ["db_secret"],
        "steps": [
            {"id": "ini", "ini": {"file": "{{ odoo_conf }}", "set": {"admin_passwd": "{{ db_secret }}"}}},
            {"id": "json", "json": {"file": "{{ site_config }}", "set": {"db_password": "{{ db_secret }}"}}},
        ],
    }));
    let mut cmd = host.project.wsdeploy();
    let path = format!(
        "{}:{}",
        spy.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cmd
        .arg("-C")
        .arg(host.project.path())
        .args(["apply", "-i", "production"])
        .env("NO_COLOR", "1")
        .env("PATH", path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let modes: Vec<(String, String)> = logged_modes(&log)
        .into_iter()
        .filter(|(_, p)| p.contains("/.wsdeploy."))
        .collect();
    assert_eq!(
        modes.len(),
        2,
        "one temporary file per changed file: {modes:?}"
    );
    for (mode, file) in &modes {
        assert_eq!(
            mode, "600",
            "{file} was {mode} while its content was written"
        );
    }
    assert!(host.temp_leftovers().is_empty());
}

/// Values of sensitive keys (INI, JSON) are masked in diffs whether or not the plan lists
/// them, `--json` carries diffs and hashes instead of whole bodies, and a short secret
/// (`app`) is masked as a whole value only: `/files/app.ini` stays readable (a masked path
/// beside an unmasked backup line would give the secret away), with a warning.
#[test]
fn sensitive_keys_are_masked_json_has_no_bodies_and_short_secrets_mask_whole_values() {
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    let app_ini = host.root.join("files/app.ini");
    std::fs::create_dir_all(app_ini.parent().expect("parent")).expect("mkdir");
    std::fs::write(&app_ini, "[options]\nname = x\n").expect("app.ini");
    host.var("db_pw", json!("app"))
        .var("app_ini", json!(app_ini.display().to_string()));
    host.plan_json(&json!({
        "name": "keys", "hosts": "odoo", "secrets": ["db_pw"],
        "steps": [
            {"id": "site_config", "json": {"file": "{{ site_config }}",
                "set": {"db_password": "{{ db_pw }}"}}},
            {"id": "odoo_conf", "ini": {"file": "{{ odoo_conf }}",
                "set": {"db_password": "{{ db_pw }}"}}},
            {"id": "app_ini", "ini": {"file": "{{ app_ini }}", "set": {"name": "y"}}},
        ],
    }));
    // Values in the corpus files that no plan lists as secret, and the short secret.
    let leaks = [
        "\"db_password\": \"test_frappe\"",
        "\"travis\"",
        "\"mail_password\": \"test\"",
        "\"admin_password\": \"admin\"",
        "db_password = app",
        "\"db_password\": \"app\"",
    ];
    let text = host.run("apply", &["--dry-run"]);
    text.code(0)
        .stderr_has(
            "warning: secret `db_pw` of play `keys` (host local-1) is shorter than 6 characters",
        )
        .stdout_has(&format!("+++ b{}", app_ini.display()))
        .stdout_has("+db_password = ********")
        .stdout_has("+    \"db_password\": \"********\",");
    let json_run = host.run("apply", &["--dry-run", "--json"]);
    json_run.code(0);
    for (what, out) in [("text", &text.stdout), ("--json", &json_run.stdout)] {
        for leak in leaks {
            assert!(!out.contains(leak), "{what} shows {leak:?}:\n{out}");
        }
    }
    let report = support::reliability::only_report(&json_run.stdout);
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 3, "{report}");
    for f in files {
        assert!(
            f.get("old").is_none() && f.get("new").is_none(),
            "whole bodies in --json: {f}"
        );
        assert!(f["diff"].as_str().is_some_and(|d| d.contains("@@")), "{f}");
        let sha = f["new_sha256"].as_str().expect("new_sha256");
        assert!(
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{f}"
        );
    }
    assert!(
        json_run
            .stdout
            .contains(&format!("{}.backup-", app_ini.display())),
        "the backup path is shown whole"
    );
}

/// `WSDEPLOY_SSH_PASSWORD` and `WSDEPLOY_BECOME_PASSWORD` are read once and taken out of
/// the environment: neither an inventory script nor a vault password script nor a command
/// the plan runs on this machine inherits them.
#[cfg(feature = "host-tests")]
#[test]
fn password_environment_variables_never_reach_a_child_process() {
    let login = format!("LoginEnv{}pw", std::process::id());
    let become_pw = format!("BecomeEnv{}pw", std::process::id());
    let project = support::project::Project::with_own_state();
    let dir = project.path();
    let seen = dir.join("seen");
    std::fs::create_dir_all(&seen).expect("mkdir");
    let script = dir.join("inventory.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > {s}/inventory-script\nprintf '%s' '{{\"web\": {{\"hosts\": [\"local-1\"], \"vars\": {{\"ansible_connection\": \"local\"}}}}}}'\n",
            s = seen.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let vault_client = dir.join("vault-client.sh");
    std::fs::write(
        &vault_client,
        format!(
            "#!/bin/sh\nenv > {s}/vault-script\necho pw1\n",
            s = seen.display()
        ),
    )
    .expect("vault script");
    std::fs::set_permissions(&vault_client, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    project.file(
        "plans/site.yml",
        &format!(
            "name: env\nhosts: web\nsteps:\n  - command: \"env > {s}/command\"\n    unless: \"false\"\n",
            s = seen.display()
        ),
    );
    let out = project
        .wsdeploy()
        .arg("-C")
        .arg(dir)
        .args(["apply", "-i"])
        .arg(&script)
        .arg("--vault-password-file")
        .arg(&vault_client)
        .env("WSDEPLOY_SSH_PASSWORD", &login)
        .env("WSDEPLOY_BECOME_PASSWORD", &become_pw)
        .env("NO_COLOR", "1")
        .output()
        .expect("wsdeploy runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for child in ["inventory-script", "vault-script", "command"] {
        let env = std::fs::read_to_string(seen.join(child))
            .unwrap_or_else(|e| panic!("{child} did not run: {e}"));
        assert!(!env.is_empty(), "{child}: empty environment dump");
        for secret in [&login, &become_pw] {
            assert!(
                !env.contains(secret.as_str()),
                "{child} inherited a password:\n{env}"
            );
        }
    }
}

/// wsdeploy started with core dumps allowed (`ulimit -c unlimited`) writes no core file
/// holding a secret: its core limit is 0, and so is every child's (an inventory script
/// here), which inherits it.
#[test]
fn core_dumps_are_off_for_wsdeploy_and_its_children() {
    let project = support::project::Project::new();
    let dir = project.path();
    let seen = dir.join("core-limit");
    let script = dir.join("inventory.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nulimit -c > {s}\nprintf '%s' '{{\"web\": {{\"hosts\": [\"local-1\"], \"vars\": {{\"ansible_connection\": \"local\"}}}}}}'\n",
            s = seen.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited || exit 99; exec \"$@\"")
        .arg("sh")
        .arg(assert_cmd::cargo::cargo_bin("wsdeploy"))
        .arg("-C")
        .arg(dir)
        .args(["inventory", "-i"])
        .arg(&script)
        .output()
        .expect("sh runs");
    assert_ne!(
        out.status.code(),
        Some(99),
        "this test raises the core limit first: run it as root"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limit = std::fs::read_to_string(&seen).expect("the inventory script ran");
    assert_eq!(limit.trim(), "0", "the child's core limit");
}
