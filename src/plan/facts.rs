//! Facts: variables a play reads from a file on each host (`facts:`): a JSON key such as
//! `socketio_port` from a bench's `sites/common_site_config.json`, an INI key such as
//! `workers` from odoo.conf's `[options]`, whether a path exists, or a long option on the
//! command line of a systemd unit's running main process (`--workers` of odoo.service).
//!
//! Pure: which files to read for a host ([`prepare`]), the value a file gives
//! ([`value_of`] for JSON, [`ini_value`] for the text of an INI key (the INI reading
//! itself is `edit::ini`, used by `crate::facts`), [`exists_value`], [`cmdline_value`]:
//! checked against the fact's type) and the play rendered again with the values read
//! ([`Pending::render`], which `render` defines: this module does not depend on it). A
//! value read from a host is data: never rendered as a template, and of its fact's type
//! (`fact_type`) or refused. Reading the files on the host is `crate::facts`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::fact_type::FactType;
use super::load::Play;
use super::render_error::RenderError;
use crate::template::Renderer;

/// One file value to read on a host.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRequest {
    /// The variable it sets.
    pub name: String,
    /// The file, rendered for the host.
    pub path: String,
    /// What the file is read as.
    pub source: FactSource,
    pub key: String,
    pub default: Value,
    /// What the value must be.
    pub kind: FactType,
}

/// How a fact's file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactSource {
    /// A top-level key of a JSON object.
    Json,
    /// A key of this section of an INI file (configparser's dialect).
    Ini { section: String },
    /// Whether the path exists.
    Exists,
    /// A long option on the command line of a systemd unit's running main process (the
    /// request's `path` is the unit).
    Cmdline,
}

/// A play rendered with its facts' defaults, to be rendered again once the host's files
/// are read.
#[derive(Debug, Clone)]
pub struct Pending {
    pub(super) play: Arc<Play>,
    pub(super) host: String,
    pub(super) vars: Map<String, Value>,
    /// The secrets the first rendering masked (the run's and the play's): the same list
    /// masks the plan rendered again.
    pub masked: Vec<String>,
    pub requests: Vec<FactRequest>,
}

impl Pending {
    /// The facts' defaults, the values offline rendering uses.
    #[must_use]
    pub fn defaults(&self) -> Map<String, Value> {
        self.requests
            .iter()
            .map(|r| (r.name.clone(), r.default.clone()))
            .collect()
    }
}

/// The facts the host must be asked for (those `explicit` does not say the inventory,
/// the play's `vars:` or `-e` set), with their files rendered from `vars` (and the
/// facts' defaults); `masked` are the run's secrets, masked in any error.
///
/// # Errors
/// A fact's file path that cannot be rendered.
pub fn prepare(
    play: &Arc<Play>,
    host: &str,
    explicit: impl Fn(&str) -> bool,
    vars: &Map<String, Value>,
    masked: &[String],
) -> Result<Option<Pending>, RenderError> {
    let wanted: Vec<_> = play.facts.iter().filter(|f| !explicit(&f.name)).collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let defaults = wanted
        .iter()
        .map(|f| (f.name.clone(), f.default.clone()))
        .collect();
    let renderer = Renderer::with_data(vars.clone(), defaults);
    let mut requests = Vec::with_capacity(wanted.len());
    for fact in wanted {
        let (field, template, source) = match (&fact.json, &fact.ini, &fact.exists) {
            (Some(json), _, _) => ("json", json, FactSource::Json),
            (None, Some(ini), _) => (
                "ini",
                ini,
                FactSource::Ini {
                    section: fact.section.clone().unwrap_or_default(),
                },
            ),
            (None, None, Some(exists)) => ("exists", exists, FactSource::Exists),
            (None, None, None) => match &fact.cmdline {
                Some(unit) => ("cmdline", unit, FactSource::Cmdline),
                None => continue,
            },
        };
        let path = renderer.render(template).map_err(|e| RenderError {
            origin: Box::new(crate::location::Location::file(
                play.file.display().to_string(),
            )),
            step: format!("facts: {}", fact.name),
            host: host.to_owned(),
            message: crate::mask::mask(&format!("`{field}`: {e}"), masked),
            cause: super::render_error::Cause::of_template(&e),
        })?;
        requests.push(FactRequest {
            name: fact.name.clone(),
            path,
            source,
            key: fact.key.clone(),
            default: fact.default.clone(),
            kind: fact
                .kind
                .or_else(|| FactType::inferred(&fact.default))
                .unwrap_or(FactType::Word),
        });
    }
    Ok(Some(Pending {
        play: Arc::clone(play),
        host: host.to_owned(),
        vars: vars.clone(),
        masked: masked.to_vec(),
        requests,
    }))
}

/// The value `request` takes from the file's bytes (`None`: the file does not exist),
/// of the fact's type.
///
/// # Errors
/// The file is not a JSON object, or the key's value is not of the fact's type (the
/// message names the file and the key).
pub fn value_of(request: &FactRequest, file: Option<&[u8]>) -> Result<Value, String> {
    let Some(bytes) = file else {
        return Ok(request.default.clone());
    };
    let parsed: Value = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "{}: not JSON ({e}); fix the file or set `{}` in the inventory",
            request.path, request.name
        )
    })?;
    let Value::Object(object) = parsed else {
        return Err(format!(
            "{}: not a JSON object; fix the file or set `{}` in the inventory",
            request.path, request.name
        ));
    };
    let value = match object.get(&request.key) {
        None | Some(Value::Null | Value::Bool(false)) => return Ok(request.default.clone()),
        Some(Value::String(s)) if s.is_empty() => return Ok(request.default.clone()),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => return Ok(request.default.clone()),
        Some(v) => v,
    };
    request.kind.check(value).map_err(|e| {
        format!(
            "{}: key `{}`: {e} (the fact's type is `{}`): refused, nothing was changed; fix the file on the host or set `{}` in the inventory",
            request.path,
            request.key,
            request.kind.name(),
            request.name
        )
    })
}

/// The value `request` takes from the text of its INI key (`None`: the file, the section
/// or the key is missing), of the fact's type. Empty, `False`, `None` and `0` are unset (the
/// default), as Odoo's config reads them; `True`/`true` is a boolean's true.
///
/// # Errors
/// The text is not of the fact's type (the message names the file, section and key).
pub fn ini_value(request: &FactRequest, text: Option<&str>) -> Result<Value, String> {
    let Some(text) = text.map(str::trim) else {
        return Ok(request.default.clone());
    };
    if matches!(text, "" | "False" | "false" | "None" | "0") {
        return Ok(request.default.clone());
    }
    let value = match (request.kind, text) {
        (FactType::Boolean, "True" | "true") => Value::Bool(true),
        _ => Value::String(text.to_owned()),
    };
    let section = match &request.source {
        FactSource::Ini { section } => section.as_str(),
        _ => "",
    };
    request.kind.check(&value).map_err(|e| {
        format!(
            "{}: [{section}] `{}`: {e} (the fact's type is `{}`): refused, nothing was changed; fix the file on the host or set `{}` in the inventory",
            request.path,
            request.key,
            request.kind.name(),
            request.name
        )
    })
}

/// The value `request` takes from a NUL-separated command line (`None`: the unit does
/// not run): the argument of the last `--KEY=VALUE` or `--KEY VALUE`, of the fact's type;
/// the default when the option is not there. Arguments after `--` are not options.
///
/// # Errors
/// The value is not of the fact's type (the message names the unit and the option).
pub fn cmdline_value(request: &FactRequest, cmdline: Option<&[u8]>) -> Result<Value, String> {
    let Some(bytes) = cmdline else {
        return Ok(request.default.clone());
    };
    let option = format!("--{}", request.key);
    let args: Vec<&[u8]> = bytes
        .strip_suffix(b"\0")
        .unwrap_or(bytes)
        .split(|b| *b == 0)
        .collect();
    let mut found: Option<&[u8]> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        if arg == b"--" {
            break;
        }
        if arg == option.as_bytes() {
            found = args.get(i + 1).copied();
            i += 1;
        } else if let Some(value) = arg
            .strip_prefix(option.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
        {
            found = Some(value);
        }
        i += 1;
    }
    let Some(raw) = found else {
        return Ok(request.default.clone());
    };
    let value = Value::String(String::from_utf8_lossy(raw).into_owned());
    request.kind.check(&value).map_err(|e| {
        format!(
            "the running {} has `{option}` {}: {e} (the fact's type is `{}`): refused, nothing was changed; fix the unit's command line or set `{}` in the inventory",
            request.path,
            value,
            request.kind.name(),
            request.name
        )
    })
}

/// An `exists:` fact's value: whether the file was there.
#[must_use]
pub fn exists_value(file: Option<&[u8]>) -> Value {
    Value::Bool(file.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> FactRequest {
        FactRequest {
            name: "socketio_port".into(),
            path: "/b/sites/common_site_config.json".into(),
            source: FactSource::Json,
            key: "socketio_port".into(),
            default: json!(3000),
            kind: FactType::Port,
        }
    }

    #[test]
    fn a_set_key_gives_its_value_and_an_unset_one_the_default() {
        let r = request();
        assert_eq!(
            value_of(&r, Some(b"{\n \"socketio_port\": 9050\n}")),
            Ok(json!(9050))
        );
        assert_eq!(
            value_of(&r, Some(b"{\"webserver_port\": 8000}")),
            Ok(json!(3000))
        );
        assert_eq!(value_of(&r, None), Ok(json!(3000)));
        for unset in ["null", "false", "0", "\"\""] {
            let text = format!("{{\"socketio_port\": {unset}}}");
            assert_eq!(
                value_of(&r, Some(text.as_bytes())),
                Ok(json!(3000)),
                "{unset}"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_a_json_object_is_an_error_naming_it() {
        let r = request();
        let e = value_of(&r, Some(b"{ \"socketio_port\": ")).unwrap_err();
        assert!(
            e.starts_with("/b/sites/common_site_config.json: not JSON"),
            "{e}"
        );
        let e = value_of(&r, Some(b"[9000]")).unwrap_err();
        assert!(e.contains("not a JSON object"), "{e}");
    }

    #[test]
    fn a_value_not_of_the_facts_type_is_refused_naming_file_and_key() {
        let r = request();
        let e = value_of(
            &r,
            Some(br#"{"socketio_port": "9000; # {{ ansible_become_password }}"}"#),
        )
        .unwrap_err();
        assert!(
            e.starts_with("/b/sites/common_site_config.json: key `socketio_port`: "),
            "{e}"
        );
        assert!(e.contains("is not a port"), "{e}");
        assert_eq!(
            value_of(&r, Some(br#"{"socketio_port": "9050"}"#)),
            Ok(json!(9050))
        );
    }

    fn ini_request(key: &str, default: Value, kind: FactType) -> FactRequest {
        FactRequest {
            name: format!("odoo_{key}"),
            path: "/etc/odoo/odoo.conf".into(),
            source: FactSource::Ini {
                section: "options".into(),
            },
            key: key.into(),
            default,
            kind,
        }
    }

    #[test]
    fn an_ini_value_is_typed_and_odoos_unset_spellings_give_the_default() {
        let r = ini_request("gevent_port", json!(8072), FactType::Port);
        assert_eq!(ini_value(&r, Some(" 8073 ")), Ok(json!(8073)));
        for unset in [None, Some(""), Some("False"), Some("None"), Some("0")] {
            assert_eq!(ini_value(&r, unset), Ok(json!(8072)), "{unset:?}");
        }
        let e = ini_value(&r, Some("8072; include /etc/passwd")).unwrap_err();
        assert!(
            e.starts_with("/etc/odoo/odoo.conf: [options] `gevent_port`: "),
            "{e}"
        );
        assert!(e.contains("is not a port"), "{e}");
        let b = ini_request("proxy_mode", json!(false), FactType::Boolean);
        assert_eq!(ini_value(&b, Some("True")), Ok(json!(true)));
        assert_eq!(ini_value(&b, Some("False")), Ok(json!(false)));
    }

    fn cmdline_request(key: &str) -> FactRequest {
        FactRequest {
            name: format!("odoo_cmdline_{key}"),
            path: "odoo".into(),
            source: FactSource::Cmdline,
            key: key.into(),
            default: json!(-1),
            kind: FactType::Integer,
        }
    }

    #[test]
    fn a_long_option_of_the_running_command_line_is_read_in_both_spellings() {
        let argv = b"python3\0/usr/bin/odoo\0--config\0/etc/odoo/odoo.conf\0--workers=2\0--gevent-port\x008073\0";
        let workers = cmdline_request("workers");
        assert_eq!(cmdline_value(&workers, Some(argv)), Ok(json!(2)));
        let gevent = cmdline_request("gevent-port");
        assert_eq!(cmdline_value(&gevent, Some(argv)), Ok(json!(8073)));
        // Not there, or the unit does not run: the default. A prefix is another option.
        let http = cmdline_request("http-port");
        assert_eq!(cmdline_value(&http, Some(argv)), Ok(json!(-1)));
        assert_eq!(cmdline_value(&workers, None), Ok(json!(-1)));
        let w = cmdline_request("work");
        assert_eq!(cmdline_value(&w, Some(argv)), Ok(json!(-1)));
        // 0 is a value (threaded), not "unset"; the last occurrence counts; `--` ends options.
        assert_eq!(
            cmdline_value(&workers, Some(b"odoo\0--workers=4\0--workers\x000")),
            Ok(json!(0))
        );
        assert_eq!(
            cmdline_value(&workers, Some(b"odoo\0--\0--workers=4")),
            Ok(json!(-1))
        );
    }

    #[test]
    fn a_command_line_value_not_of_the_facts_type_is_refused_naming_unit_and_option() {
        let workers = cmdline_request("workers");
        let e = cmdline_value(&workers, Some(b"odoo\0--workers=2;reboot")).unwrap_err();
        assert!(
            e.starts_with("the running odoo has `--workers` \"2;reboot\""),
            "{e}"
        );
        assert!(
            e.contains("set `odoo_cmdline_workers` in the inventory"),
            "{e}"
        );
        // An option given last without its value is not read as one.
        assert_eq!(
            cmdline_value(&workers, Some(b"odoo\0--workers")),
            Ok(json!(-1))
        );
    }
}
