//! The file-system side of the inventory: resolving `-i`, reading inventory files (YAML or
//! INI, told apart by `detect.rs`), directories of them and scripts (`script.rs`), merging
//! several `-i`, reading the `group_vars/` and `host_vars/` beside each source, and reading
//! `-e @file`. This and `script.rs` are the only parts of the module that do I/O; everything
//! else works on texts.
//!
//! Variables files are found as Ansible finds them: for a group or host `NAME`, the first of
//! `NAME` (a file, or a directory whose files are read recursively in name order, skipping
//! hidden files and `~` backups, keeping those ending in `.yml`, `.yaml`, `.json` or nothing),
//! `NAME.yml`, `NAME.yaml`, `NAME.json` that exists.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::build::{VarsFile, VarsFiles, build_with_vault};
use super::detect::{Format, is_host_list, read_host_list, read_inventory_text};
use super::error::InventoryError;
use super::extra_vars::{parse_extra_vars_in, parse_extra_vars_with};
use super::hosts_file::InventoryDraft;
use super::model::Inventory;
use super::script::run_inventory_script;
use super::vault_values::VaultContext;
use super::yaml::YamlSource;

/// Where named inventories live in a project.
pub const INVENTORIES_DIR: &str = "inventories";
/// The inventory file of a named inventory.
pub const HOSTS_FILE: &str = "hosts.yml";
/// The files `-i NAME` looks for in `inventories/NAME/`, first found wins.
pub const HOSTS_FILES: [&str; 5] = [
    "hosts.yml",
    "hosts.yaml",
    "hosts.ini",
    "hosts",
    "hosts.json",
];
const VARS_EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];
/// Names a directory inventory skips, as Ansible's `INVENTORY_IGNORE_EXTS` does.
const IGNORED_SUFFIXES: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// Maps `-i ARG` to an inventory path: a name (`production`) means the first of
/// [`HOSTS_FILES`] in `inventories/production/` of `project_dir` (`hosts.yml` when there is
/// none); anything that contains `/`, ends in `.yml`/`.yaml`/`.ini`, or exists, is taken as
/// a path (relative to `project_dir`).
pub fn resolve_inventory_arg(arg: &str, project_dir: &Path) -> PathBuf {
    let as_path = project_dir.join(arg);
    let looks_like_path = arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || Path::new(arg).extension().is_some_and(|extension| {
            ["yml", "yaml", "ini"]
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        });
    if looks_like_path || as_path.exists() {
        return as_path;
    }
    let directory = project_dir.join(INVENTORIES_DIR).join(arg);
    HOSTS_FILES
        .iter()
        .map(|name| directory.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| directory.join(HOSTS_FILE))
}

/// Resolves `-i ARG` and loads it; a missing inventory names what `-i` was given and lists
/// the inventories that exist under `project_dir/inventories/`.
pub fn load_inventory_arg(arg: &str, project_dir: &Path) -> Result<Inventory, InventoryError> {
    load_inventory_args(&[arg.to_owned()], project_dir, &LoadOptions::default())
}

/// What loading needs besides the paths: the vault passwords and the playbook directory.
#[derive(Debug, Default)]
pub struct LoadOptions {
    /// Vault secrets for `!vault` values and encrypted files.
    pub vault: crate::vault::VaultKeys,
    /// The directory whose `group_vars/` and `host_vars/` also apply, above those beside
    /// the inventory (Ansible's playbook directory, `--playbook-dir`).
    pub playbook_dir: Option<PathBuf>,
    /// Without any vault password, leave vaulted data unread (a `!vault` value is null, an
    /// encrypted file empty) instead of refusing: for commands that only locate hosts
    /// (`backups`, `rollback`) and never render a plan with these values.
    pub unread_vault_ok: bool,
}

/// Loads every `-i` argument, in order, into one inventory as Ansible merges several
/// sources: groups and hosts are united, a variable set again by a later source replaces
/// the earlier value, and the `group_vars/` and `host_vars/` beside each source apply.
/// An argument with a comma that names no file is a host list (`-i web1,web2,`).
pub fn load_inventory_args(
    args: &[String],
    project_dir: &Path,
    options: &LoadOptions,
) -> Result<Inventory, InventoryError> {
    let mut loader = Loader::new(args.first().map_or("inventory", String::as_str), options);
    for arg in args {
        let path = resolve_inventory_arg(arg, project_dir);
        if is_host_list(arg, path.exists()) {
            read_host_list(arg, &mut loader.draft)?;
            continue;
        }
        if !path.exists() {
            let shown = path.strip_prefix(project_dir).unwrap_or(&path);
            return Err(InventoryError::NotFound {
                path: shown.display().to_string(),
                from_arg: Some(arg.to_owned()),
                available: available_inventories(project_dir),
            });
        }
        loader.add_source(&path)?;
    }
    loader.finish()
}

/// Names of the directories under `project_dir/inventories/` that hold one of
/// [`HOSTS_FILES`], sorted.
pub fn available_inventories(project_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(project_dir.join(INVENTORIES_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let path = entry.path();
            HOSTS_FILES.iter().any(|name| path.join(name).is_file())
        })
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Parses `-e` arguments, reading `@file` relative to `base_dir` and decrypting
/// vault-encrypted files and `!vault` values with `keys`; also returns the decrypted values
/// (secrets to mask).
pub fn parse_extra_vars_with_vault(
    args: &[String],
    base_dir: &Path,
    keys: &crate::vault::VaultKeys,
) -> Result<(Map<String, Value>, Vec<String>), InventoryError> {
    let vault = VaultContext::new(keys);
    let vars = parse_extra_vars_in(
        args,
        base_dir,
        &|path| fs::read_to_string(path),
        Some(&vault),
    )?;
    Ok((vars, vault.into_decrypted()))
}

/// Parses `-e` arguments, reading `@file` relative to `base_dir`.
pub fn parse_extra_vars(
    args: &[String],
    base_dir: &Path,
) -> Result<Map<String, Value>, InventoryError> {
    parse_extra_vars_with(args, base_dir, &|path| fs::read_to_string(path))
}

impl Inventory {
    /// Loads an inventory file (YAML, INI or an executable script), or a directory of them,
    /// together with the `group_vars/` and `host_vars/` directories beside it.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// [`Inventory::load`] with vault passwords.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Inventory, InventoryError> {
        let mut loader = Loader::new(&path.display().to_string(), options);
        if !path.exists() {
            return Err(InventoryError::NotFound {
                path: path.display().to_string(),
                from_arg: None,
                available: Vec::new(),
            });
        }
        loader.add_source(path)?;
        loader.finish()
    }
}

/// Collects the sources of one inventory.
struct Loader<'a> {
    draft: InventoryDraft,
    /// Where `group_vars/` and `host_vars/` are looked for, in source order.
    bases: Vec<PathBuf>,
    vault: VaultContext<'a>,
    playbook_dir: Option<&'a Path>,
}

impl<'a> Loader<'a> {
    fn new(name: &str, options: &'a LoadOptions) -> Self {
        Self {
            draft: InventoryDraft::new(name),
            bases: Vec::new(),
            vault: VaultContext::new(&options.vault).unread_ok(options.unread_vault_ok),
            playbook_dir: options.playbook_dir.as_deref(),
        }
    }

    fn add_source(&mut self, path: &Path) -> Result<(), InventoryError> {
        let base = if path.is_dir() {
            self.add_dir(path)?;
            path.to_path_buf()
        } else {
            self.add_file(path)?;
            path.parent()
                .unwrap_or_else(|| Path::new("."))
                .to_path_buf()
        };
        if !self.bases.contains(&base) {
            self.bases.push(base);
        }
        Ok(())
    }

    /// Every file of a directory inventory, recursively, in name order.
    fn add_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        for entry in list_dir_sorted(dir)? {
            let name = entry
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            if name.starts_with('.')
                || ["group_vars", "host_vars", "vars_plugins"].contains(&name)
                || IGNORED_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
            {
                continue;
            }
            if entry.is_dir() {
                self.add_dir(&entry)?;
            } else {
                self.add_file(&entry)?;
            }
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path) -> Result<(), InventoryError> {
        let name = path.display().to_string();
        let format = Format::from_name(&name);
        if format == Format::Unknown && is_script(path) {
            return run_inventory_script(path, &mut self.draft);
        }
        let text = read_text(path)?;
        let (text, vaulted) = self.vault.decrypt_file(&name, text)?;
        let before = vaulted.then(|| self.draft.clone());
        let source = YamlSource::new(&name, &text).with_vault(&self.vault);
        read_inventory_text(&source, format, &mut self.draft)?;
        if let Some(before) = before {
            self.record_new_values(&before);
        }
        Ok(())
    }

    /// Records as secrets the variable values an encrypted inventory file set.
    fn record_new_values(&self, before: &InventoryDraft) {
        let hosts = self.draft.hosts.iter().map(|host| {
            let old = before
                .host_position(&host.name)
                .map(|index| &before.hosts[index].vars);
            (&host.vars, old)
        });
        let groups = self.draft.groups.iter().map(|group| {
            let old = before
                .group_position(&group.name)
                .map(|index| &before.groups[index].vars);
            (&group.vars, old)
        });
        for (vars, old) in hosts.chain(groups) {
            for (key, value) in vars {
                if old.and_then(|old| old.get(key)) != Some(value) {
                    self.vault.record_leaves(value);
                }
            }
        }
    }

    fn finish(self) -> Result<Inventory, InventoryError> {
        let mut warnings = Vec::new();
        let group_names: Vec<String> = self
            .draft
            .groups
            .iter()
            .map(|group| group.name.clone())
            .collect();
        let host_names: Vec<String> = self
            .draft
            .hosts
            .iter()
            .map(|host| host.name.clone())
            .collect();
        let owners = (group_names.as_slice(), host_names.as_slice());
        let mut files = VarsFiles::default();
        for base in &self.bases {
            let (groups, hosts) = read_vars_dirs(base, owners, true, &mut warnings)?;
            files.groups.extend(groups);
            files.hosts.extend(hosts);
        }
        if let Some(dir) = self.separate_playbook_dir() {
            // Ansible reads a playbook directory's vars for the groups and hosts it knows and
            // says nothing of the others: one project often keeps every environment's there.
            let (groups, hosts) = read_vars_dirs(dir, owners, false, &mut warnings)?;
            files.playbook_groups = groups;
            files.playbook_hosts = hosts;
        }
        let mut inventory = build_with_vault(self.draft, &files, &self.vault)?;
        inventory.warnings.extend(warnings);
        inventory.vault_values = self.vault.into_decrypted();
        Ok(inventory)
    }

    /// The playbook directory, unless it is also an inventory's directory (whose variables
    /// files are then read once, at the inventory's level; reading them twice would give
    /// the same values).
    fn separate_playbook_dir(&self) -> Option<&'a Path> {
        let dir = self.playbook_dir?;
        let same = |base: &PathBuf| match (base.canonicalize(), dir.canonicalize()) {
            (Ok(base), Ok(dir)) => base == dir,
            _ => base == dir,
        };
        (!self.bases.iter().any(same)).then_some(dir)
    }
}

/// The `group_vars/` and `host_vars/` files of `base` for `owners` (group names, host
/// names); shadowed files are reported in `warnings`, and entries no owner uses too when
/// `warn_unused`.
fn read_vars_dirs(
    base: &Path,
    (group_names, host_names): (&[String], &[String]),
    warn_unused: bool,
    warnings: &mut Vec<String>,
) -> Result<(Vec<VarsFile>, Vec<VarsFile>), InventoryError> {
    let groups = VarsDir {
        dir: base.join("group_vars"),
        owner_kind: "group",
        warn_unused,
    };
    let hosts = VarsDir {
        dir: base.join("host_vars"),
        owner_kind: "host",
        warn_unused,
    };
    Ok((
        read_vars_dir(&groups, group_names, warnings)?,
        read_vars_dir(&hosts, host_names, warnings)?,
    ))
}

/// One `group_vars/` or `host_vars/` directory.
struct VarsDir {
    dir: PathBuf,
    /// `group` or `host`, for messages.
    owner_kind: &'static str,
    /// Whether entries no owner uses are reported.
    warn_unused: bool,
}

fn read_text(path: &Path) -> Result<String, InventoryError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Err(InventoryError::NotFound {
            path: path.display().to_string(),
            from_arg: None,
            available: Vec::new(),
        }),
        Err(source) => Err(InventoryError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// An inventory script, as Ansible's `script` plugin decides: executable and starting with
/// `#!` (an executable INI file, as copies from some file systems are, is read as text).
fn is_script(path: &Path) -> bool {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;
    let executable = fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
    let mut start = [0_u8; 2];
    executable
        && fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut start))
            .is_ok()
        && &start == b"#!"
}

/// Reads the variables files of every owner (group or host) from a `group_vars/` or
/// `host_vars/` directory, in Ansible's order, and warns about shadowed files (and entries
/// no owner uses, when asked).
fn read_vars_dir(
    vars_dir: &VarsDir,
    owners: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<VarsFile>, InventoryError> {
    let (dir, owner_kind) = (vars_dir.dir.as_path(), vars_dir.owner_kind);
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
        if !vars_dir.warn_unused || is_skipped_name(name) || used_entries.contains(&entry) {
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
