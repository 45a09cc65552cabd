//! Reviewed plans: `apply --dry-run --save FILE` records, per host, the sha256 of every file
//! before and after the planned change; `apply --reviewed FILE` re-plans with the same
//! inventory, plan, variables and limit, and applies a host only if it would make exactly
//! the reviewed change from exactly the reviewed pre-images.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::location::Location;
pub use crate::run::{ReviewedFile, ReviewedHost};

/// Format marker and version of a saved review.
pub const FORMAT: &str = "wsdeploy-review/3";

/// A review file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReviewFileError {
    #[error("cannot read review {}: {error}", path.display())]
    Read {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    /// Not JSON of a review; `at` is where the JSON reader stopped.
    #[error("{at}: not a wsdeploy review: {error}")]
    NotAReview {
        at: Location,
        error: serde_json::Error,
    },
    /// A review of another format (version).
    #[error("{}: format `{format}` is not {FORMAT}", path.display())]
    OtherFormat {
        path: std::path::PathBuf,
        format: String,
    },
    #[error("cannot write review {}: {error}", path.display())]
    Write {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    /// The review cannot be turned into JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// A saved review.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Review {
    pub format: String,
    pub created: String,
    pub operator: String,
    /// The `-i` argument, the plan path, `-e` arguments and `--limit` of the dry run.
    pub inventory: String,
    pub plan: Option<String>,
    pub extra_vars: Vec<String>,
    pub limit: Option<String>,
    pub hosts: BTreeMap<String, ReviewedHost>,
}

/// sha256 of everything besides the files' contents that decides what a run does on a
/// host: where it goes (`target`: the connection, every SSH hop, the known_hosts file),
/// `become`, the dump command, the plan files' hashes and every rendered step (commands,
/// checks, edits; unmasked, so a changed secret counts too). The facts read on the host
/// are bound beside it (`ReviewedHost::facts`), once read.
#[must_use]
pub fn binding(job: &crate::run::HostJob, plan_files: &str, target: &str) -> String {
    let mut text = format!(
        "target {target}\nbecome {:?}\ndump {:?}\nplan files\n{plan_files}",
        job.become_user, job.nginx_dump
    );
    for plan in &job.plans {
        text.push_str(&format!("play {:?}\n", plan.play));
        for step in plan.preflight.iter().chain(&plan.steps) {
            text.push_str(&format!("step {:?} {:?}\n", step.id, step.action));
        }
    }
    sha256_hex(text.as_bytes())
}

/// Reads a saved review.
///
/// # Errors
/// Unreadable file, invalid JSON or another format.
pub fn load(path: &Path) -> Result<Review, ReviewFileError> {
    let text = std::fs::read_to_string(path).map_err(|error| ReviewFileError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let review: Review =
        serde_json::from_str(&text).map_err(|error| ReviewFileError::NotAReview {
            at: Location::at(
                path.display().to_string(),
                error.line() as u64,
                error.column() as u64,
            ),
            error,
        })?;
    if review.format != FORMAT {
        return Err(ReviewFileError::OtherFormat {
            path: path.to_path_buf(),
            format: review.format,
        });
    }
    Ok(review)
}

/// Writes a review atomically (temp file + rename) with mode 0600.
///
/// # Errors
/// The file cannot be written.
pub fn save(path: &Path, review: &Review) -> Result<(), ReviewFileError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let text = serde_json::to_string_pretty(review)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(|| "review".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|error| {
        let _ = std::fs::remove_file(&tmp);
        ReviewFileError::Write {
            path: path.to_path_buf(),
            error,
        }
    })
}
