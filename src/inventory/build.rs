//! Turning the declared inventory and its variable files into an [`Inventory`]: completing the
//! group graph the way Ansible does (top-level groups under `all`, `ungrouped`, depths,
//! cycle check) and merging each host's variables.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::InventoryError;
use super::hosts_file::{ALL_GROUP, InventoryDraft, UNGROUPED_GROUP, read_hosts_file};
use super::model::{Group, Host, Inventory};
use super::vars::{GroupVars, HostOwnVars, layers, merge_layers};
use super::vault_values::VaultContext;
use super::yaml::YamlSource;
use crate::vault::VaultKeys;

/// One variables file: the group or host it belongs to, its YAML text and the name to report
/// it under (for instance `group_vars/odoo.yml`).
pub type VarsFile = (String, String, String);

/// The variables files of an inventory, by where they were found (see `vars.rs` for the
/// precedence of each place).
#[derive(Debug, Default)]
pub(crate) struct VarsFiles {
    /// `group_vars/` beside the inventory sources.
    pub(crate) groups: Vec<VarsFile>,
    /// `host_vars/` beside the inventory sources.
    pub(crate) hosts: Vec<VarsFile>,
    /// `group_vars/` beside the playbook.
    pub(crate) playbook_groups: Vec<VarsFile>,
    /// `host_vars/` beside the playbook.
    pub(crate) playbook_hosts: Vec<VarsFile>,
}

impl Inventory {
    /// Builds an inventory from texts, without touching the file system.
    ///
    /// `hosts_yml` is the inventory file reported as `hosts_name`; `group_vars` and
    /// `host_vars` hold `(group or host, yaml, file name)` in the order they apply (for one
    /// group or host, later files win).
    pub fn from_sources(
        hosts_yml: &str,
        hosts_name: &str,
        group_vars: &[VarsFile],
        host_vars: &[VarsFile],
    ) -> Result<Inventory, InventoryError> {
        let draft = read_hosts_file(&YamlSource::new(hosts_name, hosts_yml))?;
        build(draft, group_vars, host_vars)
    }
}

/// Completes a declared inventory and merges variables (see [`Inventory::from_sources`]),
/// without vault passwords.
pub(crate) fn build(
    draft: InventoryDraft,
    group_vars: &[VarsFile],
    host_vars: &[VarsFile],
) -> Result<Inventory, InventoryError> {
    let keys = VaultKeys::default();
    let vault = VaultContext::new(&keys);
    let files = VarsFiles {
        groups: group_vars.to_vec(),
        hosts: host_vars.to_vec(),
        ..VarsFiles::default()
    };
    build_with_vault(draft, &files, &vault)
}

/// Completes a declared inventory and merges variables, decrypting vaulted variables files
/// and values with `vault`.
pub(crate) fn build_with_vault(
    mut draft: InventoryDraft,
    files: &VarsFiles,
    vault: &VaultContext<'_>,
) -> Result<Inventory, InventoryError> {
    let mut warnings = Vec::new();
    for host in &draft.hosts {
        if draft.group_position(&host.name).is_some() {
            warnings.push(format!(
                "`{}` is both a host and a group; Ansible resolves the name to the group in places, so rename one",
                host.name
            ));
        }
    }
    complete_group_graph(&mut draft);
    check_cycles(&draft)?;
    let depths = group_depths(&draft);

    let is_group = |group: &str| draft.group_position(group).is_some();
    let is_host = |host: &str| draft.host_position(host).is_some();
    let group_files = read_vars_files(&files.groups, is_group, "group", &mut warnings, vault)?;
    let host_files = read_vars_files(&files.hosts, is_host, "host", &mut warnings, vault)?;
    let playbook_group_files = read_vars_files(
        &files.playbook_groups,
        is_group,
        "group",
        &mut warnings,
        vault,
    )?;
    let playbook_host_files =
        read_vars_files(&files.playbook_hosts, is_host, "host", &mut warnings, vault)?;

    let sort_key = |name: &str| {
        let index = draft.group_position(name).unwrap_or(0);
        (depths[index], draft.groups[index].priority, name.to_owned())
    };

    let mut hosts = Vec::with_capacity(draft.hosts.len());
    for host_draft in &draft.hosts {
        let mut groups = ancestors_of(&draft, &host_draft.groups);
        groups.sort_by_key(|name| sort_key(name));
        let group_vars_of = |name: &str| GroupVars {
            inventory: draft
                .group_position(name)
                .map(|index| &draft.groups[index].vars),
            files: of(&group_files, name),
            playbook_files: of(&playbook_group_files, name),
        };
        let all = group_vars_of(ALL_GROUP);
        let others: Vec<GroupVars<'_>> = groups
            .iter()
            .filter(|name| name.as_str() != ALL_GROUP)
            .map(|name| group_vars_of(name))
            .collect();
        let own = HostOwnVars {
            inventory: Some(&host_draft.vars),
            files: of(&host_files, &host_draft.name),
            playbook_files: of(&playbook_host_files, &host_draft.name),
        };
        let vars = merge_layers(
            layers(&all, &others, &own)
                .into_iter()
                .map(|(_, layer)| layer),
        );
        hosts.push(Host {
            name: host_draft.name.clone(),
            groups,
            vars,
        });
    }

    let groups = draft
        .groups
        .iter()
        .zip(&depths)
        .map(|(group, depth)| Group {
            name: group.name.clone(),
            parents: group.parents.clone(),
            children: group.children.clone(),
            hosts: group.hosts.clone(),
            vars: group.vars.clone(),
            depth: *depth,
            priority: group.priority,
        })
        .collect();
    Ok(Inventory {
        hosts,
        groups,
        warnings,
        vault_values: Vec::new(),
    })
}

/// The parsed variables files of one group or host, in the order they apply.
fn of<'a>(
    by_owner: &'a HashMap<String, Vec<Map<String, Value>>>,
    name: &str,
) -> Vec<&'a Map<String, Value>> {
    by_owner
        .get(name)
        .map(|files| files.iter().collect())
        .unwrap_or_default()
}

/// Parses variables files, keyed by owner, dropping (with a warning) those whose owner the
/// inventory does not declare, as Ansible ignores them.
fn read_vars_files(
    files: &[VarsFile],
    owner_exists: impl Fn(&str) -> bool,
    owner_kind: &str,
    warnings: &mut Vec<String>,
    vault: &VaultContext<'_>,
) -> Result<HashMap<String, Vec<Map<String, Value>>>, InventoryError> {
    let mut by_owner: HashMap<String, Vec<Map<String, Value>>> = HashMap::new();
    for (owner, text, file_name) in files {
        let (text, vaulted) = vault.decrypt_file(file_name, text.clone())?;
        let vars = YamlSource::new(file_name, &text)
            .with_vault(vault)
            .vars_document()?;
        if vaulted {
            for value in vars.values() {
                vault.record_leaves(value);
            }
        }
        if owner_exists(owner) {
            by_owner.entry(owner.clone()).or_default().push(vars);
        } else {
            warnings.push(format!(
                "{file_name} is ignored: the inventory has no {owner_kind} named `{owner}`"
            ));
        }
    }
    Ok(by_owner)
}

/// Puts every parentless group under `all`, and hosts that are in no group but `all` into
/// `ungrouped` (and takes hosts that are in another group out of it).
fn complete_group_graph(draft: &mut InventoryDraft) {
    let parentless: Vec<String> = draft
        .groups
        .iter()
        .filter(|group| group.name != ALL_GROUP && group.parents.is_empty())
        .map(|group| group.name.clone())
        .collect();
    for group in parentless {
        draft.add_child(ALL_GROUP, &group);
    }
    let mut ungrouped = Vec::new();
    for host in &mut draft.hosts {
        let only_implicit = host
            .groups
            .iter()
            .all(|group| group == ALL_GROUP || group == UNGROUPED_GROUP);
        if only_implicit {
            host.groups.retain(|group| group != ALL_GROUP);
            if !host.groups.iter().any(|group| group == UNGROUPED_GROUP) {
                host.groups.push(UNGROUPED_GROUP.to_owned());
            }
            ungrouped.push(host.name.clone());
        } else {
            host.groups.retain(|group| group != UNGROUPED_GROUP);
        }
    }
    for group in &mut draft.groups {
        if group.name == UNGROUPED_GROUP {
            group.hosts.retain(|name| ungrouped.contains(name));
            for name in &ungrouped {
                if !group.hosts.contains(name) {
                    group.hosts.push(name.clone());
                }
            }
        }
    }
}

/// Fails when a group is (through `children:`) its own ancestor.
fn check_cycles(draft: &InventoryDraft) -> Result<(), InventoryError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        InProgress,
        Done,
    }
    fn visit(
        draft: &InventoryDraft,
        index: usize,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Result<(), InventoryError> {
        marks[index] = Mark::InProgress;
        path.push(index);
        for child in &draft.groups[index].children {
            let Some(child_index) = draft.group_position(child) else {
                continue;
            };
            match marks[child_index] {
                Mark::InProgress => {
                    let start = path
                        .iter()
                        .position(|step| *step == child_index)
                        .unwrap_or(0);
                    let mut names: Vec<&str> = path[start..]
                        .iter()
                        .map(|step| draft.groups[*step].name.as_str())
                        .collect();
                    names.push(child);
                    return Err(InventoryError::GroupCycle {
                        file: draft.file.clone(),
                        group: child.clone(),
                        cycle: names.join(" -> "),
                    });
                }
                Mark::Unvisited => visit(draft, child_index, marks, path)?,
                Mark::Done => {}
            }
        }
        path.pop();
        marks[index] = Mark::Done;
        Ok(())
    }
    let mut marks = vec![Mark::Unvisited; draft.groups.len()];
    for index in 0..draft.groups.len() {
        if marks[index] == Mark::Unvisited {
            visit(draft, index, &mut marks, &mut Vec::new())?;
        }
    }
    Ok(())
}

/// Each group's depth: the longest chain of parents up to `all` (which is 0).
/// Requires an acyclic graph.
fn group_depths(draft: &InventoryDraft) -> Vec<usize> {
    fn depth_of(draft: &InventoryDraft, index: usize, memo: &mut [Option<usize>]) -> usize {
        if let Some(depth) = memo[index] {
            return depth;
        }
        let depth = draft.groups[index]
            .parents
            .iter()
            .filter_map(|parent| draft.group_position(parent))
            .map(|parent| depth_of(draft, parent, memo) + 1)
            .max()
            .unwrap_or(0);
        memo[index] = Some(depth);
        depth
    }
    let mut memo = vec![None; draft.groups.len()];
    (0..draft.groups.len())
        .map(|index| depth_of(draft, index, &mut memo))
        .collect()
}

/// The given groups and all their ancestors (always including `all`), without duplicates.
fn ancestors_of(draft: &InventoryDraft, direct: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut pending: Vec<String> = direct.to_vec();
    pending.push(ALL_GROUP.to_owned());
    while let Some(name) = pending.pop() {
        if found.contains(&name) {
            continue;
        }
        if let Some(index) = draft.group_position(&name) {
            pending.extend(draft.groups[index].parents.iter().cloned());
        }
        found.push(name);
    }
    found
}
