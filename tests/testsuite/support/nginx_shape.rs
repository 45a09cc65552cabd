//! What a site's nginx text looks like to an assertion: its server blocks (names, listens), how many
//! `location` blocks with given words each server holds, how many `map $http_upgrade $connection_upgrade`.

#![allow(dead_code)]

use wsdeploy::edit::nginx as ng;

/// The server blocks of `text` (top level and inside `http`), with their names and listens.
pub fn servers(text: &str) -> Vec<(Vec<String>, Vec<String>, ng::Directive)> {
    let config = ng::parse(text).expect("parses");
    let mut out = Vec::new();
    let mut visit = |d: &ng::Directive| {
        let words = |name: &str| {
            d.directives()
                .filter(|x| x.name() == name)
                .map(|x| {
                    x.args
                        .iter()
                        .map(|w| w.value.clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
        };
        out.push((words("server_name"), words("listen"), d.clone()));
    };
    for d in config.directives() {
        if d.name() == "server" {
            visit(d);
        } else if d.name() == "http" {
            d.directives()
                .filter(|s| s.name() == "server")
                .for_each(&mut visit);
        }
    }
    out
}

/// How many `location` blocks with these words each server of `text` has, by the server's first listen.
pub fn locations_by_server(text: &str, words: &str) -> Vec<(String, usize)> {
    servers(text)
        .into_iter()
        .map(|(_, listens, server)| {
            let count = server
                .directives()
                .filter(|d| {
                    d.name() == "location"
                        && d.args
                            .iter()
                            .map(|w| w.value.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                            == words
                })
                .count();
            (listens.first().cloned().unwrap_or_default(), count)
        })
        .collect()
}

/// `map ... $connection_upgrade` blocks in all of `texts`.
pub fn maps(texts: &[String]) -> usize {
    texts
        .iter()
        .map(|t| t.matches("map $http_upgrade $connection_upgrade").count())
        .sum()
}

/// The `proxy_pass` targets of the `location` blocks with these words, in every server of `text`.
pub fn proxy_passes(text: &str, words: &str) -> Vec<String> {
    servers(text)
        .into_iter()
        .flat_map(|(_, _, server)| {
            server
                .directives()
                .filter(|d| {
                    d.name() == "location"
                        && d.args
                            .iter()
                            .map(|w| w.value.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                            == words
                })
                .flat_map(|location| {
                    location
                        .directives()
                        .filter(|d| d.name() == "proxy_pass")
                        .filter_map(|d| d.arg(0).map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
