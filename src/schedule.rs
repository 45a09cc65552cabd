//! Scheduled drift repair: a systemd service + timer pair (and a cron line alternative)
//! that run `wsdeploy drift [--repair]` every DURATION and log to the journal.

use std::fmt::Write as _;
use std::path::Path;

/// A schedule interval in minutes, parsed from `15m`, `1h`, `2h30m`, `1d`.
///
/// # Errors
/// Anything else, or an interval under one minute.
pub fn parse_every(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("--every `{text}`: expected a duration such as 15m, 1h, 2h30m or 1d (minimum 1m)")
    };
    let mut total = 0u64;
    let mut number = String::new();
    let mut seen_unit = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += match c {
            'm' => n,
            'h' => n * 60,
            'd' => n * 24 * 60,
            _ => return Err(bad()),
        };
        seen_unit = true;
    }
    if !number.is_empty() || !seen_unit || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// The names and contents of the units to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub name: String,
    pub service: String,
    pub timer: String,
    /// A crontab line doing the same, when the interval fits cron's fields.
    pub cron: Option<String>,
}

/// What the scheduled run executes.
pub struct ScheduleSpec<'a> {
    pub binary: &'a Path,
    pub project: &'a Path,
    pub inventory: &'a str,
    pub plan: Option<&'a str>,
    pub extra_args: &'a [String],
    pub minutes: u64,
    pub repair: bool,
}

/// One `ExecStart=` word: `%` is a specifier and `$` a variable for systemd, so both are
/// doubled; anything beyond plain characters is double-quoted with C escapes.
fn systemd_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:@%+,".contains(c))
    {
        arg.replace('%', "%%")
    } else {
        format!(
            "\"{}\"",
            arg.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('%', "%%")
                .replace('$', "$$")
        )
    }
}

fn unit_name(inventory: &str, repair: bool) -> String {
    let clean: String = Path::new(inventory)
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .filter(|c| *c != "/" && *c != "." && *c != "hosts.yml")
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches('-');
    format!(
        "wsdeploy-{}-{}",
        if repair { "repair" } else { "drift" },
        if clean.is_empty() { "fleet" } else { clean }
    )
}

/// Refuses a value that a unit file or a cron line cannot hold: a newline (or another
/// control character) would start a line of its own there, e.g. an `ExecStartPre=` forged
/// by an inventory path.
///
/// # Errors
/// Names the value (a forwarded argument is not printed: it may hold a secret).
pub fn refuse_control_characters(spec: &ScheduleSpec<'_>) -> Result<(), String> {
    let binary = spec.binary.display().to_string();
    let project = spec.project.display().to_string();
    let paths = [
        ("the wsdeploy binary's path", binary.as_str()),
        ("the project directory", project.as_str()),
        ("the inventory", spec.inventory),
    ]
    .into_iter()
    .chain(spec.plan.map(|plan| ("the plan", plan)));
    for (what, value) in paths {
        if value.chars().any(char::is_control) {
            return Err(format!(
                "{what} {value:?} holds a newline or another control character, which a unit file or a cron line cannot hold (it would start a line of its own): rename it"
            ));
        }
    }
    if spec
        .extra_args
        .iter()
        .any(|arg| arg.chars().any(char::is_control))
    {
        return Err(
            "a forwarded argument (-e, --limit, …) holds a newline or another control character, which a unit file or a cron line cannot hold: pass it in a file (-e @vars.yml)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Renders the service, timer and cron line.
#[must_use]
pub fn render(spec: &ScheduleSpec<'_>) -> Units {
    let name = unit_name(spec.inventory, spec.repair);
    let mut args: Vec<String> = vec![
        spec.binary.display().to_string(),
        "-C".into(),
        spec.project.display().to_string(),
        "drift".into(),
        "-i".into(),
        spec.inventory.to_owned(),
    ];
    if let Some(plan) = spec.plan {
        args.push(plan.to_owned());
    }
    args.extend(spec.extra_args.iter().cloned());
    if spec.repair {
        args.push("--repair".into());
    }
    let exec: Vec<String> = args.iter().map(|a| systemd_quote(a)).collect();
    let mut service = String::new();
    let _ = write!(
        service,
        "[Unit]\nDescription=wsdeploy drift {} for {}\nWants=network-online.target\nAfter=network-online.target\n\n\
         [Service]\nType=oneshot\nWorkingDirectory={}\nExecStart={}\n# Exit 2 (drift found, check mode) or 1/4 (a host failed) marks the unit failed: visible to monitoring.\nNoNewPrivileges=yes\nPrivateTmp=yes\n",
        if spec.repair { "repair" } else { "check" },
        spec.inventory.replace('%', "%%"),
        systemd_quote(&spec.project.display().to_string()),
        exec.join(" ")
    );
    let timer = format!(
        "[Unit]\nDescription=Run {name}.service every {}m\n\n[Timer]\nOnBootSec=5min\nOnUnitActiveSec={}min\nRandomizedDelaySec=30s\nPersistent=true\nUnit={name}.service\n\n[Install]\nWantedBy=timers.target\n",
        spec.minutes, spec.minutes
    );
    let shell: Vec<String> = args.iter().map(|a| crate::shell::quote(a)).collect();
    let cron_when = match spec.minutes {
        m if m < 60 && 60 % m == 0 => Some(format!("*/{m} * * * *")),
        m if m % 60 == 0 && m < 24 * 60 && (24 * 60) % m == 0 => {
            Some(format!("0 */{} * * *", m / 60))
        }
        m if m == 24 * 60 => Some("0 3 * * *".to_owned()),
        _ => None,
    };
    // cron turns an unescaped `%` of the command into a newline.
    let cron = cron_when.map(|when| {
        format!(
            "{when} root cd {} && {} 2>&1 | logger -t {name}",
            crate::shell::quote(&spec.project.display().to_string()),
            shell.join(" ")
        )
        .replace('%', "\\%")
    });
    Units {
        name,
        service,
        timer,
        cron,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_intervals() {
        assert_eq!(parse_every("15m"), Ok(15));
        assert_eq!(parse_every("2h30m"), Ok(150));
        assert_eq!(parse_every("1d"), Ok(1440));
        assert!(parse_every("15").is_err());
        assert!(parse_every("0m").is_err());
        assert!(parse_every("5s").is_err());
    }

    #[test]
    fn renders_units_and_cron() {
        let u = render(&ScheduleSpec {
            binary: Path::new("/usr/local/bin/wsdeploy"),
            project: Path::new("/srv/ops"),
            inventory: "production",
            plan: None,
            extra_args: &[],
            minutes: 15,
            repair: true,
        });
        assert_eq!(u.name, "wsdeploy-repair-production");
        assert!(u.service.contains(
            "ExecStart=/usr/local/bin/wsdeploy -C /srv/ops drift -i production --repair\n"
        ));
        assert!(u.timer.contains("OnUnitActiveSec=15min"));
        let odd = render(&ScheduleSpec {
            binary: Path::new("/usr/local/bin/wsdeploy"),
            project: Path::new("/srv/ops"),
            inventory: "production",
            plan: None,
            extra_args: &["-e".to_owned(), "pw=a%b$c d".to_owned()],
            minutes: 15,
            repair: false,
        });
        assert!(
            odd.service.contains(" -e \"pw=a%%b$$c d\"\n"),
            "{}",
            odd.service
        );
        assert!(
            odd.cron
                .as_deref()
                .is_some_and(|c| c.contains("'pw=a\\%b$c d'")),
            "{:?}",
            odd.cron
        );
        assert_eq!(
            u.cron.as_deref(),
            Some(
                "*/15 * * * * root cd '/srv/ops' && '/usr/local/bin/wsdeploy' '-C' '/srv/ops' 'drift' '-i' 'production' '--repair' 2>&1 | logger -t wsdeploy-repair-production"
            )
        );
    }
}
