//! Property/fuzz target for the nginx editor, with proptest (cargo-fuzz needs a nightly
//! toolchain, which this project does not use; proptest runs on stable, shrinks failures
//! to a minimal input and needs no separate build).
//!
//! Inputs: the test corpus (`tests/corpus/nginx`, including the `invalid/` templates)
//! mutated byte-wise (flips, inserted braces, quotes, `;`, `#`, `\`, CRLF, deletions,
//! duplications, truncation, splices between files), plus configurations generated from
//! a small nginx grammar with random spacing, comments and quoting.
//!
//! Properties, for every input:
//! 1. `parse` either fails cleanly or `to_text()` gives the input back byte for byte;
//! 2. `ensure` of each snippet in each context either fails cleanly or gives a text that
//!    parses, and ensuring the same snippet again gives exactly that text (ensure twice =
//!    ensure once);
//! 3. nothing panics.
//!
//! `WSDEPLOY_FUZZ_SECONDS` (default 5) bounds the run; `WSDEPLOY_FUZZ_SEED` replays one.
//! The run prints `fuzz_nginx: <executions> executions in <s> s, seed <seed>`.

use std::cell::Cell;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use wsdeploy::edit::nginx::{Context, ContextKind, Effective, ensure, parse};

const TOKENS: &[&str] = &[
    "{",
    "}",
    ";",
    "\"",
    "'",
    "\r\n",
    "\n",
    "#",
    "\\",
    "$",
    " ",
    "\t",
    "}}",
    "{{",
    "server {",
    "location / {",
    "http {",
    "map $a $b {",
    "include x;",
    "content_by_lua_block {",
    "\"unterminated",
    "'q'",
    "\"a;b{c}\"",
    "${x}",
    "\\\"",
    "\r",
    "\u{feff}",
    "é",
];

const SNIPPETS: &[&str] = &[
    "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n",
    "upstream backend_odoo_longpolling {\n    server 127.0.0.1:8072;\n}\n",
    "location /websocket {\n    proxy_pass http://backend_odoo_longpolling;\n    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection $connection_upgrade;\n}\n",
    "proxy_read_timeout 3600s;\nclient_max_body_size 100m;\n",
    "location ~* \"\\.(js|css)$\" {\n    expires 7d;\n}\n",
    "add_header X-Frame-Options \"SAMEORIGIN\" always;\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
    ToCrlf,
    StripFinalNewline,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 1usize..128).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), 1usize..256)
            .prop_map(|(f, p, n)| Mutation::Splice(f, p, n)),
        Just(Mutation::ToCrlf),
        Just(Mutation::StripFinalNewline),
    ]
}

fn apply_mutation(bytes: &mut Vec<u8>, m: &Mutation, corpus: &[Vec<u8>]) {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match *m {
        Mutation::Flip(p, b) if !bytes.is_empty() => {
            let i = p % bytes.len();
            bytes[i] = b;
        }
        Mutation::Flip(..) => {}
        Mutation::Insert(p, t) => {
            let i = at(p, bytes.len());
            bytes.splice(i..i, TOKENS[t].bytes());
        }
        Mutation::Delete(p, n) => {
            let i = at(p, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Duplicate(p, n) => {
            let i = at(p, bytes.len());
            let end = (i + n).min(bytes.len());
            let copy = bytes[i..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Truncate(p) => {
            let i = at(p, bytes.len());
            bytes.truncate(i);
        }
        Mutation::Splice(f, p, n) => {
            let other = &corpus[f % corpus.len()];
            let from = at(p, other.len());
            let end = (from + n).min(other.len());
            let i = at(p.rotate_left(7), bytes.len());
            bytes.splice(i..i, other[from..end].iter().copied());
        }
        Mutation::ToCrlf => {
            let text = String::from_utf8_lossy(bytes)
                .replace("\r\n", "\n")
                .replace('\n', "\r\n");
            *bytes = text.into_bytes();
        }
        Mutation::StripFinalNewline => {
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
        }
    }
}

/// A generated configuration item, rendered with random spacing, comments and quoting.
fn generated_config() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-z_]{1,12}",
        "\\$[a-z_]{1,8}",
        "[0-9]{1,4}[smkd]?",
        "/[a-z/._*-]{0,20}",
        "\"[^\"\\\\]{0,12}\"",
        "'[^'\\\\]{0,12}'",
        "~\\*?",
        "\\^~",
        "[a-z]{1,6}:[0-9]{1,5}",
    ];
    let space = prop_oneof![
        Just(" ".to_owned()),
        Just("  ".to_owned()),
        Just("\t".to_owned()),
        Just("\n    ".to_owned()),
        Just(" # comment\n".to_owned())
    ];
    let name = prop_oneof![
        Just("server".to_owned()),
        Just("location".to_owned()),
        Just("http".to_owned()),
        Just("map".to_owned()),
        Just("upstream".to_owned()),
        Just("if".to_owned()),
        Just("events".to_owned()),
        Just("proxy_pass".to_owned()),
        Just("listen".to_owned()),
        Just("server_name".to_owned()),
        Just("include".to_owned()),
        Just("proxy_set_header".to_owned()),
        "[a-z_]{2,16}",
    ];
    let directive = (
        name.clone(),
        prop::collection::vec(word.clone(), 0..4),
        space.clone(),
    )
        .prop_map(|(n, args, sp)| format!("{n}{sp}{};\n", args.join(" ")));
    directive.prop_recursive(4, 64, 8, move |inner| {
        (
            name.clone(),
            prop::collection::vec(word.clone(), 0..3),
            prop::collection::vec(inner, 0..8),
            space.clone(),
        )
            .prop_map(|(n, args, body, sp)| {
                format!("{n} {}{sp}{{\n{}}}\n", args.join(" "), body.concat())
            })
    })
}

#[derive(Debug, Clone)]
enum Input {
    Mutated(usize, Vec<Mutation>),
    Generated(Vec<String>),
}

fn input(corpus_len: usize) -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => (0..corpus_len, prop::collection::vec(mutation(), 0..10))
            .prop_map(|(i, m)| Input::Mutated(i, m)),
        1 => prop::collection::vec(generated_config(), 1..6).prop_map(Input::Generated),
    ]
}

fn text_of(input: &Input, corpus: &[Vec<u8>]) -> String {
    match input {
        Input::Mutated(i, mutations) => {
            let mut bytes = corpus[*i].clone();
            for m in mutations {
                apply_mutation(&mut bytes, m, corpus);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Input::Generated(items) => items.concat(),
    }
}

fn contexts() -> Vec<(Context, ContextKind, &'static str)> {
    vec![
        (Context::Http, ContextKind::Main, "/etc/nginx/nginx.conf"),
        (
            Context::Http,
            ContextKind::Http,
            "/etc/nginx/sites-available/site.conf",
        ),
        (
            Context::Server {
                server_name: None,
                listen: None,
                request: None,
            },
            ContextKind::Http,
            "/etc/nginx/sites-available/site.conf",
        ),
        (Context::Main, ContextKind::Main, "/etc/nginx/nginx.conf"),
    ]
}

/// The properties; `Err` describes a violation.
fn check(text: &str) -> Result<usize, TestCaseError> {
    let mut ensured = 0;
    if let Ok(config) = parse(text) {
        prop_assert_eq!(config.to_text(), text, "parse/print is not byte-identical");
    }
    let effective = Effective::empty();
    for (context, top, path) in contexts() {
        for snippet in SNIPPETS {
            let Ok(once) = ensure(path, text, top, &context, snippet, &effective) else {
                continue;
            };
            ensured += 1;
            let reparsed = parse(&once);
            prop_assert!(
                reparsed.is_ok(),
                "ensure produced text that does not parse: {:?}\n--- text\n{}",
                reparsed.err(),
                once
            );
            let twice = ensure(path, &once, top, &context, snippet, &effective);
            prop_assert!(
                twice.as_deref() == Ok(once.as_str()),
                "ensure twice != ensure once ({context:?}, {path})\n--- input\n{text:?}\n--- snippet\n{snippet}\n--- once\n{once:?}\n--- twice\n{twice:?}"
            );
        }
    }
    Ok(ensured)
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/nginx");
    let mut files = Vec::new();
    for sub in [dir.clone(), dir.join("invalid")] {
        let entries = std::fs::read_dir(&sub)
            .unwrap_or_else(|e| panic!("the test corpus is missing at {}: {e}", sub.display()));
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_file() {
                files.push(std::fs::read(&path).expect("read corpus file"));
            }
        }
    }
    assert!(
        files.len() >= 20,
        "expected the nginx corpus, found {} files",
        files.len()
    );
    files.sort();
    files
}

#[test]
fn corpus_files_round_trip_and_ensure_is_idempotent() {
    for bytes in corpus() {
        let text = String::from_utf8(bytes).expect("corpus files are UTF-8");
        if let Err(e) = check(&text) {
            panic!("{e}");
        }
    }
}

#[test]
fn fuzz_nginx_editor() {
    let seconds: u64 = std::env::var("WSDEPLOY_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let base_seed: u64 = std::env::var("WSDEPLOY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(1)
        });
    let corpus = corpus();
    let strategy = input(corpus.len());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let executions = Cell::new(0u64);
    let ensured = Cell::new(0u64);
    let parsed = Cell::new(0u64);
    let mut round: u64 = 0;
    while Instant::now() < deadline {
        let seed = base_seed.wrapping_add(round);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let config = Config {
            cases: 64,
            failure_persistence: None,
            max_shrink_iters: 4096,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
        let result = runner.run(&strategy, |input| {
            let text = text_of(&input, &corpus);
            executions.set(executions.get() + 1);
            if parse(&text).is_ok() {
                parsed.set(parsed.get() + 1);
            }
            let checked = check(&text)?;
            ensured.set(ensured.get() + checked as u64);
            Ok(())
        });
        if let Err(e) = result {
            panic!(
                "fuzz_nginx: finding after {} executions (replay with WSDEPLOY_FUZZ_SEED={seed}): {e}",
                executions.get()
            );
        }
        round += 1;
    }
    println!(
        "fuzz_nginx: {} executions in {:.0} s, seed {base_seed}, {} inputs parsed, {} successful ensures checked twice, 0 findings",
        executions.get(),
        started.elapsed().as_secs_f64(),
        parsed.get(),
        ensured.get()
    );
    assert!(executions.get() > 0);
}
