//! `apply`, including `--save` and `--reviewed`.

use std::path::{Path, PathBuf};

use super::hosts::list_hosts;
use super::prepare::{parse_percent, prepare};
use super::run::{FleetRun, run_fleet};
use super::run_kind::RunKind;
use super::{ApplyArgs, BadInput, Said, TargetArgs};
use crate::exit;
use crate::fleet::{FleetHost, Serial};
use crate::host::journal;
use crate::report::out::errln;
use crate::review;

pub(super) async fn apply(project: &Path, a: &ApplyArgs) -> Result<u8, BadInput> {
    if a.save.is_some() && !a.dry_run {
        return Err(BadInput::from(
            "--save records a review: use it with --dry-run".to_owned(),
        ));
    }
    if a.reviewed.is_some() && (a.dry_run || a.save.is_some()) {
        return Err(BadInput::from(
            "--reviewed applies a saved review: it cannot be combined with --dry-run or --save"
                .to_owned(),
        ));
    }
    let serial = a
        .serial
        .as_deref()
        .map(Serial::parse)
        .transpose()
        .map_err(BadInput::from)?;
    let max_fail = a
        .max_fail
        .as_deref()
        .map(|m| parse_percent("--max-fail", m))
        .transpose()?;
    if a.list_hosts {
        return list_hosts(project, &a.target);
    }
    if let Some(path) = &a.reviewed {
        reviewed_alone(&a.target)?;
        return apply_reviewed(project, a, path, serial, max_fail).await;
    }
    if a.save.is_some() && a.target.source.inventory.len() > 1 {
        return Err(BadInput::from(
            "--save records one inventory: give a single -i (a directory can hold several inventory files)"
                .to_owned(),
        ));
    }
    let prepared = prepare(project, &a.target, serial, max_fail)?;
    let bindings: std::collections::BTreeMap<String, String> = prepared
        .hosts
        .iter()
        .map(|h| {
            (
                h.job.host.clone(),
                review::binding(&h.job, &prepared.plan_files, &connection_target(h)),
            )
        })
        .collect();
    let run = FleetRun {
        kind: RunKind::Apply { dry_run: a.dry_run },
        diff: a.diff,
    };
    let (code, reports) = run_fleet(prepared, &a.target, run).await?;
    if let Some(path) = &a.save {
        save_review(path, a, &reports, &bindings)?;
    }
    Ok(code)
}

/// Where a host's run goes, as a review binds it: `local`, or every SSH hop
/// (`user@host:port`, jump hosts first) and the known_hosts file that vouches for them.
fn connection_target(h: &FleetHost) -> String {
    match &h.ssh {
        None => format!("{:?}", h.connection.kind),
        Some(target) => {
            let hops: Vec<String> = target
                .jumps
                .iter()
                .chain(std::iter::once(target))
                .map(|hop| format!("{}@{}:{}", hop.user, hop.host, hop.port))
                .collect();
            format!(
                "ssh {} known_hosts {} accept_new {}",
                hops.join(" -> "),
                target.known_hosts.display(),
                target.accept_new_host_keys
            )
        }
    }
}

/// `--reviewed` takes everything from the review: no -i, PLAN, -e or --limit beside it.
fn reviewed_alone(t: &TargetArgs) -> Result<(), BadInput> {
    let mut given = Vec::new();
    if !t.source.inventory.is_empty() {
        given.push("-i");
    }
    if t.plan.is_some() {
        given.push("PLAN");
    }
    if !t.extra_vars.is_empty() {
        given.push("-e");
    }
    if t.limit.is_some() {
        given.push("--limit");
    }
    if !given.is_empty() {
        return Err(BadInput::from(format!(
            "--reviewed applies exactly what the review names (its inventory, plan, -e and --limit): remove {} (to change them, review again with --dry-run --save)",
            given.join(", ")
        )));
    }
    Ok(())
}

/// Writes the review of a `--dry-run --save` run: each host's changes, bound to what
/// produced them.
fn save_review(
    path: &Path,
    a: &ApplyArgs,
    reports: &[crate::run::HostReport],
    bindings: &std::collections::BTreeMap<String, String>,
) -> Result<(), BadInput> {
    let mut hosts = std::collections::BTreeMap::new();
    for r in reports {
        match review::ReviewedHost::from_report(r) {
            Some(mut h) => {
                h.binding = bindings.get(&r.host).cloned().unwrap_or_default();
                hosts.insert(r.host.clone(), h);
            }
            None => errln!(
                "review: {} is not part of the saved review ({})",
                r.host,
                r.outcome.word()
            ),
        }
    }
    let saved = review::Review {
        format: review::FORMAT.to_owned(),
        created: chrono::Utc::now().to_rfc3339(),
        operator: journal::operator(),
        inventory: a
            .target
            .source
            .inventory
            .first()
            .cloned()
            .unwrap_or_default(),
        plan: a.target.plan.as_ref().map(|p| p.display().to_string()),
        extra_vars: a.target.extra_vars.clone(),
        limit: a.target.limit.clone(),
        hosts,
    };
    review::save(path, &saved).map_err(|error| BadInput::from(error.to_string()))?;
    errln!(
        "review saved to {} ({} hosts); apply it with: wsdeploy apply --reviewed {}",
        path.display(),
        saved.hosts.len(),
        path.display()
    );
    Ok(())
}

pub(super) async fn apply_reviewed(
    project: &Path,
    a: &ApplyArgs,
    path: &Path,
    serial: Option<Serial>,
    max_fail: Option<f64>,
) -> Result<u8, BadInput> {
    let saved = review::load(path).map_err(|error| bad_review(&error))?;
    let mut target = a.target.clone();
    target.source.inventory = vec![saved.inventory.clone()];
    target.plan = saved.plan.as_ref().map(PathBuf::from);
    target.extra_vars.clone_from(&saved.extra_vars);
    target.limit.clone_from(&saved.limit);
    let mut prepared = prepare(project, &target, serial, max_fail)?;
    // What runs must be what was reviewed: commands, checks, become, the dump command and
    // the plan files, not only the files' contents.
    let differ: Vec<String> = prepared
        .hosts
        .iter()
        .filter_map(|h| {
            let reviewed = saved.hosts.get(&h.job.host)?;
            (reviewed.binding
                != review::binding(&h.job, &prepared.plan_files, &connection_target(h)))
            .then(|| h.job.host.clone())
        })
        .collect();
    if !differ.is_empty() {
        return Err(BadInput::from(format!(
            "{}: the connection target, plan files, commands, checks, become or dump command for {} differ from what was reviewed: nothing was applied; review again (--dry-run --save)",
            path.display(),
            differ.join(", ")
        )));
    }
    let mut skipped = Vec::new();
    prepared
        .hosts
        .retain_mut(|h| match saved.hosts.get(&h.job.host) {
            Some(r) => {
                h.job.reviewed = Some(r.clone());
                true
            }
            None => {
                skipped.push(h.job.host.clone());
                false
            }
        });
    for host in &skipped {
        errln!("review: {host} was not part of the review: not applied");
    }
    if prepared.hosts.is_empty() {
        return Err(BadInput::from(format!(
            "{}: no host of the review is in the inventory any more",
            path.display()
        )));
    }
    let run = FleetRun {
        kind: RunKind::Apply { dry_run: false },
        diff: a.diff,
    };
    let (code, _) = run_fleet(prepared, &target, run).await?;
    Ok(if skipped.is_empty() {
        code
    } else {
        code.max(exit::HOST_FAILED)
    })
}

/// A saved review that cannot be read, as a usage error (at the place the JSON reader
/// stopped, when it is not JSON of a review).
fn bad_review(error: &review::ReviewFileError) -> BadInput {
    let said = match error {
        review::ReviewFileError::NotAReview { at, error } => {
            Said::at(at.clone(), format!("not a wsdeploy review: {error}"))
        }
        other => Said::new(other.to_string()),
    };
    BadInput::placed(super::InputKind::Usage, said)
}
