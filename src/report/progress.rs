//! Live progress: one line per event when stdout is not a terminal (CI, logs), an
//! indicatif spinner per host on a terminal, or JSON lines with `--json`.
//!
//! On a terminal each step's result line (the proof: `passed: WebSocket handshake … —
//! 101 Switching Protocols`) is printed above the spinners through the `MultiProgress`,
//! so it stays on screen when the spinners are cleared at the end.

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
    while let Some(event) = rx.recv().await {
        match style {
            Style::Quiet => {}
            Style::Json => {
                if let Ok(line) = serde_json::to_string(&event) {
                    outln!("{line}");
                }
            }
            Style::Lines => {
                if let Some(line) = event_line(&event, level) {
                    errln!("{line}");
                }
            }
            Style::Bars => {
                let host = match &event {
                    Event::Connecting { host, .. }
                    | Event::HostStarted { host }
                    | Event::Phase { host, .. }
                    | Event::StepDone { host, .. }
                    | Event::Note { host, .. } => host.clone(),
                };
                let bar = bars.entry(host.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(spinner.clone());
                    b.set_prefix(host.clone());
                    b.enable_steady_tick(std::time::Duration::from_millis(120));
                    b
                });
                if let Some(line) = event_line(&event, level)
                    && !matches!(event, Event::Connecting { .. })
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
            status: "passed".into(),
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
