//! Values that come from a host are data: a fact read from a bench's
//! `common_site_config.json` (a file the bench user writes) is never rendered as a
//! template, must be of its fact's type, and is refused otherwise, naming host, file and
//! key, with nothing touched. Secrets (a become password in the inventory) never reach
//! any output, also through `-e` templates and bad-input errors; a runaway template
//! ends quickly.
//!
//! The host is this machine (`ansible_connection: local`) with a bench and an nginx
//! configuration under the project's temporary directory; `nginx -t` is the real one.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::path::Path;
use std::process::Command;

use support::project::{Project, Run};
use support::reliability::tree_sums;

const BECOME_PASSWORD: &str = "Become-Secret-4711";

/// A bench whose common_site_config.json holds `common_site_config`, an nginx.conf
/// loading `conf.d/*.conf`, an inventory with a become password, and a plan writing an
/// nginx server from the `webserver_port` fact (as `plans/frappe-socketio-port.yml`
/// does) then testing it with the real `nginx -t`.
fn bench(common_site_config: &str, fact_type: &str) -> Project {
    // Its runs have a state directory of their own on this machine (`host_state`).
    let p = Project::with_own_state();
    let root = p.path().join("root");
    let r = root.display();
    p.file(
        "root/etc/nginx/nginx.conf",
        &format!("events {{}}\nhttp {{\n\tinclude {r}/etc/nginx/conf.d/*.conf;\n}}\n"),
    );
    std::fs::create_dir_all(root.join("etc/nginx/conf.d")).expect("mkdir");
    p.file(
        "root/bench/sites/common_site_config.json",
        common_site_config,
    );
    p.file(
        "inventories/bench/hosts.yml",
        &format!(
            "all:\n  children:\n    frappe:\n      hosts:\n        erp-1:\n          ansible_connection: local\n      vars:\n        ansible_become_password: {BECOME_PASSWORD}\n        root: {r}\n"
        ),
    );
    p.file(
        "plans/site.yml",
        &format!(
            r#"name: socketio-port
hosts: frappe
facts:
  - name: webserver_port
    json: "{{{{ root }}}}/bench/sites/common_site_config.json"
    key: webserver_port
    default: 8000
{fact_type}steps:
  - id: socketio_server
    file:
      path: "{{{{ root }}}}/etc/nginx/conf.d/socketio-port.conf"
      content: |
        server {{
            listen 127.0.0.1:18089;
            location / {{
                proxy_pass http://127.0.0.1:{{{{ webserver_port }}}};
            }}
        }}
  - id: nginx_test
    command: "nginx -t -c {{{{ root }}}}/etc/nginx/nginx.conf"
    if_changed: [socketio_server]
"#
        ),
    );
    p
}

fn assert_no_password(what: &str, run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(BECOME_PASSWORD),
            "the become password leaked in {what} ({stream}):\n{text}"
        );
    }
}

/// The attack: the bench user puts a template in a value the plan pastes into root's
/// nginx file. Before, the template was rendered with the host's variables and the
/// password landed (behind `#`, accepted by `nginx -t`) in a world-readable file.
#[test]
fn a_fact_holding_a_template_is_refused_naming_host_file_and_key_and_nothing_is_touched() {
    let hostile =
        r#"{"socketio_port": 9000, "webserver_port": "8000; # {{ ansible_become_password }}"}"#;
    for fact_type in ["", "    type: port\n"] {
        let p = bench(hostile, fact_type);
        let before = tree_sums(p.path());
        let runs = p.run_ids();
        for args in [
            &["apply", "-i", "bench"][..],
            &["apply", "-i", "bench", "--json"],
            &["apply", "-i", "bench", "--dry-run", "--diff"],
        ] {
            let run = p.run(args);
            assert_no_password(&args.join(" "), &run);
            assert_eq!(run.code, 1, "{args:?} must fail the host:\n{run:?}");
            let all = format!("{}{}", run.stdout, run.stderr);
            for needle in [
                "erp-1",
                "bench/sites/common_site_config.json",
                "key `webserver_port`",
                "is not",
                "nothing was changed",
            ] {
                assert!(all.contains(needle), "{args:?} lacks {needle:?}:\n{all}");
            }
        }
        assert_eq!(tree_sums(p.path()), before, "a file was touched");
        assert!(
            !p.path()
                .join("root/etc/nginx/conf.d/socketio-port.conf")
                .exists()
        );
        assert_eq!(p.run_ids(), runs, "a run was journaled");
    }
}

/// A directive injected through a fact (a newline and a second `server`) is refused the
/// same way; a well-typed value is used as it is.
#[cfg(feature = "host-tests")]
#[test]
fn a_fact_cannot_inject_nginx_directives_and_a_typed_value_is_used() {
    let injected =
        r#"{"webserver_port": "8000;\n}\n}\nserver { listen 18090; root /; autoindex on;"}"#;
    let p = bench(injected, "    type: port\n");
    let run = p.run(&["apply", "-i", "bench"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("is not a port"), "{run:?}");
    assert!(
        !p.path()
            .join("root/etc/nginx/conf.d/socketio-port.conf")
            .exists()
    );

    let p = bench(r#"{"webserver_port": "8011"}"#, "    type: port\n");
    p.run(&["apply", "-i", "bench"])
        .code(0)
        .stdout_has("1 changed");
    let written =
        std::fs::read_to_string(p.path().join("root/etc/nginx/conf.d/socketio-port.conf"))
            .expect("written");
    assert!(
        written.contains("proxy_pass http://127.0.0.1:8011;\n"),
        "{written}"
    );
}

/// `-e` values stay templates (as in Ansible), but what one reveals is masked: the
/// become password in the inventory is a secret wherever it would show.
#[test]
fn an_extra_var_template_never_prints_the_become_password() {
    let p = bench(r#"{"webserver_port": 8000}"#, "");
    p.file(
        "plans/leak.yml",
        "name: leak\nhosts: frappe\nsteps:\n  - file: {path: \"{{ port }}\", content: \"x\\n\"}\n",
    );
    let extra = r#"{"port":"{{ ansible_become_password }}"}"#;
    let validate = p.run(&["validate", "-i", "bench", "plans/leak.yml", "-e", extra]);
    assert_eq!(validate.code, 3, "{validate:?}");
    assert_no_password("validate -e", &validate);
    assert!(validate.stdout.contains("got `********`"), "{validate:?}");
    let apply = p.run(&[
        "apply",
        "-i",
        "bench",
        "plans/leak.yml",
        "--dry-run",
        "-e",
        extra,
    ]);
    assert_eq!(apply.code, 3, "{apply:?}");
    assert_no_password("apply -e", &apply);
    assert!(apply.stderr.contains("got `********`"), "{apply:?}");
}

/// `{% for %}` nested over `range(100000)` twice would keep a core busy for hours; it
/// ends at once with a clear error, offline (`validate`) and before any connection.
#[test]
fn a_runaway_template_ends_quickly_with_a_clear_error() {
    let p = bench(r#"{"webserver_port": 8000}"#, "");
    p.file(
        "plans/loop.yml",
        "name: loop\nhosts: frappe\nsteps:\n  - command: \"echo {% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\"\n",
    );
    for args in [
        &["validate", "-i", "bench", "plans/loop.yml"][..],
        &["apply", "-i", "bench", "plans/loop.yml", "--dry-run"],
    ] {
        let started = std::time::Instant::now();
        let wsdeploy = p.wsdeploy();
        let out = Command::new("timeout")
            .arg("60")
            .arg(wsdeploy.get_program())
            .args(wsdeploy.get_args())
            .arg("-C")
            .arg(p.path())
            .args(args)
            .output()
            .expect("timeout runs wsdeploy");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(3), "{args:?}: {all}");
        assert!(
            all.contains("evaluation steps (a loop too large?)"),
            "{args:?}: {all}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn the_shipped_frappe_plans_type_their_facts_as_ports() {
    for plan in [
        "plans/frappe-socketio.yml",
        "plans/frappe-socketio-port.yml",
    ] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(plan))
            .expect("plan");
        let facts = text.split("\nfacts:\n").nth(1).expect("facts");
        let facts = facts.split("\n\n").next().unwrap_or_default();
        assert_eq!(
            facts.matches("  - name: ").count(),
            facts.matches("    type: port\n").count()
                + facts.matches("    type: integer\n").count(),
            "{plan}: every fact typed (ports; developer_mode an integer)"
        );
    }
}

/// A plan that renders differently once the host's facts are read fails there with a
/// message that would quote a secret: it is masked (the mask list of the first rendering
/// stays in force).
#[test]
fn a_failure_rendering_with_facts_is_printed_masked() {
    let p = bench(r#"{"webserver_port": 9000}"#, "");
    p.file(
        "plans/after-facts.yml",
        r#"name: after-facts
hosts: frappe
facts:
  - {name: webserver_port, json: "{{ root }}/bench/sites/common_site_config.json", key: webserver_port, default: 8000}
steps:
  - file:
      path: "{{ root ~ '/ok.conf' if webserver_port == 8000 else ansible_become_password }}"
      content: "x\n"
"#,
    );
    for args in [
        &["apply", "-i", "bench", "plans/after-facts.yml", "--dry-run"][..],
        &["apply", "-i", "bench", "plans/after-facts.yml", "--json"],
    ] {
        let run = p.run(args);
        assert_no_password(&args.join(" "), &run);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(
            run.stdout
                .contains("must be an absolute path without `..`, got `********`"),
            "{args:?}: {run:?}"
        );
    }
}
