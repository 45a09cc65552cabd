//! The lossless syntax tree: directives, blocks, comments and whitespace, each with its byte range.
//!
//! The nodes of a body tile its text without gaps, so printing the tree gives back the input byte for byte.

use super::text::{Position, position};

/// A byte range `start..end` in the configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A directive name or argument: where it is and the value nginx sees (quotes and escapes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub span: Span,
    pub value: String,
}

/// One element of a file's top level or of a block body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Whitespace(Span),
    Comment(Span),
    Directive(Directive),
}

/// A directive: `name args... ;` or `name args... { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: Word,
    pub args: Vec<Word>,
    /// Where the terminator (`;` or `{`) starts; whitespace and comments between the words lie before it.
    pub head_end: usize,
    pub body: Body,
    /// From the first byte of the name to the last byte of `;` or of the closing `}`.
    pub span: Span,
}

/// What ends a directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `;`
    Semicolon(Span),
    /// `{ directives }`
    Block(Block),
    /// `{ code }` of a `*_by_lua_block`, kept as raw text.
    Raw(RawBlock),
}

/// A block holding nested nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Span,
    pub children: Vec<Node>,
    pub close: Span,
}

/// A block whose content is not nginx syntax (Lua code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    pub open: Span,
    pub content: Span,
    pub close: Span,
}

/// A parsed configuration file: its original text and its tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(super) source: String,
    pub(super) nodes: Vec<Node>,
}

impl Config {
    /// The text printed back from the tree; byte-identical to the parsed input.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.source.len());
        write_nodes(&self.source, &self.nodes, &mut out);
        out
    }

    /// The original text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The top-level directives.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        directives_of(&self.nodes)
    }

    /// Line and column of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        position(&self.source, offset)
    }

    /// The raw text of a span.
    pub fn slice(&self, span: Span) -> &str {
        &self.source[span.start..span.end]
    }
}

impl Directive {
    /// The directive name as nginx sees it.
    pub fn name(&self) -> &str {
        &self.name.value
    }

    /// The value of argument `index`, if present.
    pub fn arg(&self, index: usize) -> Option<&str> {
        self.args.get(index).map(|word| word.value.as_str())
    }

    /// The nested nodes of a block directive (empty for `;` directives and Lua blocks).
    pub fn children(&self) -> &[Node] {
        match &self.body {
            Body::Block(block) => &block.children,
            Body::Semicolon(_) | Body::Raw(_) => &[],
        }
    }

    /// The nested directives of a block directive.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        directives_of(self.children())
    }

    /// True for `name { ... }`.
    pub fn is_block(&self) -> bool {
        !matches!(self.body, Body::Semicolon(_))
    }

    /// The `{` and `}` of a block directive.
    pub fn braces(&self) -> Option<(Span, Span)> {
        match &self.body {
            Body::Block(block) => Some((block.open, block.close)),
            Body::Raw(raw) => Some((raw.open, raw.close)),
            Body::Semicolon(_) => None,
        }
    }
}

/// The directives among `nodes`.
pub fn directives_of(nodes: &[Node]) -> impl Iterator<Item = &Directive> {
    nodes.iter().filter_map(|node| match node {
        Node::Directive(directive) => Some(directive),
        Node::Whitespace(_) | Node::Comment(_) => None,
    })
}

fn write_nodes(source: &str, nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Whitespace(span) | Node::Comment(span) => {
                out.push_str(&source[span.start..span.end]);
            }
            Node::Directive(directive) => {
                out.push_str(&source[directive.name.span.start..directive.head_end]);
                match &directive.body {
                    Body::Semicolon(span) => out.push_str(&source[span.start..span.end]),
                    Body::Block(block) => {
                        out.push_str(&source[block.open.start..block.open.end]);
                        write_nodes(source, &block.children, out);
                        out.push_str(&source[block.close.start..block.close.end]);
                    }
                    Body::Raw(raw) => out.push_str(&source[raw.open.start..raw.close.end]),
                }
            }
        }
    }
}
