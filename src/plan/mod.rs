//! Plans: the YAML an operator writes (`model`), loading and validating it (`load`),
//! and rendering it per host into concrete steps (`render`, `step`); `schema` is the
//! JSON Schema of the format; `facts` and `fact_type` are the values a play reads on each
//! host and the grammar each must match.
//! `kinds` holds each step kind in a file of its own (its fields, checks and rendering).
//! `hints` adds did-you-mean and Ansible hints to unknown keys.

pub mod fact_type;
pub mod facts;
pub mod hints;
pub mod kinds;
pub mod load;
pub mod model;
pub mod render;
mod render_error;
pub mod schema;
pub mod step;

pub use kinds::{Kind, StepKind};
pub use load::{Plan, PlanError, Play, StepDef, load};
pub use render::{HostPlan, Inputs, PlanFacts, RenderError, merge_vars, render_play};
pub use step::{
    Action, Check, CommandAction, EditKind, Endpoint, FileEdit, NginxContext, Probe, Skipped, Step,
    TlsTarget,
};
