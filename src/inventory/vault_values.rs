//! Vault-encrypted inventory data: `!vault` values (any string that starts with
//! `$ANSIBLE_VAULT;`) and whole encrypted files (inventory files, `group_vars/`,
//! `host_vars/`). Decrypting is pure: the passwords were read before loading started.
//!
//! Every value that came out of a vault is recorded (for whole files: every string value
//! of their variables of 6 characters or more) so the CLI can mask it in every output. Without a password that
//! opens it, a vaulted value is an error naming the file, line, column and variable; the
//! ciphertext is never used as a value.

use std::cell::RefCell;

use serde_json::Value;

use super::error::InventoryError;
use crate::location::Location;
use crate::vault::{self, VaultKeys};

/// The shortest string of an encrypted file that is masked (the length under which a
/// plan's `secrets:` get a warning).
const MIN_FILE_SECRET: usize = crate::mask::MIN_SECRET_LEN;

/// The passwords of a load and the values decrypted so far.
#[derive(Debug)]
pub(crate) struct VaultContext<'a> {
    keys: &'a VaultKeys,
    decrypted: RefCell<Vec<String>>,
    /// Without keys, vaulted data is left unread instead of refused.
    unread_ok: bool,
}

impl<'a> VaultContext<'a> {
    pub(crate) fn new(keys: &'a VaultKeys) -> Self {
        Self {
            keys,
            decrypted: RefCell::new(Vec::new()),
            unread_ok: false,
        }
    }

    /// With no vault password at all, leaves vaulted data unread (see
    /// `LoadOptions::unread_vault_ok`) instead of refusing it.
    pub(crate) fn unread_ok(self, unread_ok: bool) -> Self {
        Self { unread_ok, ..self }
    }

    /// Whether vaulted data is to be left unread (allowed, and no password given).
    pub(crate) fn leaves_unread(&self) -> bool {
        self.unread_ok && self.keys.is_empty()
    }

    /// Decrypts a whole file when it is a vault envelope; other texts pass through.
    pub(crate) fn decrypt_file(
        &self,
        name: &str,
        text: String,
    ) -> Result<(String, bool), InventoryError> {
        if !vault::is_vaulted(&text) {
            return Ok((text, false));
        }
        if self.leaves_unread() {
            return Ok((String::new(), true));
        }
        let refused = |message: String| InventoryError::Vault {
            location: Location::file(name),
            variable: None,
            message,
        };
        let plain = vault::decrypt(&text, self.keys).map_err(|error| refused(error.to_string()))?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| refused("the decrypted content is not UTF-8 text".to_owned()))?;
        Ok((text, true))
    }

    /// Decrypts one `!vault` value, the value of `variable` found at `location`.
    pub(crate) fn decrypt_value(
        &self,
        location: &Location,
        variable: &str,
        text: &str,
    ) -> Result<String, InventoryError> {
        let refused = |message: String| InventoryError::Vault {
            location: location.clone(),
            variable: Some(variable.to_owned()),
            message,
        };
        let plain = vault::decrypt(text, self.keys).map_err(|error| refused(error.to_string()))?;
        let value = String::from_utf8(plain.to_vec())
            .map_err(|_| refused("the decrypted value is not UTF-8 text".to_owned()))?;
        self.record(&value);
        Ok(value)
    }

    /// Records the strings inside `value` (a variable of an encrypted file) as secrets,
    /// except those shorter than [`MIN_FILE_SECRET`] characters: a value is masked wherever
    /// it stands as a whole word, and an encrypted file's `on`, `yes` or `443` would
    /// otherwise shred every output.
    /// (A `!vault` value is recorded whatever its length.)
    pub(crate) fn record_leaves(&self, value: &Value) {
        match value {
            Value::String(text) if text.chars().count() >= MIN_FILE_SECRET => self.record(text),
            Value::Array(items) => items.iter().for_each(|item| self.record_leaves(item)),
            Value::Object(map) => map.values().for_each(|item| self.record_leaves(item)),
            _ => {}
        }
    }

    fn record(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut decrypted = self.decrypted.borrow_mut();
        if !decrypted.iter().any(|known| known == text) {
            decrypted.push(text.to_owned());
        }
    }

    /// The decrypted values, for masking.
    pub(crate) fn into_decrypted(self) -> Vec<String> {
        self.decrypted.into_inner()
    }
}
