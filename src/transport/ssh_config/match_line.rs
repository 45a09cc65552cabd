//! `Match` lines as OpenSSH 9.2 reads them (`readconf.c`, `match_cfg_line`): the words
//! are split by `strdelim` (whitespace or one `=`, `"` quoting without escapes), the
//! criteria `all`, `canonical`, `final`, `host`, `originalhost`, `user`, `localuser` and
//! `exec`, each negated by a leading `!`; what OpenSSH refuses (a criterion without its
//! argument, an unknown one, `all` combined with others, no criterion) is refused here.
//! The criteria later OpenSSH releases added (`localnetwork`, `tagged`, `version`,
//! `sessiontype`, `command`) are accepted, so a config written for them is not refused,
//! and, like `exec`, never evaluated.

use super::pattern::pattern_list;

/// One criterion of a `Match` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub negated: bool,
    pub kind: CriterionKind,
}

/// What a criterion tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CriterionKind {
    /// `all`: true (alone, or after one other criterion).
    All,
    /// `canonical`: true only in the pass after host name canonicalization.
    Canonical,
    /// `final`: asks for that pass, and is true only in it.
    Final,
    /// `host PATTERNS`: the host name after `HostName` (case-insensitive patterns).
    Host(String),
    /// `originalhost PATTERNS`: the name as given.
    OriginalHost(String),
    /// `user PATTERNS`: the remote user known so far.
    User(String),
    /// `localuser PATTERNS`: the local user.
    LocalUser(String),
    /// `exec COMMAND`: a local command's exit status (never run by wsdeploy).
    Exec(String),
    /// A criterion of a later OpenSSH (`localnetwork`, `tagged`, ...): not evaluated.
    Later { name: String, argument: String },
}

/// Criteria OpenSSH added after 9.2, with their argument.
const LATER_CRITERIA: [&str; 5] = [
    "localnetwork",
    "tagged",
    "version",
    "sessiontype",
    "command",
];

/// What a criterion is tested against.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The host name (after `HostName`, `%h` expanded), lower-cased.
    pub host: &'a str,
    /// The name as given (`ansible_host` or the inventory name).
    pub original: &'a str,
    /// The remote user known so far (the local user when none is).
    pub user: &'a str,
    pub local_user: &'a str,
    /// Whether this is the final pass (`Match final`/`canonical`).
    pub final_pass: bool,
}

/// The outcome of a `Match` line for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Matches,
    DoesNotMatch,
    /// Every other criterion holds: the result depends on what wsdeploy does not
    /// evaluate (`run \`COMMAND\``, or `test \`localnetwork ...\``).
    DependsOn(String),
}

/// Parses the text after `Match`.
///
/// # Errors
/// OpenSSH's reason for refusing the line.
pub fn parse(text: &str) -> Result<Vec<Criterion>, String> {
    let mut words = Delimited::new(text);
    let mut criteria = Vec::new();
    let mut attributes = 0;
    while let Some(word) = words.next().filter(|w| !w.is_empty()) {
        if word.starts_with('#') {
            break;
        }
        let (negated, name) = match word.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, word.as_str()),
        };
        let name = name.to_ascii_lowercase();
        if name == "all" {
            let extra = words
                .next()
                .filter(|w| !w.is_empty() && !w.starts_with('#'));
            if attributes > 1 || extra.is_some() {
                return Err(format!(
                    "`{word}` cannot be combined with other Match criteria"
                ));
            }
            criteria.push(Criterion {
                negated,
                kind: CriterionKind::All,
            });
            return Ok(criteria);
        }
        attributes += 1;
        if name == "canonical" || name == "final" {
            let kind = if name == "final" {
                CriterionKind::Final
            } else {
                CriterionKind::Canonical
            };
            criteria.push(Criterion { negated, kind });
            continue;
        }
        let Some(argument) = words
            .next()
            .filter(|w| !w.is_empty() && !w.starts_with('#'))
        else {
            return Err(format!(
                "`{word}` needs an argument (Missing Match criteria)"
            ));
        };
        let kind = match name.as_str() {
            "host" => CriterionKind::Host(argument),
            "originalhost" => CriterionKind::OriginalHost(argument),
            "user" => CriterionKind::User(argument),
            "localuser" => CriterionKind::LocalUser(argument),
            "exec" => CriterionKind::Exec(argument),
            later if LATER_CRITERIA.contains(&later) => CriterionKind::Later {
                name: later.to_owned(),
                argument,
            },
            _ => {
                return Err(format!(
                    "`{word}` is not a Match criterion (OpenSSH knows all, canonical, final, host, originalhost, user, localuser, exec; later releases localnetwork, tagged, version, sessiontype, command)"
                ));
            }
        };
        criteria.push(Criterion { negated, kind });
    }
    if attributes == 0 {
        return Err("a criterion is required (`Match all` for every host)".to_owned());
    }
    Ok(criteria)
}

/// Evaluates a line's criteria as OpenSSH does: every one must hold; `exec` is only
/// consulted when all before it held.
#[must_use]
pub fn evaluate(criteria: &[Criterion], facts: &Facts<'_>) -> Outcome {
    let mut result = true;
    let mut undecided: Option<String> = None;
    for criterion in criteria {
        let holds = match &criterion.kind {
            CriterionKind::All => true,
            CriterionKind::Canonical | CriterionKind::Final => facts.final_pass,
            CriterionKind::Host(list) => pattern_list(list, facts.host, true),
            CriterionKind::OriginalHost(list) => {
                pattern_list(list, &facts.original.to_ascii_lowercase(), true)
            }
            CriterionKind::User(list) => pattern_list(list, facts.user, false),
            CriterionKind::LocalUser(list) => pattern_list(list, facts.local_user, false),
            CriterionKind::Exec(command) => {
                if result && undecided.is_none() {
                    undecided = Some(format!("run `{command}`"));
                }
                continue;
            }
            CriterionKind::Later { name, argument } => {
                if result && undecided.is_none() {
                    undecided = Some(format!(
                        "test `{name} {argument}` (a criterion of OpenSSH after 9.2, not evaluated by wsdeploy)"
                    ));
                }
                continue;
            }
        };
        if holds == criterion.negated {
            result = false;
        }
    }
    match (result, undecided) {
        (false, _) => Outcome::DoesNotMatch,
        (true, Some(what)) => Outcome::DependsOn(what),
        (true, None) => Outcome::Matches,
    }
}

/// Whether a line asks for the final pass (`final` anywhere on it).
#[must_use]
pub fn wants_final_pass(criteria: &[Criterion]) -> bool {
    criteria.iter().any(|c| c.kind == CriterionKind::Final)
}

/// OpenSSH's `strdelim`: words end at whitespace or one `=`; a `"` starts a run that
/// ends at the next `"` (no escapes: `\"` ends it too).
struct Delimited {
    chars: Vec<char>,
    pos: Option<usize>,
}

impl Delimited {
    fn new(text: &str) -> Delimited {
        Delimited {
            chars: text.chars().collect(),
            pos: Some(0),
        }
    }

    fn skip_space(&self, mut i: usize) -> usize {
        while i < self.chars.len() && is_space(self.chars[i]) {
            i += 1;
        }
        i
    }

    /// The next word; `Some("")` at the end, `None` after an unclosed quote.
    fn next(&mut self) -> Option<String> {
        let start = self.pos?;
        let chars = &self.chars;
        let mut i = start;
        while i < chars.len() && !(is_space(chars[i]) || chars[i] == '"' || chars[i] == '=') {
            i += 1;
        }
        if i == chars.len() {
            self.pos = None;
            return Some(chars[start..].iter().collect());
        }
        let mut word: String = chars[start..i].iter().collect();
        if chars[i] == '"' {
            let Some(close) = chars[i + 1..].iter().position(|c| *c == '"') else {
                self.pos = None;
                return None;
            };
            let close = i + 1 + close;
            word.extend(&chars[i + 1..close]);
            self.pos = Some(self.skip_space(close + 1));
            return Some(word);
        }
        let equals = chars[i] == '=';
        let mut next = self.skip_space(i + 1);
        if !equals && next < chars.len() && chars[next] == '=' {
            next = self.skip_space(next + 1);
        }
        self.pos = Some(next);
        Some(word)
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(host: &'a str, user: &'a str, final_pass: bool) -> Facts<'a> {
        Facts {
            host,
            original: "alias",
            user,
            local_user: "me",
            final_pass,
        }
    }

    #[test]
    fn what_openssh_refuses_is_refused() {
        for (line, why) in [
            ("host", "`host` needs an argument"),
            ("foo x", "`foo` is not a Match criterion"),
            ("host x user y all", "cannot be combined"),
            ("all host x", "cannot be combined"),
            ("# only a comment", "a criterion is required"),
            (
                "Host * exec \"test -n \\\"$SSH_AGENT\\\"\"",
                "`$SSH_AGENT\\` needs an argument",
            ),
            ("tagged", "`tagged` needs an argument"),
        ] {
            let error = parse(line).unwrap_err();
            assert!(error.contains(why), "{line}: {error}");
        }
        assert!(parse("host x all").is_ok());
        assert!(parse("all # comment").is_ok());
        assert!(parse("host=x").is_ok());
        let later = parse("host a* localnetwork 10.0.0.0/8").unwrap();
        assert_eq!(
            evaluate(&later, &facts("ab", "u", false)),
            Outcome::DependsOn("test `localnetwork 10.0.0.0/8` (a criterion of OpenSSH after 9.2, not evaluated by wsdeploy)".to_owned())
        );
    }

    #[test]
    fn criteria_are_anded_with_negation_and_exec_last_resort() {
        let line = parse("host 172.16.0.*,172.16.10.* !Exec \"ping -c1 -t1 172.16.0.1\"").unwrap();
        assert_eq!(
            evaluate(&line, &facts("172.16.10.10", "root", false)),
            Outcome::DependsOn("run `ping -c1 -t1 172.16.0.1`".to_owned())
        );
        assert_eq!(
            evaluate(&line, &facts("gw-suita.example", "root", false)),
            Outcome::DoesNotMatch
        );
        let line = parse("!all").unwrap();
        assert_eq!(
            evaluate(&line, &facts("x", "u", false)),
            Outcome::DoesNotMatch
        );
        let line = parse("host A user root").unwrap();
        assert_eq!(
            evaluate(&line, &facts("a", "root", false)),
            Outcome::Matches
        );
        // User patterns are case-sensitive.
        let line = parse("user ROOT").unwrap();
        assert_eq!(
            evaluate(&line, &facts("a", "root", false)),
            Outcome::DoesNotMatch
        );
        let line = parse("canonical").unwrap();
        assert_eq!(
            evaluate(&line, &facts("a", "u", false)),
            Outcome::DoesNotMatch
        );
        assert_eq!(evaluate(&line, &facts("a", "u", true)), Outcome::Matches);
        assert!(wants_final_pass(&parse("final host x").unwrap()));
        assert!(!wants_final_pass(&parse("canonical").unwrap()));
    }
}
