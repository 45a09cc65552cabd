//! Error types of the nginx parser, the structural editor and the `nginx -T` dump reader.
//!
//! Every error says where (file, line, column when there is a place) and what to do about it.

use thiserror::Error;

use crate::location::Location;

/// A syntax error in nginx configuration text, shown `line:column: message` (with the
/// file's path in front by [`ParseError::in_file`]).
///
/// `line` and `column` are 1-based; the column counts characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{line}:{column}: {}", self.message_with(|l, c| format!("{l}:{c}")))]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    /// What is wrong; when the error names a second place, the text before it.
    pub message: String,
    /// A second place the error names (where a directive whose `;` is missing starts),
    /// kept apart so that it is said as the first place is (`FILE:L:C` in a file).
    pub second: Option<SecondPlace>,
}

/// A second place in the text a [`ParseError`] names, and the message's text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondPlace {
    pub line: usize,
    pub column: usize,
    pub rest: String,
}

impl ParseError {
    /// An error at `line`:`column` naming no second place.
    #[must_use]
    pub fn new(line: usize, column: usize, message: String) -> Self {
        Self {
            line,
            column,
            message,
            second: None,
        }
    }

    /// The whole message, its second place (if any) said by `place(line, column)`.
    #[must_use]
    pub fn message_with(&self, place: impl Fn(usize, usize) -> String) -> String {
        match &self.second {
            Some(second) => format!(
                "{}{}{}",
                self.message,
                place(second.line, second.column),
                second.rest
            ),
            None => self.message.clone(),
        }
    }

    /// The whole message, in the file `path` (a second place said `path:line:column`).
    #[must_use]
    pub fn message_in(&self, path: &str) -> String {
        self.message_with(|line, column| Location::at(path, wide(line), wide(column)).to_string())
    }

    /// The error's place in the file `path`.
    #[must_use]
    pub fn location(&self, path: &str) -> Location {
        Location::at(path, wide(self.line), wide(self.column))
    }

    /// `path:line:column: message`.
    #[must_use]
    pub fn in_file(&self, path: &str) -> String {
        format!("{}: {}", self.location(path), self.message_in(path))
    }
}

/// A line or column as a [`Location`] holds it.
fn wide(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Why a structural edit could not be made. Nothing was changed when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    #[error("{}", source.in_file(path))]
    Parse {
        path: String,
        #[source]
        source: ParseError,
    },

    #[error(
        "cannot parse the configuration to ensure: line {}, column {}: {}",
        source.line, source.column, source.message_with(|l, c| format!("line {l}, column {c}"))
    )]
    Snippet {
        #[source]
        source: ParseError,
    },

    #[error("the configuration to ensure is empty: give at least one directive or block")]
    EmptySnippet,

    #[error(
        "no http block in {path}: the file has no \"http {{\" block and its top level is loaded in {file_top} context \
         (is this the main nginx.conf? set context: http only for the file that holds \"http {{\", \
         or for a site file included from http; use context: server to edit a server block)"
    )]
    NoHttpBlock { path: String, file_top: String },

    #[error(
        "{path} has {count} \"http {{\" blocks (lines {lines}): cannot tell which one to edit; merge them into one"
    )]
    SeveralHttpBlocks {
        path: String,
        count: usize,
        lines: String,
    },

    #[error(
        "\"{directive}\" (line {line}, column {column} of the configuration to ensure) cannot go into {context} context: \
         {hint}"
    )]
    WrongContext {
        directive: String,
        line: usize,
        column: usize,
        context: String,
        hint: String,
    },

    #[error(
        "context {context} does not fit {path}: the file's top level is loaded in {file_top} context; {hint}"
    )]
    FileContext {
        path: String,
        context: String,
        file_top: String,
        hint: String,
    },

    #[error(
        "no server block in {path}: nothing to put the configuration into \
         (use context: http for a file without servers, or point file: at the site file that holds the server)"
    )]
    NoServer { path: String },

    #[error(
        "{path} has {count} server blocks and no server_name/listen was given to pick one; set server_name or listen \
         in the context. Servers: {servers}"
    )]
    AmbiguousServer {
        path: String,
        count: usize,
        servers: String,
    },

    #[error(
        "no server block in {path} listens on port {port}, so a request for {host}:{port} never reaches it \
         (servers: {servers}); check public_scheme/public_port, or pick the server with the step's server_name/listen \
         (site_server_name/site_listen in the shipped plans)"
    )]
    NoServerForRequest {
        path: String,
        host: String,
        port: u16,
        servers: String,
    },

    #[error(
        "a request for {request} does not reach any server block of {path}: nginx uses the server at \
         {other_path} {other}, because {reason}; point the step's file at {other_path} (site_conf in the shipped \
         plans), or pick a server of {path} with server_name/listen (site_server_name/site_listen)"
    )]
    ServerElsewhere {
        path: String,
        /// `example.com on port 443`.
        request: String,
        other_path: String,
        other: String,
        reason: String,
    },

    #[error(
        "nginx answers {host} on port {port} with the server at {path} {server}, which only redirects to https; \
         set public_scheme: https (and public_port when it is not 443) so that the server serving the site is edited"
    )]
    RedirectOnly {
        path: String,
        host: String,
        port: u16,
        server: String,
    },

    #[error("no server in {path} matches {selector}; set server_name/listen to one of: {servers}")]
    NoMatchingServer {
        path: String,
        selector: String,
        servers: String,
    },

    #[error(
        "{count} servers in {path} match {selector}; make the selector unique (set both server_name and listen). Matching: {servers}"
    )]
    SeveralMatchingServers {
        path: String,
        selector: String,
        count: usize,
        servers: String,
    },

    #[error(
        "\"{identity}\" appears {count} times in the same block of {path} (lines {lines}): cannot tell which one to \
         edit; remove the extra ones"
    )]
    AlreadyDuplicated {
        identity: String,
        path: String,
        count: usize,
        lines: String,
    },

    #[error(
        "\"{identity}\" is already defined differently at {other_path}:{line}:{column}, which nginx \
         loads in the same {context} context as {path}; adding it to {path} would define it twice. Edit or remove it in \
         {other_path} (or point this step's file at {other_path})"
    )]
    ConflictElsewhere {
        identity: String,
        path: String,
        other_path: String,
        line: usize,
        column: usize,
        context: String,
    },

    #[error(
        "editing {path} would produce text that does not parse ({}); nothing was changed. This is a bug in the \
         editor: report it together with the file",
        source.in_file(path)
    )]
    EditBroke {
        path: String,
        #[source]
        source: ParseError,
    },
}

/// Why the output of `nginx -T` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DumpError {
    #[error(
        "not an `nginx -T` dump: expected a line \"# configuration file <path>:\" before line {line} \
         (run `nginx -T` and pass its standard output)"
    )]
    NoHeader { line: usize },

    #[error(
        "the `nginx -T` dump holds no configuration file (did `nginx -T` fail? run `nginx -t` to see why)"
    )]
    Empty,

    #[error("cannot parse the `nginx -T` dump: {}", source.in_file(path))]
    Parse {
        path: String,
        #[source]
        source: ParseError,
    },
}
