//! The run history on the controller: every run of the real binary against a
//! `connection: local` host (apply, hand edit, drift, drift --repair, rollback) is recorded
//! in `.wsdeploy/history.db`; `history` lists them with their kinds and outcomes,
//! `history show` prints a run's diff, `report --html` writes a page headless Chromium
//! renders; vaulted values (inventory and `-e @vaulted.yml`) never reach the database or
//! the page; a database that cannot be written never fails a run and its record arrives
//! with the next run. The same with a real PostgreSQL server (`history = "postgres://…"`):
//! two controllers migrating and recording at once, a server that goes away and comes back,
//! a server stopped while a run is in flight.

use crate::support;
use crate::vault::{ansible_vault, encrypt_string};

use serde_json::Value;
use support::project::{Project, Run};

/// The vaulted inventory value and the value of the vaulted `-e` file.
const DB_SECRET: &str = "vaulted-db-Secret-4711";
const TOKEN_SECRET: &str = "extra-token-Secret-0815";

/// One local host `web1` whose `app.conf` the plan edits with both vaulted values (under
/// keys whose names say nothing about secrets), a password file and a vaulted `-e` file.
fn project() -> Project {
    // Its runs have a state directory of their own on this machine (`host_state`).
    let p = Project::with_own_state();
    let root = p.path().join("root");
    p.file("root/web1/app.conf", "[options]\nworkers = 2\n");
    p.file("vault/pw", "pw1\n");
    let pw = p.path().join("vault/pw").display().to_string();
    p.file(
        "inventories/test/hosts.yml",
        &format!(
            "all:\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_connection: local\n      vars:\n        root: {}\n",
            root.display()
        ),
    );
    p.file(
        "inventories/test/group_vars/web.yml",
        &encrypt_string(&["--vault-password-file", &pw], "banner", DB_SECRET),
    );
    p.file("extra.yml", &format!("motd: {TOKEN_SECRET}\n"));
    ansible_vault(&[
        "encrypt",
        "--vault-password-file",
        &pw,
        &p.path().join("extra.yml").display().to_string(),
    ]);
    p.file(
        "plans/site.yml",
        "name: history\nhosts: web\nsteps:\n  - id: conf\n    ini: {file: \"{{ root }}/web1/app.conf\", section: options, set: {proxy_mode: \"True\", login_banner: \"{{ banner }}\", greeting: \"{{ motd }}\"}}\n",
    );
    p
}

/// `wsdeploy COMMAND -i test --vault-password-file … -e @extra.yml ARGS`.
fn run(p: &Project, command: &str, args: &[&str]) -> Run {
    let pw = p.path().join("vault/pw").display().to_string();
    let extra = format!("@{}", p.path().join("extra.yml").display());
    let mut all = vec![
        command,
        "-i",
        "test",
        "--vault-password-file",
        &pw,
        "-e",
        &extra,
    ];
    all.extend_from_slice(args);
    p.run_with_env(&all, &[("WSDEPLOY_TODAY", test_day())])
}

/// The day this test's runs date their backups: one of its own, so `rollback --date`
/// undoes this test's runs only, not those other tests made on this machine today.
fn test_day() -> &'static str {
    static DAY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DAY.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let offset = u64::from(std::process::id()) * 7919 + u64::from(nanos);
        let base = chrono::NaiveDate::from_ymd_opt(2040, 1, 1).expect("a date");
        (base + chrono::Days::new(offset % 20_000))
            .format("%Y-%m-%d")
            .to_string()
    })
}

fn conf(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("root/web1/app.conf")).expect("read app.conf")
}

fn recorded(p: &Project, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["history", "--json"];
    all.extend_from_slice(args);
    let out = p.run(&all);
    out.code(0);
    serde_json::from_str::<Vec<Value>>(&out.stdout)
        .unwrap_or_else(|e| panic!("history --json is not a JSON array ({e}): {}", out.stdout))
}

/// `kind outcome-of-web1` of each recorded run, oldest first.
fn kinds_and_outcomes(runs: &[Value]) -> Vec<String> {
    runs.iter()
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap_or("?"),
                r["hosts"][0]["outcome"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    for secret in [DB_SECRET, TOKEN_SECRET] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{what} holds the secret `{secret}`"
        );
    }
}

#[test]
fn every_run_is_recorded_listed_shown_and_reported_without_a_secret() {
    let p = project();
    run(&p, "apply", &[]).code(0).stdout_has("1 changed");
    assert!(
        conf(&p).contains(DB_SECRET) && conf(&p).contains(TOKEN_SECRET),
        "the plan writes both vaulted values: {}",
        conf(&p)
    );
    // A hand edit, found by drift and undone by drift --repair.
    std::fs::write(
        p.path().join("root/web1/app.conf"),
        conf(&p).replace("proxy_mode = True", "proxy_mode = False"),
    )
    .expect("hand edit");
    run(&p, "drift", &[]).code(2);
    run(&p, "drift", &["--repair"]).code(0);
    assert!(conf(&p).contains("proxy_mode = True"), "{}", conf(&p));
    run(&p, "rollback", &["--date", test_day()]).code(0);
    assert_eq!(conf(&p), "[options]\nworkers = 2\n");
    run(&p, "apply", &["--dry-run"]).code(0);
    run(&p, "verify", &[]).code(0);

    let runs = recorded(&p, &[]);
    assert_eq!(
        kinds_and_outcomes(&runs),
        [
            "apply changed",
            "drift would_change",
            "repair changed",
            "rollback changed",
            "dry-run would_change",
            "verify in_sync"
        ]
    );
    let apply = &runs[0];
    assert_eq!(apply["hosts"][0]["host"], "web1");
    assert_eq!(apply["exit"], 0);
    assert!(
        apply["command"]
            .as_str()
            .is_some_and(|c| c.starts_with("wsdeploy -C ") && c.contains(" apply -i test -")),
        "{apply}"
    );
    let file = &apply["hosts"][0]["files"][0];
    assert!(file["pre_sha256"].is_string() && file["new_sha256"].is_string());
    assert!(
        apply["plan_files"]
            .as_str()
            .is_some_and(|f| f.contains("plans/site.yml ")),
        "{apply}"
    );

    // The list, its filters, and one run shown as apply printed it.
    p.run(&["history"])
        .code(0)
        .stdout_has("apply")
        .stdout_has("repair")
        .stdout_has("1 would change");
    let drifts = recorded(&p, &["--host", "web1", "--outcome", "would-change"]);
    assert_eq!(
        kinds_and_outcomes(&drifts),
        ["drift would_change", "dry-run would_change"]
    );
    assert_eq!(recorded(&p, &["--kind", "rollback"]).len(), 1);
    assert_eq!(
        recorded(&p, &["--since", "2000-01-01", "--until", "2000-12-31"]).len(),
        0
    );
    let id = apply["id"].as_str().expect("run id");
    let shown = p.run(&["history", "show", id]);
    shown
        .code(0)
        .stdout_has("── web1 (changed)")
        .stdout_has("+proxy_mode = True")
        .stdout_has("+login_banner = ********")
        .stdout_has("1 changed");

    let db = std::fs::read(p.path().join(".wsdeploy/history.db")).expect("history.db");
    assert!(db.len() > 4096, "an empty database");
    assert_no_secret("history.db", &db);
    assert_no_secret("history show", shown.stdout.as_bytes());

    check_the_report(&p, id);
}

/// `report --html`: the host, its state, the chart's points, the run and its diff, no
/// secret and nothing loaded from elsewhere; headless Chromium renders it from file://.
fn check_the_report(p: &Project, id: &str) {
    let page = p.path().join("report.html");
    p.run(&["report", "--html", &page.display().to_string()])
        .code(0)
        .stderr_has("6 runs, 1 hosts");
    let html = std::fs::read_to_string(&page).expect("report.html");
    assert_no_secret("the HTML report", html.as_bytes());
    for needle in [
        "data-host=\"web1\"",
        "<td class=\"drift\">drifted</td>",
        "class=\"point found\"",
        "class=\"point repaired\"",
        "+proxy_mode = True",
        id,
    ] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    assert!(
        !html.contains("src=") && !html.contains("http://") && !html.contains("https://"),
        "the page loads something"
    );
    // A real browser from file://: hosts, runs and chart shown, nothing fetched, and the
    // search box keeps the runs whose diff has the hand edit (drift and repair).
    let mut browser = support::chromium::Browser::start();
    browser.navigate(&format!("file://{}", page.display()));
    assert!(
        browser.wait_for(
            "document.querySelectorAll('#status tr.host').length === 1",
            std::time::Duration::from_secs(20)
        ),
        "Chromium shows no host: {}",
        browser.text()
    );
    let text = browser.text();
    assert!(text.contains("web1") && text.contains(id), "{text}");
    assert_eq!(
        browser.eval("document.querySelectorAll('#drift-chart circle.point').length"),
        2
    );
    assert_eq!(
        browser.eval("performance.getEntriesByType('resource').length"),
        0,
        "the page fetched something"
    );
    let shown = browser.eval(
        "(() => { const q = document.getElementById('q'); q.value = 'proxy_mode = False'; \
         q.dispatchEvent(new Event('input')); \
         return document.querySelectorAll('details.run:not(.hidden)').length; })()",
    );
    assert_eq!(shown, 2, "runs left by the search");
    assert_eq!(
        browser.eval("document.getElementById('shown').textContent"),
        "2"
    );
}

#[test]
fn an_unwritable_history_never_fails_a_run_and_the_record_arrives_later() {
    let p = project();
    // A directory where the database file should be: SQLite cannot open it.
    std::fs::create_dir_all(p.path().join(".wsdeploy/history.db")).expect("mkdir");
    let first = run(&p, "apply", &[]);
    first.code(0).stdout_has("1 changed");
    assert_eq!(
        first.stderr.matches("run history").count(),
        1,
        "said once: {}",
        first.stderr
    );
    first.stderr_has("written by the next run");
    let spool = p.path().join(".wsdeploy/spool");
    let spooled: Vec<_> = std::fs::read_dir(&spool)
        .expect("spool")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(spooled.len(), 1, "{spooled:?}");
    assert_no_secret(
        "the spooled record",
        &std::fs::read(&spooled[0]).expect("read"),
    );

    std::fs::remove_dir(p.path().join(".wsdeploy/history.db")).expect("rmdir");
    let second = run(&p, "drift", &[]);
    second.code(0);
    assert!(!second.stderr.contains("run history"), "{}", second.stderr);
    assert_eq!(
        kinds_and_outcomes(&recorded(&p, &[])),
        ["apply changed", "drift in_sync"]
    );
    assert_eq!(std::fs::read_dir(&spool).expect("spool").count(), 0);
}

/// A throwaway PostgreSQL server (`initdb`, `pg_ctl`; the server refuses to
/// run as root, so it runs as `nobody`), trusting local TCP connections as `wsdeploy`.
struct PgServer {
    dir: tempfile::TempDir,
    port: u16,
}

/// The directory of the PostgreSQL programs: where /usr/local/bin/initdb links to, else
/// Debian's /usr/lib/postgresql/VERSION/bin (the `postgresql` package).
fn pg_bin() -> std::path::PathBuf {
    if let Some(bin) = std::fs::canonicalize("/usr/local/bin/initdb")
        .ok()
        .and_then(|initdb| initdb.parent().map(std::path::Path::to_path_buf))
    {
        return bin;
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|bin| bin.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().expect(
        "no PostgreSQL server programs (initdb): tests/run-all installs the postgresql package",
    )
}

fn as_nobody(program: &str, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(pg_bin().join(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} as nobody ({e}): tests/run-all installs PostgreSQL")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl PgServer {
    fn start() -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let data = dir.path().join("data").display().to_string();
        as_nobody(
            "initdb",
            &["-D", &data, "-U", "wsdeploy", "--auth=trust", "-E", "UTF8"],
        );
        let server = Self { dir, port };
        server.pg_ctl_start();
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -h 127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        as_nobody(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        as_nobody(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://wsdeploy@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(pg_bin().join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

#[test]
fn postgres_history_takes_two_controllers_at_once_and_a_server_that_goes_away() {
    let pg = PgServer::start();
    let url = pg.url();
    let (a, b) = (project(), project());
    for p in [&a, &b] {
        p.file("wsdeploy.toml", &format!("history = \"{url}\"\n"));
    }
    // Two controllers at once on a fresh database: both migrate, both record.
    let spawn = |p: &Project| {
        let pw = p.path().join("vault/pw").display().to_string();
        let extra = format!("@{}", p.path().join("extra.yml").display());
        p.wsdeploy()
            .arg("-C")
            .arg(p.path())
            .args(["apply", "--dry-run", "-i", "test", "--vault-password-file"])
            .args([pw.as_str(), "-e", extra.as_str()])
            .env("NO_COLOR", "1")
            .output()
            .expect("wsdeploy runs")
    };
    let (first, second) = std::thread::scope(|s| {
        let one = s.spawn(|| spawn(&a));
        let two = s.spawn(|| spawn(&b));
        (one.join().expect("first"), two.join().expect("second"))
    });
    for out in [&first, &second] {
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("run history"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        kinds_and_outcomes(&recorded(&a, &[])),
        ["dry-run would_change", "dry-run would_change"]
    );
    assert!(!a.path().join(".wsdeploy/history.db").exists());

    // The server goes away: the run ends as before and spools its record.
    pg.stop();
    let away = run(&a, "apply", &[]);
    away.code(0).stdout_has("1 changed");
    assert_eq!(
        away.stderr.matches("run history").count(),
        1,
        "{}",
        away.stderr
    );
    away.stderr_has("written by the next run");
    // It comes back: the next run writes the spooled record first.
    pg.pg_ctl_start();
    run(&a, "drift", &[]).code(0);
    let runs = recorded(&a, &[]);
    assert_eq!(
        kinds_and_outcomes(&runs),
        [
            "dry-run would_change",
            "dry-run would_change",
            "apply changed",
            "drift in_sync"
        ]
    );
    assert_eq!(
        std::fs::read_dir(a.path().join(".wsdeploy/spool"))
            .expect("spool")
            .count(),
        0
    );
    let dump = as_nobody("pg_dump", &["-d", &url]);
    let dump_text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump_text.contains("COPY public.file_changes"),
        "not a dump of the history: {dump_text}"
    );
    assert_no_secret("the PostgreSQL dump", &dump.stdout);
    assert_no_secret(
        "history --json",
        serde_json::to_string(&runs).expect("json").as_bytes(),
    );
}

#[test]
fn postgres_that_goes_away_while_a_run_is_in_flight_gets_the_record_with_the_next_run() {
    let pg = PgServer::start();
    let url = pg.url();
    let p = project();
    p.file("wsdeploy.toml", &format!("history = \"{url}\"\n"));
    // The plan's last step says it started, then waits (at most a minute) for `go`.
    let started = p.path().join("started");
    let go = p.path().join("go");
    let plan = std::fs::read_to_string(p.path().join("plans/site.yml")).expect("plan");
    p.file(
        "plans/site.yml",
        &format!(
            "{plan}  - command: \"touch {}; for i in $(seq 600); do [ -e {} ] && break; sleep 0.1; done\"\n",
            started.display(),
            go.display()
        ),
    );
    // A first run while the server is up: the database exists and is migrated.
    run(&p, "apply", &["--dry-run"]).code(0);
    assert!(!started.exists(), "the dry run ran the waiting step");

    let pw = p.path().join("vault/pw").display().to_string();
    let extra = format!("@{}", p.path().join("extra.yml").display());
    let child = p
        .wsdeploy()
        .arg("-C")
        .arg(p.path())
        .args(["apply", "-i", "test", "--vault-password-file"])
        .args([pw.as_str(), "-e", extra.as_str()])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wsdeploy runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached its waiting step"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The server goes away while the run waits in its last step.
    pg.stop();
    std::fs::write(&go, "").expect("go");
    let out = child.wait_with_output().expect("wsdeploy ends");
    let away = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    away.code(0).stdout_has("1 changed");
    assert_eq!(
        away.stderr.matches("run history").count(),
        1,
        "said once: {}",
        away.stderr
    );
    away.stderr_has("written by the next run");
    let spool = p.path().join(".wsdeploy/spool");
    assert_eq!(std::fs::read_dir(&spool).expect("spool").count(), 1);

    // It comes back: the next run writes the spooled record first, then its own.
    pg.pg_ctl_start();
    let next = run(&p, "verify", &[]);
    next.code(0);
    assert!(!next.stderr.contains("run history"), "{}", next.stderr);
    assert_eq!(
        kinds_and_outcomes(&recorded(&p, &[])),
        ["dry-run would_change", "apply changed", "verify in_sync"]
    );
    assert_eq!(std::fs::read_dir(&spool).expect("spool").count(), 0);
    assert!(!p.path().join(".wsdeploy/history.db").exists());
}
