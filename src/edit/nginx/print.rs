//! Printing new configuration in a file's own style: its line ending and its indentation unit.
//!
//! An item from the snippet is re-indented line by line: each line gets the base indentation plus one unit per
//! nesting level (continuation lines of a multi-line directive get one extra level); what follows the indentation is
//! kept as written (so column alignment inside a line survives). Lines inside a multi-line quoted string are kept
//! verbatim; Lua code keeps its own relative indentation.

use super::text::{line_indent, starts_its_line};
use super::tree::{Body, Config, Directive, Node, Span};
use crate::edit::lossless::line_ending;

/// The layout conventions of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// `"\n"` or `"\r\n"`.
    pub eol: &'static str,
    /// One level of indentation, e.g. `"\t"` or `"    "`.
    pub unit: String,
}

const DEFAULT_UNIT: &str = "    ";

impl Style {
    /// The style of `config`: its dominant line ending and its most common indentation step.
    pub fn of(config: &Config) -> Style {
        let mut steps: Vec<(String, usize)> = Vec::new();
        collect_steps(config, config.nodes(), None, &mut steps);
        let unit = steps
            .iter()
            .enumerate()
            .max_by(|(ia, a), (ib, b)| a.1.cmp(&b.1).then(ib.cmp(ia)))
            .map_or_else(|| DEFAULT_UNIT.to_string(), |(_, (step, _))| step.clone());
        Style {
            eol: line_ending(config.source()),
            unit,
        }
    }
}

/// Counts the indentation steps between each block and the children that start their own line.
fn collect_steps(
    config: &Config,
    nodes: &[Node],
    parent_indent: Option<&str>,
    steps: &mut Vec<(String, usize)>,
) {
    let text = config.source();
    for node in nodes {
        let Node::Directive(directive) = node else {
            continue;
        };
        let own_line = starts_its_line(text, directive.span.start);
        let indent = line_indent(text, directive.span.start);
        if let Some(parent) = parent_indent
            && own_line
            && indent.len() > parent.len()
            && indent.starts_with(parent)
        {
            let step = &indent[parent.len()..];
            match steps.iter_mut().find(|(known, _)| known == step) {
                Some((_, count)) => *count += 1,
                None => steps.push((step.to_string(), 1)),
            }
        }
        if directive.is_block() && own_line {
            collect_steps(config, directive.children(), Some(indent), steps);
        }
    }
}

/// The text of `item` (a directive of `snippet`), its first line unindented and the others indented for a
/// position whose own indentation is `indent`.
pub fn render_item(snippet: &Config, item: &Directive, indent: &str, style: &Style) -> String {
    let source = snippet.source();
    let mut words = Vec::new();
    collect_word_spans(item, &mut words);
    let mut out = String::new();
    let mut line_start = item.span.start;
    let mut first = true;
    while line_start < item.span.end {
        let line_end = source[line_start..item.span.end]
            .find('\n')
            .map_or(item.span.end, |n| line_start + n);
        let raw = source[line_start..line_end].trim_end_matches('\r');
        if first {
            out.push_str(raw.trim_end());
            first = false;
        } else {
            out.push_str(style.eol);
            let inside_string = words
                .iter()
                .any(|w| w.start < line_start && line_start < w.end);
            let content = raw.trim_start_matches([' ', '\t']);
            let content_start = line_start + (raw.len() - content.len());
            if inside_string {
                out.push_str(raw);
            } else if !content.trim().is_empty() {
                let (depth, lua) = depth_at(item, content_start);
                out.push_str(indent);
                for _ in 0..depth {
                    out.push_str(&style.unit);
                }
                if let Some(code) = lua {
                    let own = &raw[..raw.len() - content.len()];
                    let common = lua_common_indent(source, code);
                    out.push_str(own.get(common..).unwrap_or(""));
                }
                out.push_str(content.trim_end());
            }
        }
        line_start = line_end + 1;
    }
    out
}

fn collect_word_spans(directive: &Directive, out: &mut Vec<Span>) {
    out.push(directive.name.span);
    out.extend(directive.args.iter().map(|word| word.span));
    for child in directive.directives() {
        collect_word_spans(child, out);
    }
}

/// Nesting depth of `offset` relative to `directive`'s own line, and the Lua code span when it lies inside one.
fn depth_at(directive: &Directive, offset: usize) -> (usize, Option<Span>) {
    if offset > directive.name.span.start && offset < directive.head_end {
        return (1, None);
    }
    match &directive.body {
        Body::Semicolon(semicolon) => (
            usize::from(offset == semicolon.start && offset > directive.name.span.start),
            None,
        ),
        Body::Raw(raw) if raw.open.end <= offset && offset < raw.close.start => {
            (1, Some(raw.content))
        }
        Body::Block(block) if block.open.end <= offset && offset < block.close.start => {
            let inner = block
                .children
                .iter()
                .find_map(|node| match node {
                    Node::Directive(child)
                        if child.span.start <= offset && offset < child.span.end =>
                    {
                        Some(depth_at(child, offset))
                    }
                    _ => None,
                })
                .unwrap_or((0, None));
            (1 + inner.0, inner.1)
        }
        Body::Raw(_) | Body::Block(_) => (0, None),
    }
}

/// The smallest indentation (in bytes) of the non-blank lines of Lua code after its first line.
fn lua_common_indent(source: &str, code: Span) -> usize {
    source[code.start..code.end]
        .split('\n')
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn render(snippet: &str, indent: &str, unit: &str, eol: &'static str) -> String {
        let config = parse(snippet).unwrap();
        let item = config.directives().next().unwrap();
        render_item(
            &config,
            item,
            indent,
            &Style {
                eol,
                unit: unit.to_string(),
            },
        )
    }

    #[test]
    fn reindents_nested_blocks_and_keeps_alignment() {
        let snippet = "  map $http_upgrade $connection_upgrade {\n      default upgrade;\n      ''      close;\n  }\n";
        assert_eq!(
            render(snippet, "\t", "\t", "\r\n"),
            "map $http_upgrade $connection_upgrade {\r\n\t\tdefault upgrade;\r\n\t\t''      close;\r\n\t}"
        );
    }

    #[test]
    fn continuation_lines_get_one_more_level() {
        let snippet = "log_format main '$a'\n  '$b';";
        assert_eq!(
            render(snippet, "", "    ", "\n"),
            "log_format main '$a'\n    '$b';"
        );
    }

    #[test]
    fn multi_line_strings_are_kept() {
        let snippet = "location / {\n  return 200 \"a\n  b\";\n}";
        assert_eq!(
            render(snippet, "", "\t", "\n"),
            "location / {\n\treturn 200 \"a\n  b\";\n}"
        );
    }

    #[test]
    fn detects_tabs_and_spaces() {
        let tabs = parse("http {\n\tserver {\n\t\tlisten 80;\n\t}\n}\n").unwrap();
        assert_eq!(Style::of(&tabs).unit, "\t");
        let two = parse("a {\r\n  b {\r\n    c;\r\n  }\r\n}\r\n").unwrap();
        assert_eq!(
            Style::of(&two),
            Style {
                eol: "\r\n",
                unit: "  ".to_string()
            }
        );
        let flat = parse("a;\n").unwrap();
        assert_eq!(Style::of(&flat).unit, "    ");
    }
}
