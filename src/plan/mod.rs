//! Plans: the YAML an operator writes (`model`), loading and validating it (`load`),
//! and rendering it per host into concrete steps (`render`, `step`); `schema` is the
//! JSON Schema of the format; `hints` adds did-you-mean and Ansible hints to unknown keys.

pub mod facts;
pub mod hints;
pub mod load;
pub mod model;
pub mod render;
pub mod schema;
pub mod step;

pub use load::{Plan, PlanError, Play, StepDef, StepKind, load};
pub use render::{HostPlan, RenderError, merge_vars, render_play};
pub use step::{
    Action, Check, CommandAction, EditKind, Endpoint, FileEdit, NginxContext, Probe, Skipped, Step,
    TlsTarget,
};
