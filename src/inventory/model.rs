//! The inventory as the rest of wsdeploy sees it: hosts (in file order) with their groups and
//! merged variables, and the group graph.

use serde_json::{Map, Value};

/// A managed host.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub(crate) name: String,
    pub(crate) groups: Vec<String>,
    pub(crate) vars: Map<String, Value>,
}

impl Host {
    /// The inventory name of the host (not necessarily its address, see `ansible_host`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every group the host belongs to, directly or through a parent group, including `all`
    /// (and `ungrouped` when it is in no other group), ordered as Ansible orders them:
    /// by depth (parents first), then `ansible_group_priority`, then name.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Whether the host belongs to `group`, directly or through a parent group.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|name| name == group)
    }

    /// The host's variables after merging every inventory source (extra vars not included;
    /// see [`Host::vars_with_extra`]).
    pub fn vars(&self) -> &Map<String, Value> {
        &self.vars
    }

    /// One variable from [`Host::vars`].
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// The host's variables with `-e` extra vars applied on top (they win over everything).
    pub fn vars_with_extra(&self, extra_vars: &Map<String, Value>) -> Map<String, Value> {
        let mut vars = self.vars.clone();
        super::vars::merge_replace(&mut vars, extra_vars);
        vars
    }
}

/// A group of hosts, as declared in the inventory file.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub(crate) name: String,
    pub(crate) parents: Vec<String>,
    pub(crate) children: Vec<String>,
    pub(crate) hosts: Vec<String>,
    pub(crate) vars: Map<String, Value>,
    pub(crate) depth: usize,
    pub(crate) priority: i64,
}

impl Group {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Groups that list this one under `children:` (`all` for top-level groups).
    pub fn parents(&self) -> &[String] {
        &self.parents
    }

    /// Groups listed under this group's `children:`.
    pub fn children(&self) -> &[String] {
        &self.children
    }

    /// Hosts listed directly under this group's `hosts:` (not those of child groups).
    pub fn direct_hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Variables set under this group's `vars:` in the inventory file (not `group_vars/`).
    pub fn inventory_vars(&self) -> &Map<String, Value> {
        &self.vars
    }

    /// Length of the longest chain of parents up to `all` (`all` is 0, top-level groups 1).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// `ansible_group_priority` from the inventory file (default 1); among groups of the same
    /// depth, a higher priority is merged later and so wins.
    pub fn priority(&self) -> i64 {
        self.priority
    }
}

/// A loaded inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub(crate) hosts: Vec<Host>,
    pub(crate) groups: Vec<Group>,
    pub(crate) warnings: Vec<String>,
    pub(crate) vault_values: Vec<String>,
}

impl Inventory {
    /// All hosts, in the order they first appear in the inventory file.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|host| host.name == name)
    }

    /// All groups: `all`, `ungrouped`, then the others in the order they first appear.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|group| group.name == name)
    }

    /// Group names sorted alphabetically (for messages).
    pub fn group_names_sorted(&self) -> Vec<String> {
        let mut names: Vec<String> = self.groups.iter().map(|group| group.name.clone()).collect();
        names.sort();
        names
    }

    /// Things that Ansible accepts silently but that are probably mistakes, such as a
    /// `group_vars/` file for a group the inventory does not declare.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every value decrypted from a vault while loading: secrets to mask in every output.
    pub fn vault_values(&self) -> &[String] {
        &self.vault_values
    }

    /// Every value of the run to mask: the vaulted values and each host's password
    /// variables (`mask::PASSWORD_VARIABLES`, with `-e` applied).
    #[must_use]
    pub fn secret_values(&self, extra_vars: &Map<String, Value>) -> Vec<String> {
        let mut values = self.vault_values.clone();
        for host in &self.hosts {
            let vars = host.vars_with_extra(extra_vars);
            for name in crate::mask::PASSWORD_VARIABLES {
                if let Some(Value::String(value)) = vars.get(*name)
                    && !value.is_empty()
                    && !values.contains(value)
                {
                    values.push(value.clone());
                }
            }
        }
        values
    }
}
