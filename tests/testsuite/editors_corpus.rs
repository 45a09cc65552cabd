//! Corpus tests of the INI and JSON editors and the diff renderer against real-world files in
//! `tests/corpus/`, with Python's `configparser`, `json` and GNU `patch` as oracles.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use wsdeploy::diff;
use wsdeploy::edit::{ini, json, text};

const WEBSOCKET_URL: &str = "ws://example.com/websocket";

fn corpus_dir(kind: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    assert!(
        dir.is_dir(),
        "corpus folder `tests/corpus/{kind}` is missing from the repository"
    );
    dir
}

fn corpus_files(kind: &str, extension: &str) -> Vec<(String, String)> {
    let dir = corpus_dir(kind);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            (name, text)
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.{extension} files in {}",
        dir.display()
    );
    files
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("editors-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{name}", COUNTER.fetch_add(1, Ordering::SeqCst)));
    std::fs::write(&path, content).unwrap();
    path
}

fn python(script: &str, args: &[&Path]) -> String {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed as test oracle and could not run: {e}"));
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every section's items as configparser reads them, or `{"error": "<ExceptionName>"}`.
const DUMP_INI: &str = r#"
import configparser, json, sys
out = []
for path in sys.argv[1:]:
    c = configparser.ConfigParser(interpolation=None)
    try:
        c.read_string(open(path).read())
        out.append({s: dict(c.items(s)) for s in c.sections()})
    except configparser.Error as e:
        out.append({"error": type(e).__name__})
print(json.dumps(out))
"#;

fn configparser_dump(texts: &[&str]) -> Vec<Value> {
    let paths: Vec<PathBuf> = texts.iter().map(|t| temp_file("dump.conf", t)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let out: Value = serde_json::from_str(&python(DUMP_INI, &refs)).unwrap();
    out.as_array().unwrap().clone()
}

/// `(content, ending)` of each line.
fn lines(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|piece| {
            let content = piece.trim_end_matches('\n');
            let content = content.strip_suffix('\r').unwrap_or(content);
            (content, &piece[content.len()..])
        })
        .collect()
}

/// Asserts that the lines of `old` not accepted by `touched` appear in `new`, in order and
/// byte-identical (a last line without newline may gain one), and returns the lines of `new` that
/// are not among them.
fn assert_untouched_lines_identical<'n>(
    name: &str,
    old: &str,
    new: &'n str,
    touched: impl Fn(&str) -> bool,
) -> Vec<&'n str> {
    let new_lines = lines(new);
    let mut cursor = 0;
    let mut used = vec![false; new_lines.len()];
    for (content, ending) in lines(old).into_iter().filter(|(c, _)| !touched(c)) {
        let position = new_lines[cursor..]
            .iter()
            .position(|(c, e)| *c == content && (*e == ending || ending.is_empty()))
            .unwrap_or_else(|| panic!("{name}: line {content:?} lost or changed in:\n{new}"));
        used[cursor + position] = true;
        cursor += position + 1;
    }
    new_lines
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|((content, _), _)| *content)
        .collect()
}

fn ini_key(content: &str) -> Option<String> {
    let stripped = content.trim();
    if stripped.starts_with(['#', ';', '[']) {
        return None;
    }
    let at = stripped.find(['=', ':'])?;
    Some(stripped[..at].trim().to_lowercase())
}

fn odoo_request() -> Vec<(String, String)> {
    vec![
        ("proxy_mode".to_owned(), "True".to_owned()),
        ("websocket_url".to_owned(), WEBSOCKET_URL.to_owned()),
    ]
}

#[test]
fn odoo_corpus_set_keys() {
    let files = corpus_files("odoo", "conf");
    let mut results = Vec::new();
    for (name, original) in &files {
        let once = ini::set_keys(original, "options", &odoo_request())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let twice = ini::set_keys(&once, "options", &odoo_request()).unwrap();
        assert_eq!(once, twice, "{name}: second application changed the text");

        for key in ["proxy_mode", "websocket_url"] {
            let count = lines(&once)
                .iter()
                .filter(|(c, _)| ini_key(c).as_deref() == Some(key))
                .count();
            assert_eq!(count, 1, "{name}: `{key}` appears {count} times:\n{once}");
        }
        let added = assert_untouched_lines_identical(name, original, &once, |c| {
            matches!(ini_key(c).as_deref(), Some("proxy_mode" | "websocket_url"))
        });
        let mut added: Vec<&str> = added;
        added.sort_unstable();
        assert_eq!(
            added,
            [
                "proxy_mode = True",
                "websocket_url = ws://example.com/websocket"
            ],
            "{name}"
        );
        assert_eq!(
            original.ends_with('\n'),
            once.ends_with('\n'),
            "{name}: final newline changed"
        );
        assert_eq!(
            ini::get(&once, "options", "websocket_url")
                .unwrap()
                .as_deref(),
            Some(WEBSOCKET_URL)
        );
        results.push((name, original, once));
    }

    // The oracle command, verbatim: configparser reads the new value back.
    for (name, _, once) in &results {
        let path = temp_file("odoo.conf", once);
        let read = python(
            r#"import configparser,sys; c=configparser.ConfigParser(interpolation=None); c.read_string(open(sys.argv[1]).read()); print(c.get("options","websocket_url"))"#,
            &[&path],
        );
        assert_eq!(read.trim_end(), WEBSOCKET_URL, "{name}");
    }

    // Every other value is unchanged for configparser, and ours agree with it.
    let texts: Vec<&str> = results
        .iter()
        .flat_map(|(_, original, once)| [original.as_str(), once.as_str()])
        .collect();
    let dumps = configparser_dump(&texts);
    for ((name, original, once), pair) in results.iter().zip(dumps.chunks(2)) {
        let mut expected = pair[0].clone();
        expected["options"]["proxy_mode"] = json!("True");
        expected["options"]["websocket_url"] = json!(WEBSOCKET_URL);
        assert_eq!(pair[1], expected, "{name}");
        for (section, items) in pair[0].as_object().unwrap() {
            for (key, value) in items.as_object().unwrap() {
                assert_eq!(
                    ini::get(original, section, key).unwrap().as_deref(),
                    value.as_str(),
                    "{name}: [{section}] {key}"
                );
            }
        }
        assert!(!once.is_empty());
    }
}

#[test]
fn odoo_corpus_keeps_commented_out_keys() {
    let files = corpus_files("odoo", "conf");
    let (name, original) = files
        .iter()
        .find(|(name, _)| name == "odoo-multiline-addons_path-hash-comments.conf")
        .expect("corpus file odoo-multiline-addons_path-hash-comments.conf is missing");
    let out = ini::set_keys(original, "options", &odoo_request()).unwrap();
    assert!(out.contains("\n# proxy_mode = False\n"), "{name}");
    let expected_block = "              /opt/src/addons\nproxy_mode = True\nwebsocket_url = ws://example.com/websocket\n\n# all options with default values\n";
    assert!(out.contains(expected_block), "{name}:\n{out}");
}

#[test]
fn odoo_corpus_multi_line_value_replaced_whole() {
    let files = corpus_files("odoo", "conf");
    let (_, original) = files
        .iter()
        .find(|(name, _)| name == "odoo-multiline-addons_path-hash-comments.conf")
        .expect("corpus file odoo-multiline-addons_path-hash-comments.conf is missing");
    let request = vec![("addons_path".to_owned(), "/opt/addons".to_owned())];
    let out = ini::set_keys(original, "options", &request).unwrap();
    assert!(out.contains("log_level = info\naddons_path = /opt/addons\n\n# all options"));
    assert_eq!(
        diff::stat(original, &out),
        diff::DiffStat {
            added: 1,
            removed: 4
        }
    );
}

#[test]
fn odoo_without_options_section_reads_none_and_gets_section_appended() {
    let conf = "[other]\nkey = 1\n";
    assert_eq!(ini::get(conf, "options", "websocket_url").unwrap(), None);
    let out = ini::set_keys(conf, "options", &odoo_request()).unwrap();
    assert_eq!(
        out,
        "[other]\nkey = 1\n\n[options]\nproxy_mode = True\nwebsocket_url = ws://example.com/websocket\n"
    );
    let headerless = "admin_passwd = admin\ndb_host = False\n";
    assert_eq!(
        ini::get(headerless, "options", "db_host")
            .unwrap_err()
            .to_string(),
        "`admin_passwd = admin` comes before any [section] header; configparser (and so Odoo) rejects such a file: add a section header such as `[options]` above it"
    );
}

#[test]
fn duplicate_key_error_text() {
    let conf = "[options]\ndb_host = a\ndb_port = 5432\ndb_host = b\n";
    assert_eq!(
        ini::set_keys(conf, "options", &odoo_request())
            .unwrap_err()
            .to_string(),
        "section [options] sets `db_host` twice, on line 2 and on line 4 (keys are case-insensitive); configparser rejects duplicate keys: delete one of the two lines"
    );
}

/// Tricky snippets where our reading must agree with configparser's, errors included.
#[test]
fn ini_reading_agrees_with_configparser() {
    let cases = [
        "[options]\na = 1\n",
        "[options]\r\na=1\r\nb : 2\r\n",
        "[options]\na = x\n  y\n\n  z\n\nb = 2\n",
        "[options]\na = 1\n\n  b = 2\n",
        "[options]\n  a = 1\n  b = 2\n",
        "[options]\n  a = 1\n    b = 2\nc=3",
        "[options]\na = x\n# c\n    y\n; d\n",
        "[options]\na = 1 ; not a comment\nb = # neither\n",
        "[options]\nurl = ws://h:1/p?x=1\nc:d=e\n",
        "[options]\nA = 1\n[Options]\na = 2\n",
        "[options]\na = 1\nA = 2\n",
        "[options]\na = 1\n[options]\nb = 2\n",
        "a = 1\n[options]\n",
        "[options]\njust words\n",
        "[options]\n= 1\n",
        "  [options]  \n\ta\t=\t1\t\n",
        "[options] trailing\na = 1\n",
        "[DEFAULT]\nd = 0\n[options]\na = 1\n",
        "# only comments\n; here\n",
        "\u{feff}[options]\na = 1\n",
        "",
    ];
    let dumps = configparser_dump(&cases);
    for (case, dump) in cases.iter().zip(&dumps) {
        if dump.get("error").is_some() {
            assert!(
                ini::get(case, "options", "a").is_err(),
                "configparser rejects {case:?} ({dump}) but we accept it"
            );
            continue;
        }
        for (section, items) in dump.as_object().unwrap() {
            for (key, value) in items.as_object().unwrap() {
                assert_eq!(
                    ini::get(case, section, key)
                        .unwrap_or_else(|e| panic!("{case:?}: {e}"))
                        .as_deref(),
                    value.as_str(),
                    "{case:?}: [{section}] {key}"
                );
            }
        }
        // Whatever we write there, configparser reads back what we set.
        let request = vec![
            ("a".to_owned(), "new\nlines".to_owned()),
            ("websocket_url".to_owned(), WEBSOCKET_URL.to_owned()),
        ];
        let written = ini::set_keys(case, "options", &request).unwrap();
        let reread = &configparser_dump(&[written.as_str()])[0];
        assert_eq!(
            reread["options"]["a"],
            json!("new\nlines"),
            "{case:?} -> {written:?}"
        );
        assert_eq!(
            reread["options"]["websocket_url"],
            json!(WEBSOCKET_URL),
            "{written:?}"
        );
    }
}

const JSON_KEYS: &str = r#"
import json, sys
out = []
for path in sys.argv[1:]:
    data = json.load(open(path))
    out.append({"keys": list(data.keys()), "data": data})
print(json.dumps(out))
"#;

#[test]
fn frappe_corpus_set_keys() {
    let files = corpus_files("frappe", "json");
    let request = vec![
        ("socketio_port".to_owned(), json!(9000)),
        (
            "wsdeploy_managed".to_owned(),
            json!({"by": "wsdeploy", "ports": [9000, 8000]}),
        ),
    ];
    for (name, original) in &files {
        let once = json::set_keys(original, &request).unwrap_or_else(|e| panic!("{name}: {e}"));
        let twice = json::set_keys(&once, &request).unwrap();
        assert_eq!(once, twice, "{name}: second application changed the text");

        let paths = [
            temp_file("orig.json", original),
            temp_file("new.json", &once),
        ];
        let read: Value =
            serde_json::from_str(&python(JSON_KEYS, &[&paths[0], &paths[1]])).unwrap();
        let (before, after) = (&read[0], &read[1]);
        let mut expected_keys: Vec<Value> = before["keys"].as_array().unwrap().clone();
        if !expected_keys.contains(&json!("socketio_port")) {
            expected_keys.push(json!("socketio_port"));
        }
        expected_keys.push(json!("wsdeploy_managed"));
        assert_eq!(after["keys"], Value::Array(expected_keys), "{name}");
        let mut expected_data = before["data"].clone();
        expected_data["socketio_port"] = json!(9000);
        expected_data["wsdeploy_managed"] = request[1].1.clone();
        assert_eq!(after["data"], expected_data, "{name}");

        // The line where the last member's value ends gains a comma; nothing else changes.
        let original_lines = lines(original);
        let closing = original_lines
            .iter()
            .rposition(|(c, _)| c.trim() == "}")
            .unwrap();
        let value_end_line = original_lines[..closing]
            .iter()
            .rev()
            .find(|(c, _)| !c.trim().is_empty())
            .unwrap()
            .0;
        let socketio_changed = before["data"]["socketio_port"] != json!(9000);
        let extra = assert_untouched_lines_identical(name, original, &once, |c| {
            c == value_end_line
                || (socketio_changed && c.trim_start().starts_with("\"socketio_port\""))
        });
        assert!(
            extra.contains(&format!("{value_end_line},").as_str()),
            "{name}: previous last member did not just gain a comma: {extra:?}"
        );
        assert_eq!(
            json::get(&once, "socketio_port").unwrap(),
            Some(json!(9000))
        );
    }
}

#[test]
fn frappe_corpus_existing_equal_value_is_untouched() {
    let files = corpus_files("frappe", "json");
    let (_, original) = files
        .iter()
        .find(|(name, _)| name == "press-deployment-common_site_config.json")
        .expect("corpus file press-deployment-common_site_config.json is missing");
    let request = vec![("socketio_port".to_owned(), json!(9000))];
    assert_eq!(&json::set_keys(original, &request).unwrap(), original);
    let request = vec![("workers".to_owned(), json!({"sync": {"timeout": 600}}))];
    let out = json::set_keys(original, &request).unwrap();
    assert!(
        out.ends_with("\t\"workers\": {\n\t\t\"sync\": {\n\t\t\t\"timeout\": 600\n\t\t}\n\t}\n}\n")
    );
}

#[test]
fn invalid_json_error_text() {
    let broken = "{\n\t\"db_name\": \"site\",\n\t\"socketio_port\": 9000,\n}\n";
    assert_eq!(
        json::get(broken, "db_name").unwrap_err().to_string(),
        "4:1: invalid JSON: trailing comma; fix the syntax first (Frappe cannot read this file either)"
    );
}

#[test]
fn diffs_of_corpus_edits_apply_with_patch() {
    let patch_ok = Command::new("patch")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("GNU patch is needed as test oracle and could not run: {e}"));
    assert!(patch_ok.status.success());
    let mut edits: Vec<(String, String, String)> = Vec::new();
    for (name, original) in corpus_files("odoo", "conf") {
        let new = ini::set_keys(&original, "options", &odoo_request()).unwrap();
        edits.push((name, original, new));
    }
    for (name, original) in corpus_files("frappe", "json") {
        let new = json::set_keys(&original, &[("socketio_port".to_owned(), json!(9001))]).unwrap();
        edits.push((name, original, new));
    }
    let requirements = "fastapi==0.110\nuvicorn==0.23.2\n# tools\nhttpx";
    edits.push((
        "requirements.txt".to_owned(),
        requirements.to_owned(),
        text::ensure_lines_requirements(requirements, "uvicorn[standard]"),
    ));
    for (name, original, new) in edits {
        assert_ne!(original, new, "{name}");
        let rendered = diff::unified(&format!("/etc/{name}"), &original, &new, false);
        let file = temp_file(&name, &original);
        let patch = temp_file("change.patch", &rendered);
        let status = Command::new("patch")
            .arg("--quiet")
            .arg(&file)
            .arg(&patch)
            .status()
            .unwrap();
        assert!(status.success(), "{name}: patch rejected:\n{rendered}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), new, "{name}");
        let stat = diff::stat(&original, &new);
        assert_eq!(
            stat.added,
            rendered
                .lines()
                .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
                .count()
        );
        assert_eq!(
            stat.removed,
            rendered
                .lines()
                .filter(|l| l.starts_with('-') && !l.starts_with("---"))
                .count()
        );
    }
}

#[test]
fn new_file_diff_creates_file_with_patch() {
    let content = "[options]\nproxy_mode = True";
    let rendered = diff::new_file("etc/odoo.conf", content, false);
    let dir = temp_file("unused", "").with_file_name("newfile");
    std::fs::create_dir_all(&dir).unwrap();
    let patch = temp_file("new.patch", &rendered);
    let status = Command::new("patch")
        .current_dir(&dir)
        .args(["--quiet", "-p1", "-i"])
        .arg(&patch)
        .status()
        .unwrap_or_else(|e| panic!("GNU patch is needed as test oracle and could not run: {e}"));
    assert!(status.success(), "{rendered}");
    assert_eq!(
        std::fs::read_to_string(dir.join("etc/odoo.conf")).unwrap(),
        content
    );
}
