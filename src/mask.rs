//! Masking secrets in every text wsdeploy shows or stores: whole values in every form they
//! travel in (quoted, JSON- and `tojson`-escaped; a multi-line secret line by line: `mask`),
//! values of secret-named keys in diff lines (`mask_line`, `mask_diff`), and host output
//! made safe for a terminal (`sanitize`). A leaf: `plan`, `inventory` and `report` use it.

/// What a masked value is replaced with.
pub const MASK: &str = "********";

/// Secrets shorter than this cannot be masked safely wherever they occur (`app` is also
/// part of `/files/app.ini`): they are masked only where they stand as a whole value, and
/// `cli` warns about them.
pub const MIN_SECRET_LEN: usize = 6;

/// Variables whose value is always a secret (the connection passwords Ansible
/// inventories hold): masked like a play's `secrets:`.
pub const PASSWORD_VARIABLES: &[&str] = &[
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
];

/// Replaces every secret value in `text` with `********` where it stands as a whole value:
/// not inside a longer word, path or file name (`app` in `/files/app.ini` stays).
#[must_use]
pub fn mask(text: &str, secrets: &[String]) -> String {
    // Every form a secret travels in, longest first so a shorter form cannot split a
    // longer one.
    let mut forms: Vec<String> = Vec::new();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        forms.extend(escaped_forms(secret));
        // A multi-line secret (a PEM key) is shown line by line in a diff: each line long
        // enough to mask safely is masked wherever it stands.
        if secret.contains('\n') {
            for line in secret.lines().map(str::trim) {
                if line.chars().count() >= MIN_SECRET_LEN {
                    forms.extend(escaped_forms(line));
                }
            }
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    let mut out = text.to_owned();
    for form in forms.iter().filter(|f| !f.is_empty()) {
        out = replace_whole(&out, form);
    }
    out
}

/// A value as written and as it travels: inside single quotes (`'\''`), shell-quoted
/// (`| quote`), JSON-escaped (a JSON file's diff, `--json`) and as MiniJinja's `tojson`
/// writes it (JSON with `<`, `>`, `&` and `'` as `\u003c`…).
fn escaped_forms(secret: &str) -> Vec<String> {
    let mut forms = Vec::with_capacity(5);
    forms.push(secret.to_owned());
    forms.push(secret.replace('\'', "'\\''"));
    forms.push(crate::shell::quote(secret));
    if let Ok(json) = serde_json::to_string(secret) {
        let json = json.trim_matches('"').to_owned();
        let html_safe = json
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\'', "\\u0027");
        forms.push(json);
        forms.push(html_safe);
    }
    forms
}

/// A character that continues a word: an occurrence next to one is part of something
/// longer.
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A joiner (`.`, `/`, `-`) continues a word when a word character stands on its far side
/// (`app.ini`, `/files/app`), not at the end of a sentence.
fn continues(next: Option<char>, beyond: Option<char>) -> bool {
    match next {
        Some(c) if word_char(c) => true,
        Some('.' | '/' | '-') => beyond.is_some_and(word_char),
        _ => false,
    }
}

fn replace_whole(text: &str, form: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(form) {
        if at < copied {
            continue;
        }
        let end = at + form.len();
        let mut back = text[..at].chars().rev();
        let (l1, l2) = (back.next(), back.next());
        let mut fwd = text[end..].chars();
        let (r1, r2) = (fwd.next(), fwd.next());
        // Quoted forms carry their own delimiters.
        let delimited = !form.starts_with(word_char) && !form.ends_with(word_char);
        if delimited || (!continues(l1, l2) && !continues(r1, r2)) {
            out.push_str(&text[copied..at]);
            out.push_str(MASK);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Every string of a JSON value (a serialized report) with the secrets masked, in place.
pub fn mask_json(value: &mut serde_json::Value, secrets: &[String]) {
    match value {
        serde_json::Value::String(s) => *s = mask(s, secrets),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_json(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| mask_json(v, secrets)),
        _ => {}
    }
}

/// Whether a configuration key names a secret (`db_password`, `admin_passwd`, `SECRET_KEY`,
/// `api_token`, `encryption_key`…).
#[must_use]
pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "passw",
        "pwd",
        "secret",
        "token",
        "key",
        "credential",
        "private",
    ]
    .iter()
    .any(|w| k.contains(w))
}

fn json_pair() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r#""((?:[^"\\]|\\.)*)"(\s*:\s*)"((?:[^"\\]|\\.)*)""#)
            .unwrap_or_else(|_| unreachable!("a valid pattern"))
    })
}

fn key_value() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^(\s*(?:export\s+)?([A-Za-z0-9_.\-]+)\s*[=:][ \t]*)(.*?)(\s*)$")
            .unwrap_or_else(|_| unreachable!("a valid pattern"))
    })
}

/// One line of a configuration file with the values of sensitive keys masked (INI and
/// env-style `key = value` / `KEY=value` / `export KEY=value` / `key: value`, JSON
/// `"key": "value"`), then every secret value.
#[must_use]
pub fn mask_line(line: &str, secrets: &[String]) -> String {
    let json = json_pair().replace_all(line, |c: &regex::Captures<'_>| {
        if is_sensitive_key(&c[1]) && !c[3].is_empty() {
            format!("\"{}\"{}\"{MASK}\"", &c[1], &c[2])
        } else {
            c[0].to_owned()
        }
    });
    let masked = match key_value().captures(&json) {
        Some(c) if is_sensitive_key(&c[2]) && !c[3].is_empty() && !c[3].starts_with('"') => {
            format!("{}{MASK}{}", &c[1], &c[4])
        }
        _ => json.into_owned(),
    };
    mask(&masked, secrets)
}

/// A unified diff (without colours) with [`mask_line`] applied to every content line.
#[must_use]
pub fn mask_diff(diff: &str, secrets: &[String]) -> String {
    diff.split_inclusive('\n')
        .map(|line| {
            let (body, nl) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            let content =
                !(body.starts_with("--- ") || body.starts_with("+++ ") || body.starts_with("@@"));
            match body.chars().next() {
                Some(c @ (' ' | '+' | '-')) if content => {
                    format!("{c}{}{nl}", mask_line(&body[1..], secrets))
                }
                _ => format!("{}{nl}", mask(body, secrets)),
            }
        })
        .collect()
}

/// Host output made safe for a terminal: escape sequences (CSI, OSC, DCS…) and control
/// characters are removed; newlines, tabs and a carriage return before a newline stay.
/// A host (or a file on it) could otherwise retitle the window, clear the screen, hide
/// lines with `\r` or colours, or worse, on the operator's terminal.
#[must_use]
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t' && c != '\r';
    if !text.chars().any(unsafe_char) && !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => out.push(c),
            '\x1b' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte.
                Some('[') => {
                    for n in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (`ESC \`).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(n) = chars.next() {
                        if n == '\x07' {
                            break;
                        }
                        if n == '\x1b' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                _ => {}
            },
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_quoted_and_json_escaped_forms() {
        let secret = vec!["p'w\"d".to_owned()];
        assert_eq!(super::mask("echo 'p'\\''w\"d'", &secret), "echo ********");
        assert_eq!(
            super::mask("{\"pw\": \"p'w\\\"d\"}", &secret),
            "{\"pw\": \"********\"}"
        );
    }

    #[test]
    fn masks_multi_line_secrets_line_by_line_and_in_tojson_form() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n".to_owned();
        let diff = format!(
            "@@ -0,0 +1,4 @@\n+{}",
            key.lines().collect::<Vec<_>>().join("\n+")
        );
        let masked = super::mask_diff(&diff, std::slice::from_ref(&key));
        for line in key.lines() {
            assert!(!masked.contains(line), "{line} in {masked}");
        }
        let json = serde_json::to_string(&key).expect("json");
        assert!(!super::mask(&json, std::slice::from_ref(&key)).contains("MIIEvQ"));
        let quoted = crate::shell::quote(&key);
        assert!(!super::mask(&quoted, std::slice::from_ref(&key)).contains("BKcwgg"));
        let secret = "a<b>&c'd-secret".to_owned();
        assert_eq!(
            super::mask(
                "{\"k\": \"a\\u003cb\\u003e\\u0026c\\u0027d-secret\"}",
                &[secret]
            ),
            "{\"k\": \"********\"}"
        );
    }

    #[test]
    fn masks_whole_values_only() {
        let s = vec!["app".to_owned()];
        assert_eq!(super::mask("/files/app.ini", &s), "/files/app.ini");
        assert_eq!(
            super::mask("db=app; pw 'app'", &s),
            "db=********; pw ********"
        );
        assert_eq!(super::mask("it is app.", &s), "it is ********.");
        assert_eq!(super::mask("application", &s), "application");
    }

    #[test]
    fn masks_values_of_sensitive_keys_in_ini_env_and_json() {
        let none: Vec<String> = Vec::new();
        for (line, masked) in [
            ("admin_passwd = admin", "admin_passwd = ********"),
            ("db_password=app", "db_password=********"),
            ("export SECRET_KEY='x y'", "export SECRET_KEY=********"),
            (
                "  \"db_password\": \"s3\\\"x\",",
                "  \"db_password\": \"********\",",
            ),
            (
                "{\"api_token\": \"t\", \"host\": \"h\"}",
                "{\"api_token\": \"********\", \"host\": \"h\"}",
            ),
            ("db_host = localhost", "db_host = localhost"),
            ("db_password =", "db_password ="),
        ] {
            assert_eq!(super::mask_line(line, &none), masked, "{line}");
        }
        let diff = "--- a/etc/odoo.conf\n+++ b/etc/odoo.conf\n@@ -1,2 +1,2 @@\n admin_passwd = admin\n-db_password = old\n+db_password = new\n";
        let masked = super::mask_diff(diff, &none);
        assert!(
            !masked.contains("admin\n") && !masked.contains("old") && !masked.contains("new\n"),
            "{masked}"
        );
    }

    #[test]
    fn sanitize_removes_escape_sequences_and_controls() {
        let hostile =
            "a\x1b]0;title\x07b\x1b[2J\x1b[31mred\x1b[0m\rX\x08\u{9b}1m\x1bP+q\x1b\\c\r\nok\tz";
        assert_eq!(super::sanitize(hostile), "abredX1mc\r\nok\tz");
        assert!(matches!(
            super::sanitize("plain\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn masks_every_occurrence() {
        assert_eq!(
            super::mask("pw=hunter2 again hunter2", &["hunter2".into()]),
            "pw=******** again ********"
        );
    }
}
