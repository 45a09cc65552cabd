//! `run_host` against a scripted host, one row per path through the phases: the exact
//! sequence of host operations, the outcome, and what the error says.

use super::scripted_host::{Op, frames, gather_reply, holder_ran, ops, transport, well_behaved};
use super::{CONF, conf_plan, job, options};
use crate::host::EXIT_CHANGED_SINCE_READ;
use crate::host::markers::{BUSY, CHANGED, JOURNALED, NO_JOURNAL};
use crate::report::event::Events;
use crate::run::{HostReport, Mode, Outcome};
use crate::transport::scripted::{Reply, ScriptedHost};

const OLD: &str = "port = 80\n";
const NEW: &str = "port = 8080\n";
const BACKUP: &str = "/etc/app/app.conf.backup-2026-12-06";

/// One path through the phases.
struct Case {
    name: &'static str,
    /// The plan (`None`: `conf_plan(NEW)`).
    plan: Option<String>,
    mode: Mode,
    /// What the host has at [`CONF`] (`None`: no such file).
    on_host: Option<&'static str>,
    /// Answers that differ from a well-behaved host's: (pattern, reply, once).
    answers: Vec<(&'static str, Reply, bool)>,
    ops: Vec<Op>,
    outcome: Outcome,
    /// Words the error must contain (`None`: no error).
    error: Option<String>,
}

fn check(s: &str) -> Op {
    Op::Check(s.to_owned())
}

fn command(s: &str) -> Op {
    Op::Command(s.to_owned())
}

fn state(s: &str) -> Op {
    Op::State(s.to_owned())
}

/// Runs `case` on a fresh scripted host; returns its report and the host.
async fn run(case: &Case) -> (HostReport, ScriptedHost) {
    let content = case.on_host.map(str::as_bytes);
    let gather = gather_reply(&[(CONF, content)], &[], &[]);
    let mut host = ScriptedHost::new();
    for (pattern, reply, once) in &case.answers {
        host = if *once {
            host.once(pattern, reply.clone())
        } else {
            host.on(pattern, reply.clone())
        };
    }
    let host = well_behaved(host, gather, BACKUP);
    let job = job(case.plan.as_deref().unwrap_or(&conf_plan(NEW)));
    let report = crate::engine::run_host(
        &transport(&host),
        &job,
        &options(case.mode),
        &Events::default(),
    )
    .await;
    (report, host)
}

/// The operations of a change up to and including the plan's reload.
fn up_to_reload() -> Vec<Op> {
    vec![
        Op::Gather,
        Op::Lock,
        check("check-health"),
        Op::Journal,
        command("reload-app"),
    ]
}

/// After a failure past the journal: restore, re-run the reload, the health check.
fn rolled_back(mut ops: Vec<Op>) -> Vec<Op> {
    ops.extend([
        Op::Restore,
        check("reload-app"),
        check("check-health"),
        state("rolled_back"),
        Op::Unlock,
    ]);
    ops
}

fn untouched_cases() -> Vec<Case> {
    vec![
        Case {
            name: "in sync: one gather, nothing else",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(NEW),
            answers: vec![],
            ops: vec![Op::Gather],
            outcome: Outcome::InSync,
            error: None,
        },
        Case {
            name: "dry run with a change: the gather and the read-only preflight",
            plan: None,
            mode: Mode::DryRun,
            on_host: Some(OLD),
            answers: vec![],
            ops: vec![Op::Gather, check("check-health")],
            outcome: Outcome::WouldChange,
            error: None,
        },
        Case {
            name: "verify: the checks only",
            plan: None,
            mode: Mode::Verify,
            on_host: Some(OLD),
            answers: vec![],
            ops: vec![check("check-health")],
            outcome: Outcome::InSync,
            error: None,
        },
        Case {
            name: "another run holds the lock: nothing after it",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![("flock", Reply::ok(format!("{BUSY} run x by ops\n")), false)],
            ops: vec![Op::Gather, Op::Lock, Op::Unlock],
            outcome: Outcome::Failed,
            error: Some("another wsdeploy run holds the lock on this host: run x by ops".into()),
        },
        Case {
            name: "failing preflight: lock released, no journal",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![("check-health", Reply::exit(1, "", "unhealthy\n"), false)],
            ops: vec![Op::Gather, Op::Lock, check("check-health"), Op::Unlock],
            outcome: Outcome::Failed,
            error: Some("pre-flight check failed before any change, so nothing was touched".into()),
        },
    ]
}

fn journal_cases() -> Vec<Case> {
    let changed = format!("{CHANGED} {CONF}\n");
    let exit_changed = u32::try_from(EXIT_CHANGED_SINCE_READ).unwrap_or_default();
    vec![
        Case {
            name: "changed since read: the journal refuses, nothing touched",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![(JOURNALED, Reply::exit(exit_changed, "", changed), false)],
            ops: vec![
                Op::Gather,
                Op::Lock,
                check("check-health"),
                Op::Journal,
                Op::Unlock,
            ],
            outcome: Outcome::Failed,
            error: Some("a file changed on the host since it was read".into()),
        },
        Case {
            name: "connection lost in the journal, which never completed: untouched",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![
                (JOURNALED, Reply::lost("connection reset"), false),
                (NO_JOURNAL, Reply::ok(format!("{NO_JOURNAL}\n")), false),
            ],
            ops: vec![
                Op::Gather,
                Op::Lock,
                check("check-health"),
                Op::Journal,
                Op::Restore,
                Op::Unlock,
            ],
            outcome: Outcome::Failed,
            error: Some("the connection failed while writing the journal and files".into()),
        },
    ]
}

fn change_cases() -> Vec<Case> {
    let mut committed = up_to_reload();
    committed.extend([state("committed"), Op::Unlock]);
    let mut commit_failed = up_to_reload();
    commit_failed.push(state("committed"));
    vec![
        Case {
            name: "changed file: lock, preflight, journal with the write, reload, commit",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![],
            ops: committed,
            outcome: Outcome::Changed,
            error: None,
        },
        Case {
            name: "failing reload: restore, reload again, health check, rolled back",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![(
                "wsd_r='reload-app'",
                Reply::ok(frames(&[(1, "", "bad config\n")])),
                false,
            )],
            ops: rolled_back(up_to_reload()),
            outcome: Outcome::RolledBack,
            error: Some("`reload-app` ended with exit 1:\nbad config".into()),
        },
        Case {
            name: "commit cannot be marked: rolled back",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![(
                "'committed'",
                Reply::ok(holder_ran(1, "read-only fs\n")),
                false,
            )],
            ops: rolled_back(commit_failed),
            outcome: Outcome::RolledBack,
            error: Some("committed failed (exit 1: read-only fs)".into()),
        },
    ]
}

fn failed_rollback_cases() -> Vec<Case> {
    let mut ops = up_to_reload();
    ops.extend([
        Op::Restore,
        check("reload-app"),
        state("rollback_failed"),
        Op::Unlock,
    ]);
    vec![Case {
        name: "reload fails and the restore fails: NEEDS ATTENTION",
        plan: None,
        mode: Mode::Apply,
        on_host: Some(OLD),
        answers: vec![
            (
                "wsd_r='reload-app'",
                Reply::ok(frames(&[(1, "", "bad config\n")])),
                false,
            ),
            (NO_JOURNAL, Reply::exit(1, "", "disk full\n"), false),
        ],
        ops,
        outcome: Outcome::RollbackFailed,
        error: Some("`reload-app` ended with exit 1".into()),
    }]
}

/// `conf_plan(NEW)` whose reload also runs when `configured` fails (`unless`).
fn unless_plan() -> String {
    conf_plan(NEW).replace(
        "if_changed: [conf]\n",
        "if_changed: [conf]\n    unless: configured\n",
    )
}

/// `conf_plan(NEW)` with a configuration test (`test-conf`) right before the reload.
fn tested_plan() -> String {
    conf_plan(NEW).replace(
        "  - command: reload-app\n",
        "  - command: test-conf\n    if_changed: [conf]\n  - command: reload-app\n",
    )
}

/// A test and a reload with no check between them: one exec; the test fails, the
/// host runs nothing after it, and the rollback repeats the test but never the reload.
fn folded_cases() -> Vec<Case> {
    let mut both = up_to_reload();
    both[4] = command("test-conf; reload-app");
    let mut failed = both.clone();
    failed.extend([
        Op::Restore,
        check("test-conf"),
        check("check-health"),
        state("rolled_back"),
        Op::Unlock,
    ]);
    both.extend([state("committed"), Op::Unlock]);
    vec![
        Case {
            name: "a test and the reload after it: one exec",
            plan: Some(tested_plan()),
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![],
            ops: both,
            outcome: Outcome::Changed,
            error: None,
        },
        Case {
            name: "the test fails in the folded exec: rolled back, the reload never repeated",
            plan: Some(tested_plan()),
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![(
                "wsd_r='test-conf'",
                Reply::ok(frames(&[(1, "", "emerg: unexpected }\n")])),
                false,
            )],
            ops: failed.clone(),
            outcome: Outcome::RolledBack,
            error: Some("`test-conf` ended with exit 1:\nemerg: unexpected }".into()),
        },
        Case {
            name: "sudo refuses the folded exec: rolled back, with sudo's hint",
            plan: Some(tested_plan()),
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![(
                "wsd_r='test-conf'",
                Reply::exit(1, "", "sudo: a password is required\n"),
                false,
            )],
            ops: failed,
            outcome: Outcome::RolledBack,
            error: Some(
                "sudo: a password is required\nhint: sudo wants a password here: pass -K".into(),
            ),
        },
    ]
}

fn more_cases() -> Vec<Case> {
    let mut forced = vec![
        Op::Gather,
        check("configured"),
        Op::Lock,
        check("check-health"),
        Op::Journal,
        command("reload-app"),
    ];
    forced.extend([state("committed"), Op::Unlock]);
    let mut first_writes = up_to_reload();
    first_writes.truncate(4);
    first_writes.extend([
        Op::Restore,
        check("check-health"),
        state("rolled_back"),
        Op::Unlock,
    ]);
    let mut wrote_nothing = format!("{JOURNALED}\n");
    wrote_nothing.push_str("no space left on device\n");
    vec![
        Case {
            name: "in sync, but an `unless` check fails: the command runs in a transaction",
            plan: Some(unless_plan()),
            mode: Mode::Apply,
            on_host: Some(NEW),
            answers: vec![("configured", Reply::exit(1, "", "not yet\n"), false)],
            ops: forced,
            outcome: Outcome::Changed,
            error: None,
        },
        Case {
            name: "in sync and the `unless` check passes: nothing runs",
            plan: Some(unless_plan()),
            mode: Mode::Apply,
            on_host: Some(NEW),
            answers: vec![],
            ops: vec![Op::Gather, check("configured")],
            outcome: Outcome::InSync,
            error: None,
        },
        Case {
            name: "journal complete, first write failed: restored, no reload to repeat",
            plan: None,
            mode: Mode::Apply,
            on_host: Some(OLD),
            answers: vec![(
                JOURNALED,
                Reply::exit(1, wrote_nothing, "disk full\n"),
                false,
            )],
            ops: first_writes,
            outcome: Outcome::RolledBack,
            error: Some("writing files failed (exit 1)".into()),
        },
    ]
}

#[tokio::test]
async fn every_path_through_the_phases_makes_exactly_its_host_operations() {
    let cases: Vec<Case> = [
        untouched_cases(),
        journal_cases(),
        change_cases(),
        folded_cases(),
        failed_rollback_cases(),
        more_cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for case in &cases {
        let (report, host) = run(case).await;
        let name = case.name;
        assert_eq!(ops(&host), case.ops, "{name}: host operations");
        assert_eq!(report.outcome, case.outcome, "{name}: outcome ({report:?})");
        let error = report.error.as_ref().map(|e| e.message.clone());
        match (&case.error, &error) {
            (None, None) => {}
            (Some(want), Some(got)) if got.contains(want.as_str()) => {}
            _ => panic!(
                "{name}: error {error:?}, expected one containing {:?}",
                case.error
            ),
        }
    }
}
