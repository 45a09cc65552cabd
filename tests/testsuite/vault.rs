//! Ansible Vault interoperability: values and whole files encrypted by the real
//! `ansible-vault` (ansible-core in the venv `tests/run-all` creates, see
//! `WSDEPLOY_ANSIBLE_VENV`) are decrypted by wsdeploy with `--vault-password-file` (a file
//! or an executable), `--vault-id LABEL@SOURCE` (formats 1.1 and 1.2) and `--ask-vault-pass`
//! (a real terminal, through `script`); without a password, or with a wrong one, a vaulted
//! value is refused naming file, line, column and variable. Decrypted values never appear in
//! any output, `--json`, a saved review, the host's journal or a schedule's units.

use crate::support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use support::project::Project;
use support::reliability::LocalHost;
use wsdeploy::inventory::{LoadOptions, load_inventory_args};
use wsdeploy::vault::{VaultKeyError, VaultKeys, VaultSources};

fn venv() -> PathBuf {
    let venv = std::env::var_os("WSDEPLOY_ANSIBLE_VENV").map_or_else(
        || PathBuf::from("/var/cache/wsdeploy-ci/ansible-venv"),
        PathBuf::from,
    );
    let ok = Command::new(venv.join("bin/ansible-vault"))
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        ok,
        "ansible-vault is missing from {0}: tests/run-all installs it; by hand: python3 -m venv {0} && {0}/bin/pip install ansible-core (or set WSDEPLOY_ANSIBLE_VENV)",
        venv.display()
    );
    venv
}

/// Runs `ansible-vault ARGS` and returns its stdout.
pub(crate) fn ansible_vault(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("home");
    let out = Command::new(venv().join("bin/ansible-vault"))
        .args(args)
        .env("HOME", home.path())
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_CONFIG", home.path().join("none.cfg"))
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .output()
        .expect("ansible-vault runs");
    assert!(
        out.status.success(),
        "ansible-vault {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `NAME: !vault |` text for `value`, encrypted by ansible-vault with `vault_id_args`.
pub(crate) fn encrypt_string(vault_id_args: &[&str], name: &str, value: &str) -> String {
    let mut args = vec!["encrypt_string"];
    args.extend_from_slice(vault_id_args);
    args.extend(["--name", name, value]);
    ansible_vault(&args)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn executable(path: &Path, text: &str) {
    write(path, text);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// An inventory directory: one host `web1` in group `web`, a password file `pw` (`pw1`),
/// a second one `pw2`, and what the test adds.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp");
        write(
            &dir.path().join("inv/hosts"),
            "[web]\nweb1 ansible_host=192.0.2.1\n",
        );
        write(&dir.path().join("pw"), "pw1\n");
        write(&dir.path().join("pw2"), "second password\n");
        Self { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn text(&self, relative: &str) -> String {
        self.path(relative).to_string_lossy().into_owned()
    }

    fn load(&self, keys: VaultKeys) -> Result<wsdeploy::inventory::Inventory, String> {
        load_inventory_args(
            &[self.text("inv/hosts")],
            self.dir.path(),
            &LoadOptions {
                vault: keys,
                playbook_dir: None,
                unread_vault_ok: false,
            },
        )
        .map_err(|error| error.to_string())
    }
}

#[test]
fn values_and_whole_files_from_ansible_vault_are_decrypted() {
    let fx = Fixture::new();
    let pw = fx.text("pw");
    let value = encrypt_string(
        &["--vault-password-file", &pw],
        "db_password",
        "s3cret value",
    );
    write(
        &fx.path("inv/group_vars/web.yml"),
        &format!("plain: visible\n{value}"),
    );
    write(
        &fx.path("inv/host_vars/web1.yml"),
        "api_token: tok-123\nport: 8443\ntls: \"on\"\n",
    );
    ansible_vault(&[
        "encrypt",
        "--vault-password-file",
        &pw,
        &fx.text("inv/host_vars/web1.yml"),
    ]);
    assert!(
        std::fs::read_to_string(fx.path("inv/host_vars/web1.yml"))
            .expect("read")
            .starts_with("$ANSIBLE_VAULT;1.1;AES256")
    );

    let inv = fx
        .load(VaultKeys::from_passwords(&[("default", "pw1")]))
        .expect("loads");
    let host = inv.host("web1").expect("web1");
    assert_eq!(host.var("db_password"), Some(&json!("s3cret value")));
    assert_eq!(host.var("plain"), Some(&json!("visible")));
    assert_eq!(host.var("api_token"), Some(&json!("tok-123")));
    assert_eq!(host.var("port"), Some(&json!(8443)));
    let secrets = inv.vault_values();
    for expected in ["s3cret value", "tok-123"] {
        assert!(
            secrets.iter().any(|s| s == expected),
            "{expected} not recorded: {secrets:?}"
        );
    }
    // Plain values, and numbers and short strings of encrypted files (masking is by
    // substring), are not masked.
    for plain in ["visible", "8443", "on"] {
        assert!(!secrets.iter().any(|s| s == plain), "{plain}: {secrets:?}");
    }

    // The same through the CLI, with the password from a file: values masked in --list.
    let run = Project::new();
    let out = run.run(&[
        "inventory",
        "--list",
        "-i",
        &fx.text("inv/hosts"),
        "--vault-password-file",
        &pw,
    ]);
    out.code(0).stdout_has("\"db_password\": \"********\"");
    assert!(!out.stdout.contains("s3cret value"), "{}", out.stdout);
}

#[test]
fn vault_ids_and_format_1_2_pick_their_password() {
    let fx = Fixture::new();
    let dev = format!("dev@{}", fx.text("pw"));
    let prod = format!("prod@{}", fx.text("pw2"));
    let a = encrypt_string(&["--vault-id", &dev], "dev_secret", "from dev");
    let b = encrypt_string(&["--vault-id", &prod], "prod_secret", "from prod");
    assert!(a.contains("$ANSIBLE_VAULT;1.2;AES256;dev"), "{a}");
    write(&fx.path("inv/group_vars/all.yml"), &format!("{a}{b}"));
    let keys = VaultKeys::from_sources(&VaultSources {
        password_files: Vec::new(),
        vault_ids: vec![prod.clone(), dev.clone()],
        ask: false,
    })
    .expect("passwords read");
    let inv = fx.load(keys).expect("loads");
    let host = inv.host("web1").expect("web1");
    assert_eq!(host.var("dev_secret"), Some(&json!("from dev")));
    assert_eq!(host.var("prod_secret"), Some(&json!("from prod")));

    // Only the dev password: the prod value is refused, naming file, place and variable.
    let keys = VaultKeys::from_sources(&VaultSources {
        password_files: Vec::new(),
        vault_ids: vec![dev],
        ask: false,
    })
    .expect("passwords read");
    let error = fx.load(keys).expect_err("prod value cannot be opened");
    let key_line = format!("{a}{b}")
        .lines()
        .position(|line| line.starts_with("prod_secret:"))
        .expect("prod_secret line")
        + 1;
    assert!(
        error.contains(&format!(
            "group_vars/all.yml:{key_line}:1: variable `prod_secret`: no vault password given opens it (vault id `prod`; tried `dev`)"
        )),
        "{error}"
    );
}

#[test]
fn password_scripts_and_vault_client_scripts() {
    let fx = Fixture::new();
    let value = encrypt_string(
        &["--vault-password-file", &fx.text("pw")],
        "db_password",
        "x1",
    );
    write(&fx.path("inv/group_vars/web.yml"), &value);
    executable(&fx.path("get-pass.sh"), "#!/bin/sh\necho pw1\n");
    // A client script is asked for a vault id; it answers only for `dev`.
    executable(
        &fx.path("vault-keyring-client.sh"),
        "#!/bin/sh\n[ \"$1\" = --vault-id ] && [ \"$2\" = dev ] && echo pw1 && exit 0\nexit 1\n",
    );
    for sources in [
        VaultSources {
            password_files: vec![fx.path("get-pass.sh")],
            ..VaultSources::default()
        },
        VaultSources {
            vault_ids: vec![format!("dev@{}", fx.text("vault-keyring-client.sh"))],
            ..VaultSources::default()
        },
    ] {
        let keys = VaultKeys::from_sources(&sources).expect("script runs");
        let inv = fx.load(keys).expect("loads");
        assert_eq!(
            inv.host("web1").and_then(|h| h.var("db_password")),
            Some(&json!("x1"))
        );
    }
    let failing = VaultKeys::from_sources(&VaultSources {
        vault_ids: vec![format!("prod@{}", fx.text("vault-keyring-client.sh"))],
        ..VaultSources::default()
    })
    .expect_err("the client refuses prod");
    assert!(
        matches!(&failing, VaultKeyError::ScriptFailed { option, .. } if option.ends_with("vault-keyring-client.sh")),
        "{failing:?}"
    );
    assert!(
        failing
            .to_string()
            .contains("vault-keyring-client.sh: the password script failed"),
        "{failing}"
    );
}

#[test]
fn without_a_password_or_with_a_wrong_one_nothing_is_used() {
    let fx = Fixture::new();
    let value = encrypt_string(
        &["--vault-password-file", &fx.text("pw")],
        "db_password",
        "x1",
    );
    write(
        &fx.path("inv/group_vars/web.yml"),
        &format!("# web\n{value}"),
    );
    let inventory = fx.text("inv/hosts");
    let project = Project::new();
    project.file(
        "plans/site.yml",
        "name: p\nhosts: web\nsteps:\n  - command: \"true\"\n",
    );
    let run = project.run(&["apply", "--dry-run", "-i", &inventory]);
    run.code(3)
        .stderr_has("group_vars/web.yml:2:1: variable `db_password`: it is vault-encrypted and no vault password was given; pass --vault-password-file FILE, --ask-vault-pass or --vault-id LABEL@SOURCE")
        .stderr_has("nothing was changed on any host.");
    let run = project.run(&[
        "apply",
        "--dry-run",
        "-i",
        &inventory,
        "--vault-password-file",
        &fx.text("pw2"),
    ]);
    run.code(3).stderr_has(
        "variable `db_password`: no vault password given opens it (vault id `default`; tried `default`)",
    );
    assert!(!run.stderr.contains("ANSIBLE_VAULT"), "{}", run.stderr);

    // A whole encrypted file without a password names the file.
    ansible_vault(&[
        "encrypt",
        "--vault-password-file",
        &fx.text("pw"),
        &fx.text("inv/hosts"),
    ]);
    project
        .run(&["inventory", "--list", "-i", &inventory])
        .code(3)
        .stderr_has("inv/hosts: it is vault-encrypted and no vault password was given");
    let listed = project.run(&[
        "inventory",
        "--list",
        "-i",
        &inventory,
        "--vault-password-file",
        &fx.text("pw"),
    ]);
    listed.code(0).stdout_has("\"web1\"");
    // Variables of an encrypted inventory file are secrets too.
    listed.stdout_has("\"ansible_host\": \"********\"");
}

#[test]
fn ask_vault_pass_reads_the_terminal_never_argv() {
    let fx = Fixture::new();
    let value = encrypt_string(
        &["--vault-password-file", &fx.text("pw")],
        "db_password",
        "x1",
    );
    write(&fx.path("inv/group_vars/web.yml"), &value);
    let binary = assert_cmd::cargo::cargo_bin("wsdeploy");
    let command = format!(
        "{} inventory --list -i {} --ask-vault-pass",
        binary.display(),
        fx.text("inv/hosts")
    );
    // `script` gives wsdeploy a real terminal; the password is typed into it.
    let run = |password: &str| {
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin
                .write_all(format!("{password}\n").as_bytes())
                .expect("type the password");
        }
        let out = child.wait_with_output().expect("wait");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = run("pw1");
    assert!(ok && out.contains("Vault password:"), "{out}");
    assert!(out.contains("\"db_password\": \"********\""), "{out}");
    let (ok, out) = run("not it");
    assert!(
        !ok && out.contains("no vault password given opens it"),
        "{out}"
    );
}

#[test]
fn decrypted_values_never_leak_into_outputs_review_journal_or_units() {
    let secret = format!("Vaulted{}q'uote", std::process::id());
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var("placeholder", json!("x"));
    let pw_dir = tempfile::tempdir().expect("temp");
    let pw = pw_dir.path().join("pw");
    write(&pw, "pw1\n");
    let pw_text = pw.to_string_lossy().into_owned();
    let value = encrypt_string(&["--vault-password-file", &pw_text], "db_secret", &secret);
    host.project
        .file("inventories/production/group_vars/odoo.yml", &value);
    // No `secrets:` in the plan: the vault alone makes the value secret.
    host.plan_json(&json!({
        "name": "vaulted",
        "hosts": "odoo",
        "steps": [
            {"id": "odoo_conf", "name": "admin password {{ db_secret }}", "ini": {
                "file": "{{ odoo_conf }}", "set": {"admin_passwd": "{{ db_secret }}"}}},
            {"id": "use", "command": "printf 'using %s\\n' {{ db_secret | quote }}",
                "if_changed": ["odoo_conf"], "hint": "the password is {{ db_secret }}"},
        ],
    }));
    let vault = ["--vault-password-file", pw_text.as_str()];
    let forms = [
        secret.clone(),
        wsdeploy::host::quote(&secret),
        secret.replace('\'', "'\\''"),
    ];
    let check = |what: &str, text: &str| {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "vault value leaked in {what}:\n{text}"
            );
        }
    };

    let review = pw_dir.path().join("review.json");
    let review_text = review.to_string_lossy().into_owned();
    let mut args = vec!["--dry-run", "--save", review_text.as_str()];
    args.extend(vault);
    let dry = host.run("apply", &args);
    dry.code(0).stdout_has("admin_passwd = ********");
    check("dry run stdout", &dry.stdout);
    check("dry run stderr", &dry.stderr);
    check(
        "saved review",
        &std::fs::read_to_string(&review).expect("review"),
    );

    let mut args = vec!["--json"];
    args.extend(vault);
    let before = host.runs();
    // This machine's run lock may be held by another wsdeploy run (another checkout's
    // tests): wait for it rather than fail.
    let mut apply = host.run("apply", &args);
    for _ in 0..60 {
        if !apply.stdout.contains("another wsdeploy run holds the lock") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
        apply = host.run("apply", &args);
    }
    apply.code(0);
    check("apply --json", &apply.stdout);
    check("apply stderr", &apply.stderr);
    assert!(
        std::fs::read_to_string(&host.odoo_conf)
            .expect("read")
            .contains(&format!("admin_passwd = {secret}")),
        "the decrypted value is what the host gets"
    );
    let new_runs: BTreeSet<String> = host.runs().difference(&before).cloned().collect();
    assert!(!new_runs.is_empty(), "the apply left no journal entry");
    for run in new_runs {
        let dir = host.runs_dir().join(run);
        for name in ["manifest.json", "state", "ran"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                check(&format!("journal {name}"), &text);
            }
        }
    }

    let mut args = vec!["--every", "15m", "--repair"];
    args.extend(vault);
    let units = host.run("schedule", &args);
    units.code(0).stdout_has("--vault-password-file");
    check("schedule units", &units.stdout);
    host.run("schedule", &["--every", "15m", "--ask-vault-pass"])
        .code(3)
        .stderr_has("a scheduled run has no terminal to ask for the vault password");
}

#[test]
fn extra_vars_files_may_be_encrypted() {
    let fx = Fixture::new();
    write(
        &fx.path("extra.yml"),
        "deploy_token: tok-abcdef\nretries: 3\n",
    );
    ansible_vault(&[
        "encrypt",
        "--vault-password-file",
        &fx.text("pw"),
        &fx.text("extra.yml"),
    ]);
    let arg = format!("@{}", fx.text("extra.yml"));
    let keys = VaultKeys::from_passwords(&[("default", "pw1")]);
    let (vars, secrets) = wsdeploy::inventory::parse_extra_vars_with_vault(
        std::slice::from_ref(&arg),
        Path::new("."),
        &keys,
    )
    .expect("decrypts");
    assert_eq!(vars["deploy_token"], json!("tok-abcdef"));
    assert_eq!(vars["retries"], json!(3));
    assert_eq!(secrets, ["tok-abcdef"]);

    // Through the CLI: refused without a password, before anything is contacted.
    let project = Project::new();
    project.file(
        "plans/site.yml",
        "name: p\nhosts: web\nsteps:\n  - command: \"true\"\n",
    );
    project
        .run(&[
            "apply",
            "--dry-run",
            "-i",
            &fx.text("inv/hosts"),
            "-e",
            &arg,
        ])
        .code(3)
        .stderr_has("extra.yml: it is vault-encrypted and no vault password was given");
}

/// `wsdeploy.toml` names the vault password file or vault ids (relative to the project)
/// when the command line gives no vault option; a command-line option replaces them.
#[test]
fn the_project_config_names_the_vault_passwords() {
    let project = Project::new();
    project.file(
        "inventories/prod/hosts",
        "[web]\nweb1 ansible_host=192.0.2.1\n",
    );
    project.file("vault/pw", "pw1\n");
    project.file("vault/other", "not it\n");
    let pw = project.path().join("vault/pw").display().to_string();
    let vaulted = encrypt_string(
        &["--vault-password-file", &pw],
        "db_password",
        "s3cret value",
    );
    project.file("inventories/prod/group_vars/web.yml", &vaulted);

    project
        .run(&["inventory", "--list", "-i", "prod"])
        .code(3)
        .stderr_has("no vault password was given");

    project.file("wsdeploy.toml", "vault_password_file = \"vault/pw\"\n");
    let out = project.run(&["inventory", "--list", "-i", "prod"]);
    out.code(0).stdout_has("\"db_password\": \"********\"");
    assert!(!out.stdout.contains("s3cret value"), "{}", out.stdout);

    project.file("wsdeploy.toml", "vault_id = [\"prod@vault/pw\"]\n");
    project
        .run(&["inventory", "--list", "-i", "prod"])
        .code(0)
        .stdout_has("\"db_password\": \"********\"");

    // A vault option on the command line replaces the config's.
    let other = project.path().join("vault/other").display().to_string();
    project
        .run(&[
            "inventory",
            "--list",
            "-i",
            "prod",
            "--vault-password-file",
            &other,
        ])
        .code(3);
}

/// Runs `apply ARGS` on `host`, waiting while another wsdeploy run (another checkout's
/// tests) holds this machine's run lock.
fn apply_waiting(host: &LocalHost, args: &[&str]) -> support::project::Run {
    let mut run = host.run("apply", args);
    for _ in 0..60 {
        if !run.stdout.contains("another wsdeploy run holds the lock") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
        run = host.run("apply", args);
    }
    run
}

/// A vaulted value in an inventory, its vault password file, and the plan `plan`.
fn vaulted_host(
    name: &str,
    secret: &str,
    plan: &serde_json::Value,
) -> (LocalHost, tempfile::TempDir) {
    let host = LocalHost::new("root");
    let pw_dir = tempfile::tempdir().expect("temp");
    let pw = pw_dir.path().join("pw");
    write(&pw, "pw1\n");
    let value = encrypt_string(
        &["--vault-password-file", &pw.to_string_lossy()],
        name,
        secret,
    );
    host.project
        .file("inventories/production/group_vars/odoo.yml", &value);
    host.plan_json(plan);
    (host, pw_dir)
}

fn assert_absent(what: &str, run: &support::project::Run, forms: &[String]) {
    for form in forms {
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(form.as_str()),
                "vault value leaked in {what} {stream} (as {form:?}):\n{text}"
            );
        }
    }
}

/// A play with `facts:` is rendered again once the host's files are read; the vaulted
/// values stay masked in that rendering too (diffs, `--json`, `-v`, the journal).
#[test]
fn a_play_with_facts_keeps_vaulted_values_masked() {
    let secret = format!("VaultedFacts{}x", std::process::id());
    let plan = json!({
        "name": "vaulted-facts",
        "hosts": "odoo",
        "facts": [{"name": "site_db", "json": "{{ site_config }}", "key": "db_name",
                   "default": "none"}],
        "steps": [
            {"id": "odoo_conf", "ini": {"file": "{{ odoo_conf }}",
                "set": {"db_name": "{{ site_db }}", "db_note": "{{ db_secret }}"}}},
            {"id": "use", "command": "printf 'using %s\\n' {{ db_secret | quote }}",
                "if_changed": ["odoo_conf"]},
        ],
    });
    let (host, pw_dir) = vaulted_host("db_secret", &secret, &plan);
    let _guard = host.guard();
    let pw = pw_dir.path().join("pw");
    let pw = pw.to_string_lossy();
    let forms = vec![secret.clone()];
    let dry = apply_waiting(&host, &["--dry-run", "--vault-password-file", &pw]);
    dry.code(0).stdout_has("+db_name = test_frappe");
    assert_absent("dry run", &dry, &forms);
    let before = host.runs();
    let apply = apply_waiting(&host, &["--json", "-v", "--vault-password-file", &pw]);
    assert_absent("apply --json -v", &apply, &forms);
    apply.code(0);
    assert!(
        std::fs::read_to_string(&host.odoo_conf)
            .expect("read")
            .contains(&format!("db_note = {secret}")),
        "the host gets the value"
    );
    for run in host.runs().difference(&before) {
        let manifest = std::fs::read_to_string(host.runs_dir().join(run).join("manifest.json"))
            .unwrap_or_default();
        assert!(!manifest.contains(&secret), "journal: {manifest}");
    }
}

/// A vaulted multi-line secret (a PEM key) written whole by a `file:` step, and the same
/// key through `tojson`: masked line by line in diffs and `--json`.
#[test]
fn a_vaulted_multi_line_key_is_masked_in_diffs_and_json() {
    let id = std::process::id();
    let key = format!(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7{id}\nVfR0bWvQk9vG2s6n8l1o3rX+q/ZyT0dVb2Jx4yEo5h3Nw6cKq8b{id}\nAgMBAAECggEAQk0Lh2u5H4zZk2m'q<x>&y{id}\n-----END PRIVATE KEY-----\n"
    );
    let (host, pw_dir) = {
        let plan = json!({
            "name": "tls-key",
            "hosts": "odoo",
            "steps": [
                {"id": "key", "file": {"path": "{{ odoo_conf }}.key", "mode": "0600",
                    "content": "{{ tls_key }}"}},
                {"id": "key_json", "file": {"path": "{{ odoo_conf }}.key.json", "mode": "0600",
                    "content": "{\"key\": {{ tls_key | tojson }}}\n"}},
            ],
        });
        vaulted_host("tls_key", &key, &plan)
    };
    let _guard = host.guard();
    let pw = pw_dir.path().join("pw");
    let pw = pw.to_string_lossy();
    let lines: Vec<String> = key
        .lines()
        .filter(|l| l.len() > 30)
        .map(str::to_owned)
        .collect();
    let mut forms = lines.clone();
    forms.push(
        serde_json::to_string(&key)
            .expect("json")
            .trim_matches('"')
            .to_owned(),
    );
    forms.push("AgMBAAECggEAQk0Lh2u5H4zZk2m\\u0027q\\u003cx\\u003e\\u0026y".to_owned());
    let dry = apply_waiting(&host, &["--dry-run", "--vault-password-file", &pw]);
    dry.code(0).stdout_has("+********");
    assert_absent("dry run", &dry, &forms);
    let apply = apply_waiting(&host, &["--json", "--diff", "--vault-password-file", &pw]);
    assert_absent("apply --json", &apply, &forms);
    apply.code(0);
    let written =
        std::fs::read_to_string(format!("{}.key", host.odoo_conf.display())).expect("key written");
    assert_eq!(written, key, "the host gets the key");
}

/// `validate -e @vaulted.yml` opens the file with the vault options, with or without
/// `-i`, and uses its values as `apply` does.
#[test]
fn validate_reads_an_encrypted_extra_vars_file_with_the_vault_options() {
    let fx = Fixture::new();
    write(
        &fx.path("extra.yml"),
        "site_conf: /etc/nginx/conf.d/site.conf\n",
    );
    ansible_vault(&[
        "encrypt",
        "--vault-password-file",
        &fx.text("pw"),
        &fx.text("extra.yml"),
    ]);
    let arg = format!("@{}", fx.text("extra.yml"));
    let project = Project::new();
    project.file(
        "plans/site.yml",
        "name: p\nhosts: web\nsteps:\n  - id: site\n    nginx: {file: \"{{ site_conf }}\", context: server, ensure: \"location /x { return 204; }\"}\n",
    );
    let pw = fx.text("pw");
    project
        .run(&["validate", "-e", &arg, "--vault-password-file", &pw])
        .code(0)
        .stdout_has("plans/site.yml: valid");
    project
        .run(&[
            "validate",
            "-i",
            &fx.text("inv/hosts"),
            "-e",
            &arg,
            "--vault-password-file",
            &pw,
        ])
        .code(0)
        .stdout_has("plans/site.yml: valid (variables checked against the inventory)");
    project
        .run(&["validate", "-e", &arg])
        .code(3)
        .stderr_has("extra.yml: it is vault-encrypted and no vault password was given");
}
