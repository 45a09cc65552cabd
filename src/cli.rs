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
use crate::report::event::Events;
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
}

/// Inventory, plan and variables.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Inventory: a name under inventories/ or a path to a hosts.yml.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Option<String>,
    /// Plan file (default plans/site.yml).
    pub plan: Option<PathBuf>,
    /// Extra variables: key=value, a JSON object, or @file.yml (repeatable; highest precedence).
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Limit to hosts matching this pattern (host, group, a:b, a:!b, a:&b, globs).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Hosts run at the same time.
    #[arg(short = 'f', long = "forks", default_value_t = 50)]
    pub forks: usize,
    /// known_hosts file for host key verification (default ~/.ssh/known_hosts).
    #[arg(long = "known-hosts")]
    pub known_hosts: Option<PathBuf>,
    /// Record unknown host keys instead of refusing them (a changed key is always refused).
    #[arg(long = "accept-new-host-keys")]
    pub accept_new_host_keys: bool,
    /// Seconds to wait for a host's SSH connection.
    #[arg(long = "connect-timeout", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Print JSON events and the final report as JSON lines.
    #[arg(long = "json")]
    pub json: bool,
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
    /// Show the diffs and commands; change nothing anywhere.
    #[arg(long = "dry-run", alias = "check")]
    pub dry_run: bool,
    /// With --dry-run: save the reviewed plan (pre-image hashes and results) to FILE.
    #[arg(long = "save")]
    pub save: Option<PathBuf>,
    /// Apply exactly a saved review; refuse hosts whose files changed since.
    #[arg(long = "reviewed")]
    pub reviewed: Option<PathBuf>,
}

/// `rollback` arguments.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The day whose `.backup-YYYY-MM-DD` files are restored.
    #[arg(long = "date")]
    pub date: String,
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// `drift` arguments.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Repair the drift with full transaction semantics.
    #[arg(long = "repair")]
    pub repair: bool,
}

/// `schedule` arguments.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long = "every")]
    pub every: String,
    #[arg(long = "repair")]
    pub repair: bool,
    /// Write the units (instead of printing them); then enable the timer yourself.
    #[arg(long = "install")]
    pub install: bool,
    /// Where --install writes the units.
    #[arg(long = "unit-dir", default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
}

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
    let result = match cli.command {
        Command::Apply(a) => apply(&cli.project, &a).await,
        Command::Drift(d) => drift(&cli.project, &d).await,
        Command::Verify(t) => verify(&cli.project, &t).await,
        Command::Rollback(r) => rollback(&cli.project, &r).await,
        Command::Backups(t) => backups(&cli.project, &t).await,
        Command::Schedule(s) => schedule(&cli.project, &s),
    };
    match result {
        Ok(code) => code,
        Err(BadInput(message)) => {
            eprintln!("error: {message}");
            eprintln!("nothing was changed on any host.");
            exit::BAD_INPUT
        }
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

fn prepare(
    project: &Path,
    t: &TargetArgs,
    serial: Option<Serial>,
    max_fail: Option<f64>,
) -> Result<Prepared, BadInput> {
    let inventory_arg = t.inventory.as_deref().ok_or_else(|| {
        BadInput(
            "no inventory given: pass -i NAME (inventories/NAME/hosts.yml) or -i PATH".to_owned(),
        )
    })?;
    let inventory_path = inventory::resolve_inventory_arg(inventory_arg, project);
    let inv = inventory::load_inventory_arg(inventory_arg, project)
        .map_err(|e| BadInput(e.to_string()))?;
    for warning in inv.warnings() {
        eprintln!("warning: {warning}");
    }
    let extra = inventory::parse_extra_vars(&t.extra_vars, Path::new("."))
        .map_err(|e| BadInput(e.to_string()))?;
    let plan_path = match &t.plan {
        Some(p) if p.is_absolute() || p.exists() => p.clone(),
        Some(p) => project.join(p),
        None => project.join("plans/site.yml"),
    };
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
            let vars = plan::merge_vars(play, host.name(), host.vars(), &extra);
            let rendered =
                plan::render_play(play, host.name(), vars).map_err(|e| BadInput(e.to_string()))?;
            match per_host.iter_mut().find(|(h, _)| h == host.name()) {
                Some((_, plans)) => plans.push(rendered),
                None => per_host.push((host.name().to_owned(), vec![rendered])),
            }
        }
    }
    if per_host.is_empty() {
        return Err(BadInput(format!(
            "no host of {} matches the plan's plays{}",
            inventory_path.display(),
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
    let mut hosts = Vec::new();
    let mut warned: std::collections::BTreeSet<(String, String)> = Default::default();
    for (name, plans) in &per_host {
        for plan in plans {
            for secret in &plan.short_secrets {
                if warned.insert((plan.play.clone(), secret.clone())) {
                    eprintln!(
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
        let connection =
            inventory::connection_from_vars(host.name(), &host.vars_with_extra(&extra))
                .map_err(|e| BadInput(e.to_string()))?;
        let become_user = if connection.become_ {
            let user = connection
                .become_user
                .clone()
                .unwrap_or_else(|| "root".to_owned());
            (connection.user.as_deref() != Some(user.as_str())).then_some(user)
        } else {
            None
        };
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
        });
    }
    let known_hosts = t.known_hosts.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".ssh/known_hosts")
    });
    Ok(Prepared {
        plan_name: plan.name,
        plan_files,
        hosts,
        fleet: FleetOptions {
            forks: t.forks.max(1),
            serial,
            max_fail_percent: max_fail,
            known_hosts,
            accept_new_host_keys: t.accept_new_host_keys,
            connect_timeout: Duration::from_secs(t.connect_timeout.max(1)),
        },
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
) -> Result<u8, BadInput> {
    Ok(run_fleet(prepared, t, mode, kind, drift_mode, Task::Plan)
        .await?
        .0)
}

async fn run_fleet(
    prepared: Prepared,
    t: &TargetArgs,
    mode: Mode,
    kind: &str,
    drift_mode: bool,
    task: Task,
) -> Result<(u8, Vec<crate::host_run::HostReport>), BadInput> {
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
    let style = if t.json {
        Style::Json
    } else if tty {
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
            println!(
                "{}",
                serde_json::json!({"event": "host_report", "report": value})
            );
        }
        println!(
            "{}",
            serde_json::json!({"event": "summary", "run_id": opts.run_id, "summary": summary::counts(&reports), "exit": exit::for_reports(&reports, drift_mode)})
        );
    } else {
        print!("{}", summary::details(&reports, tty, true));
        print!("{}", summary::table(&reports));
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
    if let Some(path) = &a.reviewed {
        let t = &a.target;
        let mut given = Vec::new();
        if t.inventory.is_some() {
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
    let (code, reports) = run_fleet(prepared, &a.target, mode, "apply", false, Task::Plan).await?;
    if let Some(path) = &a.save {
        let mut hosts = std::collections::BTreeMap::new();
        for r in &reports {
            match review::ReviewedHost::from_report(r) {
                Some(mut h) => {
                    h.binding = bindings.get(&r.host).cloned().unwrap_or_default();
                    hosts.insert(r.host.clone(), h);
                }
                None => eprintln!(
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
            inventory: a.target.inventory.clone().unwrap_or_default(),
            plan: a.target.plan.as_ref().map(|p| p.display().to_string()),
            extra_vars: a.target.extra_vars.clone(),
            limit: a.target.limit.clone(),
            hosts,
        };
        review::save(path, &saved).map_err(BadInput)?;
        eprintln!(
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
    target.inventory = Some(saved.inventory.clone());
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
        eprintln!("review: {host} was not part of the review: not applied");
    }
    if prepared.hosts.is_empty() {
        return Err(BadInput(format!(
            "{}: no host of the review is in the inventory any more",
            path.display()
        )));
    }
    let (code, _) = run_fleet(prepared, &target, Mode::Apply, "apply", false, Task::Plan).await?;
    Ok(if skipped.is_empty() {
        code
    } else {
        code.max(exit::HOST_FAILED)
    })
}

async fn drift(project: &Path, d: &DriftArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, &d.target, None, None)?;
    if d.repair {
        run_and_report(prepared, &d.target, Mode::Apply, "repair", false).await
    } else {
        run_and_report(prepared, &d.target, Mode::DryRun, "drift", true).await
    }
}

async fn verify(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    run_and_report(prepared, t, Mode::Verify, "verify", false).await
}

fn schedule(project: &Path, s: &ScheduleArgs) -> Result<u8, BadInput> {
    let minutes = crate::schedule::parse_every(&s.every).map_err(BadInput)?;
    let inventory = s
        .target
        .inventory
        .as_deref()
        .ok_or_else(|| BadInput("no inventory given: pass -i NAME or -i PATH".to_owned()))?;
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
    if let Some(k) = &s.target.known_hosts {
        extra.push("--known-hosts".to_owned());
        extra.push(k.display().to_string());
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
            println!("wrote {}", path.display());
        }
        println!(
            "enable it with: systemctl daemon-reload && systemctl enable --now {}.timer",
            units.name
        );
    } else {
        println!(
            "# /etc/systemd/system/{}.service\n{}",
            units.name, units.service
        );
        println!(
            "# /etc/systemd/system/{}.timer\n{}",
            units.name, units.timer
        );
        match &units.cron {
            Some(line) => println!(
                "# or, without systemd, in /etc/cron.d/{}:\n{line}",
                units.name
            ),
            None => println!(
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
    )
    .await?
    .0)
}

async fn backups(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    Ok(
        run_fleet(prepared, t, Mode::DryRun, "backups", false, Task::Backups)
            .await?
            .0,
    )
}
