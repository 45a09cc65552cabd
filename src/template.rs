//! Template rendering for plan values: MiniJinja with strict undefined.
//!
//! Variables may themselves be templates (`websocket_url: "ws://{{ public_host }}/websocket"`);
//! they are resolved lazily, only when a rendered value uses them, so an unused variable that
//! references something undefined is not an error (as in Ansible). A missing variable is an
//! error naming the variable; cycles are detected.
//!
//! Values that come from a host (facts) are data ([`Renderer::with_data`]): they are
//! never rendered, so `{{ ... }}` in a host's file stays text. Every render has a fuel
//! bound ([`FUEL`]): a template that loops too long ends with an error instead of
//! holding a core.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// Why a value could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "undefined variable `{name}`{via}: define it in the inventory (host_vars/, group_vars/), the plan's `vars:`/`defaults:`, or pass -e {name}=VALUE"
    )]
    Undefined { name: String, via: String },
    #[error(
        "unsupported function `{name}(...)`: wsdeploy templates have no `{name}` (Ansible lookup and plugin functions do not exist here); put the value in a variable (inventory, the plan's `vars:`, or -e NAME=VALUE) and use `{{{{ NAME }}}}`"
    )]
    UnsupportedFunction { name: String },
    #[error("variable `{name}` refers to itself through {chain}")]
    Cycle { name: String, chain: String },
    #[error("template syntax error: {0}")]
    Syntax(String),
    #[error("template error: {0}")]
    Render(String),
    /// A filter MiniJinja does not have (said as [`TemplateError::Render`] says it).
    #[error("template error: {0}")]
    UnknownFilter(String),
    #[error(
        "template needs more than {FUEL} evaluation steps (a loop too large?): templates build configuration values, not computations"
    )]
    OutOfFuel,
}

/// The evaluation steps (MiniJinja fuel) one template or expression may take: far more
/// than any configuration value needs, far less than a second of work.
pub const FUEL: u64 = 200_000;

/// Renders templates against one host's variables.
pub struct Renderer {
    env: Environment<'static>,
    raw: Map<String, Value>,
    resolved: RefCell<HashMap<String, Value>>,
    resolving: RefCell<Vec<String>>,
}

impl Renderer {
    /// A renderer over the merged variables of one host.
    #[must_use]
    pub fn new(vars: Map<String, Value>) -> Self {
        Self::with_data(vars, Map::new())
    }

    /// A renderer over the merged variables of one host and `data`: values read from the
    /// host, which are never rendered (a `{{ ... }}` inside one stays text) and take the
    /// place of a variable of the same name.
    #[must_use]
    pub fn with_data(mut vars: Map<String, Value>, data: Map<String, Value>) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build();
        if let Ok(syntax) = syntax {
            env.set_syntax(syntax);
        }
        env.add_filter("quote", |value: String| crate::shell::quote(&value));
        for name in data.keys() {
            vars.remove(name);
        }
        Self {
            env,
            raw: vars,
            resolved: RefCell::new(data.into_iter().collect()),
            resolving: RefCell::new(Vec::new()),
        }
    }

    /// Renders one string. Strings without template syntax are returned unchanged.
    ///
    /// # Errors
    /// An undefined variable, a cycle between variables, or a syntax error.
    pub fn render(&self, source: &str) -> Result<String, TemplateError> {
        if !is_template(source) {
            return Ok(source.to_owned());
        }
        let template = self
            .env
            .template_from_str(source)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        let (context, missing) = self.context_for(source, template.undeclared_variables(false))?;
        let mut text = template
            .render(context)
            .map_err(|e| self.eval_error(&e, &missing))?;
        // A rendered field lives as long as its host's run, for every host at once.
        text.shrink_to_fit();
        Ok(text)
    }

    /// Renders a value keeping its type when it is exactly one `{{ expression }}`: a
    /// variable holding the number 9000 stays a number (as in Ansible), `"{{ x }}:80"` is
    /// a string. Other values are rendered as by [`Renderer::render_value`].
    ///
    /// # Errors
    /// As [`Renderer::render`].
    pub fn render_typed(&self, value: &Value) -> Result<Value, TemplateError> {
        let Value::String(source) = value else {
            return self.render_value(value);
        };
        let Some(expression) = single_expression(source) else {
            return self.render_value(value);
        };
        let compiled = self
            .env
            .compile_expression(expression)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        let (context, missing) =
            self.context_for(expression, compiled.undeclared_variables(false))?;
        let result = compiled
            .eval(context)
            .map_err(|e| self.eval_error(&e, &missing))?;
        if result.is_undefined() {
            return Err(TemplateError::Undefined {
                name: if missing.is_empty() {
                    expression.to_owned()
                } else {
                    missing.join("`, `")
                },
                via: self.via(),
            });
        }
        serde_json::to_value(&result).map_err(|e| TemplateError::Render(e.to_string()))
    }

    /// Evaluates a `when:` condition (a MiniJinja expression) to true or false. Names the
    /// host does not define stay undefined, so `x is defined` and `x | default(..)` work;
    /// any other use of an undefined name is an error (strict undefined).
    ///
    /// # Errors
    /// A syntax error, an unsupported function, or a use of an undefined variable.
    pub fn truthy(&self, expression: &str) -> Result<bool, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expression)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        let (context, missing) =
            self.context_for(expression, compiled.undeclared_variables(false))?;
        compiled
            .eval(context)
            .map(|v| v.is_true())
            .map_err(|e| self.eval_error(&e, &missing))
    }

    /// The resolved values of the variables a template or expression uses, and the names
    /// it uses that the host does not define. Those stay undefined (strict: any use is an
    /// error, but `x is defined` and `x | default(..)` work, as in Ansible); calling an
    /// undefined name (`lookup(...)`) is an unsupported function.
    fn context_for(
        &self,
        source: &str,
        names: impl IntoIterator<Item = String>,
    ) -> Result<(minijinja::Value, Vec<String>), TemplateError> {
        let needed: BTreeSet<String> = names.into_iter().collect();
        let mut context = Map::new();
        let mut missing = Vec::new();
        for name in needed {
            if let Some(value) = self.resolve(&name)? {
                context.insert(name, value);
            } else if is_builtin(&name) {
                continue;
            } else if called_as_function(source, &name) {
                return Err(TemplateError::UnsupportedFunction { name });
            } else {
                missing.push(name);
            }
        }
        let context = minijinja::Value::from(minijinja::value::Serde(Value::Object(context)));
        Ok((context, missing))
    }

    /// An evaluation error: a use of an undefined name names the name(s) the host lacks.
    fn eval_error(&self, e: &minijinja::Error, missing: &[String]) -> TemplateError {
        if e.kind() == minijinja::ErrorKind::OutOfFuel {
            return TemplateError::OutOfFuel;
        }
        if e.kind() == minijinja::ErrorKind::UnknownFilter {
            return TemplateError::UnknownFilter(describe(e));
        }
        if e.kind() == minijinja::ErrorKind::UndefinedError && !missing.is_empty() {
            TemplateError::Undefined {
                name: missing.join("`, `"),
                via: self.via(),
            }
        } else {
            TemplateError::Render(describe(e))
        }
    }

    /// Renders every string inside a JSON value (maps and lists included).
    ///
    /// # Errors
    /// As [`Renderer::render`].
    pub fn render_value(&self, value: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) => Value::String(self.render(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.render_value(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// The fully rendered value of a variable, if it is defined.
    ///
    /// # Errors
    /// As [`Renderer::render`], for templates inside the variable's value.
    pub fn var(&self, name: &str) -> Result<Option<Value>, TemplateError> {
        self.resolve(name)
    }

    fn resolve(&self, name: &str) -> Result<Option<Value>, TemplateError> {
        if let Some(v) = self.resolved.borrow().get(name) {
            return Ok(Some(v.clone()));
        }
        let Some(raw) = self.raw.get(name) else {
            return Ok(None);
        };
        if self.resolving.borrow().iter().any(|n| n == name) {
            let mut chain = self.resolving.borrow().clone();
            chain.push(name.to_owned());
            return Err(TemplateError::Cycle {
                name: name.to_owned(),
                chain: chain.join(" -> "),
            });
        }
        self.resolving.borrow_mut().push(name.to_owned());
        let rendered = self.render_value(raw);
        self.resolving.borrow_mut().pop();
        let rendered = rendered?;
        self.resolved
            .borrow_mut()
            .insert(name.to_owned(), rendered.clone());
        Ok(Some(rendered))
    }

    fn via(&self) -> String {
        let stack = self.resolving.borrow();
        if stack.is_empty() {
            String::new()
        } else {
            format!(" (used by variable `{}`)", stack.join("` -> `"))
        }
    }
}

/// The expression inside `{{ ... }}` when that is the whole string.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then(|| inner.trim())
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Whether `source` calls `name` as a function (`lookup('env', 'HOME')`): an undefined
/// name used that way is an Ansible function wsdeploy does not have, not a variable.
#[must_use]
pub fn called_as_function(source: &str, name: &str) -> bool {
    if is_template(source) {
        template_code(source).any(|code| calls(code, name))
    } else {
        // A bare expression (`when:`) is code throughout.
        calls(source, name)
    }
}

/// The parts of a template that are code (`{{ … }}` and `{% … %}`), not literal text.
fn template_code(source: &str) -> impl Iterator<Item = &str> {
    let mut rest = source;
    std::iter::from_fn(move || {
        let open = ["{{", "{%"]
            .iter()
            .filter_map(|o| rest.find(o).map(|at| (at, *o)))
            .min_by_key(|(at, _)| *at)?;
        let close = if open.1 == "{{" { "}}" } else { "%}" };
        let body = &rest[open.0 + 2..];
        let end = body.find(close).unwrap_or(body.len());
        let code = &body[..end];
        rest = &body[(end + close.len()).min(body.len())..];
        Some(code)
    })
}

fn calls(code: &str, name: &str) -> bool {
    let mut rest = code;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].trim_start();
        let starts_word = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        if starts_word && after.starts_with('(') {
            return true;
        }
        rest = &rest[at + name.len()..];
    }
    false
}

/// Whether `source` only uses `name` behind a definedness test or a default
/// (`name is defined`, `name is undefined`, `name | default(..)`), so a host without it
/// is fine.
#[must_use]
pub fn guarded(source: &str, name: &str) -> bool {
    let pattern = format!(
        r"(^|[^\w.]){}\s*(is\s+(not\s+)?(defined|undefined|none)\b|\|\s*(default|d)\b)",
        regex::escape(name)
    );
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(source))
}

/// Names MiniJinja provides itself (globals and loop variables).
#[must_use]
pub fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "range" | "dict" | "namespace" | "loop" | "true" | "false" | "none"
    )
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    if let Some(detail) = e.detail()
        && !text.contains(detail)
    {
        text.push_str(": ");
        text.push_str(detail);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn plain_strings_pass_through_untouched() {
        let r = Renderer::new(Map::new());
        assert_eq!(
            r.render("map $http_upgrade {").as_deref(),
            Ok("map $http_upgrade {")
        );
    }

    #[test]
    fn nested_variables_resolve_lazily() {
        let r = Renderer::new(vars(json!({
            "public_host": "203.0.113.7",
            "websocket_url": "ws://{{ public_host }}/websocket",
            "unused": "{{ nowhere }}"
        })));
        assert_eq!(
            r.render("websocket_url = {{ websocket_url }}").as_deref(),
            Ok("websocket_url = ws://203.0.113.7/websocket")
        );
    }

    #[test]
    fn undefined_variable_is_named() {
        let r = Renderer::new(vars(json!({"a": "{{ site_conf }}"})));
        assert_eq!(
            r.render("{{ a }}").map_err(|e| e.to_string()),
            Err("undefined variable `site_conf` (used by variable `a`): define it in the inventory (host_vars/, group_vars/), the plan's `vars:`/`defaults:`, or pass -e site_conf=VALUE".to_owned())
        );
    }

    #[test]
    fn cycles_are_reported() {
        let r = Renderer::new(vars(json!({"a": "{{ b }}", "b": "{{ a }}"})));
        assert!(matches!(
            r.render("{{ a }}"),
            Err(TemplateError::Cycle { .. })
        ));
    }

    #[test]
    fn quote_filter_makes_values_inert_shell_words() {
        let r = Renderer::new(vars(json!({"v": "a'b; $(touch x)"})));
        assert_eq!(
            r.render("echo {{ v | quote }}").as_deref(),
            Ok("echo 'a'\\''b; $(touch x)'")
        );
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let r = Renderer::new(vars(json!({"port": 9000, "on": true, "host": "h"})));
        assert_eq!(r.render_typed(&json!("{{ port }}")), Ok(json!(9000)));
        assert_eq!(r.render_typed(&json!("{{ on }}")), Ok(json!(true)));
        assert_eq!(
            r.render_typed(&json!("{{ host }}:{{ port }}")),
            Ok(json!("h:9000"))
        );
        assert_eq!(
            r.render_typed(&json!("{{ port | string }}")),
            Ok(json!("9000"))
        );
        assert!(matches!(
            r.render_typed(&json!("{{ nope }}")),
            Err(TemplateError::Undefined { .. })
        ));
    }

    #[test]
    fn function_calls_are_unsupported_functions_not_variables() {
        let r = Renderer::new(vars(json!({"x": "1"})));
        assert_eq!(
            r.render("{{ lookup('env', 'HOME') }}"),
            Err(TemplateError::UnsupportedFunction {
                name: "lookup".into()
            })
        );
        assert!(matches!(
            r.render("{{ lookup }}"),
            Err(TemplateError::Undefined { .. })
        ));
        assert!(called_as_function("a {{ query ('x') }}", "query"));
        assert!(!called_as_function("{{ x.lookup('a') }}", "lookup"));
        assert!(!called_as_function("{{ mylookup('a') }}", "lookup"));
        assert!(!called_as_function("port ({{ port }})", "port"));
        assert!(called_as_function("lookup('env', 'X') == 'a'", "lookup"));
    }

    #[test]
    fn conditions_are_strict_but_allow_is_defined() {
        let r = Renderer::new(vars(json!({"kind": "odoo", "port": 8072})));
        assert_eq!(r.truthy("kind == 'odoo'"), Ok(true));
        assert_eq!(r.truthy("port > 9000"), Ok(false));
        assert_eq!(r.truthy("cert is defined"), Ok(false));
        assert_eq!(r.truthy("cert is undefined and kind == 'odoo'"), Ok(true));
        assert!(matches!(
            r.truthy("cert == 'x'"),
            Err(TemplateError::Undefined { .. })
        ));
        assert!(matches!(r.truthy("kind =="), Err(TemplateError::Syntax(_))));
        assert!(matches!(
            r.truthy("lookup('env', 'X')"),
            Err(TemplateError::UnsupportedFunction { .. })
        ));
    }

    #[test]
    fn is_defined_guards_work_in_templates() {
        let r = Renderer::new(vars(json!({"x": "1"})));
        assert_eq!(
            r.render("{% if cert is defined %}ssl {{ cert }}{% endif %}x={{ x }}")
                .as_deref(),
            Ok("x=1")
        );
        assert_eq!(
            r.render("{{ cert | default('none') }}").as_deref(),
            Ok("none")
        );
        assert!(matches!(
            r.render("{{ cert }}"),
            Err(TemplateError::Undefined { .. })
        ));
    }

    #[test]
    fn guards_are_recognised() {
        assert!(guarded(
            "{% if cert is defined %}{{ cert }}{% endif %}",
            "cert"
        ));
        assert!(guarded("{{ cert | default('x') }}", "cert"));
        assert!(guarded("cert is not none", "cert"));
        assert!(!guarded("{{ cert }}", "cert"));
        assert!(!guarded("{{ mycert is defined }}", "cert"));
    }

    #[test]
    fn trailing_newline_is_kept() {
        let r = Renderer::new(vars(json!({"x": "1"})));
        assert_eq!(r.render("a={{ x }}\n").as_deref(), Ok("a=1\n"));
    }

    #[test]
    fn undefined_attribute_is_an_error() {
        let r = Renderer::new(vars(json!({"x": {"y": 1}})));
        assert!(r.render("{{ x.z }}").is_err());
    }

    #[test]
    fn data_is_never_rendered() {
        let mut data = Map::new();
        data.insert("port".into(), json!("8000; # {{ secret }}"));
        let r = Renderer::with_data(vars(json!({"secret": "hunter22", "port": 1})), data);
        assert_eq!(
            r.render("listen {{ port }};").as_deref(),
            Ok("listen 8000; # {{ secret }};")
        );
        assert_eq!(r.var("port"), Ok(Some(json!("8000; # {{ secret }}"))));
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel_quickly() {
        let r = Renderer::new(Map::new());
        let started = std::time::Instant::now();
        let result = r.render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        );
        assert_eq!(result, Err(TemplateError::OutOfFuel));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(
            r.truthy("range(100000) | map('string') | join | length > 1"),
            Err(TemplateError::OutOfFuel)
        );
    }
}
