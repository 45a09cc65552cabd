//! Reading the Ansible YAML inventory file (`hosts.yml`) into an [`InventoryDraft`]: groups with
//! their `hosts:`, `children:` and `vars:`, exactly as declared, before the group graph is
//! completed (see `build.rs`).
//!
//! ```yaml
//! all:
//!   vars: { ... }
//!   hosts:
//!     host-a: { ansible_host: 192.0.2.10 }
//!   children:
//!     web:
//!       hosts:
//!         web[01:03].example.com:
//! ```

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::InventoryError;
use super::host_name::{HostEntry, parse_host_entry};
use super::yaml::{Node, NodeValue, YamlSource};

/// The implicit group every host belongs to.
pub const ALL_GROUP: &str = "all";
/// The implicit group of hosts that belong to no other group.
pub const UNGROUPED_GROUP: &str = "ungrouped";
/// The inventory variable that orders groups of the same depth.
pub(crate) const GROUP_PRIORITY_VAR: &str = "ansible_group_priority";
/// Ansible's default `ansible_group_priority`.
pub(crate) const DEFAULT_GROUP_PRIORITY: i64 = 1;

/// A group as declared (possibly across several places in the file).
#[derive(Debug, Clone)]
pub(crate) struct GroupDraft {
    pub(crate) name: String,
    pub(crate) parents: Vec<String>,
    pub(crate) children: Vec<String>,
    pub(crate) hosts: Vec<String>,
    pub(crate) vars: Map<String, Value>,
    pub(crate) priority: i64,
}

/// A host as declared (possibly in several groups).
#[derive(Debug, Clone)]
pub(crate) struct HostDraft {
    pub(crate) name: String,
    pub(crate) groups: Vec<String>,
    pub(crate) vars: Map<String, Value>,
}

/// Groups and hosts in the order they first appear.
#[derive(Debug, Clone)]
pub(crate) struct InventoryDraft {
    pub(crate) file: String,
    pub(crate) groups: Vec<GroupDraft>,
    pub(crate) hosts: Vec<HostDraft>,
    group_index: HashMap<String, usize>,
    host_index: HashMap<String, usize>,
}

impl InventoryDraft {
    pub(crate) fn new(file: &str) -> Self {
        let mut draft = Self {
            file: file.to_owned(),
            groups: Vec::new(),
            hosts: Vec::new(),
            group_index: HashMap::new(),
            host_index: HashMap::new(),
        };
        draft.group(ALL_GROUP);
        draft.group(UNGROUPED_GROUP);
        // As in Ansible, `ungrouped` is always the first child of `all`.
        draft.add_child(ALL_GROUP, UNGROUPED_GROUP);
        draft
    }

    pub(crate) fn group_position(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }

    pub(crate) fn host_position(&self, name: &str) -> Option<usize> {
        self.host_index.get(name).copied()
    }

    pub(crate) fn group(&mut self, name: &str) -> usize {
        if let Some(index) = self.group_index.get(name) {
            return *index;
        }
        self.groups.push(GroupDraft {
            name: name.to_owned(),
            parents: Vec::new(),
            children: Vec::new(),
            hosts: Vec::new(),
            vars: Map::new(),
            priority: DEFAULT_GROUP_PRIORITY,
        });
        self.group_index
            .insert(name.to_owned(), self.groups.len() - 1);
        self.groups.len() - 1
    }

    pub(crate) fn add_child(&mut self, parent: &str, child: &str) {
        let parent_index = self.group(parent);
        let child_index = self.group(child);
        if !self.groups[parent_index]
            .children
            .iter()
            .any(|name| name == child)
        {
            self.groups[parent_index].children.push(child.to_owned());
        }
        if !self.groups[child_index]
            .parents
            .iter()
            .any(|name| name == parent)
        {
            self.groups[child_index].parents.push(parent.to_owned());
        }
    }

    /// Puts every host of `entry` in `group`, with the entry's port (`ansible_port`) and
    /// `vars`, later values winning (YAML and INI inventories alike).
    pub(crate) fn add_entry<'a>(
        &mut self,
        group: &str,
        entry: &HostEntry,
        vars: impl IntoIterator<Item = (&'a String, &'a Value)> + Clone,
    ) {
        for name in &entry.names {
            let index = self.host(group, name);
            let host = &mut self.hosts[index];
            if let Some(port) = entry.port {
                host.vars
                    .insert("ansible_port".to_owned(), Value::from(port));
            }
            for (var, value) in vars.clone() {
                host.vars.insert(var.clone(), value.clone());
            }
        }
    }

    pub(crate) fn host(&mut self, group: &str, host: &str) -> usize {
        let group_index = self.group(group);
        if !self.groups[group_index]
            .hosts
            .iter()
            .any(|name| name == host)
        {
            self.groups[group_index].hosts.push(host.to_owned());
        }
        let host_index = if let Some(index) = self.host_index.get(host) {
            *index
        } else {
            self.hosts.push(HostDraft {
                name: host.to_owned(),
                groups: Vec::new(),
                vars: Map::new(),
            });
            self.host_index
                .insert(host.to_owned(), self.hosts.len() - 1);
            self.hosts.len() - 1
        };
        let draft = &mut self.hosts[host_index];
        if !draft.groups.iter().any(|name| name == group) {
            draft.groups.push(group.to_owned());
        }
        host_index
    }
}

/// Reads the inventory file into a draft.
pub(crate) fn read_hosts_file(source: &YamlSource<'_>) -> Result<InventoryDraft, InventoryError> {
    let mut draft = InventoryDraft::new(source.name);
    read_hosts_file_into(source, &mut draft)?;
    Ok(draft)
}

/// Reads a YAML inventory file into `draft`, which may already hold other sources (groups
/// and hosts are merged; a variable set again replaces the earlier value).
pub(crate) fn read_hosts_file_into(
    source: &YamlSource<'_>,
    draft: &mut InventoryDraft,
) -> Result<(), InventoryError> {
    let root = source.parse()?;
    read_yaml_root(source, draft, &root)
}

/// Reads an already parsed YAML inventory document into `draft`.
pub(crate) fn read_yaml_root(
    source: &YamlSource<'_>,
    draft: &mut InventoryDraft,
    root: &Node,
) -> Result<(), InventoryError> {
    match &root.value {
        NodeValue::Map(entries) => {
            for (key, value) in entries {
                let name = source.key_text(key)?;
                if name == "plugin"
                    && let NodeValue::Str(plugin) = &value.value
                {
                    return Err(source.error_at_node(
                        key,
                        format!(
                            "this is the configuration of Ansible's `{plugin}` inventory plugin, which wsdeploy does not provide; wsdeploy reads YAML and INI inventories, inventory scripts and host lists (docs/inventories.md)"
                        ),
                    ));
                }
                read_group(source, draft, &name, key, value)?;
            }
            Ok(())
        }
        NodeValue::Null => Err(source.error_at_node(
            root,
            "the inventory is empty; expected a mapping of groups such as `all:` with `hosts:`, `children:` and `vars:`",
        )),
        other => Err(source.error_at_node(
            root,
            format!(
                "the inventory must be a mapping of group names (such as `all:`) to groups (got {})",
                other.kind()
            ),
        )),
    }
}

fn read_group(
    source: &YamlSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    name_node: &Node,
    body: &Node,
) -> Result<(), InventoryError> {
    if group.trim().is_empty() {
        return Err(source.error_at_node(name_node, "a group name cannot be empty"));
    }
    draft.group(group);
    let entries = match &body.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        other => {
            return Err(source.error_at_node(
                name_node,
                format!(
                    "group `{group}` must be a mapping with `hosts:`, `children:` and/or `vars:` (got {})",
                    other.kind()
                ),
            ));
        }
    };
    for (key, value) in entries {
        match source.key_text(key)?.as_str() {
            "hosts" => read_hosts(source, draft, group, key, value)?,
            "children" => read_children(source, draft, group, key, value)?,
            "vars" => read_group_vars(source, draft, group, key, value)?,
            other => {
                return Err(source.error_at_node(
                    key,
                    format!(
                        "unknown key `{other}` in group `{group}`; a group has only `hosts:`, `children:` and `vars:`"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn read_hosts(
    source: &YamlSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    key: &Node,
    value: &Node,
) -> Result<(), InventoryError> {
    let entries = match &value.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        other => {
            return Err(source.error_at_node(
                key,
                format!(
                    "`hosts` must be a mapping of host names to variables (got {})",
                    other.kind()
                ),
            ));
        }
    };
    for (host_key, host_vars) in entries {
        if !matches!(host_key.value, NodeValue::Str(_)) {
            let spelled = source.key_text(host_key)?;
            return Err(source.error_at_node(
                host_key,
                format!(
                    "host name {spelled} is read as {} by YAML; quote it: \"{spelled}\":",
                    host_key.value.kind()
                ),
            ));
        }
        let text = source.key_text(host_key)?;
        let entry =
            parse_host_entry(&text).map_err(|problem| source.error_at_node(host_key, problem))?;
        let vars = match &host_vars.value {
            NodeValue::Null => Map::new(),
            NodeValue::Map(vars) => source.map_to_json(vars)?,
            other => {
                return Err(source.error_at_node(
                    host_vars,
                    format!(
                        "the variables of host `{text}` must be a mapping (got {}); write `{text}:` alone for a host without variables",
                        other.kind()
                    ),
                ));
            }
        };
        draft.add_entry(group, &entry, &vars);
    }
    Ok(())
}

fn read_children(
    source: &YamlSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    key: &Node,
    value: &Node,
) -> Result<(), InventoryError> {
    let entries = match &value.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        other => {
            return Err(source.error_at_node(
                key,
                format!(
                    "`children` must be a mapping of group names to groups (got {})",
                    other.kind()
                ),
            ));
        }
    };
    for (child_key, child_body) in entries {
        let child = source.key_text(child_key)?;
        if child == ALL_GROUP {
            return Err(source.error_at_node(
                child_key,
                format!("group `all` contains every host and cannot be a child of `{group}`"),
            ));
        }
        read_group(source, draft, &child, child_key, child_body)?;
        draft.add_child(group, &child);
    }
    Ok(())
}

fn read_group_vars(
    source: &YamlSource<'_>,
    draft: &mut InventoryDraft,
    group: &str,
    key: &Node,
    value: &Node,
) -> Result<(), InventoryError> {
    let entries = match &value.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        other => {
            return Err(source.error_at_node(
                key,
                format!(
                    "`vars` must be a mapping of variable names to values (got {})",
                    other.kind()
                ),
            ));
        }
    };
    let index = draft.group(group);
    for (var_key, var_value) in entries {
        let var = source.key_text(var_key)?;
        if var == GROUP_PRIORITY_VAR {
            draft.groups[index].priority = group_priority(source, var_value)?;
            continue;
        }
        let value = source.json_value_at_key(var_key, var_value, &var)?;
        draft.groups[index].vars.insert(var, value);
    }
    Ok(())
}

/// `ansible_group_priority` is an integer (Ansible also accepts it quoted).
fn group_priority(source: &YamlSource<'_>, node: &Node) -> Result<i64, InventoryError> {
    let parsed = match &node.value {
        NodeValue::Int(value) => Some(*value),
        NodeValue::UInt(value) => i64::try_from(*value).ok(),
        NodeValue::Str(text) => text.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        source.error_at_node(
            node,
            format!(
                "`{GROUP_PRIORITY_VAR}` must be an integer (got {})",
                node.value.kind()
            ),
        )
    })
}
