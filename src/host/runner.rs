//! How a host runs what wsdeploy sends: as the `become` user through sudo (the password,
//! when there is one, on stdin and only when sudo asks), and always under a `timeout`
//! bound the host enforces, except the lock holder (its heartbeat bounds it).

use std::time::Duration;

use super::{Invocation, quote};
use crate::transport::{ExecOutput, KILL_GRACE, Transport, TransportError, bound_secs};

/// `inner` run under coreutils `timeout`: in its own process group, which gets TERM
/// after `bound` and KILL [`KILL_GRACE`] later, so nothing it started outlives it. Inside
/// sudo, so the signals come from the user the command runs as. Not `--foreground`:
/// that would signal the command alone and leave its children running; stdin is a pipe
/// or `/dev/null`, never a terminal, so a background process group cannot stop on it.
fn bounded(inner: &str, bound: Duration) -> String {
    format!(
        "timeout -k {} {} {inner}",
        KILL_GRACE.as_secs(),
        bound_secs(bound)
    )
}

/// Whose rights commands run with on the host (`become`) and whether sudo needs a
/// password. The password itself never appears here: the transport sends it as the first
/// line of every command's stdin (see `SshTarget::become_password`), where the runners
/// below read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub user: String,
    pub password: bool,
}

/// Runs the shell text it reads on stdin, with an empty stdin of its own (like `sh -c`).
const EVAL_STDIN: &str = "sh -c 'eval \"$(cat)\"'";

/// `inner` (a command line) run as `become.user` through sudo, which never prompts on a
/// terminal. With a password: the first stdin line is the password; it is handed to
/// `sudo -S` only when sudo asks for one (with `NOPASSWD` or a cached timestamp the line
/// is dropped, so it can never reach the command), on sudo's stdin, never in argv.
fn sudo_runner(inner: &str, elevation: &Become) -> String {
    let user = quote(&elevation.user);
    if !elevation.password {
        return format!("sudo -n -u {user} -- {inner}");
    }
    let script = format!(
        "IFS= read -r wsd_p\n\
         if sudo -n -u {user} -- true 2>/dev/null; then wsd_p=; exec sudo -n -u {user} -- {inner}; fi\n\
         {{ printf '%s\\n' \"$wsd_p\"; wsd_p=; exec cat; }} | sudo -S -p '' -u {user} -- {inner}\n"
    );
    format!("sh -c {}", quote(&script))
}

/// What to do about a sudo failure in a command's output (empty when there is none).
#[must_use]
pub fn sudo_hint(output: &str) -> &'static str {
    if output.contains("sudo: a password is required") {
        "\nhint: sudo wants a password here: pass -K, set WSDEPLOY_BECOME_PASSWORD, or set ansible_become_password (for instance in a vault file)"
    } else if output.contains("incorrect password attempt") || output.contains("Sorry, try again") {
        "\nhint: sudo refused the become password: check -K / WSDEPLOY_BECOME_PASSWORD / ansible_become_password"
    } else if output.contains("is not in the sudoers file") || output.contains("is not allowed to")
    {
        "\nhint: the login user may not run this through sudo: check the host's sudoers rules and ansible_become_user"
    } else {
        ""
    }
}

/// How long a host lets a gather run (config dumps such as `nginx -T` included).
pub const GATHER_BOUND: Duration = Duration::from_secs(60);
/// How long a host lets one of wsdeploy's own scripts run (journal, writes, commit,
/// restore, reads).
pub const SCRIPT_BOUND: Duration = Duration::from_secs(120);

/// The command line that runs a script given on stdin, as `become.user` when set,
/// stopped by the host after `bound`.
#[must_use]
pub fn script_runner(elevation: Option<&Become>, bound: Duration) -> String {
    let inner = bounded("sh -s", bound);
    match elevation {
        Some(elevation) => sudo_runner(&inner, elevation),
        None => inner,
    }
}

/// Runs one of wsdeploy's own scripts (journal, writes, commit, restore, reads) on the
/// host: on stdin, as `become.user` when set, stopped after [`SCRIPT_BOUND`].
pub async fn run_script(
    transport: &Transport,
    elevation: Option<&Become>,
    script: &str,
) -> Result<ExecOutput, TransportError> {
    transport
        .exec_within(
            &script_runner(elevation, SCRIPT_BOUND),
            Some(script.as_bytes()),
            SCRIPT_BOUND,
        )
        .await
}

/// Wraps one of wsdeploy's own scripts (no secret in it: paths) for `become`, on the
/// command line (one round trip less than stdin on the hot path), stopped by the host
/// after `bound`.
#[must_use]
pub fn wrap_command(command: &str, elevation: Option<&Become>, bound: Duration) -> String {
    wrap_unbounded(
        &bounded(&format!("sh -c {}", quote(command)), bound),
        elevation,
    )
}

/// `inner` for `become`, with no time limit: only for the lock holder, which lives as
/// long as the run by design (its heartbeat bounds it instead).
pub(super) fn wrap_unbounded(inner: &str, elevation: Option<&Become>) -> String {
    match elevation {
        Some(elevation) => sudo_runner(inner, elevation),
        None => inner.to_owned(),
    }
}

/// A plan's command (it may hold secrets): the text goes on stdin, so neither `ps` nor
/// sudo's log (`COMMAND=`) ever shows it; the command itself gets an empty stdin. The
/// host stops it, and everything it started, after `bound`.
#[must_use]
pub fn plan_command(command: &str, elevation: Option<&Become>, bound: Duration) -> Invocation {
    let inner = bounded(EVAL_STDIN, bound);
    Invocation {
        line: match elevation {
            Some(elevation) => sudo_runner(&inner, elevation),
            None => inner,
        },
        input: command.as_bytes().to_vec(),
        bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_commands_travel_on_stdin_and_never_in_the_command_line() {
        let secret_command = "curl -H 'Authorization: Bearer s3cr3t' http://x";
        for elevation in [
            None,
            Some(Become {
                user: "root".to_owned(),
                password: false,
            }),
            Some(Become {
                user: "root".to_owned(),
                password: true,
            }),
        ] {
            let invocation =
                plan_command(secret_command, elevation.as_ref(), Duration::from_secs(7));
            assert!(!invocation.line.contains("s3cr3t"), "{}", invocation.line);
            assert_eq!(invocation.input, secret_command.as_bytes());
        }
    }

    #[test]
    fn sudo_gets_the_password_on_stdin_only_when_it_asks() {
        let with_password = Become {
            user: "odoo".to_owned(),
            password: true,
        };
        let runner = script_runner(Some(&with_password), Duration::from_secs(7));
        assert!(runner.starts_with("sh -c 'IFS= read -r wsd_p"), "{runner}");
        let script = "IFS= read -r wsd_p\n\
             if sudo -n -u 'odoo' -- true 2>/dev/null; then wsd_p=; exec sudo -n -u 'odoo' -- timeout -k 5 7 sh -s; fi\n\
             { printf '%s\\n' \"$wsd_p\"; wsd_p=; exec cat; } | sudo -S -p '' -u 'odoo' -- timeout -k 5 7 sh -s\n";
        assert_eq!(runner, format!("sh -c {}", quote(script)));
        let without = Become {
            user: "odoo".to_owned(),
            password: false,
        };
        let bound = Duration::from_millis(6500);
        assert_eq!(
            script_runner(Some(&without), bound),
            "sudo -n -u 'odoo' -- timeout -k 5 7 sh -s"
        );
        assert_eq!(script_runner(None, bound), "timeout -k 5 7 sh -s");
    }
}
