//! The numbers an `ssh_config` value may hold, read as OpenSSH reads them: ports
//! (`a2port`) and times (`convtime`). A leaf of `ssh_config`: keyword values, forwarding
//! specs and routes all read their numbers here.

/// A port 1-65535 (`zero_ok`: also 0), as OpenSSH's `a2port`.
#[must_use]
pub fn port(text: &str, zero_ok: bool) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = text.parse::<u16>().ok()?;
    (port > 0 || zero_ok).then_some(port)
}

/// OpenSSH's `convtime`: a number of seconds, or runs like `1h30m` (s, m, h, d, w).
#[must_use]
pub fn seconds(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let value: u64 = std::mem::take(&mut number).parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
    }
    if !number.is_empty() {
        total = total.checked_add(number.parse().ok()?)?;
    }
    Some(total)
}
