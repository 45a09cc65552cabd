//! The PostgreSQL store (`history = "postgres://…"`), for teams with several controllers
//! or CI runners: the same schema and migrations as SQLite (under an advisory lock, so
//! controllers migrating at once take turns), the same rows. The client is synchronous
//! and runs on a thread of its own, outside the async runtime of the run.

use std::time::Duration;

use postgres::{Client, NoTls};

use super::schema::{MIGRATIONS, check_version};
use super::{HistoryError, RunRecord, Store};
use crate::run::HostReport;

/// The advisory lock key migrations hold (any fixed number; "wsdh").
const MIGRATION_LOCK: i64 = 0x7773_6468;

/// A PostgreSQL history.
pub struct PostgresStore {
    /// Always `Some` but while dropping.
    client: Option<Client>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The client's own runtime must not be dropped on a thread of the run's runtime.
        if let Some(client) = self.client.take() {
            let _ = off_runtime(move || {
                drop(client);
                Ok(())
            });
        }
    }
}

/// Runs `work` on a thread of its own: the synchronous client must not run on a thread of
/// the async runtime.
fn off_runtime<T: Send>(
    work: impl FnOnce() -> Result<T, HistoryError> + Send,
) -> Result<T, HistoryError> {
    std::thread::scope(|scope| {
        scope
            .spawn(work)
            .join()
            .unwrap_or(Err(HistoryError::Client("the database client panicked")))
    })
}

impl PostgresStore {
    /// Connects (5 s at most) and migrates.
    pub fn open(url: &str) -> Result<Self, HistoryError> {
        let mut config: postgres::Config = url.parse()?;
        config.connect_timeout(Duration::from_secs(5));
        off_runtime(move || {
            let mut client = config.connect(NoTls)?;
            migrate(&mut client)?;
            Ok(Self {
                client: Some(client),
            })
        })
    }
}

fn migrate(client: &mut Client) -> Result<(), HistoryError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let applied: Option<i32> = tx
        .query_one("SELECT max(version) FROM schema_version", &[])
        .and_then(|row| row.try_get(0))?;
    let applied = usize::try_from(applied.unwrap_or(0)).unwrap_or(0);
    check_version(applied)?;
    for (done, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql)?;
        let version = i32::try_from(done + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )?;
    }
    Ok(tx.commit()?)
}

fn insert(client: &mut Client, run: &RunRecord) -> Result<(), HistoryError> {
    let mut tx = client.transaction()?;
    let new = tx
        .execute(
            "INSERT INTO runs (id, kind, dry_run, user_name, controller, started, seconds, command, plan_files, exit_code)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
            &[
                &run.id,
                &run.kind,
                &i32::from(run.dry_run),
                &run.user,
                &run.controller,
                &run.started,
                &run.seconds,
                &run.command,
                &run.plan_files,
                &i32::from(run.exit),
            ],
        )?;
    if new == 0 {
        return Ok(());
    }
    for (position, host) in run.hosts.iter().enumerate() {
        let report = serde_json::to_string(host)?;
        let outcome = super::listing::outcome_key(host.outcome);
        tx.execute(
            "INSERT INTO host_runs (run_id, position, host, outcome, failure, report) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &run.id,
                &i32::try_from(position).unwrap_or(i32::MAX),
                &host.host,
                &outcome,
                &host.error.as_ref().map(|e| e.message.clone()),
                &report,
            ],
        )?;
        for file in &host.files {
            tx.execute(
                "INSERT INTO file_changes (run_id, host, path, pre_sha256, new_sha256, diff) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&run.id, &host.host, &file.path, &file.pre_sha256, &file.new_sha256, &file.diff],
            )?;
        }
    }
    Ok(tx.commit()?)
}

fn runs(client: &mut Client) -> Result<Vec<RunRecord>, HistoryError> {
    let mut runs = Vec::new();
    for row in client
        .query(
            "SELECT id, kind, dry_run, user_name, controller, started, seconds, command, plan_files, exit_code
             FROM runs ORDER BY started, id",
            &[],
        )?
    {
        let dry_run: i32 = row.try_get(2)?;
        let exit: i32 = row.try_get(9)?;
        runs.push(RunRecord {
            id: row.try_get(0)?,
            kind: row.try_get(1)?,
            dry_run: dry_run != 0,
            user: row.try_get(3)?,
            controller: row.try_get(4)?,
            started: row.try_get(5)?,
            seconds: row.try_get(6)?,
            command: row.try_get(7)?,
            plan_files: row.try_get(8)?,
            exit: u8::try_from(exit).unwrap_or(u8::MAX),
            hosts: Vec::new(),
        });
    }
    let mut by_run: std::collections::HashMap<String, Vec<HostReport>> = Default::default();
    for row in client.query(
        "SELECT run_id, report FROM host_runs ORDER BY run_id, position",
        &[],
    )? {
        let id: String = row.try_get(0)?;
        let report: String = row.try_get(1)?;
        let host = serde_json::from_str(&report).map_err(|error| HistoryError::UnreadableHost {
            run: id.clone(),
            error,
        })?;
        by_run.entry(id).or_default().push(host);
    }
    for run in &mut runs {
        run.hosts = by_run.remove(&run.id).unwrap_or_default();
    }
    Ok(runs)
}

impl Store for PostgresStore {
    fn insert(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        let client = self.client.as_mut().ok_or(HistoryError::Client("closed"))?;
        off_runtime(move || insert(client, run))
    }

    fn has(&mut self, id: &str) -> Result<bool, HistoryError> {
        let client = self.client.as_mut().ok_or(HistoryError::Client("closed"))?;
        off_runtime(move || {
            client
                .query_opt("SELECT 1 FROM runs WHERE id = $1", &[&id])
                .map(|row| row.is_some())
                .map_err(HistoryError::from)
        })
    }

    fn runs(&mut self) -> Result<Vec<RunRecord>, HistoryError> {
        let client = self.client.as_mut().ok_or(HistoryError::Client("closed"))?;
        off_runtime(move || runs(client))
    }
}
