//! Python literals, as Ansible reads INI inventory values: every `key=value` of an INI
//! inventory goes through Python's `ast.literal_eval`, and keeps its text when that fails.
//!
//! So `x=1` is the integer 1, `x=True` a boolean, `x=[1, 'a']` a list, `x={'a': 1}` a
//! mapping, `x=None` null, `x='quoted'` the string `quoted`, while `x=true`, `x=yes`,
//! `x=0644` (not a Python literal) and `x=a b` stay strings. Tuples and sets become lists,
//! mapping keys become strings (as in `ansible-inventory --list`).

use serde_json::{Map, Number, Value};

/// The value of `text` read as a Python literal, or `None` when it is not one (the caller
/// then keeps the text).
pub(crate) fn parse_python_literal(text: &str) -> Option<Value> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        position: 0,
    };
    parser.skip_space();
    let value = parser.value()?;
    parser.skip_space();
    // Python's tokenizer drops a trailing `# comment` (`x = 42 # port` is 42).
    if parser.peek() == Some('#') {
        parser.position = parser.chars.len();
    }
    (parser.position == parser.chars.len()).then_some(value)
}

struct Parser {
    chars: Vec<char>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.position += 1;
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            '[' => self.sequence('[', ']').map(Value::Array),
            '(' => self.tuple(),
            '{' => self.braces(),
            '\'' | '"' => self.strings(),
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.position += 1;
                self.skip_space();
                let number = self.number()?;
                if negative {
                    negate(&number)
                } else {
                    Some(number)
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                if c == '.' && self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') {
                    self.position += 3;
                    return Some(Value::String("...".to_owned()));
                }
                self.number()
            }
            c if c.is_ascii_alphabetic() || c == '_' => self.word(),
            _ => None,
        }
    }

    /// `True`, `False`, `None`, or a prefixed string (`r'..'`, `b'..'`, `u'..'`).
    fn word(&mut self) -> Option<Value> {
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.position += 1;
        }
        let word: String = self.chars[start..self.position].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) {
            let lower = word.to_ascii_lowercase();
            if matches!(lower.as_str(), "r" | "u" | "b" | "br" | "rb") {
                self.position = start;
                return self.strings();
            }
            return None;
        }
        if word == "set" && self.peek() == Some('(') && self.peek_at(1) == Some(')') {
            self.position += 2;
            return Some(Value::Array(Vec::new()));
        }
        match word.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => None,
        }
    }

    /// One or more adjacent string literals (Python concatenates them).
    fn strings(&mut self) -> Option<Value> {
        let mut text = self.string()?;
        loop {
            let save = self.position;
            self.skip_space();
            let next_is_string = match self.peek() {
                Some('\'' | '"') => true,
                Some(c) if c.is_ascii_alphabetic() => {
                    let mut offset = 0;
                    while self
                        .peek_at(offset)
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    {
                        offset += 1;
                    }
                    matches!(self.peek_at(offset), Some('\'' | '"'))
                }
                _ => false,
            };
            if next_is_string {
                text.push_str(&self.string()?);
            } else {
                self.position = save;
                return Some(Value::String(text));
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let mut raw = false;
        while let Some(c) = self.peek() {
            match c.to_ascii_lowercase() {
                'r' => raw = true,
                'u' | 'b' => {}
                _ => break,
            }
            self.position += 1;
        }
        let quote = self.peek()?;
        if quote != '\'' && quote != '"' {
            return None;
        }
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.position += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote {
                if !triple {
                    self.position += 1;
                    return Some(out);
                }
                if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
                    self.position += 3;
                    return Some(out);
                }
            }
            if c == '\n' && !triple {
                return None;
            }
            self.position += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escaped = self.peek()?;
            self.position += 1;
            if raw {
                out.push('\\');
                out.push(escaped);
                continue;
            }
            match escaped {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\u{b}'),
                'x' => out.push(self.hex_escape(2)?),
                'u' => out.push(self.hex_escape(4)?),
                'U' => out.push(self.hex_escape(8)?),
                '0'..='7' => {
                    let mut code = escaped.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(digit) => {
                                code = code * 8 + digit;
                                self.position += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(code)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, digits: usize) -> Option<char> {
        let text: String = self
            .chars
            .get(self.position..self.position + digits)?
            .iter()
            .collect();
        self.position += digits;
        char::from_u32(u32::from_str_radix(&text, 16).ok()?)
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            || (matches!(self.peek(), Some('+' | '-'))
                && matches!(
                    self.chars.get(self.position.wrapping_sub(1)),
                    Some('e' | 'E')
                )
                && !self.chars[start..self.position]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X')))
        {
            self.position += 1;
        }
        let text: String = self.chars[start..self.position].iter().collect();
        if let Some(imaginary) = text.strip_suffix(['j', 'J']) {
            return imaginary_text(imaginary).map(Value::String);
        }
        number_value(&text)
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Vec<Value>> {
        if !self.eat(open) {
            return None;
        }
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value()?);
            self.skip_space();
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(',') {
                return None;
            }
        }
    }

    /// `(1, 2)` is a tuple (a list here), `(1)` is just 1, `()` an empty tuple.
    fn tuple(&mut self) -> Option<Value> {
        self.eat('(');
        self.skip_space();
        if self.eat(')') {
            return Some(Value::Array(Vec::new()));
        }
        let first = self.value()?;
        self.skip_space();
        if self.eat(')') {
            return Some(first);
        }
        if !self.eat(',') {
            return None;
        }
        let mut items = vec![first];
        loop {
            self.skip_space();
            if self.eat(')') {
                return Some(Value::Array(items));
            }
            items.push(self.value()?);
            self.skip_space();
            if self.eat(')') {
                return Some(Value::Array(items));
            }
            if !self.eat(',') {
                return None;
            }
        }
    }

    /// `{}` and `{k: v, ...}` are mappings, `{a, b}` a set (a list here).
    fn braces(&mut self) -> Option<Value> {
        self.eat('{');
        self.skip_space();
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.value()?;
        self.skip_space();
        if !self.eat(':') {
            let mut items = vec![first];
            loop {
                self.skip_space();
                if self.eat('}') {
                    return Some(Value::Array(items));
                }
                if !self.eat(',') {
                    return None;
                }
                self.skip_space();
                if self.eat('}') {
                    return Some(Value::Array(items));
                }
                let item = self.value()?;
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            self.skip_space();
            let value = self.value()?;
            map.insert(key_text(&key), value);
            self.skip_space();
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            if !self.eat(',') {
                return None;
            }
            self.skip_space();
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            key = self.value()?;
            self.skip_space();
            if !self.eat(':') {
                return None;
            }
        }
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

fn negate(value: &Value) -> Option<Value> {
    let Value::Number(number) = value else {
        return None;
    };
    if let Some(integer) = number.as_i64() {
        return Some(Value::Number(Number::from(integer.checked_neg()?)));
    }
    if let Some(integer) = number.as_u64() {
        let integer = i64::try_from(integer).ok()?;
        return Some(Value::Number(Number::from(-integer)));
    }
    Number::from_f64(-number.as_f64()?).map(Value::Number)
}

/// An imaginary literal (`2j`, `0.5j`) as Python prints it; Ansible keeps complex numbers as
/// that text.
fn imaginary_text(text: &str) -> Option<String> {
    let value = number_value(text).and_then(|number| number.as_f64())?;
    if value.fract() == 0.0 && value.abs() < 1e16 {
        Some(format!("{value:.0}j"))
    } else {
        Some(format!("{value}j"))
    }
}

/// A Python integer or float literal (`10`, `0x1f`, `0o17`, `0b101`, `1_000`, `1.5`, `1e3`).
fn number_value(text: &str) -> Option<Value> {
    if text.is_empty() || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits).replace('_', "");
            if digits.is_empty() {
                return None;
            }
            return u64::from_str_radix(&digits, radix)
                .ok()
                .map(|value| Value::Number(Number::from(value)));
        }
    }
    let plain = lower.replace('_', "");
    if plain.starts_with('_') || lower.contains("._") || lower.contains("_.") {
        return None;
    }
    let is_float = plain.contains('.') || plain.contains('e');
    if !is_float {
        if !plain.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        // Python refuses leading zeros in a decimal integer, except for zero itself.
        if plain.len() > 1 && plain.starts_with('0') && plain.chars().any(|c| c != '0') {
            return None;
        }
        return plain
            .parse::<u64>()
            .ok()
            .map(|value| Value::Number(Number::from(value)));
    }
    let (mantissa, exponent) = match plain.split_once('e') {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (plain.as_str(), None),
    };
    let mantissa_ok = !mantissa.is_empty()
        && mantissa != "."
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.');
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    let value: f64 = plain.parse().ok()?;
    Number::from_f64(value).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Option<Value> {
        parse_python_literal(text)
    }

    #[test]
    fn scalars() {
        assert_eq!(parse("1"), Some(json!(1)));
        assert_eq!(parse("-3"), Some(json!(-3)));
        assert_eq!(parse("1_000"), Some(json!(1000)));
        assert_eq!(parse("0x1f"), Some(json!(31)));
        assert_eq!(parse("0o17"), Some(json!(15)));
        assert_eq!(parse("1.5"), Some(json!(1.5)));
        assert_eq!(parse("1e3"), Some(json!(1000.0)));
        assert_eq!(parse("True"), Some(json!(true)));
        assert_eq!(parse("None"), Some(Value::Null));
        assert_eq!(parse("'a b'"), Some(json!("a b")));
        assert_eq!(parse(r#""x\ty""#), Some(json!("x\ty")));
        assert_eq!(parse("'a' 'b'"), Some(json!("ab")));
        assert_eq!(parse("r'a\\n'"), Some(json!("a\\n")));
        assert_eq!(parse("\"quoted\" # comment"), Some(json!("quoted")));
        assert_eq!(parse("42 # port"), Some(json!(42)));
    }

    #[test]
    fn not_literals() {
        for text in [
            "true", "yes", "0644", "a b", "1.2.3.4", "foo", "", "1_", "'open", "[1,", "1 2",
            "{'a'}x", "/etc/x",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn containers() {
        assert_eq!(parse("[1, 'a', None]"), Some(json!([1, "a", null])));
        assert_eq!(parse("(1, 2)"), Some(json!([1, 2])));
        assert_eq!(parse("(1)"), Some(json!(1)));
        assert_eq!(parse("{'a': 1, 2: [3]}"), Some(json!({"a": 1, "2": [3]})));
        assert_eq!(parse("{}"), Some(json!({})));
        assert_eq!(parse("[1,]"), Some(json!([1])));
        assert_eq!(parse("set()"), Some(json!([])));
        assert_eq!(parse("1j"), Some(json!("1j")));
        assert_eq!(
            parse("[..., 1j, set(), {1, 2}, b'x']"),
            Some(json!(["...", "1j", [], [1, 2], "x"]))
        );
    }
}
