//! `schedule`: the systemd units or cron line that run drift (repair) on a timer.

use std::path::Path;

use super::prepare::prepare;
use super::{BadInput, ScheduleArgs, TargetArgs};
use crate::exit;
use crate::report::out::outln;

pub(super) fn schedule(project: &Path, s: &ScheduleArgs) -> Result<u8, BadInput> {
    let minutes = crate::schedule::parse_every(&s.every).map_err(BadInput::from)?;
    let inventory = unattended_inventory(s)?;
    // Validate now what the timer will run later.
    prepare(project, &s.target, None, None)?;
    let binary = std::env::current_exe()
        .map_err(|e| BadInput::from(format!("cannot locate the wsdeploy binary: {e}")))?;
    let project = project
        .canonicalize()
        .map_err(|e| BadInput::from(format!("project directory {}: {e}", project.display())))?;
    let extra = forwarded_args(&s.target);
    let plan = s.target.plan.as_ref().map(|p| p.display().to_string());
    let spec = crate::schedule::ScheduleSpec {
        binary: &binary,
        project: &project,
        inventory,
        plan: plan.as_deref(),
        extra_args: &extra,
        minutes,
        repair: s.repair,
    };
    crate::schedule::refuse_control_characters(&spec).map_err(BadInput::from)?;
    let units = crate::schedule::render(&spec);
    if s.install {
        let dir = s.unit_dir.as_path();
        // The service holds the `-e` values, which may be secrets: root-only.
        for (suffix, text, mode) in [
            ("service", &units.service, 0o600),
            ("timer", &units.timer, 0o644),
        ] {
            let path = dir.join(format!("{}.{suffix}", units.name));
            write_with_mode(&path, text, mode).map_err(|e| {
                BadInput::from(format!(
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

/// The one inventory a timer runs, refused when the run would need a terminal to ask for
/// a password.
fn unattended_inventory(s: &ScheduleArgs) -> Result<&str, BadInput> {
    let inventory = match s.target.source.inventory.as_slice() {
        [] => {
            return Err(BadInput::from(
                "no inventory given: pass -i NAME or -i PATH".to_owned(),
            ));
        }
        [one] => one.as_str(),
        _ => {
            return Err(BadInput::from(
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
        return Err(BadInput::from(
            "a scheduled run has no terminal to ask for the vault password: use --vault-password-file FILE or --vault-id LABEL@FILE"
                .to_owned(),
        ));
    }
    if s.target.ask_pass || s.target.ask_become_pass {
        return Err(BadInput::from(
            "a scheduled run has no terminal to ask for a password (-k/-K): put it in the inventory (ansible_password, ansible_become_password, for instance vault-encrypted), or give the user a key and a NOPASSWD sudo rule"
                .to_owned(),
        ));
    }
    Ok(inventory)
}

/// The options of `s.target` that the timer's `drift` command line repeats, with files
/// made absolute.
fn forwarded_args(t: &TargetArgs) -> Vec<String> {
    let mut extra = Vec::new();
    for e in &t.extra_vars {
        extra.push("-e".to_owned());
        extra.push(e.clone());
    }
    if let Some(l) = &t.limit {
        extra.push("--limit".to_owned());
        extra.push(l.clone());
    }
    for file in &t.source.vault_password_files {
        let file = file.canonicalize().unwrap_or_else(|_| file.clone());
        extra.push("--vault-password-file".to_owned());
        extra.push(file.display().to_string());
    }
    for id in &t.source.vault_ids {
        extra.push("--vault-id".to_owned());
        extra.push(id.clone());
    }
    if let Some(dir) = &t.source.playbook_dir {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        extra.push("--playbook-dir".to_owned());
        extra.push(dir.display().to_string());
    }
    if let Some(k) = &t.connection.known_hosts {
        extra.push("--known-hosts".to_owned());
        extra.push(k.display().to_string());
    }
    if let Some(config) = &t.connection.ssh_config {
        let config = config.canonicalize().unwrap_or_else(|_| config.clone());
        extra.push("-F".to_owned());
        extra.push(config.display().to_string());
    }
    if let Some(f) = t.forks {
        extra.push("--forks".to_owned());
        extra.push(f.to_string());
    }
    if let Some(c) = t.connection.connect_timeout {
        extra.push("--connect-timeout".to_owned());
        extra.push(c.to_string());
    }
    if t.connection.accept_new_host_keys {
        extra.push("--accept-new-host-keys".to_owned());
    }
    if let Some(h) = &t.history {
        extra.push("--history".to_owned());
        extra.push(h.clone());
    }
    extra
}

/// Writes `text` to `path` with exactly `mode` (also when the file existed with another).
pub(super) fn write_with_mode(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
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
