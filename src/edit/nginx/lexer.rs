//! Tokenizer following nginx's own rules (`ngx_conf_read_token`), plus the Lua block reader of
//! `OpenResty`.
//!
//! Every byte of the input belongs to exactly one token, so the tokens tile the text:
//! - whitespace is space, tab, CR and LF;
//! - `#` starts a comment only where a new token would start (`a#b` is one word, `{#x` is a brace and a comment);
//! - `;` and `{` end an unquoted word, except `{` right after `$` (`${var}`); `}` inside a word is part of it;
//! - a backslash escapes the next character, inside and outside quotes;
//! - a quoted string must be followed by whitespace, `;`, `{` or `)`.

use super::error::ParseError;
use super::text::position;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Whitespace,
    Comment,
    Word,
    Semicolon,
    OpenBrace,
    CloseBrace,
}

/// A token: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// Reads tokens one at a time; the parser switches it into Lua mode after `*_by_lua_block {`.
pub struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn error(&self, offset: usize, message: String) -> ParseError {
        let at = position(self.text, offset);
        ParseError::new(at.line, at.column, message)
    }

    fn token(&mut self, kind: TokenKind, start: usize, end: usize) -> Token {
        self.pos = end;
        Token { kind, start, end }
    }

    /// The next token, or `None` at the end of the text.
    pub fn next_token(&mut self) -> Result<Option<Token>, ParseError> {
        let start = self.pos;
        let Some(&first) = self.bytes.get(start) else {
            return Ok(None);
        };
        let token = match first {
            b if is_space(b) => {
                let end = self.bytes[start..]
                    .iter()
                    .position(|&b| !is_space(b))
                    .map_or(self.bytes.len(), |n| start + n);
                self.token(TokenKind::Whitespace, start, end)
            }
            b'#' => {
                let mut end = self.bytes[start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.bytes.len(), |n| start + n);
                if end > start + 1 && self.bytes[end - 1] == b'\r' && end < self.bytes.len() {
                    end -= 1;
                }
                self.token(TokenKind::Comment, start, end)
            }
            b';' => self.token(TokenKind::Semicolon, start, start + 1),
            b'{' => self.token(TokenKind::OpenBrace, start, start + 1),
            b'}' => self.token(TokenKind::CloseBrace, start, start + 1),
            b'"' | b'\'' => {
                let end = self.quoted_end(start, first)?;
                self.token(TokenKind::Word, start, end)
            }
            _ => {
                let end = self.unquoted_end(start);
                self.token(TokenKind::Word, start, end)
            }
        };
        Ok(Some(token))
    }

    /// End of a quoted string starting at `start` (just past the closing quote).
    fn quoted_end(&self, start: usize, quote: u8) -> Result<usize, ParseError> {
        let mut i = start + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' => i += 2,
                b if b == quote => {
                    let end = i + 1;
                    return match self.bytes.get(end) {
                        None | Some(b';' | b'{' | b')') => Ok(end),
                        Some(&b) if is_space(b) => Ok(end),
                        Some(_) => {
                            let found = self.text[end..].chars().next().unwrap_or(' ');
                            Err(self.error(
                                end,
                                format!(
                                    "unexpected \"{found}\" right after a quoted string: put a space, \";\" or \"{{\" \
                                     after the closing quote"
                                ),
                            ))
                        }
                    };
                }
                _ => i += 1,
            }
        }
        let quote = char::from(quote);
        Err(self.error(
            start,
            format!(
                "unterminated quoted string (missing closing {quote}): the string starting here runs to the end of \
                 the file; close it with {quote}"
            ),
        ))
    }

    /// End of an unquoted word starting at `start`.
    fn unquoted_end(&self, start: usize) -> usize {
        let mut i = start;
        let mut after_dollar = false;
        while i < self.bytes.len() {
            let byte = self.bytes[i];
            if byte == b'\\' {
                i += 2;
                after_dollar = false;
                continue;
            }
            if byte == b'{' && after_dollar {
                after_dollar = false;
                i += 1;
                continue;
            }
            if is_space(byte) || byte == b';' || byte == b'{' {
                break;
            }
            after_dollar = byte == b'$';
            i += 1;
        }
        i.min(self.bytes.len())
    }

    /// Reads Lua code up to (not including) the `}` that closes a `*_by_lua_block {`; returns its byte range.
    ///
    /// Braces inside Lua strings, long strings and comments do not count.
    pub fn lua_body(&mut self, open_brace: usize) -> Result<(usize, usize), ParseError> {
        let start = self.pos;
        let mut i = start;
        let mut depth = 0usize;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'{' => {
                    depth += 1;
                    i += 1;
                }
                b'}' => {
                    if depth == 0 {
                        self.pos = i;
                        return Ok((start, i));
                    }
                    depth -= 1;
                    i += 1;
                }
                b'-' if self.bytes.get(i + 1) == Some(&b'-') => {
                    i += 2;
                    if let Some(level) = self.long_bracket_level(i) {
                        i = self.long_bracket_end(i, level, "comment")?;
                    } else {
                        i = self.bytes[i..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map_or(self.bytes.len(), |n| i + n);
                    }
                }
                b'[' => {
                    if let Some(level) = self.long_bracket_level(i) {
                        i = self.long_bracket_end(i, level, "string")?;
                    } else {
                        i += 1;
                    }
                }
                quote @ (b'"' | b'\'') => {
                    let string_start = i;
                    i += 1;
                    loop {
                        match self.bytes.get(i) {
                            None => {
                                return Err(self.error(
                                    string_start,
                                    "unterminated Lua string inside a *_by_lua_block: close the string".to_string(),
                                ));
                            }
                            Some(b'\\') => i += 2,
                            Some(&b) if b == quote => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 1,
                        }
                    }
                }
                _ => i += 1,
            }
        }
        Err(self.error(
            open_brace,
            "unclosed \"{\" of a Lua block (unbalanced braces): the file ends before its closing \"}\"; add the \
             missing \"}\""
                .to_string(),
        ))
    }

    /// The level (number of `=`) of a Lua long bracket `[==[` starting at `at`, if there is one.
    fn long_bracket_level(&self, at: usize) -> Option<usize> {
        if self.bytes.get(at) != Some(&b'[') {
            return None;
        }
        let level = self.bytes[at + 1..]
            .iter()
            .take_while(|&&b| b == b'=')
            .count();
        (self.bytes.get(at + 1 + level) == Some(&b'[')).then_some(level)
    }

    fn long_bracket_end(&self, at: usize, level: usize, what: &str) -> Result<usize, ParseError> {
        let close = format!("]{}]", "=".repeat(level));
        let body = at + level + 2;
        self.text
            .get(body..)
            .and_then(|rest| rest.find(&close))
            .map(|n| body + n + close.len())
            .ok_or_else(|| {
                self.error(
                    at,
                    format!("unterminated Lua long {what} (missing \"{close}\"): close it"),
                )
            })
    }
}

/// The value nginx sees for a word: quotes removed and `\"`, `\'`, `\\`, `\t`, `\r`, `\n` unescaped.
pub fn word_value(raw: &str) -> String {
    let inner = match raw.as_bytes().first() {
        Some(b'"' | b'\'') if raw.len() >= 2 => &raw[1..raw.len() - 1],
        _ => raw,
    };
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some(&next @ ('"' | '\'' | '\\')) => {
                    value.push(next);
                    chars.next();
                    continue;
                }
                Some('t') => {
                    value.push('\t');
                    chars.next();
                    continue;
                }
                Some('r') => {
                    value.push('\r');
                    chars.next();
                    continue;
                }
                Some('n') => {
                    value.push('\n');
                    chars.next();
                    continue;
                }
                _ => {}
            }
        }
        value.push(c);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(TokenKind, &str)> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        while let Some(token) = lexer.next_token().unwrap() {
            out.push((token.kind, &text[token.start..token.end]));
        }
        out
    }

    fn words(text: &str) -> Vec<&str> {
        tokens(text)
            .into_iter()
            .filter(|(kind, _)| *kind != TokenKind::Whitespace)
            .map(|(_, raw)| raw)
            .collect()
    }

    #[test]
    fn hash_inside_a_word_is_not_a_comment() {
        assert_eq!(
            words("location ~* (?:#.*#|\\.bak)$ {#c\n}"),
            vec!["location", "~*", "(?:#.*#|\\.bak)$", "{", "#c", "}"]
        );
    }

    #[test]
    fn dollar_brace_stays_in_the_word_and_close_brace_is_part_of_a_word() {
        assert_eq!(words("a ${x}y b};"), vec!["a", "${x}y", "b}", ";"]);
    }

    #[test]
    fn quoted_strings_keep_braces_and_semicolons() {
        assert_eq!(
            words("body ~ '{\"a\":1;}' \"x\\\"y\";"),
            vec!["body", "~", "'{\"a\":1;}'", "\"x\\\"y\"", ";"]
        );
        assert_eq!(
            words("if ($a = \"b\")"),
            vec!["if", "($a", "=", "\"b\"", ")"]
        );
    }

    #[test]
    fn quoted_string_must_be_followed_by_a_separator() {
        let error = Lexer::new("a \"b\"c;").next_token().and_then(|_| {
            let mut lexer = Lexer::new("a \"b\"c;");
            lexer.next_token()?;
            lexer.next_token()?;
            lexer.next_token()
        });
        assert_eq!(
            error.unwrap_err().to_string(),
            "1:6: unexpected \"c\" right after a quoted string: put a space, \";\" or \"{\" after the \
             closing quote"
        );
    }

    #[test]
    fn crlf_is_whitespace_and_comments_stop_before_cr() {
        assert_eq!(
            tokens("a;#x\r\nb;"),
            vec![
                (TokenKind::Word, "a"),
                (TokenKind::Semicolon, ";"),
                (TokenKind::Comment, "#x"),
                (TokenKind::Whitespace, "\r\n"),
                (TokenKind::Word, "b"),
                (TokenKind::Semicolon, ";"),
            ]
        );
    }

    #[test]
    fn word_values_unescape_like_nginx() {
        assert_eq!(word_value("''"), "");
        assert_eq!(word_value("\"a\\\"b\""), "a\"b");
        assert_eq!(word_value("\\$host"), "\\$host");
        assert_eq!(word_value("a\\tb"), "a\tb");
    }

    #[test]
    fn lua_body_skips_braces_in_strings_and_comments() {
        let text = "{ local t = {} -- }\n s = \"}\" .. [[}]] --[==[ } ]==]\n}";
        let mut lexer = Lexer::new(text);
        lexer.next_token().unwrap();
        let (start, end) = lexer.lua_body(0).unwrap();
        assert_eq!(start, 1);
        assert_eq!(end, text.len() - 1);
    }
}
