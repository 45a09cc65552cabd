//! What judges a host: the plan's commands run as checks (preflight, `verify` steps,
//! `unless`), the network checks of `verify`, and how a command's end is read
//! ([`Judged`]: its `expect_exit`, the host's timeout, a lost connection).

use crate::run::ActionStatus;
use std::collections::BTreeSet;
use std::time::Duration;

use super::{Ending, Flat, Host, StepKey, failure};
use crate::host;
use crate::plan::{Action, Check, CommandAction, Step};
use crate::run::{Failure, Mode};
use crate::transport::{ExecOutput, TransportError};

/// How a command ended, judged by its `expect_exit` and the host's `timeout`.
pub(super) enum Judged {
    /// An expected exit code.
    Passed(ExecOutput),
    /// The host stopped it after its `timeout`.
    TimedOut(ExecOutput),
    /// Another exit.
    Failed(ExecOutput),
    /// It could not run, or no answer came in time (`TransportError::TimedOut`).
    Lost(TransportError),
}

impl Judged {
    /// Judges `result`, the run of a command that expects `expect_exit`.
    pub(super) fn of(result: Result<ExecOutput, TransportError>, expect_exit: &[i32]) -> Self {
        match result {
            Ok(out) if expect_exit.contains(&out.code()) => Self::Passed(out),
            Ok(out) if out.timed_out() => Self::TimedOut(out),
            Ok(out) => Self::Failed(out),
            Err(e) => Self::Lost(e),
        }
    }
}

/// What a plan command is to the run, which decides how its success is recorded: a step
/// `ran`, with its output; a check `passed`, without. A lost connection names the step's
/// command; a check's step already names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommandRole {
    Step,
    Check,
}

/// The error for a command the host stopped after its `timeout`.
pub(super) fn timed_out_message(run: &str, bound: Duration, output: &str) -> String {
    format!(
        "`{run}` did not finish within its timeout of {}s: the host stopped it and everything it started{}",
        host::bound_secs(bound),
        if output.trim().is_empty() {
            String::new()
        } else {
            format!(":\n{}", output.trim())
        }
    )
}

/// The error for a command that ended with an exit `expect_exit` does not allow.
fn ended_message(run: &str, out: &ExecOutput) -> String {
    format!(
        "`{run}` ended with {}:\n{}",
        out.status_text(),
        out.combined().trim()
    )
}

/// Whether a successful run of `dump` proves that `command` succeeds: `nginx -T` tests
/// the configuration exactly as `nginx -t` does, then prints it.
fn proves(dump: &str, command: &str) -> bool {
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let (dump, command) = (words(dump), words(command));
    dump.len() == command.len()
        && dump
            .iter()
            .zip(&command)
            .all(|(d, c)| d == c || (d == "-T" && c == "-t"))
        && dump.iter().any(|d| d == "-T")
}

impl Host<'_> {
    /// `wsdeploy verify`: the preflight checks, then every `verify` step.
    pub(super) async fn verify(&mut self, flat: &[Flat<'_>], preflight: &[&Step]) -> Ending {
        let mut checks = preflight.to_vec();
        checks.extend(
            flat.iter()
                .filter(|f| matches!(f.step.action, Action::Verify(_)))
                .map(|f| f.step),
        );
        match self.run_checks(&checks).await {
            Ok(()) => Ending::InSync,
            Err(f) => Ending::Untouched(f),
        }
    }

    /// The preflight before a change (and in a dry run that finds one): a check the
    /// gather's `nginx -T` already proved is recorded as passed, the others run.
    pub(super) async fn preflight(&mut self, preflight: &[&Step]) -> Result<(), Failure> {
        self.phase("preflight");
        let mut to_run: Vec<&Step> = Vec::new();
        let proven = self.proven_by_dump.clone();
        for &step in preflight {
            match (&step.action, &proven) {
                (Action::Command(c), Some(dump)) if proves(dump, &c.run) => {
                    let detail = format!("proven by `{dump}` (exit 0) when the host was read");
                    self.record(step, ActionStatus::Passed, detail);
                }
                _ => to_run.push(step),
            }
        }
        let dry_run = self.opts.mode == Mode::DryRun;
        self.run_checks(&to_run).await.map_err(|mut f| {
            f.message = if dry_run {
                format!(
                    "pre-flight check failed: an apply would refuse this host before any change (dry run, nothing was touched): {}",
                    f.message
                )
            } else {
                format!(
                    "pre-flight check failed before any change, so nothing was touched: {}",
                    f.message
                )
            };
            f
        })
    }

    /// Runs `checks` in order; the first that fails ends them.
    pub(super) async fn run_checks(&mut self, checks: &[&Step]) -> Result<(), Failure> {
        for step in checks {
            match &step.action {
                Action::Command(c) => self.command_check(step, c).await?,
                Action::Verify(check) => self.check(step, check).await?,
                Action::Edit(_) => {}
            }
        }
        Ok(())
    }

    /// A plan command run as a check: passed when it exits as `expect_exit` says.
    async fn command_check(&mut self, step: &Step, c: &CommandAction) -> Result<(), Failure> {
        let result = self
            .transport
            .run(&host::plan_command(&c.run, self.become_user(), c.timeout))
            .await;
        self.judge_command(step, c, result, CommandRole::Check)
    }

    /// Records how a plan command ended on `step`; anything but an exit `expect_exit`
    /// allows is the host's failure (a timeout says so, with what the command printed).
    pub(super) fn judge_command(
        &mut self,
        step: &Step,
        c: &CommandAction,
        result: Result<ExecOutput, TransportError>,
        role: CommandRole,
    ) -> Result<(), Failure> {
        match Judged::of(result, &c.expect_exit) {
            Judged::Passed(out) => {
                match role {
                    CommandRole::Step => self.record(step, ActionStatus::Ran, out.combined()),
                    CommandRole::Check => self.record(step, ActionStatus::Passed, String::new()),
                }
                Ok(())
            }
            Judged::TimedOut(out) => {
                let text = out.combined();
                self.record(step, ActionStatus::Failed, text.clone());
                Err(failure(
                    Some(step),
                    timed_out_message(&c.run, c.timeout, &text),
                ))
            }
            Judged::Failed(out) => {
                self.record(step, ActionStatus::Failed, out.combined());
                Err(failure(Some(step), ended_message(&c.run, &out)))
            }
            Judged::Lost(e) => Err(failure(
                Some(step),
                match role {
                    CommandRole::Step => format!("`{}`: {e}", c.run),
                    CommandRole::Check => e.to_string(),
                },
            )),
        }
    }

    /// A `verify` check; a `warn_only` one that fails is a warning note.
    pub(super) async fn check(&mut self, step: &Step, check: &Check) -> Result<(), Failure> {
        match crate::verify::run_check(self.transport, self.become_user(), check).await {
            Ok(evidence) => {
                self.record(step, ActionStatus::Passed, evidence);
                Ok(())
            }
            Err(message) if check.warn_only => {
                self.record(step, ActionStatus::Warning, message.clone());
                let hint = step
                    .hint
                    .as_deref()
                    .map(|h| format!("\n  hint: {h}"))
                    .unwrap_or_default();
                self.note(format!("warning: {}: {message}{hint}", step.label));
                Ok(())
            }
            Err(message) => {
                self.record(step, ActionStatus::Failed, message.clone());
                Err(failure(Some(step), message))
            }
        }
    }

    /// Runs the `unless` check (or the `creates` path test) of every command that has
    /// one; returns the keys of the commands whose check failed (they run, and the host is
    /// not in sync).
    pub(super) async fn due_by_unless(
        &mut self,
        flat: &[Flat<'_>],
    ) -> Result<BTreeSet<StepKey>, Failure> {
        let mut forced = BTreeSet::new();
        for f in flat {
            let Action::Command(c) = &f.step.action else {
                continue;
            };
            let creates = c.creates.as_deref();
            let Some(check) = c
                .unless
                .clone()
                .or_else(|| creates.map(|path| format!("test -e {}", host::quote(path))))
            else {
                continue;
            };
            // A plan's text (it may hold secrets) goes on stdin, never in argv.
            let out = self
                .transport
                .run(&host::plan_command(&check, self.become_user(), c.timeout))
                .await
                .map_err(|e| {
                    failure(
                        Some(f.step),
                        format!("running the `unless` check `{check}`: {e}"),
                    )
                })?;
            if !out.success() {
                let why = match creates {
                    Some(path) => format!("`{path}` does not exist, so `{}` will run", c.run),
                    None => format!(
                        "`{check}` ended with {}, so `{}` will run: {}",
                        out.status_text(),
                        c.run,
                        out.combined().trim()
                    ),
                };
                self.note(why);
                forced.insert(f.key.clone());
            }
        }
        Ok(forced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_nginx_dump_proves_only_its_test_twin() {
        assert!(proves("nginx -T", "nginx -t"));
        assert!(proves(
            "nginx -T -c /etc/x.conf",
            "nginx  -t -c /etc/x.conf"
        ));
        assert!(!proves("nginx -T", "nginx -t -c /etc/x.conf"));
        assert!(proves("nginx -T", "nginx -T"));
        assert!(!proves("docker exec web nginx -T", "nginx -t"));
        assert!(!proves(
            "cat /etc/nginx/nginx.conf",
            "cat /etc/nginx/nginx.conf"
        ));
    }
}
