//! The history's schema: plain SQL that SQLite and PostgreSQL both accept, one migration
//! per entry, applied in order; `schema_version` holds how many are applied.

/// The schema, one migration per entry; `schema_version` holds how many are applied.
/// Plain SQL both SQLite and PostgreSQL accept.
pub const MIGRATIONS: &[&str] = &["
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    controller TEXT NOT NULL,
    started TEXT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    command TEXT NOT NULL,
    plan_files TEXT NOT NULL,
    exit_code INTEGER NOT NULL
);
CREATE INDEX runs_started ON runs (started);
CREATE TABLE host_runs (
    run_id TEXT NOT NULL REFERENCES runs (id),
    position INTEGER NOT NULL,
    host TEXT NOT NULL,
    outcome TEXT NOT NULL,
    failure TEXT,
    report TEXT NOT NULL,
    PRIMARY KEY (run_id, host)
);
CREATE INDEX host_runs_host ON host_runs (host);
CREATE TABLE file_changes (
    run_id TEXT NOT NULL REFERENCES runs (id),
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    pre_sha256 TEXT,
    new_sha256 TEXT NOT NULL,
    diff TEXT NOT NULL
);
CREATE INDEX file_changes_path ON file_changes (path);
"];

/// Refuses a database whose schema is newer than this wsdeploy knows.
///
/// # Errors
/// `applied` is past the last migration known here.
pub fn check_version(applied: usize) -> Result<(), super::HistoryError> {
    if applied > MIGRATIONS.len() {
        return Err(super::HistoryError::SchemaTooNew {
            applied,
            known: MIGRATIONS.len(),
        });
    }
    Ok(())
}
