//! The SQLite store (rusqlite, SQLite bundled): the schema's migrations, applied in order
//! and counted in `schema_version`, and the rows of a run.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};

use super::schema::MIGRATIONS;
use super::{HistoryError, RunRecord, Store};
use crate::run::HostReport;

/// A SQLite history file.
pub struct SqliteStore {
    db: Connection,
}

impl SqliteStore {
    /// Opens the file (creating it and its directory), then migrates it.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(HistoryError::file(dir))?;
        }
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = Self { db };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), HistoryError> {
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
        let applied: Option<i64> =
            tx.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))?;
        let applied = usize::try_from(applied.unwrap_or(0)).unwrap_or(0);
        super::schema::check_version(applied)?;
        for (done, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                params![i64::try_from(done + 1).unwrap_or(i64::MAX)],
            )?;
        }
        Ok(tx.commit()?)
    }

    fn host_reports(&self, id: &str) -> Result<Vec<HostReport>, HistoryError> {
        let mut query = self
            .db
            .prepare("SELECT report FROM host_runs WHERE run_id = ?1 ORDER BY position")?;
        let rows = query.query_map(params![id], |r| r.get::<_, String>(0))?;
        let mut hosts = Vec::new();
        for row in rows {
            let text = row?;
            hosts.push(serde_json::from_str(&text).map_err(|error| {
                HistoryError::UnreadableHost {
                    run: id.to_owned(),
                    error,
                }
            })?);
        }
        Ok(hosts)
    }
}

impl Store for SqliteStore {
    fn insert(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let known = tx
            .query_row("SELECT 1 FROM runs WHERE id = ?1", params![run.id], |_| {
                Ok(())
            })
            .optional()?;
        if known.is_some() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO runs (id, kind, dry_run, user_name, controller, started, seconds, command, plan_files, exit_code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                run.id,
                run.kind,
                run.dry_run,
                run.user,
                run.controller,
                run.started,
                run.seconds,
                run.command,
                run.plan_files,
                run.exit
            ],
        )?;
        for (position, host) in run.hosts.iter().enumerate() {
            let report = serde_json::to_string(host)?;
            let outcome = serde_json::to_value(host.outcome)?;
            tx.execute(
                "INSERT INTO host_runs (run_id, position, host, outcome, failure, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run.id,
                    i64::try_from(position).unwrap_or(i64::MAX),
                    host.host,
                    outcome.as_str().unwrap_or_default(),
                    host.error.as_ref().map(|e| e.message.clone()),
                    report
                ],
            )?;
            for file in &host.files {
                tx.execute(
                    "INSERT INTO file_changes (run_id, host, path, pre_sha256, new_sha256, diff) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![run.id, host.host, file.path, file.pre_sha256, file.new_sha256, file.diff],
                )?;
            }
        }
        Ok(tx.commit()?)
    }

    fn has(&mut self, id: &str) -> Result<bool, HistoryError> {
        self.db
            .query_row("SELECT 1 FROM runs WHERE id = ?1", params![id], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(HistoryError::from)
    }

    fn runs(&mut self) -> Result<Vec<RunRecord>, HistoryError> {
        let mut query = self
            .db
            .prepare(
                "SELECT id, kind, dry_run, user_name, controller, started, seconds, command, plan_files, exit_code
                 FROM runs ORDER BY started, id",
            )?;
        let rows = query.query_map([], |r| {
            Ok(RunRecord {
                id: r.get(0)?,
                kind: r.get(1)?,
                dry_run: r.get(2)?,
                user: r.get(3)?,
                controller: r.get(4)?,
                started: r.get(5)?,
                seconds: r.get(6)?,
                command: r.get(7)?,
                plan_files: r.get(8)?,
                exit: r.get(9)?,
                hosts: Vec::new(),
            })
        })?;
        let mut runs = Vec::new();
        for row in rows {
            let mut run = row?;
            run.hosts = self.host_reports(&run.id)?;
            runs.push(run);
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> RunRecord {
        RunRecord {
            id: id.to_owned(),
            kind: "apply".to_owned(),
            dry_run: false,
            user: "ops".to_owned(),
            controller: "ctl".to_owned(),
            started: "2026-12-01T10:00:00Z".to_owned(),
            seconds: 1.5,
            command: "wsdeploy apply".to_owned(),
            plan_files: "plans/site.yml abc".to_owned(),
            exit: 0,
            hosts: Vec::new(),
        }
    }

    #[test]
    fn migrates_once_and_keeps_a_run_written_twice_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let mut store = SqliteStore::open(&path).expect("open");
        store.insert(&run("a")).expect("insert");
        store.insert(&run("a")).expect("insert again");
        drop(store);
        let mut store = SqliteStore::open(&path).expect("reopen");
        let version: i64 = store
            .db
            .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).expect("len"));
        let runs = store.runs().expect("runs");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].command, "wsdeploy apply");
    }

    #[test]
    fn refuses_a_schema_newer_than_it_knows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        drop(SqliteStore::open(&path).expect("open"));
        let db = Connection::open(&path).expect("raw");
        db.execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .expect("bump");
        drop(db);
        let Err(e) = SqliteStore::open(&path) else {
            panic!("a newer schema was accepted")
        };
        assert!(
            matches!(e, HistoryError::SchemaTooNew { applied: 99, .. }),
            "{e}"
        );
    }
}
