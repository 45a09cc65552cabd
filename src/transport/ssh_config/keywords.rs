//! The keywords OpenSSH 9.2's client knows (`readconf.c`'s table, deprecated and
//! unsupported ones included: it accepts those with a debug note) and the values it
//! refuses for the ones that decide how a host is reached: ports, yes/no flags,
//! `StrictHostKeyChecking`, `AddressFamily`, `CanonicalizeHostname`, times, and the
//! forwarding specs of `LocalForward`/`RemoteForward`/`DynamicForward`. OpenSSH checks
//! these on every line, in a block that applies or not, so a bad one fails every host.

use super::forward;
use super::numbers::{port, seconds};

/// Lower-cased keywords accepted by `ssh` (besides `Host`, `Match` and `Include`).
const KNOWN: [&str; 128] = [
    "addkeystoagent",
    "addressfamily",
    "afstokenpassing",
    "batchmode",
    "bindaddress",
    "bindinterface",
    "canonicaldomains",
    "canonicalizefallbacklocal",
    "canonicalizehostname",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    "casignaturealgorithms",
    "certificatefile",
    "challengeresponseauthentication",
    "checkhostip",
    "cipher",
    "ciphers",
    "clearallforwardings",
    "compression",
    "compressionlevel",
    "connectionattempts",
    "connecttimeout",
    "controlmaster",
    "controlpath",
    "controlpersist",
    "dsaauthentication",
    "dynamicforward",
    "enableescapecommandline",
    "enablesshkeysign",
    "escapechar",
    "exitonforwardfailure",
    "fallbacktorsh",
    "fingerprinthash",
    "forkafterauthentication",
    "forwardagent",
    "forwardx11",
    "forwardx11timeout",
    "forwardx11trusted",
    "gatewayports",
    "globalknownhostsfile",
    "globalknownhostsfile2",
    "gssapiauthentication",
    "gssapiclientidentity",
    "gssapidelegatecredentials",
    "gssapikexalgorithms",
    "gssapikeyexchange",
    "gssapirenewalforcesrekey",
    "gssapiserveridentity",
    "gssapitrustdns",
    "hashknownhosts",
    "hostbasedacceptedalgorithms",
    "hostbasedauthentication",
    "hostbasedkeytypes",
    "hostkeyalgorithms",
    "hostkeyalias",
    "hostname",
    "identitiesonly",
    "identityagent",
    "identityfile",
    "identityfile2",
    "ignoreunknown",
    "ipqos",
    "kbdinteractiveauthentication",
    "kbdinteractivedevices",
    "keepalive",
    "kerberosauthentication",
    "kerberostgtpassing",
    "kexalgorithms",
    "knownhostscommand",
    "localcommand",
    "localforward",
    "loglevel",
    "logverbose",
    "macs",
    "nohostauthenticationforlocalhost",
    "numberofpasswordprompts",
    "passwordauthentication",
    "permitlocalcommand",
    "permitremoteopen",
    "pkcs11provider",
    "port",
    "preferredauthentications",
    "protocol",
    "protocolkeepalives",
    "proxycommand",
    "proxyjump",
    "proxyusefdpass",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "pubkeyauthentication",
    "rekeylimit",
    "remotecommand",
    "remoteforward",
    "requesttty",
    "requiredrsasize",
    "revokedhostkeys",
    "rhostsauthentication",
    "rhostsrsaauthentication",
    "rsaauthentication",
    "securitykeyprovider",
    "sendenv",
    "serveralivecountmax",
    "serveraliveinterval",
    "sessiontype",
    "setenv",
    "setuptimeout",
    "skeyauthentication",
    "smartcarddevice",
    "stdinnull",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "stricthostkeychecking",
    "syslogfacility",
    "tcpkeepalive",
    "tisauthentication",
    "tunnel",
    "tunneldevice",
    "updatehostkeys",
    "useblacklistedkeys",
    "useprivilegedport",
    "user",
    "userknownhostsfile",
    "userknownhostsfile2",
    "useroaming",
    "usersh",
    "verifyhostkeydns",
    "visualhostkey",
    "xauthlocation",
];

/// Keywords of later OpenSSH releases (and Apple's `UseKeychain` on macOS, where its
/// `ssh` knows it): accepted so a config written for them is not refused; none of them
/// changes how wsdeploy reaches a host.
const LATER: [&str; 4] = [
    "channeltimeout",
    "obscurekeystroketiming",
    "tag",
    "warnweakcrypto",
];

/// Whether OpenSSH knows `keyword` (lower-cased).
#[must_use]
pub fn is_known(keyword: &str) -> bool {
    KNOWN.binary_search(&keyword).is_ok()
        || LATER.contains(&keyword)
        || (cfg!(target_os = "macos") && keyword == "usekeychain")
}

/// Checks the value of a known keyword as OpenSSH does while reading the file.
///
/// # Errors
/// OpenSSH's reason for refusing it.
pub fn check_value(keyword: &str, args: &[String]) -> Result<(), String> {
    let first = args.first().map_or("", String::as_str);
    let one_of = |choices: &[&str]| {
        if choices.iter().any(|c| c.eq_ignore_ascii_case(first)) {
            Ok(())
        } else {
            Err(format!(
                "`{first}` is not one of {} (OpenSSH: unsupported option)",
                choices.join(", ")
            ))
        }
    };
    match keyword {
        "port" => port(first, false)
            .map(|_| ())
            .ok_or_else(|| format!("`{first}` is not a port number 1-65535 (OpenSSH: Bad port)")),
        "compression" => one_of(&["yes", "no"]),
        "identitiesonly"
        | "batchmode"
        | "exitonforwardfailure"
        | "hashknownhosts"
        | "tcpkeepalive"
        | "checkhostip"
        | "passwordauthentication"
        | "kbdinteractiveauthentication"
        | "hostbasedauthentication"
        | "gssapiauthentication"
        | "permitlocalcommand"
        | "clearallforwardings"
        | "forwardx11"
        | "forwardx11trusted"
        | "streamlocalbindunlink"
        | "visualhostkey"
        | "proxyusefdpass"
        | "stdinnull"
        | "enableescapecommandline" => one_of(&["yes", "no", "true", "false"]),
        "stricthostkeychecking" => {
            one_of(&["yes", "no", "ask", "accept-new", "off", "true", "false"])
        }
        "addressfamily" => one_of(&["inet", "inet6", "any"]),
        "canonicalizehostname" => one_of(&["yes", "no", "always", "true", "false"]),
        "connecttimeout" | "serveraliveinterval" | "forwardx11timeout" => {
            if first.eq_ignore_ascii_case("none") || seconds(first).is_some() {
                Ok(())
            } else {
                Err(format!(
                    "`{first}` is not a time such as 30, 30s or 1m (OpenSSH: invalid time value)"
                ))
            }
        }
        "localforward" | "remoteforward" | "dynamicforward" => {
            if args.len() > 2 || (keyword == "dynamicforward" && args.len() > 1) {
                return Err("extra arguments at end of line".to_owned());
            }
            forward::check(keyword, args)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_knows_the_common_keywords() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]));
        for keyword in [
            "hostname",
            "identityagent",
            "hostkeyalias",
            "useroaming",
            "kexalgorithms",
        ] {
            assert!(is_known(keyword), "{keyword}");
        }
        assert_eq!(is_known("usekeychain"), cfg!(target_os = "macos"));
        assert!(is_known("obscurekeystroketiming"));
    }

    #[test]
    fn values_openssh_refuses() {
        let args = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert!(check_value("port", &args("0")).is_err());
        assert!(check_value("port", &args("65536")).is_err());
        assert!(check_value("port", &args("2222")).is_ok());
        assert!(check_value("identitiesonly", &args("maybe")).is_err());
        assert!(check_value("stricthostkeychecking", &args("accept-new")).is_ok());
        assert!(check_value("addressfamily", &args("ipv4")).is_err());
        assert!(check_value("connecttimeout", &args("1m30s")).is_ok());
        assert!(check_value("connecttimeout", &args("5x")).is_err());
        assert_eq!(seconds("1m30s"), Some(90));
        assert!(check_value("dynamicforward", &args("1080 extra")).is_err());
    }
}
