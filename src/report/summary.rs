//! The end of a run: per-host diffs and failures, and the summary table.

use crate::run::ActionStatus;
use std::fmt::Write as _;

use crate::diff;
use crate::run::{HostReport, NotRunReason, Outcome};

use super::sanitize;

/// Masked and safe for a terminal.
fn mask(text: &str, secrets: &[String]) -> String {
    super::mask(&sanitize(text), secrets)
}

/// How [`details`] shows the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailsStyle {
    /// Status words in colour (a terminal).
    pub color: bool,
    /// Each changed file's diff.
    pub diffs: bool,
}

/// Per-host details: diffs (for changes), actions, notes and errors with hints.
#[must_use]
pub fn details(reports: &[HostReport], style: DetailsStyle) -> String {
    let DetailsStyle {
        color,
        diffs: show_diffs,
    } = style;
    let mut out = String::new();
    for r in reports {
        let interesting = !r.files.is_empty() || r.error.is_some() || !r.notes.is_empty();
        if !interesting {
            continue;
        }
        let word = super::colour::paint(r.outcome, r.outcome.word(), color);
        let _ = writeln!(out, "── {} ({word})", r.host);
        if show_diffs {
            for f in &r.files {
                if let Some(via) = &f.via {
                    let _ = writeln!(out, "   {} -> {}", sanitize(via), sanitize(&f.path));
                }
                // Already masked (values of sensitive keys, secrets).
                let text = sanitize(&f.diff);
                if color {
                    out.push_str(&diff::colorize(&text));
                } else {
                    out.push_str(&text);
                }
                if let Some(b) = &f.backup {
                    let _ = writeln!(out, "   backup: {}", sanitize(b));
                }
            }
            for a in r
                .actions
                .iter()
                .filter(|a| a.status == ActionStatus::WouldRun)
            {
                let _ = writeln!(out, "   would run: {}", mask(&a.label, &r.secrets));
            }
            let skipped: Vec<_> = r
                .actions
                .iter()
                .filter(|a| a.status == ActionStatus::Skipped && a.by_when)
                .collect();
            if super::verbosity::level() >= 1 {
                for a in &skipped {
                    let _ = writeln!(
                        out,
                        "   skipped: {} ({})",
                        mask(&a.label, &r.secrets),
                        mask(&a.detail, &r.secrets)
                    );
                }
            } else if !skipped.is_empty() {
                let _ = writeln!(out, "   {}", super::progress::skipped_line(skipped.len()));
            }
        }
        for n in &r.notes {
            let _ = writeln!(out, "   note: {}", mask(n, &r.secrets));
        }
        if let Some(e) = &r.error {
            let place = match (&e.step, &e.origin) {
                (Some(s), Some(o)) => format!(" in step `{s}` ({o})"),
                (Some(s), None) => format!(" in step `{s}`"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "   error{place}: {}",
                mask(&e.message, &r.secrets).replace('\n', "\n     ")
            );
            if let Some(h) = &e.hint {
                let _ = writeln!(out, "   hint: {}", mask(h, &r.secrets));
            }
        }
    }
    out
}

/// The summary table and the closing counts line (result words coloured when `color`).
#[must_use]
pub fn table(reports: &[HostReport], color: bool) -> String {
    let mut out = String::new();
    let width = reports
        .iter()
        .map(|r| r.host.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:>7}  {:<22}  {:>7}",
        "HOST", "FILES", "ACTIONS", "RESULT", "SECONDS"
    );
    for r in reports {
        let actions = r
            .actions
            .iter()
            .filter(|a| {
                matches!(
                    a.status,
                    ActionStatus::Ran | ActionStatus::Passed | ActionStatus::Failed
                )
            })
            .count();
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:>7}  {}  {:>7.2}",
            r.host,
            r.files.len(),
            actions,
            super::colour::paint(r.outcome, &format!("{:<22}", r.outcome.word()), color),
            r.seconds
        );
    }
    out.push_str(&counts(reports));
    out.push('\n');
    out
}

/// `2 changed, 1 in sync, 1 unreachable` — only the non-zero counts.
#[must_use]
pub fn counts(reports: &[HostReport]) -> String {
    let kinds = [
        (Outcome::Changed, "changed"),
        (Outcome::WouldChange, "would change"),
        (Outcome::InSync, "in sync"),
        (Outcome::Failed, "failed (untouched)"),
        (Outcome::RolledBack, "failed and rolled back"),
        (Outcome::RollbackFailed, "NEED ATTENTION (rollback failed)"),
        (Outcome::Unreachable, "unreachable"),
        (Outcome::NotRun, not_run_word(reports)),
    ];
    let parts: Vec<String> = kinds
        .iter()
        .filter_map(|(k, word)| {
            let n = reports.iter().filter(|r| r.outcome == *k).count();
            let commands = if *k == Outcome::InSync {
                in_sync_commands(reports)
            } else {
                String::new()
            };
            (n > 0).then(|| format!("{n} {word}{commands}"))
        })
        .collect();
    if parts.is_empty() {
        "no hosts".to_owned()
    } else {
        parts.join(", ")
    }
}

/// ` (commands ran on 2)`: how many hosts in sync ran (or, in a dry run, would run)
/// commands without a condition, which run on every apply; empty when none did.
fn in_sync_commands(reports: &[HostReport]) -> String {
    let on = |status: ActionStatus| {
        reports
            .iter()
            .filter(|r| {
                r.outcome == Outcome::InSync && r.actions.iter().any(|a| a.status == status)
            })
            .count()
    };
    match (on(ActionStatus::Ran), on(ActionStatus::WouldRun)) {
        (0, 0) => String::new(),
        (ran, 0) => format!(" (commands ran on {ran})"),
        (0, would) => format!(" (commands would run on {would})"),
        (ran, would) => format!(" (commands ran on {ran}, would run on {would})"),
    }
}

/// Why hosts did not run: `--max-fail`, an interrupt, or both.
fn not_run_word(reports: &[HostReport]) -> &'static str {
    let said = |reason| {
        reports
            .iter()
            .any(|r| r.outcome == Outcome::NotRun && r.not_run == Some(reason))
    };
    match (said(NotRunReason::MaxFail), said(NotRunReason::Interrupted)) {
        (true, true) => "not run (--max-fail, interrupted)",
        (false, true) => "not run (interrupted)",
        _ => "not run (--max-fail)",
    }
}

/// The closing counts as an object for `--json`: every outcome with its count (zeros
/// included, so a script can read `counts.failed` without checking it exists).
#[must_use]
pub fn counts_json(reports: &[HostReport]) -> serde_json::Value {
    let kinds = [
        (Outcome::Changed, "changed"),
        (Outcome::WouldChange, "would_change"),
        (Outcome::InSync, "in_sync"),
        (Outcome::Failed, "failed"),
        (Outcome::RolledBack, "rolled_back"),
        (Outcome::RollbackFailed, "rollback_failed"),
        (Outcome::Unreachable, "unreachable"),
        (Outcome::NotRun, "not_run"),
    ];
    let mut counts = serde_json::Map::new();
    for (kind, key) in kinds {
        let n = reports.iter().filter(|r| r.outcome == kind).count();
        counts.insert(key.to_owned(), serde_json::Value::from(n));
    }
    serde_json::Value::Object(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_run_word_comes_from_the_reason_not_from_the_message() {
        let mut interrupted = HostReport::not_started("a", NotRunReason::Interrupted);
        // A message naming the other reason does not change the word.
        if let Some(e) = interrupted.error.as_mut() {
            e.message = "not started: --max-fail".to_owned();
        }
        assert_eq!(
            counts(std::slice::from_ref(&interrupted)),
            "1 not run (interrupted)"
        );
        let max_fail = HostReport::not_started("b", NotRunReason::MaxFail);
        assert_eq!(
            counts(std::slice::from_ref(&max_fail)),
            "1 not run (--max-fail)"
        );
        assert_eq!(
            counts(&[interrupted, max_fail]),
            "2 not run (--max-fail, interrupted)"
        );
    }
}
