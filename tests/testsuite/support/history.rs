//! What the controller's run history recorded for a project: `wsdeploy history --json`
//! read back as `kind exit=N host=outcome …` lines, oldest run first, to pin in a test.

#![allow(dead_code)]

use serde_json::Value;

use super::project::Project;

/// The runs `wsdeploy -C <project> history --json` lists, oldest first.
pub fn recorded_runs(p: &Project) -> Vec<Value> {
    let out = p.run(&["history", "--json"]);
    out.code(0);
    serde_json::from_str::<Vec<Value>>(&out.stdout)
        .unwrap_or_else(|e| panic!("history --json is not a JSON array ({e}): {}", out.stdout))
}

/// One line per recorded run: `kind exit=N host=outcome host=outcome` (hosts sorted by
/// name).
pub fn recorded(p: &Project) -> Vec<String> {
    recorded_runs(p)
        .iter()
        .map(|run| {
            let mut hosts: Vec<String> = run["hosts"]
                .as_array()
                .unwrap_or_else(|| panic!("a recorded run without hosts: {run}"))
                .iter()
                .map(|h| {
                    format!(
                        "{}={}",
                        h["host"].as_str().unwrap_or("?"),
                        h["outcome"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            hosts.sort();
            format!(
                "{} exit={} {}",
                run["kind"].as_str().unwrap_or("?"),
                run["exit"],
                hosts.join(" ")
            )
        })
        .collect()
}
