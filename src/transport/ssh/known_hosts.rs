//! OpenSSH `known_hosts` files: looking a server key up and recording a new one.
//!
//! Understands what OpenSSH writes and reads: plain and hashed (`|1|salt|hash`) host
//! fields, the `[host]:port` form for ports other than 22, comma-separated patterns
//! with `*`, `?` and `!negation`, comments, blank lines, tabs, and the `@revoked` and
//! `@cert-authority` markers. Line numbers are physical line numbers (1-based), so a
//! message can send a person straight to the stale entry.
//!
//! A file is parsed once into [`KnownHosts`]: a fleet's file holds a line per host, and
//! every connection looks its host up three times (the key algorithms to offer, the
//! certificate authorities, the key presented), so matching every line for each lookup
//! made a run's lookups grow with the square of the fleet.

use std::collections::HashMap;
use std::io;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

/// What a `known_hosts` file says about the key a server presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// An entry for this host holds exactly this key.
    Trusted,
    /// No entry for this host holds a key of this type.
    /// `other_types` lists the lines that hold keys of other types for the host.
    Unknown { other_types: Vec<usize> },
    /// An entry for this host holds a different key of the same type.
    Changed { line: usize, known: PublicKey },
    /// The key is listed under `@revoked`.
    Revoked { line: usize },
}

/// One usable entry of a `known_hosts` file (for the host it was read for).
#[derive(Debug, Clone)]
struct Entry {
    line: usize,
    marker: Marker,
    key: PublicKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// The name a host is recorded under: `host` for port 22, `[host]:port` otherwise.
pub fn host_port_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// OpenSSH-style fingerprint of a key, e.g. `ssh-ed25519 SHA256:abc...`.
pub fn describe_key(key: &PublicKey) -> String {
    format!(
        "{} {}",
        key.algorithm().as_str(),
        key.fingerprint(HashAlg::Sha256)
    )
}

/// Checks `presented` against the entries for `host`:`port` in `known`.
pub fn check(known: &KnownHosts, host: &str, port: u16, presented: &PublicKey) -> HostKeyStatus {
    let name = host_port_name(host, port);
    let entries = known.entries_for(&name);

    if let Some(revoked) = entries
        .iter()
        .find(|e| e.marker == Marker::Revoked && e.key.key_data() == presented.key_data())
    {
        return HostKeyStatus::Revoked { line: revoked.line };
    }
    let plain = || entries.iter().filter(|e| e.marker == Marker::None);
    if plain().any(|e| e.key.key_data() == presented.key_data()) {
        return HostKeyStatus::Trusted;
    }
    let presented_algorithm = presented.algorithm();
    if let Some(stale) = plain().find(|e| e.key.algorithm() == presented_algorithm) {
        return HostKeyStatus::Changed {
            line: stale.line,
            known: stale.key.clone(),
        };
    }
    HostKeyStatus::Unknown {
        other_types: plain().map(|e| e.line).collect(),
    }
}

/// The CA keys trusted to sign host certificates of `host`:`port` (`@cert-authority`
/// lines), with their line numbers.
pub fn cert_authorities(known: &KnownHosts, host: &str, port: u16) -> Vec<(usize, PublicKey)> {
    let name = host_port_name(host, port);
    known
        .entries_for(&name)
        .into_iter()
        .filter(|e| e.marker == Marker::CertAuthority)
        .map(|e| (e.line, e.key))
        .collect()
}

/// The line of an `@revoked` entry for `host`:`port` holding `key`, if any.
pub fn revoked_line(known: &KnownHosts, host: &str, port: u16, key: &KeyData) -> Option<usize> {
    let name = host_port_name(host, port);
    known
        .entries_for(&name)
        .into_iter()
        .find(|e| e.marker == Marker::Revoked && e.key.key_data() == key)
        .map(|e| e.line)
}

/// The key algorithms recorded for `host`:`port`, in file order, without duplicates.
/// Offering these first during key exchange makes the server present a key we can check.
pub fn known_algorithms(known: &KnownHosts, host: &str, port: u16) -> Vec<Algorithm> {
    let name = host_port_name(host, port);
    let mut algorithms: Vec<Algorithm> = Vec::new();
    for entry in known.entries_for(&name) {
        if entry.marker == Marker::None {
            let algorithm = entry.key.algorithm();
            if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
    }
    algorithms
}

/// The line that records `host`:`port` with `key` (ending in a newline), preceded by a
/// newline when `existing` (the file's text) lacks its final one.
pub fn entry_line(existing: &str, host: &str, port: u16, key: &PublicKey) -> io::Result<String> {
    let encoded = key.to_openssh().map_err(io::Error::other)?;
    let mut line = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        line.push('\n');
    }
    line.push_str(&host_port_name(host, port));
    line.push(' ');
    line.push_str(encoded.trim_end());
    line.push('\n');
    Ok(line)
}

/// A `known_hosts` file, parsed once: every line that may hold a key, in file order,
/// with the lines whose hosts are plain names found by name and the others (patterns,
/// negations, hashed names) matched per lookup.
#[derive(Debug, Default)]
pub struct KnownHosts {
    lines: Vec<Line>,
    /// Lower-case plain name (`host` or `[host]:port`) → indices into `lines`.
    by_name: HashMap<String, Vec<usize>>,
    /// Indices into `lines` of the lines a name must be matched against.
    matched: Vec<usize>,
}

/// One line that may hold a key; its key is decoded only when its host is looked up.
#[derive(Debug)]
struct Line {
    number: usize,
    marker: Marker,
    hosts: String,
    key_type: String,
    key_base64: String,
}

impl KnownHosts {
    /// Parses a file's text. Lines that cannot hold a key (blank, comments, unknown
    /// markers, too few fields) are skipped; line numbers stay physical.
    #[must_use]
    pub fn parse(text: &str) -> KnownHosts {
        let mut known = KnownHosts::default();
        for (index, line) in text.lines().enumerate() {
            let Some(line) = Line::parse(index + 1, line) else {
                continue;
            };
            let at = known.lines.len();
            if line.hosts.starts_with("|1|")
                || line.hosts.contains(['*', '?'])
                || line
                    .hosts
                    .split(',')
                    .any(|pattern| pattern.starts_with('!'))
            {
                known.matched.push(at);
            } else {
                let mut names: Vec<String> =
                    line.hosts.split(',').map(str::to_ascii_lowercase).collect();
                names.sort_unstable();
                names.dedup();
                for name in names {
                    known.by_name.entry(name).or_default().push(at);
                }
            }
            known.lines.push(line);
        }
        known
    }

    /// The entries whose hosts field matches `name` (`host_port_name`), in file order.
    /// Only those keys are decoded: with a line per host of a large fleet, decoding
    /// every key of the file for every connection cost each handshake the whole file's
    /// worth of CPU and memory.
    fn entries_for(&self, name: &str) -> Vec<Entry> {
        let mut indices: Vec<usize> = self.by_name.get(name).cloned().unwrap_or_default();
        indices.extend(
            self.matched
                .iter()
                .copied()
                .filter(|&i| hosts_field_matches(&self.lines[i].hosts, name)),
        );
        indices.sort_unstable();
        indices
            .into_iter()
            .filter_map(|i| self.lines[i].entry())
            .collect()
    }
}

impl Line {
    fn parse(number: usize, line: &str) -> Option<Line> {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.split_ascii_whitespace();
        let mut first = fields.next()?;
        let marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::CertAuthority,
            other if other.starts_with('@') => return None,
            _ => Marker::None,
        };
        if marker != Marker::None {
            first = fields.next()?;
        }
        Some(Line {
            number,
            marker,
            hosts: first.to_owned(),
            key_type: fields.next()?.to_owned(),
            key_base64: fields.next()?.to_owned(),
        })
    }

    fn entry(&self) -> Option<Entry> {
        let key =
            PublicKey::from_openssh(&format!("{} {}", self.key_type, self.key_base64)).ok()?;
        Some(Entry {
            line: self.number,
            marker: self.marker,
            key,
        })
    }
}

/// Whether a comma-separated hosts field matches `name` (already lower-case, in
/// `[host]:port` form where needed). A matching negated pattern wins over everything.
fn hosts_field_matches(field: &str, name: &str) -> bool {
    if field.starts_with("|1|") {
        return hashed_entry_matches(field, name);
    }
    let mut matched = false;
    for pattern in field.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(&negated.to_ascii_lowercase(), name) {
                return false;
            }
        } else if wildcard_match(&pattern.to_ascii_lowercase(), name) {
            matched = true;
        }
    }
    matched
}

fn hashed_entry_matches(field: &str, name: &str) -> bool {
    let mut parts = field.trim_start_matches("|1|").split('|');
    let (Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// Glob match with `*` (any run) and `?` (any one character), as OpenSSH patterns.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched_to)) => {
                    p = star + 1;
                    t = matched_to + 1;
                    backtrack = Some((star, matched_to + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(base64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {base64}")).unwrap()
    }

    #[test]
    fn plain_entry_with_port_is_trusted() {
        let text = format!("[10.0.0.5]:2222 ssh-ed25519 {KEY_A}\n");
        assert_eq!(
            check(&KnownHosts::parse(&text), "10.0.0.5", 2222, &key(KEY_A)),
            HostKeyStatus::Trusted
        );
        assert_eq!(
            check(&KnownHosts::parse(&text), "10.0.0.5", 22, &key(KEY_A)),
            HostKeyStatus::Unknown {
                other_types: vec![]
            }
        );
    }

    #[test]
    fn changed_key_reports_physical_line_after_comments_and_blanks() {
        let text = format!(
            "# managed by hand\n\nother ssh-ed25519 {KEY_A}\nweb1,10.0.0.5\tssh-ed25519 {KEY_A} old\n"
        );
        assert_eq!(
            check(&KnownHosts::parse(&text), "10.0.0.5", 22, &key(KEY_B)),
            HostKeyStatus::Changed {
                line: 4,
                known: key(KEY_A)
            }
        );
    }

    #[test]
    fn hashed_entry_matches_only_its_host() {
        // Produced by `ssh-keygen -H` for the name "localhost".
        let text = format!(
            "|1|biN1uCs0MgaPA+VxIrIJddezd7U=|epC/W6psgLfNawE2D2Zuno/UeF4= ssh-ed25519 {KEY_A}\n"
        );
        assert_eq!(
            check(&KnownHosts::parse(&text), "localhost", 22, &key(KEY_A)),
            HostKeyStatus::Trusted
        );
        assert!(matches!(
            check(&KnownHosts::parse(&text), "otherhost", 22, &key(KEY_A)),
            HostKeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn wildcards_and_negation() {
        let text = format!("*.example.com,!db.example.com ssh-ed25519 {KEY_A}\n");
        assert_eq!(
            check(
                &KnownHosts::parse(&text),
                "Web.Example.com",
                22,
                &key(KEY_A)
            ),
            HostKeyStatus::Trusted
        );
        assert!(matches!(
            check(&KnownHosts::parse(&text), "db.example.com", 22, &key(KEY_A)),
            HostKeyStatus::Unknown { .. }
        ));
        assert!(wildcard_match("10.0.0.?", "10.0.0.5"));
        assert!(!wildcard_match("10.0.0.?", "10.0.0.55"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn a_fleet_file_is_looked_up_by_name_and_patterns_keep_their_place_in_file_order() {
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!(
                "lab-{i}.example.com,10.0.{}.{} ssh-ed25519 {KEY_A}\n",
                i / 256,
                i % 256
            ));
        }
        // Line 501: a pattern covering lab-7 (matched per lookup); line 502: lab-7 again,
        // upper case, with another key; line 503: a negation excluding lab-9.
        text.push_str(&format!("@revoked *.example.com ssh-ed25519 {KEY_B}\n"));
        text.push_str(&format!("LAB-7.example.com ssh-ed25519 {KEY_B}\n"));
        text.push_str(&format!("*,!lab-9.example.com ssh-ed25519 {KEY_B}\n"));
        let known = KnownHosts::parse(&text);
        assert_eq!(
            known.matched.len(),
            2,
            "only the pattern lines are matched per lookup"
        );
        assert_eq!(known.by_name["lab-7.example.com"], vec![7, 501]);
        let lines =
            |name: &str| -> Vec<usize> { known.entries_for(name).iter().map(|e| e.line).collect() };
        assert_eq!(lines("lab-7.example.com"), vec![8, 501, 502, 503]);
        assert_eq!(lines("lab-9.example.com"), vec![10, 501]);
        assert_eq!(lines("10.0.1.44"), vec![301, 503]);
        assert_eq!(
            check(&known, "lab-7.example.com", 22, &key(KEY_B)),
            HostKeyStatus::Revoked { line: 501 }
        );
        assert_eq!(
            check(&known, "10.0.1.44", 22, &key(KEY_A)),
            HostKeyStatus::Trusted
        );
        // `[lab-9.example.com]:2222` is not the negated name: `*` covers it.
        assert_eq!(lines("[lab-9.example.com]:2222"), vec![503]);
        assert!(matches!(
            check(&known, "lab-9.example.com", 2222, &key(KEY_A)),
            HostKeyStatus::Changed { line: 503, .. }
        ));
    }

    #[test]
    fn revoked_key_is_reported_even_when_also_trusted() {
        let text = format!("host ssh-ed25519 {KEY_A}\n@revoked * ssh-ed25519 {KEY_A}\n");
        assert_eq!(
            check(&KnownHosts::parse(&text), "host", 22, &key(KEY_A)),
            HostKeyStatus::Revoked { line: 2 }
        );
    }

    #[test]
    fn garbage_lines_are_skipped_but_counted() {
        let text = format!("not a key line\nhost ssh-ed25519 !!!\nhost ssh-ed25519 {KEY_A}\n");
        assert_eq!(
            check(&KnownHosts::parse(&text), "host", 22, &key(KEY_B)),
            HostKeyStatus::Changed {
                line: 3,
                known: key(KEY_A)
            }
        );
    }

    #[test]
    fn other_key_types_are_unknown_not_changed() {
        let ecdsa = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPm2ab1mXz5Ur74/1pklkvP1jYmxcLDo5Da0cettNyjDcUGepiZgrYCSExBjgUHK+YWp3w0uIClpAFwRwbRiwfY=";
        let text = format!("host ecdsa-sha2-nistp256 {ecdsa}\n");
        assert_eq!(
            check(&KnownHosts::parse(&text), "host", 22, &key(KEY_A)),
            HostKeyStatus::Unknown {
                other_types: vec![1]
            }
        );
        assert_eq!(
            known_algorithms(&KnownHosts::parse(&text), "host", 22),
            vec![Algorithm::Ecdsa {
                curve: russh::keys::EcdsaCurve::NistP256
            }]
        );
    }
}
