//! `validate`: the offline lint of plans (and of their variables with `-i`).

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn validate(project: &Path, v: &ValidateArgs) -> Result<u8, BadInput> {
    let inventory = if v.source.inventory.is_empty() {
        None
    } else {
        // The first plan's directory, as `apply` would use for it.
        let first = crate::validate::plan_files(project, &v.plans)
            .into_iter()
            .next()
            .filter(|_| !v.plans.is_empty());
        Some(load_inventory(project, &v.source, first.as_deref())?)
    };
    crate::validate::run(
        project,
        &v.plans,
        inventory.as_ref(),
        &v.extra_vars,
        v.limit.as_deref(),
    )
    .map_err(BadInput)
}
