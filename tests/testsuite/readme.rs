//! README.md teaches: it stays short, its tutorial is complete (`lab_tutorial` runs it on a
//! real host), its links lead to files that exist, and it states the test command CI runs.

use crate::support;

use std::path::Path;

use support::tutorial::{self, Step};

const MAX_WORDS: usize = 1500;

#[test]
fn the_readme_stays_under_1500_words() {
    let words = tutorial::word_count(&tutorial::readme());
    assert!(
        words < MAX_WORDS,
        "README.md has {words} words (at most {}): reference material belongs in docs/",
        MAX_WORDS - 1
    );
}

#[test]
fn the_tutorial_writes_a_whole_project_and_runs_every_command() {
    let steps = tutorial::steps(&tutorial::readme());
    let files: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::File { path, .. } => Some(path.as_str()),
            Step::Command { .. } => None,
        })
        .collect();
    for file in [
        "wsdeploy.toml",
        "inventories/production/hosts.yml",
        "inventories/production/group_vars/odoo.yml",
    ] {
        assert!(
            files.contains(&file),
            "the tutorial does not show {file}: {files:?}"
        );
    }
    let commands: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Command { line, .. } => Some(line.as_str()),
            Step::File { .. } => None,
        })
        .collect();
    for prefix in [
        "cp ~/src/wsdeploy/plans/",
        "wsdeploy validate",
        "wsdeploy apply --dry-run",
        "wsdeploy drift",
        "wsdeploy backups",
        "wsdeploy rollback --run ",
        "wsdeploy rollback --date ",
    ] {
        assert!(
            commands.iter().any(|c| c.starts_with(prefix)),
            "the tutorial has no `{prefix}…`: {commands:?}"
        );
    }
    assert_eq!(
        commands.iter().filter(|c| **c == "wsdeploy apply").count(),
        2,
        "the tutorial applies, then applies again: {commands:?}"
    );
}

#[test]
fn every_link_of_the_readme_leads_to_a_file() {
    let readme = tutorial::readme();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut links = 0;
    for (start, _) in readme.match_indices("](") {
        let rest = &readme[start + 2..];
        let target = &rest[..rest.find(')').expect("a link ends with )")];
        if target.starts_with("http") {
            continue;
        }
        links += 1;
        let path = target.split('#').next().unwrap_or(target);
        assert!(
            root.join(path).exists(),
            "README.md links to {target}, which does not exist"
        );
    }
    assert!(links > 0, "README.md links to no docs");
}

#[test]
fn the_readme_states_the_test_command_ci_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect("read .ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == "tests/run-all"),
        ".ci/run does not run tests/run-all"
    );
    assert!(
        tutorial::readme().contains("`tests/run-all`"),
        "README.md does not name the test command .ci/run runs (tests/run-all)"
    );
}
