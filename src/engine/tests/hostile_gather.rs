//! A host whose gather output is garbled or hostile: the run stops at the gather with an
//! error that says what was wrong, and nothing else is asked of the host (no lock, no
//! write).

use super::scripted_host::{Op, boundary, gather_reply, ops, transport, well_behaved};
use super::{CONF, conf_plan, job, options};
use crate::host::markers::{BOUNDARY_PREFIX, GATHER};
use crate::report::event::Events;
use crate::run::{Mode, Outcome};
use crate::transport::scripted::{Reply, ScriptedHost};

/// Garbled outputs, each with the words its error must contain.
fn garbled() -> Vec<(&'static str, Vec<u8>, String)> {
    let good = gather_reply(&[(CONF, Some(b"port = 80\n"))], &[], &[]);
    let b = boundary();
    let cut = good[..good.len() - 30].to_vec();
    let header = format!("{GATHER} {b}\n").len();
    let stray = [&good[..header], b"injected: not a section", &good[header..]].concat();
    let forged_boundary = format!("{GATHER} {BOUNDARY_PREFIX}short\n").into_bytes();
    let reordered =
        String::from_utf8_lossy(&good).replacen(&format!("{b} S\n"), &format!("{b} X\n"), 1);
    let foreign_stat =
        String::from_utf8_lossy(&good).replace(&format!(" {CONF}\0"), " /etc/shadow\0");
    vec![
        ("no output", Vec::new(), "no header line".to_owned()),
        (
            "not the protocol",
            b"hello\n".to_vec(),
            "unexpected first line \"hello\"".to_owned(),
        ),
        (
            "a short boundary",
            forged_boundary,
            "unexpected first line".to_owned(),
        ),
        (
            "output cut short",
            cut,
            "expected 5 sections, got 4".to_owned(),
        ),
        (
            "an unknown section",
            reordered.into_bytes(),
            "expected section `S`, got `X`".to_owned(),
        ),
        (
            "a stat record of another file",
            foreign_stat.into_bytes(),
            "a file changed on the host while it was being read (/etc/app/app.conf)".to_owned(),
        ),
        (
            "a stray line after the last section",
            stray,
            "stray bytes at offset ".to_owned(),
        ),
    ]
}

#[tokio::test]
async fn garbled_gather_output_stops_the_run_with_a_clear_error_and_touches_nothing() {
    for (name, output, words) in garbled() {
        let host = well_behaved(
            ScriptedHost::new().on(GATHER, Reply::ok(output)),
            Vec::new(),
            "",
        );
        let report = crate::engine::run_host(
            &transport(&host),
            &job(&conf_plan("port = 8080\n")),
            &options(Mode::Apply),
            &Events::default(),
        )
        .await;
        assert_eq!(report.outcome, Outcome::Failed, "{name}");
        let message = report.error.map(|e| e.message).unwrap_or_default();
        assert!(
            message.starts_with("gather: ") && message.contains(&words),
            "{name}: {message:?} does not say {words:?}"
        );
        assert!(
            ops(&host).iter().all(|op| *op == Op::Gather),
            "{name}: more than gathers: {:?}",
            ops(&host)
        );
    }
}

#[tokio::test]
async fn a_hostile_run_id_in_the_journal_is_never_read_back() {
    let gather = gather_reply(
        &[(CONF, Some(b"port = 8080\n"))],
        &["../../../etc", "20261206T000000Z-abc123; rm -rf /"],
        &[],
    );
    let host = well_behaved(ScriptedHost::new(), gather, "");
    let report = crate::engine::run_host(
        &transport(&host),
        &job(&conf_plan("port = 8080\n")),
        &options(Mode::Apply),
        &Events::default(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::InSync, "{:?}", report.error);
    assert_eq!(ops(&host), [Op::Gather]);
}
