//! An apply that finds an interrupted run in the host's journal: the lock first, the
//! journal read back, the pre-images restored, only the current plan's reload repeated,
//! the health check, the state recorded, then a fresh gather. A journal that does not
//! hold together, or names commands the plan does not have, never makes the host run
//! them.

use base64::Engine as _;

use super::scripted_host::{Op, gather_reply, ops, transport, well_behaved};
use super::{CONF, conf_plan, job, options};
use crate::digest::sha256_hex;
use crate::host::journal::{JournalCommand, JournalFile, Manifest};
use crate::host::markers::GATHER;
use crate::report::event::Events;
use crate::run::{HostReport, Mode, Outcome};
use crate::transport::scripted::{Reply, ScriptedHost};

const RUN: &str = "20261206T010203Z-abcdef";
const NEW: &str = "port = 8080\n";

/// The interrupted run's manifest: `CONF` replaced, and `commands` (index, text).
fn manifest(run_id: &str, commands: &[(usize, &str)]) -> Manifest {
    Manifest {
        run_id: crate::host::RunId::parse(run_id).expect("a run id"),
        plan: "test".to_owned(),
        operator: "tester".to_owned(),
        started: "2026-12-06T01:02:03Z".to_owned(),
        host: super::HOST.to_owned(),
        kind: "apply".to_owned(),
        files: vec![JournalFile {
            index: 0,
            path: CONF.to_owned(),
            existed: true,
            sha256: Some(sha256_hex(b"port = 80\n")),
            backup: None,
            mode: Some(0o644),
            written: vec![sha256_hex(NEW.as_bytes())],
        }],
        commands: commands
            .iter()
            .map(|&(index, run)| JournalCommand {
                index,
                run: run.to_owned(),
                rerun_on_rollback: true,
                masked: false,
            })
            .collect(),
    }
}

/// What `journal::read_journal_script` prints for an `in_progress` run.
fn read_back(m: &Manifest, ran: &str) -> Reply {
    let json = serde_json::to_vec(m).unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    Reply::ok(format!("S in_progress\nM {encoded}\nR {ran}\n"))
}

/// An apply on a host whose first gather finds `RUN` interrupted and whose journal reads
/// back as `journal`; the second gather finds the file as the plan wants it.
async fn recover(journal: Reply) -> (HostReport, ScriptedHost) {
    let interrupted = gather_reply(&[(CONF, Some(b"port = 8080\n"))], &[RUN], &[]);
    let in_sync = gather_reply(&[(CONF, Some(NEW.as_bytes()))], &[], &[]);
    let host = ScriptedHost::new()
        .once(GATHER, Reply::ok(interrupted))
        .on("base64 -w0 <", journal);
    let host = well_behaved(host, in_sync, "");
    let report = crate::engine::run_host(
        &transport(&host),
        &job(&conf_plan(NEW)),
        &options(Mode::Apply),
        &Events::default(),
    )
    .await;
    (report, host)
}

fn check(s: &str) -> Op {
    Op::Check(s.to_owned())
}

#[tokio::test]
async fn an_interrupted_run_is_rolled_back_under_the_lock_before_anything_else() {
    let (report, host) = recover(read_back(&manifest(RUN, &[(1, "reload-app")]), "1")).await;
    let expected = [
        Op::Gather,
        Op::Lock,
        Op::ReadJournal,
        Op::Restore,
        check("reload-app"),
        check("check-health"),
        Op::State("rolled_back".to_owned()),
        Op::Gather,
        Op::Unlock,
    ];
    assert_eq!(ops(&host), expected);
    assert_eq!(report.outcome, Outcome::InSync, "{:?}", report.error);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with(&format!("recovered interrupted run {RUN}"))),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn a_journal_command_the_plan_does_not_have_is_never_run() {
    let (report, host) = recover(read_back(&manifest(RUN, &[(1, "rm -rf /srv")]), "1")).await;
    let expected = [
        Op::Gather,
        Op::Lock,
        Op::ReadJournal,
        Op::Restore,
        check("check-health"),
        Op::State("rolled_back".to_owned()),
        Op::Gather,
        Op::Unlock,
    ];
    assert_eq!(ops(&host), expected);
    assert!(
        report.notes.iter().any(
            |n| n.contains("not repeating `rm -rf /srv`: the current plan has no such command")
        ),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn a_manifest_of_another_run_restores_nothing_and_needs_attention() {
    let other = manifest("20261205T000000Z-123456", &[]);
    let (report, host) = recover(read_back(&other, "")).await;
    assert_eq!(
        ops(&host),
        [Op::Gather, Op::Lock, Op::ReadJournal, Op::Unlock]
    );
    assert_eq!(report.outcome, Outcome::RollbackFailed);
    let message = report.error.map(|e| e.message).unwrap_or_default();
    assert!(
        message.contains(&format!(
            "interrupted run {RUN} has an unreadable or inconsistent manifest"
        )),
        "{message}"
    );
}
