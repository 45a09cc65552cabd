//! `wsdeploy history`: the runs that match a filter, as a table or JSON, and one run shown
//! as `apply` printed it.

use std::fmt::Write as _;

use crate::report::summary;

use super::RunRecord;

/// Which runs to list; every field set must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Runs that touched this host (only its line is shown).
    pub host: Option<String>,
    /// Runs where a host ended so (`changed`, `in_sync`, `would_change`, `failed`,
    /// `rolled_back`, `rollback_failed`, `unreachable`, `not_run`; `-` for `_`).
    pub outcome: Option<String>,
    pub kind: Option<String>,
    /// First day (UTC) included.
    pub since: Option<chrono::NaiveDate>,
    /// Last day (UTC) included.
    pub until: Option<chrono::NaiveDate>,
}

impl Filter {
    /// The runs that match, each with only the hosts that match.
    #[must_use]
    pub fn apply(&self, runs: Vec<RunRecord>) -> Vec<RunRecord> {
        let outcome = self.outcome.as_ref().map(|o| o.replace('-', "_"));
        runs.into_iter()
            .filter(|r| self.kind.as_ref().is_none_or(|k| *k == r.kind))
            .filter(|r| {
                let day = day_of(&r.started);
                self.since.is_none_or(|s| day.is_some_and(|d| d >= s))
                    && self.until.is_none_or(|u| day.is_some_and(|d| d <= u))
            })
            .filter_map(|mut r| {
                r.hosts.retain(|h| {
                    self.host.as_ref().is_none_or(|want| *want == h.host)
                        && outcome
                            .as_ref()
                            .is_none_or(|want| *want == outcome_key(h.outcome))
                });
                (!r.hosts.is_empty() || (self.host.is_none() && outcome.is_none())).then_some(r)
            })
            .collect()
    }
}

/// The `--json` word of an outcome (`in_sync`).
#[must_use]
pub fn outcome_key(outcome: crate::run::Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn day_of(started: &str) -> Option<chrono::NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(started)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc).date_naive())
}

/// One line per run, newest last.
#[must_use]
pub fn table(runs: &[RunRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<23}  {:<20}  {:<9}  {:<20}  {:>5}  RESULT",
        "RUN", "STARTED (UTC)", "KIND", "BY", "HOSTS"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:<23}  {:<20}  {:<9}  {:<20}  {:>5}  {}",
            r.id,
            r.started.replace('T', " ").get(..19).unwrap_or(&r.started),
            r.kind,
            format!("{}@{}", r.user, r.controller),
            r.hosts.len(),
            summary::counts(&r.hosts)
        );
    }
    if runs.is_empty() {
        out.push_str("no run recorded matches\n");
    }
    out
}

/// The run whose id is `id`, or the only one starting with it.
///
/// # Errors
/// No run, or several, match.
pub fn find<'a>(runs: &'a [RunRecord], id: &str) -> Result<&'a RunRecord, String> {
    if let Some(run) = runs.iter().find(|r| r.id == id) {
        return Ok(run);
    }
    let matching: Vec<&RunRecord> = runs.iter().filter(|r| r.id.starts_with(id)).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no recorded run `{id}` (wsdeploy history lists them)"
        )),
        many => Err(format!(
            "`{id}` matches {} runs ({}…): give more of the id",
            many.len(),
            many.iter()
                .take(3)
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// One run as `apply` printed it: the per-host details with their diffs, then the table.
#[must_use]
pub fn show(run: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {} ({}{}) by {}@{} at {}, {:.2} s, exit {}",
        run.id,
        run.kind,
        if run.dry_run && run.kind != "dry-run" && run.kind != "drift" && run.kind != "verify" {
            ", dry run"
        } else {
            ""
        },
        run.user,
        run.controller,
        run.started,
        run.seconds,
        run.exit
    );
    let _ = writeln!(out, "command: {}", run.command);
    for line in run.plan_files.lines() {
        let _ = writeln!(out, "plan file: {line}");
    }
    out.push_str(&summary::details(
        &run.hosts,
        summary::DetailsStyle {
            color: false,
            diffs: true,
        },
    ));
    out.push_str(&summary::table(&run.hosts, false));
    out
}
