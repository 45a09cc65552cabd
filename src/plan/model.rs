//! The plan file format: what an operator writes in `plans/*.yml`.
//!
//! Parsed strictly: every struct denies unknown fields so a typo is an error that names
//! the file, line and column and lists the expected keys. Values stay raw template
//! strings here; `plan::render` turns them into concrete per-host steps.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

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

/// Ensure nginx directives/blocks exist exactly once in a context of a file.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NginxSpec {
    /// Absolute path of the nginx file to edit (a template).
    pub file: String,
    /// `main`, `http` or `server`.
    pub context: String,
    /// With `context: server`: pick the server block whose `server_name` has this name.
    pub server_name: Option<String>,
    /// With `context: server`: pick the server block with this `listen` value.
    pub listen: Option<String>,
    /// With `context: server`: the host name users open (`{{ public_host }}`); without `server_name`/`listen`, the
    /// server block nginx uses for it (on `port`) is edited, as nginx picks it across every file it loads.
    pub host: Option<String>,
    /// With `host`: the port users reach nginx on (`{{ public_port }}`; default 80).
    pub port: Option<String>,
    /// The directives/blocks that must exist, in nginx syntax.
    pub ensure: String,
    /// With `context: server`: an `upstream` of `ensure` is not defined when the chosen server block already
    /// proxies (`proxy_pass http://NAME`) to an upstream nginx loads whose every `server` is on the same port;
    /// the snippet's `proxy_pass` lines then name that upstream. Several such upstreams: the snippet's is added,
    /// with a comment naming them.
    #[serde(default)]
    pub reuse_upstream: bool,
}

/// Set keys in an INI section (odoo.conf), keeping comments and order.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IniSpec {
    /// Absolute path of the INI file (a template).
    pub file: String,
    /// Section to edit (default `options`).
    #[serde(default = "default_ini_section")]
    pub section: String,
    /// Keys and values to set (strings are templates; booleans become True/False).
    pub set: Map<String, Value>,
    /// Add the section when the file lacks it (default: a missing section is an error,
    /// since it usually means the path points at the wrong file).
    #[serde(default)]
    pub create_section: bool,
}

fn default_ini_section() -> String {
    "options".to_owned()
}

/// Set top-level keys of a JSON object file, keeping key order and indentation.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSpec {
    /// Absolute path of the JSON file (a template).
    pub file: String,
    /// Top-level keys and values to set (a lone `{{ var }}` keeps the variable's type).
    pub set: Map<String, Value>,
}

/// Whole-file content.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Absolute path of the file (a template).
    pub path: String,
    /// The whole content (a template). Exactly one of `content` and `content_from`.
    pub content: Option<String>,
    /// A template file holding the content, relative to the plan file
    /// (`templates/site.conf.j2`); read when the plan is loaded.
    pub content_from: Option<String>,
    /// Octal mode for a file that does not exist yet, as a string (`"0644"`).
    pub mode: Option<String>,
}

/// Ensure one line exists (replacing the first line that matches `match`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    /// Absolute path of the text file (a template).
    pub file: String,
    /// The line that must be present (one line, a template).
    pub line: String,
    /// A regular expression: the first matching line is replaced by `line` (else `line` is appended).
    #[serde(rename = "match")]
    pub matches: Option<String>,
}

/// Ensure pip requirements in a `requirements.txt`, one per distribution, never duplicated.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementsSpec {
    /// Absolute path of the requirements.txt (a template).
    pub file: String,
    /// Requirement specifiers (`uvicorn[standard]`, `websockets>=12`): one per distribution, replacing an existing one.
    pub ensure: Vec<String>,
}

/// Bind every `ports:` entry of a docker-compose service that publishes `container_port`
/// on all addresses to `bind`, changing only those entries' bytes (comments, quoting and
/// layout stay). The container keeps its old ports until it is recreated
/// (`docker compose up -d SERVICE`; a restart is not enough).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposePortsSpec {
    /// Absolute path of the docker-compose file (a template).
    pub file: String,
    /// The service whose `ports:` are edited (a template).
    pub service: String,
    /// The container port (a number, or a template such as `"{{ odoo_http_port }}"`).
    pub container_port: Value,
    /// The address to publish on (default `127.0.0.1`).
    #[serde(default = "default_bind")]
    pub bind: String,
}

fn default_bind() -> String {
    "127.0.0.1".to_owned()
}

/// A health check. Exactly one of `websocket`, `http`, `command`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// A WebSocket handshake.
    pub websocket: Option<WebSocketCheckSpec>,
    /// An HTTP request.
    pub http: Option<HttpCheckSpec>,
    /// A command and its output.
    pub command: Option<CommandCheckSpec>,
}

/// A real WebSocket handshake sent from the host's point of view (through the SSH tunnel).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSocketCheckSpec {
    /// `http://127.0.0.1/websocket?version=17.0-3` or `ws://...`: the address as the host sees it.
    pub url: String,
    /// The `Origin` header to send; omit to send none.
    pub origin: Option<String>,
    /// The `Host` header, when it must differ from the URL's host.
    pub host: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// Expected status (default 101).
    pub status: Option<u16>,
    /// With an `https://`/`wss://` URL: the name sent as SNI and checked in the certificate
    /// (default: the URL's host; plans pass `public_host`).
    pub tls_name: Option<String>,
    /// With an `https://`/`wss://` URL: PEM CA certificates (on the machine running
    /// wsdeploy) to trust instead of the Mozilla root store; empty means the root store.
    pub ca_file: Option<String>,
}

/// An HTTP request sent from the host's point of view.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckSpec {
    /// `http://127.0.0.1/web/health`: the address as the host sees it.
    pub url: String,
    /// Extra request headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// Expected status (default 200).
    pub status: Option<u16>,
    /// Text the body must contain.
    pub contains: Option<String>,
    /// With an `https://`/`wss://` URL: the name sent as SNI and checked in the certificate
    /// (default: the URL's host; plans pass `public_host`).
    pub tls_name: Option<String>,
    /// With an `https://`/`wss://` URL: PEM CA certificates (on the machine running
    /// wsdeploy) to trust instead of the Mozilla root store; empty means the root store.
    pub ca_file: Option<String>,
}

/// A command run on the host whose output must (not) contain a text.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandCheckSpec {
    /// The command (a template).
    pub run: String,
    /// Text the output (stdout and stderr) must contain.
    pub contains: Option<String>,
    /// Text the output must not contain.
    pub not_contains: Option<String>,
    /// Exit codes that pass (default `[0]`).
    pub expect_exit: Option<Vec<i32>>,
}
