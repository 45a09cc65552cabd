//! The plan file format: what an operator writes in `plans/*.yml`.
//!
//! Parsed strictly: every struct denies unknown fields so a typo is an error that names
//! the file, line and column and lists the expected keys. Values stay raw template
//! strings here; `plan::render` turns them into concrete per-host steps. Each kind's own
//! fields (`NginxSpec`, …) are in its file in `plan::kinds`; a step as written
//! ([`StepSpec`]) has a field per kind, and `plan::load` turns it into one
//! `plan::kinds::StepKind`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::kinds::compose_ports::ComposePortsSpec;
use super::kinds::file::FileSpec;
use super::kinds::ini::IniSpec;
use super::kinds::json::JsonSpec;
use super::kinds::line::LineSpec;
use super::kinds::nginx::NginxSpec;
use super::kinds::requirements::RequirementsSpec;
use super::kinds::verify::VerifySpec;

/// One plan file: either a play (`hosts` + `steps`) or a list of `import`ed plan files.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(title = "wsdeploy plan")]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Human name shown in reports and journals.
    pub name: String,
    /// Other plan files (relative to this one) whose plays run in order, e.g. `site.yml`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub import: Vec<Spanned<String>>,
    /// Inventory pattern this play targets (`odoo`, `web:&prod`, `all`).
    pub hosts: Option<String>,
    /// Lowest-precedence variables (below the inventory), like an Ansible role's defaults.
    #[serde(default)]
    pub defaults: Map<String, Value>,
    /// Play variables: above the inventory, below `-e`, as in Ansible.
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// Names of variables whose values are masked in every output, diff and journal.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Variables read from a file on each host before the play is rendered for it.
    #[serde(default)]
    #[schemars(with = "Vec<FactSpec>")]
    pub facts: Vec<Spanned<FactSpec>>,
    /// Checks that must pass before anything changes, and that prove health after a rollback.
    #[serde(default)]
    #[schemars(with = "Vec<StepSpec>")]
    pub preflight: Vec<Spanned<StepSpec>>,
    /// The ordered, idempotent steps.
    #[serde(default)]
    #[schemars(with = "Vec<StepSpec>")]
    pub steps: Vec<Spanned<StepSpec>>,
}

/// A variable read from a file on the host: a top-level key of a JSON file (`json:`, for
/// example `socketio_port` from a bench's `sites/common_site_config.json`), a key of an
/// INI section (`ini:` + `section:`, for example `workers` in odoo.conf's `[options]`), or
/// whether a path exists (`exists:`, a boolean), or a long option on the command line of a
/// systemd unit's running main process (`cmdline:`, for example `--workers` of
/// `odoo.service`). Exactly one of `json`, `ini`, `exists`, `cmdline`.
/// It takes the place of the play's default: a value set in the inventory, `vars:` or `-e`
/// wins and the file is not read for it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactSpec {
    /// The variable it sets.
    pub name: String,
    /// A JSON object file (a template, rendered with the host's variables).
    pub json: Option<String>,
    /// An INI file read as configparser (and so Odoo) reads it (a template).
    pub ini: Option<String>,
    /// The INI section of `key` (with `ini:` only); `[DEFAULT]` values apply as in
    /// configparser.
    pub section: Option<String>,
    /// A path (a template): the fact is `true` when it exists on the host, else `false`.
    pub exists: Option<String>,
    /// A systemd unit (a template): its running main process's command line is read, and
    /// `key` is a long option (`workers` reads `--workers=N` or `--workers N`; the last one
    /// counts). `default` when the unit does not run or the option is not there.
    pub cmdline: Option<String>,
    /// The key to read (`json:`: top-level; `ini:`: in `section`; `cmdline:`: a long
    /// option without its dashes); none with `exists:`.
    #[serde(default)]
    pub key: String,
    /// The value when the file or the key is missing, or the key's value is null, false,
    /// 0 or "" (what Frappe's `node_utils.js` treats as unset); in an INI file, empty,
    /// `False`, `None` or `0` (what Odoo's config reads as unset). A literal of the fact's
    /// type, never a template.
    pub default: Value,
    /// What the value must be (`port`, `integer`, `boolean`, `host_name`, `site_name`,
    /// `word`, `path`); a value read that is not is refused. Without it: `integer` for an
    /// integer default, `boolean` for a boolean one, `word` for a string.
    #[serde(rename = "type", default)]
    pub kind: Option<super::fact_type::FactType>,
}

/// One step as written. Exactly one of the kind fields (`nginx`, `ini`, `json`, `file`,
/// `line`, `requirements`, `compose_ports`, `command`, `verify`) must be present.
// `Serialize` gives the schema the `default: []` of `preflight` and `steps`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Name other steps use in `if_changed`.
    pub id: Option<String>,
    /// Description shown in reports.
    pub name: Option<String>,
    /// What to check when this step fails, shown with the failure.
    pub hint: Option<String>,
    /// A `command` runs only if one of these steps changed something in this run (without
    /// `if_changed`, `unless` or `creates`, it runs on every apply).
    #[serde(default)]
    pub if_changed: Vec<String>,
    /// Run the step only for hosts where this MiniJinja expression is true (a list: all of
    /// them), e.g. `app_kind == "odoo"` or `tls_cert is defined`. A false condition skips
    /// the step and the report says so.
    pub when: Option<When>,
    /// Ensure nginx directives/blocks in a file (structural, include-aware).
    pub nginx: Option<NginxSpec>,
    /// Set keys in an INI section (odoo.conf).
    pub ini: Option<IniSpec>,
    /// Set top-level keys of a JSON object file.
    pub json: Option<JsonSpec>,
    /// Manage a whole file's content.
    pub file: Option<FileSpec>,
    /// Ensure one line in a text file.
    pub line: Option<LineSpec>,
    /// Ensure pip requirements in a requirements.txt.
    pub requirements: Option<RequirementsSpec>,
    /// Bind a port a docker-compose service publishes on all addresses to one address.
    pub compose_ports: Option<ComposePortsSpec>,
    /// A shell command run on the host (a template; use `| quote` for values).
    pub command: Option<String>,
    /// A `command` also runs when this shell command, run on the host while wsdeploy reads
    /// it (dry runs too), fails: a state files cannot show, such as a running environment
    /// that lacks a library. It must change nothing.
    pub unless: Option<String>,
    /// A `command` runs only when this absolute path does not exist on the host (Ansible's
    /// `creates`): a command that makes the path runs once.
    pub creates: Option<String>,
    /// Exit codes a `command` may return (default `[0]`).
    pub expect_exit: Option<Vec<i32>>,
    /// Seconds a `command` or check may take (default 120).
    pub timeout: Option<u64>,
    /// A health check: a WebSocket handshake, an HTTP request or a command.
    pub verify: Option<VerifySpec>,
    /// Attempts for a `verify` step before it fails (default 10).
    pub retries: Option<u32>,
    /// Seconds between `verify` attempts (default 1).
    pub delay: Option<f64>,
    /// A failing `verify` is reported as a warning (with the hint) instead of stopping the
    /// run: for findings the operator should act on that the plan does not fix by itself.
    #[serde(default)]
    pub warn_only: bool,
}

/// A `when:` condition: one expression, or a list that must all be true.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum When {
    One(String),
    All(Vec<String>),
}

impl When {
    /// The expressions, in order.
    #[must_use]
    pub fn expressions(&self) -> Vec<&str> {
        match self {
            Self::One(e) => vec![e.as_str()],
            Self::All(list) => list.iter().map(String::as_str).collect(),
        }
    }
}
