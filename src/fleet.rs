//! Running many hosts: all at once bounded by `--forks`, in `--serial` batches, stopping
//! later batches when a batch fails beyond `--max-fail`. One host's failure never stops
//! the other hosts of its batch. Hosts start in inventory order; after an interrupt
//! (`interrupt`), no host starts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::engine;
use crate::facts::GatherAhead;
use crate::inventory::{Connection, ConnectionKind};
use crate::report::event::{Event, Events};
use crate::run::{HostJob, HostReport, NotRunReason, Outcome, RunOptions, Task, Undo};
use crate::transport::Transport;
use crate::transport::local::LocalSession;
use crate::transport::ssh::{SshSession, SshTarget};

/// How hosts are batched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Serial {
    Count(usize),
    Percent(f64),
}

impl Serial {
    /// Parses `N` or `P%`.
    ///
    /// # Errors
    /// Anything else, with the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--serial `{text}`: expected a host count (5) or a percentage (25%)");
        if let Some(p) = text.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(bad());
            }
            Ok(Self::Percent(p))
        } else {
            let n: usize = text.trim().parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            Ok(Self::Count(n))
        }
    }

    fn batch_size(self, total: usize) -> usize {
        match self {
            Self::Count(n) => n,
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            Self::Percent(p) => ((total as f64 * p / 100.0).ceil() as usize).max(1),
        }
    }
}

/// Fleet-wide settings.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub forks: usize,
    pub serial: Option<Serial>,
    /// Stop later batches once more than this percentage of a batch failed.
    pub max_fail_percent: Option<f64>,
    pub known_hosts: PathBuf,
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
}

/// A host to run and how to reach it.
pub struct FleetHost {
    pub job: HostJob,
    pub connection: Connection,
    /// The resolved SSH target (`None` for `ansible_connection: local`).
    pub ssh: Option<SshTarget>,
}

/// Runs every host; the reports come back in the order of `hosts`.
pub async fn run(
    hosts: Vec<FleetHost>,
    fleet: &FleetOptions,
    opts: &RunOptions,
    events: &Events,
) -> Vec<HostReport> {
    let total = hosts.len();
    let batch = fleet.serial.map_or(total.max(1), |s| s.batch_size(total));
    let forks = Arc::new(Semaphore::new(fleet.forks.max(1)));
    let mut reports = Vec::with_capacity(total);
    let mut stop = false;
    let mut hosts = hosts.into_iter().peekable();
    while hosts.peek().is_some() {
        let this: Vec<FleetHost> = hosts.by_ref().take(batch).collect();
        if stop || crate::interrupt::requested() {
            let why = if stop {
                NotRunReason::MaxFail
            } else {
                NotRunReason::Interrupted
            };
            for h in this {
                reports.push(HostReport::not_started(&h.job.host, why));
            }
            continue;
        }
        let mut tasks = Vec::new();
        for h in this {
            // Taken here, in inventory order: hosts start in that order.
            let permit = Arc::clone(&forks).acquire_owned().await;
            let opts = opts.clone();
            let events = events.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = permit;
                if crate::interrupt::requested() {
                    return HostReport::not_started(&h.job.host, NotRunReason::Interrupted);
                }
                run_one(h, &opts, &events).await
            }));
        }
        let mut batch_reports = Vec::new();
        for task in tasks {
            match task.await {
                Ok(r) => batch_reports.push(r),
                Err(e) => batch_reports.push(HostReport::unreachable(
                    "?",
                    Outcome::Failed,
                    format!("internal error: host task ended abnormally: {e}"),
                    Instant::now(),
                )),
            }
        }
        if let Some(max) = fleet.max_fail_percent {
            let failed = batch_reports
                .iter()
                .filter(|r| {
                    matches!(
                        r.outcome,
                        Outcome::Failed
                            | Outcome::RolledBack
                            | Outcome::RollbackFailed
                            | Outcome::Unreachable
                    )
                })
                .count();
            #[allow(clippy::cast_precision_loss)]
            let percent = failed as f64 * 100.0 / batch_reports.len().max(1) as f64;
            if percent > max {
                stop = true;
            }
        }
        reports.extend(batch_reports);
    }
    reports
}

async fn run_one(h: FleetHost, opts: &RunOptions, events: &Events) -> HostReport {
    let started = Instant::now();
    let (to, via) = route(&h);
    events.send(Event::Connecting {
        host: h.job.host.clone(),
        to,
        via,
    });
    let transport = match connect(&h).await {
        Ok(t) => t,
        Err(error) => {
            return HostReport::unreachable(
                &h.job.host,
                Outcome::Unreachable,
                error.to_string(),
                started,
            );
        }
    };
    let ahead = match &opts.task {
        Task::Plan => engine::gather_ahead(&h.job, opts),
        _ => None,
    };
    let ahead = ahead
        .as_ref()
        .map(|(files, dumps)| GatherAhead { files, dumps });
    let (job, prefetched) = match &opts.task {
        Task::Plan | Task::Rollback(_) => {
            match crate::facts::resolve_gathering(&transport, &h.job, ahead).await {
                Ok(resolved) => resolved,
                Err(message) => {
                    transport.close().await;
                    return HostReport::unreachable(&h.job.host, Outcome::Failed, message, started);
                }
            }
        }
        Task::Backups => (h.job, None),
    };
    let mut report = match &opts.task {
        Task::Plan => engine::run_host_with(&transport, &job, opts, events, prefetched).await,
        Task::Rollback(Undo::Date(date)) => {
            crate::restore_date::run(&transport, &job, *date, opts, events).await
        }
        Task::Rollback(Undo::Run(id)) => {
            crate::restore_run::run(&transport, &job, id, opts, events).await
        }
        Task::Backups => crate::restore_date::list(&transport, &job).await,
    };
    transport.close().await;
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Where a host is reached: `user@address:port` (or `local`) and its jump hosts, in
/// connection order.
fn route(h: &FleetHost) -> (String, Vec<String>) {
    let at = |t: &SshTarget| format!("{}@{}:{}", t.user, t.host, t.port);
    match (h.connection.kind, &h.ssh) {
        (ConnectionKind::Ssh, Some(target)) => (at(target), target.jumps.iter().map(at).collect()),
        _ => ("local".to_owned(), Vec::new()),
    }
}

/// Why a host's transport could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The SSH connection failed (the message names host and port and says what to check).
    #[error(transparent)]
    Ssh(#[from] crate::transport::ssh::SshError),
    /// An SSH host reached this far without its resolved target.
    #[error("internal error: no SSH target was resolved for {host}")]
    NoTarget { host: String },
}

/// Opens the transport for a host.
///
/// # Errors
/// The connection failed, or (a bug) the host has no resolved SSH target.
pub async fn connect(h: &FleetHost) -> Result<Transport, ConnectError> {
    match (h.connection.kind, &h.ssh) {
        (ConnectionKind::Local, _) => Ok(Transport::Local(LocalSession)),
        (ConnectionKind::Ssh, Some(target)) => {
            Ok(Transport::Ssh(SshSession::connect(target).await?))
        }
        (ConnectionKind::Ssh, None) => Err(ConnectError::NoTarget {
            host: h.job.host.clone(),
        }),
    }
}
