//! The project: inventory × plan → what each host is to do. Every play is rendered for
//! every host it selects, with the host's variables, the play's and `-e` (the command
//! line's input already read and checked by `cli::prepare`); no I/O, no connection.

use std::collections::HashMap;

use crate::inventory;
use crate::location::Location;
use crate::plan::{self, HostPlan, RenderError};

/// Why the plan could not be rendered for the hosts.
#[derive(Debug, thiserror::Error)]
pub enum RenderHostsError {
    /// A play's `hosts:` (or `--limit`) does not select from the inventory.
    #[error(transparent)]
    Hosts(#[from] inventory::InventoryError),
    /// A play failed to render for a host.
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl RenderHostsError {
    /// Where in the plan the error is, when it is in the plan.
    #[must_use]
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Hosts(_) => None,
            Self::Render(e) => Some(&*e.origin),
        }
    }
}

/// Every play rendered for each host it selects (`limit`: the `--limit` pattern), the
/// hosts in inventory order; `vault_values` are masked like a play's `secrets:`.
pub fn render_for_hosts(
    plan: &plan::Plan,
    inv: &inventory::Inventory,
    limit: Option<&str>,
    extra: &serde_json::Map<String, serde_json::Value>,
    vault_values: &[String],
) -> Result<Vec<(String, Vec<HostPlan>)>, RenderHostsError> {
    let mut per_host: Vec<(String, Vec<HostPlan>)> = Vec::new();
    for play in &plan.plays {
        let selected = inv.select(&play.hosts, limit)?;
        for host in selected {
            let vars = plan::merge_vars(play, host.name(), host.vars(), extra);
            let explicit = |name: &str| {
                host.vars().contains_key(name)
                    || play.vars.contains_key(name)
                    || extra.contains_key(name)
            };
            let pending = plan::facts::prepare(play, host.name(), explicit, &vars, vault_values)?;
            // Values decrypted from a vault are secrets, masked like a play's `secrets:`
            // (and the host's password variables): the list is made here, once, and the
            // plan rendered again with facts keeps it.
            let inputs = plan::Inputs {
                vars,
                facts: pending
                    .as_ref()
                    .map(plan::facts::Pending::defaults)
                    .unwrap_or_default(),
                masked: vault_values.to_vec(),
            };
            let mut rendered = plan::render_play(play, host.name(), inputs)?;
            if let Some(mut p) = pending {
                p.masked.clone_from(&rendered.secret_values);
                rendered.facts = plan::PlanFacts::NeedsFacts(std::sync::Arc::new(p));
            }
            match per_host.iter_mut().find(|(h, _)| h == host.name()) {
                Some((_, plans)) => plans.push(rendered),
                None => per_host.push((host.name().to_owned(), vec![rendered])),
            }
        }
    }
    let order: HashMap<&str, usize> = inv
        .hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name(), i))
        .collect();
    per_host.sort_by_key(|(h, _)| order.get(h.as_str()).copied().unwrap_or(usize::MAX));
    Ok(per_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, plan::Plan, inventory::Inventory) {
        let dir = tempfile::tempdir().expect("temp dir");
        let hosts = dir.path().join("hosts.yml");
        std::fs::write(
            &hosts,
            "all:\n  children:\n    web:\n      hosts:\n        h2: {port: 2}\n        h1: {port: 1}\n    db:\n      hosts:\n        h3: {}\n",
        )
        .expect("write inventory");
        let plan_file = dir.path().join("site.yml");
        std::fs::write(
            &plan_file,
            "name: site\nhosts: web\nsteps:\n  - file: {path: \"/srv/{{ inventory_hostname }}\", content: \"port {{ port }} {{ release }}\\n\"}\n",
        )
        .expect("write plan");
        let plan = plan::load(&plan_file).expect("plan loads");
        let inv = inventory::Inventory::load(&hosts).expect("inventory loads");
        (dir, plan, inv)
    }

    fn extra() -> serde_json::Map<String, serde_json::Value> {
        let mut extra = serde_json::Map::new();
        extra.insert("release".into(), "r7".into());
        extra
    }

    #[test]
    fn each_selected_host_gets_its_rendered_play_in_inventory_order() {
        let (_dir, plan, inv) = project();
        let per_host =
            render_for_hosts(&plan, &inv, None, &extra(), &["vaulted-secret".to_owned()])
                .expect("renders");
        let names: Vec<&str> = per_host.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(names, ["h2", "h1"]);
        let (_, plans) = &per_host[1];
        assert_eq!(plans.len(), 1);
        assert!(
            plans[0]
                .secret_values
                .contains(&"vaulted-secret".to_owned())
        );
        let step = format!("{:?}", plans[0].steps);
        assert!(
            step.contains("/srv/h1") && step.contains("port 1 r7"),
            "{step}"
        );
    }

    #[test]
    fn limit_narrows_the_hosts_and_an_undefined_variable_is_an_error() {
        let (_dir, plan, inv) = project();
        let per_host = render_for_hosts(&plan, &inv, Some("h1"), &extra(), &[]).expect("renders");
        assert_eq!(per_host.len(), 1);
        assert_eq!(per_host[0].0, "h1");
        let error = render_for_hosts(&plan, &inv, None, &serde_json::Map::new(), &[])
            .expect_err("`release` is undefined");
        assert!(error.to_string().contains("release"), "{error}");
    }
}
