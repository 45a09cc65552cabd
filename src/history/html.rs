//! `wsdeploy report --html`: one self-contained page (inline CSS, script and SVG; a
//! Content-Security-Policy that allows no request) with the fleet's status now, a timeline
//! of runs per host, drift found and repaired over time, and every run's diffs, searchable.
//! Everything on it comes from the masked records and is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::run::Outcome;

use super::RunRecord;

/// The last known state of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InSync,
    Drifted,
    Failed,
    Unreachable,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Self::InSync => "in sync",
            Self::Drifted => "drifted",
            Self::Failed => "failed",
            Self::Unreachable => "unreachable",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Self::InSync => "ok",
            Self::Drifted => "drift",
            Self::Failed => "fail",
            Self::Unreachable => "unreach",
        }
    }
}

/// What a host's outcome in a run says about its state afterwards (`None`: nothing, the
/// host was not run, or a `verify` found it healthy: a verify compares no file). A
/// rollback that changed a host put older files back: the host then differs from the plan.
#[must_use]
pub fn status_after(kind: &str, outcome: Outcome) -> Option<Status> {
    match outcome {
        Outcome::InSync | Outcome::Changed if kind == "verify" => None,
        Outcome::Changed if kind == "rollback" => Some(Status::Drifted),
        Outcome::InSync | Outcome::Changed => Some(Status::InSync),
        Outcome::WouldChange => Some(Status::Drifted),
        Outcome::Failed | Outcome::RolledBack | Outcome::RollbackFailed => Some(Status::Failed),
        Outcome::Unreachable => Some(Status::Unreachable),
        Outcome::NotRun => None,
    }
}

/// Each host's last known state (runs oldest first), with the run that showed it.
#[must_use]
pub fn fleet_status(runs: &[RunRecord]) -> BTreeMap<String, (Status, String)> {
    let mut status = BTreeMap::new();
    for run in runs {
        for host in &run.hosts {
            if let Some(s) = status_after(&run.kind, host.outcome) {
                status.insert(host.host.clone(), (s, run.id.clone()));
            }
        }
    }
    status
}

/// One point of the drift chart: a drift run's hosts found drifted, or a repair's hosts
/// changed.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftPoint {
    pub run: String,
    pub started: String,
    pub repaired: bool,
    pub hosts: usize,
}

/// The chart's points, oldest first.
#[must_use]
pub fn drift_points(runs: &[RunRecord]) -> Vec<DriftPoint> {
    runs.iter()
        .filter_map(|r| {
            let (repaired, counted) = match r.kind.as_str() {
                "drift" => (false, Outcome::WouldChange),
                "repair" => (true, Outcome::Changed),
                _ => return None,
            };
            Some(DriftPoint {
                run: r.id.clone(),
                started: r.started.clone(),
                repaired,
                hosts: r.hosts.iter().filter(|h| h.outcome == counted).count(),
            })
        })
        .collect()
}

/// HTML-escaped text.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}
table{border-collapse:collapse}td,th{padding:.2em .7em;text-align:left;border-bottom:1px solid #ddd}
.ok{background:#d4f4d4}.drift{background:#ffe9b3}.fail{background:#f7c6c6}.unreach{background:#ddd}
.cell{display:inline-block;width:1.1em;height:1.1em;margin:1px;border:1px solid #999;text-decoration:none}
pre{background:#f6f6f6;padding:.7em;overflow:auto}details.run{margin:.3em 0}
summary{cursor:pointer;font-family:monospace}.hidden{display:none}
.found{fill:#d08000;stroke:#d08000}.repaired{fill:#2a8a2a;stroke:#2a8a2a}
.key-found{background:#d08000}.key-repaired{background:#2a8a2a}";

const SCRIPT: &str = "document.getElementById('q').addEventListener('input',function(){
var q=this.value.toLowerCase();var shown=0;
document.querySelectorAll('details.run').forEach(function(d){
var hit=q===''||d.textContent.toLowerCase().indexOf(q)>=0;
d.classList.toggle('hidden',!hit);d.open=hit&&q!=='';if(hit)shown++;});
document.getElementById('shown').textContent=shown;});";

/// The whole page.
#[must_use]
pub fn page(runs: &[RunRecord], generated: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
<title>wsdeploy fleet report</title><style>{STYLE}</style></head><body>\n\
<h1>wsdeploy fleet report</h1><p>{} runs recorded; generated {}.</p>\n",
        runs.len(),
        esc(generated)
    );
    status_table(&mut out, runs);
    timeline(&mut out, runs);
    chart(&mut out, &drift_points(runs));
    run_details(&mut out, runs);
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

fn status_table(out: &mut String, runs: &[RunRecord]) {
    out.push_str("<h2>Fleet status now</h2>\n<table id=\"status\"><tr><th>host</th><th>status</th><th>last run</th></tr>\n");
    for (host, (status, run)) in fleet_status(runs) {
        let _ = writeln!(
            out,
            "<tr class=\"host\" data-host=\"{h}\"><td>{h}</td><td class=\"{}\">{}</td><td><a href=\"#run-{r}\">{r}</a></td></tr>",
            status.class(),
            status.word(),
            h = esc(&host),
            r = esc(&run)
        );
    }
    out.push_str("</table>\n");
}

fn timeline(out: &mut String, runs: &[RunRecord]) {
    let hosts: std::collections::BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.hosts.iter().map(|h| h.host.as_str()))
        .collect();
    out.push_str("<h2>Runs per host</h2>\n<table id=\"timeline\">\n");
    for host in hosts {
        let _ = write!(out, "<tr><td>{}</td><td>", esc(host));
        for run in runs {
            let Some(h) = run.hosts.iter().find(|h| h.host == host) else {
                continue;
            };
            let class = status_after(&run.kind, h.outcome).map_or("", Status::class);
            let _ = write!(
                out,
                "<a class=\"cell {class}\" href=\"#run-{id}\" title=\"{id} {kind} {when}: {word}\"></a>",
                id = esc(&run.id),
                kind = esc(&run.kind),
                when = esc(&run.started),
                word = esc(h.outcome.word())
            );
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
}

fn chart(out: &mut String, points: &[DriftPoint]) {
    const W: usize = 640;
    const H: usize = 180;
    const PAD: usize = 30;
    out.push_str("<h2>Drift found and repaired</h2>\n");
    let max = points.iter().map(|p| p.hosts).max().unwrap_or(0).max(1);
    let step = if points.len() > 1 {
        (W - 2 * PAD) / (points.len() - 1)
    } else {
        0
    };
    let _ = write!(
        out,
        "<svg id=\"drift-chart\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\">\
<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
<text x=\"2\" y=\"{top}\" font-size=\"11\">{max}</text><text x=\"2\" y=\"{b}\" font-size=\"11\">0</text>",
        b = H - PAD,
        r = W - PAD,
        top = PAD + 4
    );
    for (i, p) in points.iter().enumerate() {
        let x = PAD + i * step;
        let y = (H - PAD) - p.hosts * (H - 2 * PAD) / max;
        let class = if p.repaired { "repaired" } else { "found" };
        let _ = write!(
            out,
            "<circle class=\"point {class}\" data-run=\"{run}\" data-hosts=\"{n}\" cx=\"{x}\" cy=\"{y}\" r=\"5\"><title>{when}: {n} host(s) {what}</title></circle>",
            run = esc(&p.run),
            n = p.hosts,
            when = esc(&p.started),
            what = if p.repaired { "repaired" } else { "drifted" }
        );
    }
    let ends = [(0, "start", points.first()), (W, "end", points.last())];
    for (x, anchor, p) in ends.into_iter().take(points.len().min(2)) {
        if let Some(p) = p {
            let _ = write!(
                out,
                "<text x=\"{x}\" y=\"{}\" font-size=\"11\" text-anchor=\"{anchor}\">{}</text>",
                H - 8,
                esc(&p.started.get(..16).unwrap_or(&p.started).replace('T', " "))
            );
        }
    }
    out.push_str("</svg>\n<p><span class=\"cell key-found\"></span> hosts found drifted (drift) <span class=\"cell key-repaired\"></span> hosts repaired (drift --repair)</p>\n");
}

fn run_details(out: &mut String, runs: &[RunRecord]) {
    let _ = write!(
        out,
        "<h2>Runs and their diffs</h2>\n<p><input id=\"q\" type=\"search\" placeholder=\"search hosts, files, diffs\" size=\"40\"> <span id=\"shown\">{}</span> runs shown</p>\n",
        runs.len()
    );
    for run in runs.iter().rev() {
        let _ = writeln!(
            out,
            "<details class=\"run\" id=\"run-{id}\"><summary>{id} {kind} by {who} at {when}: {counts}</summary><pre>{text}</pre></details>",
            id = esc(&run.id),
            kind = esc(&run.kind),
            who = esc(&format!("{}@{}", run.user, run.controller)),
            when = esc(&run.started),
            counts = esc(&crate::report::summary::counts(&run.hosts)),
            text = esc(&super::listing::show(run))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<script>\"a\"&'b'"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;"
        );
    }

    #[test]
    fn a_rollback_leaves_a_host_drifted_and_a_repair_in_sync() {
        assert_eq!(
            status_after("rollback", Outcome::Changed),
            Some(Status::Drifted)
        );
        assert_eq!(
            status_after("repair", Outcome::Changed),
            Some(Status::InSync)
        );
        assert_eq!(status_after("apply", Outcome::NotRun), None);
        assert_eq!(status_after("verify", Outcome::InSync), None);
    }
}
