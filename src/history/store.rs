//! Where the history lives (`Location`) and what every store does (`Store`): one code path
//! for the recording run, `wsdeploy history` and the HTML report, whatever the database.

use std::path::{Path, PathBuf};

use super::RunRecord;

/// The database of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (default `<project>/.wsdeploy/history.db`).
    Sqlite(PathBuf),
}

impl Location {
    /// `--history` / `history =` of wsdeploy.toml: a file path (relative to the project)
    /// for SQLite; none means the default file.
    ///
    /// # Errors
    /// A database URL of a kind this build cannot write (`postgres://…`).
    pub fn parse(value: Option<&str>, project: &Path) -> Result<Self, String> {
        let Some(value) = value else {
            return Ok(Self::Sqlite(
                project.join(super::STATE_DIR).join("history.db"),
            ));
        };
        if let Some((scheme, _)) = value.split_once("://") {
            return Err(format!(
                "history `{scheme}://…`: only a SQLite file is supported (give a path, e.g. `.wsdeploy/history.db`)"
            ));
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
        }
    }
}

/// A history database: migrated to the current schema when opened.
pub trait Store {
    /// Writes one run (all its hosts, in one transaction); a run already there is kept.
    ///
    /// # Errors
    /// The database cannot be written.
    fn insert(&mut self, run: &RunRecord) -> Result<(), String>;
    /// Whether the run is recorded.
    ///
    /// # Errors
    /// The database cannot be read.
    fn has(&self, id: &str) -> Result<bool, String>;
    /// Every run, oldest first.
    ///
    /// # Errors
    /// The database cannot be read, or holds a record this version cannot read.
    fn runs(&self) -> Result<Vec<RunRecord>, String>;
}

/// Opens (creating and migrating when needed) the store at `location`.
///
/// # Errors
/// The database cannot be opened, created or migrated.
pub fn open(location: &Location) -> Result<Box<dyn Store>, String> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(super::sqlite::SqliteStore::open(path)?)),
    }
}
