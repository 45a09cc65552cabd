//! Ansible-compatible inventories: `hosts.yml` (YAML inventory format) with `group_vars/` and
//! `host_vars/`, variable precedence, host patterns (`hosts:` and `--limit`), `-e` extra vars
//! and typed connection settings.
//!
//! Only `load.rs` touches the file system; [`Inventory::from_sources`] builds the same
//! inventory from texts.

mod build;
mod connection;
mod error;
mod extra_vars;
mod host_name;
mod hosts_file;
mod limit;
mod load;
mod model;
mod vars;
mod yaml;

pub use build::VarsFile;
pub use connection::{
    BecomeMethod, Connection, ConnectionKind, DEFAULT_BECOME_USER, DEFAULT_SSH_PORT,
    HONOURED_VARIABLES, connection_from_vars,
};
pub use error::{EXTRA_VARS_FORMS, InventoryError};
pub use extra_vars::{is_variable_name, parse_extra_vars_with};
pub use hosts_file::{ALL_GROUP, UNGROUPED_GROUP};
pub use load::{
    HOSTS_FILE, INVENTORIES_DIR, available_inventories, load_inventory_arg, parse_extra_vars,
    resolve_inventory_arg,
};
pub use model::{Group, Host, Inventory};
pub use vars::{VarLevel, merge_replace};
