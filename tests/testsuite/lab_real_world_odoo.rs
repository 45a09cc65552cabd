//! The real Odoo sites of `tests/corpus/real-world/nginx-odoo/` (provenance and expectations in its
//! SOURCES.md) on one lab host with the real Odoo 17 (`lab up --odoo real`), one after another: each case is
//! installed at its real paths as found (its own nginx.conf where it has one, its conf.d/sites files,
//! certificates from a CA made for this test at its `ssl_certificate` paths, `/etc/hosts` names for its
//! upstream hosts), Odoo's `workers` set as the case implies, nginx started on it; then the shipped plans
//! (`plans/site.yml`) are applied with the inventory an operator writes: `public_host` (the case's domain),
//! `public_scheme`, the file paths, `check_ca_file` (the private CA), and what this lab needs of every host
//! (`nginx_reload_cmd`: lab hosts have no systemd).
//!
//! Each case asserts: a real WebSocket handshake through nginx (`Host` and TLS SNI = the domain, trusting the
//! CA) is not 101 before and is 101 from Odoo after; the right server block holds exactly one `/websocket`
//! location; `nginx -T` holds exactly one `map $http_upgrade`; `nginx -t` passes; only the files the case
//! needs changed; a second apply is in sync (no file, no nginx reload, no Odoo restart) — or, where the case
//! is refused, the refusal says why and nothing changed. Between cases the host's `/etc/nginx` and odoo.conf
//! are restored from a snapshot taken at start.

use crate::support;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use support::lab::Lab;
use support::nginx_shape::{locations_by_server, proxy_passes};
use support::project::Run;

/// Host names the cases' upstreams use, all Odoo on this host.
const UPSTREAM_HOSTS: &str = "odoo odoo18 superset odoo_backend";
/// The test's CA on the host (its key stays there).
const CA_DIR: &str = "/root/real-world-ca";
/// The host's pristine `/etc/nginx` and odoo.conf.
const PRISTINE: &str = "/root/real-world-pristine.tar";
const ODOO_CONF: &str = "/etc/opticserp/odoo.conf";

/// One case of the corpus as installed on the host.
struct Case {
    /// Directory under `tests/corpus/real-world/nginx-odoo/`.
    dir: &'static str,
    /// (path in the case, absolute path on the host); a `/etc/nginx/nginx.conf` target replaces Debian's.
    files: &'static [(&'static str, &'static str)],
    /// What the operator names as `site_conf`.
    site_conf: &'static str,
    domain: &'static str,
    scheme: &'static str,
    /// `public_port` when users reach nginx on another port than the scheme's.
    port: Option<u16>,
    /// Odoo's `workers` (0: threaded).
    workers: u32,
}

impl Case {
    fn port(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }

    fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.domain),
            None => format!("{}://{}", self.scheme, self.domain),
        }
    }
}

/// The lab host, its operator project and the CA the checks trust.
struct Site {
    lab: Lab,
    project: tempfile::TempDir,
    ca: PathBuf,
}

fn corpus(dir: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/real-world/nginx-odoo")
        .join(dir);
    assert!(path.is_dir(), "missing real-world case {}", path.display());
    path
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `sha256 path` lines as a map, leaving out dated backups.
fn sums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .filter(|(_, path)| !path.contains(".backup-"))
        .map(|(sum, path)| (path.to_owned(), sum.to_owned()))
        .collect()
}

fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

impl Site {
    fn up() -> Self {
        let lab = Lab::up_real_odoo("rw-odoo", 1);
        lab.ok(
            1,
            &format!(
                "set -e; useradd --system --no-create-home --shell /usr/sbin/nologin nginx; \
                 echo '127.0.0.1 {UPSTREAM_HOSTS}' >> /etc/hosts; \
                 mkdir -p {CA_DIR}; cd {CA_DIR}; \
                 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                   -subj '/CN=wsdeploy real-world lab CA' -keyout ca.key -out ca.pem 2>/dev/null; \
                 tar -C / -cpf {PRISTINE} etc/nginx {}",
                &ODOO_CONF[1..]
            ),
        );
        let project = tempfile::tempdir().expect("temp dir");
        let plans = project.path().join("plans");
        std::fs::create_dir_all(&plans).expect("mkdir");
        for entry in
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans")).expect("plans")
        {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, plans.join(path.file_name().expect("name"))).expect("copy plan");
        }
        let ca = project.path().join("ca.pem");
        std::fs::write(&ca, lab.ok(1, &format!("cat {CA_DIR}/ca.pem"))).expect("write CA");
        Site { lab, project, ca }
    }

    fn ok(&self, script: &str) -> String {
        self.lab.ok(1, script)
    }

    /// The host as `lab up` left it (without its own site), Odoo with `workers` and restarted.
    fn restore(&self, workers: u32) {
        self.ok(&format!(
            "set -e; rm -rf /etc/nginx; tar -C / -xpf {PRISTINE}; rm -f /etc/nginx/sites-enabled/odoo.conf; \
             sed -i 's/^workers *=.*/workers = {workers}/' {ODOO_CONF}; grep -q '^workers = {workers}$' {ODOO_CONF}; \
             docker restart opticserp_odoo >/dev/null"
        ));
        self.lab
            .wait_for(1, "curl -sf --max-time 2 http://127.0.0.1:8069/web/health");
        if workers > 0 {
            self.lab.wait_for(
                1,
                "curl -s -o /dev/null --max-time 2 http://127.0.0.1:8072/",
            );
        }
    }

    /// Copies the case's files to their paths, with certificates for the domain at its `ssl_certificate`
    /// paths; starts nginx on it when `start`.
    fn install(&self, case: &Case, files: &[(&str, &str)], start: bool) {
        let dir = corpus(case.dir);
        let container = self.lab.container(1);
        let certificate = regex::Regex::new(
            r"(?m)^\s*ssl_certificate\s+(\S+?);(?s:.*?)^\s*ssl_certificate_key\s+(\S+?);",
        )
        .expect("regex");
        for (from, to) in files {
            let parent = Path::new(to)
                .parent()
                .expect("parent")
                .display()
                .to_string();
            self.ok(&format!("mkdir -p '{parent}'"));
            docker(&[
                "cp",
                &dir.join(from).display().to_string(),
                &format!("{container}:{to}"),
            ]);
            self.ok(&format!("chown root:root '{to}'; chmod 644 '{to}'"));
            let text = std::fs::read_to_string(dir.join(from)).expect("case file");
            for pair in certificate.captures_iter(&text) {
                self.certificate(case.domain, &pair[1], &pair[2]);
            }
        }
        if start {
            self.ok("nginx -s stop 2>/dev/null; for n in $(seq 1 50); do pgrep -x nginx >/dev/null || break; sleep 0.1; done; nginx -t 2>&1 && nginx 2>&1");
        }
    }

    /// A key at `key` and a certificate at `cert` for `domain`, signed by the test's CA.
    fn certificate(&self, domain: &str, cert: &str, key: &str) {
        self.ok(&format!(
            "set -e; mkdir -p \"$(dirname '{cert}')\" \"$(dirname '{key}')\"; cd {CA_DIR}; \
             printf '%s\\n' 'subjectAltName=DNS:{domain}' 'basicConstraints=critical,CA:FALSE' \
               'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' > ext; \
             openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN={domain}' \
               -keyout '{key}' -out site.csr 2>/dev/null; \
             openssl x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
               -out '{cert}' -extfile ext 2>/dev/null"
        ));
    }

    /// Makes `name` resolve in the Docker DNS the host's network has (127.0.0.11, as a Compose service name
    /// does) to an address the host sends to its own 127.0.0.1: a container of the lab's network (labelled
    /// with the lab, so `lab down` removes it) carries the alias, and the host rewrites its address.
    fn docker_dns_alias(&self, name: &str) {
        let container = self.lab.container(1);
        let image = docker(&["inspect", "-f", "{{.Config.Image}}", &container]);
        let alias = format!("{container}-dns-{name}");
        docker(&[
            "run",
            "-d",
            "--name",
            &alias,
            "--label",
            &format!("wsdeploy-lab={}", self.lab.name),
            "--network",
            &format!("wsdeploy-lab-{}", self.lab.name),
            "--network-alias",
            name,
            "--entrypoint",
            "sleep",
            &image,
            "infinity",
        ]);
        let ip = docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &alias,
        ]);
        self.ok(&format!(
            "set -e; sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.lo.route_localnet=1; \
             iptables -t nat -A OUTPUT -d {ip} -p tcp -j DNAT --to-destination 127.0.0.1"
        ));
    }

    /// The operator's inventory for `case` (`site_conf` as given), with `extra` variables.
    fn apply(&self, case: &Case, site_conf: &str, extra: &[&str]) -> Run {
        let mut vars = serde_json::Map::new();
        vars.insert("public_host".into(), json!(case.domain));
        vars.insert("public_scheme".into(), json!(case.scheme));
        vars.insert("site_conf".into(), json!(site_conf));
        vars.insert("nginx_conf".into(), json!("/etc/nginx/nginx.conf"));
        vars.insert("odoo_conf".into(), json!(ODOO_CONF));
        vars.insert("nginx_reload_cmd".into(), json!("nginx -s reload"));
        if let Some(port) = case.port {
            vars.insert("public_port".into(), json!(port));
        }
        if case.scheme == "https" {
            vars.insert("check_ca_file".into(), json!(self.ca.display().to_string()));
        }
        let key = self.lab.outdir.join("id_ed25519");
        let inventory = json!({"all": {"children": {
            "odoo": {
                "hosts": {"lab-1": {
                    "ansible_host": self.lab.ip(1),
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": key.display().to_string(),
                }},
                "vars": Value::Object(vars),
            },
            "fastapi": {},
            "frappe": {},
        }}});
        let path = self.project.path().join("hosts.yml");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&inventory).expect("json"),
        )
        .expect("inventory");
        let out = assert_cmd::Command::cargo_bin("wsdeploy")
            .expect("binary")
            .arg("-C")
            .arg(self.project.path())
            .arg("apply")
            .arg("-i")
            .arg(&path)
            .arg("--known-hosts")
            .arg(self.lab.known_hosts())
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .expect("wsdeploy runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A browser's WebSocket handshake to the case's domain through nginx on this host (SNI = the domain).
    fn handshake(&self, case: &Case) -> String {
        let port = case.port();
        self.lab.curl_handshake(
            1,
            &format!("{}/websocket?version=17.0-3", case.origin()),
            &format!(
                "--http1.1 --resolve {0}:{port}:127.0.0.1 --cacert {CA_DIR}/ca.pem -H 'Origin: {1}'",
                case.domain,
                case.origin()
            ),
        )
    }

    fn sums(&self) -> BTreeMap<String, String> {
        sums(&self.lab.tree_sums(1, &format!("/etc/nginx {ODOO_CONF}")))
    }

    /// What the apply of a converging case must leave: the handshake, one `/websocket` location where
    /// `expected` says (by server, first listen), one map, `nginx -t`, only `changes` changed, and a second
    /// apply in sync.
    fn converges(&self, case: &Case, expected: &[(&str, usize)], changes: &[&str]) {
        let before_handshake = self.handshake(case);
        assert!(
            !before_handshake.contains(" 101 "),
            "the handshake works before the apply:\n{before_handshake}"
        );
        let before = self.sums();
        let site_conf = case.site_conf;
        let first = self.apply(case, site_conf, &[]);
        first.code(0).stdout_has("1 changed");
        for line in first.stdout.lines().filter(|l| l.contains("warning")) {
            eprintln!("  {}: {line}", case.domain);
        }
        let after_handshake = self.handshake(case);
        assert!(
            after_handshake.starts_with("HTTP/1.1 101 "),
            "no 101 through nginx after the apply:\n{after_handshake}"
        );
        let text = self.ok(&format!("cat '{site_conf}'"));
        let expected: Vec<(String, usize)> = expected
            .iter()
            .map(|(l, n)| ((*l).to_owned(), *n))
            .collect();
        assert_eq!(locations_by_server(&text, "/websocket"), expected, "{text}");
        assert!(!text.contains("location = /websocket"), "{text}");
        let dump = self.ok("nginx -T 2>/dev/null");
        assert_eq!(
            dump.matches("map $http_upgrade $connection_upgrade")
                .count(),
            1,
            "{dump}"
        );
        self.ok("nginx -t 2>&1");
        let after = self.sums();
        let mut expected_changes: Vec<String> = changes.iter().map(|c| (*c).to_owned()).collect();
        expected_changes.push(ODOO_CONF.to_owned());
        expected_changes.sort();
        assert_eq!(changed(&before, &after), expected_changes);
        // A second apply: nothing to do, nothing reloaded or restarted.
        let pids = self.lab.nginx_pids(1);
        let started = self.lab.odoo_started_at(1);
        self.apply(case, site_conf, &[])
            .code(0)
            .stdout_has("1 in sync");
        assert_eq!(self.sums(), after, "a second apply changed files");
        assert_eq!(
            self.lab.nginx_pids(1),
            pids,
            "a second apply reloaded nginx"
        );
        assert_eq!(
            self.lab.odoo_started_at(1),
            started,
            "a second apply restarted Odoo"
        );
    }
}

/// `tests/corpus/.../simonbelete-docs-longpolling-noeol`: Odoo's documented config (80 only rewrites to https,
/// 443 proxies, `/longpolling` to odoochat/8072), no final newline.
fn simonbelete(site: &Site) {
    let case = Case {
        dir: "simonbelete-docs-longpolling-noeol",
        files: &[("nginx/odoo.conf", "/etc/nginx/sites-enabled/odoo.conf")],
        site_conf: "/etc/nginx/sites-enabled/odoo.conf",
        domain: "odoo.mycompany.com",
        scheme: "https",
        port: None,
        workers: 2,
    };
    site.restore(case.workers);
    site.install(&case, case.files, true);
    site.converges(
        &case,
        &[("80", 0), ("443 ssl", 1)],
        &[
            "/etc/nginx/nginx.conf",
            "/etc/nginx/sites-enabled/odoo.conf",
        ],
    );
    let text = site.ok("cat /etc/nginx/sites-enabled/odoo.conf");
    assert_eq!(locations_by_server(&text, "/longpolling")[1].1, 1);
    // The site's own `upstream odoochat` (127.0.0.1:8072) is named; no upstream is added.
    assert_eq!(proxy_passes(&text, "/websocket"), ["http://odoochat"]);
    assert!(!text.contains("backend_odoo_longpolling"), "{text}");
    assert!(text.ends_with("  }\n}"), "the final byte stays as it was");
}

/// `shopinvader-set-upstream-websocket-no-upgrade`: `location /websocket` exists, `proxy_pass $upstream` with
/// `set $upstream http://odoo:8072` and Docker's resolver, but no Upgrade headers; `listen 9080`.
fn shopinvader(site: &Site) {
    let case = Case {
        dir: "shopinvader-set-upstream-websocket-no-upgrade",
        files: &[("nginx/odoo.conf", "/etc/nginx/conf.d/odoo.conf")],
        site_conf: "/etc/nginx/conf.d/odoo.conf",
        domain: "odoo.localhost",
        scheme: "http",
        port: Some(9080),
        workers: 2,
    };
    site.restore(case.workers);
    // nginx resolves `odoo` at run time through Docker's DNS (`resolver 127.0.0.11`), as in Compose.
    site.docker_dns_alias("odoo");
    site.install(&case, case.files, true);
    site.converges(
        &case,
        &[("9080", 1)],
        &["/etc/nginx/conf.d/odoo.conf", "/etc/nginx/nginx.conf"],
    );
    let text = site.ok("cat /etc/nginx/conf.d/odoo.conf");
    assert!(text.contains(
        "        set $upstream           http://odoo:8072;\n        proxy_pass              $upstream;\n"
    ));
}

/// `insightpulse-upstreams-in-nginxconf-longpolling`: its own nginx.conf defines `upstream odoo_longpolling`;
/// conf.d holds odoo.conf (80 redirect + 443), api.conf (invalid on nginx: `add_header` in a server `if`) and
/// superset.conf.
fn insightpulse(site: &Site) {
    let case = Case {
        dir: "insightpulse-upstreams-in-nginxconf-longpolling",
        files: &[
            ("nginx/nginx.conf", "/etc/nginx/nginx.conf"),
            ("nginx/conf.d/odoo.conf", "/etc/nginx/conf.d/odoo.conf"),
            ("nginx/conf.d/api.conf", "/etc/nginx/conf.d/api.conf"),
            (
                "nginx/conf.d/superset.conf",
                "/etc/nginx/conf.d/superset.conf",
            ),
        ],
        site_conf: "/etc/nginx/conf.d/odoo.conf",
        domain: "insightpulseai.net",
        scheme: "https",
        port: None,
        workers: 2,
    };
    site.restore(case.workers);
    // As found, with api.conf: nginx rejects the config before any change.
    site.install(&case, case.files, false);
    let before = site.sums();
    site.apply(&case, case.site_conf, &[])
        .code(1)
        .stdout_has("fails before any change")
        .stdout_has("\"add_header\" directive is not allowed here");
    assert_eq!(site.sums(), before, "a refused apply changed files");
    // Without the broken api site.
    site.restore(case.workers);
    let files: Vec<(&str, &str)> = case
        .files
        .iter()
        .copied()
        .filter(|(from, _)| !from.ends_with("api.conf"))
        .collect();
    site.install(&case, &files, true);
    site.converges(
        &case,
        &[("80", 0), ("443 ssl http2", 1)],
        &["/etc/nginx/conf.d/odoo.conf", "/etc/nginx/nginx.conf"],
    );
    let nginx_conf = site.ok("cat /etc/nginx/nginx.conf");
    assert_eq!(nginx_conf.matches("upstream odoo_longpolling").count(), 1);
    // nginx reaches Odoo through nginx.conf's `upstream odoo_longpolling` (odoo:8072), as the site does.
    let text = site.ok("cat /etc/nginx/conf.d/odoo.conf");
    assert_eq!(
        proxy_passes(&text, "/websocket"),
        ["http://odoo_longpolling"]
    );
    assert!(!text.contains("backend_odoo_longpolling"), "{text}");
    assert!(!nginx_conf.contains("backend_odoo_longpolling"));
}

/// `chochelius-odoo18-longpolling-threaded`: only `/longpolling` (with the map in the site file); its
/// odoo.conf sets no workers, so Odoo is threaded and `/websocket` must go to the HTTP port.
fn chochelius(site: &Site) {
    let case = Case {
        dir: "chochelius-odoo18-longpolling-threaded",
        files: &[("nginx/odoo.conf", "/etc/nginx/sites-enabled/odoo.conf")],
        site_conf: "/etc/nginx/sites-enabled/odoo.conf",
        domain: "ww2.undergroundtkt.store",
        scheme: "https",
        port: None,
        workers: 0,
    };
    site.restore(case.workers);
    site.install(&case, case.files, true);
    site.converges(
        &case,
        &[("80", 0), ("443 ssl", 1)],
        &["/etc/nginx/sites-enabled/odoo.conf"],
    );
    // Threaded: the site's own `upstream odoo` (odoo18:8069) is named; no upstream is added.
    let text = site.ok("cat /etc/nginx/sites-enabled/odoo.conf");
    assert_eq!(proxy_passes(&text, "/websocket"), ["http://odoo"]);
    assert!(!text.contains("backend_odoo_longpolling"), "{text}");
}

/// `antiun-split-files-ssl-on`: the 80 redirect server and the 443 server (`ssl on`, which nginx warns about)
/// in two site files.
fn antiun(site: &Site) {
    let case = Case {
        dir: "antiun-split-files-ssl-on",
        files: &[
            ("files/nginx/odoo", "/etc/nginx/sites-enabled/odoo"),
            ("files/nginx/odoo-ssl", "/etc/nginx/sites-enabled/odoo-ssl"),
        ],
        site_conf: "/etc/nginx/sites-enabled/odoo-ssl",
        domain: "odoo.example.com",
        scheme: "https",
        port: None,
        workers: 2,
    };
    site.restore(case.workers);
    site.install(&case, case.files, true);
    // site_conf naming the redirect file: refused, naming the file nginx uses.
    let before = site.sums();
    site.apply(&case, "/etc/nginx/sites-enabled/odoo", &[])
        .code(1)
        .stdout_has("does not reach any server block of")
        .stdout_has("/etc/nginx/sites-enabled/odoo-ssl line 5");
    assert_eq!(site.sums(), before, "a refused apply changed files");
    site.converges(
        &case,
        &[("443", 1)],
        &["/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/odoo-ssl"],
    );
    let redirect = site.ok("cat /etc/nginx/sites-enabled/odoo");
    assert!(!redirect.contains("websocket"));
    // Prefork: the site's only upstream (`odoo`, localhost:8069) is not on the evented port; the plan's is added.
    let ssl = site.ok("cat /etc/nginx/sites-enabled/odoo-ssl");
    assert_eq!(
        proxy_passes(&ssl, "/websocket"),
        ["http://backend_odoo_longpolling"]
    );
}

/// Not from the corpus: the lab's own site reduced to one `listen 80 default_server; server_name _;` server,
/// users coming in by a domain.
fn catch_all_server(site: &Site) {
    let case = Case {
        dir: "simonbelete-docs-longpolling-noeol",
        files: &[],
        site_conf: "/etc/nginx/sites-available/odoo.conf",
        domain: "erp.example.com",
        scheme: "http",
        port: None,
        workers: 2,
    };
    site.restore(case.workers);
    site.ok(
        "set -e; f=/etc/nginx/sites-available/odoo.conf; \
         sed -i 's/^    listen 80;$/    listen 80 default_server;/; s/^    server_name .*;$/    server_name _;/' $f; \
         grep -q 'server_name _;' $f; ln -sfn $f /etc/nginx/sites-enabled/odoo.conf; nginx -s reload",
    );
    site.converges(
        &case,
        &[("80 default_server", 1)],
        &[
            "/etc/nginx/nginx.conf",
            "/etc/nginx/sites-available/odoo.conf",
        ],
    );
}

/// A case by name, run on the host.
type Scenario = (&'static str, fn(&Site));

#[test]
fn real_world_odoo_sites_converge_on_the_real_odoo_with_a_real_handshake() {
    let started = Instant::now();
    let site = Site::up();
    eprintln!(
        "real-world odoo: lab up and host prepared in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let cases: [Scenario; 6] = [
        ("simonbelete", simonbelete),
        ("shopinvader", shopinvader),
        ("insightpulse", insightpulse),
        ("chochelius", chochelius),
        ("antiun", antiun),
        ("catch-all server_name _", catch_all_server),
    ];
    let mut failed = Vec::new();
    for (name, case) in cases {
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| case(&site)));
        eprintln!(
            "real-world odoo case {name}: {} in {:.0} s",
            if result.is_ok() { "pass" } else { "FAIL" },
            started.elapsed().as_secs_f64()
        );
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "failed cases: {failed:?} (see above)");
}
