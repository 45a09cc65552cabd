//! Reading a play's `facts:` on a host (every source of every play once, all in one exec:
//! `host::read::read_all`, or the files by the gather read ahead and only the units'
//! command lines by `host::read`; INI files through the `edit::ini` reader; a systemd unit's
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
    let with_gather = match ahead {
        Some(ahead) => read_with_gather(transport, become_user, &sources, ahead)
            .await
            .map_err(mask)?,
        None => None,
    };
    let (read, prefetched) = match with_gather {
        Some((read, prefetched)) => (read, Some(prefetched)),
        None => (
            host::read::read_all(transport, become_user, &sources)
                .await
                .map_err(mask)?,
            None,
        ),
    };
    Ok((keys.into_iter().zip(read).collect(), prefetched))
}

/// The sources read in the exec of `ahead`'s gather: the files by the gather itself
/// (after the plan's own, one `head` and one `stat` for all), the units' command lines
/// before it; with that gather (the plan's gather judges whether it can stand for it).
/// `None` when the exec did not hold both (the caller reads the sources apart).
///
/// # Errors
/// The transport fails.
async fn read_with_gather(
    transport: &Transport,
    become_user: Option<&host::Become>,
    sources: &[host::read::ReadSource<'_>],
    ahead: GatherAhead<'_>,
) -> Result<Option<AheadRead>, String> {
    let exec = AheadExec::new(sources, &ahead);
    let Some((lines, stdout)) =
        host::read::read_all_then(transport, become_user, &exec.cmdlines, &exec.then(&ahead))
            .await?
    else {
        return Ok(None);
    };
    Ok(exec.answer(sources, &ahead, lines, &stdout))
}

/// Each source's read, in order, and the gather read ahead.
type AheadRead = (Vec<host::read::SourceRead>, host::gather::Prefetched);

/// How the facts' sources are read in the exec of a gather read ahead.
struct AheadExec<'s> {
    /// The facts' files the plan's gather does not read already, read after its own.
    extra: Vec<String>,
    /// The units' command lines, read before the gather (`host::read`).
    cmdlines: Vec<host::read::ReadSource<'s>>,
}

impl<'s> AheadExec<'s> {
    fn new(sources: &[host::read::ReadSource<'s>], ahead: &GatherAhead<'_>) -> Self {
        use host::read::ReadSource;
        let mut extra: Vec<String> = Vec::new();
        let mut cmdlines = Vec::new();
        for source in sources {
            match source {
                ReadSource::File(path) => {
                    if !ahead.files.iter().chain(&extra).any(|f| f == path) {
                        extra.push((*path).to_owned());
                    }
                }
                ReadSource::Cmdline(_) => cmdlines.push(*source),
            }
        }
        Self { extra, cmdlines }
    }

    /// The gather's script, of the plan's files then the facts' others.
    fn then(&self, ahead: &GatherAhead<'_>) -> String {
        let all: Vec<String> = ahead.files.iter().chain(&self.extra).cloned().collect();
        host::gather::gather_script(&all, ahead.dumps, DumpCache::Read)
    }

    /// Each source's read (in `sources`' order) and the gather of the plan's files, from
    /// the command lines' reads and the gather's output; `None` when the gather's output
    /// cannot be used.
    fn answer(
        &self,
        sources: &[host::read::ReadSource<'_>],
        ahead: &GatherAhead<'_>,
        lines: Vec<host::read::SourceRead>,
        stdout: &[u8],
    ) -> Option<AheadRead> {
        use host::read::ReadSource;
        let (read, prefetched) =
            host::gather::Prefetched::parse_ahead(stdout, ahead.files, &self.extra, ahead.dumps)?;
        let mut lines = lines.into_iter();
        let reads = sources
            .iter()
            .map(|source| match source {
                ReadSource::File(path) => read.iter().find(|f| f.requested == *path).map_or_else(
                    || Err(format!("{path} was not read")),
                    host::read::from_gathered,
                ),
                ReadSource::Cmdline(unit) => lines
                    .next()
                    .unwrap_or_else(|| Err(format!("{unit}'s command line was not read"))),
            })
            .collect();
        Some((reads, prefetched))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use host::read::ReadSource;

    #[test]
    fn the_facts_files_are_read_by_the_gather_ahead_with_no_process_of_their_own() {
        let dir = tempfile::Builder::new()
            .tempdir_in("/tmp")
            .expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical");
        let conf = root.join("odoo.conf");
        std::fs::write(&conf, b"[options]\nworkers = 2\n").expect("write");
        let site = root.join("site.conf");
        std::fs::write(&site, b"server {}\n").expect("write");
        let unit = root.join("odoo.service").display().to_string();
        let dir_source = root.join("conf.d");
        std::fs::create_dir(&dir_source).expect("mkdir");
        let dir_source = dir_source.display().to_string();
        let (conf, site) = (conf.display().to_string(), site.display().to_string());
        let files = vec![site.clone(), conf.clone()];
        let ahead = GatherAhead {
            files: &files,
            dumps: &[],
        };
        let sources = [
            ReadSource::File(&conf),
            ReadSource::Cmdline("odoo"),
            ReadSource::File(&unit),
            ReadSource::File(&dir_source),
        ];
        let exec = AheadExec::new(&sources, &ahead);
        assert_eq!(exec.extra, [unit.clone(), dir_source.clone()]);
        let script = host::read::read_all_then_script(&exec.cmdlines, &exec.then(&ahead));
        let (run, out) = host::commands_run::commands_run(&script);
        // The owners and modes on every file's way, the files' bytes, their metadata:
        // three processes for the plan's two files and the facts' four sources (on a
        // host without systemctl; no temporary directory for the command line).
        assert_eq!(run, ["stat", "head", "stat"], "{out:?}");
        let (lines, rest) =
            host::read::split_then(&out.stdout, &exec.cmdlines).expect("framed answer");
        let (reads, prefetched) = exec
            .answer(&sources, &ahead, lines, &rest)
            .expect("the gather's answer");
        assert_eq!(reads[0], Ok(Some(b"[options]\nworkers = 2\n".to_vec())));
        assert_eq!(reads[1], Ok(None), "no systemctl: no command line");
        assert_eq!(reads[2], Ok(None), "absent");
        assert_eq!(
            reads[3],
            Err(format!("reading {dir_source}: not a regular file"))
        );
        assert_eq!(prefetched.files, files);
        assert_eq!(prefetched.gathered.files.len(), 2);
    }
}
