//! Host entries as written under `hosts:`: an optional `:port` suffix and Ansible's ranges
//! (`web[01:03].example.com`, `db-[a:c]`, `node[0:10:5]`).

/// A host entry expanded into concrete host names, with the port it named, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostEntry {
    pub(crate) names: Vec<String>,
    pub(crate) port: Option<u16>,
}

/// Splits `entry` into host names and port. Errors are plain sentences without location;
/// the caller adds file, line and column.
pub(crate) fn parse_host_entry(entry: &str) -> Result<HostEntry, String> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err("a host name cannot be empty".to_owned());
    }
    let (pattern, port) = split_port(entry)?;
    let names = expand_ranges(pattern)?;
    Ok(HostEntry { names, port })
}

/// `name:2222` and `[2001:db8::1]:2222` carry a port; a bare IPv6 address does not.
fn split_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(inner) = entry.strip_prefix('[')
        && let Some((address, port)) = inner.rsplit_once("]:")
        && address.contains(':')
    {
        return Ok((address, Some(parse_port(entry, port)?)));
    }
    let mut depth = 0_i32;
    let mut colons_outside = Vec::new();
    for (index, character) in entry.char_indices() {
        match character {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => colons_outside.push(index),
            _ => {}
        }
    }
    match colons_outside.as_slice() {
        [index] => {
            let (name, port) = (&entry[..*index], &entry[index + 1..]);
            Ok((name, Some(parse_port(entry, port)?)))
        }
        _ => Ok((entry, None)),
    }
}

fn parse_port(entry: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(number) if number > 0 => Ok(number),
        _ => Err(format!(
            "`{entry}`: the part after `:` must be a port number 1-65535 (got `{port}`)"
        )),
    }
}

/// Expands the first `[start:end(:step)]` range and then the rest, recursively.
fn expand_ranges(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_owned()]);
    };
    let Some(close_offset) = pattern[open..].find(']') else {
        return Ok(vec![pattern.to_owned()]);
    };
    let close = open + close_offset;
    let inside = &pattern[open + 1..close];
    if !inside.contains(':') {
        return Ok(vec![pattern.to_owned()]);
    }
    let head = &pattern[..open];
    let tail = &pattern[close + 1..];
    let mut names = Vec::new();
    for middle in expand_one_range(pattern, inside)? {
        for rest in expand_ranges(tail)? {
            names.push(format!("{head}{middle}{rest}"));
        }
    }
    Ok(names)
}

fn expand_one_range(pattern: &str, inside: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = inside.split(':').collect();
    let (start, end, step) = match parts.as_slice() {
        [start, end] => (*start, *end, "1"),
        [start, end, step] => (*start, *end, *step),
        _ => {
            return Err(format!(
                "`{pattern}`: a host range is [start:end] or [start:end:step]"
            ));
        }
    };
    let step: usize = match step.parse() {
        Ok(step) if step > 0 => step,
        _ => {
            return Err(format!(
                "`{pattern}`: the range step must be a positive integer"
            ));
        }
    };
    let start = if start.is_empty() { "0" } else { start };
    if end.is_empty() {
        return Err(format!("`{pattern}`: the host range has no end"));
    }
    if let (Ok(first), Ok(last)) = (start.parse::<u64>(), end.parse::<u64>()) {
        let width = if start.len() > 1 && start.starts_with('0') {
            if start.len() != end.len() {
                return Err(format!(
                    "`{pattern}`: a zero-padded range needs start and end of equal length"
                ));
            }
            start.len()
        } else {
            0
        };
        if first > last {
            return Err(format!("`{pattern}`: the range start is after its end"));
        }
        return Ok((first..=last)
            .step_by(step)
            .map(|number| format!("{number:0width$}"))
            .collect());
    }
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    let position = |text: &str| {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(letter), None) => letters.iter().position(|candidate| *candidate == letter),
            _ => None,
        }
    };
    match (position(start), position(end)) {
        (Some(first), Some(last)) if first <= last => Ok(letters[first..=last]
            .iter()
            .step_by(step)
            .map(char::to_string)
            .collect()),
        (Some(_), Some(_)) => Err(format!("`{pattern}`: the range start is after its end")),
        _ => Err(format!(
            "`{pattern}`: a host range goes between two numbers or two single letters"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entry: &str) -> Vec<String> {
        parse_host_entry(entry).unwrap().names
    }

    #[test]
    fn plain_name_has_no_port() {
        assert_eq!(
            parse_host_entry("web1.example.com").unwrap(),
            HostEntry {
                names: vec!["web1.example.com".into()],
                port: None
            }
        );
    }

    #[test]
    fn port_suffix_is_split_off() {
        let entry = parse_host_entry("web1:2222").unwrap();
        assert_eq!(entry.names, ["web1"]);
        assert_eq!(entry.port, Some(2222));
        let entry = parse_host_entry("[2001:db8::1]:2200").unwrap();
        assert_eq!(entry.names, ["2001:db8::1"]);
        assert_eq!(entry.port, Some(2200));
        assert_eq!(parse_host_entry("2001:db8::1").unwrap().port, None);
    }

    #[test]
    fn bad_port_is_rejected() {
        assert_eq!(
            parse_host_entry("web1:ssh").unwrap_err(),
            "`web1:ssh`: the part after `:` must be a port number 1-65535 (got `ssh`)"
        );
    }

    #[test]
    fn numeric_ranges_keep_padding_and_step() {
        assert_eq!(
            names("web[01:03].example.com"),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(names("n[0:10:5]"), ["n0", "n5", "n10"]);
        assert_eq!(names("n[:1]"), ["n0", "n1"]);
    }

    #[test]
    fn letter_ranges_and_several_ranges() {
        assert_eq!(names("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(names("r[1:2]c[a:b]"), ["r1ca", "r1cb", "r2ca", "r2cb"]);
    }

    #[test]
    fn range_with_port() {
        let entry = parse_host_entry("web[1:2]:2222").unwrap();
        assert_eq!(entry.names, ["web1", "web2"]);
        assert_eq!(entry.port, Some(2222));
    }

    #[test]
    fn backwards_range_is_rejected() {
        assert_eq!(
            parse_host_entry("web[3:1]").unwrap_err(),
            "`web[3:1]`: the range start is after its end"
        );
    }
}
