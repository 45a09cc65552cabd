//! Where the history lives (`Location`) and what every store does (`Store`): one code path
//! for the recording run, `wsdeploy history` and the HTML report, whatever the database.

use std::path::{Path, PathBuf};

use super::{HistoryError, RunRecord};

/// The database of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (default `<project>/.wsdeploy/history.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    /// `--history` / `history =` of wsdeploy.toml: `postgres://…` for PostgreSQL, else a
    /// file path (relative to the project) for SQLite; none means the default file.
    ///
    /// # Errors
    /// A URL of another kind of database.
    pub fn parse(value: Option<&str>, project: &Path) -> Result<Self, HistoryError> {
        let Some(value) = value else {
            return Ok(Self::Sqlite(
                project.join(super::STATE_DIR).join("history.db"),
            ));
        };
        if let Some((scheme, _)) = value.split_once("://") {
            if scheme == "postgres" || scheme == "postgresql" {
                return Ok(Self::Postgres(value.to_owned()));
            }
            return Err(HistoryError::UnknownScheme {
                scheme: scheme.to_owned(),
            });
        }
        let path = Path::new(value);
        Ok(Self::Sqlite(if path.is_absolute() {
            path.to_path_buf()
        } else {
            project.join(path)
        }))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// A history database: migrated to the current schema when opened.
pub trait Store {
    /// Writes one run (all its hosts, in one transaction); a run already there is kept.
    ///
    /// # Errors
    /// The database cannot be written.
    fn insert(&mut self, run: &RunRecord) -> Result<(), HistoryError>;
    /// Whether the run is recorded.
    ///
    /// # Errors
    /// The database cannot be read.
    fn has(&mut self, id: &str) -> Result<bool, HistoryError>;
    /// Every run, oldest first.
    ///
    /// # Errors
    /// The database cannot be read, or holds a record this version cannot read.
    fn runs(&mut self) -> Result<Vec<RunRecord>, HistoryError>;
}

/// Opens (creating and migrating when needed) the store at `location`.
///
/// # Errors
/// The database cannot be opened, created or migrated.
pub fn open(location: &Location) -> Result<Box<dyn Store>, HistoryError> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(super::sqlite::SqliteStore::open(path)?)),
        Location::Postgres(url) => Ok(Box::new(super::postgres::PostgresStore::open(url)?)),
    }
}

/// A database URL as messages show it: `postgres://user:********@host/db`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{}@{host}", crate::mask::MASK),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        let l = Location::parse(Some("postgres://ops:pa55word@db:5432/h"), Path::new("."))
            .expect("parses");
        assert_eq!(l.to_string(), "postgres://ops:********@db:5432/h");
        assert!(Location::parse(Some("mysql://x"), Path::new(".")).is_err());
    }
}
