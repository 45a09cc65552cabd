//! Lost updates: someone edits a file the run is about to write, or has written, while
//! the run is busy (a reload, a restart). The write checks what the file holds right
//! before the rename and never overwrites such a change; a rollback puts back only files
//! that still hold bytes the run wrote, and reports the others.
//!
//! The "someone" is the plan's own command step (`printf … >> odoo.conf`), which runs
//! between the writes exactly like an operator's edit during a reload.

use crate::support;

use serde_json::json;
use support::reliability::LocalHost;

const FOREIGN: &str = "; edited by someone else during the run\n";

#[test]
fn a_file_edited_during_the_run_is_not_overwritten() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    let site_config = std::fs::read(&host.site_config).expect("site_config");
    host.plan_json(&json!({
        "name": "lost-update", "hosts": "odoo",
        "steps": [
            {"id": "first", "json": {"file": "{{ site_config }}", "set": {"socketio_port": 9000}}},
            {"id": "reload", "command": format!("printf '{}' >> {{{{ odoo_conf | quote }}}}", FOREIGN.trim_end()),
                "if_changed": ["first"]},
            {"id": "odoo", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
        ],
    }));
    let run = host.run("apply", &[]);
    run.code(1)
        .stdout_has("FAILED (rolled back)")
        .stdout_has(&format!(
            "{} changed on the host after it was read (someone else edited it): not overwritten",
            host.odoo_conf.display()
        ));
    let odoo = std::fs::read_to_string(&host.odoo_conf).expect("odoo.conf");
    assert!(
        odoo.contains(FOREIGN.trim_end()),
        "the edit was lost:\n{odoo}"
    );
    assert!(!odoo.contains("proxy_mode"), "{odoo}");
    assert_eq!(
        std::fs::read(&host.site_config).expect("site_config"),
        site_config,
        "the run's own write was not rolled back"
    );
}

#[test]
fn a_rollback_leaves_a_file_someone_else_changed_and_says_so() {
    let host = LocalHost::new("root");
    let _guard = host.guard();
    host.plan_json(&json!({
        "name": "lost-update", "hosts": "odoo",
        "steps": [
            {"id": "odoo", "ini": {"file": "{{ odoo_conf }}", "set": {"proxy_mode": "True"}}},
            {"id": "edit", "command": format!("printf '{}' >> {{{{ odoo_conf | quote }}}}", FOREIGN.trim_end()),
                "if_changed": ["odoo"]},
            {"id": "fail", "command": "exit 3", "if_changed": ["odoo"]},
        ],
    }));
    let run = host.run("apply", &[]);
    run.code(4).stdout_has("NEEDS ATTENTION").stdout_has(&format!(
        "{} changed after this run wrote it (someone else edited it): left as it is, not restored",
        host.odoo_conf.display()
    ));
    let odoo = std::fs::read_to_string(&host.odoo_conf).expect("odoo.conf");
    assert!(
        odoo.contains(FOREIGN.trim_end()),
        "the edit was lost:\n{odoo}"
    );
}
