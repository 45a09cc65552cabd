//! Undo: `rollback --run ID` undoes exactly one run (refused, naming the later run and the
//! file, when a later run changed one of its files), `rollback --date` follows the runs'
//! manifests rather than today's plan, and `backups`/`rollback` locate the hosts without
//! the vault password. Driven on this machine (`connection: local`).

use crate::support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::history::{recorded, recorded_runs};
use support::project::Run;
use support::reliability::LocalHost;

/// `admin_passwd: s3cret-admin`, encrypted by ansible-vault with the password `pw`.
const VAULTED: &str = "admin_passwd: !vault |
          $ANSIBLE_VAULT;1.1;AES256
          65633164666430343865356632613966303933653166373239316632666434343830636330666632
          3833623531373062663739343539643766316664653136620a623364633635383636306137333862
          62316533613866656461393531336636316562303535643862306130346135323331396135303433
          3762643465663132610a376435343862303730306437633137623432346330653166373233626134
          3338
";

/// One ini edit and its reload, which appends a line to `{{ reload_log }}`.
fn plan(reload: &str) -> Value {
    json!({"name": "undo", "hosts": "odoo", "defaults": {"n": "3"}, "steps": [
        {"id": "conf", "ini": {"file": "{{ app_conf }}", "set": {"workers": "{{ n }}"}}},
        {"id": "reload", "command": reload, "if_changed": ["conf"]},
    ]})
}

fn run_on(host: &LocalHost, today: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["-i", "production"]);
    host.project
        .run_with_env(&all, &[("WSDEPLOY_TODAY", today)])
}

/// Runs `args` and returns the one run id it added to this machine's journal.
fn new_run(host: &LocalHost, today: &str, args: &[&str]) -> String {
    let before: BTreeSet<String> = host.runs();
    let run = run_on(host, today, args);
    run.code(0);
    let added: Vec<String> = host.runs().difference(&before).cloned().collect();
    assert_eq!(added.len(), 1, "{added:?}\n{}", run.stdout);
    added[0].clone()
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

/// The host with `app_conf` (a copy of odoo.conf) and `reload_log`.
fn host_with_conf() -> (LocalHost, std::path::PathBuf, std::path::PathBuf) {
    let mut host = LocalHost::new("host");
    let conf = host.root.join("etc/app.conf");
    std::fs::copy(&host.odoo_conf, &conf).expect("copy");
    let log = host.root.join("reload.log");
    host.var("app_conf", json!(conf.display().to_string()));
    host.var("reload_log", json!(log.display().to_string()));
    (host, conf, log)
}

#[test]
fn rollback_run_undoes_exactly_one_run_and_refuses_under_a_later_one() {
    let (mut host, conf, log) = host_with_conf();
    let _guard = host.guard();
    host.plan_json(&plan("echo reload >> {{ reload_log | quote }}"));
    let day = "2032-04-05";
    let original = read(&conf);
    let first = new_run(&host, day, &["apply"]);
    let between = read(&conf);
    host.var("n", json!("5"));
    let second = new_run(&host, day, &["apply"]);
    let after = read(&conf);
    assert!(original != between && between != after);
    assert_eq!(read(&log), "reload\nreload\n");

    let refused = run_on(&host, day, &["rollback", "--run", &first]);
    refused
        .code(1)
        .stdout_has(&format!("run {second}"))
        .stdout_has(&format!("changed {} after run {first}", conf.display()))
        .stdout_has("nothing restored, host untouched");
    assert_eq!(read(&conf), after);

    // The second run alone: the state between the two, reloaded with its command.
    let undo = new_run(&host, day, &["rollback", "--run", &second]);
    assert_eq!(read(&conf), between);
    assert_eq!(read(&log), "reload\nreload\nreload\n");
    assert_ne!(undo, second);

    // A file changed since by hand is not the run's to undo.
    std::fs::write(&conf, "[options]\nby_hand = 1\n").expect("write");
    let later = new_run(&host, day, &["apply"]);
    std::fs::write(&conf, "[options]\nby_hand = 2\n").expect("write");
    run_on(&host, day, &["rollback", "--run", &later])
        .code(1)
        .stdout_has(&format!(
            "{} no longer holds the bytes run {later} wrote",
            conf.display()
        ));
    assert_eq!(read(&conf), "[options]\nby_hand = 2\n");
    // The refused rollbacks are recorded as failed (nothing written), with their reason.
    assert_eq!(
        recorded(&host.project),
        [
            "apply exit=0 local-1=changed",
            "apply exit=0 local-1=changed",
            "rollback exit=1 local-1=failed",
            "rollback exit=0 local-1=changed",
            "apply exit=0 local-1=changed",
            "rollback exit=1 local-1=failed"
        ]
    );
    let refused = &recorded_runs(&host.project)[2]["hosts"][0]["error"];
    assert!(
        refused.to_string().contains(&format!("run {second}")),
        "the refusal names the later run: {refused}"
    );
}

#[test]
fn rollback_date_restores_a_file_the_plan_no_longer_names() {
    let (mut host, conf, _log) = host_with_conf();
    let _guard = host.guard();
    host.plan_json(&plan("true"));
    let day = "2032-04-06";
    let original = read(&conf);
    run_on(&host, day, &["apply"]).code(0);
    host.var("n", json!("7"));
    run_on(&host, day, &["apply"]).code(0);
    assert_ne!(read(&conf), original);
    // The inventory now points the play at another file.
    let other = host.root.join("etc/other.conf");
    std::fs::copy(&host.odoo_conf, &other).expect("copy");
    let other_before = read(&other);
    host.var("app_conf", json!(other.display().to_string()));
    run_on(&host, day, &["rollback", "--date", day])
        .code(0)
        .stdout_has(&format!("{} <- ", conf.display()));
    assert_eq!(
        read(&conf),
        original,
        "the state before the day's first run"
    );
    assert_eq!(read(&other), other_before);
}

#[test]
fn backups_and_rollback_need_no_vault_password() {
    let (host, conf, log) = host_with_conf();
    let _guard = host.guard();
    host.project
        .file("inventories/production/group_vars/odoo.yml", VAULTED);
    host.project.file("pw", "pw\n");
    let pw = host.project.path().join("pw").display().to_string();
    let vault = ["--vault-password-file", pw.as_str()];
    host.plan_json(&plan(
        "echo {{ admin_passwd | quote }} >> {{ reload_log | quote }}",
    ));
    let day = "2032-04-07";
    let original = read(&conf);
    let mut apply = vec!["apply"];
    apply.extend(vault);
    let run = new_run(&host, day, &apply);
    assert_eq!(read(&log), "s3cret-admin\n");

    let listed = run_on(&host, day, &["backups"]);
    listed.code(0).stdout_has(&format!("run {run}"));
    assert!(!listed.stdout.contains("s3cret-admin"), "{}", listed.stdout);

    // The run's reload holds the secret: without the vault it cannot be rerun.
    let refused = run_on(&host, day, &["rollback", "--run", &run]);
    refused
        .code(1)
        .stdout_has("with a secret masked: give the vault password")
        .stderr_has("the plan cannot be rendered");
    assert_ne!(read(&conf), original);
    let mut rollback = vec!["rollback", "--run", run.as_str()];
    rollback.extend(vault);
    run_on(&host, day, &rollback).code(0);
    assert_eq!(read(&conf), original);
    assert_eq!(read(&log), "s3cret-admin\ns3cret-admin\n");
}
