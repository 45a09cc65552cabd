//! Every shell script `src/host` generates, for fixed inputs, checked in under
//! `tests/snapshots/*.sh`: a change to what wsdeploy sends to hosts shows in review as a
//! diff of these files (`WSDEPLOY_BLESS=1 cargo test --test testsuite host_scripts::`
//! rewrites them). CI runs shellcheck over them (`.ci/run`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use wsdeploy::host::dump_cache::{self, DumpCache};
use wsdeploy::host::journal::{self, JournalFile, JournalState};
use wsdeploy::host::journal_entry::{self, PlannedWrite};
use wsdeploy::host::write::FileContent;
use wsdeploy::host::{
    Become, RunId, backups, gather, lock, plan_command, read, restore, script_runner, sequence,
    wrap_command, write,
};

const RUN_ID: &str = "20261123T000000Z-00ab12";

fn run_id() -> RunId {
    RunId::parse(RUN_ID).expect("a run id")
}

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Two files (one with a quote and a space in its name) and one dump.
fn files() -> Vec<String> {
    vec![
        "/etc/nginx/sites-enabled/odoo.conf".to_owned(),
        "/opt/bench/sites/it's common.json".to_owned(),
    ]
}

fn dumps() -> Vec<String> {
    vec!["nginx -T".to_owned()]
}

fn planned() -> Vec<PlannedWrite> {
    vec![
        PlannedWrite {
            index: 0,
            path: "/etc/nginx/sites-available/odoo.conf".into(),
            expected_sha256: Some(wsdeploy::digest::sha256_hex(b"server {}\n")),
            backup: Some(
                "/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf".into(),
            ),
            via: Some("/etc/nginx/sites-enabled/odoo.conf".into()),
            mode: Some(0o644),
        },
        PlannedWrite {
            index: 1,
            path: "/opt/bench/sites/it's common.json".into(),
            expected_sha256: None,
            backup: None,
            via: None,
            mode: None,
        },
    ]
}

fn contents() -> Vec<FileContent<'static>> {
    vec![
        FileContent {
            path: "/etc/nginx/sites-available/odoo.conf",
            content: b"server { listen 80; }\n",
            new_mode: 0o644,
            expected: Some(wsdeploy::digest::sha256_hex(b"server {}\n")),
        },
        FileContent {
            path: "/opt/bench/sites/it's common.json",
            content: b"{\"socketio_port\": 9000}\n",
            new_mode: 0o640,
            expected: None,
        },
    ]
}

fn journal_files() -> Vec<JournalFile> {
    vec![
        JournalFile {
            index: 0,
            path: "/etc/nginx/sites-available/odoo.conf".into(),
            existed: true,
            sha256: Some(wsdeploy::digest::sha256_hex(b"server {}\n")),
            backup: Some("/etc/nginx/sites-available/odoo.conf.backup-2026-11-23".into()),
            mode: Some(0o644),
            written: vec![wsdeploy::digest::sha256_hex(b"server { listen 80; }\n")],
        },
        JournalFile {
            index: 1,
            path: "/opt/bench/sites/it's common.json".into(),
            existed: false,
            sha256: None,
            backup: None,
            mode: None,
            written: vec![wsdeploy::digest::sha256_hex(b"{\"socketio_port\": 9000}\n")],
        },
    ]
}

/// Every generated script: its snapshot's name and its text.
fn generated() -> Vec<(&'static str, String)> {
    let sudo = Become {
        user: "root".into(),
        password: true,
    };
    let manifest = br#"{"run_id":"20261123T000000Z-00ab12"}"#;
    let bound = Duration::from_secs(30);
    vec![
        (
            "gather",
            gather::gather_script(&files(), &dumps(), DumpCache::Off),
        ),
        (
            "gather_stored_dump",
            gather::gather_script(&files(), &dumps(), DumpCache::Read),
        ),
        (
            "gather_no_files",
            gather::gather_script(&[], &[], DumpCache::Off),
        ),
        ("refresh_dumps", dump_cache::refresh_dumps_script(&dumps())),
        (
            "journal",
            journal_entry::journal_script(&run_id(), manifest, &planned()),
        ),
        (
            "journal_then_write",
            journal_entry::journal_then_write_script(&run_id(), manifest, &planned(), &contents()),
        ),
        ("write", write::write_script(&run_id(), &contents())),
        (
            "sequence",
            sequence::sequence_script(
                &run_id(),
                &[
                    sequence::Part::Command(sequence::SequencedCommand {
                        index: 3,
                        run: "nginx -t",
                        timeout: Duration::from_secs(30),
                        expect_exit: &[0],
                    }),
                    sequence::Part::Command(sequence::SequencedCommand {
                        index: 4,
                        run: "nginx -s reload",
                        timeout: Duration::from_secs(30),
                        expect_exit: &[0, 2],
                    }),
                    sequence::Part::Write(write::write_script(&run_id(), &contents())),
                    sequence::Part::Command(sequence::SequencedCommand {
                        index: 6,
                        run: "systemctl restart 'odoo'",
                        timeout: Duration::from_secs(60),
                        expect_exit: &[0],
                    }),
                ],
            ),
        ),
        (
            "set_state",
            journal::set_state_script(&run_id(), JournalState::RolledBack),
        ),
        ("commit", journal::commit_script(&run_id(), &dumps())),
        ("read_journal", journal::read_journal_script(&run_id())),
        (
            "restore",
            restore::restore_script(&run_id(), &journal_files()),
        ),
        (
            "read_facts",
            read::read_all_script(&[
                read::ReadSource::File(&files()[1]),
                read::ReadSource::Cmdline("odoo"),
            ]),
        ),
        (
            "read_facts_then_gather",
            read::read_all_then_script(
                &[
                    read::ReadSource::File(&files()[1]),
                    read::ReadSource::Cmdline("odoo"),
                ],
                &gather::gather_script(&files(), &dumps(), DumpCache::Read),
            ),
        ),
        ("list_backups", backups::list_backups_script(&files())),
        ("dated_backups", backups::dated_backups_script(&files())),
        ("lock", lock::lock_command("ops@control", None)),
        ("lock_sudo", lock::lock_command("ops@control", Some(&sudo))),
        ("script_runner_sudo", script_runner(Some(&sudo), bound)),
        (
            "wrap_command_sudo",
            wrap_command("echo 'hi'", Some(&sudo), bound),
        ),
        (
            "plan_command_sudo",
            plan_command("nginx -s reload", Some(&sudo), bound).line,
        ),
    ]
}

#[test]
fn the_generated_host_scripts_are_the_checked_in_snapshots() {
    let bless = std::env::var_os("WSDEPLOY_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(snapshots()).expect("create tests/snapshots");
    }
    let mut differ = Vec::new();
    let scripts = generated();
    for (name, text) in &scripts {
        let path = snapshots().join(format!("{name}.sh"));
        let shown = std::fs::read_to_string(&path).unwrap_or_default();
        if shown == *text {
            continue;
        }
        if bless {
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        } else {
            differ.push(path.display().to_string());
        }
    }
    // A snapshot no script makes any more is stale.
    let names: Vec<String> = scripts.iter().map(|(n, _)| format!("{n}.sh")).collect();
    for entry in std::fs::read_dir(snapshots()).expect("tests/snapshots") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".sh") && !names.contains(&name) {
            if bless {
                std::fs::remove_file(snapshots().join(&name)).expect("remove stale snapshot");
            } else {
                differ.push(format!("{name} (no script makes it)"));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "generated host scripts differ from their snapshots (review the change, then rewrite them with WSDEPLOY_BLESS=1 cargo test --test testsuite host_scripts::): {differ:?}"
    );
}
