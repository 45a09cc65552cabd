//! `rollback --date` and `backups`.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn rollback(project: &Path, r: &RollbackArgs) -> Result<u8, BadInput> {
    let date = chrono::NaiveDate::parse_from_str(&r.date, "%Y-%m-%d").map_err(|_| {
        BadInput(format!(
            "--date `{}`: expected YYYY-MM-DD (the day whose .backup-YYYY-MM-DD files to restore)",
            r.date
        ))
    })?;
    let today = today()?;
    if date > today {
        return Err(BadInput(format!(
            "--date `{}` is in the future (today is {today}): there are no backups of that day; `wsdeploy backups` lists the days that have some",
            r.date
        )));
    }
    let prepared = prepare(project, &r.target, None, None)?;
    let mode = if r.dry_run { Mode::DryRun } else { Mode::Apply };
    Ok(run_fleet(
        prepared,
        &r.target,
        mode,
        "rollback",
        false,
        Task::Rollback(date),
        r.diff,
    )
    .await?
    .0)
}

pub(super) async fn backups(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    Ok(run_fleet(
        prepared,
        t,
        Mode::DryRun,
        "backups",
        false,
        Task::Backups,
        false,
    )
    .await?
    .0)
}
