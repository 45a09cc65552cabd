//! The source tree's boundaries, checked on the code itself (parsed with `syn`):
//! - no modules of `src/` import each other in a cycle, at any level (the children of every
//!   module, the top level included), and the top-level module graph ARCHITECTURE.md shows
//!   is the one the code has (`WSDEPLOY_BLESS=1` rewrites it);
//! - no function of `src/engine/` or `src/host/` is longer than 60 lines (tests excepted);
//! - no `WSD-` protocol marker is spelled outside `src/host/`;
//! - every module has a `//!` doc.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

const MAX_LINES: usize = 60;
const GRAPH_BEGIN: &str =
    "<!-- module-graph:begin (tests/testsuite/structure.rs; WSDEPLOY_BLESS=1 rewrites) -->";
const GRAPH_END: &str = "<!-- module-graph:end -->";

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, with its module path (`src/a/b.rs` → `["a", "b"]`).
fn source_files() -> Vec<(Vec<String>, PathBuf)> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 file name")
                .to_owned();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if name != "mod" && !(prefix.is_empty() && (name == "lib" || name == "main")) {
                    module.push(name);
                }
                out.push((module, path));
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &[], &mut out);
    assert!(out.len() > 20, "no sources found under {}", src().display());
    out
}

/// Whether a file is test code as a whole: a `tests/` directory under `src/` (declared
/// `#[cfg(test)] mod tests;`), which is neither production code nor part of the graph.
fn is_test_only(module: &[String]) -> bool {
    module.iter().any(|m| m == "tests")
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta.require_list().is_ok_and(|l| {
                l.tokens
                    .to_string()
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|t| t == "test")
            })
    })
}

/// Collects the modules of `src/` a file's production code refers to.
struct Imports<'m> {
    /// The file's module path.
    module: Vec<String>,
    /// Every module of `src/` (the crate root is `[]`).
    modules: &'m BTreeSet<Vec<String>>,
    found: BTreeSet<Vec<String>>,
}

impl Imports<'_> {
    /// The module a path names (the longest module prefix of its absolute form): paths
    /// from `crate`, `super`, `self` or a child module's name; others are not ours.
    fn resolve(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let absolute: Vec<String> = match first.as_str() {
            "crate" => segments[1..].to_vec(),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let Some(base) = self.module.len().checked_sub(ups) else {
                    return;
                };
                [&self.module[..base], &segments[ups..]].concat()
            }
            "self" => [&self.module[..], &segments[1..]].concat(),
            name => {
                let child = [&self.module[..], &[name.to_owned()]].concat();
                if !self.modules.contains(&child) {
                    return;
                }
                [&self.module[..], segments].concat()
            }
        };
        if let Some(target) = (0..=absolute.len())
            .rev()
            .map(|n| &absolute[..n])
            .find(|prefix| self.modules.contains(*prefix))
        {
            self.found.insert(target.to_vec());
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => {
                prefix.push("*".into());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Imports<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if is_cfg_test(&item.attrs) {
            return;
        }
        self.module.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.module.pop();
    }
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_cfg_test(&item.attrs) {
            syn::visit::visit_item_fn(self, item);
        }
    }
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if !is_cfg_test(&item.attrs) {
            self.use_tree(&mut Vec::new(), &item.tree);
        }
    }
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments);
        syn::visit::visit_path(self, path);
    }
    /// A macro's arguments, when they are expressions (`format!`, `vec!`, `assert!`…),
    /// are code too.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = mac.parse_body_with(parser) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

/// Every module of `src/` → the modules its production code refers to.
fn module_uses() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = source_files();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut uses = BTreeMap::new();
    for (module, path) in files {
        if is_test_only(&module) {
            continue;
        }
        let mut imports = Imports {
            module: module.clone(),
            modules: &modules,
            found: BTreeSet::new(),
        };
        imports.visit_file(&parse(&path));
        uses.entry(module)
            .or_insert_with(BTreeSet::new)
            .extend(imports.found);
    }
    uses
}

/// For every module with submodules, the graph of its children: child `a` uses child `b`
/// when code anywhere in `a` refers to anything in `b` (a module's use of its own parent
/// or of its own children is not an edge between siblings). `[]` is the top level.
fn sibling_graphs() -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let uses = module_uses();
    let mut levels: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for module in uses.keys() {
        for depth in 0..module.len() {
            levels
                .entry(module[..depth].to_vec())
                .or_default()
                .entry(module[depth].clone())
                .or_default();
        }
    }
    for (from, targets) in &uses {
        for to in targets {
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                levels
                    .entry(from[..common].to_vec())
                    .or_default()
                    .entry(from[common].clone())
                    .or_default()
                    .insert(to[common].clone());
            }
        }
    }
    levels
}

/// module → the other top-level modules it uses.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    sibling_graphs().remove(&Vec::new()).unwrap_or_default()
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn connect<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                connect(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            connect(&mut s, v);
        }
    }
    s.out
}

fn graph_text(graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut text = String::from("```\n");
    let width = graph.keys().map(String::len).max().unwrap_or(0);
    for (module, deps) in graph {
        let deps: Vec<&str> = deps
            .iter()
            .map(String::as_str)
            .filter(|d| graph.contains_key(*d))
            .collect();
        let deps = if deps.is_empty() {
            "(leaf)".to_owned()
        } else {
            deps.join(", ")
        };
        text.push_str(&format!("{module:<width$} -> {deps}\n"));
    }
    text.push_str("```\n");
    text
}

#[test]
fn no_modules_import_each_other_in_a_cycle_at_any_level() {
    let levels = sibling_graphs();
    let top = levels.get(&Vec::new()).expect("top level");
    assert!(
        top.contains_key("edit") && top.contains_key("cli"),
        "{top:?}"
    );
    assert!(
        levels.contains_key(&vec!["host".to_owned()]),
        "no submodule level seen: {:?}",
        levels.keys()
    );
    let found: Vec<String> = levels
        .iter()
        .flat_map(|(parent, graph)| {
            let parent = if parent.is_empty() {
                "crate".to_owned()
            } else {
                parent.join("::")
            };
            cycles(graph)
                .into_iter()
                .map(move |cycle| format!("in {parent}: {}", cycle.join(" <-> ")))
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles between modules:\n{}\ntop level:\n{}",
        found.join("\n"),
        graph_text(top)
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    assert_eq!(
        cycles(&graph),
        vec![vec!["a".to_owned(), "b".into(), "c".into()]]
    );
}

#[test]
fn uses_are_seen_through_super_crate_child_modules_and_macro_arguments() {
    let modules: BTreeSet<Vec<String>> = [
        &[][..],
        &["host"],
        &["host", "journal"],
        &["host", "dump_cache"],
        &["host", "journal", "inner"],
        &["digest"],
    ]
    .iter()
    .map(|m| m.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    let file: syn::File = syn::parse_str(
        "use super::dump_cache::{self, DumpCache};\n\
         fn f() -> String { format!(\"{}\", crate::digest::sha256_hex(b\"\")) }\n\
         fn g() { let _ = inner::x(); }\n\
         fn h() { let _ = std::fs::read(\"x\"); }\n",
    )
    .expect("parse");
    let mut imports = Imports {
        module: vec!["host".to_owned(), "journal".to_owned()],
        modules: &modules,
        found: BTreeSet::new(),
    };
    imports.visit_file(&file);
    let found: Vec<String> = imports.found.iter().map(|m| m.join("::")).collect();
    assert_eq!(
        found,
        ["digest", "host::dump_cache", "host::journal::inner"]
    );
}

#[test]
fn architecture_md_shows_the_module_graph_the_code_has() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let doc = std::fs::read_to_string(&path).expect("ARCHITECTURE.md");
    let want = graph_text(&module_graph());
    let (Some(begin), Some(end)) = (doc.find(GRAPH_BEGIN), doc.find(GRAPH_END)) else {
        panic!("ARCHITECTURE.md has no module graph between `{GRAPH_BEGIN}` and `{GRAPH_END}`");
    };
    let shown = &doc[begin + GRAPH_BEGIN.len() + 1..end];
    if shown == want {
        return;
    }
    if std::env::var_os("WSDEPLOY_BLESS").is_some() {
        let updated = format!(
            "{}\n{want}{}",
            &doc[..begin + GRAPH_BEGIN.len()],
            &doc[end..]
        );
        std::fs::write(&path, updated).expect("write ARCHITECTURE.md");
        return;
    }
    panic!(
        "ARCHITECTURE.md's module graph is out of date (run with WSDEPLOY_BLESS=1 to rewrite it); the code has:\n{want}"
    );
}

/// Production functions (outside `#[cfg(test)]`) longer than `MAX_LINES`.
struct LongFunctions {
    file: String,
    found: Vec<String>,
}

impl LongFunctions {
    fn measure(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let lines = span.end().line - span.start().line + 1;
        if lines > MAX_LINES {
            self.found.push(format!(
                "{}:{} `{name}` is {lines} lines",
                self.file,
                span.start().line
            ));
        }
    }
}

impl<'ast> Visit<'ast> for LongFunctions {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_cfg_test(&item.attrs) {
            syn::visit::visit_item_mod(self, item);
        }
    }
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_cfg_test(&item.attrs) {
            self.measure(&item.sig.ident, item.span());
            syn::visit::visit_item_fn(self, item);
        }
    }
    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&item.attrs) {
            self.measure(&item.sig.ident, item.span());
            syn::visit::visit_impl_item_fn(self, item);
        }
    }
}

#[test]
fn no_function_of_the_engine_or_the_host_protocol_is_longer_than_60_lines() {
    let mut long = LongFunctions {
        file: String::new(),
        found: Vec::new(),
    };
    let mut seen = 0;
    for (module, path) in source_files() {
        if !matches!(module.first().map(String::as_str), Some("engine" | "host"))
            || is_test_only(&module)
        {
            continue;
        }
        seen += 1;
        long.file = path
            .strip_prefix(src())
            .unwrap_or(&path)
            .display()
            .to_string();
        long.visit_file(&parse(&path));
    }
    assert!(seen > 0, "no src/engine or src/host files found");
    assert!(
        long.found.is_empty(),
        "functions over {MAX_LINES} lines:\n{}",
        long.found.join("\n")
    );
}

#[test]
fn the_line_counter_sees_a_long_function() {
    let body = "    let x = 1;\n".repeat(MAX_LINES);
    let file: syn::File =
        syn::parse_str(&format!("fn long() {{\n{body}}}\nfn short() {{}}\n")).expect("parse");
    let mut long = LongFunctions {
        file: "x.rs".into(),
        found: Vec::new(),
    };
    long.visit_file(&file);
    assert_eq!(
        long.found,
        [format!("x.rs:1 `long` is {} lines", MAX_LINES + 2)]
    );
}

/// String literals that contain a `WSD-` marker.
struct Markers {
    file: String,
    found: Vec<String>,
}

impl<'ast> Visit<'ast> for Markers {
    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        if lit.value().contains("WSD-") {
            self.found
                .push(format!("{}:{}", self.file, lit.span().start().line));
        }
    }
    fn visit_lit_byte_str(&mut self, lit: &'ast syn::LitByteStr) {
        if lit.value().windows(4).any(|w| w == b"WSD-") {
            self.found
                .push(format!("{}:{}", self.file, lit.span().start().line));
        }
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let tokens = mac.tokens.to_string();
        if tokens.contains("WSD-") {
            self.found.push(format!(
                "{}:{} (in a macro)",
                self.file,
                mac.span().start().line
            ));
        }
    }
}

#[test]
fn no_wsd_marker_is_spelled_outside_the_host_protocol() {
    let mut markers = Markers {
        file: String::new(),
        found: Vec::new(),
    };
    for (module, path) in source_files() {
        if module.first().map(String::as_str) == Some("host") {
            continue;
        }
        markers.file = path
            .strip_prefix(src())
            .unwrap_or(&path)
            .display()
            .to_string();
        markers.visit_file(&parse(&path));
    }
    assert!(
        markers.found.is_empty(),
        "`WSD-` literals outside src/host/: {:?}",
        markers.found
    );
}

/// Whether a file starts with a module doc (`//!`, an inner `doc` attribute to syn).
fn has_module_doc(file: &syn::File) -> bool {
    file.attrs
        .iter()
        .any(|a| a.path().is_ident("doc") && matches!(a.style, syn::AttrStyle::Inner(_)))
}

#[test]
fn every_module_has_a_doc() {
    let undocumented: Vec<String> = source_files()
        .into_iter()
        .filter(|(_, path)| !has_module_doc(&parse(path)))
        .map(|(_, path)| path.display().to_string())
        .collect();
    assert!(
        undocumented.is_empty(),
        "modules without a `//!` doc: {undocumented:?}"
    );
    let bare: syn::File = syn::parse_str("/// An item's doc.\nfn f() {}\n").expect("parse");
    assert!(!has_module_doc(&bare));
}
