//! `drift` and `verify`: the plan compared or checked, nothing changed unless `--repair`.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn drift(project: &Path, d: &DriftArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, &d.target, None, None)?;
    if d.repair {
        run_and_report(prepared, &d.target, Mode::Apply, "repair", false, d.diff).await
    } else {
        run_and_report(prepared, &d.target, Mode::DryRun, "drift", true, d.diff).await
    }
}

pub(super) async fn verify(project: &Path, t: &TargetArgs) -> Result<u8, BadInput> {
    let prepared = prepare(project, t, None, None)?;
    run_and_report(prepared, t, Mode::Verify, "verify", false, false).await
}
