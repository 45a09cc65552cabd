//! The effective configuration: every file `nginx -T` shows, and the context each file's top level is loaded in.
//!
//! `nginx -T` prints each file as `# configuration file <path>:\n<content>\n`, the main file first. The context of
//! every other file comes from the `include` that loads it (found by walking the includes from the main file).

use std::collections::VecDeque;

use super::context::{ContextKind, FileRole, IncludeSite};
use super::error::DumpError;
use super::include::{absolute_pattern, glob_match, is_glob, parent_dir};
use super::parse::parse;
use super::tree::{Config, Node};
use crate::edit::lossless;

/// One file of the effective configuration.
#[derive(Debug, Clone)]
pub struct EffectiveFile {
    pub path: String,
    pub config: Config,
    /// `None` when no `include` of the effective configuration loads it.
    pub role: Option<FileRole>,
}

/// All files nginx loads, with their contexts.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    files: Vec<EffectiveFile>,
}

const HEADER_START: &str = "# configuration file ";

impl Effective {
    /// No files: nothing to check across files.
    pub fn empty() -> Effective {
        Effective::default()
    }

    /// Whether a fingerprint of the paths `watched` (as stored with a cached dump) notices
    /// every change that could alter this configuration: each file it loads, and the
    /// directory of each `include` glob (a new file matching the glob changes it).
    #[must_use]
    pub fn is_covered_by(&self, watched: &[String]) -> bool {
        let watched = |p: &str| watched.iter().any(|w| w == p);
        self.files.iter().all(|f| watched(&f.path))
            && self.include_globs().iter().all(|pattern| {
                let dir = parent_dir(pattern);
                !is_glob(dir) && watched(dir)
            })
    }

    /// Reads the standard output of `nginx -T` (lines `nginx: ...` from standard error may be mixed in before the
    /// first file).
    pub fn from_dump(dump: &str) -> Result<Effective, DumpError> {
        let mut headers: Vec<(String, usize, usize)> = Vec::new();
        for (index, line) in lossless::lines(dump).into_iter().enumerate() {
            let content = line.content;
            if let Some(path) = content
                .strip_prefix(HEADER_START)
                .and_then(|rest| rest.strip_suffix(':'))
                && path.starts_with('/')
            {
                headers.push((path.to_string(), line.start, line.end()));
            } else if headers.is_empty()
                && !content.trim().is_empty()
                && !content.starts_with("nginx: ")
                && !is_error_log_line(content)
            {
                return Err(DumpError::NoHeader { line: index + 1 });
            }
        }
        if headers.is_empty() {
            return Err(DumpError::Empty);
        }
        let mut files = Vec::with_capacity(headers.len());
        for (index, (path, _, body_start)) in headers.iter().enumerate() {
            let body_end = headers.get(index + 1).map_or(dump.len(), |next| next.1);
            let body = &dump[*body_start..body_end];
            let body = body.strip_suffix('\n').unwrap_or(body);
            files.push((path.clone(), body.to_string()));
        }
        Effective::from_files(files)
    }

    /// Builds the effective configuration from `(path, text)` pairs, the main nginx.conf first.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Effective, DumpError> {
        let mut parsed = Vec::with_capacity(files.len());
        for (path, text) in files {
            let config = parse(&text).map_err(|source| DumpError::Parse {
                path: path.clone(),
                source,
            })?;
            parsed.push(EffectiveFile {
                path,
                config,
                role: None,
            });
        }
        let Some(main) = parsed.first_mut() else {
            return Ok(Effective::empty());
        };
        main.role = Some(FileRole {
            context: ContextKind::Main,
            included_from: None,
        });
        let prefix = parent_dir(&main.path).to_string();
        let mut queue = VecDeque::from([0usize]);
        while let Some(index) = queue.pop_front() {
            let Some(role) = parsed[index].role.clone() else {
                continue;
            };
            let including_path = parsed[index].path.clone();
            let mut includes = Vec::new();
            collect_includes(
                &parsed[index].config,
                parsed[index].config.nodes(),
                role.context,
                &mut includes,
            );
            for (pattern, line, context) in includes {
                let pattern = absolute_pattern(&pattern, &prefix);
                for (other, file) in parsed.iter_mut().enumerate() {
                    let matches = if is_glob(&pattern) {
                        glob_match(&pattern, &file.path)
                    } else {
                        file.path == pattern
                    };
                    if matches && file.role.is_none() {
                        file.role = Some(FileRole {
                            context,
                            included_from: Some(IncludeSite {
                                path: including_path.clone(),
                                line,
                                pattern: pattern.clone(),
                            }),
                        });
                        queue.push_back(other);
                    }
                }
            }
        }
        Ok(Effective { files: parsed })
    }

    /// The files, the main nginx.conf first.
    pub fn files(&self) -> &[EffectiveFile] {
        &self.files
    }

    /// The file with this path.
    pub fn file(&self, path: &str) -> Option<&EffectiveFile> {
        self.files.iter().find(|file| file.path == path)
    }

    /// How nginx loads the file at `path`, if the effective configuration loads it.
    pub fn role_of(&self, path: &str) -> Option<&FileRole> {
        self.file(path).and_then(|file| file.role.as_ref())
    }

    /// The path of the file whose text is exactly `text` (to find a file that the dump shows under another name,
    /// such as a `sites-enabled` symlink).
    pub fn path_with_text(&self, text: &str) -> Option<String> {
        self.files
            .iter()
            .find(|file| file.config.source() == text)
            .map(|file| file.path.clone())
    }

    /// The context the top level of `path` is loaded in.
    pub fn context_of(&self, path: &str) -> Option<ContextKind> {
        self.role_of(path).map(|role| role.context)
    }

    /// Every include pattern with glob characters (`*`, `?`, `[`), absolute, each once, in the order nginx reads
    /// them: a new file whose path matches one of them would be loaded by nginx.
    pub fn include_globs(&self) -> Vec<String> {
        let prefix = self
            .files
            .first()
            .map_or("/", |main| parent_dir(&main.path));
        let mut patterns: Vec<String> = Vec::new();
        for file in &self.files {
            let context = file
                .role
                .as_ref()
                .map_or(ContextKind::Other, |role| role.context);
            let mut includes = Vec::new();
            collect_includes(&file.config, file.config.nodes(), context, &mut includes);
            for (pattern, _, _) in includes {
                let pattern = absolute_pattern(&pattern, prefix);
                if is_glob(&pattern) && !patterns.contains(&pattern) {
                    patterns.push(pattern);
                }
            }
        }
        patterns
    }
}

/// A line nginx writes to its error log (standard error while it reads the configuration):
/// `2026/12/06 06:46:53 [warn] 29436#29436: duplicate MIME type ...`.
fn is_error_log_line(line: &str) -> bool {
    let bytes = line.as_bytes();
    let shape = b"dddd/dd/dd dd:dd:dd [";
    bytes.len() > shape.len()
        && shape.iter().zip(bytes).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            other => other == got,
        })
}

/// Collects `(pattern, line, context)` for every `include` in `nodes`, recursing into blocks.
fn collect_includes(
    config: &Config,
    nodes: &[Node],
    context: ContextKind,
    out: &mut Vec<(String, usize, ContextKind)>,
) {
    for node in nodes {
        let Node::Directive(directive) = node else {
            continue;
        };
        if directive.name() == "include" {
            if let Some(pattern) = directive.arg(0) {
                out.push((
                    pattern.to_string(),
                    config.position(directive.span.start).line,
                    context,
                ));
            }
        } else if directive.is_block() {
            collect_includes(
                config,
                directive.children(),
                context.of_block(directive.name()),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
        # configuration file /etc/nginx/nginx.conf:\n\
        include modules-enabled/*.conf;\nhttp {\n\tinclude mime.types;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n\n\
        # configuration file /etc/nginx/mime.types:\ntypes { text/html html; }\n\n\
        # configuration file /etc/nginx/sites-enabled/site:\nserver {\r\n\tinclude snippets/ws.conf;\r\n}\n\
        # configuration file /etc/nginx/snippets/ws.conf:\nlocation /ws { }";

    #[test]
    fn splits_files_and_resolves_contexts() {
        let effective = Effective::from_dump(DUMP).unwrap();
        let paths: Vec<&str> = effective.files().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/etc/nginx/nginx.conf",
                "/etc/nginx/mime.types",
                "/etc/nginx/sites-enabled/site",
                "/etc/nginx/snippets/ws.conf"
            ]
        );
        assert_eq!(
            effective
                .file("/etc/nginx/sites-enabled/site")
                .unwrap()
                .config
                .source(),
            "server {\r\n\tinclude snippets/ws.conf;\r\n}"
        );
        assert_eq!(
            effective
                .file("/etc/nginx/snippets/ws.conf")
                .unwrap()
                .config
                .source(),
            "location /ws { }"
        );
        assert_eq!(
            effective.context_of("/etc/nginx/nginx.conf"),
            Some(ContextKind::Main)
        );
        assert_eq!(
            effective.context_of("/etc/nginx/mime.types"),
            Some(ContextKind::Http)
        );
        assert_eq!(
            effective.context_of("/etc/nginx/sites-enabled/site"),
            Some(ContextKind::Http)
        );
        assert_eq!(
            effective.context_of("/etc/nginx/snippets/ws.conf"),
            Some(ContextKind::Server)
        );
        let site = effective
            .role_of("/etc/nginx/snippets/ws.conf")
            .unwrap()
            .included_from
            .clone()
            .unwrap();
        assert_eq!(
            (site.path.as_str(), site.line),
            ("/etc/nginx/sites-enabled/site", 2)
        );
        assert_eq!(
            effective.include_globs(),
            [
                "/etc/nginx/modules-enabled/*.conf",
                "/etc/nginx/sites-enabled/*"
            ]
        );
    }

    #[test]
    fn warnings_before_the_first_file_are_not_part_of_the_dump() {
        let dump = format!(
            "2026/12/06 06:46:53 [warn] 29436#29436: duplicate MIME type \"text/html\" in /etc/nginx/nginx.conf:3\n\
             nginx: [warn] the \"ssl\" directive is deprecated\n{DUMP}"
        );
        assert_eq!(Effective::from_dump(&dump).unwrap().files().len(), 4);
    }

    #[test]
    fn rejects_text_that_is_not_a_dump() {
        assert_eq!(
            Effective::from_dump("hello\n").unwrap_err().to_string(),
            "not an `nginx -T` dump: expected a line \"# configuration file <path>:\" before line 1 (run `nginx -T` \
             and pass its standard output)"
        );
        assert!(matches!(Effective::from_dump(""), Err(DumpError::Empty)));
    }
}
