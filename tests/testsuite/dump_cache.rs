//! The host keeps the last good `nginx -T` output with a fingerprint of every file and
//! include directory it shows; gathers use it only while nothing it vouches for changed.
//! Real nginx, `connection: local`, the dump command counting its own runs.

use crate::support;

use support::project::Project;

const PLAN: &str = r#"name: cache
hosts: web
steps:
  - id: map
    nginx:
      file: "{{ nginx_conf }}"
      context: http
      ensure: |
        map $http_upgrade $connection_upgrade {
            default upgrade;
            ''      close;
        }
  - id: nginx_test
    command: "{{ nginx_test_cmd }}"
    if_changed: [map]
"#;

fn project() -> Project {
    let p = Project::with_own_state();
    let root = p.path().join("root");
    let r = root.display();
    p.file(
        "root/nginx.conf",
        &format!(
            "pid {r}/nginx.pid;\nerror_log {r}/error.log;\nevents {{}}\nhttp {{\n    include {r}/conf.d/*.conf;\n    server {{\n        listen 127.0.0.1:18391;\n    }}\n}}\n"
        ),
    );
    p.file(
        "root/conf.d/upstream.conf",
        "upstream app { server 127.0.0.1:9; }\n",
    );
    p.file(
        "inventories/test/hosts.yml",
        &format!(
            "all:\n  children:\n    web:\n      hosts:\n        box:\n          ansible_connection: local\n      vars:\n        nginx_conf: {r}/nginx.conf\n        nginx_test_cmd: nginx -t -c {r}/nginx.conf\n        nginx_dump_cmd: \"echo ran >> {r}/../dumps.log; nginx -T -c {r}/nginx.conf\"\n"
        ),
    );
    p.file("plans/site.yml", PLAN);
    p
}

fn dump_runs(p: &Project) -> usize {
    std::fs::read_to_string(p.path().join("dumps.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Removes the host-side cache file when the test ends.
struct Cache(std::path::PathBuf);

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(format!("{}.paths", self.0.display()));
    }
}

fn cache_file(p: &Project) -> Cache {
    let command = format!(
        "echo ran >> {r}/../dumps.log; nginx -T -c {r}/nginx.conf",
        r = p.path().join("root").display()
    );
    Cache(p.state_path(&wsdeploy::host::dump_cache::dump_cache_path(&command)))
}

fn outcome(p: &Project, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend_from_slice(&["-i", "test", "--json"]);
    let run = p.run(&all);
    run.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "host_report")
        .and_then(|v| v["report"]["outcome"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no host report:\n{}\n{}", run.stdout, run.stderr))
}

#[test]
fn converged_checks_reuse_the_dump_until_a_file_or_include_directory_changes() {
    let p = project();
    let cache = cache_file(&p);
    let cache = &cache.0;

    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "would_change");
    assert_eq!(dump_runs(&p), 1);
    assert!(!cache.exists(), "a dry run wrote {}", cache.display());

    // The apply's gather runs the dump; the commit runs it again and keeps it.
    assert_eq!(outcome(&p, &["apply"]), "changed");
    assert_eq!(dump_runs(&p), 3);
    let stored = std::fs::read_to_string(cache).expect("cache written at commit");
    assert!(
        stored.contains("map $http_upgrade $connection_upgrade"),
        "{stored}"
    );
    let conf_d = p.path().join("root/conf.d").display().to_string();
    assert!(
        stored.contains(&format!(" {conf_d}\n")),
        "include directory watched:\n{stored}"
    );

    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(outcome(&p, &["drift"]), "in_sync");
    assert_eq!(outcome(&p, &["apply"]), "in_sync");
    assert_eq!(dump_runs(&p), 3, "converged checks ran the dump");

    // A new file matching the include glob: every check sees it; dry runs keep nothing.
    p.file("root/conf.d/extra.conf", "# nothing yet\n");
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(dump_runs(&p), 4);
    assert_eq!(outcome(&p, &["drift"]), "in_sync");
    assert_eq!(dump_runs(&p), 5);
    // An apply that finds the host in sync runs the dump once more to keep it.
    assert_eq!(outcome(&p, &["apply"]), "in_sync");
    assert_eq!(dump_runs(&p), 7);
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(dump_runs(&p), 7);

    // An edit of an included file that keeps its size and mtime is still seen (ctime).
    let upstream = p.path().join("root/conf.d/upstream.conf");
    let mtime = std::fs::metadata(&upstream)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::fs::write(&upstream, "upstream app { server 127.0.0.1:8; }\n").expect("write");
    std::fs::File::options()
        .write(true)
        .open(&upstream)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime back");
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(dump_runs(&p), 8);

    // Removing the map from the main file: seen, and the dry run would add it again.
    std::fs::write(
        p.path().join("root/nginx.conf"),
        std::fs::read_to_string(p.path().join("root/nginx.conf"))
            .expect("read")
            .replace("map $http_upgrade", "map $http_x_unused"),
    )
    .expect("write");
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "would_change");
    assert_eq!(dump_runs(&p), 9);
}

#[test]
fn a_stored_dump_whose_fingerprint_misses_an_include_directory_is_not_trusted() {
    let p = project();
    let cache = cache_file(&p);
    let cache = &cache.0;
    assert_eq!(outcome(&p, &["apply"]), "changed");
    assert_eq!(dump_runs(&p), 2);
    // Drop the include directory's line from the fingerprint: the host-side check still
    // matches (every remaining path is unchanged), so only the controller can notice.
    let conf_d = p.path().join("root/conf.d").display().to_string();
    let stored = std::fs::read_to_string(cache).expect("cache");
    let (count, rest) = stored.split_once('\n').expect("count line");
    let count: usize = count.parse().expect("count");
    let lines: Vec<&str> = rest.lines().take(count).collect();
    let kept: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.ends_with(&format!(" {conf_d}")))
        .collect();
    assert!(kept.len() < lines.len(), "conf.d was watched: {lines:?}");
    let dump = rest.split_inclusive('\n').skip(count).collect::<String>();
    std::fs::write(
        cache,
        format!("{}\n{}\n{dump}", kept.len(), kept.join("\n")),
    )
    .expect("write cache");
    let paths_file = std::path::PathBuf::from(format!("{}.paths", cache.display()));
    let paths = std::fs::read_to_string(&paths_file).expect("paths file");
    assert!(paths.contains(&format!(" '{conf_d}'")), "{paths}");
    std::fs::write(&paths_file, paths.replace(&format!(" '{conf_d}'"), "")).expect("write");
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(dump_runs(&p), 3, "the incomplete fingerprint was trusted");
    // A damaged paths file is skipped, not the end of the gather.
    std::fs::write(&paths_file, "set -- \"$@\" ( broken\n").expect("write");
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(dump_runs(&p), 4);
}

/// A dump whose output is larger than a stored copy may be (`MAX_STORED_OUTPUT`: the copy
/// is read like a file, with the files) is not kept; every check runs it and stays right.
#[test]
fn a_dump_too_large_to_keep_runs_on_every_check() {
    let p = project();
    let cache = cache_file(&p);
    let cache = &cache.0;
    let line = format!("# {}\n", "x".repeat(78));
    let lines = wsdeploy::host::dump_cache::MAX_STORED_OUTPUT / line.len() + 1;
    p.file("root/conf.d/big.conf", &line.repeat(lines));
    assert_eq!(outcome(&p, &["apply"]), "changed");
    assert_eq!(dump_runs(&p), 2);
    assert!(!cache.exists(), "a copy too large to read was kept");
    assert_eq!(outcome(&p, &["apply", "--dry-run"]), "in_sync");
    assert_eq!(outcome(&p, &["drift"]), "in_sync");
    assert_eq!(dump_runs(&p), 4);
}
