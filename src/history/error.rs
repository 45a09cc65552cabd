//! Why the run history cannot be opened, read or written: the database's own refusal,
//! a schema newer than this wsdeploy, a record it cannot read back, or a spool file.

use std::path::PathBuf;

/// The run history cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// `--history` names a database of another kind.
    #[error("history `{scheme}://…`: a SQLite file path or a `postgres://` URL is expected")]
    UnknownScheme { scheme: String },
    /// The database refused an operation (its own message).
    #[error("{0}")]
    Database(String),
    /// The database was migrated by a newer wsdeploy.
    #[error(
        "the history schema is version {applied}, newer than this wsdeploy knows ({known}): use a newer wsdeploy"
    )]
    SchemaTooNew { applied: usize, known: usize },
    /// A host's record of run `run` is not JSON this version reads.
    #[error("run {run}: a host record cannot be read: {error}")]
    UnreadableHost {
        run: String,
        error: serde_json::Error,
    },
    /// A file or directory of the spool cannot be read or written.
    #[error("{}: {error}", path.display())]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A spooled file is not a run record.
    #[error("{}: not a run record: {error}", path.display())]
    NotARecord {
        path: PathBuf,
        error: serde_json::Error,
    },
    /// A run record whose id is not a run id (never spooled under that name).
    #[error("`{0}` is not a run id")]
    NotARunId(String),
    /// A run record cannot be turned into JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The history at `location` cannot be read.
    #[error("run history {location}: {error}")]
    Reading {
        location: super::Location,
        error: Box<HistoryError>,
    },
    /// The PostgreSQL client was closed, or its thread panicked.
    #[error("{0}")]
    Client(&'static str),
}

impl From<rusqlite::Error> for HistoryError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Database(error.to_string())
    }
}

impl From<postgres::Error> for HistoryError {
    /// The server's message when there is one, else the client's.
    fn from(error: postgres::Error) -> Self {
        Self::Database(
            error
                .as_db_error()
                .map_or_else(|| error.to_string(), |db| db.message().to_owned()),
        )
    }
}

impl HistoryError {
    /// `error` on `path`.
    pub fn file(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |error| Self::File {
            path: path.to_path_buf(),
            error,
        }
    }
}
