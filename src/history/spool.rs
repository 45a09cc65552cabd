//! Records that could not be written to the store wait here as JSON files
//! (`<project>/.wsdeploy/spool/<run id>.json`) until a run can write them.

use std::path::{Path, PathBuf};

use super::{HistoryError, RunRecord, Store};

/// Keeps a record in the spool; returns its file.
pub fn write(dir: &Path, run: &RunRecord) -> Result<PathBuf, HistoryError> {
    if crate::host::RunId::parse(&run.id).is_none() {
        return Err(HistoryError::NotARunId(run.id.clone()));
    }
    std::fs::create_dir_all(dir).map_err(HistoryError::file(dir))?;
    let path = dir.join(format!("{}.json", run.id));
    let partial = dir.join(format!(".{}.json.partial", run.id));
    let text = serde_json::to_string(run)?;
    std::fs::write(&partial, text).map_err(HistoryError::file(&partial))?;
    std::fs::rename(&partial, &path).map_err(HistoryError::file(&path))?;
    Ok(path)
}

/// Writes every spooled record to the store (oldest first) and removes its file. A
/// missing spool is an empty one.
pub fn drain(dir: &Path, store: &mut dyn Store) -> Result<(), HistoryError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(HistoryError::file(&file))?;
        let run: RunRecord =
            serde_json::from_str(&text).map_err(|error| HistoryError::NotARecord {
                path: file.clone(),
                error,
            })?;
        store.insert(&run)?;
        std::fs::remove_file(&file).map_err(HistoryError::file(&file))?;
    }
    Ok(())
}
