//! `drift` and `verify`: the plan compared or checked, nothing changed unless `--repair`.

use std::path::Path;

use super::prepare::prepare;
use super::run::{FleetRun, run_and_report};
use super::run_kind::RunKind;
use super::{BadInput, DriftArgs, TargetArgs};

pub(super) async fn drift(project: &Path, d: &DriftArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, &d.target, None, None)?;
    if d.repair {
        let run = FleetRun {
            kind: RunKind::Repair,
            diff: d.diff,
        };
        run_and_report(prepared, &d.target, run).await
    } else {
        let run = FleetRun {
            kind: RunKind::Drift,
            diff: d.diff,
        };
        run_and_report(prepared, &d.target, run).await
    }
}

pub(super) async fn verify(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    let run = FleetRun {
        kind: RunKind::Verify,
        diff: false,
    };
    run_and_report(prepared, t, run).await
}
