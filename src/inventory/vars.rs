//! Variable precedence and merging.
//!
//! Ansible's default order for the sources an inventory provides, lowest first
//! (`VARIABLE_PRECEDENCE` = `all_inventory, groups_inventory, all_plugins_inventory,
//! groups_plugins_inventory`, then host variables):
//!
//! | level | source |
//! |---|---|
//! | 1 | `vars:` of group `all` in the inventory file |
//! | 2 | `vars:` of the host's other groups in the inventory file |
//! | 3 | `group_vars/all` files beside the inventory |
//! | 4 | `group_vars/all` files beside the playbook (`--playbook-dir`, the plan's directory) |
//! | 5 | `group_vars/<group>` files beside the inventory, of the host's other groups |
//! | 6 | `group_vars/<group>` files beside the playbook, of the host's other groups |
//! | 7 | the host's variables in the inventory file |
//! | 8 | `host_vars/<host>` files beside the inventory |
//! | 9 | `host_vars/<host>` files beside the playbook |
//! | 10 | extra vars (`-e`) |
//!
//! Within levels 2, 5 and 6, groups are taken parents first (by depth), then by
//! `ansible_group_priority`, then by name, so a child group overrides its parent. Within one
//! group or host, files are taken in the order given (file-name order when loaded from disk).
//! Merging replaces whole top-level values (Ansible's default `hash_behaviour = replace`):
//! a dictionary variable set at a higher level replaces the lower one, it is not deep-merged.

use serde_json::{Map, Value};

/// Where a variable value comes from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VarLevel {
    /// `all: vars:` in the inventory file.
    AllInventory,
    /// `vars:` of any other group in the inventory file.
    GroupInventory,
    /// `group_vars/all.yml` (or `group_vars/all/*`) beside the inventory.
    AllGroupVarsFile,
    /// `group_vars/all.yml` (or `group_vars/all/*`) beside the playbook.
    AllPlaybookGroupVarsFile,
    /// `group_vars/<group>.yml` (or `group_vars/<group>/*`) of any other group, beside the
    /// inventory.
    GroupVarsFile,
    /// `group_vars/<group>.yml` (or `group_vars/<group>/*`) of any other group, beside the
    /// playbook.
    PlaybookGroupVarsFile,
    /// Variables given to the host under `hosts:` in the inventory file.
    HostInventory,
    /// `host_vars/<host>.yml` (or `host_vars/<host>/*`) beside the inventory.
    HostVarsFile,
    /// `host_vars/<host>.yml` (or `host_vars/<host>/*`) beside the playbook.
    PlaybookHostVarsFile,
    /// `-e` on the command line.
    ExtraVars,
}

/// Variables a group contributes: from the inventory file and from its `group_vars/` files
/// beside the inventory and beside the playbook.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GroupVars<'a> {
    pub(crate) inventory: Option<&'a Map<String, Value>>,
    pub(crate) files: Vec<&'a Map<String, Value>>,
    pub(crate) playbook_files: Vec<&'a Map<String, Value>>,
}

/// Variables a host contributes itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HostOwnVars<'a> {
    pub(crate) inventory: Option<&'a Map<String, Value>>,
    pub(crate) files: Vec<&'a Map<String, Value>>,
    pub(crate) playbook_files: Vec<&'a Map<String, Value>>,
}

/// The layers of one host's variables in precedence order, lowest first.
pub(crate) fn layers<'a>(
    all_group: &GroupVars<'a>,
    other_groups_sorted: &[GroupVars<'a>],
    host: &HostOwnVars<'a>,
) -> Vec<(VarLevel, &'a Map<String, Value>)> {
    let mut layers = Vec::new();
    layers.extend(
        all_group
            .inventory
            .map(|vars| (VarLevel::AllInventory, vars)),
    );
    layers.extend(
        other_groups_sorted
            .iter()
            .filter_map(|group| group.inventory.map(|vars| (VarLevel::GroupInventory, vars))),
    );
    layers.extend(
        all_group
            .files
            .iter()
            .map(|vars| (VarLevel::AllGroupVarsFile, *vars)),
    );
    layers.extend(
        all_group
            .playbook_files
            .iter()
            .map(|vars| (VarLevel::AllPlaybookGroupVarsFile, *vars)),
    );
    layers.extend(other_groups_sorted.iter().flat_map(|group| {
        group
            .files
            .iter()
            .map(|vars| (VarLevel::GroupVarsFile, *vars))
    }));
    layers.extend(other_groups_sorted.iter().flat_map(|group| {
        group
            .playbook_files
            .iter()
            .map(|vars| (VarLevel::PlaybookGroupVarsFile, *vars))
    }));
    layers.extend(host.inventory.map(|vars| (VarLevel::HostInventory, vars)));
    layers.extend(
        host.files
            .iter()
            .map(|vars| (VarLevel::HostVarsFile, *vars)),
    );
    layers.extend(
        host.playbook_files
            .iter()
            .map(|vars| (VarLevel::PlaybookHostVarsFile, *vars)),
    );
    layers
}

/// Merges layers (lowest first) into one map, each layer replacing top-level keys.
pub(crate) fn merge_layers<'a>(
    layers: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> Map<String, Value> {
    let mut merged = Map::new();
    for layer in layers {
        merge_replace(&mut merged, layer);
    }
    merged
}

/// Sets every key of `higher` in `target`, replacing existing values whole.
pub fn merge_replace(target: &mut Map<String, Value>, higher: &Map<String, Value>) {
    for (key, value) in higher {
        target.insert(key.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test data must be an object"),
        }
    }

    #[test]
    fn replace_is_not_deep_merge() {
        let mut target = map(json!({"opts": {"a": 1, "b": 2}, "keep": true}));
        merge_replace(&mut target, &map(json!({"opts": {"c": 3}})));
        assert_eq!(
            Value::Object(target),
            json!({"opts": {"c": 3}, "keep": true})
        );
    }

    #[test]
    fn playbook_group_vars_of_a_parent_beat_inventory_group_vars_of_a_child() {
        let child_inventory_file = map(json!({"v": "child beside the inventory"}));
        let parent_playbook_file = map(json!({"v": "parent beside the playbook"}));
        let parent = GroupVars {
            playbook_files: vec![&parent_playbook_file],
            ..GroupVars::default()
        };
        let child = GroupVars {
            files: vec![&child_inventory_file],
            ..GroupVars::default()
        };
        let merged = merge_layers(
            layers(
                &GroupVars::default(),
                &[parent, child],
                &HostOwnVars::default(),
            )
            .into_iter()
            .map(|(_, layer)| layer),
        );
        assert_eq!(merged["v"], "parent beside the playbook");
    }

    #[test]
    fn layers_follow_ansible_order() {
        let all_inv = map(json!({"v": "all_inventory"}));
        let all_file = map(json!({"v": "all_file"}));
        let group_inv = map(json!({"v": "group_inventory"}));
        let group_file = map(json!({"v": "group_file"}));
        let host_inv = map(json!({"v": "host_inventory"}));
        let host_file = map(json!({"v": "host_file"}));
        let all_play = map(json!({"v": "all_playbook_file"}));
        let group_play = map(json!({"v": "group_playbook_file"}));
        let host_play = map(json!({"v": "host_playbook_file"}));
        let all = GroupVars {
            inventory: Some(&all_inv),
            files: vec![&all_file],
            playbook_files: vec![&all_play],
        };
        let groups = [GroupVars {
            inventory: Some(&group_inv),
            files: vec![&group_file],
            playbook_files: vec![&group_play],
        }];
        let host = HostOwnVars {
            inventory: Some(&host_inv),
            files: vec![&host_file],
            playbook_files: vec![&host_play],
        };
        let levels: Vec<VarLevel> = layers(&all, &groups, &host)
            .iter()
            .map(|(level, _)| *level)
            .collect();
        assert_eq!(
            levels,
            [
                VarLevel::AllInventory,
                VarLevel::GroupInventory,
                VarLevel::AllGroupVarsFile,
                VarLevel::AllPlaybookGroupVarsFile,
                VarLevel::GroupVarsFile,
                VarLevel::PlaybookGroupVarsFile,
                VarLevel::HostInventory,
                VarLevel::HostVarsFile,
                VarLevel::PlaybookHostVarsFile
            ]
        );
        assert!(levels.is_sorted());
    }
}
