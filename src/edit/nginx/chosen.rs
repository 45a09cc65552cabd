//! The server block a server-context edit goes into, in words for the run's output: which
//! block of the file, and why nginx uses it for the public request (so an operator sees
//! which of two servers named alike, on 80 and 443, got the location).

use super::context::{Context, ContextKind};
use super::dump::Effective;
use super::error::EditError;
use super::parse::parse;
use super::target::{Container, ServerChoice, describe_server, server_target};

/// `line 30 (server_name a.example; listen 443 ssl): the server nginx uses for a.example on
/// port 443 (its server_name)` for a server-context edit of `path` (whose text is `text`);
/// `None` for other contexts and for a file included inside a server (it is the server).
///
/// # Errors
/// What the edit itself would report: the file does not parse, no server fits.
pub fn chosen_server(
    path: &str,
    text: &str,
    file_top: ContextKind,
    context: &Context,
    others: &Effective,
) -> Result<Option<String>, EditError> {
    let Context::Server {
        server_name,
        listen,
        request,
    } = context
    else {
        return Ok(None);
    };
    let config = parse(text).map_err(|source| EditError::Parse {
        path: path.to_string(),
        source,
    })?;
    let choice = ServerChoice::of(server_name, listen, request);
    let chosen = server_target(path, &config, file_top, choice, others)?;
    let Container::Block(server) = chosen.server.container else {
        return Ok(None);
    };
    let which = describe_server(&config, server);
    let why = match (chosen.reason, request) {
        (Some(reason), Some(request)) => format!(
            "the server nginx uses for {} on port {} ({})",
            request.host,
            request.port,
            reason.describe()
        ),
        _ if server_name.is_some() || listen.is_some() => {
            "the server the overrides (server_name/listen) select".to_string()
        }
        _ => "the file's only server block".to_string(),
    };
    Ok(Some(format!("{which}: {why}")))
}
