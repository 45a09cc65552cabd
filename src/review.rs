//! Reviewed plans: `apply --dry-run --save FILE` records, per host, the sha256 of every file
//! before and after the planned change; `apply --reviewed FILE` re-plans with the same
//! inventory, plan, variables and limit, and applies a host only if it would make exactly
//! the reviewed change from exactly the reviewed pre-images.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::host::journal::sha256_hex;
use crate::host_run::{HostReport, Outcome};

/// Format marker and version of a saved review.
pub const FORMAT: &str = "wsdeploy-review/2";

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

/// What was reviewed for one host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReviewedHost {
    /// `would_change` or `in_sync`.
    pub outcome: String,
    pub files: Vec<ReviewedFile>,
    /// Commands the review showed would run.
    pub commands: Vec<String>,
    /// [`binding`] of the host's job when it was reviewed.
    pub binding: String,
}

/// sha256 of everything besides the files' contents that decides what a run does on a
/// host: `become`, the dump command, the plan files' hashes and every rendered step
/// (commands, checks, edits; unmasked, so a changed secret counts too).
#[must_use]
pub fn binding(job: &crate::host_run::HostJob, plan_files: &str) -> String {
    let mut text = format!(
        "become {:?}\ndump {:?}\nplan files\n{plan_files}",
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

/// One reviewed file change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReviewedFile {
    pub path: String,
    pub pre_sha256: Option<String>,
    pub post_sha256: String,
}

impl ReviewedHost {
    /// What a dry-run report says about a host.
    #[must_use]
    pub fn from_report(report: &HostReport) -> Option<Self> {
        let outcome = match report.outcome {
            Outcome::WouldChange => "would_change",
            Outcome::InSync => "in_sync",
            _ => return None,
        };
        Some(Self {
            outcome: outcome.to_owned(),
            files: report
                .files
                .iter()
                .map(|f| ReviewedFile {
                    path: f.path.clone(),
                    pre_sha256: f.pre_sha256.clone(),
                    post_sha256: f.new_sha256.clone(),
                })
                .collect(),
            commands: report
                .actions
                .iter()
                .filter(|a| a.status == "would run")
                .map(|a| crate::report::mask(&a.label, &report.secrets))
                .collect(),
            binding: String::new(),
        })
    }

    /// Compares the change planned now with the reviewed one; `Err` names the first
    /// difference (file and both hashes).
    ///
    /// # Errors
    /// The planned change differs from the reviewed one.
    pub fn check(&self, planned: &[(String, Option<String>, String)]) -> Result<(), String> {
        for file in &self.files {
            match planned.iter().find(|(path, _, _)| *path == file.path) {
                None => {
                    return Err(format!(
                        "{}: the reviewed change is no longer needed (the file already has the reviewed content or changed since): review again",
                        file.path
                    ));
                }
                Some((_, pre, post)) => {
                    if *pre != file.pre_sha256 {
                        return Err(format!(
                            "{} changed since the review (reviewed sha256 {}, now {}): review again",
                            file.path,
                            file.pre_sha256.as_deref().unwrap_or("absent"),
                            pre.as_deref().unwrap_or("absent")
                        ));
                    }
                    if *post != file.post_sha256 {
                        return Err(format!(
                            "{}: the planned result differs from the reviewed one (reviewed sha256 {}, now {}): the plan or variables changed; review again",
                            file.path, file.post_sha256, post
                        ));
                    }
                }
            }
        }
        if let Some((path, pre, _)) = planned
            .iter()
            .find(|(path, _, _)| !self.files.iter().any(|f| &f.path == path))
        {
            return Err(format!(
                "{path} would change but was not part of the review (sha256 now {}): review again",
                pre.as_deref().unwrap_or("absent")
            ));
        }
        Ok(())
    }
}

/// Reads a saved review.
///
/// # Errors
/// Unreadable file, invalid JSON or another format.
pub fn load(path: &Path) -> Result<Review, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read review {}: {e}", path.display()))?;
    let review: Review = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a wsdeploy review: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if review.format != FORMAT {
        return Err(format!(
            "{}: format `{}` is not {FORMAT}",
            path.display(),
            review.format
        ));
    }
    Ok(review)
}

/// Writes a review atomically (temp file + rename) with mode 0600.
///
/// # Errors
/// The file cannot be written.
pub fn save(path: &Path, review: &Review) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let text = serde_json::to_string_pretty(review).map_err(|e| e.to_string())?;
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
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write review {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> ReviewedHost {
        ReviewedHost {
            outcome: "would_change".into(),
            files: vec![ReviewedFile {
                path: "/etc/a".into(),
                pre_sha256: Some("p".into()),
                post_sha256: "q".into(),
            }],
            commands: vec![],
            binding: String::new(),
        }
    }

    #[test]
    fn accepts_exactly_the_reviewed_change() {
        assert!(
            host()
                .check(&[("/etc/a".into(), Some("p".into()), "q".into())])
                .is_ok()
        );
    }

    #[test]
    fn refuses_a_file_edited_after_the_review() {
        let e = host()
            .check(&[("/etc/a".into(), Some("x".into()), "q".into())])
            .unwrap_err();
        assert_eq!(
            e,
            "/etc/a changed since the review (reviewed sha256 p, now x): review again"
        );
    }

    #[test]
    fn refuses_extra_or_missing_changes() {
        assert!(host().check(&[]).is_err());
        assert!(
            host()
                .check(&[
                    ("/etc/a".into(), Some("p".into()), "q".into()),
                    ("/etc/b".into(), None, "r".into())
                ])
                .is_err()
        );
    }
}
