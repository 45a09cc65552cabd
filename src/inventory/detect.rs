//! Which inventory format a file is written in, decided from its name and, when the name
//! does not say (`hosts`, `production`), from its content: a YAML document whose top level
//! is a mapping is a YAML inventory, anything else is read as INI, as Ansible's `yaml` and
//! `ini` plugins would (in that order). Also `-i host1,host2,` host lists.

use super::error::InventoryError;
use super::host_name::parse_host_entry;
use super::hosts_file::{InventoryDraft, UNGROUPED_GROUP, read_yaml_root};
use super::ini::{IniSource, read_ini_into};
use super::yaml::{NodeValue, YamlSource};
use crate::location::Location;

/// The formats an inventory file can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Ini,
    /// Decided from the content.
    Unknown,
}

impl Format {
    /// The format a file name announces (`.yml`, `.yaml`, `.json` → YAML; `.ini` → INI).
    pub(crate) fn from_name(name: &str) -> Self {
        let extension = name
            .rsplit_once('.')
            .map(|(_, extension)| extension.to_ascii_lowercase());
        match extension.as_deref() {
            Some("yml" | "yaml" | "json") => Format::Yaml,
            Some("ini") => Format::Ini,
            _ => Format::Unknown,
        }
    }
}

/// Reads one inventory text (YAML or INI) into `draft`.
pub(crate) fn read_inventory_text(
    source: &YamlSource<'_>,
    format: Format,
    draft: &mut InventoryDraft,
) -> Result<(), InventoryError> {
    let ini = IniSource {
        name: source.name,
        text: source.text,
    };
    match format {
        Format::Yaml => {
            let root = source.parse()?;
            read_yaml_root(source, draft, &root)
        }
        Format::Ini => read_ini_into(&ini, draft),
        Format::Unknown => match source.parse() {
            Ok(root) if matches!(root.value, NodeValue::Map(_)) => {
                read_yaml_root(source, draft, &root)
            }
            Ok(_) => read_ini_into(&ini, draft),
            Err(yaml_error) => {
                let mut trial = draft.clone();
                match read_ini_into(&ini, &mut trial) {
                    Ok(()) => {
                        *draft = trial;
                        Ok(())
                    }
                    Err(_) if looks_like_yaml(source.text) => Err(yaml_error),
                    Err(ini_error) => Err(ini_error),
                }
            }
        },
    }
}

/// Whether a text that is neither valid YAML nor valid INI was meant as YAML (so that the
/// YAML error is the one shown).
fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'));
    first.is_some_and(|line| {
        line.starts_with("---")
            || line.ends_with(':')
            || (line.contains(": ") && !line.starts_with('['))
    })
}

/// Reads `-i host1,host2,` (a comma-separated list, `host:port` allowed) into `ungrouped`.
pub(crate) fn read_host_list(list: &str, draft: &mut InventoryDraft) -> Result<(), InventoryError> {
    for item in list
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let entry = parse_host_entry(item).map_err(|problem| InventoryError::Ini {
            location: Location::at(format!("-i {list}"), 1, 1),
            message: problem,
            snippet: String::new(),
        })?;
        for name in &entry.names {
            let index = draft.host(UNGROUPED_GROUP, name);
            if let Some(port) = entry.port {
                draft.hosts[index]
                    .vars
                    .insert("ansible_port".to_owned(), port.into());
            }
        }
    }
    Ok(())
}

/// Whether `-i ARG` is a host list rather than a path (Ansible: it holds a comma and names
/// no existing file).
pub(crate) fn is_host_list(arg: &str, exists: bool) -> bool {
    arg.contains(',') && !exists
}
