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
    buf.extend_from_slice(closing_sections().as_bytes());
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Where wsdeploy reads and keeps things, on this machine and on the hosts.
const FILES: &[(&str, &str)] = &[
    (
        "wsdeploy.toml",
        "the project's defaults for flags (in the -C directory)",
    ),
    ("plans/*.yml", "plans; plans/site.yml is the default"),
    (
        "inventories/NAME/hosts.yml",
        "the inventory named by -i NAME (also hosts.ini, hosts)",
    ),
    (
        "~/.ssh/config",
        "OpenSSH client configuration (-F to choose another)",
    ),
    (
        "~/.ssh/known_hosts",
        "host keys (--known-hosts to choose another)",
    ),
    (
        "/var/lib/wsdeploy/",
        "on each host: wsdeploy's state; refused (nothing read or written) when it is a symlink, writable by group or others, or owned by a user other than root or the one wsdeploy runs as",
    ),
    (
        "/var/lib/wsdeploy/runs/RUN_ID/",
        "on each host: the journal of a run (pre-images, manifest, state)",
    ),
    ("/var/lib/wsdeploy/lock", "on each host: the run lock"),
    (
        "FILE.backup-YYYY-MM-DD",
        "on each host: the day's backup of an edited file (/var/lib/wsdeploy/backups/YYYY-MM-DD/ where an nginx include would load it)",
    ),
];

/// The environment variables wsdeploy reads.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "WSDEPLOY_SSH_PASSWORD",
        "the SSH login password (as -k; ansible_password wins)",
    ),
    (
        "WSDEPLOY_BECOME_PASSWORD",
        "the become (sudo) password (as -K; ansible_become_password wins)",
    ),
    (
        "WSDEPLOY_KEY_PASSPHRASE",
        "the passphrase of encrypted private keys",
    ),
    (
        "WSDEPLOY_TODAY",
        "the date (YYYY-MM-DD) backups are named after, instead of today",
    ),
    ("NO_COLOR", "no colours in the output"),
    (
        "USER",
        "the local user name (ssh_config %u, the journal's operator)",
    ),
    ("HOME", "where ~/.ssh is"),
];

/// EXIT STATUS, ENVIRONMENT and FILES in roff.
fn closing_sections() -> String {
    let mut out = String::new();
    let mut section = |title: &str, rows: &mut dyn Iterator<Item = (String, &str)>| {
        out.push_str(&format!(".SH \"{title}\"\n"));
        for (term, text) in rows {
            out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(&term), roff(text)));
        }
    };
    section(
        "EXIT STATUS",
        &mut crate::exit::TABLE.iter().map(|(c, t)| (c.to_string(), *t)),
    );
    section(
        "ENVIRONMENT",
        &mut ENVIRONMENT.iter().map(|(n, t)| ((*n).to_owned(), *t)),
    );
    section(
        "FILES",
        &mut FILES.iter().map(|(n, t)| ((*n).to_owned(), *t)),
    );
    out
}

/// Text safe in a roff line: backslashes doubled, a leading `.` or `'` escaped.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}
