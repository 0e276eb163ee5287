//! `gantry`: a standalone API gateway that speaks Higress configuration.

mod cli;
mod config_url;
mod demo;
mod echo;
mod listen;
mod logging;
mod routes;
mod serve;
mod validate;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gantry: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
