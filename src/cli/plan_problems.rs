//! A plan that fails to load or render for `apply`, `drift` or `verify`: the first error
//! as it was found, followed by every other problem `wsdeploy validate` finds in the plan
//! (with the same inventory, `-e` and `--limit`), so one run names them all.

use std::path::Path;

use serde_json::{Map, Value};

use super::BadInput;
use crate::inventory::Inventory;
use crate::location::Location;
use crate::validate;

/// The plan error `first` (at `first_at`, when it has a place), with the plan's other
/// problems after it: those at another place.
pub(super) fn plan_error(
    first: BadInput,
    first_at: Option<&Location>,
    plan_path: &Path,
    inventory: &Inventory,
    extra: &Map<String, Value>,
    limit: Option<&str>,
) -> BadInput {
    let cx = validate::Context {
        inventory: Some(inventory),
        extra,
        limit,
    };
    let others: Vec<validate::Problem> = validate::check_plan(plan_path, &cx)
        .into_iter()
        .filter(|p| !p.is_warning() && Some(&p.location) != first_at)
        .collect();
    if others.is_empty() {
        return first;
    }
    let more = format!(
        "\nthe plan has {} more problem{} (as `wsdeploy validate` reports them):\n{}",
        others.len(),
        if others.len() == 1 { "" } else { "s" },
        others
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut said = first.said;
    said.body.push_str(&more);
    BadInput {
        more: others,
        said,
        ..first
    }
}
