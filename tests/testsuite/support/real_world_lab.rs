//! A real-world case (`tests/corpus/real-world/...`) installed on a lab host as found, and
//! the shipped plans applied to it with an inventory an operator writes: exact bytes at the
//! case's paths, certificates from a CA the test makes (trusted on the host like a public
//! one), `/etc/hosts` names for the case's upstreams, a snapshot to put the host back
//! between cases, and the sums that show which files a run touched.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use super::lab::Lab;
use super::project::Run;

/// Where the test's CA lives on the host (system store: curl, and node with
/// NODE_EXTRA_CA_CERTS, trust it as they trust a public CA).
pub const HOST_CA: &str = "/usr/local/share/ca-certificates/wsdeploy-real-world-ca.crt";

/// Where a snapshot of the host's state is kept.
const SNAPSHOT: &str = "/root/real-world-snapshot";

/// The bytes of `path` in the case directory `case` (e.g. `nginx-frappe/ferum-...`).
pub fn case_file(case: &str, path: &str) -> Vec<u8> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/real-world")
        .join(case)
        .join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Writes `bytes` to `path` on host `i`, exactly (parents made).
pub fn put(lab: &Lab, i: usize, path: &str, bytes: &[u8]) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    lab.ok(
        i,
        &format!(
            "mkdir -p \"$(dirname '{path}')\" && printf '%s' '{encoded}' | base64 -d > '{path}'"
        ),
    );
}

/// Makes a CA on host `i`, trusted by its system store (`update-ca-certificates`); returns
/// its certificate (PEM) in a local file for `check_ca_file`.
pub fn make_trusted_ca(lab: &Lab, i: usize) -> tempfile::NamedTempFile {
    lab.ok(
        i,
        &format!(
            "mkdir -p /root/real-world-ca && cd /root/real-world-ca && \
             openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=wsdeploy real-world test CA' \
             -keyout ca.key -out ca.pem 2>/dev/null && cp ca.pem {HOST_CA} && update-ca-certificates >/dev/null 2>&1"
        ),
    );
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), lab.ok(i, "cat /root/real-world-ca/ca.pem")).expect("write CA");
    file
}

/// A certificate for `name` signed by the test's CA at `cert`, its key at `key`.
pub fn certificate(lab: &Lab, i: usize, name: &str, cert: &str, key: &str) {
    lab.ok(
        i,
        &format!(
            "cd /root/real-world-ca && mkdir -p \"$(dirname '{cert}')\" \"$(dirname '{key}')\" && \
             printf 'subjectAltName=DNS:{name}\\n' > san.ext && \
             openssl req -newkey rsa:2048 -nodes -subj '/CN={name}' -keyout '{key}' -out site.csr 2>/dev/null && \
             openssl x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
             -extfile san.ext -out '{cert}' 2>/dev/null"
        ),
    );
}

/// Appends `127.0.0.1 NAME` (or the given address) to the host's `/etc/hosts`.
pub fn add_hosts(lab: &Lab, i: usize, names: &[(&str, &str)]) {
    let lines: String = names
        .iter()
        .map(|(address, name)| format!("{address} {name}\\n"))
        .collect();
    lab.ok(i, &format!("printf '{lines}' >> /etc/hosts"));
}

/// Copies `paths` (directories or files) to the snapshot, keeping modes and owners.
pub fn snapshot(lab: &Lab, i: usize, paths: &[&str]) {
    let copies: Vec<String> = paths
        .iter()
        .map(|p| format!("mkdir -p {SNAPSHOT}$(dirname {p}) && cp -a {p} {SNAPSHOT}{p}"))
        .collect();
    lab.ok(i, &format!("rm -rf {SNAPSHOT} && {}", copies.join(" && ")));
}

/// Puts `paths` back as the snapshot has them (what a case added to a directory goes; a
/// file, e.g. Docker's bind-mounted `/etc/hosts`, is rewritten in place).
pub fn restore(lab: &Lab, i: usize, paths: &[&str]) {
    let copies: Vec<String> = paths
        .iter()
        .map(|p| {
            format!(
                "if test -d {SNAPSHOT}{p}; then rm -rf {p} && cp -a {SNAPSHOT}{p} $(dirname {p})/; \
                 else cp {SNAPSHOT}{p} {p}; fi"
            )
        })
        .collect();
    lab.ok(i, &copies.join(" && "));
}

/// sha256 of every regular file under `dirs` (path -> sum).
pub fn sums(lab: &Lab, i: usize, dirs: &str) -> BTreeMap<String, String> {
    lab.tree_sums(i, dirs)
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(sum, path)| (path.to_owned(), sum.to_owned()))
        .collect()
}

/// The files that differ between two [`sums`], leaving out the run's dated backups.
pub fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let paths: std::collections::BTreeSet<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|p| !p.contains(".backup-") && before.get(*p) != after.get(*p))
        .collect();
    paths.into_iter().cloned().collect()
}

/// An inventory with host `i` of `lab` in `group` (the lab's address, key and
/// known_hosts), `vars` as the group's variables, and the other groups of plans/site.yml
/// empty.
pub fn inventory(lab: &Lab, i: usize, group: &str, vars: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = lab.outdir.display().to_string();
    let host = json!({
        "ansible_host": lab.ip(i),
        "ansible_user": "root",
        "ansible_ssh_private_key_file": format!("{out}/id_ed25519"),
    });
    let mut vars = vars.clone();
    vars["ansible_ssh_common_args"] = json!(format!("-o UserKnownHostsFile={out}/known_hosts"));
    let mut children = serde_json::Map::new();
    for name in ["odoo", "fastapi", "frappe"] {
        children.insert(name.to_owned(), json!({}));
    }
    children.insert(
        group.to_owned(),
        json!({"hosts": {format!("lab-{i}"): host}, "vars": vars}),
    );
    let inventory = json!({"all": {"children": Value::Object(children)}});
    std::fs::write(
        dir.path().join("hosts.yml"),
        serde_json::to_string_pretty(&inventory).expect("json"),
    )
    .expect("write inventory");
    dir
}

/// `wsdeploy SUBCOMMAND` of the repository's default plan (plans/site.yml) with `inventory`.
pub fn wsdeploy(lab: &Lab, inventory: &Path, subcommand: &str, extra: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary");
    cmd.arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(subcommand)
        .arg("-i")
        .arg(inventory.join("hosts.yml"))
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args(extra)
        .env("NO_COLOR", "1");
    let out = cmd.output().expect("wsdeploy runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `ssl_certificate`/`ssl_certificate_key` pairs of `text`, in order.
pub fn certificate_paths(text: &str) -> Vec<(String, String)> {
    let re = regex::Regex::new(
        r"(?m)^\s*ssl_certificate\s+(\S+?);\s*\n\s*ssl_certificate_key\s+(\S+?);",
    )
    .expect("regex");
    re.captures_iter(text)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

/// nginx's master pid and its current workers' pids (a worker of an earlier reload that is
/// still shutting down, kept by an open connection, is left out: it goes on its own and
/// would read as a reload).
pub fn nginx_pids(lab: &Lab, i: usize) -> String {
    lab.ok(
        i,
        "m=$(cat /run/nginx.pid) && echo \"$m\" && ps -o pid=,args= --ppid \"$m\" | grep -v 'shutting down' \
         | awk '{print $1}' | sort",
    )
}

/// Seconds since `started`, for the report of a lab test.
pub fn report_time(what: &str, started: std::time::Instant) {
    eprintln!("lab time: {what}: {:.1} s", started.elapsed().as_secs_f64());
}
