//! The command line: arguments (clap), validated in two layers — first everything that
//! needs no host (project, inventory, plan, variables: any error exits 3 with nothing
//! touched), then the fleet run and its report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::exit;
use crate::fleet::{self, FleetHost, FleetOptions, Serial};
use crate::host_run::{HostJob, Mode, RunOptions, Task};
use crate::inventory;
use crate::journal;
use crate::plan::{self, HostPlan};
use crate::reach;
use crate::report::event::Events;
use crate::report::out::{errln, outln};
use crate::report::progress::{self, Style};
use crate::report::{self, summary};
use crate::review;

/// wsdeploy — put WebSocket backends behind nginx, safely, on a whole fleet.
#[derive(Debug, Parser)]
#[command(name = "wsdeploy", version, about, long_about = None)]
pub struct Cli {
    /// Project directory (holds plans/ and inventories/).
    #[arg(short = 'C', long = "project", global = true, default_value = ".")]
    pub project: PathBuf,
    /// More output: -v every line of each step's output, -vv also each host's phases.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output: no progress, no diffs (unless --diff), only failures and the counts line.
    #[arg(short = 'q', long = "quiet", global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply a plan to the inventory's hosts (transaction per host, automatic rollback).
    Apply(ApplyArgs),
    /// Restore the dated backups of a day across the fleet.
    Rollback(RollbackArgs),
    /// Show hosts that differ from the plan (exit 2), or repair them with --repair.
    Drift(DriftArgs),
    /// Run the plan's checks (preflight and verify steps) without changing anything.
    #[command(alias = "doctor")]
    Verify(TargetArgs),
    /// List runs and dated backups per host.
    Backups(TargetArgs),
    /// Emit (or install) a systemd timer / cron line that runs drift repair.
    Schedule(ScheduleArgs),
    /// Check plans offline (syntax, step kinds, references, templates; variables with -i): exit 0 or 3.
    #[command(alias = "lint")]
    Validate(ValidateArgs),
    /// Show the resolved inventory (`--list`: as `ansible-inventory --list` prints it).
    Inventory(InventoryArgs),
    /// Print the JSON Schema of plan files (for editors; also docs/plan.schema.json).
    Schema,
    /// Print the shell completion script: `wsdeploy completions bash > /etc/bash_completion.d/wsdeploy`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: crate::shell_docs::Shell,
    },
    /// Print the man page (roff): `wsdeploy man > /usr/local/share/man/man1/wsdeploy.1`.
    Man,
}

/// `validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Plan files (default: every plans/*.yml of the project).
    pub plans: Vec<PathBuf>,
    /// Also check that every variable is defined for every host of this inventory
    /// (`-i` as for apply, with its vault options).
    #[command(flatten)]
    pub source: InventorySourceArgs,
    /// Extra variables, as for apply.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// With -i: only these hosts.
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
}

/// Inventory sources and the vault passwords that open them.
#[derive(Debug, Args, Clone, Default)]
pub struct InventorySourceArgs {
    /// Inventory: a name under inventories/, a file (YAML, INI or an executable script), a
    /// directory, or a host list `host1,host2,`. Repeat to merge several, as Ansible does
    /// [default: `inventory` in wsdeploy.toml].
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Vault password file (or an executable that prints the password). Repeatable.
    #[arg(long = "vault-password-file", alias = "vault-pass-file")]
    pub vault_password_files: Vec<PathBuf>,
    /// Vault password source with a vault id: LABEL@FILE, LABEL@SCRIPT or LABEL@prompt.
    #[arg(long = "vault-id")]
    pub vault_ids: Vec<String>,
    /// Ask for the vault password on the terminal.
    #[arg(short = 'J', long = "ask-vault-pass", alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
}

/// `inventory` arguments.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub source: InventorySourceArgs,
    /// Print every group, host and merged host variables as JSON (the default).
    #[arg(long = "list", conflicts_with = "host")]
    pub list: bool,
    /// Print one host's merged variables as JSON (as `ansible-inventory --host`).
    #[arg(long = "host")]
    pub host: Option<String>,
}

/// Inventory, plan and variables.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Inventory sources [default: `inventory` in wsdeploy.toml].
    #[command(flatten)]
    pub source: InventorySourceArgs,
    /// Plan file (default plans/site.yml).
    pub plan: Option<PathBuf>,
    /// Extra variables: key=value, a JSON object, or @file.yml (repeatable; highest precedence).
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Limit to hosts matching this pattern (host, group, a:b, a:!b, a:&b, globs).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Hosts run at the same time [default: 50, or `forks` in wsdeploy.toml].
    #[arg(short = 'f', long = "forks")]
    pub forks: Option<usize>,
    /// known_hosts file for host key verification (default ~/.ssh/known_hosts).
    #[arg(long = "known-hosts")]
    pub known_hosts: Option<PathBuf>,
    /// Record unknown host keys instead of refusing them (a changed key is always refused).
    #[arg(long = "accept-new-host-keys")]
    pub accept_new_host_keys: bool,
    /// Seconds to wait for a host's SSH connection [default: 10, or `connect_timeout` in wsdeploy.toml].
    #[arg(long = "connect-timeout")]
    pub connect_timeout: Option<u64>,
    /// Print JSON events and the final report as JSON lines.
    #[arg(long = "json")]
    pub json: bool,
    /// OpenSSH client config file (default: ~/.ssh/config when it exists).
    #[arg(short = 'F', long = "ssh-config")]
    pub ssh_config: Option<PathBuf>,
    /// Ask once for the SSH login password (or set WSDEPLOY_SSH_PASSWORD); ansible_password wins.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask once for the become (sudo) password (or set WSDEPLOY_BECOME_PASSWORD); ansible_become_password wins.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
}

/// `apply` arguments.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Batch size: N hosts or P% of them at a time.
    #[arg(long = "serial")]
    pub serial: Option<String>,
    /// Stop later batches when more than P% of a batch failed.
    #[arg(long = "max-fail")]
    pub max_fail: Option<String>,
    /// Show the diffs and commands; change nothing anywhere (alias: --check).
    #[arg(long = "dry-run", visible_alias = "check")]
    pub dry_run: bool,
    /// Show each file's diff (the default; with -q it brings the diffs back), as
    /// ansible-playbook's --diff.
    #[arg(long = "diff")]
    pub diff: bool,
    /// With --dry-run: save the reviewed plan (pre-image hashes and results) to FILE.
    #[arg(long = "save")]
    pub save: Option<PathBuf>,
    /// Apply exactly a saved review; refuse hosts whose files changed since.
    #[arg(long = "reviewed")]
    pub reviewed: Option<PathBuf>,
    /// Print the hosts the run would target, one per line, and stop (no connection).
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
}

/// `rollback` arguments.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The day whose `.backup-YYYY-MM-DD` files are restored.
    #[arg(long = "date")]
    pub date: String,
    /// Show what would be restored; change nothing anywhere (alias: --check).
    #[arg(long = "dry-run", visible_alias = "check")]
    pub dry_run: bool,
    /// Show each file's diff (the default; with -q it brings the diffs back).
    #[arg(long = "diff")]
    pub diff: bool,
}

/// `drift` arguments.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Repair the drift with full transaction semantics.
    #[arg(long = "repair")]
    pub repair: bool,
    /// Show each file's diff (the default; with -q it brings the diffs back).
    #[arg(long = "diff")]
    pub diff: bool,
}

/// `schedule` arguments.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Interval between runs: 15m, 1h, 2h30m, 1d (minimum 1m).
    #[arg(long = "every")]
    pub every: String,
    /// The scheduled run repairs drift (`drift --repair`) instead of only reporting it.
    #[arg(long = "repair")]
    pub repair: bool,
    /// Write the units (instead of printing them); then enable the timer yourself.
    #[arg(long = "install")]
    pub install: bool,
    /// Where --install writes the units.
    #[arg(long = "unit-dir", default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
}

/// `--forks` when neither the command line nor the project config sets it.
pub const DEFAULT_FORKS: usize = 50;
/// `--connect-timeout` (seconds) when neither the command line nor the config sets it.
pub const DEFAULT_CONNECT_TIMEOUT: u64 = 10;

/// A bad-input error: printed as is, exit 3.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs the CLI and returns the process exit code.
pub async fn main(cli: Cli) -> u8 {
    report::verbosity::set(if cli.quiet {
        -1
    } else {
        i8::try_from(cli.verbose).unwrap_or(i8::MAX)
    });
    let mut command = cli.command;
    let result = match crate::config::load(&cli.project) {
        Ok(config) => {
            with_config(&config, &mut command);
            run_command(&cli.project, command).await
        }
        Err(message) => Err(BadInput(message)),
    };
    match result {
        Ok(code) => code,
        Err(BadInput(message)) => {
            errln!("error: {message}");
            errln!("nothing was changed on any host.");
            exit::BAD_INPUT
        }
    }
}

/// Fills what the command line left unset from the project's `wsdeploy.toml`.
fn with_config(config: &crate::config::ProjectConfig, command: &mut Command) {
    let target = match command {
        Command::Apply(a) => &mut a.target,
        Command::Drift(d) => &mut d.target,
        Command::Verify(t) | Command::Backups(t) => t,
        Command::Rollback(r) => &mut r.target,
        Command::Schedule(s) => &mut s.target,
        Command::Validate(v) => {
            default_inventory(config, &mut v.source);
            return;
        }
        Command::Inventory(i) => {
            default_inventory(config, &mut i.source);
            return;
        }
        Command::Schema | Command::Completions { .. } | Command::Man => return,
    };
    default_inventory(config, &mut target.source);
    if target.forks.is_none() {
        target.forks = config.forks;
    }
    if target.connect_timeout.is_none() {
        target.connect_timeout = config.connect_timeout;
    }
    if target.known_hosts.is_none() {
        target.known_hosts.clone_from(&config.known_hosts);
    }
    if !target.accept_new_host_keys {
        target.accept_new_host_keys = config.accept_new_host_keys.unwrap_or(false);
    }
}

/// `inventory` of wsdeploy.toml when the command line names no `-i`.
fn default_inventory(config: &crate::config::ProjectConfig, source: &mut InventorySourceArgs) {
    if source.inventory.is_empty()
        && let Some(inventory) = &config.inventory
    {
        source.inventory.push(inventory.clone());
    }
}

async fn run_command(project: &Path, command: Command) -> Result<u8, BadInput> {
    match command {
        Command::Apply(a) => apply(project, &a).await,
        Command::Drift(d) => drift(project, &d).await,
        Command::Verify(t) => verify(project, &t).await,
        Command::Rollback(r) => rollback(project, &r).await,
        Command::Backups(t) => backups(project, &t).await,
        Command::Schedule(s) => schedule(project, &s),
        Command::Validate(v) => validate(project, &v),
        Command::Inventory(i) => inventory_list(project, &i),
        Command::Schema => {
            report::out::stdout(&plan::schema::plan_schema());
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            report::out::stdout(&crate::shell_docs::completions(shell));
            Ok(exit::OK)
        }
        Command::Man => crate::shell_docs::man_page()
            .map(|page| {
                report::out::stdout(&page);
                exit::OK
            })
            .map_err(|e| BadInput(format!("cannot render the man page: {e}"))),
    }
}

/// Everything resolved before any host is contacted.
struct Prepared {
    plan_name: String,
    hosts: Vec<FleetHost>,
    fleet: FleetOptions,
    /// sha256 of every plan file the plays came from (`path sha256` lines, sorted).
    plan_files: String,
}

/// Loads every `-i` with the vault passwords the command line names; prints warnings.
fn load_inventory(
    project: &Path,
    source: &InventorySourceArgs,
) -> Result<inventory::Inventory, BadInput> {
    load_inventory_keeping_keys(project, source).map(|(inv, _)| inv)
}

/// [`load_inventory`], also returning the vault passwords (for `-e @file`).
fn load_inventory_keeping_keys(
    project: &Path,
    source: &InventorySourceArgs,
) -> Result<(inventory::Inventory, crate::vault::VaultKeys), BadInput> {
    if source.inventory.is_empty() {
        return Err(BadInput(
            "no inventory given: pass -i NAME (inventories/NAME/hosts.yml), -i PATH or -i host1,host2,"
                .to_owned(),
        ));
    }
    let vault = crate::vault::VaultKeys::from_sources(&crate::vault::VaultSources {
        password_files: source.vault_password_files.clone(),
        vault_ids: source.vault_ids.clone(),
        ask: source.ask_vault_pass,
    })
    .map_err(BadInput)?;
    let options = inventory::LoadOptions { vault };
    let inv = inventory::load_inventory_args(&source.inventory, project, &options)
        .map_err(|e| BadInput(e.to_string()))?;
    for warning in inv.warnings() {
        errln!("warning: {warning}");
    }
    Ok((inv, options.vault))
}

/// The `-i` arguments as one text, for messages.
fn inventory_label(source: &InventorySourceArgs) -> String {
    source.inventory.join(" -i ")
}

/// The plan file a command names (default `plans/site.yml` of the project).
fn plan_path(project: &Path, t: &TargetArgs) -> PathBuf {
    match &t.plan {
        Some(p) if p.is_absolute() || p.exists() => p.clone(),
        Some(p) => project.join(p),
        None => project.join("plans/site.yml"),
    }
}

fn load_plan(project: &Path, t: &TargetArgs) -> Result<plan::Plan, BadInput> {
    plan::load(&plan_path(project, t)).map_err(|e| BadInput(e.message))
}

/// `apply --list-hosts`: the hosts a run would target (every play's `hosts:` narrowed by
/// `--limit`), in inventory order, one per line.
fn list_hosts(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let inv = load_inventory(project, &t.source)?;
    let plan = load_plan(project, t)?;
    let mut targeted = vec![false; inv.hosts().len()];
    for play in &plan.plays {
        for host in inv
            .select(&play.hosts, t.limit.as_deref())
            .map_err(|e| BadInput(e.to_string()))?
        {
            if let Some(index) = inv.hosts().iter().position(|h| h.name() == host.name()) {
                targeted[index] = true;
            }
        }
    }
    for (host, wanted) in inv.hosts().iter().zip(targeted) {
        if wanted {
            outln!("{}", host.name());
        }
    }
    Ok(exit::OK)
}

fn validate(project: &Path, v: &ValidateArgs) -> Result<u8, BadInput> {
    let inventory = if v.source.inventory.is_empty() {
        None
    } else {
        Some(load_inventory(project, &v.source)?)
    };
    crate::validate::run(
        project,
        &v.plans,
        inventory.as_ref(),
        &v.extra_vars,
        v.limit.as_deref(),
    )
    .map_err(BadInput)
}

fn inventory_list(project: &Path, i: &InventoryArgs) -> Result<u8, BadInput> {
    let inv = load_inventory(project, &i.source)?;
    let listed = inv.to_ansible_list();
    let value = match &i.host {
        None => listed,
        Some(name) => {
            if inv.host(name).is_none() {
                return Err(BadInput(format!(
                    "--host {name}: the inventory has no such host"
                )));
            }
            listed["_meta"]["hostvars"]
                .get(name)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}))
        }
    };
    let text = serde_json::to_string_pretty(&value)
        .map_err(|e| BadInput(format!("cannot print the inventory: {e}")))?;
    outln!("{text}");
    Ok(exit::OK)
}

fn prepare(
    project: &Path,
    t: &TargetArgs,
    serial: Option<Serial>,
    max_fail: Option<f64>,
) -> Result<Prepared, BadInput> {
    let (inv, keys) = load_inventory_keeping_keys(project, &t.source)?;
    let mut vault_values = inv.vault_values().to_vec();
    let (extra, extra_secrets) =
        inventory::parse_extra_vars_with_vault(&t.extra_vars, Path::new("."), &keys)
            .map_err(|e| BadInput(e.to_string()))?;
    vault_values.extend(extra_secrets);
    let plan_path = plan_path(project, t);
    let plan = plan::load(&plan_path).map_err(|e| BadInput(e.message))?;
    let mut files: Vec<&Path> = plan.plays.iter().map(|p| p.file.as_path()).collect();
    files.push(&plan_path);
    files.sort();
    files.dedup();
    let mut plan_files = String::new();
    for file in files {
        let bytes = std::fs::read(file)
            .map_err(|e| BadInput(format!("cannot read plan {}: {e}", file.display())))?;
        plan_files.push_str(&format!(
            "{} {}\n",
            file.display(),
            journal::sha256_hex(&bytes)
        ));
    }
    let mut per_host: Vec<(String, Vec<HostPlan>)> = Vec::new();
    for play in &plan.plays {
        let selected = inv
            .select(&play.hosts, t.limit.as_deref())
            .map_err(|e| BadInput(e.to_string()))?;
        for host in selected {
            let mut vars = plan::merge_vars(play, host.name(), host.vars(), &extra);
            let explicit = |name: &str| {
                host.vars().contains_key(name)
                    || play.vars.contains_key(name)
                    || extra.contains_key(name)
            };
            let pending = plan::facts::prepare(play, host.name(), explicit, &mut vars)
                .map_err(|e| BadInput(e.to_string()))?;
            let mut rendered =
                plan::render_play(play, host.name(), vars).map_err(|e| BadInput(e.to_string()))?;
            rendered.facts = pending.map(std::sync::Arc::new);
            // Values decrypted from a vault are secrets, masked like a play's `secrets:`.
            rendered.secret_values.extend(vault_values.iter().cloned());
            match per_host.iter_mut().find(|(h, _)| h == host.name()) {
                Some((_, plans)) => plans.push(rendered),
                None => per_host.push((host.name().to_owned(), vec![rendered])),
            }
        }
    }
    if per_host.is_empty() {
        return Err(BadInput(format!(
            "no host of -i {} matches the plan's plays{}",
            inventory_label(&t.source),
            t.limit
                .as_deref()
                .map(|l| format!(" with --limit {l}"))
                .unwrap_or_default()
        )));
    }
    let order: HashMap<&str, usize> = inv
        .hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name(), i))
        .collect();
    per_host.sort_by_key(|(h, _)| order.get(h.as_str()).copied().unwrap_or(usize::MAX));
    let mut reach = reach_settings(t)?;
    let mut warnings = reach::Warnings::default();
    let mut hosts = Vec::new();
    let mut warned: std::collections::BTreeSet<(String, String)> = Default::default();
    for (name, plans) in &per_host {
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
    for (name, plans) in per_host {
        let host = inv
            .hosts()
            .iter()
            .find(|h| h.name() == name)
            .ok_or_else(|| BadInput(format!("internal: host {name} vanished")))?;
        let vars = host.vars_with_extra(&extra);
        let connection = inventory::connection_from_vars(host.name(), &vars)
            .map_err(|e| BadInput(e.to_string()))?;
        reach::note_ignored_variables(host.name(), &vars, &mut warnings);
        let mut ssh = match connection.kind {
            inventory::ConnectionKind::Local => None,
            inventory::ConnectionKind::Ssh => Some(
                reach::ssh_target(host.name(), &connection, &reach, &mut warnings)
                    .map_err(BadInput)?,
            ),
        };
        let become_user =
            reach::elevation(host.name(), &connection, ssh.as_mut(), &reach).map_err(BadInput)?;
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
    let known_hosts = t.known_hosts.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".ssh/known_hosts")
    });
    Ok(Prepared {
        plan_name: plan.name,
        plan_files,
        hosts,
        fleet: FleetOptions {
            forks: t.forks.unwrap_or(DEFAULT_FORKS).max(1),
            serial,
            max_fail_percent: max_fail,
            known_hosts,
            accept_new_host_keys: t.accept_new_host_keys,
            connect_timeout: Duration::from_secs(
                t.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT).max(1),
            ),
        },
    })
}

/// `-F`, `-k`, `-K`, `--known-hosts` and friends, read before any host is contacted.
fn reach_settings(t: &TargetArgs) -> Result<reach::Reach, BadInput> {
    let config = crate::transport::ssh_config::SshConfig::load(t.ssh_config.as_deref())
        .map_err(|e| BadInput(format!("{e} (ssh config; choose another with -F FILE)")))?;
    for warning in config.warnings() {
        errln!("warning: {warning}");
    }
    let password = reach::password_from(reach::PASSWORD_ENV, t.ask_pass, "SSH password: ")
        .map_err(BadInput)?;
    let become_password = reach::password_from(
        reach::BECOME_PASSWORD_ENV,
        t.ask_become_pass,
        "BECOME password: ",
    )
    .map_err(BadInput)?;
    Ok(reach::Reach {
        config,
        defaults: crate::transport::ssh_config::RouteDefaults {
            known_hosts: t.known_hosts.clone(),
            accept_new_host_keys: t.accept_new_host_keys,
            connect_timeout: Duration::from_secs(
                t.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT).max(1),
            ),
            local_user: std::env::var("USER").unwrap_or_else(|_| "root".to_owned()),
        },
        password,
        become_password,
    })
}

fn today() -> Result<chrono::NaiveDate, BadInput> {
    match std::env::var("WSDEPLOY_TODAY") {
        Ok(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| BadInput(format!("WSDEPLOY_TODAY=`{d}` is not a date (YYYY-MM-DD)"))),
        Err(_) => Ok(chrono::Local::now().date_naive()),
    }
}

fn parse_percent(flag: &str, text: &str) -> Result<f64, BadInput> {
    let p: f64 = text.trim_end_matches('%').trim().parse().map_err(|_| {
        BadInput(format!(
            "{flag} `{text}`: expected a percentage such as 20%"
        ))
    })?;
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(BadInput(format!(
            "{flag} `{text}`: expected a percentage between 0% and 100%"
        )))
    }
}

async fn run_and_report(
    prepared: Prepared,
    t: &TargetArgs,
    mode: Mode,
    kind: &str,
    drift_mode: bool,
    diff: bool,
) -> Result<u8, BadInput> {
    Ok(
        run_fleet(prepared, t, mode, kind, drift_mode, Task::Plan, diff)
            .await?
            .0,
    )
}

async fn run_fleet(
    prepared: Prepared,
    t: &TargetArgs,
    mode: Mode,
    kind: &str,
    drift_mode: bool,
    task: Task,
    diff: bool,
) -> Result<(u8, Vec<crate::host_run::HostReport>), BadInput> {
    let show_diffs = diff || !report::verbosity::quiet();
    let opts = RunOptions {
        run_id: journal::new_run_id(),
        plan_name: prepared.plan_name.clone(),
        operator: journal::operator(),
        today: today()?,
        mode,
        kind: kind.to_owned(),
        task,
    };
    let tty = report::stdout_is_tty();
    let quiet = report::verbosity::quiet();
    let style = if t.json {
        Style::Json
    } else if quiet {
        Style::Quiet
    } else if tty && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        // Spinners and the lines printed above them go to stderr: a redirected stderr
        // gets plain lines instead (indicatif draws nothing to a file).
        Style::Bars
    } else {
        Style::Lines
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(progress::show(rx, style));
    let events = Events::to(tx);
    let reports = fleet::run(prepared.hosts, &prepared.fleet, &opts, &events).await;
    drop(events);
    let _ = printer.await;
    if t.json {
        for r in &reports {
            let mut value = serde_json::to_value(r).unwrap_or_default();
            mask_json(&mut value, &r.secrets);
            outln!(
                "{}",
                serde_json::json!({"event": "host_report", "report": value})
            );
        }
        outln!(
            "{}",
            serde_json::json!({
                "event": "summary",
                "run_id": opts.run_id,
                "kind": kind,
                "hosts": reports.len(),
                "counts": summary::counts_json(&reports),
                "exit": exit::for_reports(&reports, drift_mode),
            })
        );
    } else if quiet {
        let failed: Vec<_> = reports
            .iter()
            .filter(|r| r.error.is_some())
            .cloned()
            .collect();
        report::out::stdout(&summary::details(&failed, tty, show_diffs));
        if show_diffs {
            let changes: Vec<_> = reports
                .iter()
                .filter(|r| r.error.is_none())
                .cloned()
                .collect();
            report::out::stdout(&summary::details(&changes, tty, true));
        }
        outln!("{}", summary::counts(&reports));
    } else {
        report::out::stdout(&summary::details(&reports, tty, true));
        report::out::stdout(&summary::table(&reports));
    }
    Ok((exit::for_reports(&reports, drift_mode), reports))
}

fn mask_json(value: &mut serde_json::Value, secrets: &[String]) {
    match value {
        serde_json::Value::String(s) => *s = report::mask(s, secrets),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_json(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| mask_json(v, secrets)),
        _ => {}
    }
}

async fn apply(project: &Path, a: &ApplyArgs) -> Result<u8, BadInput> {
    if a.save.is_some() && !a.dry_run {
        return Err(BadInput(
            "--save records a review: use it with --dry-run".to_owned(),
        ));
    }
    if a.reviewed.is_some() && (a.dry_run || a.save.is_some()) {
        return Err(BadInput(
            "--reviewed applies a saved review: it cannot be combined with --dry-run or --save"
                .to_owned(),
        ));
    }
    let serial = a
        .serial
        .as_deref()
        .map(Serial::parse)
        .transpose()
        .map_err(BadInput)?;
    let max_fail = a
        .max_fail
        .as_deref()
        .map(|m| parse_percent("--max-fail", m))
        .transpose()?;
    if a.list_hosts {
        return list_hosts(project, &a.target);
    }
    if let Some(path) = &a.reviewed {
        let t = &a.target;
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
            return Err(BadInput(format!(
                "--reviewed applies exactly what the review names (its inventory, plan, -e and --limit): remove {} (to change them, review again with --dry-run --save)",
                given.join(", ")
            )));
        }
        return apply_reviewed(project, a, path, serial, max_fail).await;
    }
    if a.save.is_some() && a.target.source.inventory.len() > 1 {
        return Err(BadInput(
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
                review::binding(&h.job, &prepared.plan_files),
            )
        })
        .collect();
    let mode = if a.dry_run { Mode::DryRun } else { Mode::Apply };
    let (code, reports) = run_fleet(
        prepared,
        &a.target,
        mode,
        "apply",
        false,
        Task::Plan,
        a.diff,
    )
    .await?;
    if let Some(path) = &a.save {
        let mut hosts = std::collections::BTreeMap::new();
        for r in &reports {
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
        review::save(path, &saved).map_err(BadInput)?;
        errln!(
            "review saved to {} ({} hosts); apply it with: wsdeploy apply --reviewed {}",
            path.display(),
            saved.hosts.len(),
            path.display()
        );
    }
    Ok(code)
}

async fn apply_reviewed(
    project: &Path,
    a: &ApplyArgs,
    path: &Path,
    serial: Option<Serial>,
    max_fail: Option<f64>,
) -> Result<u8, BadInput> {
    let saved = review::load(path).map_err(BadInput)?;
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
            (reviewed.binding != review::binding(&h.job, &prepared.plan_files))
                .then(|| h.job.host.clone())
        })
        .collect();
    if !differ.is_empty() {
        return Err(BadInput(format!(
            "{}: the plan files, commands, checks, become or dump command for {} differ from what was reviewed: nothing was applied; review again (--dry-run --save)",
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
        return Err(BadInput(format!(
            "{}: no host of the review is in the inventory any more",
            path.display()
        )));
    }
    let (code, _) = run_fleet(
        prepared,
        &target,
        Mode::Apply,
        "apply",
        false,
        Task::Plan,
        a.diff,
    )
    .await?;
    Ok(if skipped.is_empty() {
        code
    } else {
        code.max(exit::HOST_FAILED)
    })
}

async fn drift(project: &Path, d: &DriftArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, &d.target, None, None)?;
    if d.repair {
        run_and_report(prepared, &d.target, Mode::Apply, "repair", false, d.diff).await
    } else {
        run_and_report(prepared, &d.target, Mode::DryRun, "drift", true, d.diff).await
    }
}

async fn verify(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    run_and_report(prepared, t, Mode::Verify, "verify", false, false).await
}

fn schedule(project: &Path, s: &ScheduleArgs) -> Result<u8, BadInput> {
    let minutes = crate::schedule::parse_every(&s.every).map_err(BadInput)?;
    let inventory = match s.target.source.inventory.as_slice() {
        [] => {
            return Err(BadInput(
                "no inventory given: pass -i NAME or -i PATH".to_owned(),
            ));
        }
        [one] => one.as_str(),
        _ => {
            return Err(BadInput(
                "schedule runs one inventory: give a single -i (a directory can hold several inventory files)"
                    .to_owned(),
            ));
        }
    };
    if s.target.source.ask_vault_pass
        || s.target
            .source
            .vault_ids
            .iter()
            .any(|id| id.ends_with("prompt"))
    {
        return Err(BadInput(
            "a scheduled run has no terminal to ask for the vault password: use --vault-password-file FILE or --vault-id LABEL@FILE"
                .to_owned(),
        ));
    }
    if s.target.ask_pass || s.target.ask_become_pass {
        return Err(BadInput(
            "a scheduled run has no terminal to ask for a password (-k/-K): put it in the inventory (ansible_password, ansible_become_password, for instance vault-encrypted), or give the user a key and a NOPASSWD sudo rule"
                .to_owned(),
        ));
    }
    // Validate now what the timer will run later.
    prepare(project, &s.target, None, None)?;
    let binary = std::env::current_exe()
        .map_err(|e| BadInput(format!("cannot locate the wsdeploy binary: {e}")))?;
    let project = project
        .canonicalize()
        .map_err(|e| BadInput(format!("project directory {}: {e}", project.display())))?;
    let mut extra = Vec::new();
    for e in &s.target.extra_vars {
        extra.push("-e".to_owned());
        extra.push(e.clone());
    }
    if let Some(l) = &s.target.limit {
        extra.push("--limit".to_owned());
        extra.push(l.clone());
    }
    for file in &s.target.source.vault_password_files {
        let file = file.canonicalize().unwrap_or_else(|_| file.clone());
        extra.push("--vault-password-file".to_owned());
        extra.push(file.display().to_string());
    }
    for id in &s.target.source.vault_ids {
        extra.push("--vault-id".to_owned());
        extra.push(id.clone());
    }
    if let Some(k) = &s.target.known_hosts {
        extra.push("--known-hosts".to_owned());
        extra.push(k.display().to_string());
    }
    if let Some(config) = &s.target.ssh_config {
        let config = config.canonicalize().unwrap_or_else(|_| config.clone());
        extra.push("-F".to_owned());
        extra.push(config.display().to_string());
    }
    if let Some(f) = s.target.forks {
        extra.push("--forks".to_owned());
        extra.push(f.to_string());
    }
    if let Some(c) = s.target.connect_timeout {
        extra.push("--connect-timeout".to_owned());
        extra.push(c.to_string());
    }
    if s.target.accept_new_host_keys {
        extra.push("--accept-new-host-keys".to_owned());
    }
    let plan = s.target.plan.as_ref().map(|p| p.display().to_string());
    let units = crate::schedule::render(&crate::schedule::ScheduleSpec {
        binary: &binary,
        project: &project,
        inventory,
        plan: plan.as_deref(),
        extra_args: &extra,
        minutes,
        repair: s.repair,
    });
    if s.install {
        let dir = s.unit_dir.as_path();
        // The service holds the `-e` values, which may be secrets: root-only.
        for (suffix, text, mode) in [
            ("service", &units.service, 0o600),
            ("timer", &units.timer, 0o644),
        ] {
            let path = dir.join(format!("{}.{suffix}", units.name));
            write_with_mode(&path, text, mode).map_err(|e| {
                BadInput(format!(
                    "cannot write {}: {e} (run as root)",
                    path.display()
                ))
            })?;
            outln!("wrote {}", path.display());
        }
        outln!(
            "enable it with: systemctl daemon-reload && systemctl enable --now {}.timer",
            units.name
        );
    } else {
        outln!(
            "# /etc/systemd/system/{}.service\n{}",
            units.name,
            units.service
        );
        outln!(
            "# /etc/systemd/system/{}.timer\n{}",
            units.name,
            units.timer
        );
        match &units.cron {
            Some(line) => outln!(
                "# or, without systemd, in /etc/cron.d/{}:\n{line}",
                units.name
            ),
            None => outln!(
                "# no cron line: an interval of {minutes} minutes does not fit cron's fields"
            ),
        }
    }
    Ok(exit::OK)
}

/// Writes `text` to `path` with exactly `mode` (also when the file existed with another).
fn write_with_mode(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.set_len(0)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

async fn rollback(project: &Path, r: &RollbackArgs) -> Result<u8, BadInput> {
    let date = chrono::NaiveDate::parse_from_str(&r.date, "%Y-%m-%d").map_err(|_| {
        BadInput(format!(
            "--date `{}`: expected YYYY-MM-DD (the day whose .backup-YYYY-MM-DD files to restore)",
            r.date
        ))
    })?;
    let prepared = prepare(project, &r.target, None, None)?;
    let mode = if r.dry_run { Mode::DryRun } else { Mode::Apply };
    Ok(run_fleet(
        prepared,
        &r.target,
        mode,
        "rollback",
        false,
        Task::Rollback(date),
        r.diff,
    )
    .await?
    .0)
}

async fn backups(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    Ok(run_fleet(
        prepared,
        t,
        Mode::DryRun,
        "backups",
        false,
        Task::Backups,
        false,
    )
    .await?
    .0)
}
