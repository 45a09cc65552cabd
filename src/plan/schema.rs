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
    #[test]
    fn steps_deny_unknown_fields_and_list_every_kind() {
        let schema: serde_json::Value =
            serde_json::from_str(&super::plan_schema()).unwrap_or_default();
        let step = &schema["$defs"]["StepSpec"];
        assert_eq!(step["additionalProperties"], false);
        for kind in [
            "nginx",
            "ini",
            "json",
            "file",
            "line",
            "requirements",
            "compose_ports",
            "command",
            "verify",
            "when",
        ] {
            assert!(step["properties"][kind].is_object(), "{kind}");
        }
    }
}
