//! The inventory as `ansible-inventory --list` prints it: one entry per group with its
//! direct `hosts` and its `children` (empty ones left out, `all` listing its children), and
//! `_meta.hostvars` with every host's merged variables (hosts without any left out). Values decrypted from a vault are
//! masked.

use serde_json::{Map, Value, json};

use super::hosts_file::ALL_GROUP;
use super::model::Inventory;

impl Inventory {
    /// The `ansible-inventory --list` JSON of this inventory.
    #[must_use]
    pub fn to_ansible_list(&self) -> Value {
        let mut out = Map::new();
        let mut hostvars = Map::new();
        for host in self.hosts.iter().filter(|host| !host.vars.is_empty()) {
            let mut vars = Value::Object(host.vars.clone());
            mask_vault(&mut vars, &self.vault_values);
            hostvars.insert(host.name.clone(), vars);
        }
        out.insert("_meta".to_owned(), json!({ "hostvars": hostvars }));
        for group in &self.groups {
            let mut entry = Map::new();
            if !group.children.is_empty() {
                entry.insert("children".to_owned(), json!(group.children));
            }
            if !group.hosts.is_empty() && group.name != ALL_GROUP {
                entry.insert("hosts".to_owned(), json!(group.hosts));
            }
            if !entry.is_empty() || group.name == ALL_GROUP {
                out.insert(group.name.clone(), Value::Object(entry));
            }
        }
        Value::Object(out)
    }
}

fn mask_vault(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(text) if secrets.contains(text) => *text = "********".to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|item| mask_vault(item, secrets)),
        Value::Object(map) => map.values_mut().for_each(|item| mask_vault(item, secrets)),
        _ => {}
    }
}
