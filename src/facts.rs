//! Reading a play's `facts:` on a host (every source of every play once, all in one exec,
//! `host::read::read_all`; INI files through the `edit::ini` reader; a systemd unit's
//! running command line once per unit) and rendering its plan again with the values read (typed data,
//! never templates); the pure part is `plan::facts`.

use std::collections::HashMap;

use serde_json::Value;

use crate::host;
use crate::host::dump_cache::DumpCache;
use crate::plan::PlanFacts;
use crate::plan::facts::{
    FactRequest, FactSource, cmdline_value, exists_value, ini_value, value_of,
};
use crate::run::HostJob;
use crate::transport::Transport;

/// The job with every plan that has facts rendered again from the host's files.
///
/// # Errors
/// A file that cannot be read or parsed, a value that is not of its fact's type, or a
/// plan that does not render with the values read; the message names the host's file
/// and key, says what to do, and has every secret of the run masked.
pub async fn resolve(transport: &Transport, job: &HostJob) -> Result<HostJob, String> {
    Ok(resolve_gathering(transport, job, None).await?.0)
}

/// What a gather in the facts' exec reads: the plan's files and dumps as rendered with
/// the facts' defaults.
pub struct GatherAhead<'a> {
    pub files: &'a [String],
    pub dumps: &'a [String],
}

/// [`resolve`], with `ahead`'s gather in the same exec as the facts' reads (one round
/// trip fewer when the plan read with the host's facts gathers the same files): its
/// result, when the exec could hold it, for `engine::run_host_with` to judge.
///
/// # Errors
/// As [`resolve`].
pub async fn resolve_gathering(
    transport: &Transport,
    job: &HostJob,
    ahead: Option<GatherAhead<'_>>,
) -> Result<(HostJob, Option<host::gather::Prefetched>), String> {
    if !job.plans.iter().any(|p| p.facts.needed()) {
        return Ok((job.clone(), None));
    }
    let (files, prefetched) = read_sources(transport, job, ahead).await?;
    Ok((rendered_with(job, &files)?, prefetched))
}

/// The job with every pending plan rendered again with the values `files` give.
fn rendered_with(
    job: &HostJob,
    files: &HashMap<String, host::read::SourceRead>,
) -> Result<HostJob, String> {
    let mut resolved = job.clone();
    for plan in &mut resolved.plans {
        let PlanFacts::NeedsFacts(pending) = plan.facts.clone() else {
            continue;
        };
        // The plan's mask list (the run's secrets, the play's, prompted passwords) masks
        // every message here and stays the re-rendered plan's.
        let masked = plan.secret_values.clone();
        let mut values: Vec<(String, Value)> = Vec::new();
        for request in &pending.requests {
            let read = files
                .get(&source_key(request))
                .cloned()
                .unwrap_or_else(|| Err(format!("{} was not read", request.path)));
            let bytes = read.map_err(|e| {
                crate::mask::mask(&format!("fact `{}`: {e}", request.name), &masked)
            })?;
            let value = fact_value(request, bytes.as_deref()).map_err(|e| {
                crate::mask::mask(&format!("fact `{}`: {e}", request.name), &masked)
            })?;
            values.push((request.name.clone(), value));
        }
        let mut rendered = pending
            .render(&values)
            .map_err(|e| crate::mask::mask(&e.to_string(), &masked))?;
        for secret in masked {
            if !rendered.secret_values.contains(&secret) {
                rendered.secret_values.push(secret);
            }
        }
        rendered.facts = PlanFacts::Read(values);
        *plan = rendered;
    }
    Ok(resolved)
}

/// Where a request's bytes come from: a file's path, or a unit's command line.
fn source_key(request: &FactRequest) -> String {
    match request.source {
        FactSource::Cmdline => format!("\0cmdline {}", request.path),
        _ => request.path.clone(),
    }
}

/// Every source the job's pending plays read, each once, in one exec on the host (with
/// `ahead`'s gather, when given and the exec holds it).
///
/// # Errors
/// The exec as a whole fails (the message is masked with every play's secrets).
async fn read_sources(
    transport: &Transport,
    job: &HostJob,
    ahead: Option<GatherAhead<'_>>,
) -> Result<Reads, String> {
    let mut keys: Vec<String> = Vec::new();
    let mut sources: Vec<host::read::ReadSource<'_>> = Vec::new();
    let mut masked: Vec<String> = Vec::new();
    for plan in &job.plans {
        let PlanFacts::NeedsFacts(pending) = &plan.facts else {
            continue;
        };
        masked.extend(plan.secret_values.iter().cloned());
        for request in &pending.requests {
            let key = source_key(request);
            if keys.contains(&key) {
                continue;
            }
            keys.push(key);
            sources.push(match request.source {
                FactSource::Cmdline => host::read::ReadSource::Cmdline(&request.path),
                _ => host::read::ReadSource::File(&request.path),
            });
        }
    }
    let mask = |e: String| crate::mask::mask(&format!("reading facts: {e}"), &masked);
    let become_user = job.become_user.as_ref();
    let mut prefetched = None;
    let read = match ahead {
        Some(GatherAhead { files, dumps }) => {
            let then = host::gather::gather_script(files, dumps, DumpCache::Read);
            match host::read::read_all_then(transport, become_user, &sources, &then)
                .await
                .map_err(mask)?
            {
                Some((read, stdout)) => {
                    prefetched = host::gather::Prefetched::parse(&stdout, files, dumps);
                    Some(read)
                }
                None => None,
            }
        }
        None => None,
    };
    let read = match read {
        Some(read) => read,
        None => host::read::read_all(transport, become_user, &sources)
            .await
            .map_err(mask)?,
    };
    Ok((keys.into_iter().zip(read).collect(), prefetched))
}

/// Each source's read by its key, and the gather read ahead.
type Reads = (
    HashMap<String, host::read::SourceRead>,
    Option<host::gather::Prefetched>,
);

/// The value `request` takes from the file's bytes (`None`: no such file).
fn fact_value(request: &FactRequest, bytes: Option<&[u8]>) -> Result<serde_json::Value, String> {
    match &request.source {
        FactSource::Json => value_of(request, bytes),
        FactSource::Exists => Ok(exists_value(bytes)),
        FactSource::Cmdline => cmdline_value(request, bytes),
        FactSource::Ini { section } => {
            let Some(bytes) = bytes else {
                return ini_value(request, None);
            };
            let text = std::str::from_utf8(bytes).map_err(|_| {
                format!(
                    "{}: not UTF-8 text; fix the file or set `{}` in the inventory",
                    request.path, request.name
                )
            })?;
            let raw = crate::edit::ini::get(text, section, &request.key).map_err(|e| {
                format!(
                    "{}; fix the file or set `{}` in the inventory",
                    crate::edit::EditError::from(e).in_file(&request.path),
                    request.name
                )
            })?;
            ini_value(request, raw.as_deref())
        }
    }
}
