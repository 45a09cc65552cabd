//! `history` (list runs, `show` one) and `report --html`: reading the run history.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::BadInput;
use crate::exit;
use crate::history::{self, listing};
use crate::report;
use crate::report::out::errln;

/// `history` arguments.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    /// Only runs on this host (and only its line of each).
    #[arg(long = "host")]
    pub host: Option<String>,
    /// Only runs where a host ended so: changed, in-sync, would-change, failed,
    /// rolled-back, rollback-failed, unreachable, not-run.
    #[arg(long = "outcome")]
    pub outcome: Option<String>,
    /// Only runs of this kind: apply, dry-run, drift, repair, rollback, verify.
    #[arg(long = "kind")]
    pub kind: Option<String>,
    /// Only runs from this day on (YYYY-MM-DD, UTC).
    #[arg(long = "since")]
    pub since: Option<String>,
    /// Only runs up to this day (YYYY-MM-DD, UTC, included).
    #[arg(long = "until")]
    pub until: Option<String>,
    /// Print the runs as a JSON array (each with every host's `--json` report).
    #[arg(long = "json")]
    pub json: bool,
    /// The run history [default: .wsdeploy/history.db, or `history` in wsdeploy.toml].
    #[arg(long = "history", global = true)]
    pub history: Option<String>,
}

/// `history` subcommands.
#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Print one run as `apply` printed it (RUN: its id, or the start of it).
    Show {
        /// The run's id (as `history` lists it), or its first characters.
        run: String,
        /// Print the run's record as JSON.
        #[arg(long = "json")]
        json: bool,
    },
}

/// `report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the fleet report (one self-contained HTML page) to FILE.
    #[arg(long = "html", value_name = "FILE")]
    pub html: PathBuf,
    /// The run history [default: .wsdeploy/history.db, or `history` in wsdeploy.toml].
    #[arg(long = "history")]
    pub history: Option<String>,
}

fn runs(project: &Path, location: Option<&str>) -> Result<Vec<history::RunRecord>, BadInput> {
    let location = history::Location::parse(location, project).map_err(bad_history)?;
    history::read_runs(&location).map_err(bad_history)
}

/// A history that cannot be used is bad input (exit 3), in its own words.
fn bad_history(error: history::HistoryError) -> BadInput {
    BadInput::from(error.to_string())
}

fn day(flag: &str, text: Option<&str>) -> Result<Option<chrono::NaiveDate>, BadInput> {
    text.map(|t| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| BadInput::from(format!("{flag} `{t}`: expected YYYY-MM-DD")))
    })
    .transpose()
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, BadInput> {
    serde_json::to_string_pretty(value)
        .map(|t| t + "\n")
        .map_err(|e| BadInput::from(format!("cannot print the history as JSON: {e}")))
}

pub(super) fn history_command(project: &Path, h: &HistoryArgs) -> Result<u8, BadInput> {
    let all = runs(project, h.history.as_deref())?;
    if let Some(HistoryAction::Show { run, json }) = &h.action {
        let found = listing::find(&all, run).map_err(BadInput::from)?;
        let text = if *json {
            json_text(found)?
        } else {
            listing::show(found)
        };
        report::out::stdout(&text);
        return Ok(exit::OK);
    }
    let filter = listing::Filter {
        host: h.host.clone(),
        outcome: h.outcome.clone(),
        kind: h.kind.clone(),
        since: day("--since", h.since.as_deref())?,
        until: day("--until", h.until.as_deref())?,
    };
    let matching = filter.apply(all);
    let text = if h.json {
        json_text(&matching)?
    } else {
        listing::table(&matching)
    };
    report::out::stdout(&text);
    Ok(exit::OK)
}

pub(super) fn report_command(project: &Path, r: &ReportArgs) -> Result<u8, BadInput> {
    let all = runs(project, r.history.as_deref())?;
    let generated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let page = history::html::page(&all, &generated);
    std::fs::write(&r.html, page)
        .map_err(|e| BadInput::from(format!("cannot write {}: {e}", r.html.display())))?;
    errln!(
        "report written to {} ({} runs, {} hosts)",
        r.html.display(),
        all.len(),
        history::html::fleet_status(&all).len()
    );
    Ok(exit::OK)
}
