//! Plans: the YAML an operator writes (`model`), loading and validating it (`load`),
//! and rendering it per host into concrete steps (`render`, `step`); `schema` is the
//! JSON Schema of the format.

pub mod facts;
pub mod load;
pub mod model;
pub mod render;
pub mod schema;
pub mod step;

/// Secrets shorter than this cannot be masked safely wherever they occur (`app` is also
/// part of `/files/app.ini`): they are masked only where they stand as a whole value, and
/// `cli` warns about them.
pub const MIN_SECRET_LEN: usize = 6;

pub use load::{Plan, PlanError, Play, StepDef, StepKind, load};
pub use render::{HostPlan, RenderError, merge_vars, render_play};
pub use step::{
    Action, Check, CommandAction, EditKind, Endpoint, FileEdit, NginxContext, Probe, Skipped, Step,
    TlsTarget,
};
