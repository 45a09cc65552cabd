//! The engine's own tests, with no host at all: `compute` as a pure function over
//! gathered files (`compute_table`), and every phase of `run_host` against a host scripted
//! in memory (`transport::scripted`), asserting the exact sequence of host operations
//! (`phases`, `recovery`, `hostile_gather`). The host's answers follow the protocol of `host/`
//! (`scripted_host`).

mod compute_table;
mod hostile_gather;
mod phases;
mod recovery;
mod scripted_host;

use std::path::Path;

use crate::plan::HostPlan;
use crate::plan::load::load_text;
use crate::plan::render::{Inputs, merge_vars, render_play};
use crate::run::{HostJob, Mode, RunOptions, Task};

/// The host every fixture plan runs on.
const HOST: &str = "web1";
/// The file the fixture plans edit.
const CONF: &str = "/etc/app/app.conf";

/// The plan's plays rendered for [`HOST`] (no inventory variables).
fn plans(yaml: &str) -> Vec<HostPlan> {
    let plan = load_text(Path::new("plans/test.yml"), yaml).expect("fixture plan loads");
    let none = serde_json::Map::new();
    plan.plays
        .iter()
        .map(|play| {
            let inputs = Inputs {
                vars: merge_vars(play, HOST, &none, &none),
                ..Inputs::default()
            };
            render_play(play, HOST, inputs).expect("fixture plan renders")
        })
        .collect()
}

/// [`HOST`]'s job for the plan `yaml`.
fn job(yaml: &str) -> HostJob {
    let plans = plans(yaml);
    HostJob {
        host: HOST.to_owned(),
        nginx_dump: plans.iter().find_map(|p| p.nginx_dump.clone()),
        plans,
        become_user: None,
        reviewed: None,
    }
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date")
}

fn options(mode: Mode) -> RunOptions {
    RunOptions {
        run_id: crate::host::RunId::new(),
        plan_name: "test".to_owned(),
        operator: "tester".to_owned(),
        today: today(),
        mode,
        kind: "apply".to_owned(),
        task: Task::Plan,
    }
}

/// A plan writing [`CONF`] whole, reloading after a change, with a preflight check.
fn conf_plan(content: &str) -> String {
    format!(
        "name: test\nhosts: all\npreflight:\n  - command: check-health\nsteps:\n  - id: conf\n    file: {{path: {CONF}, content: {content:?}}}\n  - command: reload-app\n    if_changed: [conf]\n"
    )
}
