//! Live progress: one line per event when stdout is not a terminal (CI, logs), an
//! indicatif spinner per host on a terminal, or JSON lines with `--json`.
//!
//! On a terminal each step's result line (the proof: `passed: WebSocket handshake … —
//! 101 Switching Protocols`) is printed above the spinners through the `MultiProgress`,
//! so it stays on screen when the spinners are cleared at the end.

use crate::run::ActionStatus;
use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use super::event::Event;
use super::out::{errln, outln};
use super::verbosity;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bars,
    Lines,
    Json,
    Quiet,
}

/// The persistent text of an event, or `None` when the event only moves a spinner
/// (phases, unless `-vv`).
#[must_use]
pub fn event_line(event: &Event, level: i8) -> Option<String> {
    match event {
        // A local host has no connection to wait for: its line is for `-vv`.
        Event::Connecting { host, to, via } => {
            (to != "local" || level >= 2).then(|| format!("{host}: {}", connecting(to, via)))
        }
        Event::HostStarted { host } => (level >= 2).then(|| format!("{host}: connected")),
        Event::Phase { host, phase } => (level >= 2).then(|| format!("{host}: {phase}")),
        Event::StepDone {
            host,
            label,
            status,
            detail,
            ..
        } => {
            let mut lines = detail.lines().filter(|l| !l.trim().is_empty());
            let first = lines.next().unwrap_or_default();
            let mut text = if first.is_empty() {
                format!("{host}: {status}: {label}")
            } else {
                format!("{host}: {status}: {label} — {first}")
            };
            if level >= 1 {
                for more in lines {
                    text.push_str("\n    ");
                    text.push_str(more);
                }
            }
            Some(text)
        }
        Event::Note { host, message } => Some(format!("{host}: {message}")),
    }
}

/// One line for a host's skipped steps (`-v` lists each with its reason).
#[must_use]
pub fn skipped_line(count: usize) -> String {
    let steps = if count == 1 { "step" } else { "steps" };
    format!("skipped: {count} {steps} (-v shows each and why)")
}

/// Whether an event is a skipped step that is only counted at this verbosity.
fn counted_only(event: &Event, level: i8) -> Option<&str> {
    match event {
        Event::StepDone { host, status, .. } if *status == ActionStatus::Skipped && level < 1 => {
            Some(host)
        }
        _ => None,
    }
}

/// Per host, the skipped steps not yet summed up in a line.
#[derive(Default)]
struct SkippedTally(HashMap<String, usize>);

impl SkippedTally {
    /// Counts a skipped step, or takes the line for the host's pending ones when another
    /// event of that host comes.
    fn take(&mut self, event: &Event, level: i8) -> Option<String> {
        if let Some(host) = counted_only(event, level) {
            *self.0.entry(host.to_owned()).or_default() += 1;
            return None;
        }
        let host = event_host(event);
        self.0
            .remove(host)
            .map(|n| format!("{host}: {}", skipped_line(n)))
    }

    /// The lines of every host still pending (the stream ended).
    fn rest(&mut self) -> Vec<String> {
        let mut rest: Vec<_> = self.0.drain().collect();
        rest.sort();
        rest.into_iter()
            .map(|(host, n)| format!("{host}: {}", skipped_line(n)))
            .collect()
    }
}

fn event_host(event: &Event) -> &str {
    match event {
        Event::Connecting { host, .. }
        | Event::HostStarted { host }
        | Event::Phase { host, .. }
        | Event::StepDone { host, .. }
        | Event::Note { host, .. } => host,
    }
}

/// `connecting to root@10.0.0.5:22 via admin@bastion:22`, or `connecting (local)`.
fn connecting(to: &str, via: &[String]) -> String {
    match (to, via) {
        ("local", _) => "connecting (local)".to_owned(),
        (_, []) => format!("connecting to {to}"),
        _ => format!("connecting to {to} via {}", via.join(" via ")),
    }
}

/// Consumes events until the channel closes.
pub async fn show(mut rx: UnboundedReceiver<Event>, style: Style) {
    let level = verbosity::level();
    let multi = MultiProgress::new();
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    let spinner = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut tally = SkippedTally::default();
    while let Some(event) = rx.recv().await {
        match style {
            Style::Quiet => {}
            Style::Json => {
                if let Ok(line) = serde_json::to_string(&event) {
                    outln!("{line}");
                }
            }
            Style::Lines => {
                if let Some(line) = tally.take(&event, level) {
                    errln!("{line}");
                }
                if counted_only(&event, level).is_some() {
                    continue;
                }
                if let Some(line) = event_line(&event, level) {
                    errln!("{line}");
                }
            }
            Style::Bars => {
                let host = event_host(&event).to_owned();
                if let Some(line) = tally.take(&event, level) {
                    let _ = multi.println(line);
                }
                let bar = bars.entry(host.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(spinner.clone());
                    b.set_prefix(host.clone());
                    b.enable_steady_tick(std::time::Duration::from_millis(120));
                    b
                });
                if let Some(line) = event_line(&event, level)
                    && !matches!(event, Event::Connecting { .. })
                    && counted_only(&event, level).is_none()
                {
                    let _ = multi.println(line);
                }
                match event {
                    Event::Connecting { to, via, .. } => bar.set_message(connecting(&to, &via)),
                    Event::HostStarted { .. } => bar.set_message("connected"),
                    Event::Phase { phase, .. } => bar.set_message(phase),
                    Event::StepDone { label, status, .. } => {
                        bar.set_message(format!("{status}: {label}"));
                    }
                    Event::Note { .. } => {}
                }
            }
        }
    }
    for line in tally.rest() {
        match style {
            Style::Lines => errln!("{line}"),
            Style::Bars => {
                let _ = multi.println(line);
            }
            Style::Json | Style::Quiet => {}
        }
    }
    for bar in bars.values() {
        bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(detail: &str) -> Event {
        Event::StepDone {
            host: "h".into(),
            step: "s".into(),
            label: "check".into(),
            status: ActionStatus::Passed,
            detail: detail.into(),
        }
    }

    #[test]
    fn default_shows_the_first_line_of_the_detail() {
        assert_eq!(
            event_line(&step("101 Switching Protocols\nmore"), 0).as_deref(),
            Some("h: passed: check — 101 Switching Protocols")
        );
    }

    #[test]
    fn skipped_steps_are_one_line_per_host_unless_verbose() {
        let skipped = |host: &str| Event::StepDone {
            host: host.into(),
            step: "s".into(),
            label: "file step `x`".into(),
            status: ActionStatus::Skipped,
            detail: "when: false is false".into(),
        };
        let mut tally = SkippedTally::default();
        assert_eq!(tally.take(&skipped("a"), 0), None);
        assert_eq!(tally.take(&skipped("a"), 0), None);
        assert_eq!(tally.take(&skipped("b"), 0), None);
        assert_eq!(
            tally.take(&step("x"), 0).as_deref(),
            None,
            "host h has nothing pending"
        );
        let note = Event::Note {
            host: "a".into(),
            message: "m".into(),
        };
        assert_eq!(
            tally.take(&note, 0).as_deref(),
            Some("a: skipped: 2 steps (-v shows each and why)")
        );
        assert_eq!(
            tally.rest(),
            vec!["b: skipped: 1 step (-v shows each and why)"]
        );
        assert_eq!(tally.take(&skipped("a"), 1), None);
        assert!(
            tally.rest().is_empty(),
            "-v prints each skipped step itself"
        );
    }

    #[test]
    fn connecting_names_the_address_and_every_jump_host() {
        let event = |to: &str, via: &[&str]| Event::Connecting {
            host: "h".into(),
            to: to.into(),
            via: via.iter().map(|v| (*v).to_owned()).collect(),
        };
        assert_eq!(
            event_line(&event("root@10.0.0.5:22", &["admin@bastion:22"]), 0).as_deref(),
            Some("h: connecting to root@10.0.0.5:22 via admin@bastion:22")
        );
        assert_eq!(
            event_line(&event("root@10.0.0.5:22", &[]), 0).as_deref(),
            Some("h: connecting to root@10.0.0.5:22")
        );
        assert_eq!(event_line(&event("local", &[]), 0), None);
        assert_eq!(
            event_line(&event("local", &[]), 2).as_deref(),
            Some("h: connecting (local)")
        );
    }

    #[test]
    fn verbose_shows_every_line_and_phases() {
        assert_eq!(
            event_line(&step("a\nb"), 1).as_deref(),
            Some("h: passed: check — a\n    b")
        );
        let phase = Event::Phase {
            host: "h".into(),
            phase: "gather".into(),
        };
        assert_eq!(event_line(&phase, 1), None);
        assert_eq!(event_line(&phase, 2).as_deref(), Some("h: gather"));
    }
}
