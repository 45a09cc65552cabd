//! wsdeploy reads Ansible's own inventories (examples and integration-test fixtures of
//! ansible-core, in `tests/corpus/ansible-inventories/`, provenance in its SOURCES.md) the
//! way Ansible does: `wsdeploy inventory --list` prints the same groups, hosts and merged
//! host variables as `ansible-inventory --list`, an inventory Ansible cannot parse is
//! refused, and `apply --list-hosts` targets the same hosts as `ansible PATTERN --list-hosts`.
//!
//! Ansible itself is the oracle: ansible-core 2.19 from PyPI in the venv that `tests/run-all`
//! creates (`WSDEPLOY_ANSIBLE_VENV`, default `/var/cache/wsdeploy-ci/ansible-venv`). Without
//! it these tests fail, saying how to install it.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};
use support::project::{Project, corpus_dir};

/// What Ansible makes of a corpus inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Parsed: wsdeploy must print the same `--list`.
    Same,
    /// Ansible cannot parse it ("Unable to parse ... as an inventory source"): wsdeploy
    /// must refuse it (exit 3) with a message holding this text.
    Refused(&'static str),
}

/// `(inventory under tests/corpus/ansible-inventories, INVENTORY_TEST_MODE for the script
/// fixture, expectation)`.
const CORPUS: &[(&str, Option<&str>, Expect)] = &[
    ("examples/hosts", None, Expect::Same),
    ("ansible-inventory/complex.ini", None, Expect::Same),
    ("ansible-inventory/none_values.yml", None, Expect::Same),
    ("ansible-inventory/unicode.yml", None, Expect::Same),
    ("ansible-inventory/invalid_sample.yml", None, Expect::Same),
    ("ansible-inventory/vaulted/test.ini", None, Expect::Same),
    ("inventory/implicit_grouping.ini", None, Expect::Same),
    ("inventory/inv.yml", None, Expect::Same),
    ("inventory/inv_with_empty_group.yml", None, Expect::Same),
    ("inventory/inv_with_host_vars.yml", None, Expect::Same),
    ("inventory/inv_with_int.yml", None, Expect::Same),
    ("inventory_ini/inventory.ini", None, Expect::Same),
    ("inventory_yaml/test.yml", None, Expect::Same),
    (
        "inventory_yaml/test_int_hostname.yml",
        None,
        Expect::Refused("host name 1234 is read as an integer by YAML; quote it"),
    ),
    (
        "connection_local/test_connection.inventory",
        None,
        Expect::Same,
    ),
    (
        "connection_local/test_network_connection.inventory",
        None,
        Expect::Same,
    ),
    (
        "connection_ssh/test_connection.inventory",
        None,
        Expect::Same,
    ),
    ("connection_ssh/control_path.inventory", None, Expect::Same),
    (
        "connection_docker/test_connection.inventory",
        None,
        Expect::Same,
    ),
    (
        "connection_paramiko_ssh/test_connection.inventory",
        None,
        Expect::Same,
    ),
    (
        "connection_chroot/test_connection.inventory",
        None,
        Expect::Same,
    ),
    (
        "connection_podman/test_connection.inventory",
        None,
        Expect::Same,
    ),
    (
        "connection_windows_ssh/test_connection.inventory",
        None,
        Expect::Refused(
            "line 1 column 1: section [windows:vars] is for group `windows`, which is not declared",
        ),
    ),
    ("delegate_to/inventory", None, Expect::Same),
    ("delegate_to/inventory_interpreters", None, Expect::Same),
    ("delegate_to/delegate_vars_inventory", None, Expect::Same),
    (
        "delegate_to/delegate_loop_label_inventory",
        None,
        Expect::Same,
    ),
    ("var_precedence/inventory", None, Expect::Same),
    ("hosts_field/inventory.hosts_field", None, Expect::Same),
    // Directories: every inventory file in them, merged, with their host_vars/.
    ("connection_ssh", None, Expect::Same),
    ("delegate_to", None, Expect::Same),
    ("var_precedence", None, Expect::Same),
    (
        "inventory_script/script_inventory_fixture.py",
        Some("no_profile"),
        Expect::Same,
    ),
    (
        "inventory_script/script_inventory_fixture.py",
        Some("no_meta_hostvars"),
        Expect::Same,
    ),
    (
        "inventory_script/script_inventory_fixture.py",
        Some("no_hosts"),
        Expect::Same,
    ),
    (
        "inventory_script/script_inventory_fixture.py",
        Some("invalid_json"),
        Expect::Refused("`--list` must print JSON"),
    ),
    (
        "inventory_script/script_inventory_fixture.py",
        Some("no_meta_hostvars_host_nonzero_rc"),
        Expect::Refused("`--host myhost` failed"),
    ),
    (
        "ansible-inventory/valid_sample.yml",
        None,
        Expect::Refused(
            "valid_sample.yml line 9 column 9: variable `roundtrip_undecryptable`: it is vault-encrypted and no vault password was given",
        ),
    ),
];

fn venv() -> PathBuf {
    let venv = std::env::var_os("WSDEPLOY_ANSIBLE_VENV").map_or_else(
        || PathBuf::from("/var/cache/wsdeploy-ci/ansible-venv"),
        PathBuf::from,
    );
    let probe = Command::new(venv.join("bin/ansible-inventory"))
        .arg("--version")
        .output();
    match probe {
        Ok(out) if out.status.success() => venv,
        Ok(out) => panic!(
            "{}/bin/ansible-inventory --version failed: {}; reinstall with: python3 -m venv {0} && {0}/bin/pip install ansible-core",
            venv.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(error) => panic!(
            "ansible-core is missing ({error}): tests/run-all installs it; by hand: python3 -m venv {0} && {0}/bin/pip install ansible-core (or set WSDEPLOY_ANSIBLE_VENV)",
            venv.display()
        ),
    }
}

/// Runs one of the venv's ansible programs with a private home, no config file, and the
/// venv first on PATH (the script fixture runs `#!/usr/bin/env python`).
fn ansible(
    venv: &Path,
    program: &str,
    args: &[&str],
    mode: Option<&str>,
) -> (bool, String, String) {
    let home = tempfile::tempdir().expect("temp home");
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(venv.join("bin").join(program));
    command
        .args(args)
        .env("PATH", path)
        .env("HOME", home.path())
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_CONFIG", home.path().join("none.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", home.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE");
    if let Some(mode) = mode {
        command.env("INVENTORY_TEST_MODE", mode);
    }
    let out = command.output().expect("ansible runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn wsdeploy(venv: &Path, args: &[&str], mode: Option<&str>) -> (i32, String, String) {
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary built");
    command
        .args(args)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE");
    if let Some(mode) = mode {
        command.env("INVENTORY_TEST_MODE", mode);
    }
    let out = command.output().expect("wsdeploy runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Ansible's `--list` without what wsdeploy does not model: the `_meta.profile` marker and
/// the `{"__ansible_unsafe": TEXT}` wrapping of untrusted strings.
fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("__ansible_unsafe") => {
            normalise(&map["__ansible_unsafe"])
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != "profile")
                .map(|(key, item)| (key.clone(), normalise(item)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

/// Differences between two `--list` outputs, one line each (empty when they agree).
fn differences(ours: &Value, theirs: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let empty = Map::new();
    let ours_map = ours.as_object().unwrap_or(&empty);
    let theirs_map = theirs.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = ours_map.keys().chain(theirs_map.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if key == "_meta" {
            let hostvars = |side: &Map<String, Value>| {
                side.get("_meta")
                    .and_then(|meta| meta.get("hostvars"))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            let (ours_vars, theirs_vars) = (hostvars(ours_map), hostvars(theirs_map));
            let mut hosts: Vec<&String> = ours_vars.keys().chain(theirs_vars.keys()).collect();
            hosts.sort();
            hosts.dedup();
            for host in hosts {
                if ours_vars.get(host) != theirs_vars.get(host) {
                    found.push(format!(
                        "hostvars of {host}: wsdeploy {:?}, ansible {:?}",
                        ours_vars.get(host),
                        theirs_vars.get(host)
                    ));
                }
            }
        } else if ours_map.get(key) != theirs_map.get(key) {
            found.push(format!(
                "group {key}: wsdeploy {:?}, ansible {:?}",
                ours_map.get(key),
                theirs_map.get(key)
            ));
        }
    }
    found
}

#[test]
fn corpus_has_twenty_inventories_with_their_sources() {
    let root = corpus_dir().join("ansible-inventories");
    let sources = std::fs::read_to_string(root.join("SOURCES.md")).expect("SOURCES.md");
    let mut distinct: Vec<&str> = CORPUS
        .iter()
        .map(|(path, _, _)| *path)
        .filter(|path| root.join(path).is_file())
        .collect();
    distinct.dedup();
    assert!(distinct.len() >= 20, "{} inventory files", distinct.len());
    for (path, _, _) in CORPUS {
        assert!(root.join(path).exists(), "{path} is missing");
    }
    for path in distinct {
        assert!(sources.contains(path), "SOURCES.md does not record {path}");
    }
}

#[test]
fn list_matches_ansible_inventory_on_the_corpus() {
    let venv = venv();
    let root = corpus_dir().join("ansible-inventories");
    let mut failures = Vec::new();
    let mut compared = 0;
    for (relative, mode, expect) in CORPUS {
        let path = root.join(relative);
        let path_text = path.to_string_lossy().into_owned();
        let label = format!(
            "{relative}{}",
            mode.map(|m| format!(" ({m})")).unwrap_or_default()
        );
        let (_, ansible_out, ansible_err) = ansible(
            &venv,
            "ansible-inventory",
            &["-i", &path_text, "--list"],
            *mode,
        );
        let ansible_parsed = !ansible_err.contains("Unable to parse")
            && !ansible_err.contains("Failed to parse inventory with 'script' plugin");
        let (code, out, err) = wsdeploy(&venv, &["inventory", "--list", "-i", &path_text], *mode);
        match expect {
            Expect::Same => {
                if !ansible_parsed {
                    failures.push(format!(
                        "{label}: ansible could not parse it:\n{ansible_err}"
                    ));
                    continue;
                }
                if code != 0 {
                    failures.push(format!("{label}: wsdeploy exit {code}: {err}"));
                    continue;
                }
                let ours: Value = serde_json::from_str(&out).expect("wsdeploy prints JSON");
                let theirs: Value = serde_json::from_str(&ansible_out).unwrap_or_else(|e| {
                    panic!("{label}: ansible printed no JSON ({e}):\n{ansible_out}")
                });
                let diff = differences(&ours, &normalise(&theirs));
                if diff.is_empty() {
                    compared += 1;
                } else {
                    failures.push(format!("{label}:\n  {}", diff.join("\n  ")));
                }
            }
            Expect::Refused(message) => {
                if ansible_parsed && !relative.ends_with("valid_sample.yml") {
                    failures.push(format!("{label}: ansible parsed it, expected a refusal"));
                }
                if code != 3 || !err.contains(message) {
                    failures.push(format!(
                        "{label}: expected exit 3 with {message:?}, got {code}: {err}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(compared >= 28, "only {compared} inventories compared");
}

/// The hosts `ansible PATTERN --list-hosts` prints.
fn ansible_list_hosts(
    venv: &Path,
    inventory: &str,
    pattern: &str,
    limit: Option<&str>,
) -> Vec<String> {
    let mut args = vec![pattern, "-i", inventory, "--list-hosts"];
    if let Some(limit) = limit {
        args.extend(["--limit", limit]);
    }
    let (ok, out, err) = ansible(venv, "ansible", &args, None);
    assert!(ok || out.contains("hosts (0)"), "ansible {args:?}: {err}");
    out.lines()
        .skip_while(|line| !line.trim_start().starts_with("hosts ("))
        .skip(1)
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn list_hosts_matches_ansible() {
    let venv = venv();
    let root = corpus_dir().join("ansible-inventories");
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("examples/hosts", "all", None),
        ("examples/hosts", "webservers", None),
        ("examples/hosts", "webservers:dbservers", None),
        ("examples/hosts", "webservers:&dbservers", None),
        ("examples/hosts", "all:!webservers", None),
        ("examples/hosts", "ungrouped", None),
        ("examples/hosts", "all", Some("db*")),
        ("examples/hosts", "all", Some("webservers[0:2]")),
        ("ansible-inventory/complex.ini", "parent_3", None),
        (
            "ansible-inventory/complex.ini",
            "all",
            Some("test_group1:!test_group2"),
        ),
        ("ansible-inventory/complex.ini", "ungrouped", None),
        (
            "connection_docker/test_connection.inventory",
            "docker_all",
            Some("~.*-pipelining"),
        ),
        ("inventory_yaml/test.yml", "kids", Some("marcia,alice,jan")),
        ("inventory_yaml/test.yml", "all", None),
    ];
    let mut failures = Vec::new();
    for (relative, pattern, limit) in cases {
        let inventory = root.join(relative).to_string_lossy().into_owned();
        let expected = ansible_list_hosts(&venv, &inventory, pattern, *limit);
        let project = Project::new();
        project.file(
            "plans/site.yml",
            &format!("name: probe\nhosts: \"{pattern}\"\nsteps:\n  - command: \"true\"\n"),
        );
        let mut args = vec!["apply", "--list-hosts", "-i", inventory.as_str()];
        if let Some(limit) = limit {
            args.extend(["--limit", limit]);
        }
        let run = project.run(&args);
        let label = format!("{relative} {pattern} --limit {limit:?}");
        if run.code != 0 {
            failures.push(format!("{label}: exit {}: {}", run.code, run.stderr));
            continue;
        }
        let mut ours: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
        let mut theirs = expected.clone();
        ours.sort();
        theirs.sort();
        if ours != theirs {
            failures.push(format!("{label}: wsdeploy {ours:?}, ansible {theirs:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn several_sources_merge_as_ansible_merges_them() {
    let venv = venv();
    let root = corpus_dir().join("ansible-inventories");
    let first = root.join("ansible-inventory/complex.ini");
    let second = root.join("delegate_to/inventory");
    let (first, second) = (first.to_string_lossy(), second.to_string_lossy());
    let list = "extra1,extra2:2222,";
    let args = ["-i", &*first, "-i", &*second, "-i", list, "--list"];
    let (ok, ansible_out, ansible_err) = ansible(&venv, "ansible-inventory", &args, None);
    assert!(ok, "{ansible_err}");
    let mut ours_args = vec!["inventory"];
    ours_args.extend(args);
    let (code, out, err) = wsdeploy(&venv, &ours_args, None);
    assert_eq!(code, 0, "{err}");
    let ours: Value = serde_json::from_str(&out).expect("JSON");
    let theirs: Value = serde_json::from_str(&ansible_out).expect("JSON");
    let diff = differences(&ours, &normalise(&theirs));
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

/// INI corner cases (CRLF, tabs, `host:port` with an inline `ansible_port`, `=` inside a
/// value, quotes, `#` inside quotes and after a literal, backslashes, Python number forms,
/// IPv6 with a port, ranges of addresses, a section seen twice, empty values) read the same
/// as by ansible-inventory.
#[test]
fn ini_corner_cases_match_ansible_inventory() {
    let venv = venv();
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("tricky.ini");
    std::fs::write(
        &path,
        "[web]\r\nh1:2222 ansible_port=22\r\nh2 x=a=b y=\"has # hash\" z=back\\\\slash w='it''s'\r\n\
         \th3\tv=1.5e3 n=-7 o=0o17 hx=0x1F u=1_000 f=.5\r\n[db]\r\n[::1]:2200 k=v\r\n192.0.2.[1:3]\r\n\
         [web]\r\nh4 path=/etc/x.conf list=\"[1, [2, 3]]\" t=(1,) s='' e=\r\n\
         [all:vars]\r\nq = \"quoted all\" # a comment after a literal\r\nr= None\r\nport = 8080 # http\r\n\
         host = ntp.example.com # stays text\r\n",
    )
    .expect("write");
    let path = path.to_string_lossy().into_owned();
    let (ok, ansible_out, ansible_err) =
        ansible(&venv, "ansible-inventory", &["-i", &path, "--list"], None);
    assert!(
        ok && !ansible_err.contains("Unable to parse"),
        "{ansible_err}"
    );
    let (code, out, err) = wsdeploy(&venv, &["inventory", "--list", "-i", &path], None);
    assert_eq!(code, 0, "{err}");
    let ours: Value = serde_json::from_str(&out).expect("JSON");
    let theirs: Value = serde_json::from_str(&ansible_out).expect("JSON");
    let diff = differences(&ours, &normalise(&theirs));
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    assert_eq!(
        ours["_meta"]["hostvars"]["h1"]["port"],
        serde_json::json!(8080)
    );
}
