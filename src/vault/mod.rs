//! Ansible Vault: the encrypted format (`envelope`, formats 1.1 and 1.2, AES256) and the
//! passwords that open it (`keys`: `--vault-password-file`, `--ask-vault-pass`,
//! `--vault-id label@source`).
//!
//! Decrypted values are secrets: the inventory records every value it decrypted
//! (`Inventory::vault_values`) and the CLI adds them to each host's masked values.

mod envelope;
mod keys;

pub use envelope::{VaultError, decrypt, is_vaulted};
pub use keys::{VaultKey, VaultKeyError, VaultKeys, VaultSources};
