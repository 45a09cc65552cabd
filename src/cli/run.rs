//! Running a prepared fleet and reporting it (progress, JSON events, summary, exit code),
//! and recording it in the run history.

use super::prepare::{Prepared, today};
use super::run_kind::RunKind;
use super::{BadInput, TargetArgs};
use crate::exit;
use crate::fleet;
use crate::host::{RunId, journal};
use crate::report;
use crate::report::event::Events;
use crate::report::out::outln;
use crate::report::progress::{self, Style};
use crate::report::summary::{self, DetailsStyle};
use crate::run::{Mode, RunOptions, Task};

/// A fleet run as a command asks for it.
pub(super) struct FleetRun {
    pub(super) kind: RunKind,
    /// `--diff`: show each file's diff even under `-q`.
    pub(super) diff: bool,
}

/// Runs the fleet and reports it; the exit code.
pub(super) async fn run_and_report(
    prepared: Prepared,
    t: &TargetArgs,
    run: FleetRun,
) -> Result<u8, BadInput> {
    Ok(run_fleet(prepared, t, run).await?.0)
}

/// Runs the fleet and reports it; the exit code and every host's report.
pub(super) async fn run_fleet(
    prepared: Prepared,
    t: &TargetArgs,
    run: FleetRun,
) -> Result<(u8, Vec<crate::run::HostReport>), BadInput> {
    let kind = &run.kind;
    let show_diffs = run.diff || !report::verbosity::quiet();
    let started = chrono::Utc::now();
    let opts = RunOptions {
        run_id: RunId::new(),
        plan_name: prepared.plan_name.clone(),
        operator: journal::operator(),
        today: today()?,
        mode: kind.mode(),
        kind: kind.word().to_owned(),
        task: kind.task(),
    };
    let tty = report::stdout_is_tty();
    let details_style = |diffs| DetailsStyle { color: tty, diffs };
    let quiet = report::verbosity::quiet();
    let style = if t.json {
        Style::Json
    } else if quiet {
        Style::Quiet
    } else if tty && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        // Spinners and the lines printed above them go to stderr: a redirected stderr
        // gets plain lines instead (indicatif draws nothing to a file).
        Style::Bars
    } else {
        Style::Lines
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(progress::show(rx, style));
    let events = Events::to(tx);
    // Ctrl-C / SIGTERM from here on stop the run cleanly (`interrupt`).
    let signals = crate::interrupt::listen()
        .map_err(|e| BadInput::from(format!("cannot install the Ctrl-C handler: {e}")))?;
    let (history, spool, plan_files) = (prepared.history, prepared.spool, prepared.plan_files);
    let reports = fleet::run(prepared.hosts, &prepared.fleet, &opts, &events).await;
    drop(events);
    let _ = printer.await;
    let code = if crate::interrupt::requested() {
        exit::INTERRUPTED
    } else {
        exit::for_reports(&reports, kind.is_drift())
    };
    if t.json {
        for r in &reports {
            let mut value = serde_json::to_value(r).unwrap_or_default();
            crate::mask::mask_json(&mut value, &r.secrets);
            outln!(
                "{}",
                serde_json::json!({"event": "host_report", "report": value})
            );
        }
        outln!(
            "{}",
            serde_json::json!({
                "event": "summary",
                "schema_version": report::JSON_SCHEMA_VERSION,
                "run_id": opts.run_id,
                "kind": kind.word(),
                "hosts": reports.len(),
                "counts": summary::counts_json(&reports),
                "exit": code,
                "interrupted": crate::interrupt::requested(),
            })
        );
    } else if quiet {
        let failed: Vec<_> = reports
            .iter()
            .filter(|r| r.error.is_some())
            .cloned()
            .collect();
        report::out::stdout(&summary::details(&failed, details_style(show_diffs)));
        if show_diffs {
            let changes: Vec<_> = reports
                .iter()
                .filter(|r| r.error.is_none())
                .cloned()
                .collect();
            report::out::stdout(&summary::details(&changes, details_style(true)));
        }
        outln!("{}", summary::counts(&reports));
    } else {
        report::out::stdout(&summary::details(&reports, details_style(true)));
        report::out::stdout(&summary::table(&reports, tty));
    }
    signals.abort();
    if opts.task != Task::Backups {
        let meta = crate::history::RunMeta {
            id: opts.run_id.to_string(),
            kind: kind.history_word().to_owned(),
            dry_run: kind.mode() != Mode::Apply,
            operator: opts.operator.clone(),
            started,
            command: command_line(),
            plan_files,
        };
        let record = crate::history::RunRecord::new(meta, &reports, code);
        crate::history::record(&history, &spool, &record);
    }
    Ok((code, reports))
}

/// This process's command line as the history records it (secret-named values masked).
fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    args.insert(0, "wsdeploy".to_owned());
    crate::history::masked_command_line(&args)
}
