//! `rollback --date`, `rollback --run` and `backups`: the hosts are located from the
//! plays' `hosts:` patterns; the plan is rendered only for a rollback, and only when it
//! can be (the vault password given): it adds the preflight checks and the secret-holding
//! commands the runs' journals record masked.

use std::path::Path;

use super::prepare::{locate, prepare, today};
use super::run::{FleetRun, run_and_report};
use super::run_kind::RunKind;
use super::{BadInput, RollbackArgs, TargetArgs};
use crate::host::RunId;
use crate::report::out::errln;
use crate::run::Undo;

pub(super) async fn rollback(project: &Path, r: &RollbackArgs) -> Result<u8, BadInput> {
    let undo = match (&r.date, &r.run) {
        (_, Some(id)) => Undo::Run(RunId::parse(id).ok_or_else(|| {
            BadInput::from(format!(
                "--run `{id}`: not a run id (YYYYMMDDTHHMMSSZ-xxxxxx, as `wsdeploy backups` lists them)"
            ))
        })?),
        (Some(date), None) => {
            let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                BadInput::from(format!(
                    "--date `{date}`: expected YYYY-MM-DD (the day whose runs to undo)"
                ))
            })?;
            let today = today()?;
            if day > today {
                return Err(BadInput::from(format!(
                    "--date `{date}` is in the future (today is {today}): there are no backups of that day; `wsdeploy backups` lists the days that have some"
                )));
            }
            Undo::Date(day)
        }
        (None, None) => {
            return Err(BadInput::from(
                "rollback: pass --date YYYY-MM-DD or --run RUN_ID".to_owned(),
            ));
        }
    };
    let prepared = match prepare(project, &r.target, None, None) {
        Ok(prepared) => prepared,
        Err(why) => {
            let located = locate(project, &r.target)?;
            errln!(
                "warning: the plan cannot be rendered ({why}): the rollback reruns the reload/restart commands its runs' journals recorded, without the plan's preflight checks (a command recorded with a secret masked needs the rendered plan)"
            );
            located
        }
    };
    let run = FleetRun {
        kind: RunKind::Rollback {
            undo,
            dry_run: r.dry_run,
        },
        diff: r.diff,
    };
    run_and_report(prepared, &r.target, run).await
}

pub(super) async fn backups(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = locate(project, t)?;
    let run = FleetRun {
        kind: RunKind::Backups,
        diff: false,
    };
    run_and_report(prepared, t, run).await
}
