//! The command line: arguments (clap), validated in two layers — first everything that
//! needs no host (project, inventory, plan, variables: any error exits 3 with nothing
//! touched), then the fleet run and its report.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::exit;
use crate::plan;
use crate::report;
use crate::report::out::{errln, outln};

mod apply;
mod bad_input;
mod check;
mod history;
mod hosts;
mod plan_problems;
mod prepare;
mod restore;
mod run;
mod run_kind;
mod schedule;
pub mod shell_docs;
mod ssh_route;
mod validate;

use apply::apply;
pub use bad_input::{BadInput, InputKind, Said};
use check::{drift, verify};
use history::{HistoryAction, HistoryArgs, ReportArgs, history_command, report_command};
use hosts::inventory_list;
use restore::{backups, rollback};
use schedule::schedule;
use ssh_route::ssh_config;
use validate::validate;

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
    /// Undo a day of runs (--date: the state before its first run) or exactly one run (--run).
    Rollback(RollbackArgs),
    /// Show hosts that differ from the plan (exit 2), or repair them with --repair.
    Drift(DriftArgs),
    /// Run the plan's checks (preflight and verify steps) without changing anything.
    #[command(alias = "doctor")]
    Verify(TargetArgs),
    /// List runs and dated backups per host.
    Backups(TargetArgs),
    /// List the recorded runs (`history show RUN`: one run, as `apply` printed it).
    History(HistoryArgs),
    /// Write the fleet report from the run history: `report --html FILE`.
    Report(ReportArgs),
    /// Emit (or install) a systemd timer / cron line that runs drift repair.
    Schedule(ScheduleArgs),
    /// Check plans offline (syntax, step kinds, references, templates; variables with -i): exit 0 or 3.
    #[command(alias = "lint")]
    Validate(ValidateArgs),
    /// Show the resolved inventory (`--list`: as `ansible-inventory --list` prints it).
    Inventory(InventoryArgs),
    /// Show how each host is reached (as `ssh -G`): address, user, port, keys, agent,
    /// jump hosts, known_hosts file; no connection is made.
    #[command(name = "ssh-config")]
    SshConfig(SshConfigArgs),
    /// Print the JSON Schema of plan files (for editors; also docs/plan.schema.json).
    Schema,
    /// Print the shell completion script: `wsdeploy completions bash > /etc/bash_completion.d/wsdeploy`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: shell_docs::Shell,
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
    /// Directory whose group_vars/ and host_vars/ apply above those beside the inventory,
    /// as Ansible's playbook directory [default: the plan's directory; plans/ for commands
    /// without a plan].
    #[arg(long = "playbook-dir", value_name = "DIR")]
    pub playbook_dir: Option<PathBuf>,
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

/// How hosts are reached: the OpenSSH client config, the known_hosts file and its
/// policy, the connection timeout (`wsdeploy.toml` fills what the command line leaves).
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// OpenSSH client config file (default: ~/.ssh/config when it exists).
    #[arg(short = 'F', long = "ssh-config")]
    pub ssh_config: Option<PathBuf>,
    /// known_hosts file for host key verification (default ~/.ssh/known_hosts).
    #[arg(long = "known-hosts")]
    pub known_hosts: Option<PathBuf>,
    /// Record unknown host keys instead of refusing them (a changed key is always refused).
    #[arg(long = "accept-new-host-keys")]
    pub accept_new_host_keys: bool,
    /// Seconds to wait for a host's SSH connection [default: 10, or `connect_timeout` in wsdeploy.toml].
    #[arg(long = "connect-timeout")]
    pub connect_timeout: Option<u64>,
}

/// `ssh-config` arguments (it connects to no host: its connection options say what a
/// run would do).
#[derive(Debug, Args)]
#[command(mut_arg("accept_new_host_keys", |arg| arg.help("As for apply: unknown host keys would be recorded")))]
#[command(mut_arg("connect_timeout", |arg| arg.help("As for apply: seconds to wait for a host's SSH connection")))]
pub struct SshConfigArgs {
    /// Hosts: inventory names or patterns with -i; without an inventory, names looked
    /// up in the ssh_config alone (as `ssh -G NAME`).
    #[arg(required = true, value_name = "HOST")]
    pub hosts: Vec<String>,
    #[command(flatten)]
    pub source: InventorySourceArgs,
    /// Extra variables, as for apply (they can set ansible_host, ansible_user...).
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
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
    /// Hosts run at the same time [default: 200, or `forks` in wsdeploy.toml].
    #[arg(short = 'f', long = "forks")]
    pub forks: Option<usize>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print JSON events and the final report as JSON lines.
    #[arg(long = "json")]
    pub json: bool,
    /// Ask once for the SSH login password (or set WSDEPLOY_SSH_PASSWORD); ansible_password wins.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask once for the become (sudo) password (or set WSDEPLOY_BECOME_PASSWORD); ansible_become_password wins.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    /// The run history: a SQLite file or a `postgres://` URL [default:
    /// .wsdeploy/history.db in the project, or `history` in wsdeploy.toml].
    #[arg(long = "history")]
    pub history: Option<String>,
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
    /// Undo every run of that day: each file they changed gets back the state it had
    /// before the day's first run (its `.backup-YYYY-MM-DD`).
    #[arg(long = "date", required_unless_present = "run", conflicts_with = "run")]
    pub date: Option<String>,
    /// Undo exactly one run (an id `wsdeploy backups` lists); refused for a file a later
    /// run changed.
    #[arg(long = "run", value_name = "RUN_ID")]
    pub run: Option<String>,
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

/// `--forks` when neither the command line nor the project config sets it: chosen from
/// light-fleet measurements (docs/operations.md, "Many hosts"): memory and descriptors
/// per host in flight, against the time saved by fewer waves.
pub const DEFAULT_FORKS: usize = 200;
/// `--connect-timeout` (seconds) when neither the command line nor the config sets it.
pub const DEFAULT_CONNECT_TIMEOUT: u64 = 10;

/// Runs the CLI and returns the process exit code.
pub async fn main(cli: Cli) -> u8 {
    report::verbosity::set(if cli.quiet {
        -1
    } else {
        i8::try_from(cli.verbose).unwrap_or(i8::MAX)
    });
    let mut command = cli.command;
    let json = wants_json(&command);
    let result = match crate::config::load(&cli.project) {
        Ok(config) => {
            with_config(&config, &mut command);
            run_command(&cli.project, command).await
        }
        Err(crate::config::ConfigError::Invalid { location, message }) => Err(BadInput::placed(
            InputKind::Config,
            Said::at(location, message),
        )),
        Err(other) => Err(BadInput::of(InputKind::Config, other.to_string())),
    };
    match result {
        Ok(code) => code,
        Err(bad) => {
            errln!("error: {bad}");
            errln!("nothing was changed on any host.");
            if json {
                outln!("{}", bad.json(exit::BAD_INPUT));
            }
            exit::BAD_INPUT
        }
    }
}

/// Whether the command was asked for `--json` (its bad input is then also a JSON object on
/// standard output).
fn wants_json(command: &Command) -> bool {
    match command {
        Command::Apply(a) => a.target.json,
        Command::Drift(d) => d.target.json,
        Command::Verify(t) | Command::Backups(t) => t.json,
        Command::Rollback(r) => r.target.json,
        Command::History(h) => {
            h.json || matches!(&h.action, Some(HistoryAction::Show { json: true, .. }))
        }
        _ => false,
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
        Command::SshConfig(s) => {
            default_inventory(config, &mut s.source);
            default_connection(config, &mut s.connection);
            return;
        }
        Command::History(h) => {
            if h.history.is_none() {
                h.history.clone_from(&config.history);
            }
            return;
        }
        Command::Report(r) => {
            if r.history.is_none() {
                r.history.clone_from(&config.history);
            }
            return;
        }
        Command::Schema | Command::Completions { .. } | Command::Man => return,
    };
    default_inventory(config, &mut target.source);
    default_connection(config, &mut target.connection);
    if target.forks.is_none() {
        target.forks = config.forks;
    }
    if target.history.is_none() {
        target.history.clone_from(&config.history);
    }
}

/// `connect_timeout`, `known_hosts` and `accept_new_host_keys` of wsdeploy.toml where the
/// command line gives none.
fn default_connection(config: &crate::config::ProjectConfig, connection: &mut ConnectionArgs) {
    if connection.connect_timeout.is_none() {
        connection.connect_timeout = config.connect_timeout;
    }
    if connection.known_hosts.is_none() {
        connection.known_hosts.clone_from(&config.known_hosts);
    }
    if !connection.accept_new_host_keys {
        connection.accept_new_host_keys = config.accept_new_host_keys.unwrap_or(false);
    }
}

/// `inventory` of wsdeploy.toml when the command line names no `-i`; its vault password
/// sources when the command line names none.
fn default_inventory(config: &crate::config::ProjectConfig, source: &mut InventorySourceArgs) {
    if source.inventory.is_empty()
        && let Some(inventory) = &config.inventory
    {
        source.inventory.push(inventory.clone());
    }
    if source.vault_password_files.is_empty()
        && source.vault_ids.is_empty()
        && !source.ask_vault_pass
    {
        source
            .vault_password_files
            .extend(config.vault_password_file.iter().cloned());
        source.vault_ids.extend(config.vault_id.iter().cloned());
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
        Command::History(h) => history_command(project, &h),
        Command::Report(r) => report_command(project, &r),
        Command::Validate(v) => validate(project, &v),
        Command::Inventory(i) => inventory_list(project, &i),
        Command::SshConfig(s) => ssh_config(project, &s),
        Command::Schema => {
            report::out::stdout(&plan::schema::plan_schema());
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            report::out::stdout(&shell_docs::completions(shell));
            Ok(exit::OK)
        }
        Command::Man => shell_docs::man_page()
            .map(|page| {
                report::out::stdout(&page);
                exit::OK
            })
            .map_err(|e| BadInput::from(format!("cannot render the man page: {e}"))),
    }
}
