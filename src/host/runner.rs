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
/// `sudo -S` only when sudo would ask for one, on sudo's stdin, never in argv. Whether it
/// would is probed first with the same program (`sudo -n … timeout … true`, sudoers rules
/// name programs): with `NOPASSWD` or a cached timestamp the line is dropped, so it can
/// never reach the command; a probe that fails for any reason but "a password is
/// required" (a program sudo does not allow, no sudo) is an error, and the password goes
/// nowhere.
fn sudo_runner(inner: &str, elevation: &Become) -> String {
    let user = quote(&elevation.user);
    if !elevation.password {
        return format!("sudo -n -u {user} -- {inner}");
    }
    let probe = if inner.starts_with("timeout ") {
        format!("timeout -k {} 1 true", KILL_GRACE.as_secs())
    } else {
        "true".to_owned()
    };
    let script = format!(
        "IFS= read -r wsd_p\n\
         if wsd_e=$(LC_ALL=C sudo -n -u {user} -- {probe} 2>&1 </dev/null); then wsd_p=; exec sudo -n -u {user} -- {inner}; fi\n\
         case $wsd_e in *'a password is required'*) ;; *) wsd_p=; printf 'wsdeploy: `sudo -n -u %s -- {probe}` failed, so the become password is not sent: %s\\n' {user} \"$wsd_e\" >&2; exit 1 ;; esac\n\
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
/// The longest script sent on the command line (`wrap_command`) rather than on stdin
/// (`script_runner`): well under the host's `ARG_MAX`.
pub const COMMAND_LINE_SCRIPT_MAX: usize = 64 * 1024;

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
             if wsd_e=$(LC_ALL=C sudo -n -u 'odoo' -- timeout -k 5 1 true 2>&1 </dev/null); then wsd_p=; exec sudo -n -u 'odoo' -- timeout -k 5 7 sh -s; fi\n\
             case $wsd_e in *'a password is required'*) ;; *) wsd_p=; printf 'wsdeploy: `sudo -n -u %s -- timeout -k 5 1 true` failed, so the become password is not sent: %s\\n' 'odoo' \"$wsd_e\" >&2; exit 1 ;; esac\n\
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

    /// A `sudo` for the runner's shell that follows `policy`: `nopasswd:PROGRAM` (only
    /// that program, without a password; anything else is not allowed), `password:PW`
    /// (everything, with that password on stdin), `deny` (nothing). It runs the command
    /// as the current user.
    fn fake_sudo(dir: &std::path::Path, policy: &str) {
        use std::os::unix::fs::PermissionsExt;
        let script = format!(
            "#!/bin/sh\npolicy='{policy}'; n=\n\
             while :; do case $1 in -n) n=1; shift ;; -S) shift ;; -p|-u) shift 2 ;; --) shift; break ;; *) break ;; esac; done\n\
             case $policy in\n\
             nopasswd:*) [ \"$1\" = \"${{policy#nopasswd:}}\" ] && exec \"$@\"; echo \"Sorry, user u is not allowed to execute '$1' as root on h.\" >&2; exit 1 ;;\n\
             password:*) if [ -n \"$n\" ]; then echo 'sudo: a password is required' >&2; exit 1; fi\n\
             \x20 IFS= read -r pw; [ \"$pw\" = \"${{policy#password:}}\" ] || {{ echo 'sudo: 1 incorrect password attempt' >&2; exit 1; }}; exec \"$@\" ;;\n\
             *) echo 'sudo: not allowed' >&2; exit 1 ;;\n\
             esac\n"
        );
        let sudo = dir.join("sudo");
        std::fs::write(&sudo, script).unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs `echo ran-it` through the runner with the become password `hunter2`.
    fn through_sudo(policy: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        fake_sudo(dir.path(), policy);
        let elevation = Become {
            user: "root".to_owned(),
            password: true,
        };
        let runner = script_runner(Some(&elevation), Duration::from_secs(10));
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap()
        );
        let mut child = std::process::Command::new("sh")
            .args(["-c", &runner])
            .env("PATH", path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hunter2\necho ran-it\n").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    #[test]
    fn the_password_answers_only_a_real_sudo_prompt() {
        // Only `timeout` is NOPASSWD: no prompt, so the password goes nowhere.
        let (ok, text) = through_sudo("nopasswd:timeout");
        assert!(ok && text.contains("ran-it"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        // sudo asks: it gets the password, the command does not.
        let (ok, text) = through_sudo("password:hunter2");
        assert!(ok && text.contains("ran-it"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        // The probe fails for another reason: an error, the password is never sent.
        let (ok, text) = through_sudo("deny");
        assert!(!ok && !text.contains("ran-it"), "{text}");
        assert!(
            text.contains("so the become password is not sent"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
