//! Lossless nginx configuration parser and structural editor.
//!
//! - [`parse`](fn@parse) turns text into a [`Config`] whose [`Config::to_text`] gives the input back byte for byte (CRLF,
//!   missing final newline, comments and odd spacing included).
//! - [`ensure`](fn@ensure) makes a snippet's directives/blocks exist exactly once in a context, splicing the change into the
//!   original text so everything outside the edited span stays byte-identical.
//! - [`ensure_reusing_upstreams`] is `ensure` that names the operator's upstream for the chosen server when one
//!   already reaches the snippet's upstream's port, instead of defining the snippet's.
//! - [`Effective`] reads `nginx -T` output: every loaded file and the context its top level is loaded in, so an
//!   item is never defined a second time in another file.
//! - [`glob_match`] matches paths against nginx `include` globs.
//!
//! Pure: no I/O, no async.

mod chosen;
mod context;
mod dump;
mod ensure;
mod error;
mod identity;
mod include;
mod lexer;
mod listen;
mod parse;
mod patch;
mod print;
mod select;
mod target;
mod text;
mod tree;
mod upstream;

pub use chosen::chosen_server;
pub use context::{Context, ContextKind, FileRole, IncludeSite, Request, guess_file_top};
pub use dump::{Effective, EffectiveFile};
pub use ensure::{ensure, ensure_reusing_upstreams};
pub use error::{DumpError, EditError, ParseError, SecondPlace};
pub use identity::{Identity, identity, same_tokens};
pub use include::{absolute_pattern, glob_match, is_glob};
pub use parse::parse;
pub use text::Position;
pub use tree::{Block, Body, Config, Directive, Node, RawBlock, Span, Word};
