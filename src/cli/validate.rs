//! `validate`: the offline lint of plans (and of their variables with `-i`).

use std::path::Path;

use super::prepare::{inventory_usage_error, load_inventory_keeping_keys};
use super::{BadInput, ValidateArgs};
use crate::inventory;

pub(super) fn validate(project: &Path, v: &ValidateArgs) -> Result<u8, BadInput> {
    // The vault options open the inventory and `-e @vaulted.yml` alike.
    let (inventory, keys) = if v.source.inventory.is_empty() {
        let keys = crate::vault::VaultKeys::from_sources(&crate::vault::VaultSources {
            password_files: v.source.vault_password_files.clone(),
            vault_ids: v.source.vault_ids.clone(),
            ask: v.source.ask_vault_pass,
        })
        .map_err(|error| BadInput::from(error.to_string()))?;
        (None, keys)
    } else {
        // The first plan's directory, as `apply` would use for it.
        let first = crate::validate::plan_files(project, &v.plans)
            .into_iter()
            .next()
            .filter(|_| !v.plans.is_empty());
        let (inventory, keys) = load_inventory_keeping_keys(project, &v.source, first.as_deref())?;
        (Some(inventory), keys)
    };
    let (extra, _secrets) =
        inventory::parse_extra_vars_with_vault(&v.extra_vars, Path::new("."), &keys)
            .map_err(|e| inventory_usage_error(&e))?;
    crate::validate::run(
        project,
        &v.plans,
        inventory.as_ref(),
        &extra,
        v.limit.as_deref(),
    )
    .map_err(BadInput::from)
}
