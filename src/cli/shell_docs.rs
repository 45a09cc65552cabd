//! Shell completions (`clap_complete`) and the man page (`clap_mangen`), generated from
//! the command-line definition so they never disagree with `--help`.

use clap::CommandFactory as _;

pub use clap_complete::Shell;

/// The completion script for `shell`.
#[must_use]
pub fn completions(shell: Shell) -> String {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "wsdeploy", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The man page `wsdeploy(1)` in roff: the top-level page, then a section per
/// subcommand with its synopsis and options.
///
/// # Errors
/// Never in practice (rendering writes to memory); kept for the writer's signature.
pub fn man_page() -> Result<String, std::io::Error> {
    let mut cmd = super::Cli::command();
    cmd.build();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("wsdeploy {}", sub.get_name());
        buf.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        if let Some(about) = sub.get_about() {
            buf.extend_from_slice(format!("{about}\n").as_bytes());
        }
        let page = clap_mangen::Man::new(sub.clone().bin_name(name));
        page.render_synopsis_section(&mut buf)?;
        page.render_options_section(&mut buf)?;
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
