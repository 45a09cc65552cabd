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
    ) -> Result<(), String> {
        let names: std::collections::BTreeSet<&String> =
            self.facts.keys().chain(read.keys()).collect();
        for name in names {
            let (reviewed, now) = (self.facts.get(name), read.get(name));
            if reviewed != now {
                let shown = |v: Option<&serde_json::Value>| {
                    v.map_or("not read".to_owned(), ToString::to_string)
                };
                return Err(format!(
                    "fact `{name}` was {} when reviewed and is {} now: review again",
                    shown(reviewed),
                    shown(now)
                ));
            }
        }
        Ok(())
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
