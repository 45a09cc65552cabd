//! Where a user's input error is: one type and one spelling for every file wsdeploy reads
//! (plans, inventories, vaulted values, ssh_config, `wsdeploy.toml`, saved reviews, and
//! the files the editors refuse). Compiler style: `file:line:column: message`, with as
//! much of the place as is known (`file:line: message`, `file: message`).

use std::fmt;

/// A place in a file: the file, and its line and column when known (both from 1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
}

impl Location {
    /// The whole file.
    #[must_use]
    pub fn file(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A line of the file.
    #[must_use]
    pub fn line(file: impl Into<String>, line: u64) -> Self {
        Self {
            line: Some(line),
            ..Self::file(file)
        }
    }

    /// A line and column of the file.
    #[must_use]
    pub fn at(file: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            line: Some(line),
            column: Some(column),
            ..Self::file(file)
        }
    }
}

/// `file`, `file:line` or `file:line:column`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_as_much_of_the_place_as_is_known() {
        assert_eq!(Location::file("a.yml").to_string(), "a.yml");
        assert_eq!(Location::line("a.ini", 3).to_string(), "a.ini:3");
        assert_eq!(Location::at("a.yml", 3, 7).to_string(), "a.yml:3:7");
    }
}
