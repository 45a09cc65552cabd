//! `wsdeploy ssh-config HOST…`: how each host would be reached, resolved exactly as a
//! run resolves it (inventory variables, ssh arguments, ssh_config), printed one
//! `keyword value` a line as `ssh -G` does; no connection is made.

use std::path::Path;

use super::prepare::{
    inventory_label, inventory_usage_error, load_inventory_keeping_keys, reach_without_passwords,
};
use super::{BadInput, SshConfigArgs};
use crate::exit;
use crate::inventory;
use crate::reach;
use crate::report;
use crate::report::out::errln;
use crate::transport::ssh::{AddressFamily, IdentityAgent, SshTarget};

pub(super) fn ssh_config(project: &Path, s: &SshConfigArgs) -> Result<u8, BadInput> {
    let reach = reach_without_passwords(&s.connection)?;
    let hosts = named_hosts(project, s)?;
    let mut warnings = reach::Warnings::default();
    let mut failed = false;
    let mut blocks = Vec::new();
    for (name, vars) in hosts {
        let block = inventory::connection_from_vars(&name, &vars)
            .map_err(|e| e.to_string())
            .and_then(|connection| match connection.kind {
                inventory::ConnectionKind::Local => {
                    Ok(format!("host {name}\n  connection local\n"))
                }
                inventory::ConnectionKind::Ssh => {
                    reach::ssh_target(&name, &connection, &reach, &mut warnings)
                        .map(|target| describe(&name, &target))
                        .map_err(|e| e.to_string())
                }
            });
        match block {
            Ok(text) => blocks.push(text),
            Err(error) => {
                failed = true;
                errln!("error: {error}");
            }
        }
    }
    for warning in warnings.lines() {
        errln!("warning: {warning}");
    }
    report::out::stdout(&blocks.join("\n"));
    Ok(if failed { exit::BAD_INPUT } else { exit::OK })
}

/// A host's name and variables.
type NamedHost = (String, serde_json::Map<String, serde_json::Value>);

/// Each requested host with its variables: inventory hosts matching the patterns, or,
/// with no inventory, the names themselves with no variables.
fn named_hosts(project: &Path, s: &SshConfigArgs) -> Result<Vec<NamedHost>, BadInput> {
    let (inv, keys) = if s.source.inventory.is_empty() {
        (None, crate::vault::VaultKeys::default())
    } else {
        let (inv, keys) = load_inventory_keeping_keys(project, &s.source, None)?;
        (Some(inv), keys)
    };
    let (extra, _) = inventory::parse_extra_vars_with_vault(&s.extra_vars, Path::new("."), &keys)
        .map_err(|e| inventory_usage_error(&e))?;
    let Some(inv) = inv else {
        return Ok(s
            .hosts
            .iter()
            .map(|name| (name.clone(), extra.clone()))
            .collect());
    };
    let mut hosts = Vec::new();
    for pattern in &s.hosts {
        let selected = inv
            .select(pattern, None)
            .map_err(|e| inventory_usage_error(&e))?;
        if selected.is_empty() {
            return Err(BadInput::from(format!(
                "`{pattern}` matches no host of -i {}",
                inventory_label(&s.source)
            )));
        }
        for host in selected {
            if !hosts.iter().any(|(name, _)| name == host.name()) {
                hosts.push((host.name().to_owned(), host.vars_with_extra(&extra)));
            }
        }
    }
    Ok(hosts)
}

/// `host NAME` then one `keyword value` a line.
fn describe(name: &str, target: &SshTarget) -> String {
    let mut lines = vec![
        format!("host {name}"),
        format!("  route {}", target.label()),
    ];
    lines.extend(endpoint_lines(target, "  "));
    for (index, hop) in target.jumps.iter().enumerate() {
        lines.push(format!(
            "  jump {} {}@{}:{}",
            index + 1,
            hop.user,
            hop.host,
            hop.port
        ));
        lines.extend(endpoint_lines(hop, "    "));
    }
    lines.join("\n") + "\n"
}

fn endpoint_lines(target: &SshTarget, indent: &str) -> Vec<String> {
    let mut lines = vec![
        format!("hostname {}", target.host),
        format!("user {}", target.user),
        format!("port {}", target.port),
    ];
    if target.key_files.is_empty() {
        lines.push(if target.identities_only {
            "identityfile (none given: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)".to_owned()
        } else {
            "identityfile (none given: the agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)"
                .to_owned()
        });
    }
    for key in &target.key_files {
        let agent = if key.extension().is_some_and(|ext| ext == "pub") {
            " (public key: the agent signs with its private half)"
        } else {
            ""
        };
        lines.push(format!("identityfile {}{agent}", key.display()));
    }
    lines.push(format!(
        "identitiesonly {}",
        if target.identities_only { "yes" } else { "no" }
    ));
    lines.push(format!(
        "identityagent {}",
        match &target.identity_agent {
            IdentityAgent::Environment => "SSH_AUTH_SOCK".to_owned(),
            IdentityAgent::Disabled => "none".to_owned(),
            IdentityAgent::Socket(path) => path.display().to_string(),
        }
    ));
    lines.push(format!(
        "userknownhostsfile {}",
        target.known_hosts.display()
    ));
    if let Some(alias) = &target.host_key_alias {
        lines.push(format!("hostkeyalias {alias}"));
    }
    lines.push(format!(
        "stricthostkeychecking {}",
        if target.accept_new_host_keys {
            "accept-new"
        } else {
            "yes"
        }
    ));
    lines.push(format!(
        "connecttimeout {}",
        target.connect_timeout.as_secs()
    ));
    lines.push(format!(
        "addressfamily {}",
        match target.address_family {
            AddressFamily::Any => "any",
            AddressFamily::Inet => "inet",
            AddressFamily::Inet6 => "inet6",
        }
    ));
    if target.password.is_some() {
        lines.push("passwordauthentication yes (a password is set)".to_owned());
    }
    lines
        .into_iter()
        .map(|line| format!("{indent}{line}"))
        .collect()
}
