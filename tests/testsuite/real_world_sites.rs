//! Real nginx sites written by other people (`tests/corpus/real-world/nginx-{odoo,frappe,fastapi}`, provenance
//! and expectations in each SOURCES.md), installed on this machine as found and driven by the shipped plans'
//! nginx steps over `ansible_connection: local`, with an inventory an operator writes: `public_host` (the site's
//! domain), `public_scheme`, the file paths, and only documented variables.
//!
//! Each case is installed under a temporary root: its absolute paths (`/etc/...`, `/var/...`, `/home/...`) are
//! moved under that root, self-signed certificates are made at its `ssl_certificate` paths, log directories are
//! created. `nginx -t`/`nginx -T` run in a private mount namespace (`unshare -m`) where `/etc/hosts` names the
//! case's upstream hosts (`odoo`, `sam`, `fastapi`…) and `/etc/passwd` has the `nginx` user some cases name, so
//! nothing of this machine changes. The plan is the shipped one with its non-nginx steps and checks removed
//! (there is no Odoo, bench or uvicorn here): its map, upstream and location steps as shipped, then `nginx -t`.
//!
//! Each test asserts the case's expectation: the right server block holds exactly one location for the path,
//! there is exactly one `map $http_upgrade`, `nginx -t` passes, a second apply is in sync (byte-identical) — or,
//! where the case is invalid before any change, a refusal that says so and changes nothing.
//!
//! Needs: nginx (`/usr/sbin/nginx`), openssl, unshare and mount (root).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use support::nginx_shape::{locations_by_server, maps, proxy_passes};
use support::project::{Project, Run};
use support::reliability::tree_sums;

/// Host names the cases' upstreams use.
const UPSTREAM_HOSTS: &[&str] = &[
    "odoo",
    "odoo18",
    "superset",
    "odoo_backend",
    "sam",
    "fastapi",
];

/// How nginx.conf is made.
enum Main {
    /// Debian's stock nginx.conf including `<root>/etc/nginx/conf.d/*.conf` and `<root>/etc/nginx/sites-enabled/*`.
    Stock,
    /// The stock one with `log_format main` (the operator's nginx.conf that the case's `access_log … main` needs).
    StockWithMainLogFormat,
    /// The case's own nginx.conf (its path in the case directory).
    Own(&'static str),
}

/// A case installed under a temporary root, with its project.
struct Site {
    project: Project,
    root: PathBuf,
    vars: serde_json::Map<String, Value>,
    group: &'static str,
    /// The plan's preflight checks kept (those that need nothing but files and nginx).
    preflight: Vec<&'static str>,
}

fn case_dir(case: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/real-world")
        .join(case);
    assert!(dir.is_dir(), "missing real-world case {}", dir.display());
    dir
}

/// Moves the case's absolute paths under `root`.
fn under_root(text: &str, root: &Path) -> String {
    let re = regex::Regex::new(r#"(^|[\s"'])(/(?:etc|var|home)/)"#).expect("regex");
    re.replace_all(text, |c: &regex::Captures<'_>| {
        format!("{}{}{}", &c[1], root.display(), &c[2])
    })
    .into_owned()
}

fn sh(script: &str) {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Site {
    /// Installs `files` (`(path in the case, path under the root)`) of `case` with nginx.conf made as `main`, for
    /// the plan `plan` (`plans/<plan>.yml`, inventory group `group`).
    fn install(case: &str, files: &[(&str, &str)], main: Main, group: &'static str) -> Site {
        // The run lock, journal and dump cache of this machine are the test's own.
        let project = Project::with_own_state();
        let root = project.path().join("root");
        let dir = case_dir(case);
        for sub in [
            "etc/nginx/conf.d",
            "etc/nginx/sites-enabled",
            "var/run",
            "sandbox",
        ] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        let mut installed = Vec::new();
        for (from, to) in files {
            let bytes = std::fs::read(dir.join(from)).expect("read case file");
            let text = String::from_utf8(bytes).expect("UTF-8 case file");
            let target = root.join(to);
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::write(&target, under_root(&text, &root)).expect("write");
            installed.push(target);
        }
        let nginx_conf = root.join("etc/nginx/nginx.conf");
        let stock = || {
            let text = std::fs::read_to_string(
                support::project::corpus_dir().join("nginx/debian-bookworm-nginx.conf"),
            )
            .expect("stock nginx.conf");
            under_root(&text, &root)
                .replace(
                    &format!("include {}/etc/nginx/modules-enabled", root.display()),
                    "include /etc/nginx/modules-enabled",
                )
                .replace(
                    &format!("include {}/etc/nginx/mime.types", root.display()),
                    "include /etc/nginx/mime.types",
                )
        };
        let text = match main {
            Main::Stock => stock(),
            Main::StockWithMainLogFormat => stock().replace(
                "\taccess_log ",
                "\tlog_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status';\n\taccess_log ",
            ),
            Main::Own(path) => {
                let own = std::fs::read_to_string(dir.join(path)).expect("case nginx.conf");
                std::fs::copy("/etc/nginx/mime.types", root.join("etc/nginx/mime.types"))
                    .expect("copy mime.types");
                under_root(&own, &root)
            }
        };
        std::fs::write(&nginx_conf, text).expect("write nginx.conf");
        installed.push(nginx_conf.clone());
        make_certificates_and_log_dirs(&installed, &root);
        let sandbox = root.join("sandbox");
        let hosts: String = UPSTREAM_HOSTS
            .iter()
            .map(|name| format!("127.0.0.1 {name}\n"))
            .collect();
        std::fs::write(
            sandbox.join("hosts"),
            format!("127.0.0.1 localhost\n{hosts}"),
        )
        .expect("hosts");
        let passwd = std::fs::read_to_string("/etc/passwd").expect("passwd");
        std::fs::write(
            sandbox.join("passwd"),
            format!("{passwd}nginx:x:65533:65533::/nonexistent:/usr/sbin/nologin\n"),
        )
        .expect("passwd");
        let group_file = std::fs::read_to_string("/etc/group").expect("group");
        std::fs::write(
            sandbox.join("group"),
            format!("{group_file}nginx:x:65533:\n"),
        )
        .expect("group");
        std::fs::write(
            sandbox.join("nginx.sh"),
            "exec unshare -m sh -c 'mount --bind \"$0/hosts\" /etc/hosts && mount --bind \"$0/passwd\" /etc/passwd \
             && mount --bind \"$0/group\" /etc/group && exec nginx \"$@\"' \"$(dirname \"$0\")\" \"$@\"\n",
        )
        .expect("nginx.sh");
        let nginx = format!("sh {}", sandbox.join("nginx.sh").display());
        let mut vars = serde_json::Map::new();
        vars.insert("nginx_conf".into(), json!(nginx_conf.display().to_string()));
        vars.insert(
            "nginx_test_cmd".into(),
            json!(format!("{nginx} -t -c {}", nginx_conf.display())),
        );
        vars.insert(
            "nginx_dump_cmd".into(),
            json!(format!("{nginx} -T -c {}", nginx_conf.display())),
        );
        Site {
            project,
            root,
            vars,
            group,
            preflight: vec!["nginx_valid_before"],
        }
    }

    fn path(&self, under: &str) -> PathBuf {
        self.root.join(under)
    }

    fn var(&mut self, name: &str, value: Value) -> &mut Self {
        self.vars.insert(name.to_owned(), value);
        self
    }

    /// Writes the inventory and `plans/site.yml`: the shipped `plan` with only its nginx steps, `nginx -t` and
    /// the preflight checks named in `preflight` (`nginx -t`, and what needs only files).
    fn write(&self, plan: &str) {
        let inventory = json!({"all": {"children": {self.group: {
            "hosts": {"site-1": {"ansible_connection": "local"}},
            "vars": Value::Object(self.vars.clone()),
        }}}});
        self.project.file(
            "inventories/production/hosts.yml",
            &serde_json::to_string_pretty(&inventory).expect("json"),
        );
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("plans/{plan}.yml")),
        )
        .expect("shipped plan");
        let mut plan: Value = serde_saphyr::from_str(&text).expect("plan YAML");
        let steps: Vec<Value> = plan["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter(|s| s.get("nginx").is_some() || s["id"] == "nginx_test")
            .cloned()
            .collect();
        assert!(steps.len() >= 3, "{plan:?}: nginx steps expected");
        plan["steps"] = Value::Array(steps);
        let preflight: Vec<Value> = plan["preflight"]
            .as_array()
            .expect("preflight")
            .iter()
            .filter(|s| self.preflight.iter().any(|id| s["id"] == *id))
            .cloned()
            .collect();
        assert_eq!(
            preflight.len(),
            self.preflight.len(),
            "the plan's preflight {:?}",
            self.preflight
        );
        plan["preflight"] = Value::Array(preflight);
        self.project.file(
            "plans/site.yml",
            &serde_json::to_string_pretty(&plan).expect("json"),
        );
    }

    fn apply(&self, plan: &str) -> Run {
        self.write(plan);
        self.project.run(&["apply", "-i", "production"])
    }

    fn read(&self, under: &str) -> String {
        std::fs::read_to_string(self.path(under)).expect("read")
    }

    /// `nginx -t` on the tree as it is now.
    fn nginx_t(&self) {
        let nginx_conf = self.path("etc/nginx/nginx.conf");
        sh(&format!(
            "sh {} -t -c {} 2>&1",
            self.path("sandbox/nginx.sh").display(),
            nginx_conf.display()
        ));
    }

    /// Everything under the root but the sandbox.
    fn sums(&self) -> std::collections::BTreeMap<String, String> {
        tree_sums(&self.root)
            .into_iter()
            .filter(|(path, _)| !path.contains("/sandbox/") && !path.ends_with(".log"))
            .collect()
    }
}

fn make_certificates_and_log_dirs(files: &[PathBuf], root: &Path) {
    let cert =
        regex::Regex::new(r"(?m)^\s*(ssl_certificate(?:_key)?|ssl_trusted_certificate)\s+(\S+?);")
            .expect("regex");
    let log = regex::Regex::new(r"(?m)^\s*(?:access_log|error_log)\s+(/\S+?)[\s;]").expect("regex");
    let made = root.join("sandbox/self-signed");
    sh(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=real-world.test -keyout {0}.key -out {0}.crt \
         2>/dev/null",
        made.display()
    ));
    for file in files {
        let text = std::fs::read_to_string(file).expect("read");
        for c in cert.captures_iter(&text) {
            let target = PathBuf::from(&c[2]);
            assert!(
                target.starts_with(root),
                "{} is outside the root",
                target.display()
            );
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            let source = if &c[1] == "ssl_certificate_key" {
                "key"
            } else {
                "crt"
            };
            std::fs::copy(made.with_extension(source), &target).expect("copy certificate");
        }
        for c in log.captures_iter(&text) {
            let target = PathBuf::from(&c[1]);
            if target.starts_with(root) {
                std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            }
        }
    }
}

fn assert_in_sync(site: &Site, plan: &str) {
    let before = site.sums();
    site.apply(plan).code(0).stdout_has("1 in sync");
    assert_eq!(site.sums(), before, "a second apply changed files");
}

// ---------------------------------------------------------------------------------------------------------------
// Odoo

fn odoo_site(case: &str, files: &[(&str, &str)], main: Main, site_conf: &str, host: &str) -> Site {
    let mut site = Site::install(case, files, main, "odoo");
    let site_conf = site.path(site_conf).display().to_string();
    site.var("site_conf", json!(site_conf))
        .var("public_host", json!(host))
        .var("odoo_conf", json!("/nonexistent/odoo.conf"));
    site
}

#[test]
fn odoo_docs_config_gets_websocket_in_the_tls_server_not_the_redirect() {
    let mut site = odoo_site(
        "nginx-odoo/simonbelete-docs-longpolling-noeol",
        &[("nginx/odoo.conf", "etc/nginx/sites-enabled/odoo.conf")],
        Main::Stock,
        "etc/nginx/sites-enabled/odoo.conf",
        "odoo.mycompany.com",
    );
    // Odoo's documented prefork setup: /websocket goes to the evented port, which the site's own
    // `upstream odoochat` (127.0.0.1:8072, used by its /longpolling) already reaches.
    site.var("public_scheme", json!("https"))
        .var("odoo_workers", json!(2));
    site.apply("odoo-websocket").code(0).stdout_has("1 changed");
    let text = site.read("etc/nginx/sites-enabled/odoo.conf");
    assert_eq!(
        locations_by_server(&text, "/websocket"),
        [("80".to_owned(), 0), ("443 ssl".to_owned(), 1)]
    );
    assert_eq!(proxy_passes(&text, "/websocket"), ["http://odoochat"]);
    assert!(!text.contains("backend_odoo_longpolling"), "{text}");
    assert_eq!(text.matches("upstream ").count(), 2, "{text}");
    assert_eq!(locations_by_server(&text, "/longpolling")[1].1, 1);
    assert!(!text.ends_with('\n'), "the final byte stays as it was");
    assert!(text.ends_with("  }\n}"), "{text}");
    assert_eq!(maps(&[text, site.read("etc/nginx/nginx.conf")]), 1);
    site.nginx_t();
    assert_in_sync(&site, "odoo-websocket");
}

#[test]
fn odoo_existing_websocket_location_with_a_variable_upstream_is_patched_in_place() {
    let mut site = odoo_site(
        "nginx-odoo/shopinvader-set-upstream-websocket-no-upgrade",
        &[("nginx/odoo.conf", "etc/nginx/conf.d/odoo.conf")],
        Main::Stock,
        "etc/nginx/conf.d/odoo.conf",
        "odoo.localhost",
    );
    site.var("public_port", json!(9080));
    let before = site.read("etc/nginx/conf.d/odoo.conf");
    site.apply("odoo-websocket").code(0).stdout_has("1 changed");
    let text = site.read("etc/nginx/conf.d/odoo.conf");
    assert_eq!(
        locations_by_server(&text, "/websocket"),
        [("9080".to_owned(), 1)]
    );
    // Only what the handshake needs and the plan's missing X-Forwarded-Proto were added (to /websocket, and
    // X-Forwarded-Proto to location /), where the plan has them; the rest of the blocks is the operator's.
    let added: Vec<&str> = text
        .lines()
        .filter(|line| !before.lines().any(|old| old == *line))
        .collect();
    let location_added: Vec<&str> = added
        .iter()
        .copied()
        .filter(|l| l.starts_with("        "))
        .collect();
    assert_eq!(
        location_added,
        [
            "        proxy_http_version 1.1;",
            "        proxy_set_header Upgrade $http_upgrade;",
            "        proxy_set_header Connection $connection_upgrade;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            // location /: the X-Forwarded-Proto proxy_mode needs on every page.
            "        proxy_set_header X-Forwarded-Proto $scheme;",
        ],
        "{text}"
    );
    assert!(text.contains(
        "        set $upstream           http://odoo:8072;\n        proxy_pass              $upstream;\n"
    ));
    assert_eq!(maps(&[text, site.read("etc/nginx/nginx.conf")]), 1);
    site.nginx_t();
    assert_in_sync(&site, "odoo-websocket");
}

#[test]
fn odoo_upstreams_in_nginx_conf_invalid_api_site_is_refused_and_the_rest_goes_to_the_tls_server() {
    let case = "nginx-odoo/insightpulse-upstreams-in-nginxconf-longpolling";
    let odoo = ("nginx/conf.d/odoo.conf", "etc/nginx/conf.d/odoo.conf");
    let superset = (
        "nginx/conf.d/superset.conf",
        "etc/nginx/conf.d/superset.conf",
    );
    let api = ("nginx/conf.d/api.conf", "etc/nginx/conf.d/api.conf");
    // As found: api.conf has `add_header` in a server-level `if`, which nginx rejects.
    let mut site = odoo_site(
        case,
        &[odoo, api, superset],
        Main::Own("nginx/nginx.conf"),
        "etc/nginx/conf.d/odoo.conf",
        "insightpulseai.net",
    );
    site.var("public_scheme", json!("https"));
    let before = site.sums();
    site.apply("odoo-websocket")
        .code(1)
        .stdout_has("fails before any change")
        .stdout_has("\"add_header\" directive is not allowed here");
    assert_eq!(site.sums(), before);
    // Without the broken api site: the websocket goes to the 443 server of conf.d/odoo.conf; the upstreams
    // nginx.conf defines are not defined again; the other site stays byte-identical.
    // nginx reaches Odoo (prefork, as the case's Compose runs it) by its service name through the
    // `upstream odoo_longpolling` of nginx.conf: /websocket names it, no upstream is added.
    let mut site = odoo_site(
        case,
        &[odoo, superset],
        Main::Own("nginx/nginx.conf"),
        "etc/nginx/conf.d/odoo.conf",
        "insightpulseai.net",
    );
    site.var("public_scheme", json!("https"))
        .var("odoo_workers", json!(2));
    let before = site.read("etc/nginx/conf.d/odoo.conf");
    let superset = site.read("etc/nginx/conf.d/superset.conf");
    site.apply("odoo-websocket").code(0).stdout_has("1 changed");
    let text = site.read("etc/nginx/conf.d/odoo.conf");
    assert_eq!(
        locations_by_server(&text, "/websocket"),
        [("80".to_owned(), 0), ("443 ssl http2".to_owned(), 1)]
    );
    let nginx_conf = site.read("etc/nginx/nginx.conf");
    assert_eq!(nginx_conf.matches("upstream odoo_longpolling").count(), 1);
    assert!(!text.contains("upstream odoo_longpolling"));
    assert_eq!(
        proxy_passes(&text, "/websocket"),
        ["http://odoo_longpolling"]
    );
    assert!(!text.contains("upstream"), "{text}");
    assert!(!nginx_conf.contains("backend_odoo_longpolling"));
    // The diff adds the location, and only it.
    let diff = similar::TextDiff::from_lines(&before, &text);
    let changes: Vec<(similar::ChangeTag, String)> = diff
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| (c.tag(), c.value().to_owned()))
        .collect();
    assert!(
        changes
            .iter()
            .all(|(tag, _)| *tag == similar::ChangeTag::Insert),
        "{changes:?}"
    );
    let inserted: String = changes.iter().map(|(_, line)| line.as_str()).collect();
    assert!(
        inserted
            .trim_start()
            .starts_with("location /websocket {\n        proxy_pass http://odoo_longpolling;\n"),
        "{inserted}"
    );
    assert!(inserted.trim_end().ends_with('}'), "{inserted}");
    assert_eq!(inserted.matches('{').count(), 1, "{inserted}");
    assert_eq!(site.read("etc/nginx/conf.d/superset.conf"), superset);
    assert_eq!(maps(&[text, nginx_conf]), 1);
    site.nginx_t();
    assert_in_sync(&site, "odoo-websocket");
}

#[test]
fn odoo_threaded_with_only_longpolling_gets_websocket_on_the_http_port_and_no_second_map() {
    let mut site = odoo_site(
        "nginx-odoo/chochelius-odoo18-longpolling-threaded",
        &[("nginx/odoo.conf", "etc/nginx/sites-enabled/odoo.conf")],
        Main::Stock,
        "etc/nginx/sites-enabled/odoo.conf",
        "ww2.undergroundtkt.store",
    );
    // etc/odoo.conf sets no workers: threaded, as the plan's docs tell the operator to declare.
    site.var("public_scheme", json!("https"))
        .var("odoo_workers", json!(0));
    site.apply("odoo-websocket").code(0).stdout_has("1 changed");
    let text = site.read("etc/nginx/sites-enabled/odoo.conf");
    assert_eq!(
        locations_by_server(&text, "/websocket"),
        [("80".to_owned(), 0), ("443 ssl".to_owned(), 1)]
    );
    // The site's own `upstream odoo` (odoo18:8069, used by its location /) is how nginx reaches Odoo.
    assert_eq!(proxy_passes(&text, "/websocket"), ["http://odoo"]);
    assert!(!text.contains("backend_odoo_longpolling"), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
    assert_eq!(maps(&[text, site.read("etc/nginx/nginx.conf")]), 1);
    site.nginx_t();
    assert_in_sync(&site, "odoo-websocket");
}

#[test]
fn odoo_redirect_and_tls_server_in_two_files_with_nginx_warnings_in_the_dump() {
    let files = [
        ("files/nginx/odoo", "etc/nginx/sites-enabled/odoo"),
        ("files/nginx/odoo-ssl", "etc/nginx/sites-enabled/odoo-ssl"),
    ];
    let case = "nginx-odoo/antiun-split-files-ssl-on";
    // Pointed at the redirect file, the run stops and names the file nginx uses.
    let mut site = odoo_site(
        case,
        &files,
        Main::Stock,
        "etc/nginx/sites-enabled/odoo",
        "odoo.example.com",
    );
    site.var("public_scheme", json!("https"));
    let before = site.sums();
    let run = site.apply("odoo-websocket");
    run.code(1)
        .stdout_has("does not reach any server block of")
        .stdout_has("etc/nginx/sites-enabled/odoo-ssl line 5");
    assert_eq!(site.sums(), before);
    // Pointed at the TLS file: the location goes there (`ssl on` makes nginx warn on every -t/-T).
    site.var(
        "site_conf",
        json!(
            site.path("etc/nginx/sites-enabled/odoo-ssl")
                .display()
                .to_string()
        ),
    );
    site.apply("odoo-websocket").code(0).stdout_has("1 changed");
    let ssl = site.read("etc/nginx/sites-enabled/odoo-ssl");
    assert_eq!(
        locations_by_server(&ssl, "/websocket"),
        [("443".to_owned(), 1)]
    );
    assert!(ssl.contains("    ssl on;\n"));
    // Threaded: the site's `upstream odoo` (`server localhost:8069 weight=1 fail_timeout=3000s`) reaches the port.
    assert_eq!(proxy_passes(&ssl, "/websocket"), ["http://odoo"]);
    assert!(!ssl.contains("backend_odoo_longpolling"), "{ssl}");
    let redirect = site.read("etc/nginx/sites-enabled/odoo");
    assert!(!redirect.contains("websocket"));
    assert_eq!(maps(&[ssl, redirect, site.read("etc/nginx/nginx.conf")]), 1);
    site.nginx_t();
    assert_in_sync(&site, "odoo-websocket");
}

/// The shapes of a one-server site that nginx routes a domain to although its server_name is not that domain.
#[test]
fn odoo_single_server_sites_named_underscore_ip_or_nothing_converge_with_the_default_plan() {
    for head in [
        "listen 80 default_server;\n\tserver_name _;",
        "listen 80;\n\tserver_name 203.0.113.10;",
        "listen 80;",
        "listen 80;\n\tserver_name *.example.com;",
        "listen [::]:80;\n\tlisten 80;\n\tserver_name ~^erp\\.;",
    ] {
        let mut site = Site::install(
            "nginx-odoo/simonbelete-docs-longpolling-noeol",
            &[],
            Main::Stock,
            "odoo",
        );
        let conf = site.path("etc/nginx/sites-enabled/odoo");
        std::fs::write(
            &conf,
            format!("server {{\n\t{head}\n\n\tlocation / {{\n\t\tproxy_pass http://127.0.0.1:8069;\n\t}}\n}}\n"),
        )
        .expect("write");
        site.var("site_conf", json!(conf.display().to_string()))
            .var("public_host", json!("erp.example.com"))
            .var("odoo_conf", json!("/nonexistent/odoo.conf"));
        site.apply("odoo-websocket").code(0).stdout_has("1 changed");
        let text = site.read("etc/nginx/sites-enabled/odoo");
        assert_eq!(locations_by_server(&text, "/websocket")[0].1, 1, "{head}");
        // The site proxies to an address, not an upstream: the plan's upstream is added.
        assert_eq!(
            proxy_passes(&text, "/websocket"),
            ["http://backend_odoo_longpolling"]
        );
        assert_eq!(
            text.matches("upstream backend_odoo_longpolling {").count(),
            1
        );
        site.nginx_t();
        assert_in_sync(&site, "odoo-websocket");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Frappe

fn frappe_site(case: &str, files: &[(&str, &str)], main: Main, host: &str) -> Site {
    let mut site = Site::install(case, files, main, "frappe");
    let conf = site.path("etc/nginx/conf.d/frappe-bench.conf");
    let bench = site.path("home/frappe/frappe-bench");
    site.var("site_conf", json!(conf.display().to_string()))
        .var("bench_dir", json!(bench.display().to_string()))
        .var("public_host", json!(host));
    site
}

#[test]
fn frappe_four_site_bench_is_refused_on_a_stock_nginx_conf_and_in_sync_on_the_operators() {
    let case = "nginx-frappe/nateabowman-4-sites-mixed-https";
    let files = [("config/nginx.conf", "etc/nginx/conf.d/frappe-bench.conf")];
    // `access_log … main` needs a log_format main: a stock nginx.conf is invalid before any change.
    let mut site = frappe_site(case, &files, Main::Stock, "prod.nexelya.com");
    site.var("public_scheme", json!("https"))
        .var("socketio_port", json!(9000));
    let before = site.sums();
    site.apply("frappe-socketio")
        .code(1)
        .stdout_has("fails before any change")
        .stdout_has("unknown log format \"main\"");
    assert_eq!(site.sums(), before);
    // With the operator's log_format main: the 443 server of prod.nexelya.com is already right.
    let mut site = frappe_site(
        case,
        &files,
        Main::StockWithMainLogFormat,
        "prod.nexelya.com",
    );
    site.var("public_scheme", json!("https"))
        .var("socketio_port", json!(9000));
    assert_in_sync(&site, "frappe-socketio");
}

#[test]
fn frappe_ancient_bench_without_a_realtime_server_is_refused_and_unchanged() {
    let mut site = frappe_site(
        "nginx-frappe/gsi-ancient-bench-no-socketio",
        &[(
            "frappe-bench/config/nginx.conf",
            "etc/nginx/conf.d/frappe-bench.conf",
        )],
        Main::Stock,
        "frappe_default_site",
    );
    // The bench as found: no apps/frappe/realtime/, no socketio.js, no socketio_port.
    site.preflight.push("realtime_server_present");
    site.var("public_scheme", json!("http"));
    let before = site.sums();
    let run = site.apply("frappe-socketio");
    run.code(1)
        .stdout_has("has no realtime server")
        .stdout_has("no upstream to port 3000 is added");
    assert_eq!(site.sums(), before, "a refused bench changed");
}

#[test]
fn frappe_hand_edited_bench_config_is_in_sync() {
    let case = "nginx-frappe/ferum-hand-edited-2space-cyrillic-noeol";
    let mut site = frappe_site(
        case,
        &[
            (
                "frappe-bench/config/nginx.conf",
                "etc/nginx/conf.d/frappe-bench.conf",
            ),
            (
                "frappe-bench/sites/common_site_config.json",
                "home/frappe/frappe-bench/sites/common_site_config.json",
            ),
        ],
        Main::Stock,
        "erp.ferumrus.ru",
    );
    site.var("public_scheme", json!("http"));
    site.nginx_t();
    assert_in_sync(&site, "frappe-socketio");
}

// ---------------------------------------------------------------------------------------------------------------
// FastAPI

fn fastapi_site(case: &str, from: &str, to: &str, host: &str) -> Site {
    let mut site = Site::install(case, &[(from, to)], Main::Stock, "fastapi");
    let conf = site.path(to);
    site.var("site_conf", json!(conf.display().to_string()))
        .var("public_host", json!(host));
    site
}

fn ws_locations(text: &str) -> Vec<(String, usize)> {
    locations_by_server(text, "~ ^/ws/(.*)$")
}

#[test]
fn fastapi_same_name_on_80_and_443_gets_the_location_in_the_server_of_the_public_scheme() {
    for (scheme, expected, chosen) in [
        (
            "https",
            [0, 1],
            "line 28 (server_name samservice-dev.int.janelia.org; listen 443 ssl default_server): the server nginx \
             uses for samservice-dev.int.janelia.org on port 443 (its server_name)",
        ),
        (
            "http",
            [1, 0],
            "line 10 (server_name samservice-dev.int.janelia.org; listen 80 default_server): the server nginx uses \
             for samservice-dev.int.janelia.org on port 80 (its server_name)",
        ),
    ] {
        let mut site = fastapi_site(
            "nginx-fastapi/janelia-sam-compose-map-on-root-no-upstream",
            "docker/nginx.conf",
            "etc/nginx/conf.d/sam.conf",
            "samservice-dev.int.janelia.org",
        );
        site.var("public_scheme", json!(scheme));
        // The run says which of the two servers named alike got the location, and why.
        site.apply("fastapi-websocket")
            .code(0)
            .stdout_has("1 changed")
            .stdout_has(&format!(
                "note: step `location`: {} {chosen}",
                site.path("etc/nginx/conf.d/sam.conf").display()
            ));
        let text = site.read("etc/nginx/conf.d/sam.conf");
        let counts: Vec<usize> = ws_locations(&text).into_iter().map(|(_, n)| n).collect();
        assert_eq!(counts, expected, "{scheme}");
        assert!(text.contains("proxy_pass http://sam;"));
        assert_eq!(maps(&[text, site.read("etc/nginx/nginx.conf")]), 1);
        site.nginx_t();
        assert_in_sync(&site, "fastapi-websocket");
    }
}

#[test]
fn fastapi_placeholder_server_name_with_redirect_gets_the_location_in_the_tls_server() {
    let mut site = fastapi_site(
        "nginx-fastapi/foxavier-conf.d-is-a-file-https",
        "deploy/conf/conf.d",
        "etc/nginx/conf.d/api.conf",
        "api.example.com",
    );
    site.var("public_scheme", json!("https"));
    site.apply("fastapi-websocket")
        .code(0)
        .stdout_has("1 changed");
    let text = site.read("etc/nginx/conf.d/api.conf");
    assert_eq!(
        ws_locations(&text),
        [("80".to_owned(), 0), ("443 ssl http2".to_owned(), 1)]
    );
    assert!(!text.ends_with('\n'));
    assert_eq!(maps(&[text, site.read("etc/nginx/nginx.conf")]), 1);
    site.nginx_t();
    assert_in_sync(&site, "fastapi-websocket");
}

#[test]
fn fastapi_unix_socket_site_with_proxy_pass_in_if_gets_its_own_location() {
    let mut site = fastapi_site(
        "nginx-fastapi/mart337i-gunicorn-sock-proxy-pass-in-if",
        "external_config/Nginx.conf",
        "etc/nginx/sites-enabled/Nginx.conf",
        "meo.local",
    );
    let before = site.read("etc/nginx/sites-enabled/Nginx.conf");
    site.var("public_scheme", json!("http"));
    site.apply("fastapi-websocket")
        .code(0)
        .stdout_has("1 changed");
    let text = site.read("etc/nginx/sites-enabled/Nginx.conf");
    assert_eq!(ws_locations(&text), [("80".to_owned(), 1)]);
    let location_start = before.find("    location / {").expect("location /");
    assert!(text.contains(&before[location_start..before.len() - 1]));
    site.nginx_t();
    assert_in_sync(&site, "fastapi-websocket");
}
