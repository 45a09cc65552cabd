//! Ansible-compatible inventories: the YAML and INI formats, executable inventory scripts,
//! `-i host1,host2,` lists, several `-i` merged, `group_vars/` and `host_vars/`, vault-encrypted
//! values and files, variable precedence, host patterns (`hosts:` and `--limit`), `-e` extra
//! vars, typed connection settings, and `ansible-inventory --list` output.
//!
//! Only `load.rs` and `script.rs` touch the file system or run programs;
//! [`Inventory::from_sources`] builds the same inventory from texts.

mod build;
mod connection;
mod detect;
mod error;
mod extra_vars;
mod host_name;
mod hosts_file;
mod ini;
mod limit;
mod list;
mod load;
mod model;
mod py_literal;
mod script;
mod vars;
mod vault_values;
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
    HOSTS_FILE, HOSTS_FILES, INVENTORIES_DIR, LoadOptions, available_inventories,
    load_inventory_arg, load_inventory_args, parse_extra_vars, parse_extra_vars_with_vault,
    resolve_inventory_arg,
};
pub use model::{Group, Host, Inventory};
pub use vars::{VarLevel, merge_replace};
