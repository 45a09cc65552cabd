//! Bounded memory: a hostile or broken host cannot make the controller hold more than a
//! bounded amount of its data. A target file over the 8 MiB limit is refused on the
//! host's side of the pipe (at most 8 MiB + 1 byte of it is sent), and a dump (`nginx -T`)
//! over 32 MiB is refused. The controller's peak RSS is measured with GNU time.

// Helpers only the host tier uses are unused in a plain `cargo test`.
#![cfg_attr(not(feature = "host-tests"), allow(dead_code, unused_imports))]

use crate::support;

use std::process::Command;

use serde_json::json;
use support::reliability::LocalHost;

/// Runs `wsdeploy -C <project> apply -i production` under `/usr/bin/time`: (exit code,
/// stdout, stderr, peak RSS in MiB).
fn apply_measured(host: &LocalHost) -> (i32, String, String, f64) {
    // `unshare` and `sh` (the host's own state directory) exec wsdeploy: one process.
    let wsdeploy = host.project.wsdeploy();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "wsdeploy-maxrss-kib=%M"])
        .arg(wsdeploy.get_program())
        .args(wsdeploy.get_args())
        .arg("-C")
        .arg(host.project.path())
        .args(["apply", "-i", "production"])
        .env("NO_COLOR", "1")
        .output()
        .expect("GNU time is installed (apt-get install time)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let kib: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("wsdeploy-maxrss-kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS figure from GNU time:\n{stderr}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        kib / 1024.0,
    )
}

#[test]
fn a_100_mb_target_file_is_refused_without_reading_it_whole() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    host.plan_json(&json!({"name": "big", "hosts": "odoo", "steps": [
        {"id": "odoo", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}}]}));
    let mut text = std::fs::read_to_string(&host.odoo_conf).expect("read");
    let line = "; padding comment line that makes this file a hundred megabytes long...\n";
    while text.len() < 100 * 1024 * 1024 {
        text.push_str(line);
    }
    std::fs::write(&host.odoo_conf, &text).expect("write");
    let (code, stdout, _, mib) = apply_measured(&host);
    eprintln!("100 MB target file: peak RSS (wsdeploy and the local host shell) {mib:.1} MiB");
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("is larger than 8 MiB: refusing to edit it"),
        "{stdout}"
    );
    assert!(mib < 64.0, "the controller peaked at {mib:.1} MiB");
}

#[test]
fn a_dump_larger_than_32_mib_is_refused() {
    let mut host = LocalHost::new("root");
    let _guard = host.guard();
    host.var(
        "nginx_dump_cmd",
        json!("head -c 40000000 /dev/zero | tr '\\000' '#'; nginx -T -c {{ nginx_conf | quote }}"),
    );
    host.plan_json(&json!({"name": "dump", "hosts": "odoo", "steps": [
        {"id": "site", "nginx": {"file": "{{ site_conf }}", "context": "server",
            "ensure": "location /probe {\n    return 204;\n}\n"}}]}));
    let before = host.sums();
    let (code, stdout, _, mib) = apply_measured(&host);
    eprintln!("40 MB dump: peak RSS (wsdeploy and the local host shell) {mib:.1} MiB");
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("is larger than 32 MiB: refusing to read it"),
        "{stdout}"
    );
    assert_eq!(host.sums(), before);
    assert!(mib < 128.0, "the controller peaked at {mib:.1} MiB");
}

#[cfg(feature = "host-tests")]
#[test]
fn a_command_that_floods_its_output_is_stopped_at_the_exec_cap() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    // 300 MB on stdout, far past the 128 MiB an exec may return.
    host.plan_json(&json!({"name": "flood", "hosts": "odoo", "steps": [
        {"id": "odoo", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
        {"command": "head -c 300000000 /dev/zero", "if_changed": ["odoo"]}]}));
    let before = host.sums();
    let (code, stdout, _, mib) = apply_measured(&host);
    eprintln!(
        "300 MB of command output: peak RSS (wsdeploy and the local host shell) {mib:.1} MiB"
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("more than 128 MiB of output"), "{stdout}");
    assert!(stdout.contains("FAILED (rolled back)"), "{stdout}");
    let mut after = host.sums();
    after.retain(|path, _| !path.contains(".backup-"));
    assert_eq!(
        after, before,
        "the host is back to its bytes (the dated backup stays)"
    );
    assert!(mib < 200.0, "the controller peaked at {mib:.1} MiB");
}
