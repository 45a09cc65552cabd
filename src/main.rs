//! The `wsdeploy` binary: a thin shell over the library's `cli` module.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = wsdeploy::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(wsdeploy::exit::HOST_FAILED);
        }
    };
    std::process::ExitCode::from(runtime.block_on(wsdeploy::cli::main(cli)))
}
