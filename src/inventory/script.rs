//! Executable inventory scripts (Ansible's `script` inventory plugin): the script is run with
//! `--list` and prints JSON such as
//!
//! ```json
//! {"web": {"hosts": ["w1", "w2"], "vars": {"http_port": 80}, "children": ["db"]},
//!  "db": ["d1"],
//!  "_meta": {"hostvars": {"w1": {"ansible_host": "192.0.2.1"}}}}
//! ```
//!
//! A group is a mapping with `hosts`, `vars`, `children`, or just a list of hosts. Without
//! `_meta`, the script is run once more per host with `--host NAME` for its variables.
//!
//! The script is run directly (its `#!` line picks the interpreter), from the current
//! directory, with nothing on stdin. This file runs it; [`read_script_json`] is the pure part.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

use super::error::InventoryError;
use super::hosts_file::InventoryDraft;

/// Runs `path --list` (and `--host` when needed) and adds what it prints to `draft`.
pub(crate) fn run_inventory_script(
    path: &Path,
    draft: &mut InventoryDraft,
) -> Result<(), InventoryError> {
    let script = path.display().to_string();
    let listed = run(path, &["--list"])?;
    let host_vars_from_host = |host: &str| -> Result<Map<String, Value>, InventoryError> {
        let output = run(path, &["--host", host])?;
        match parse_json(&script, "--host", &output)? {
            Value::Object(vars) => Ok(vars),
            other => Err(InventoryError::Script {
                script: script.clone(),
                message: format!(
                    "`--host {host}` must print a JSON object of variables (got {})",
                    kind(&other)
                ),
            }),
        }
    };
    let value = parse_json(&script, "--list", &listed)?;
    read_script_json(&script, &value, draft, &host_vars_from_host)
}

fn run(path: &Path, args: &[&str]) -> Result<String, InventoryError> {
    let script = path.display().to_string();
    let output = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| InventoryError::Script {
            script: script.clone(),
            message: format!(
                "cannot run it with {}: {error} (an executable inventory file is run as a script; remove its execute bit if it is a plain inventory)",
                args.join(" ")
            ),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(InventoryError::Script {
            script,
            message: format!(
                "`{}` failed ({}){}",
                args.join(" "),
                output.status,
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", stderr.trim())
                }
            ),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| InventoryError::Script {
        script,
        message: format!("`{}` printed something that is not UTF-8", args.join(" ")),
    })
}

fn parse_json(script: &str, args: &str, text: &str) -> Result<Value, InventoryError> {
    serde_json::from_str(text).map_err(|error| InventoryError::Script {
        script: script.to_owned(),
        message: format!(
            "`{args}` must print JSON; line {} column {}: {error}",
            error.line(),
            error.column()
        ),
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Answers `--host NAME`: the variables of one host.
pub(crate) type HostVarsQuery<'a> = dyn Fn(&str) -> Result<Map<String, Value>, InventoryError> + 'a;

/// Adds the `--list` JSON of a script to `draft`; `host_vars` answers `--host NAME` when the
/// JSON has no `_meta.hostvars`.
pub(crate) fn read_script_json(
    script: &str,
    value: &Value,
    draft: &mut InventoryDraft,
    host_vars: &HostVarsQuery<'_>,
) -> Result<(), InventoryError> {
    let error = |message: String| InventoryError::Script {
        script: script.to_owned(),
        message,
    };
    let Value::Object(groups) = value else {
        return Err(error(format!(
            "`--list` must print a JSON object of groups (got {})",
            kind(value)
        )));
    };
    let mut meta_vars: Option<&Map<String, Value>> = None;
    let mut listed_hosts: Vec<String> = Vec::new();
    for (group, data) in groups {
        if group == "_meta" {
            if let Some(hostvars) = data.get("hostvars") {
                let Value::Object(hostvars) = hostvars else {
                    return Err(error(format!(
                        "`_meta.hostvars` must be an object of host names to variables (got {})",
                        kind(hostvars)
                    )));
                };
                meta_vars = Some(hostvars);
            }
            continue;
        }
        read_script_group(script, group, data, draft, &mut listed_hosts)?;
    }
    for host in &listed_hosts {
        let vars = match meta_vars {
            Some(meta) => match meta.get(host) {
                Some(Value::Object(vars)) => vars.clone(),
                Some(other) => {
                    return Err(error(format!(
                        "`_meta.hostvars.{host}` must be an object (got {})",
                        kind(other)
                    )));
                }
                None => Map::new(),
            },
            None => host_vars(host)?,
        };
        if let Some(index) = draft.host_position(host) {
            for (key, value) in vars {
                draft.hosts[index].vars.insert(key, trusted(&value));
            }
        }
    }
    Ok(())
}

/// Adds one group of a script's `--list` JSON (its hosts, vars and children) to `draft`,
/// and its hosts to `listed_hosts` in order of first appearance.
fn read_script_group(
    script: &str,
    group: &str,
    data: &Value,
    draft: &mut InventoryDraft,
    listed_hosts: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let error = |message: String| InventoryError::Script {
        script: script.to_owned(),
        message,
    };
    draft.group(group);
    let rewritten: Value;
    let (hosts, vars, children) = match data {
        Value::Object(body)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|key| body.contains_key(*key)) =>
        {
            (body.get("hosts"), body.get("vars"), body.get("children"))
        }
        // Ansible reads a mapping without these keys as a host of that name whose
        // variables the mapping holds (deprecated, still found in old scripts).
        Value::Object(_) => {
            rewritten = json!([group]);
            (Some(&rewritten), Some(data), None)
        }
        list => (Some(list), None, None),
    };
    if let Some(hosts) = hosts {
        let Value::Array(hosts) = hosts else {
            return Err(error(format!(
                "the hosts of group `{group}` must be a list (got {})",
                kind(hosts)
            )));
        };
        for host in hosts {
            let name = scalar_name(host).ok_or_else(|| {
                error(format!(
                    "group `{group}` lists a host that is not a name: {host}"
                ))
            })?;
            draft.host(group, &name);
            if !listed_hosts.contains(&name) {
                listed_hosts.push(name);
            }
        }
    }
    if let Some(vars) = vars {
        let Value::Object(vars) = vars else {
            return Err(error(format!(
                "the vars of group `{group}` must be an object (got {})",
                kind(vars)
            )));
        };
        let index = draft.group(group);
        for (key, value) in vars {
            draft.groups[index].vars.insert(key.clone(), trusted(value));
        }
    }
    if let Some(children) = children {
        let Value::Array(children) = children else {
            return Err(error(format!(
                "the children of group `{group}` must be a list (got {})",
                kind(children)
            )));
        };
        for child in children {
            let child = scalar_name(child).ok_or_else(|| {
                error(format!(
                    "group `{group}` lists a child that is not a name: {child}"
                ))
            })?;
            draft.add_child(group, &child);
        }
    }
    Ok(())
}

/// A value with Ansible's `{"__ansible_unsafe": TEXT}` markers replaced by TEXT (wsdeploy
/// never evaluates inventory values as templates, so the marker has nothing to guard).
fn trusted(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("__ansible_unsafe") => {
            map.get("__ansible_unsafe").cloned().unwrap_or(Value::Null)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), trusted(item)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(trusted).collect()),
        other => other.clone(),
    }
}

fn scalar_name(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}
