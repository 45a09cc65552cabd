//! The change a review showed for one host (`apply --dry-run --save`), which an
//! `apply --reviewed` job carries and the engine compares with what it plans before
//! writing anything. The review file itself is `crate::review`.

use super::ActionStatus;
use serde::{Deserialize, Serialize};

use super::{HostReport, Outcome};

/// What was reviewed for one host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReviewedHost {
    pub outcome: ReviewedOutcome,
    pub files: Vec<ReviewedFile>,
    /// Commands the review showed would run.
    pub commands: Vec<String>,
    /// [`crate::review::binding`] of the host's job when it was reviewed.
    pub binding: String,
    /// The facts read on the host when it was reviewed (`play.name` → value).
    #[serde(default)]
    pub facts: std::collections::BTreeMap<String, serde_json::Value>,
}

/// How what is planned now differs from what was reviewed (the first difference found);
/// every one means "review again".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewMismatch {
    /// A fact read now has another value than when reviewed.
    #[error(transparent)]
    FactChanged(Box<FactChange>),
    /// A reviewed file's change is no longer planned.
    #[error(
        "{path}: the reviewed change is no longer needed (the file already has the reviewed content or changed since): review again"
    )]
    NoLongerNeeded { path: String },
    /// A reviewed file's bytes changed since the review (`None`: absent).
    #[error(
        "{path} changed since the review (reviewed sha256 {}, now {}): review again",
        .reviewed.as_deref().unwrap_or("absent"),
        .now.as_deref().unwrap_or("absent")
    )]
    ChangedSince {
        path: String,
        reviewed: Option<String>,
        now: Option<String>,
    },
    /// The file the plan would write now differs from the reviewed result.
    #[error(
        "{path}: the planned result differs from the reviewed one (reviewed sha256 {reviewed}, now {now}): the plan or variables changed; review again"
    )]
    ResultDiffers {
        path: String,
        reviewed: String,
        now: String,
    },
    /// A file would change that the review did not show (`now`: its sha256, `None`: absent).
    #[error(
        "{path} would change but was not part of the review (sha256 now {}): review again",
        .now.as_deref().unwrap_or("absent")
    )]
    NotReviewed { path: String, now: Option<String> },
}

/// A fact whose value read now differs from the reviewed one (`None`: not read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "fact `{name}` was {} when reviewed and is {} now: review again",
    shown(.reviewed.as_ref()),
    shown(.now.as_ref())
)]
pub struct FactChange {
    pub name: String,
    pub reviewed: Option<serde_json::Value>,
    pub now: Option<serde_json::Value>,
}

/// A fact's value as a mismatch shows it.
fn shown(value: Option<&serde_json::Value>) -> String {
    value.map_or("not read".to_owned(), ToString::to_string)
}

/// How the reviewed dry run ended for the host (only these two can be reviewed).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewedOutcome {
    WouldChange,
    InSync,
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
            Outcome::WouldChange => ReviewedOutcome::WouldChange,
            Outcome::InSync => ReviewedOutcome::InSync,
            _ => return None,
        };
        Some(Self {
            outcome,
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
                .filter(|a| a.status == ActionStatus::WouldRun)
                .map(|a| crate::mask::mask(&a.label, &report.secrets))
                .collect(),
            binding: String::new(),
            facts: report.facts.clone(),
        })
    }

    /// Compares the facts read now with the reviewed ones: commands and checks that use a
    /// fact were reviewed with its value.
    ///
    /// # Errors
    /// A fact's value differs (the message names it and both values).
    pub fn check_facts(
        &self,
        read: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<(), ReviewMismatch> {
        let names: std::collections::BTreeSet<&String> =
            self.facts.keys().chain(read.keys()).collect();
        for name in names {
            let (reviewed, now) = (self.facts.get(name), read.get(name));
            if reviewed != now {
                return Err(ReviewMismatch::FactChanged(Box::new(FactChange {
                    name: name.clone(),
                    reviewed: reviewed.cloned(),
                    now: now.cloned(),
                })));
            }
        }
        Ok(())
    }

    /// Compares the change planned now with the reviewed one; `Err` names the first
    /// difference (file and both hashes).
    ///
    /// # Errors
    /// The planned change differs from the reviewed one.
    pub fn check(
        &self,
        planned: &[(String, Option<String>, String)],
    ) -> Result<(), ReviewMismatch> {
        for file in &self.files {
            match planned.iter().find(|(path, _, _)| *path == file.path) {
                None => {
                    return Err(ReviewMismatch::NoLongerNeeded {
                        path: file.path.clone(),
                    });
                }
                Some((_, pre, post)) => {
                    if *pre != file.pre_sha256 {
                        return Err(ReviewMismatch::ChangedSince {
                            path: file.path.clone(),
                            reviewed: file.pre_sha256.clone(),
                            now: pre.clone(),
                        });
                    }
                    if *post != file.post_sha256 {
                        return Err(ReviewMismatch::ResultDiffers {
                            path: file.path.clone(),
                            reviewed: file.post_sha256.clone(),
                            now: post.clone(),
                        });
                    }
                }
            }
        }
        if let Some((path, pre, _)) = planned
            .iter()
            .find(|(path, _, _)| !self.files.iter().any(|f| &f.path == path))
        {
            return Err(ReviewMismatch::NotReviewed {
                path: path.clone(),
                now: pre.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> ReviewedHost {
        ReviewedHost {
            outcome: ReviewedOutcome::WouldChange,
            files: vec![ReviewedFile {
                path: "/etc/a".into(),
                pre_sha256: Some("p".into()),
                post_sha256: "q".into(),
            }],
            commands: vec![],
            binding: String::new(),
            facts: std::collections::BTreeMap::new(),
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
            e.to_string(),
            "/etc/a changed since the review (reviewed sha256 p, now x): review again"
        );
    }

    #[test]
    fn refuses_extra_or_missing_changes() {
        assert!(matches!(
            host().check(&[]),
            Err(ReviewMismatch::NoLongerNeeded { path }) if path == "/etc/a"
        ));
        assert_eq!(
            host()
                .check(&[
                    ("/etc/a".into(), Some("p".into()), "q".into()),
                    ("/etc/b".into(), None, "r".into())
                ])
                .map_err(|e| e.to_string()),
            Err(
                "/etc/b would change but was not part of the review (sha256 now absent): review again"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_outcome_keeps_its_saved_words() {
        let json = serde_json::to_value(host()).unwrap();
        assert_eq!(json["outcome"], "would_change");
        assert_eq!(
            serde_json::to_value(ReviewedOutcome::InSync).unwrap(),
            "in_sync"
        );
        let back: ReviewedHost = serde_json::from_value(json).unwrap();
        assert_eq!(back, host());
    }
}
