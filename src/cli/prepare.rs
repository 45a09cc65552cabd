//! Resolving a command's project before any host is contacted: inventories (with vault
//! passwords), the plan, per-host rendering, connection settings; every problem is bad input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    BadInput, ConnectionArgs, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FORKS, InputKind,
    InventorySourceArgs, Said, TargetArgs, plan_problems,
};
use crate::fleet::{FleetHost, FleetOptions, Serial};
use crate::inventory;
use crate::location::Location;
use crate::plan::{self, HostPlan};
use crate::reach;
use crate::report;
use crate::report::out::errln;
use crate::run::HostJob;

/// Everything resolved before any host is contacted.
pub(super) struct Prepared {
    pub(super) plan_name: String,
    pub(super) hosts: Vec<FleetHost>,
    pub(super) fleet: FleetOptions,
    /// sha256 of every plan file the plays came from (`path sha256` lines, sorted).
    pub(super) plan_files: String,
    /// Where the run is recorded, and where its record waits when that fails.
    pub(super) history: crate::history::Location,
    pub(super) spool: PathBuf,
}

/// Loads every `-i` with the vault passwords the command line names and the variables
/// files beside the playbook (see [`playbook_dir`]; `plan` is the plan file the command
/// runs, if any); prints warnings.
pub(super) fn load_inventory(
    project: &Path,
    source: &InventorySourceArgs,
    plan: Option<&Path>,
) -> Result<inventory::Inventory, BadInput> {
    load_inventory_keeping_keys(project, source, plan).map(|(inv, _)| inv)
}

/// The directory whose `group_vars/` and `host_vars/` apply above the inventory's, as
/// Ansible's playbook directory: `--playbook-dir` (relative to the project unless it exists
/// as given), else the directory of the plan, else the project's `plans/` (where the
/// default plan lives), so `inventory` shows what `apply` uses.
pub(super) fn playbook_dir(
    project: &Path,
    source: &InventorySourceArgs,
    plan: Option<&Path>,
) -> PathBuf {
    match (&source.playbook_dir, plan) {
        (Some(dir), _) if dir.is_absolute() || dir.exists() => dir.clone(),
        (Some(dir), _) => project.join(dir),
        (None, Some(plan)) => plan
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        (None, None) => project.join(DEFAULT_PLANS_DIR),
    }
}

/// Where the plans of a project live (the default plan is `plans/site.yml`).
pub(super) const DEFAULT_PLANS_DIR: &str = "plans";

/// [`load_inventory`], also returning the vault passwords (for `-e @file`).
pub(super) fn load_inventory_keeping_keys(
    project: &Path,
    source: &InventorySourceArgs,
    plan: Option<&Path>,
) -> Result<(inventory::Inventory, crate::vault::VaultKeys), BadInput> {
    load_inventory_with(project, source, plan, Vaulted::MustOpen)
}

/// What loading an inventory does with vaulted data when no vault password is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vaulted {
    /// Refuses it (the plan is rendered: every value may be needed).
    MustOpen,
    /// Leaves it unread (the plan is not rendered).
    MayStayUnread,
}

/// [`load_inventory_keeping_keys`]; with [`Vaulted::MayStayUnread`] and no vault
/// password, vaulted data is left unread instead of refused.
fn load_inventory_with(
    project: &Path,
    source: &InventorySourceArgs,
    plan: Option<&Path>,
    vaulted: Vaulted,
) -> Result<(inventory::Inventory, crate::vault::VaultKeys), BadInput> {
    if source.inventory.is_empty() {
        return Err(BadInput::from(
            "no inventory given: pass -i NAME (inventories/NAME/hosts.yml), -i PATH or -i host1,host2,"
                .to_owned(),
        ));
    }
    let vault = crate::vault::VaultKeys::from_sources(&crate::vault::VaultSources {
        password_files: source.vault_password_files.clone(),
        vault_ids: source.vault_ids.clone(),
        ask: source.ask_vault_pass,
    })
    .map_err(|error| BadInput::of(InputKind::Vault, error.to_string()))?;
    let options = inventory::LoadOptions {
        vault,
        playbook_dir: Some(playbook_dir(project, source, plan)),
        unread_vault_ok: vaulted == Vaulted::MayStayUnread,
    };
    let inv = inventory::load_inventory_args(&source.inventory, project, &options)
        .map_err(|e| inventory_error(InputKind::Inventory, &e))?;
    for warning in inv.warnings() {
        errln!("warning: {warning}");
    }
    Ok((inv, options.vault))
}

/// The `-i` arguments as one text, for messages.
pub(super) fn inventory_label(source: &InventorySourceArgs) -> String {
    source.inventory.join(" -i ")
}

/// The plan file a command names (default `plans/site.yml` of the project).
pub(super) fn plan_path(project: &Path, t: &TargetArgs) -> PathBuf {
    match &t.plan {
        Some(p) if p.is_absolute() || p.exists() => p.clone(),
        Some(p) => project.join(p),
        None => project.join(DEFAULT_PLANS_DIR).join("site.yml"),
    }
}

pub(super) fn load_plan(project: &Path, t: &TargetArgs) -> Result<plan::Plan, BadInput> {
    plan::load(&plan_path(project, t)).map_err(|e| plan_load_error(&e))
}

/// A plan that cannot be loaded, as bad input (at its place, when it has one).
fn plan_load_error(e: &plan::PlanError) -> BadInput {
    BadInput::placed(
        InputKind::Plan,
        Said::maybe_at(e.location.clone(), e.message.clone()).with_hints(e.hints.clone()),
    )
}

/// A plan that cannot be rendered for the hosts, as bad input.
fn plan_render_error(e: &crate::project::RenderHostsError) -> BadInput {
    match e {
        crate::project::RenderHostsError::Hosts(e) => {
            BadInput::placed(InputKind::Plan, inventory_said(e))
        }
        crate::project::RenderHostsError::Render(e) => BadInput::placed(
            InputKind::Plan,
            Said::at(
                (*e.origin).clone(),
                format!("step `{}` for host {}: {}", e.step, e.host, e.message),
            ),
        ),
    }
}

/// An inventory error as bad input of `kind`, or of kind `vault` when vaulted data could
/// not be decrypted.
fn inventory_error(kind: InputKind, e: &inventory::InventoryError) -> BadInput {
    let kind = match e {
        inventory::InventoryError::Vault { .. } => InputKind::Vault,
        _ => kind,
    };
    BadInput::placed(kind, inventory_said(e))
}

/// An inventory error met outside loading the inventory (a host pattern, `-e`), as a
/// usage error.
pub(super) fn inventory_usage_error(e: &inventory::InventoryError) -> BadInput {
    BadInput::placed(InputKind::Usage, inventory_said(e))
}

/// An inventory error in parts: its place when it is in a file, the host it is about.
fn inventory_said(e: &inventory::InventoryError) -> Said {
    let said = Said::maybe_at(e.location(), e.what());
    match e.host() {
        Some(host) => said.about_host(host),
        None => said,
    }
}

pub(super) fn prepare(
    project: &Path,
    t: &TargetArgs,
    serial: Option<Serial>,
    max_fail: Option<f64>,
) -> Result<Prepared, BadInput> {
    check_ranges(t)?;
    let shape = RunShape {
        serial,
        max_fail,
        history: history_location(project, t)?,
        render: true,
    };
    prepare_with(project, t, shape)
}

/// [`prepare`](fn@prepare) without rendering the plan: the hosts its plays' `hosts:` patterns select,
/// each with no plan (for `backups` and `rollback`, which read what to do from the hosts'
/// journals). A vaulted variable needs no vault password here.
pub(super) fn locate(project: &Path, t: &TargetArgs) -> Result<Prepared, BadInput> {
    let shape = RunShape {
        serial: None,
        max_fail: None,
        history: history_location(project, t)?,
        render: false,
    };
    prepare_with(project, t, shape)
}

/// Where the run is recorded (`--history`, `history` in wsdeploy.toml, else the project's
/// SQLite file).
fn history_location(project: &Path, t: &TargetArgs) -> Result<crate::history::Location, BadInput> {
    crate::history::Location::parse(t.history.as_deref(), project)
        .map_err(|error| BadInput::from(error.to_string()))
}

/// The inventory (vaulted data left unread when the plan is not rendered and no vault
/// password is given), `-e`, and the run's mask list, made once: every later message and
/// plan uses it.
fn prepare_with(project: &Path, t: &TargetArgs, shape: RunShape) -> Result<Prepared, BadInput> {
    let plan = plan_path(project, t);
    let vaulted = if shape.render {
        Vaulted::MustOpen
    } else {
        Vaulted::MayStayUnread
    };
    let (inv, keys) = load_inventory_with(project, &t.source, Some(&plan), vaulted)?;
    let (extra, extra_secrets) =
        inventory::parse_extra_vars_with_vault(&t.extra_vars, Path::new("."), &keys)
            .map_err(|e| inventory_error(InputKind::Variables, &e))?;
    let mut masked = inv.secret_values(&extra);
    masked.extend(extra_secrets);
    prepare_hosts(project, t, &inv, &extra, &masked, shape).map_err(|bad| bad.masked(&masked))
}

/// The hosts the plays select, in inventory order, each with no plan.
fn located_hosts(
    plan: &plan::Plan,
    inv: &inventory::Inventory,
    limit: Option<&str>,
) -> Result<Vec<(String, Vec<HostPlan>)>, BadInput> {
    let mut names: Vec<&str> = Vec::new();
    for play in &plan.plays {
        for host in inv
            .select(&play.hosts, limit)
            .map_err(|e| inventory_error(InputKind::Inventory, &e))?
        {
            names.push(host.name());
        }
    }
    Ok(inv
        .hosts()
        .iter()
        .filter(|h| names.contains(&h.name()))
        .map(|h| (h.name().to_owned(), Vec::new()))
        .collect())
}

/// How [`prepare_hosts`] shapes the run besides its hosts: batches, max-fail, where the
/// run is recorded, and whether the plan is rendered (not for `backups`/`rollback`, which
/// only locate hosts).
struct RunShape {
    serial: Option<Serial>,
    max_fail: Option<f64>,
    history: crate::history::Location,
    render: bool,
}

/// The plan at `plan_path`; an error is followed by the plan's other problems.
fn load_plan_for_run(
    plan_path: &Path,
    inv: &inventory::Inventory,
    extra: &serde_json::Map<String, serde_json::Value>,
    limit: Option<&str>,
) -> Result<plan::Plan, BadInput> {
    plan::load(plan_path).map_err(|e| {
        // Where `validate` reports the same error (a plan it cannot read: the file).
        let at =
            (e.location.clone()).unwrap_or_else(|| Location::file(plan_path.display().to_string()));
        plan_problems::plan_error(plan_load_error(&e), Some(&at), plan_path, inv, extra, limit)
    })
}

/// The plan rendered for every host `limit` selects; a rendering error is reported at
/// its place in the plan, with the plan's other problems.
fn rendered_hosts(
    plan: &plan::Plan,
    plan_path: &Path,
    inv: &inventory::Inventory,
    extra: &serde_json::Map<String, serde_json::Value>,
    masked: &[String],
    limit: Option<&str>,
) -> Result<Vec<(String, Vec<plan::HostPlan>)>, BadInput> {
    crate::project::render_for_hosts(plan, inv, limit, extra, masked).map_err(|e| {
        let at = e.location().cloned();
        plan_problems::plan_error(
            plan_render_error(&e),
            at.as_ref(),
            plan_path,
            inv,
            extra,
            limit,
        )
    })
}

/// [`prepare`](fn@prepare) once the inventory and `-e` are read: the plan rendered for every host (or,
/// without `render`, only the hosts located) and each host's connection settings.
fn prepare_hosts(
    project: &Path,
    t: &TargetArgs,
    inv: &inventory::Inventory,
    extra: &serde_json::Map<String, serde_json::Value>,
    masked: &[String],
    shape: RunShape,
) -> Result<Prepared, BadInput> {
    let RunShape {
        serial,
        max_fail,
        history,
        render,
    } = shape;
    let plan_path = plan_path(project, t);
    let limit = t.limit.as_deref();
    let plan = load_plan_for_run(&plan_path, inv, extra, limit)?;
    let plan_files = plan_file_sums(&plan, &plan_path)?;
    warn_unmatched_hosts(&plan, inv);
    let per_host = if render {
        rendered_hosts(&plan, &plan_path, inv, extra, masked, limit)?
    } else {
        located_hosts(&plan, inv, limit)?
    };
    if per_host.is_empty() {
        return Err(no_host_matches(t));
    }
    let mut reach = reach_settings(t)?;
    let mut warnings = reach::Warnings::default();
    let mut hosts = Vec::new();
    warn_short_secrets(&per_host);
    // Passwords from the environment or a prompt are masked like the inventory's.
    let prompted: Vec<String> = [&reach.password, &reach.become_password]
        .into_iter()
        .flatten()
        .map(|secret| secret.expose().to_owned())
        .filter(|text| !text.is_empty())
        .collect();
    for (name, mut plans) in per_host {
        for plan in &mut plans {
            plan.secret_values.extend(prompted.iter().cloned());
        }
        let host = inv
            .hosts()
            .iter()
            .find(|h| h.name() == name)
            .ok_or_else(|| BadInput::from(format!("internal: host {name} vanished")))?;
        let vars = host.vars_with_extra(extra);
        let connection = inventory::connection_from_vars(host.name(), &vars)
            .map_err(|e| inventory_error(InputKind::Inventory, &e))?;
        reach::note_ignored_variables(host.name(), &vars, &mut warnings);
        let mut ssh = match connection.kind {
            inventory::ConnectionKind::Local => None,
            inventory::ConnectionKind::Ssh => Some(
                reach::ssh_target(host.name(), &connection, &reach, &mut warnings)
                    .map_err(|e| connection_error(&e))?,
            ),
        };
        let become_user = reach::elevation(host.name(), &connection, ssh.as_mut(), &reach)
            .map_err(|e| connection_error(&e))?;
        let nginx_dump = plans.iter().find_map(|p| p.nginx_dump.clone());
        hosts.push(FleetHost {
            job: HostJob {
                host: name,
                plans,
                become_user,
                nginx_dump,
                reviewed: None,
            },
            connection,
            ssh,
        });
    }
    for warning in warnings.lines() {
        errln!("warning: {warning}");
    }
    reach.password = None;
    let known_hosts = t
        .connection
        .known_hosts
        .clone()
        .unwrap_or_else(crate::transport::ssh_config::default_known_hosts);
    Ok(Prepared {
        plan_name: plan.name,
        plan_files,
        history,
        spool: crate::history::spool_dir(project),
        hosts,
        fleet: FleetOptions {
            forks: t.forks.unwrap_or(DEFAULT_FORKS).max(1),
            serial,
            max_fail_percent: max_fail,
            known_hosts,
            accept_new_host_keys: t.connection.accept_new_host_keys,
            connect_timeout: Duration::from_secs(
                t.connection
                    .connect_timeout
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
                    .max(1),
            ),
        },
    })
}

/// A host that cannot be reached as configured, as bad input.
fn connection_error(e: &reach::ReachError) -> BadInput {
    let said = Said::maybe_at(e.location.clone(), e.what.clone());
    BadInput::placed(
        InputKind::Connection,
        match &e.host {
            Some(host) => said.about_host(host.clone()),
            None => said,
        },
    )
}

/// The error of a run whose plays (with `--limit`) select no host.
fn no_host_matches(t: &TargetArgs) -> BadInput {
    BadInput::of(
        InputKind::Inventory,
        format!(
            "no host of -i {} matches the plan's plays{}",
            inventory_label(&t.source),
            t.limit
                .as_deref()
                .map(|l| format!(" with --limit {l}"))
                .unwrap_or_default()
        ),
    )
}

/// `path sha256` of every plan file the plays came from, sorted, one a line.
fn plan_file_sums(plan: &plan::Plan, plan_path: &Path) -> Result<String, BadInput> {
    let mut files: Vec<&Path> = plan.plays.iter().map(|p| p.file.as_path()).collect();
    files.push(plan_path);
    files.sort();
    files.dedup();
    let mut plan_files = String::new();
    for file in files {
        let bytes = std::fs::read(file)
            .map_err(|e| BadInput::from(format!("cannot read plan {}: {e}", file.display())))?;
        plan_files.push_str(&format!(
            "{} {}\n",
            file.display(),
            crate::digest::sha256_hex(&bytes)
        ));
    }
    Ok(plan_files)
}

/// Warns once per play and secret about `secrets:` too short to be masked everywhere.
fn warn_short_secrets(per_host: &[(String, Vec<HostPlan>)]) {
    let mut warned: std::collections::BTreeSet<(String, String)> = Default::default();
    for (name, plans) in per_host {
        for plan in plans {
            for secret in &plan.short_secrets {
                if warned.insert((plan.play.clone(), secret.clone())) {
                    errln!(
                        "warning: secret `{secret}` of play `{}` (host {name}) is shorter than {} characters: it is masked only where it stands as a whole value, so output may still show it (use a longer value)",
                        plan.play,
                        report::MIN_SECRET_LEN
                    );
                }
            }
        }
    }
}

/// `-F`, `-k`, `-K`, `--known-hosts` and friends, read before any host is contacted.
pub(super) fn reach_settings(t: &TargetArgs) -> Result<reach::Reach, BadInput> {
    let mut reach = reach_without_passwords(&t.connection)?;
    reach.password = reach::password_from(reach::PASSWORD_ENV, t.ask_pass, "SSH password: ")
        .map_err(BadInput::from)?;
    reach.become_password = reach::password_from(
        reach::BECOME_PASSWORD_ENV,
        t.ask_become_pass,
        "BECOME password: ",
    )
    .map_err(BadInput::from)?;
    Ok(reach)
}

/// The ssh_config and the run-wide SSH defaults (no password asked).
pub(super) fn reach_without_passwords(
    connection: &ConnectionArgs,
) -> Result<reach::Reach, BadInput> {
    let connect_timeout = connection.connect_timeout;
    let config = crate::transport::ssh_config::SshConfig::load(connection.ssh_config.as_deref())
        .map_err(|e| {
            BadInput::placed(
                InputKind::Usage,
                Said::at(
                    e.at,
                    format!("{} (ssh config; choose another with -F FILE)", e.message),
                ),
            )
        })?;
    Ok(reach::Reach {
        config,
        defaults: crate::transport::ssh_config::RouteDefaults {
            known_hosts: connection.known_hosts.clone(),
            accept_new_host_keys: connection.accept_new_host_keys,
            connect_timeout: Duration::from_secs(
                connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT).max(1),
            ),
            connect_timeout_chosen: connect_timeout.is_some(),
            local_user: crate::transport::ssh_config::local_user(),
        },
        password: None,
        become_password: None,
    })
}

pub(super) fn today() -> Result<chrono::NaiveDate, BadInput> {
    match std::env::var("WSDEPLOY_TODAY") {
        Ok(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            BadInput::from(format!("WSDEPLOY_TODAY=`{d}` is not a date (YYYY-MM-DD)"))
        }),
        Err(_) => Ok(chrono::Local::now().date_naive()),
    }
}

/// Says, as Ansible does, which terms of a play's `hosts:` match nothing (a typo there
/// silently drops the play).
pub(super) fn warn_unmatched_hosts(plan: &plan::Plan, inv: &inventory::Inventory) {
    for play in &plan.plays {
        for term in inv.unmatched_terms(&play.hosts).unwrap_or_default() {
            // A near name is likely a typo; another is likely a group this inventory lacks.
            let names = crate::validate::inventory_names(inv);
            // A group the inventory has, without hosts (yet): nothing to warn about.
            if names.contains(&term) {
                continue;
            }
            let guess = crate::plan::hints::closest_name(&term, &names);
            errln!(
                "{}: play `{}` ({}): `hosts: {}`: `{term}` matches no host or group of the inventory; the play skips it{}",
                if guess.is_some() { "warning" } else { "note" },
                play.name,
                play.file.display(),
                play.hosts,
                guess
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default()
            );
        }
    }
}

/// `--forks` and `--connect-timeout` (from the command line or wsdeploy.toml) in range.
fn check_ranges(t: &TargetArgs) -> Result<(), BadInput> {
    if t.forks == Some(0) {
        return Err(BadInput::from(
            "--forks `0`: at least 1 host must run at a time (from --forks or `forks` in wsdeploy.toml); give 1 or more".to_owned(),
        ));
    }
    if t.connection.connect_timeout == Some(0) {
        return Err(BadInput::from(
            "--connect-timeout `0`: give at least 1 second (from --connect-timeout or `connect_timeout` in wsdeploy.toml)".to_owned(),
        ));
    }
    Ok(())
}

/// A percentage written with its sign (`30%`): a bare `30` could as well mean 30 hosts.
pub(super) fn parse_percent(flag: &str, text: &str) -> Result<f64, BadInput> {
    let number = text.trim().strip_suffix('%');
    if number.is_none() && text.trim().parse::<f64>().is_ok() {
        return Err(BadInput::from(format!(
            "{flag} `{text}`: write the percentage with its sign, such as `{flag} {}%` (a bare number could be read as a host count)",
            text.trim()
        )));
    }
    let p: f64 = number.unwrap_or(text).trim().parse().map_err(|_| {
        BadInput::from(format!(
            "{flag} `{text}`: expected a percentage such as 20%"
        ))
    })?;
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(BadInput::from(format!(
            "{flag} `{text}`: expected a percentage between 0% and 100%"
        )))
    }
}
