//! The `wsdeploy` binary: a thin shell over the library's `cli` module.
//!
//! Usage errors (clap's own included) exit 3, the contract's "bad input, nothing
//! touched" (with `--json`, also as a JSON `error` object on standard output); `--help`
//! and `--version` exit 0.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    // SAFETY: the process has one thread here; the async runtime starts below.
    unsafe { wsdeploy::reach::take_password_environment() };
    // No core file may hold a password or vault plaintext.
    if let Err(e) = wsdeploy::no_core_dump::forbid_core_dumps() {
        wsdeploy::report::out::stderr(&format!("warning: core dumps stay possible: {e}\n"));
    }
    let cli = match wsdeploy::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                wsdeploy::exit::BAD_INPUT
            } else {
                wsdeploy::exit::OK
            };
            // Printing never panics: a closed pipe is an error value here.
            let _ = e.print();
            if code == wsdeploy::exit::BAD_INPUT && std::env::args_os().any(|a| a == "--json") {
                let text = e.render().to_string();
                let message = text.trim().trim_start_matches("error: ").to_owned();
                let bad = wsdeploy::cli::BadInput::from(message);
                wsdeploy::report::out::stdout(&format!("{}\n", bad.json(code)));
            }
            return std::process::ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            wsdeploy::report::out::stderr(&format!("error: cannot start the async runtime: {e}\n"));
            return std::process::ExitCode::from(wsdeploy::exit::HOST_FAILED);
        }
    };
    std::process::ExitCode::from(runtime.block_on(wsdeploy::cli::main(cli)))
}
