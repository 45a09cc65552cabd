//! Parser from tokens to the lossless tree, with errors that point at the offending place.

use super::error::{ParseError, SecondPlace};
use super::lexer::{Lexer, Token, TokenKind, word_value};
use super::text::position;
use super::tree::{Block, Body, Config, Directive, Node, RawBlock, Span, Word};

/// Parses nginx configuration text into a lossless tree.
///
/// `parse(text)?.to_text() == text` for every text that parses.
pub fn parse(text: &str) -> Result<Config, ParseError> {
    let mut parser = Parser {
        text,
        lexer: Lexer::new(text),
    };
    let (nodes, _) = parser.body(None)?;
    Ok(Config {
        source: text.to_string(),
        nodes,
    })
}

/// True for directives whose block holds Lua code (`content_by_lua_block { ... }` and friends).
pub fn is_lua_block(name: &str) -> bool {
    name.ends_with("_by_lua_block")
}

struct Parser<'a> {
    text: &'a str,
    lexer: Lexer<'a>,
}

/// The block being parsed: its name and where its `{` is.
struct OpenBlock<'n> {
    name: &'n str,
    brace: usize,
}

impl Parser<'_> {
    fn error(&self, offset: usize, message: String) -> ParseError {
        let at = position(self.text, offset);
        ParseError::new(at.line, at.column, message)
    }

    fn word(&self, token: Token) -> Word {
        Word {
            span: Span {
                start: token.start,
                end: token.end,
            },
            value: word_value(&self.text[token.start..token.end]),
        }
    }

    /// Parses nodes up to the `}` closing `open` (or the end of the text at top level).
    fn body(
        &mut self,
        open: Option<OpenBlock<'_>>,
    ) -> Result<(Vec<Node>, Option<Span>), ParseError> {
        let mut nodes = Vec::new();
        loop {
            let Some(token) = self.lexer.next_token()? else {
                return match open {
                    None => Ok((nodes, None)),
                    Some(open) => Err(self.error(
                        open.brace,
                        format!(
                            "unclosed \"{{\" of \"{}\" (unbalanced braces): the file ends before its closing \"}}\"; \
                             add the missing \"}}\" (check the blocks inside it too)",
                            open.name
                        ),
                    )),
                };
            };
            let span = Span {
                start: token.start,
                end: token.end,
            };
            match token.kind {
                TokenKind::Whitespace => nodes.push(Node::Whitespace(span)),
                TokenKind::Comment => nodes.push(Node::Comment(span)),
                TokenKind::CloseBrace => {
                    return if open.is_some() {
                        Ok((nodes, Some(span)))
                    } else {
                        Err(self.error(
                            token.start,
                            "unexpected \"}\" (unbalanced braces): it closes no open block; remove it or add the \
                             missing \"{\""
                                .to_string(),
                        ))
                    };
                }
                TokenKind::Semicolon => {
                    return Err(self.error(
                        token.start,
                        "unexpected \";\" (no directive before it): remove it".to_string(),
                    ));
                }
                TokenKind::OpenBrace => {
                    return Err(self.error(
                        token.start,
                        "unexpected \"{\" (a block needs a directive name before it, like \"server {\"): remove it \
                         or add the name"
                            .to_string(),
                    ));
                }
                TokenKind::Word => nodes.push(Node::Directive(self.directive(token)?)),
            }
        }
    }

    /// Parses the rest of a directive whose name is `name_token`.
    fn directive(&mut self, name_token: Token) -> Result<Directive, ParseError> {
        let name = self.word(name_token);
        let mut args = Vec::new();
        loop {
            let Some(token) = self.lexer.next_token()? else {
                return Err(self.error(
                    name.span.start,
                    format!(
                        "unexpected end of file (missing \";\"): the directive \"{}\" is not terminated by \";\" or \
                         \"{{\"; add \";\"",
                        name.value
                    ),
                ));
            };
            let span = Span {
                start: token.start,
                end: token.end,
            };
            match token.kind {
                TokenKind::Whitespace | TokenKind::Comment => {}
                TokenKind::Word => args.push(self.word(token)),
                TokenKind::Semicolon => {
                    return Ok(Directive {
                        head_end: token.start,
                        span: Span {
                            start: name.span.start,
                            end: token.end,
                        },
                        name,
                        args,
                        body: Body::Semicolon(span),
                    });
                }
                TokenKind::CloseBrace => {
                    let at = position(self.text, name.span.start);
                    let mut error = self.error(
                        token.start,
                        format!(
                            "unexpected \"}}\" (missing \";\"): the directive \"{}\" at ",
                            name.value
                        ),
                    );
                    error.second = Some(SecondPlace {
                        line: at.line,
                        column: at.column,
                        rest: " is not terminated by \";\"; add \";\" before \"}\"".to_owned(),
                    });
                    return Err(error);
                }
                TokenKind::OpenBrace => {
                    let body = if is_lua_block(&name.value) {
                        let (start, end) = self.lexer.lua_body(token.start)?;
                        let close = self
                            .lexer
                            .next_token()?
                            .filter(|t| t.kind == TokenKind::CloseBrace);
                        let Some(close) = close else {
                            return Err(self.error(token.start, "unclosed Lua block".to_string()));
                        };
                        Body::Raw(RawBlock {
                            open: span,
                            content: Span { start, end },
                            close: Span {
                                start: close.start,
                                end: close.end,
                            },
                        })
                    } else {
                        let (children, close) = self.body(Some(OpenBlock {
                            name: &name.value,
                            brace: token.start,
                        }))?;
                        let Some(close) = close else {
                            return Err(self.error(token.start, "unclosed block".to_string()));
                        };
                        Body::Block(Block {
                            open: span,
                            children,
                            close,
                        })
                    };
                    let end = match &body {
                        Body::Raw(raw) => raw.close.end,
                        Body::Block(block) => block.close.end,
                        Body::Semicolon(semicolon) => semicolon.end,
                    };
                    return Ok(Directive {
                        head_end: token.start,
                        span: Span {
                            start: name.span.start,
                            end,
                        },
                        name,
                        args,
                        body,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        let config = parse(text).unwrap();
        assert_eq!(config.to_text(), text);
    }

    #[test]
    fn prints_back_byte_for_byte() {
        round_trip("");
        round_trip("\n\n");
        round_trip("# only a comment");
        round_trip("http {\r\n\tserver { listen 80; }\r\n}");
        round_trip("a \"x { y }\" 'q;' ; # c\n  b{#x\n}\n");
        round_trip("content_by_lua_block { ngx.say(\"}\") -- }\n }\n");
    }

    #[test]
    fn builds_the_tree() {
        let config =
            parse("http {\n  map $a $b { default 1; }\n  server { listen 80; }\n}\n").unwrap();
        let http = config.directives().next().unwrap();
        assert_eq!(http.name(), "http");
        let names: Vec<&str> = http.directives().map(Directive::name).collect();
        assert_eq!(names, ["map", "server"]);
        let map = http.directives().next().unwrap();
        assert_eq!(map.arg(1), Some("$b"));
        assert_eq!(config.slice(map.span), "map $a $b { default 1; }");
    }

    #[test]
    fn a_second_place_is_said_as_the_first_in_a_file() {
        let error = parse("location / { deny all }").unwrap_err();
        assert_eq!(
            error.in_file("/etc/nginx/sites-enabled/x.conf"),
            "/etc/nginx/sites-enabled/x.conf:1:23: unexpected \"}\" (missing \";\"): the directive \"deny\" at \
             /etc/nginx/sites-enabled/x.conf:1:14 is not terminated by \";\"; add \";\" before \"}\""
        );
    }

    #[test]
    fn errors_point_at_the_offending_place() {
        let cases = [
            (
                "a;\n}\n",
                "2:1: unexpected \"}\" (unbalanced braces): it closes no open block; remove it or add the \
                 missing \"{\"",
            ),
            (
                "http {\n  server {\n}\n",
                "1:6: unclosed \"{\" of \"http\" (unbalanced braces): the file ends before its closing \
                 \"}\"; add the missing \"}\" (check the blocks inside it too)",
            ),
            (
                "location / { deny all }",
                "1:23: unexpected \"}\" (missing \";\"): the directive \"deny\" at 1:14 is not \
                 terminated by \";\"; add \";\" before \"}\"",
            ),
            (
                "{{ x }}",
                "1:1: unexpected \"{\" (a block needs a directive name before it, like \"server {\"): remove it or add the name",
            ),
            (
                ";",
                "1:1: unexpected \";\" (no directive before it): remove it",
            ),
            (
                "a b",
                "1:1: unexpected end of file (missing \";\"): the directive \"a\" is not terminated by \";\" or \"{\"; add \";\"",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse(text).unwrap_err().to_string(),
                expected,
                "for {text:?}"
            );
        }
    }
}
