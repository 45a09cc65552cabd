//! `apply --list-hosts` and `inventory --list/--host`: what an inventory resolves to, with no
//! connection made.

use std::path::Path;

use super::prepare::{
    inventory_usage_error, load_inventory, load_plan, plan_path, warn_unmatched_hosts,
};
use super::{BadInput, InventoryArgs, TargetArgs};
use crate::exit;
use crate::report::out::outln;

/// `apply --list-hosts`: the hosts a run would target (every play's `hosts:` narrowed by
/// `--limit`), in inventory order, one per line.
pub(super) fn list_hosts(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let inv = load_inventory(project, &t.source, Some(&plan_path(project, t)))?;
    let plan = load_plan(project, t)?;
    warn_unmatched_hosts(&plan, &inv);
    let mut targeted = vec![false; inv.hosts().len()];
    for play in &plan.plays {
        for host in inv
            .select(&play.hosts, t.limit.as_deref())
            .map_err(|e| inventory_usage_error(&e))?
        {
            if let Some(index) = inv.hosts().iter().position(|h| h.name() == host.name()) {
                targeted[index] = true;
            }
        }
    }
    for (host, wanted) in inv.hosts().iter().zip(targeted) {
        if wanted {
            outln!("{}", host.name());
        }
    }
    Ok(exit::OK)
}

pub(super) fn inventory_list(project: &Path, i: &InventoryArgs) -> Result<u8, BadInput> {
    let inv = load_inventory(project, &i.source, None)?;
    let listed = inv.to_ansible_list();
    let value = match &i.host {
        None => listed,
        Some(name) => {
            if inv.host(name).is_none() {
                return Err(BadInput::from(format!(
                    "--host {name}: the inventory has no such host"
                )));
            }
            listed["_meta"]["hostvars"]
                .get(name)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}))
        }
    };
    let text = serde_json::to_string_pretty(&value)
        .map_err(|e| BadInput::from(format!("cannot print the inventory: {e}")))?;
    outln!("{text}");
    Ok(exit::OK)
}
