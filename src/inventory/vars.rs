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
//! | 3 | `group_vars/all` files |
//! | 4 | `group_vars/<group>` files of the host's other groups |
//! | 5 | the host's variables in the inventory file |
//! | 6 | `host_vars/<host>` files |
//! | 7 | extra vars (`-e`) |
//!
//! Within levels 2 and 4, groups are taken parents first (by depth), then by
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
    /// `group_vars/all.yml` (or `group_vars/all/*`).
    AllGroupVarsFile,
    /// `group_vars/<group>.yml` (or `group_vars/<group>/*`) of any other group.
    GroupVarsFile,
    /// Variables given to the host under `hosts:` in the inventory file.
    HostInventory,
    /// `host_vars/<host>.yml` (or `host_vars/<host>/*`).
    HostVarsFile,
    /// `-e` on the command line.
    ExtraVars,
}

/// Variables a group contributes: from the inventory file and from its `group_vars/` files.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GroupVars<'a> {
    pub(crate) inventory: Option<&'a Map<String, Value>>,
    pub(crate) files: Vec<&'a Map<String, Value>>,
}

/// Variables a host contributes itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HostOwnVars<'a> {
    pub(crate) inventory: Option<&'a Map<String, Value>>,
    pub(crate) files: Vec<&'a Map<String, Value>>,
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
    layers.extend(other_groups_sorted.iter().flat_map(|group| {
        group
            .files
            .iter()
            .map(|vars| (VarLevel::GroupVarsFile, *vars))
    }));
    layers.extend(host.inventory.map(|vars| (VarLevel::HostInventory, vars)));
    layers.extend(
        host.files
            .iter()
            .map(|vars| (VarLevel::HostVarsFile, *vars)),
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
    fn layers_follow_ansible_order() {
        let all_inv = map(json!({"v": "all_inventory"}));
        let all_file = map(json!({"v": "all_file"}));
        let group_inv = map(json!({"v": "group_inventory"}));
        let group_file = map(json!({"v": "group_file"}));
        let host_inv = map(json!({"v": "host_inventory"}));
        let host_file = map(json!({"v": "host_file"}));
        let all = GroupVars {
            inventory: Some(&all_inv),
            files: vec![&all_file],
        };
        let groups = [GroupVars {
            inventory: Some(&group_inv),
            files: vec![&group_file],
        }];
        let host = HostOwnVars {
            inventory: Some(&host_inv),
            files: vec![&host_file],
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
                VarLevel::GroupVarsFile,
                VarLevel::HostInventory,
                VarLevel::HostVarsFile
            ]
        );
        assert!(levels.is_sorted());
    }
}
