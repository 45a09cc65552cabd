//! The JSON Schema of plan files (generated from `model` with schemars), printed by
//! `wsdeploy schema` and committed as `docs/plan.schema.json` so editors (YAML language
//! servers) complete and check plans.

/// The schema as pretty JSON, ending with a newline.
#[must_use]
pub fn plan_schema() -> String {
    let schema = schemars::schema_for!(super::model::PlanFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use crate::plan::kinds::Kind;

    /// The fields of a step that are not a kind.
    const STEP_FIELDS: [&str; 12] = [
        "id",
        "name",
        "hint",
        "if_changed",
        "when",
        "unless",
        "creates",
        "expect_exit",
        "timeout",
        "retries",
        "delay",
        "warn_only",
    ];

    #[test]
    fn steps_deny_unknown_fields_and_list_every_kind() {
        let schema: serde_json::Value =
            serde_json::from_str(&super::plan_schema()).unwrap_or_default();
        let step = &schema["$defs"]["StepSpec"];
        assert_eq!(step["additionalProperties"], false);
        for kind in Kind::ALL {
            assert!(step["properties"][kind.key()].is_object(), "{kind:?}");
        }
        let properties = step["properties"].as_object().expect("properties");
        let kinds: Vec<&str> = properties
            .keys()
            .map(String::as_str)
            .filter(|key| !STEP_FIELDS.contains(key))
            .collect();
        assert_eq!(
            kinds,
            Kind::ALL.map(Kind::key),
            "every kind field of a step is in Kind::ALL, in order"
        );
    }
}
