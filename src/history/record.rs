//! One run's record: who ran what, when, and each host's report as `--json` shows it
//! (secrets masked). Nothing else is ever stored.

use serde::{Deserialize, Serialize};

use crate::mask;
use crate::run::HostReport;

/// One recorded run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    /// `apply`, `dry-run`, `drift`, `repair`, `rollback` or `verify`.
    pub kind: String,
    /// Nothing was to be changed (a dry run, drift, verify, `rollback --dry-run`).
    pub dry_run: bool,
    pub user: String,
    /// The controller's host name.
    pub controller: String,
    /// When the run started, RFC 3339 in UTC.
    pub started: String,
    pub seconds: f64,
    /// The command line, secrets masked.
    pub command: String,
    /// `path sha256` of every plan file, one per line.
    pub plan_files: String,
    pub exit: u8,
    /// Each host's report, masked as `--json` masks it.
    pub hosts: Vec<HostReport>,
}

/// What the run was, as the command line knows it.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub id: String,
    pub kind: String,
    pub dry_run: bool,
    /// `user@host`, as the journal records it.
    pub operator: String,
    pub started: chrono::DateTime<chrono::Utc>,
    pub command: String,
    pub plan_files: String,
}

impl RunRecord {
    /// The record of a finished run: every host report masked with its own secrets, the
    /// command line with all of them.
    #[must_use]
    pub fn new(meta: RunMeta, reports: &[HostReport], exit: u8) -> Self {
        let secrets: Vec<String> = reports.iter().flat_map(|r| r.secrets.clone()).collect();
        let hosts = reports.iter().map(masked_report).collect();
        let (user, controller) = meta
            .operator
            .rsplit_once('@')
            .map_or((meta.operator.clone(), String::new()), |(u, h)| {
                (u.to_owned(), h.to_owned())
            });
        Self {
            id: meta.id,
            kind: meta.kind,
            dry_run: meta.dry_run,
            user,
            controller,
            started: meta
                .started
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            seconds: (chrono::Utc::now() - meta.started).as_seconds_f64(),
            command: mask::mask(&meta.command, &secrets),
            plan_files: meta.plan_files,
            exit,
            hosts,
        }
    }
}

/// The report as `--json` prints it (every string masked), read back.
fn masked_report(report: &HostReport) -> HostReport {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    mask::mask_json(&mut value, &report.secrets);
    let mut masked = serde_json::from_value(value).unwrap_or_else(|_| HostReport {
        host: report.host.clone(),
        outcome: report.outcome,
        files: Vec::new(),
        actions: Vec::new(),
        notes: vec!["the report could not be recorded".to_owned()],
        error: None,
        seconds: report.seconds,
        not_run: report.not_run,
        secrets: Vec::new(),
        facts: std::collections::BTreeMap::new(),
    });
    // Not part of `--json`: kept as it was.
    masked.not_run = report.not_run;
    masked
}

/// The command line as one text, each argument shell-quoted, the values of secret-named
/// `key=value` arguments (`-e db_password=…`) masked.
#[must_use]
pub fn masked_command_line(args: &[String]) -> String {
    args.iter()
        .map(|arg| {
            let arg = match arg.split_once('=') {
                Some((key, _)) if mask::is_sensitive_key(key.trim_start_matches('-')) => {
                    format!("{key}={}", mask::MASK)
                }
                _ => mask::mask_line(arg, &[]),
            };
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
            if plain {
                arg
            } else {
                crate::shell::quote(&arg)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_named_arguments_are_masked() {
        let line = masked_command_line(&[
            "wsdeploy".into(),
            "-e".into(),
            "db_password=hunter22".into(),
            "-e".into(),
            "{\"api_token\": \"t0ken99\"}".into(),
            "-e".into(),
            "port=8069".into(),
        ]);
        assert!(!line.contains("hunter22"), "{line}");
        assert!(!line.contains("t0ken99"), "{line}");
        assert!(line.contains("port=8069"), "{line}");
    }
}
