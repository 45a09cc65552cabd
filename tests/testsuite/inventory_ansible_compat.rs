//! wsdeploy reads Ansible's own inventories (examples and integration-test fixtures of
//! ansible-core, in `tests/corpus/ansible-inventories/`, provenance in its SOURCES.md) the
//! way Ansible does: `wsdeploy inventory --list` prints the same groups, hosts and merged
//! host variables as `ansible-inventory --list`, an inventory Ansible cannot parse is
//! refused, and `apply --list-hosts` targets the same hosts as `ansible PATTERN --list-hosts`.
//!
//! Ansible itself is the oracle: ansible-core 2.19 from PyPI in the venv that `tests/run-all`
//! creates (`WSDEPLOY_ANSIBLE_VENV`, default `/var/cache/wsdeploy-ci/ansible-venv`). Without
//! it these tests fail, saying how to install it.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

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
            ":1:1: section [windows:vars] is for group `windows`, which is not declared",
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
            "valid_sample.yml:9:9: variable `roundtrip_undecryptable`: it is vault-encrypted and no vault password was given",
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

/// `f` of every item, in order, four at a time: each ansible program spends a second or
/// more starting Python, mostly waiting on one core, so a test's oracle answers come
/// faster side by side than one after the other.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    *results[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .expect("every item has its result")
        })
        .collect()
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

#[cfg(feature = "host-tests")]
#[test]
fn list_matches_ansible_inventory_on_the_corpus() {
    let venv = venv();
    let root = corpus_dir().join("ansible-inventories");
    let mut failures = Vec::new();
    let mut compared = 0;
    let answers = in_parallel(CORPUS, |(relative, mode, _)| {
        let path_text = root.join(relative).to_string_lossy().into_owned();
        (
            ansible(
                &venv,
                "ansible-inventory",
                &["-i", &path_text, "--list"],
                *mode,
            ),
            wsdeploy(&venv, &["inventory", "--list", "-i", &path_text], *mode),
        )
    });
    for ((relative, mode, expect), ((_, ansible_out, ansible_err), (code, out, err))) in
        CORPUS.iter().zip(answers)
    {
        let label = format!(
            "{relative}{}",
            mode.map(|m| format!(" ({m})")).unwrap_or_default()
        );
        let ansible_parsed = !ansible_err.contains("Unable to parse")
            && !ansible_err.contains("Failed to parse inventory with 'script' plugin");
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

#[cfg(feature = "host-tests")]
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
    let answers = in_parallel(cases, |(relative, pattern, limit)| {
        let inventory = root.join(relative).to_string_lossy().into_owned();
        ansible_list_hosts(&venv, &inventory, pattern, *limit)
    });
    for ((relative, pattern, limit), expected) in cases.iter().zip(answers) {
        let inventory = root.join(relative).to_string_lossy().into_owned();
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

#[cfg(feature = "host-tests")]
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
#[cfg(feature = "host-tests")]
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

/// `(arguments after --list, with ROOT standing for tests/corpus/real-world/ansible-inventories,
/// expectation)`: real projects' inventories (provenance in that directory's SOURCES.md).
const REAL_WORLD: &[(&[&str], Expect)] = &[
    // group_vars/ at the playbook root, one directory per environment group.
    (
        &[
            "-i",
            "ROOT/trellis-hosts-dir-playbook-group_vars/hosts",
            "--playbook-dir",
            "ROOT/trellis-hosts-dir-playbook-group_vars",
        ],
        Expect::Same,
    ),
    (
        &[
            "-i",
            "ROOT/trellis-hosts-dir-playbook-group_vars/hosts/production",
            "--playbook-dir",
            "ROOT/trellis-hosts-dir-playbook-group_vars",
        ],
        Expect::Same,
    ),
    (
        &[
            "-i",
            "ROOT/trellis-hosts-dir-playbook-group_vars/hosts/development",
            "--playbook-dir",
            "ROOT/trellis-hosts-dir-playbook-group_vars",
        ],
        Expect::Same,
    ),
    (
        &[
            "-i",
            "ROOT/trellis-hosts-dir-playbook-group_vars/hosts/production",
        ],
        Expect::Same,
    ),
    // Every host commented out; group_vars/ a symlink to another inventory's.
    (
        &[
            "-i",
            "ROOT/kubespray-sample-all-commented-local-symlink/inventory/sample/inventory.ini",
        ],
        Expect::Same,
    ),
    (
        &[
            "-i",
            "ROOT/kubespray-sample-all-commented-local-symlink/inventory/local/hosts.ini",
        ],
        Expect::Same,
    ),
    // Ranges, quoted and unquoted Python dictionaries.
    (
        &[
            "-i",
            "ROOT/openshift-3.9-ranges-python-literals/inventory/hosts.example",
        ],
        Expect::Same,
    ),
    // Comments after section headers and after quoted values.
    (
        &[
            "-i",
            "ROOT/postgresql-cluster-inline-comments-quoted-vars/inventory",
        ],
        Expect::Same,
    ),
    // A placeholder host name in YAML, with a host_vars/ directory for another name.
    (
        &[
            "-i",
            "ROOT/matrix-docker-placeholder-unbalanced-quote/inventory/host.yml",
        ],
        Expect::Same,
    ),
    // A placeholder value with an unbalanced quote: Ansible says "No closing quotation".
    (
        &[
            "-i",
            "ROOT/matrix-docker-placeholder-unbalanced-quote/inventory/hosts",
        ],
        Expect::Refused("inventory/hosts:18:45: cannot read the host line"),
    ),
];

fn real_world_root() -> PathBuf {
    corpus_dir().join("real-world/ansible-inventories")
}

/// The `--list` of `args` from ansible-inventory and from wsdeploy (run in an empty project,
/// so no `plans/` of this repository applies).
fn both_lists(venv: &Path, args: &[String]) -> ((bool, String, String), (i32, String, String)) {
    let mut ansible_args: Vec<&str> = args.iter().map(String::as_str).collect();
    ansible_args.push("--list");
    let theirs = ansible(venv, "ansible-inventory", &ansible_args, None);
    let project = tempfile::tempdir().expect("temp project");
    let project_text = project.path().to_string_lossy().into_owned();
    let mut ours_args = vec!["-C", project_text.as_str(), "inventory"];
    ours_args.extend(ansible_args);
    let ours = wsdeploy(venv, &ours_args, None);
    (theirs, ours)
}

#[cfg(feature = "host-tests")]
#[test]
fn real_world_inventories_match_ansible_inventory() {
    let venv = venv();
    let root = real_world_root().to_string_lossy().into_owned();
    let sources = std::fs::read_to_string(real_world_root().join("SOURCES.md")).expect("SOURCES");
    let mut failures = Vec::new();
    let answers = in_parallel(REAL_WORLD, |(args, _)| {
        let args: Vec<String> = args.iter().map(|arg| arg.replace("ROOT", &root)).collect();
        both_lists(&venv, &args)
    });
    for ((args, expect), answer) in REAL_WORLD.iter().zip(answers) {
        let args: Vec<String> = args.iter().map(|arg| arg.replace("ROOT", &root)).collect();
        let label = args.join(" ").replace(&root, "…");
        let case = args[1]
            .trim_start_matches(&root)
            .split('/')
            .nth(1)
            .unwrap_or("");
        assert!(sources.contains(case), "SOURCES.md does not record {case}");
        let ((_, ansible_out, ansible_err), (code, out, err)) = answer;
        let ansible_parsed = !ansible_err.contains("Unable to parse");
        match expect {
            Expect::Same => {
                if !ansible_parsed || code != 0 {
                    failures.push(format!(
                        "{label}: ansible {ansible_err}\nwsdeploy exit {code}: {err}"
                    ));
                    continue;
                }
                let ours: Value = serde_json::from_str(&out).expect("wsdeploy prints JSON");
                let theirs: Value = serde_json::from_str(&ansible_out).expect("ansible JSON");
                let diff = differences(&ours, &normalise(&theirs));
                if !diff.is_empty() {
                    failures.push(format!("{label}:\n  {}", diff.join("\n  ")));
                }
            }
            Expect::Refused(message) => {
                if ansible_parsed {
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
}

/// What the trellis row of SOURCES.md says: with the playbook directory, `-i hosts` (all
/// three environments) gives the staging values (same-depth groups merge by name), one
/// environment's file its own; without it, the host has no variables at all.
#[cfg(feature = "host-tests")]
#[test]
fn playbook_group_vars_follow_ansible_precedence_on_trellis() {
    let venv = venv();
    let case = real_world_root().join("trellis-hosts-dir-playbook-group_vars");
    let case_text = case.to_string_lossy().into_owned();
    let host = "your_server_hostname";
    let vars_of = |inventory: &str, playbook_dir: bool| {
        let mut args = vec!["-i".to_owned(), format!("{case_text}/{inventory}")];
        if playbook_dir {
            args.extend(["--playbook-dir".to_owned(), case_text.clone()]);
        }
        let (_, (code, out, err)) = both_lists(&venv, &args);
        assert_eq!(code, 0, "{err}");
        let list: Value = serde_json::from_str(&out).expect("JSON");
        assert!(out.contains(host), "{out}");
        // A host without variables has no `hostvars` entry, as with ansible-inventory.
        list["_meta"]["hostvars"]
            .get(host)
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}))
    };
    let all = vars_of("hosts", true);
    assert_eq!(all["vault_mysql_root_password"], "stagingpw");
    assert_eq!(all.as_object().map(Map::len), Some(59));
    let production = vars_of("hosts/production", true);
    assert_eq!(production["vault_mysql_root_password"], "productionpw");
    assert!(
        production["wordpress_sites"]
            .as_object()
            .is_some_and(|sites| sites.contains_key("example.com"))
    );
    assert_eq!(vars_of("hosts/production", false), serde_json::json!({}));
}

/// Every place a variable can come from, set to a different value per place, read with
/// ansible-inventory and wsdeploy: inventory file < inventory group_vars < playbook
/// group_vars (`all` first, then parents before children, inventory's before playbook's for
/// every group), then the host: inventory file < inventory host_vars < playbook host_vars.
#[cfg(feature = "host-tests")]
#[test]
fn playbook_vars_precedence_matches_ansible_inventory() {
    let venv = venv();
    let dir = tempfile::tempdir().expect("temp");
    let write = |relative: &str, text: &str| {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "inventory/hosts.ini",
        "[parent:children]\nchild\n[child]\nweb1 in_host=inventory_host\nweb2\n\
         [parent:vars]\nin_parent=inventory_file\n[all:vars]\nin_all=inventory_file\n",
    );
    let keys = [
        "in_all",
        "in_parent",
        "in_child",
        "in_host",
        "parent_vs_child",
        "all_vs_child",
    ];
    let vars = |origin: &str| {
        keys.iter()
            .map(|key| format!("{key}: {origin}\n"))
            .collect::<String>()
    };
    write(
        "inventory/group_vars/all.yml",
        &vars("inventory_group_vars_all"),
    );
    write(
        "inventory/group_vars/child.yml",
        "in_child: inventory_group_vars_child\nparent_vs_child: inventory_child\nall_vs_child: inventory_child\n",
    );
    write(
        "inventory/host_vars/web1.yml",
        "in_host: inventory_host_vars\n",
    );
    write(
        "playbooks/group_vars/all/main.yml",
        "in_all: playbook_group_vars_all\nall_vs_child: playbook_all\n",
    );
    write(
        "playbooks/group_vars/parent.yml",
        "in_parent: playbook_group_vars_parent\nparent_vs_child: playbook_parent\n",
    );
    write(
        "playbooks/group_vars/child.yml",
        "in_child: playbook_group_vars_child\n",
    );
    write("playbooks/group_vars/staging.yml", "unused: true\n");
    write(
        "playbooks/host_vars/web1.yml",
        "in_host: playbook_host_vars\n",
    );
    let root = dir.path().to_string_lossy().into_owned();
    let args = [
        "-i".to_owned(),
        format!("{root}/inventory/hosts.ini"),
        "--playbook-dir".to_owned(),
        format!("{root}/playbooks"),
    ];
    let ((ok, ansible_out, ansible_err), (code, out, err)) = both_lists(&venv, &args);
    assert!(ok, "{ansible_err}");
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("staging"),
        "unused playbook group_vars are not reported: {err}"
    );
    let ours: Value = serde_json::from_str(&out).expect("JSON");
    let theirs: Value = serde_json::from_str(&ansible_out).expect("JSON");
    let diff = differences(&ours, &normalise(&theirs));
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    let web1 = &ours["_meta"]["hostvars"]["web1"];
    assert_eq!(web1["in_host"], "playbook_host_vars");
    assert_eq!(web1["in_parent"], "playbook_group_vars_parent");
    // Ansible's order: the playbook's group_vars of a parent come after the inventory's
    // group_vars of its child.
    assert_eq!(web1["parent_vs_child"], "playbook_parent");
    assert_eq!(web1["all_vs_child"], "inventory_child");
}

/// Without `--playbook-dir`, a plan's directory is the playbook directory (`validate -i`
/// sees `plans/group_vars/` and `plans/host_vars/`), and `inventory` (no plan) reads the
/// project's `plans/` as `apply` does with the default plan; `--playbook-dir` replaces it.
#[test]
fn plan_directory_group_vars_apply_to_commands() {
    let project = Project::new();
    project
        .file(
            "inventories/prod/hosts.yml",
            "all:\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_connection: local\n",
        )
        .file("inventories/prod/group_vars/web.yml", "site_name: from_inventory\nport: 80\n")
        .file("plans/group_vars/web.yml", "site_name: from_plans\n")
        .file("plans/group_vars/web.yaml", "site_name: shadowed\n")
        .file("plans/group_vars/staging.yml", "site_name: other_environment\n")
        .file("plans/host_vars/web1.yml", "listen: 8080\n")
        .file(
            "plans/site.yml",
            "name: probe\nhosts: web\nsteps:\n  - command: \"echo {{ site_name }} {{ listen }} {{ port }}\"\n",
        );
    let shown = project.run(&["inventory", "-i", "prod", "--host", "web1"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let vars: Value = serde_json::from_str(&shown.stdout).expect("JSON");
    assert_eq!(vars["site_name"], "from_plans");
    assert_eq!(vars["listen"], 8080);
    assert_eq!(vars["port"], 80);
    assert!(
        shown.stderr.contains("web.yaml is ignored") && !shown.stderr.contains("staging"),
        "a shadowed file is reported, another environment's group is not: {}",
        shown.stderr
    );
    let elsewhere = project.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let elsewhere_text = elsewhere.to_string_lossy().into_owned();
    let explicit = project.run(&[
        "inventory",
        "-i",
        "prod",
        "--host",
        "web1",
        "--playbook-dir",
        &elsewhere_text,
    ]);
    let vars: Value = serde_json::from_str(&explicit.stdout).expect("JSON");
    assert_eq!(vars["site_name"], "from_inventory", "{}", explicit.stderr);
    let validated = project.run(&["validate", "-i", "prod", "plans/site.yml"]);
    assert_eq!(
        validated.code, 0,
        "{}{}",
        validated.stdout, validated.stderr
    );
}
