//! Live progress: one line per event when stdout is not a terminal (CI, logs), an
//! indicatif spinner per host on a terminal, or JSON lines with `--json`.

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use super::event::Event;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bars,
    Lines,
    Json,
    Quiet,
}

/// Consumes events until the channel closes.
pub async fn show(mut rx: UnboundedReceiver<Event>, style: Style) {
    let multi = MultiProgress::new();
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    let spinner = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    while let Some(event) = rx.recv().await {
        match style {
            Style::Quiet => {}
            Style::Json => {
                if let Ok(line) = serde_json::to_string(&event) {
                    println!("{line}");
                }
            }
            Style::Lines => match &event {
                Event::HostStarted { .. } | Event::Phase { .. } => {}
                Event::StepDone {
                    host,
                    label,
                    status,
                    detail,
                    ..
                } => {
                    let first = detail.lines().next().unwrap_or_default();
                    if first.is_empty() {
                        eprintln!("{host}: {status}: {label}");
                    } else {
                        eprintln!("{host}: {status}: {label} — {first}");
                    }
                }
                Event::Note { host, message } => eprintln!("{host}: {message}"),
            },
            Style::Bars => {
                let host = match &event {
                    Event::HostStarted { host }
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
                match event {
                    Event::HostStarted { .. } => bar.set_message("connecting"),
                    Event::Phase { phase, .. } => bar.set_message(phase),
                    Event::StepDone { label, status, .. } => {
                        bar.set_message(format!("{status}: {label}"))
                    }
                    Event::Note { message, .. } => {
                        let _ = multi.println(format!("{host}: {message}"));
                    }
                }
            }
        }
    }
    for bar in bars.values() {
        bar.finish_and_clear();
    }
}
