//! Forwarding specs of `LocalForward`, `RemoteForward` and `DynamicForward`, checked as
//! OpenSSH's `parse_forward` does: `[bind_address:]port` (IPv6 in brackets) or a Unix
//! socket path to listen on, and `host:hostport` or a socket path to connect to.
//! wsdeploy opens no forwardings; a spec OpenSSH refuses makes the file unusable for
//! `ssh` too, so it is refused with its line.

use super::numbers::port;

/// Checks a forwarding keyword's arguments.
///
/// # Errors
/// Why OpenSSH refuses the spec.
pub fn check(keyword: &str, args: &[String]) -> Result<(), String> {
    let remote = keyword == "remoteforward";
    let mut dynamic = keyword == "dynamicforward";
    let spec = match args {
        [listen] if dynamic || remote => {
            dynamic = true;
            listen.clone()
        }
        [_] => {
            return Err(
                "a target is missing: `LocalForward [bind:]port host:hostport` (OpenSSH: Missing target argument)"
                    .to_owned(),
            );
        }
        [listen, target] => format!("{listen}:{target}"),
        _ => return Err("expected a listen address and a target".to_owned()),
    };
    if valid(&spec, dynamic, remote) {
        Ok(())
    } else {
        Err("not a forwarding spec such as `8080 localhost:80` or `[::1]:8080 db:5432` (OpenSSH: Bad forwarding specification)".to_owned())
    }
}

/// The `:`-separated fields (`[...]` kept whole): `None` when a `[` is not closed.
fn fields(spec: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut rest = spec;
    loop {
        if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) = inner.split_once(']')?;
            fields.push(host.to_owned());
            match after.strip_prefix(':') {
                Some(next) => rest = next,
                None if after.is_empty() => return Some(fields),
                None => return None,
            }
            continue;
        }
        match rest.split_once(':') {
            Some((field, next)) => {
                fields.push(field.to_owned());
                rest = next;
            }
            None => {
                fields.push(rest.to_owned());
                return Some(fields);
            }
        }
    }
}

fn valid(spec: &str, dynamic: bool, remote: bool) -> bool {
    let Some(fields) = fields(spec) else {
        return false;
    };
    let is_path = |field: &String| field.contains('/');
    let listen_zero_ok = remote;
    match fields.as_slice() {
        [listen] => dynamic && (is_path(listen) || port(listen, listen_zero_ok).is_some()),
        [a, b] if dynamic => !is_path(b) && port(b, listen_zero_ok).is_some() && !a.is_empty(),
        [a, b] => is_path(b) && (is_path(a) || port(a, listen_zero_ok).is_some()),
        [a, host, p] if !dynamic => {
            if is_path(a) {
                !host.is_empty() && port(p, false).is_some()
            } else {
                port(a, listen_zero_ok).is_some() && !host.is_empty() && port(p, false).is_some()
            }
        }
        [_bind, listen, host, p] if !dynamic => {
            port(listen, listen_zero_ok).is_some() && !host.is_empty() && port(p, false).is_some()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    /// The verdicts of `ssh -G` (OpenSSH 9.2) on these lines.
    #[test]
    fn as_openssh_judges_them() {
        for (keyword, spec, ok) in [
            ("localforward", "8080", false),
            ("localforward", "8080 localhost:80", true),
            ("localforward", "localhost:8080 localhost:80", true),
            ("localforward", "[::1]:8080 [::1]:80", true),
            ("localforward", "8080 80", false),
            ("localforward", "/tmp/s localhost:80", true),
            ("localforward", "8080 /tmp/sock", true),
            ("localforward", "70000 h:80", false),
            ("localforward", "8080 h:0", false),
            ("localforward", "a:b:c d:e", false),
            ("localforward", "*:8080 h:80", true),
            ("remoteforward", "8080", true),
            ("remoteforward", "8080 h:80", true),
            ("remoteforward", "0 h:80", true),
            ("remoteforward", "x", false),
            ("remoteforward", "1.2.3.4:1080", true),
            ("dynamicforward", "1080", true),
            ("dynamicforward", "localhost:1080", true),
            ("dynamicforward", "x", false),
            ("dynamicforward", "0", false),
            ("dynamicforward", "/tmp/s", true),
        ] {
            assert_eq!(check(keyword, &args(spec)).is_ok(), ok, "{keyword} {spec}");
        }
    }
}
