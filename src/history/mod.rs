//! The run history on the controller: every run (apply, dry run, drift, repair, rollback,
//! verify) is recorded with what its `--json` report holds, masked the same way
//! (`record`), in a store behind one trait (`store`; `schema` holds the migrations both
//! databases run): SQLite by default (`sqlite`), PostgreSQL for several controllers
//! (`postgres`). `wsdeploy history` (`listing`) and `wsdeploy report --html` (`html`) read
//! it back. Writing the history never fails a run: a record that cannot be written is kept
//! in the spool (`spool`) and written by the next run.

mod error;
pub mod html;
pub mod listing;
mod postgres;
mod record;
mod schema;
mod spool;
mod sqlite;
mod store;

use std::path::{Path, PathBuf};

use crate::report::out::errln;

pub use error::HistoryError;
pub use record::{RunMeta, RunRecord, masked_command_line};
pub use store::{Location, Store, open};

/// The controller's state directory in the project (`.wsdeploy/`).
pub const STATE_DIR: &str = ".wsdeploy";

/// Where records wait when the store could not be written: `<project>/.wsdeploy/spool`.
#[must_use]
pub fn spool_dir(project: &Path) -> PathBuf {
    project.join(STATE_DIR).join("spool")
}

/// Records a run. Never fails: when the store cannot be written, says so once on stderr
/// and keeps the record in the spool, which the next recording run writes first.
pub fn record(location: &Location, spool: &Path, run: &RunRecord) {
    let mut store = match open(location) {
        Ok(store) => store,
        Err(error) => return keep(location, spool, run, &error),
    };
    let pending = spool::drain(spool, store.as_mut());
    if let Err(error) = store.insert(run) {
        return keep(location, spool, run, &error);
    }
    if let Err(error) = pending {
        errln!(
            "warning: run history: spooled records in {} are not written yet: {error}",
            spool.display()
        );
    }
}

/// The store refused the run: its record goes to the spool, with one warning.
fn keep(location: &Location, spool: &Path, run: &RunRecord, error: &HistoryError) {
    match spool::write(spool, run) {
        Ok(path) => errln!(
            "warning: run history: cannot write {location}: {error}; the run's record is kept in {} and written by the next run",
            path.display()
        ),
        Err(e) => errln!(
            "warning: run history: cannot write {location}: {error}; nor keep the record in {}: {e}; run {} is not recorded",
            spool.display(),
            run.id
        ),
    }
}

/// Every recorded run, oldest first; a history not created yet is an empty one (and is
/// not created by reading it).
///
/// # Errors
/// The database cannot be opened or read.
pub fn read_runs(location: &Location) -> Result<Vec<RunRecord>, HistoryError> {
    match location {
        Location::Sqlite(path) if !path.exists() => Ok(Vec::new()),
        _ => open(location)?.runs(),
    }
    .map_err(|error| HistoryError::Reading {
        location: location.clone(),
        error: Box::new(error),
    })
}
