//! YAML reading for the inventory: a node tree that remembers where every node came from,
//! conversion of nodes into `serde_json::Value`, and errors that name file, line and column.
//!
//! Scalars follow what Ansible users expect from YAML 1.1: `yes`/`no`/`on`/`off` are booleans,
//! while integers spelled with a leading zero (`0644`) stay strings, so file modes survive.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::{Location, MessageFormatter, Spanned, UserMessageFormatter};

use super::error::InventoryError;
use super::vault_values::VaultContext;

/// One YAML node together with the place it was read from.
pub(crate) type Node = Spanned<NodeValue>;

/// The value of a YAML node.
#[derive(Debug)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl NodeValue {
    /// How the node is called in error messages ("a sequence", "a string", ...).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::UInt(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a sequence",
            NodeValue::Map(_) => "a mapping",
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::UInt(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(value))
    }

    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = access.next_entry::<Node, Node>()? {
            entries.push(entry);
        }
        Ok(NodeValue::Map(entries))
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// A YAML text and the name it is reported under (for instance `hosts.yml` or
/// `group_vars/odoo.yml`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct YamlSource<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
    vault: Option<&'a VaultContext<'a>>,
}

impl<'a> YamlSource<'a> {
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        Self {
            name,
            text,
            vault: None,
        }
    }

    /// The same source, decrypting `!vault` values with `vault`.
    pub(crate) fn with_vault(self, vault: &'a VaultContext<'a>) -> Self {
        Self {
            vault: Some(vault),
            ..self
        }
    }

    /// Parses the whole text as one YAML document. An empty document is `Null`.
    pub(crate) fn parse(&self) -> Result<Node, InventoryError> {
        let options = serde_saphyr::options! {
            leading_zero_numbers_as_strings: true,
        };
        serde_saphyr::from_str_with_options::<Node>(self.text, options).map_err(|error| {
            let plain = error.without_snippet();
            let message = UserMessageFormatter.format_message(plain).into_owned();
            match plain.location() {
                Some(location) => self.error_at(&location, message),
                None => InventoryError::Yaml {
                    location: crate::location::Location::at(self.name, 1, 1),
                    message,
                    snippet: String::new(),
                },
            }
        })
    }

    /// An error pointing at `location` in this source, with the offending line quoted.
    pub(crate) fn error_at(
        &self,
        location: &Location,
        message: impl Into<String>,
    ) -> InventoryError {
        let line = location.line().max(1);
        let column = location.column().max(1);
        InventoryError::Yaml {
            location: crate::location::Location::at(self.name, line, column),
            message: message.into(),
            snippet: self.snippet(line, column),
        }
    }

    /// An error pointing at `node`.
    pub(crate) fn error_at_node(&self, node: &Node, message: impl Into<String>) -> InventoryError {
        self.error_at(&node.referenced, message)
    }

    fn snippet(&self, line: u64, column: u64) -> String {
        let Some(text) = usize::try_from(line - 1)
            .ok()
            .and_then(|index| self.text.lines().nth(index))
        else {
            return String::new();
        };
        let text = text.trim_end_matches('\r');
        let gutter = line.to_string();
        let pad = " ".repeat(gutter.len());
        let column = usize::try_from(column - 1).unwrap_or(0);
        let caret_prefix: String = text
            .chars()
            .take(column)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("\n {gutter} | {text}\n {pad} | {caret_prefix}^")
    }

    /// The exact text of a scalar node as written in the source, when it can be recovered.
    fn source_text(&self, node: &Node) -> Option<&'a str> {
        let span = node.defined.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        self.text.get(start..start.checked_add(len)?)
    }

    /// The text of a mapping key. Keys that YAML reads as numbers or booleans keep their
    /// spelling (`8080:` is the key "8080", `yes:` is "yes").
    pub(crate) fn key_text(&self, key: &Node) -> Result<String, InventoryError> {
        match &key.value {
            NodeValue::Str(text) => Ok(text.clone()),
            NodeValue::Bool(_) | NodeValue::Int(_) | NodeValue::UInt(_) | NodeValue::Float(_) => {
                Ok(self
                    .source_text(key)
                    .map_or_else(|| scalar_fallback_text(&key.value), str::to_owned))
            }
            other => Err(self.error_at_node(
                key,
                format!("mapping keys must be plain names (got {})", other.kind()),
            )),
        }
    }

    /// Converts a node into a JSON value. Mapping keys become strings (see [`Self::key_text`]);
    /// `y`/`n`, which YAML 1.1 parsers other than `PyYAML` read as booleans, stay strings as
    /// they do in Ansible.
    pub(crate) fn json_value(&self, node: &Node, name: &str) -> Result<Value, InventoryError> {
        Ok(match &node.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(value) => match self.source_text(node) {
                Some(text @ ("y" | "Y" | "n" | "N")) => Value::String(text.to_owned()),
                _ => Value::Bool(*value),
            },
            NodeValue::Int(value) => Value::Number(Number::from(*value)),
            NodeValue::UInt(value) => Value::Number(Number::from(*value)),
            NodeValue::Float(value) => match Number::from_f64(*value) {
                Some(number) => Value::Number(number),
                None => Value::String(
                    self.source_text(node)
                        .map_or_else(|| value.to_string(), str::to_owned),
                ),
            },
            NodeValue::Str(text) if crate::vault::is_vaulted(text) => {
                self.vault_value(&node.referenced, name, text)?
            }
            NodeValue::Str(text) => Value::String(text.clone()),
            NodeValue::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| self.json_value(item, &format!("{name}[{index}]")))
                    .collect::<Result<_, _>>()?,
            ),
            NodeValue::Map(entries) => Value::Object(self.map_to_json_in(entries, Some(name))?),
        })
    }

    /// [`Self::json_value`] of a mapping value, reporting a vaulted one at its key.
    pub(crate) fn json_value_at_key(
        &self,
        key: &Node,
        value: &Node,
        name: &str,
    ) -> Result<Value, InventoryError> {
        match &value.value {
            NodeValue::Str(text) if crate::vault::is_vaulted(text) => {
                self.vault_value(&key.referenced, name, text)
            }
            _ => self.json_value(value, name),
        }
    }

    /// Decrypts the `!vault` value of variable `name` found at `location`, or explains
    /// why it cannot be (never returns the ciphertext as a value).
    fn vault_value(
        &self,
        location: &Location,
        name: &str,
        text: &str,
    ) -> Result<Value, InventoryError> {
        let at = crate::location::Location::at(self.name, location.line(), location.column());
        match self.vault {
            Some(vault) if vault.leaves_unread() => Ok(Value::Null),
            Some(vault) => Ok(Value::String(vault.decrypt_value(&at, name, text)?)),
            None => Err(InventoryError::Vault {
                location: at,
                variable: Some(name.to_owned()),
                message: crate::vault::VaultError::NoPassword.to_string(),
            }),
        }
    }

    /// Converts mapping entries into a JSON object, keeping their order.
    pub(crate) fn map_to_json(
        &self,
        entries: &[(Node, Node)],
    ) -> Result<Map<String, Value>, InventoryError> {
        self.map_to_json_in(entries, None)
    }

    fn map_to_json_in(
        &self,
        entries: &[(Node, Node)],
        parent: Option<&str>,
    ) -> Result<Map<String, Value>, InventoryError> {
        let mut object = Map::new();
        for (key_node, value) in entries {
            let key = self.key_text(key_node)?;
            let name = parent.map_or_else(|| key.clone(), |parent| format!("{parent}.{key}"));
            // A vaulted value is reported at its key (`name: !vault |`), not its text.
            let value = self.json_value_at_key(key_node, value, &name)?;
            object.insert(key, value);
        }
        Ok(object)
    }

    /// Reads a variables document (a `group_vars/` or `host_vars/` file, or `vars:`):
    /// a mapping, or nothing at all.
    pub(crate) fn vars_document(&self) -> Result<Map<String, Value>, InventoryError> {
        let root = self.parse()?;
        match &root.value {
            NodeValue::Null => Ok(Map::new()),
            NodeValue::Map(entries) => self.map_to_json(entries),
            other => Err(self.error_at_node(
                &root,
                format!(
                    "a variables file must be a mapping of variable names to values (got {})",
                    other.kind()
                ),
            )),
        }
    }
}

fn scalar_fallback_text(value: &NodeValue) -> String {
    match value {
        NodeValue::Bool(value) => value.to_string(),
        NodeValue::Int(value) => value.to_string(),
        NodeValue::UInt(value) => value.to_string(),
        NodeValue::Float(value) => value.to_string(),
        NodeValue::Str(text) => text.clone(),
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => String::new(),
    }
}
