//! The file-system side of the inventory: resolving `-i`, reading `hosts.yml` and the
//! `group_vars/` and `host_vars/` beside it, and reading `-e @file`. This is the only part of
//! the module that does I/O; everything else works on texts.
//!
//! Variables files are found as Ansible finds them: for a group or host `NAME`, the first of
//! `NAME` (a file, or a directory whose files are read recursively in name order, skipping
//! hidden files and `~` backups, keeping those ending in `.yml`, `.yaml`, `.json` or nothing),
//! `NAME.yml`, `NAME.yaml`, `NAME.json` that exists.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::build::{VarsFile, build};
use super::error::InventoryError;
use super::extra_vars::parse_extra_vars_with;
use super::hosts_file::read_hosts_file;
use super::model::Inventory;
use super::yaml::YamlSource;

/// Where named inventories live in a project.
pub const INVENTORIES_DIR: &str = "inventories";
/// The inventory file of a named inventory.
pub const HOSTS_FILE: &str = "hosts.yml";
const VARS_EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// Maps `-i ARG` to an inventory file: a name (`production`) means
/// `inventories/production/hosts.yml` in `project_dir`; anything that contains `/`, ends in
/// `.yml`/`.yaml`, or exists, is taken as a path (relative to `project_dir`).
pub fn resolve_inventory_arg(arg: &str, project_dir: &Path) -> PathBuf {
    let as_path = project_dir.join(arg);
    let looks_like_path = arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || Path::new(arg).extension().is_some_and(|extension| {
            extension.eq_ignore_ascii_case("yml") || extension.eq_ignore_ascii_case("yaml")
        });
    if looks_like_path || as_path.exists() {
        return as_path;
    }
    let directory = project_dir.join(INVENTORIES_DIR).join(arg);
    let preferred = directory.join(HOSTS_FILE);
    let alternative = directory.join("hosts.yaml");
    if !preferred.exists() && alternative.exists() {
        alternative
    } else {
        preferred
    }
}

/// Resolves `-i ARG` and loads it; a missing inventory names what `-i` was given and lists
/// the inventories that exist under `project_dir/inventories/`.
pub fn load_inventory_arg(arg: &str, project_dir: &Path) -> Result<Inventory, InventoryError> {
    let path = resolve_inventory_arg(arg, project_dir);
    if !path.exists() {
        let shown = path.strip_prefix(project_dir).unwrap_or(&path);
        return Err(InventoryError::NotFound {
            path: shown.display().to_string(),
            from_arg: Some(arg.to_owned()),
            available: available_inventories(project_dir),
        });
    }
    Inventory::load(&path)
}

/// Names of the directories under `project_dir/inventories/` that hold a `hosts.yml`
/// (or `hosts.yaml`), sorted.
pub fn available_inventories(project_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(project_dir.join(INVENTORIES_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let path = entry.path();
            path.join(HOSTS_FILE).is_file() || path.join("hosts.yaml").is_file()
        })
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Parses `-e` arguments, reading `@file` relative to `base_dir`.
pub fn parse_extra_vars(
    args: &[String],
    base_dir: &Path,
) -> Result<Map<String, Value>, InventoryError> {
    parse_extra_vars_with(args, base_dir, &|path| fs::read_to_string(path))
}

impl Inventory {
    /// Loads an inventory file (or a directory holding `hosts.yml`) together with the
    /// `group_vars/` and `host_vars/` directories beside it.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let hosts_path = if path.is_dir() {
            path.join(HOSTS_FILE)
        } else {
            path.to_path_buf()
        };
        let text = match fs::read_to_string(&hosts_path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(InventoryError::NotFound {
                    path: hosts_path.display().to_string(),
                    from_arg: None,
                    available: Vec::new(),
                });
            }
            Err(source) => {
                return Err(InventoryError::Io {
                    path: hosts_path,
                    source,
                });
            }
        };
        let hosts_name = hosts_path.display().to_string();
        let draft = read_hosts_file(&YamlSource::new(&hosts_name, &text))?;
        let base = hosts_path.parent().unwrap_or_else(|| Path::new("."));

        let mut warnings = Vec::new();
        let group_names: Vec<String> = draft
            .groups
            .iter()
            .map(|group| group.name.clone())
            .collect();
        let host_names: Vec<String> = draft.hosts.iter().map(|host| host.name.clone()).collect();
        let group_vars = read_vars_dir(
            &base.join("group_vars"),
            &group_names,
            "group",
            &mut warnings,
        )?;
        let host_vars = read_vars_dir(&base.join("host_vars"), &host_names, "host", &mut warnings)?;

        let mut inventory = build(draft, &group_vars, &host_vars)?;
        inventory.warnings.extend(warnings);
        Ok(inventory)
    }
}

/// Reads the variables files of every owner (group or host) from `dir`, in Ansible's order,
/// and warns about entries no owner uses.
fn read_vars_dir(
    dir: &Path,
    owners: &[String],
    owner_kind: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<VarsFile>, InventoryError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut used_entries: Vec<PathBuf> = Vec::new();
    let mut files = Vec::new();
    for owner in owners {
        let candidates = std::iter::once(dir.join(owner)).chain(
            VARS_EXTENSIONS
                .iter()
                .map(|extension| dir.join(format!("{owner}.{extension}"))),
        );
        let mut existing = candidates.filter(|candidate| candidate.exists());
        let Some(chosen) = existing.next() else {
            continue;
        };
        for shadowed in existing {
            warnings.push(format!(
                "{} is ignored: {} is used for {owner_kind} `{owner}` (only the first of NAME, NAME.yml, NAME.yaml, NAME.json is read)",
                shadowed.display(),
                chosen.display()
            ));
            used_entries.push(shadowed);
        }
        let paths = if chosen.is_dir() {
            dir_vars_files(&chosen)?
        } else {
            vec![chosen.clone()]
        };
        used_entries.push(chosen);
        for path in paths {
            let text = fs::read_to_string(&path).map_err(|source| InventoryError::Io {
                path: path.clone(),
                source,
            })?;
            files.push((owner.clone(), text, path.display().to_string()));
        }
    }
    for entry in list_dir_sorted(dir)? {
        let name = entry
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if is_skipped_name(name) || used_entries.contains(&entry) {
            continue;
        }
        warnings.push(format!(
            "{} is ignored: the inventory has no {owner_kind} of that name",
            entry.display()
        ));
    }
    Ok(files)
}

/// Files of a `group_vars/NAME/` directory, recursively, in name order.
fn dir_vars_files(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let mut found = Vec::new();
    for path in list_dir_sorted(dir)? {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if is_skipped_name(name) {
            continue;
        }
        let extension = path.extension().and_then(|extension| extension.to_str());
        if path.is_dir() && extension.is_none() {
            found.extend(dir_vars_files(&path)?);
        } else if path.is_file()
            && extension.is_none_or(|extension| VARS_EXTENSIONS.contains(&extension))
        {
            found.push(path);
        }
    }
    Ok(found)
}

fn is_skipped_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~')
}

fn list_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let entries = fs::read_dir(dir).map_err(|source| InventoryError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| InventoryError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}
